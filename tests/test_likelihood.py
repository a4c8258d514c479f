"""Observation models p(x | z): log-likelihoods against torch.distributions, mean, mode, checks."""

import math

import numpy as np
import pytest
import torch
from torch import distributions as D

from sklearn_lravae._likelihood import (
    BernoulliLikelihood,
    CategoricalLikelihood,
    GaussianLikelihood,
    infer_n_categories,
    make_likelihood,
)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def test_bernoulli_log_prob_mean_mode(gen):
    lik = BernoulliLikelihood(5)
    out = torch.randn(4, 5, generator=gen, dtype=torch.float64) * 3
    x = (torch.rand(4, 5, generator=gen, dtype=torch.float64) > 0.5).to(torch.float64)
    expected = D.Bernoulli(logits=out).log_prob(x).sum(-1)
    torch.testing.assert_close(lik.log_prob(x, out), expected)
    # grey values in [0, 1]: the cross-entropy x log p + (1 - x) log(1 - p)
    soft = torch.rand(4, 5, generator=gen, dtype=torch.float64)
    p = torch.sigmoid(out)
    manual = (soft * torch.log(p) + (1 - soft) * torch.log1p(-p)).sum(-1)
    torch.testing.assert_close(lik.log_prob(soft, out), manual)
    torch.testing.assert_close(lik.mean(out), p)
    torch.testing.assert_close(lik.mode(out), (out > 0).to(out.dtype))
    assert lik.n_outputs == 5 and lik.name == "bernoulli"


def test_gaussian_log_prob_with_learned_and_clamped_scale(gen):
    lik = GaussianLikelihood(3).double()
    out = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    x = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    # initial scale 1
    torch.testing.assert_close(lik.log_prob(x, out), D.Normal(out, 1.0).log_prob(x).sum(-1))
    with torch.no_grad():
        lik.log_scale.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    scale = torch.exp(lik.log_scale)
    torch.testing.assert_close(lik.log_prob(x, out), D.Normal(out, scale).log_prob(x).sum(-1))
    with torch.no_grad():  # beyond [-5, 5] the scale is clamped
        lik.log_scale.copy_(torch.tensor([-9.0, 9.0, 0.0]))
    clamped = torch.exp(torch.tensor([-5.0, 5.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(lik.log_prob(x, out), D.Normal(out, clamped).log_prob(x).sum(-1))
    assert lik.mean(out) is out and lik.mode(out) is out
    # the scale is a parameter trained with the network
    assert [n for n, _ in lik.named_parameters()] == ["log_scale"]


def test_gaussian_log_prob_value_at_the_mean():
    lik = GaussianLikelihood(2)
    x = torch.zeros(1, 2)
    assert lik.log_prob(x, x).item() == pytest.approx(-math.log(2 * math.pi), rel=1e-6)


def test_categorical_log_prob_mean_mode(gen):
    lik = CategoricalLikelihood(12, 3)  # 4 positions x 3 categories
    assert (lik.n_positions, lik.n_outputs) == (4, 12)
    out = torch.randn(5, 12, generator=gen, dtype=torch.float64) * 2
    idx = torch.randint(3, (5, 4), generator=gen)
    x = torch.nn.functional.one_hot(idx, 3).to(torch.float64).reshape(5, 12)
    blocks = out.reshape(5, 4, 3)
    expected = D.Categorical(logits=blocks).log_prob(idx).sum(-1)
    torch.testing.assert_close(lik.log_prob(x, out), expected)
    mean = lik.mean(out)
    torch.testing.assert_close(mean, torch.softmax(blocks, -1).reshape(5, 12))
    mode = lik.mode(out).reshape(5, 4, 3)
    assert torch.equal(mode.argmax(-1), blocks.argmax(-1))
    assert torch.equal(mode.sum(-1), torch.ones(5, 4, dtype=torch.float64))
    # probability vectors as targets: the cross-entropy
    entropy = (torch.softmax(blocks, -1) * torch.log_softmax(blocks, -1)).sum((1, 2))
    torch.testing.assert_close(lik.log_prob(mean, out), entropy)
    with pytest.raises(ValueError, match="n_categories=5 does not divide the number of features"):
        CategoricalLikelihood(12, 5)


@pytest.mark.parametrize("bad", [[[0.0, 1.5]], [[-0.1, 0.5]]])
def test_bernoulli_check_data(bad):
    BernoulliLikelihood.check_data(np.array([[0.0, 1.0], [0.5, 0.25]]))
    with pytest.raises(ValueError, match=r"bernoulli.*\[0, 1\].*got values in.*MinMaxScaler"):
        BernoulliLikelihood.check_data(np.array(bad))


def test_gaussian_check_data_accepts_anything():
    assert GaussianLikelihood.check_data(np.array([[-1e6, 1e6]])) is None


def test_categorical_check_data():
    lik = CategoricalLikelihood(6, 3)
    lik.check_data(np.array([[1, 0, 0, 0, 0, 1], [0.2, 0.3, 0.5, 0, 1, 0]], dtype=float))
    for bad in ([[1, 1, 0, 0, 0, 1]], [[1.5, -0.5, 0, 0, 0, 1]]):
        with pytest.raises(ValueError, match="blocks of n_categories=3 columns each sum to 1"):
            lik.check_data(np.array(bad, dtype=float))


def test_infer_n_categories():
    X = np.eye(3)[[0, 2, 1, 1]].reshape(2, 6)
    assert infer_n_categories(X) == 3
    assert infer_n_categories(np.eye(2)[[0, 1, 1, 0]].reshape(1, 8)) == 2  # smallest k
    assert infer_n_categories(np.full((2, 4), 0.25)) == 4
    for bad in (np.full((2, 4), 0.3), -np.eye(4)):
        with pytest.raises(ValueError, match="could not find a block size"):
            infer_n_categories(bad)


def test_make_likelihood():
    X = np.eye(3)[[0, 2, 1, 1]].reshape(2, 6)
    assert isinstance(make_likelihood("bernoulli", 6), BernoulliLikelihood)
    assert isinstance(make_likelihood("gaussian", 6), GaussianLikelihood)
    auto = make_likelihood("categorical", 6, "auto", X)
    assert isinstance(auto, CategoricalLikelihood) and auto.n_categories == 3
    assert make_likelihood("categorical", 6, 2).n_categories == 2
    with pytest.raises(ValueError, match="likelihood must be one of.*got 'poisson'"):
        make_likelihood("poisson", 6)
