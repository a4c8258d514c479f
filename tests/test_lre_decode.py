"""lre_decode: the LRE term through the straight-through (hard) decode for categorical data."""

import json
import zipfile

import numpy as np
import pytest
import torch

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae._likelihood import make_likelihood
from sklearn_lravae._loss import (
    latent_reconstruction_error,
    lravae_loss,
    resolve_lre_decode,
    straight_through_decode,
)
from sklearn_lravae._network import VAE, MLPCore


def _categorical_vae(seed=0, n_positions=5, n_categories=4, d=3):
    torch.manual_seed(seed)
    n = n_positions * n_categories
    return VAE(MLPCore(n, d, n, (16,)), make_likelihood("categorical", n, n_categories))


def _one_hot(n=60, n_positions=5, n_categories=4, seed=0):
    idx = np.random.RandomState(seed).randint(n_categories, size=(n, n_positions))
    return np.eye(n_categories, dtype=np.float32)[idx].reshape(n, -1)


def test_straight_through_value_is_the_mode_and_gradient_is_the_mean():
    lik = make_likelihood("categorical", 6, n_categories=3)
    out = torch.randn(4, 6, requires_grad=True)
    hard = straight_through_decode(lik, out)
    assert torch.equal(hard.detach(), lik.mode(out.detach()))
    w = torch.randn(4, 6)
    (hard * w).sum().backward()
    grad_st = out.grad.clone()
    out.grad = None
    (lik.mean(out) * w).sum().backward()
    torch.testing.assert_close(grad_st, out.grad)


def test_straight_through_lre_equals_mode_lre_and_trains_the_decoder():
    module = _categorical_vae()
    z = 2.0 * torch.randn(32, 3)
    lre_st = latent_reconstruction_error(module, z, decode="straight_through")
    lre_mode = latent_reconstruction_error(module, z, decode="mode")
    assert torch.equal(lre_st.detach(), lre_mode)
    assert not torch.allclose(lre_st, latent_reconstruction_error(module, z, decode="mean"))
    # through lravae_loss (what the net calls), gradients reach the decoder weights
    x = torch.as_tensor(_one_hot(8))
    out = module(x)
    terms = lravae_loss(module, x, out, z, gamma=1.0, beta=1.0, lre_decode="straight_through")
    assert torch.equal(terms.lre.detach(), lre_mode)
    module.zero_grad()
    terms.lre.mean().backward()  # the LRE term alone
    decoder_grads = [p.grad for p in module.core.decoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in decoder_grads)


def test_mean_reproduces_the_soft_lre_exactly():
    module = _categorical_vae(1)
    x = torch.as_tensor(_one_hot(8))
    z = 2.0 * torch.randn(16, 3)
    torch.manual_seed(0)
    out = module(x)
    terms = lravae_loss(module, x, out, z, gamma=0.5, beta=0.1, lre_decode="mean")
    soft = torch.softmax(module.decode(z).reshape(16, 5, 4), -1).reshape(16, 20)
    expected = (z - module.encode(soft)[0]).pow(2).sum(-1)
    torch.testing.assert_close(terms.lre, expected, rtol=0, atol=0)
    neg_elbo = -module.likelihood.log_prob(x, out[0]) + 0.1 * terms.kl
    torch.testing.assert_close(terms.loss, neg_elbo.mean() + 0.5 * expected.mean())
    # the default of lravae_loss is the old behaviour
    default = lravae_loss(module, x, out, z, gamma=0.5, beta=0.1)
    assert torch.equal(default.loss, terms.loss)


def test_auto_resolves_by_likelihood():
    assert resolve_lre_decode("auto", make_likelihood("categorical", 4, 2)) == "straight_through"
    for name in ("bernoulli", "gaussian"):
        assert resolve_lre_decode("auto", make_likelihood(name, 4)) == "mean"
        assert resolve_lre_decode("straight_through", make_likelihood(name, 4)) == (
            "straight_through"
        )


def _fit(X, likelihood, lre_decode, epochs=2):
    return LRAVAETransformer(
        2,
        likelihood=likelihood,
        hidden_layer_sizes=(16,),
        gamma=1.0,
        n_reference_samples=16,
        max_epochs=epochs,
        lre_decode=lre_decode,
        random_state=0,
    ).fit(X)


def test_transformer_auto_is_straight_through_for_categorical_only():
    X = _one_hot()
    Z = _fit(X, "categorical", "auto").transform(X)
    np.testing.assert_array_equal(Z, _fit(X, "categorical", "straight_through").transform(X))
    assert not np.allclose(Z, _fit(X, "categorical", "mean").transform(X))
    Xb = np.random.RandomState(0).rand(60, 8)
    np.testing.assert_array_equal(
        _fit(Xb, "bernoulli", "auto").transform(Xb), _fit(Xb, "bernoulli", "mean").transform(Xb)
    )


def test_set_params_reaches_the_net_between_partial_fits():
    X = _one_hot()
    vae = _fit(X, "categorical", "mean", epochs=1)
    assert vae.net_.lre_decode == "mean"
    vae.set_params(lre_decode="straight_through").partial_fit(X, epochs=1)
    assert vae.net_.lre_decode == "straight_through"


@pytest.mark.parametrize("bad", ["soft", "Mean", None, 1])
def test_bad_lre_decode_is_refused(bad):
    with pytest.raises(ValueError, match="lre_decode"):
        LRAVAETransformer(2, lre_decode=bad).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="lre_decode must be one of"):
        resolve_lre_decode(bad, make_likelihood("bernoulli", 4))


def test_bad_decode_of_latent_reconstruction_error():
    with pytest.raises(ValueError, match="decode must be"):
        latent_reconstruction_error(_categorical_vae(), torch.zeros(2, 3), decode="soft")


def test_persistence_round_trip_and_old_files(tmp_path):
    X = _one_hot()
    vae = _fit(X, "categorical", "straight_through", epochs=1)
    path = save(vae, tmp_path / "m.lravae")
    loaded = load(path)
    assert loaded.lre_decode == "straight_through"
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    # a file written before lre_decode existed was trained with the decoder mean
    old = tmp_path / "old.lravae"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(old, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "manifest.json":
                manifest = json.loads(data)
                del manifest["object"]["params"]["lre_decode"]
                data = json.dumps(manifest)
            zout.writestr(item, data)
    assert load(old).lre_decode == "mean"
