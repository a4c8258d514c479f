"""Torch modules: encoder/decoder cores and the VAE that combines them.

A *core* is any :class:`torch.nn.Module` with two methods

- ``encode(x) -> (mu, logvar)``, each of shape ``(n, n_components)``, and
- ``decode(z) -> out`` of shape ``(n, n_outputs)``: the raw parameters of the
  likelihood (logits for Bernoulli / categorical data, the mean for Gaussian data).

:class:`MLPCore` is the default core. Users may pass their own through
``LRAVAETransformer(module=...)``. :class:`VAE` wraps a core and a likelihood
(see :mod:`sklearn_lravae._likelihood`) and is the module that skorch trains.
"""

import torch
from torch import nn

__all__ = ["MLPCore", "VAE", "build_core"]


def _mlp(sizes, activation):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class MLPCore(nn.Module):
    """Fully connected encoder and (mirrored) decoder.

    Parameters
    ----------
    n_features : int
        Input dimension.
    n_components : int
        Latent dimension.
    n_outputs : int
        Size of the decoder output (the likelihood's parameters).
    hidden_layer_sizes : tuple of int
        Encoder hidden sizes; the decoder uses them in reverse order.
    activation : type of torch.nn.Module, default=torch.nn.ReLU
        Non-linearity between layers.
    """

    def __init__(self, n_features, n_components, n_outputs, hidden_layer_sizes, activation=nn.ReLU):
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.n_components = n_components
        self.encoder = _mlp([n_features, *hidden, 2 * n_components], activation)
        self.decoder = _mlp([n_components, *hidden[::-1], n_outputs], activation)

    def encode(self, x):
        h = self.encoder(x)
        return h[:, : self.n_components], h[:, self.n_components :]

    def decode(self, z):
        return self.decoder(z)


class VAE(nn.Module):
    """A core plus a likelihood; ``forward`` is one reparameterised pass.

    Parameters
    ----------
    core : torch.nn.Module
        Module with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> out``.
    likelihood : torch.nn.Module
        One of the likelihoods of :mod:`sklearn_lravae._likelihood`.
    """

    def __init__(self, core, likelihood):
        super().__init__()
        self.core = core
        self.likelihood = likelihood

    def encode(self, x):
        return self.core.encode(x)

    def decode(self, z):
        return self.core.decode(z)

    def decode_mean(self, z):
        """Decoder mean in input space (differentiable)."""
        return self.likelihood.mean(self.decode(z))

    def decode_mode(self, z):
        """Most likely object (e.g. argmax tokens); not differentiable."""
        return self.likelihood.mode(self.decode(z))

    def forward(self, x, sample_weight=None):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar, z


def build_core(module, n_features, n_components, n_outputs, hidden_layer_sizes):
    """Return the core for ``LRAVAETransformer(module=...)``.

    ``module`` is ``None`` (an :class:`MLPCore`), an ``nn.Module`` instance
    (used as given; the transformer deep-copies it first), or a callable (class
    or factory) called as ``module(n_features=..., n_components=...,
    n_outputs=...)``.
    """
    if module is None:
        return MLPCore(n_features, n_components, n_outputs, hidden_layer_sizes)
    core = (
        module
        if isinstance(module, nn.Module)
        else module(n_features=n_features, n_components=n_components, n_outputs=n_outputs)
    )
    for method in ("encode", "decode"):
        if not callable(getattr(core, method, None)):
            raise TypeError(
                f"module must provide encode(x) -> (mu, logvar) and decode(z) -> out; "
                f"{type(core).__name__} has no {method!r} method."
            )
    return core
