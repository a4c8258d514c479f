"""The skorch net: loss terms in the history, sample weights in the loss, the batch loader."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae._loader import BatchSliceLoader
from sklearn_lravae._loss import kl_divergence
from sklearn_lravae._net import TERMS, LRAVANet


def _vae(**kw):
    params = dict(
        n_components=2,
        likelihood="bernoulli",
        hidden_layer_sizes=(16,),
        max_epochs=2,
        batch_size=64,
        random_state=0,
    )
    return LRAVAETransformer(**{**params, **kw})


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_history_holds_the_loss_terms_that_make_the_loss(digits, gamma):
    vae = _vae(gamma=gamma, beta=0.7).fit(digits[0][:300])
    net = vae.net_
    assert isinstance(net, LRAVANet) and TERMS == ("nll", "kl", "lre")
    assert len(net.history) == 2
    for row in net.history:
        assert row["train_nll"] > 0 and row["train_kl"] > 0
        lre = row["train_lre"] if gamma else 0.0
        assert ("train_lre" in row) == (gamma > 0)  # the LRE term only when it is used
        # per epoch, the batch means of the terms add up to the batch means of the loss
        expected = row["train_nll"] + 0.7 * row["train_kl"] + gamma * lre
        assert row["train_loss"] == pytest.approx(expected, rel=1e-5)
        # and every batch recorded every term
        for batch in row["batches"]:
            assert {"train_loss", "train_nll", "train_kl"} <= set(batch)


def test_validation_split_records_valid_terms(digits):
    net = _vae(gamma=0.5, validation_fraction=0.25).fit(digits[0][:300]).net_
    row = net.history[-1]
    assert {"valid_loss", "valid_nll", "valid_kl", "valid_lre"} <= set(row["batches"][-1])
    assert "valid_loss" in row


def test_get_loss_uses_sample_weight(digits):
    """The ELBO part of the loss is the sample-weighted mean of -ELBO per sample."""
    net = _vae(gamma=0.5, beta=0.7).fit(digits[0][:100]).net_
    net.gamma = 0.0  # no reference samples: the loss is the ELBO part alone
    x = torch.as_tensor(digits[0][:6], dtype=torch.float32)
    with torch.no_grad():
        torch.manual_seed(0)
        y_pred = net.module_(x)
        out, mu, logvar, _ = y_pred
        nll = -net.module_.likelihood.log_prob(x, out)
        neg_elbo = nll + 0.7 * kl_divergence(mu, logvar)
        net.history.new_epoch()
        net.history.new_batch()
        plain = net.get_loss(y_pred, None, X=x, training=True)
        torch.testing.assert_close(plain, neg_elbo.mean())
        one = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        only_third = net.get_loss(y_pred, None, X={"x": x, "sample_weight": one}, training=True)
        torch.testing.assert_close(only_third, neg_elbo[2])
        w = torch.tensor([3.0, 1.0, 0.5, 0.0, 2.0, 1.0])
        weighted = net.get_loss(y_pred, None, X={"x": x, "sample_weight": w}, training=True)
        torch.testing.assert_close(weighted, (w * neg_elbo).sum() / w.sum())
        assert not torch.isclose(weighted, plain)
    # each call recorded the batch means of its terms
    batch = net.history[-1]["batches"][-1]
    assert batch["train_nll"] == pytest.approx(nll.mean().item(), rel=1e-5)
    assert "train_lre" not in batch


def test_sample_weight_steers_what_the_vae_models(digits):
    """Weight on the zeros: the zeros are modelled better than with the weight elsewhere."""
    X, X_test, y, y_test = digits
    zeros = np.where(y == 0, 1.0, 0.01)
    others = np.where(y == 0, 0.01, 1.0)
    kw = dict(max_epochs=8, gamma=0.0)
    on_zeros = _vae(**kw).fit(X, sample_weight=zeros)
    elsewhere = _vae(**kw).fit(X, sample_weight=others)
    test_zeros, test_others = X_test[y_test == 0], X_test[y_test != 0]
    assert on_zeros.score(test_zeros) > elsewhere.score(test_zeros) + 2.0
    assert elsewhere.score(test_others) > on_zeros.score(test_others) + 2.0


def test_batch_slice_loader_covers_every_sample_once():
    X = np.arange(23, dtype=np.float32)[:, None]
    torch.manual_seed(0)
    loader = BatchSliceLoader(Dataset(X), batch_size=5, shuffle=True)
    seen = torch.cat([xb for xb, _ in loader]).ravel().tolist()
    assert len(loader) == 5 and sorted(seen) == list(range(23)) and seen != sorted(seen)
    in_order = torch.cat([xb for xb, _ in BatchSliceLoader(Dataset(X), batch_size=5)])
    assert in_order.ravel().tolist() == list(range(23))
    sub = torch.utils.data.Subset(Dataset({"x": X, "sample_weight": X[:, 0]}), [3, 7, 9])
    batches = list(BatchSliceLoader(sub, batch_size=2))
    assert batches[0][0]["x"].ravel().tolist() == [3.0, 7.0]
    assert batches[1][0]["sample_weight"].tolist() == [9.0]
