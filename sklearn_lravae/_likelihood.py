"""Observation models p(x | z) of the decoder.

Each likelihood is a small :class:`torch.nn.Module` that turns the decoder's raw
output (its *parameters*) into

- a per-sample log-likelihood ``log p(x | z)`` (summed over features),
- the decoder's *mean* object (what ``inverse_transform`` returns and what the
  latent reconstruction error feeds back into the encoder, differentiably), and
- the decoder's *mode* (the "hard" decode: the object that would actually be
  evaluated, e.g. the argmax token sequence of a molecule).

The likelihood also validates the data it is asked to model (dense arrays of any
numeric or bool dtype, or SciPy sparse matrices, checked without a float copy of
the whole set), and carries the
``beta`` (KL weight) that ``LRAVAETransformer(beta="auto")`` uses with it:
``default_beta``, and the hidden sizes of ``hidden_layer_sizes="auto"``:
``default_hidden_layer_sizes``.
"""

import math

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from ._utils import dense_chunks

__all__ = [
    "BernoulliLikelihood",
    "CategoricalLikelihood",
    "GaussianLikelihood",
    "infer_n_categories",
    "make_likelihood",
]

LIKELIHOODS = ("bernoulli", "gaussian", "categorical")


class BernoulliLikelihood(nn.Module):
    """Independent Bernoulli per feature; data must lie in [0, 1]."""

    name = "bernoulli"
    #: ``beta="auto"``: the ELBO itself.
    default_beta = 1.0
    default_hidden_layer_sizes = (256, 128)

    def __init__(self, n_features):
        super().__init__()
        self.n_features = n_features

    @property
    def n_outputs(self):
        return self.n_features

    def log_prob(self, x, out):
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(-1)

    def mean(self, out):
        return torch.sigmoid(out)

    def mode(self, out):
        return (out > 0).to(out.dtype)

    @staticmethod
    def check_data(X):
        lo, hi = (float(X.min()), float(X.max())) if sp.issparse(X) else (np.min(X), np.max(X))
        lo, hi = float(lo), float(hi)
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"likelihood='bernoulli' needs X in [0, 1], got values in [{lo:.4g}, "
                f"{hi:.4g}]. Scale X first (e.g. MinMaxScaler) or use "
                "likelihood='gaussian'."
            )


class GaussianLikelihood(nn.Module):
    """Independent Gaussian per feature with a learned per-feature scale.

    The decoder outputs the mean; ``log_scale`` is a free parameter (clamped to
    ``[min_log_scale, max_log_scale]`` so the likelihood cannot collapse on
    constant features).
    """

    name = "gaussian"
    #: ``beta="auto"``: the ELBO itself.
    default_beta = 1.0
    default_hidden_layer_sizes = (256, 128)

    def __init__(self, n_features, min_log_scale=-5.0, max_log_scale=5.0):
        super().__init__()
        self.n_features = n_features
        self.min_log_scale = min_log_scale
        self.max_log_scale = max_log_scale
        self.log_scale = nn.Parameter(torch.zeros(n_features))

    @property
    def n_outputs(self):
        return self.n_features

    def log_prob(self, x, out):
        log_scale = self.log_scale.clamp(self.min_log_scale, self.max_log_scale)
        z = (x - out) * torch.exp(-log_scale)
        return (-0.5 * z.pow(2) - log_scale - 0.5 * math.log(2 * math.pi)).sum(-1)

    def mean(self, out):
        return out

    def mode(self, out):
        return out

    @staticmethod
    def check_data(X):
        return None


class CategoricalLikelihood(nn.Module):
    """One categorical distribution per position of a flattened one-hot array.

    ``X`` has shape ``(n, n_positions * n_categories)``: position ``p`` owns the
    columns ``p * n_categories: (p + 1) * n_categories`` and each block is a
    one-hot vector (or a probability vector).
    """

    name = "categorical"
    #: ``beta="auto"``: at ``beta=1`` the KL term switches most latents off and
    #: few sequences decode exactly (QM9 SELFIES, 10,000 training molecules: 7% of
    #: held-out molecules after 50 epochs); 0.01 keeps the latent space informative (90%).
    default_beta = 0.01
    #: ``hidden_layer_sizes="auto"``: wider than for images, which held-out
    #: molecules need to be reconstructed exactly (QM9, 10,000 training molecules).
    default_hidden_layer_sizes = (512, 256)

    def __init__(self, n_features, n_categories):
        super().__init__()
        if n_features % n_categories:
            raise ValueError(
                f"n_categories={n_categories} does not divide the number of features "
                f"({n_features}); a categorical X must be a flattened "
                "(n_positions, n_categories) one-hot array."
            )
        self.n_features = n_features
        self.n_categories = n_categories
        self.n_positions = n_features // n_categories

    @property
    def n_outputs(self):
        return self.n_features

    def _blocks(self, t):
        return t.reshape(t.shape[0], self.n_positions, self.n_categories)

    def log_prob(self, x, out):
        logp = F.log_softmax(self._blocks(out), dim=-1)
        return (self._blocks(x) * logp).sum(dim=(1, 2))

    def mean(self, out):
        return F.softmax(self._blocks(out), dim=-1).reshape(out.shape)

    def mode(self, out):
        idx = self._blocks(out).argmax(-1)
        return F.one_hot(idx, self.n_categories).to(out.dtype).reshape(out.shape)

    def check_data(self, X):
        if not all(_blocks_sum_to_one(c, self.n_categories) for c in dense_chunks(X)):
            raise ValueError(
                "likelihood='categorical' needs X to be a flattened one-hot (or "
                "probability) array whose blocks of n_categories="
                f"{self.n_categories} columns each sum to 1; use "
                "sklearn_lravae.chem.SelfiesVectorizer to build it."
            )


def infer_n_categories(X):
    """Smallest block size ``k`` for which every ``k``-column block sums to one.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Flattened one-hot data (any numeric or bool dtype), checked chunk by chunk.

    Returns
    -------
    n_categories : int
        The number of categories per position.

    Raises
    ------
    ValueError
        If no block size makes every block a probability vector.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae._likelihood import infer_n_categories
    >>> X = np.eye(3)[[0, 2, 1, 1]].reshape(2, 6)
    >>> infer_n_categories(X)
    3
    """
    n_features = X.shape[1]
    head = next(dense_chunks(X, 1024), None)  # any valid row determines k (see below)
    for k in range(2, n_features + 1) if head is not None else ():
        if not n_features % k and _blocks_sum_to_one(head, k):
            if all(_blocks_sum_to_one(c, k) for c in dense_chunks(X)):
                return k
            break
    raise ValueError(
        "likelihood='categorical' with n_categories='auto' could not find a block "
        "size k such that every k-column block of X sums to 1. Pass X as a "
        "flattened one-hot array (e.g. from SelfiesVectorizer) or set n_categories."
    )


def _blocks_sum_to_one(X, k):
    """Whether every ``k``-column block of the dense array ``X`` is a probability vector.

    A row of ``n_positions`` such blocks sums to ``n_positions = n_features / k``, so
    at most one block size fits a row: ``k`` found on the first rows is the only
    candidate for all of them.
    """
    if X.size and np.min(X) < 0:
        return False
    sums = X.reshape(X.shape[0], X.shape[1] // k, k).sum(-1, dtype=np.float64)
    return bool(np.allclose(sums, 1.0, atol=1e-4))


def make_likelihood(name, n_features, n_categories="auto", X=None):
    """Build the likelihood module called ``name`` for ``n_features`` features."""
    if name == "bernoulli":
        return BernoulliLikelihood(n_features)
    if name == "gaussian":
        return GaussianLikelihood(n_features)
    if name == "categorical":
        if n_categories == "auto":
            n_categories = infer_n_categories(X)
        return CategoricalLikelihood(n_features, int(n_categories))
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {name!r}.")
