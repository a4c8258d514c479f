"""The objective against hand-computed values on a tiny fixed network."""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_lravae._likelihood import (
    BernoulliLikelihood,
    CategoricalLikelihood,
    GaussianLikelihood,
    infer_n_categories,
)
from sklearn_lravae._loss import (
    kl_divergence,
    latent_reconstruction_error,
    lravae_loss,
)
from sklearn_lravae._network import VAE


class LinearCore(nn.Module):
    """encode: mu = A x, logvar = B x;  decode: out = C z  (no biases)."""

    def __init__(self, A, B, C):
        super().__init__()
        self.A = nn.Parameter(torch.tensor(A))
        self.B = nn.Parameter(torch.tensor(B))
        self.C = nn.Parameter(torch.tensor(C))

    def encode(self, x):
        return x @ self.A.T, x @ self.B.T

    def decode(self, z):
        return z @ self.C.T


A = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]], dtype=np.float32)
B = np.array([[0.1, 0.0, -0.2], [0.0, -0.3, 0.2]], dtype=np.float32)
C = np.array([[1.0, -0.5], [0.2, 0.7], [-0.4, 0.3]], dtype=np.float32)
X = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]], dtype=np.float32)
EPS = np.array([[0.3, -1.2], [0.8, 0.1]], dtype=np.float32)
ZREF = np.array([[2.0, -1.0], [0.5, 3.0], [-1.5, 0.0]], dtype=np.float32)


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


def hand_loss(gamma, beta, weights=None):
    mu, logvar = X @ A.T, X @ B.T
    z = mu + np.exp(0.5 * logvar) * EPS
    p = sigmoid(z @ C.T)
    nll = -(X * np.log(p) + (1 - X) * np.log(1 - p)).sum(1)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(1)
    neg_elbo = nll + beta * kl
    w = np.ones(len(X)) if weights is None else np.asarray(weights)
    lre = ((ZREF - sigmoid(ZREF @ C.T) @ A.T) ** 2).sum(1)
    return (w * neg_elbo).sum() / w.sum() + gamma * lre.mean(), lre


def tiny_module():
    return VAE(LinearCore(A, B, C), BernoulliLikelihood(3))


def forward_fixed(module, x):
    mu, logvar = module.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.tensor(EPS)
    return module.decode(z), mu, logvar, z


@pytest.mark.parametrize("gamma, beta", [(0.0, 1.0), (0.7, 1.0), (2.5, 0.01)])
@pytest.mark.parametrize("weights", [None, [1.0, 3.0]])
def test_loss_equals_hand_computation(gamma, beta, weights):
    module = tiny_module()
    x = torch.tensor(X)
    sw = None if weights is None else torch.tensor(weights)
    terms = lravae_loss(
        module,
        x,
        forward_fixed(module, x),
        torch.tensor(ZREF),
        gamma=gamma,
        beta=beta,
        sample_weight=sw,
    )
    expected, lre = hand_loss(gamma, beta, weights)
    np.testing.assert_allclose(terms.loss.item(), expected, rtol=1e-5)
    if gamma > 0:
        np.testing.assert_allclose(terms.lre.detach().numpy(), lre, rtol=1e-5)
    else:
        assert terms.lre is None


def test_lre_gradients_reach_encoder_and_decoder():
    module = tiny_module()
    x = torch.tensor(X)
    terms = lravae_loss(
        module, x, forward_fixed(module, x), torch.tensor(ZREF), gamma=1.0, beta=1.0
    )
    terms.lre.mean().backward()  # the LRE term alone
    core = module.core
    assert core.A.grad.abs().sum() > 0  # encoder mean
    assert core.C.grad.abs().sum() > 0  # decoder
    assert core.B.grad is None  # the logvar head does not enter the LRE

    # and gamma scales exactly that gradient inside the full loss
    def grad_c(gamma):
        m = tiny_module()
        t = lravae_loss(m, x, forward_fixed(m, x), torch.tensor(ZREF), gamma=gamma, beta=1)
        t.loss.backward()
        return m.core.C.grad.clone()

    np.testing.assert_allclose(
        (grad_c(3.0) - grad_c(0.0)).numpy(), 3.0 * core.C.grad.numpy(), rtol=1e-4, atol=1e-6
    )


def test_lre_is_zero_for_consistent_linear_autoencoder():
    # decode = pseudo-inverse of encode on its range => enc(dec(z)) == z
    C_ = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    A_ = C_.T.copy()
    core = LinearCore(A_, np.zeros_like(A_), C_)
    module = VAE(core, GaussianLikelihood(3))
    lre = latent_reconstruction_error(module, torch.tensor(ZREF))
    np.testing.assert_allclose(lre.detach().numpy(), 0.0, atol=1e-10)


def test_kl_is_zero_at_prior():
    assert kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)).abs().max() == 0


def test_gaussian_log_prob_matches_torch_distribution():
    lik = GaussianLikelihood(3)
    with torch.no_grad():
        lik.log_scale.copy_(torch.tensor([0.1, -0.4, 0.3]))
    x, out = torch.tensor(X), torch.tensor(X[::-1].copy())
    ref = torch.distributions.Normal(out, lik.log_scale.exp()).log_prob(x).sum(-1)
    np.testing.assert_allclose(lik.log_prob(x, out).detach(), ref.detach(), rtol=1e-6)


def test_categorical_likelihood_mean_mode_and_log_prob():
    lik = CategoricalLikelihood(6, 3)
    out = torch.tensor([[2.0, 0.0, -1.0, 0.0, 3.0, 1.0]])
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    expected = torch.log_softmax(out[0, :3], 0)[0] + torch.log_softmax(out[0, 3:], 0)[2]
    np.testing.assert_allclose(lik.log_prob(x, out).item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(lik.mean(out).reshape(2, 3).sum(-1), [1.0, 1.0], rtol=1e-6)
    assert lik.mode(out).tolist() == [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]


def test_infer_n_categories():
    rng = np.random.RandomState(0)
    X_ = np.eye(7)[rng.randint(0, 7, size=(50, 4))].reshape(50, -1)
    assert infer_n_categories(X_) == 7
    with pytest.raises(ValueError, match="block size"):
        infer_n_categories(rng.rand(5, 6))


@pytest.mark.parametrize(
    "likelihood, value, expected",
    [("bernoulli", "auto", 32), ("categorical", "auto", 128), ("bernoulli", 7, 7)],
)
def test_n_reference_samples_auto(likelihood, value, expected):
    from sklearn_lravae import LRAVAETransformer

    Xc = np.eye(3, dtype=np.float32)[np.random.RandomState(0).randint(3, size=(30, 2))]
    vae = LRAVAETransformer(
        2, likelihood=likelihood, hidden_layer_sizes=(4,), n_reference_samples=value,
        max_epochs=1, random_state=0,
    ).fit(Xc.reshape(30, 6))  # fmt: skip
    assert vae.net_.n_reference_samples == expected
    assert vae.n_reference_samples == value


def test_n_reference_samples_bad_value():
    from sklearn_lravae import LRAVAETransformer

    with pytest.raises(ValueError, match="n_reference_samples"):
        LRAVAETransformer(2, n_reference_samples="many").fit(np.zeros((5, 3)))
