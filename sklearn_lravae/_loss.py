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

What the encoder reads back in the LRE is the decoder *mean* (``lre_decode=
"mean"``) or, with ``lre_decode="straight_through"``, the decoder *mode* in the
forward pass (for categorical data the one-hot of the argmax of every block:
the object that would really be evaluated) with the gradient of the mean in the
backward pass. ``"auto"`` is straight-through for the categorical likelihood
and the mean otherwise (see :func:`resolve_lre_decode`).
"""

from typing import NamedTuple

import torch

__all__ = [
    "LRE_DECODES",
    "LossTerms",
    "kl_divergence",
    "latent_reconstruction_error",
    "lravae_loss",
    "monte_carlo_elbo",
    "elbo_terms",
    "resolve_lre_decode",
    "straight_through_decode",
]

#: Values of ``lre_decode`` (``LRAVAETransformer(lre_decode=...)``).
LRE_DECODES = ("auto", "mean", "straight_through")


class LossTerms(NamedTuple):
    """Batch loss and its parts (``nll``, ``kl`` per sample; ``lre`` per z_ref)."""

    loss: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor
    lre: torch.Tensor | None


def kl_divergence(mu, logvar):
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per sample, summed over dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def resolve_lre_decode(lre_decode, likelihood):
    """The decode that ``lre_decode`` means for ``likelihood``.

    Parameters
    ----------
    lre_decode : {"auto", "mean", "straight_through"}
        ``"auto"`` is ``"straight_through"`` for the categorical likelihood and
        ``"mean"`` for the others.
    likelihood : torch.nn.Module
        A likelihood of :mod:`sklearn_lravae._likelihood` (its ``name`` is read).

    Returns
    -------
    decode : {"mean", "straight_through"}

    Raises
    ------
    ValueError
        If ``lre_decode`` is not one of :data:`LRE_DECODES`.

    Examples
    --------
    >>> from sklearn_lravae._likelihood import make_likelihood
    >>> from sklearn_lravae._loss import resolve_lre_decode
    >>> resolve_lre_decode("auto", make_likelihood("categorical", 6, n_categories=3))
    'straight_through'
    >>> resolve_lre_decode("auto", make_likelihood("bernoulli", 6))
    'mean'
    """
    if not isinstance(lre_decode, str) or lre_decode not in LRE_DECODES:
        raise ValueError(
            f"lre_decode must be one of {LRE_DECODES}, got {lre_decode!r}: use 'mean' for "
            "the decoder mean, 'straight_through' for the hard (mode) decode with the "
            "gradient of the mean, or 'auto' (straight-through for categorical data)."
        )
    if lre_decode == "auto":
        categorical = getattr(likelihood, "name", None) == "categorical"
        return "straight_through" if categorical else "mean"
    return lre_decode


def straight_through_decode(likelihood, out):
    """Decoder mode in the forward pass, gradient of the decoder mean in the backward pass.

    For the categorical likelihood the forward value is the one-hot of the
    argmax of every block, exactly (``mode + (mean - mean.detach())``: the
    added term is zero); the backward pass differentiates the softmax mean.

    Parameters
    ----------
    likelihood : torch.nn.Module
        Likelihood with ``mean(out)`` and ``mode(out)``.
    out : torch.Tensor of shape (n, n_outputs)
        Raw decoder output.

    Returns
    -------
    x_hat : torch.Tensor of shape (n, n_features)

    Examples
    --------
    >>> import torch
    >>> from sklearn_lravae._likelihood import make_likelihood
    >>> from sklearn_lravae._loss import straight_through_decode
    >>> lik = make_likelihood("categorical", 4, n_categories=2)
    >>> out = torch.tensor([[2.0, 0.0, -1.0, 1.0]], requires_grad=True)
    >>> x_hat = straight_through_decode(lik, out)
    >>> x_hat.detach()
    tensor([[1., 0., 0., 1.]])
    >>> x_hat[0, 0].backward()
    >>> bool(out.grad.abs().sum() > 0)
    True
    """
    soft = likelihood.mean(out)
    return likelihood.mode(out) + (soft - soft.detach())


def latent_reconstruction_error(module, z, decode="mean"):
    """``LRE(z) = ||z - enc_mu(dec(z))||^2`` per latent point.

    Parameters
    ----------
    module : VAE
        Module with ``decode``, ``likelihood`` and ``encode``.
    z : torch.Tensor of shape (n, n_components)
        Latent points.
    decode : {"mean", "mode", "straight_through"}, default="mean"
        Feed the decoder mean (soft, differentiable), the decoder mode (hard
        decode, e.g. argmax tokens: what an evaluated object really encodes
        to; no gradient to the decoder) or the mode with the gradient of the
        mean (:func:`straight_through_decode`: the value of ``"mode"``, the
        gradient of ``"mean"``) back into the encoder.

    Returns
    -------
    lre : torch.Tensor of shape (n,)
    """
    if decode not in ("mean", "mode", "straight_through"):
        raise ValueError(f"decode must be 'mean', 'mode' or 'straight_through', got {decode!r}.")
    out = module.decode(z)
    lik = module.likelihood
    if decode == "mean":
        x_hat = lik.mean(out)
    elif decode == "mode":
        x_hat = lik.mode(out)
    else:
        x_hat = straight_through_decode(lik, out)
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


def lravae_loss(
    module, x, forward_out, z_ref, *, gamma, beta, sample_weight=None, lre_decode="mean"
):
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
    lre_decode : {"mean", "straight_through", "auto"}, default="mean"
        What the encoder reads back in the LRE term (see
        :func:`resolve_lre_decode`).

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
        decode = resolve_lre_decode(lre_decode, module.likelihood)
        lre = latent_reconstruction_error(module, z_ref, decode)
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
