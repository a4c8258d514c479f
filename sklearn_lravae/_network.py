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

__all__ = [
    "MLPCore",
    "SequenceCore",
    "StraightThroughCore",
    "VAE",
    "build_core",
    "make_sequence_core",
    "make_straight_through_core",
]


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
        One of the likelihoods of ``sklearn_lravae._likelihood``.
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


class SequenceCore(nn.Module):
    """MLP encoder and GRU decoder for flattened one-hot sequences.

    The encoder is an MLP on the flattened ``(n, n_positions * n_categories)``
    input (so it also accepts the soft one-hot probabilities the LRE term feeds
    back). The decoder maps ``z`` to the initial GRU state and to the GRU input
    repeated at every position (no teacher forcing, so ``decode(z)`` depends on
    ``z`` only); a linear layer turns each GRU output into the logits of one
    position. Build it through :func:`make_sequence_core`.

    Parameters
    ----------
    n_features : int
        Input dimension ``n_positions * n_categories``.
    n_components : int
        Latent dimension.
    n_outputs : int
        Decoder output size (equal to ``n_features`` for categorical data).
    n_categories : int
        Tokens per position.
    hidden_size : int, default=256
        GRU state size.
    num_layers : int, default=1
        Stacked GRU layers.
    encoder_layer_sizes : tuple of int, default=(512, 256)
        Hidden sizes of the MLP encoder.

    Examples
    --------
    >>> import torch
    >>> from sklearn_lravae._network import SequenceCore
    >>> core = SequenceCore(n_features=12, n_components=2, n_outputs=12, n_categories=3,
    ...                     hidden_size=8, encoder_layer_sizes=(8,))
    >>> mu, logvar = core.encode(torch.zeros(5, 12))
    >>> mu.shape, core.decode(mu).shape
    (torch.Size([5, 2]), torch.Size([5, 12]))
    """

    def __init__(
        self,
        n_features,
        n_components,
        n_outputs,
        n_categories,
        hidden_size=256,
        num_layers=1,
        encoder_layer_sizes=(512, 256),
    ):
        super().__init__()
        if n_outputs % n_categories:
            raise ValueError(
                f"n_categories={n_categories} does not divide n_outputs={n_outputs}; pass "
                "the number of tokens per position (e.g. SelfiesVectorizer().n_tokens_)."
            )
        self.n_components = n_components
        self.n_categories = n_categories
        self.n_positions = n_outputs // n_categories
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.encoder = _mlp([n_features, *encoder_layer_sizes, 2 * n_components], nn.ReLU)
        self.init_state = nn.Linear(n_components, num_layers * hidden_size)
        self.step_input = nn.Sequential(nn.Linear(n_components, hidden_size), nn.ReLU())
        self.gru = nn.GRU(hidden_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.readout = nn.Linear(hidden_size, n_categories)

    def encode(self, x):
        h = self.encoder(x)
        return h[:, : self.n_components], h[:, self.n_components :]

    def decode(self, z):
        n = z.shape[0]
        h0 = torch.tanh(self.init_state(z)).reshape(n, self.num_layers, self.hidden_size)
        h0 = h0.transpose(0, 1).contiguous()
        inputs = self.step_input(z).unsqueeze(1).expand(n, self.n_positions, self.hidden_size)
        out, _ = self.gru(inputs.contiguous(), h0)
        return self.readout(out).reshape(n, self.n_positions * self.n_categories)


def make_sequence_core(n_categories, hidden_size=256, num_layers=1, encoder_layer_sizes=(512, 256)):
    """Factory of :class:`SequenceCore` for ``LRAVAETransformer(module=...)``.

    Parameters
    ----------
    n_categories : int
        Tokens per position (``SelfiesVectorizer.n_tokens_``).
    hidden_size : int, default=256
        GRU state size.
    num_layers : int, default=1
        Stacked GRU layers.
    encoder_layer_sizes : tuple of int, default=(512, 256)
        Hidden sizes of the MLP encoder.

    Returns
    -------
    factory : functools.partial
        Callable ``factory(n_features=..., n_components=..., n_outputs=...)``
        returning a :class:`SequenceCore`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.chem import make_sequence_core
    >>> X = np.eye(3, dtype=np.float32)[np.random.RandomState(0).randint(3, size=(40, 4))]
    >>> vae = LRAVAETransformer(2, likelihood="categorical", max_epochs=1, random_state=0,
    ...                         module=make_sequence_core(3, hidden_size=16))
    >>> vae.fit(X.reshape(40, 12)).transform(X.reshape(40, 12)[:2]).shape
    (2, 2)
    """
    import functools

    for name, value in (("n_categories", n_categories), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return functools.partial(
        SequenceCore,
        n_categories=n_categories,
        hidden_size=hidden_size,
        num_layers=num_layers,
        encoder_layer_sizes=tuple(encoder_layer_sizes),
    )


class StraightThroughCore(nn.Module):
    """Wrap a core so that its encoder only ever sees hard one-hot inputs.

    ``encode(x)`` replaces each position block of ``x`` by the one-hot vector
    of its argmax in the forward pass and passes gradients straight through to
    the soft input (``hard + (x - x.detach())``). One-hot data are unchanged,
    but the LRE term of the LRA-VAE loss, which feeds the decoder's softmax
    probabilities back into the encoder, then measures the LRE of the *hard*
    (argmax) decode -- the molecule that would really be evaluated -- while
    staying differentiable. Without it the encoder can read ``z`` back from
    the soft probabilities alone, so the soft LRE falls while the hard LRE
    does not (see ``benchmarks/results/qm9_vae.md``). With this core
    ``latent_reconstruction_error(decode="mean")`` equals ``decode="mode"``.

    Parameters
    ----------
    core : torch.nn.Module
        Core with ``encode`` and ``decode`` (e.g. :class:`MLPCore`).
    n_categories : int
        Tokens per position.

    Examples
    --------
    >>> import torch
    >>> from sklearn_lravae._network import MLPCore, StraightThroughCore
    >>> core = StraightThroughCore(MLPCore(6, 2, 6, (8,)), n_categories=3)
    >>> soft = torch.tensor([[0.6, 0.3, 0.1, 0.2, 0.2, 0.6]])
    >>> hard = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    >>> torch.equal(core.encode(soft)[0], core.encode(hard)[0])
    True
    """

    def __init__(self, core, n_categories):
        super().__init__()
        self.core = core
        self.n_categories = n_categories

    def encode(self, x):
        n = x.shape[0]
        blocks = x.reshape(n, -1, self.n_categories)
        hard = nn.functional.one_hot(blocks.argmax(-1), self.n_categories).to(x.dtype)
        return self.core.encode((blocks + (hard - blocks).detach()).reshape(n, -1))

    def decode(self, z):
        return self.core.decode(z)


def _build_straight_through(
    n_features, n_components, n_outputs, *, n_categories, core, hidden_layer_sizes
):
    if n_features % n_categories:
        raise ValueError(
            f"n_categories={n_categories} does not divide n_features={n_features}; pass "
            "the number of tokens per position (e.g. SelfiesVectorizer().n_tokens_)."
        )
    if core is None:
        inner = MLPCore(n_features, n_components, n_outputs, hidden_layer_sizes)
    else:
        inner = core(n_features=n_features, n_components=n_components, n_outputs=n_outputs)
    return StraightThroughCore(inner, n_categories)


def make_straight_through_core(n_categories, core=None, hidden_layer_sizes=(256, 128)):
    """Factory of :class:`StraightThroughCore` for ``LRAVAETransformer(module=...)``.

    Parameters
    ----------
    n_categories : int
        Tokens per position (``SelfiesVectorizer.n_tokens_``).
    core : callable or None, default=None
        Factory of the wrapped core (e.g. ``make_sequence_core(n_categories)``);
        None wraps an :class:`MLPCore` with ``hidden_layer_sizes``.
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Hidden sizes of the default MLP core (the transformer's own
        ``hidden_layer_sizes`` is ignored when ``module`` is given).

    Returns
    -------
    factory : functools.partial
        Callable ``factory(n_features=..., n_components=..., n_outputs=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.chem import make_straight_through_core
    >>> X = np.eye(3)[np.random.RandomState(0).randint(3, size=(40, 4))].reshape(40, 12)
    >>> vae = LRAVAETransformer(2, likelihood="categorical", gamma=0.1, max_epochs=1,
    ...                         module=make_straight_through_core(3, hidden_layer_sizes=(16,)),
    ...                         random_state=0).fit(X)
    >>> Z = vae.transform(X[:3])
    >>> bool(np.allclose(vae.latent_reconstruction_error(Z, decode="mean"),
    ...                  vae.latent_reconstruction_error(Z, decode="mode")))
    True
    """
    import functools

    if not isinstance(n_categories, int) or n_categories < 2:
        raise ValueError(f"n_categories must be an integer >= 2, got {n_categories!r}.")
    return functools.partial(
        _build_straight_through,
        n_categories=n_categories,
        core=core,
        hidden_layer_sizes=tuple(hidden_layer_sizes),
    )
