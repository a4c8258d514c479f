"""The LRA-VAE objective (arXiv 2302.02399) -- the only place it is written.

.. math::

    \\mathcal{L}(x) = -\\mathrm{ELBO}(x)
        + \\gamma \\, \\mathbb{E}_{z \\sim p_{ref}}[\\mathrm{LRE}(z)],
    \\qquad
    -\\mathrm{ELBO}(x) = -\\mathbb{E}_q[\\log p_\\theta(x|z)]
        + \\beta \\, \\mathrm{KL}(q_\\phi(z|x) \\,\\|\\, \\mathcal{N}(0, I)),
    \\qquad
    \\mathrm{LRE}(z) = \\lVert z - \\mathrm{enc}_\\mu(\\mathrm{dec}(z)) \\rVert^2 .

Reductions: the log-likelihood is summed over features, the LRE over latent
dimensions; both are averaged over samples (the ELBO over the batch, weighted
by ``sample_weight`` when given, the LRE over the reference samples). Gradients
of the LRE term flow through decoder and encoder (no stop-gradient).
"""

from typing import NamedTuple

import torch

__all__ = [
    "LossTerms",
    "kl_divergence",
    "latent_reconstruction_error",
    "lravae_loss",
    "monte_carlo_elbo",
    "elbo_terms",
]


class LossTerms(NamedTuple):
    """Batch loss and its parts (``nll``, ``kl`` per sample; ``lre`` per z_ref)."""

    loss: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor
    lre: torch.Tensor | None


def kl_divergence(mu, logvar):
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per sample, summed over dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def latent_reconstruction_error(module, z, decode="mean"):
    """``LRE(z) = ||z - enc_mu(dec(z))||^2`` per latent point.

    Parameters
    ----------
    module : VAE
        Module with ``decode_mean``, ``decode_mode`` and ``encode``.
    z : torch.Tensor of shape (n, n_components)
        Latent points.
    decode : {"mean", "mode"}, default="mean"
        Feed the decoder mean (soft, differentiable: the training term) or the
        decoder mode (hard decode, e.g. argmax tokens: what an evaluated object
        really encodes to) back into the encoder.

    Returns
    -------
    lre : torch.Tensor of shape (n,)
    """
    x_hat = module.decode_mean(z) if decode == "mean" else module.decode_mode(z)
    mu, _ = module.encode(x_hat)
    return (z - mu).pow(2).sum(-1)


def elbo_terms(module, x, out, mu, logvar):
    """Per-sample terms of ``-ELBO`` for one reparameterised draw.

    Returns
    -------
    nll, kl : torch.Tensor of shape (n,)
        ``-log p(x|z)`` and ``KL(q(z|x) || p(z))``; the caller weighs them:
        ``-ELBO = nll + beta * kl``.
    """
    nll = -module.likelihood.log_prob(x, out)
    return nll, kl_divergence(mu, logvar)


def lravae_loss(module, x, forward_out, z_ref, *, gamma, beta, sample_weight=None):
    """The LRA-VAE batch loss ``mean(-ELBO) + gamma * mean LRE(z_ref)``.

    Parameters
    ----------
    module : VAE
        The network.
    x : torch.Tensor of shape (n, n_features)
        Batch of data.
    forward_out : tuple
        ``module(x)``: ``(out, mu, logvar, z)``.
    z_ref : torch.Tensor of shape (m, n_components) or None
        Fresh samples of the reference distribution; ignored when ``gamma == 0``.
    gamma : float
        Weight of the LRE term (0 gives the standard VAE).
    beta : float
        Weight of the KL term.
    sample_weight : torch.Tensor of shape (n,), default=None
        Per-sample weights of the ELBO term (weighted mean).

    Returns
    -------
    LossTerms
    """
    out, mu, logvar, _ = forward_out
    nll, kl = elbo_terms(module, x, out, mu, logvar)
    neg_elbo = nll + beta * kl
    if sample_weight is None:
        loss = neg_elbo.mean()
    else:
        w = sample_weight.to(neg_elbo.dtype)
        loss = (w * neg_elbo).sum() / w.sum()
    lre = None
    if gamma > 0 and z_ref is not None:
        lre = latent_reconstruction_error(module, z_ref)
        loss = loss + gamma * lre.mean()
    return LossTerms(loss, nll, kl, lre)


def monte_carlo_elbo(module, x, eps):
    """Per-sample ELBO (``beta=1``), a mean over reparameterised draws.

    Parameters
    ----------
    module : VAE
        The network.
    x : torch.Tensor of shape (n, n_features)
        Data.
    eps : torch.Tensor of shape (n_draws, n_components)
        Standard-normal noise, shared by every sample (common random numbers).

    Returns
    -------
    elbo : torch.Tensor of shape (n,), float64
        Accumulated in float64, so a sample's value does not depend on the
        other samples of its batch.
    """
    mu, logvar = module.encode(x)
    total = torch.zeros(len(x), dtype=torch.float64, device=x.device)
    for e in eps:
        z = mu + torch.exp(0.5 * logvar) * e
        nll, kl = elbo_terms(module, x, module.decode(z), mu, logvar)
        total += nll.double() + kl.double()
    return -total / len(eps)
