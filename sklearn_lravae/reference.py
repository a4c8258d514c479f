"""Latent reference distributions ``p_ref`` for the LRE term.

LRA-VAE penalises the latent reconstruction error of points ``z ~ p_ref``.
For general use ``p_ref`` is broad (:class:`NormalReference` with ``scale=2``,
covering and exceeding the prior); during latent-space Bayesian optimisation it
is centred on the queried points (:class:`GaussianMixtureReference`), usually
mixed with the broad one (:class:`MixtureReference`).

Every reference has ``sample(n_samples, n_components, generator=None,
device="cpu")`` returning a float32 :class:`torch.Tensor` and
``log_prob(Z)`` returning a NumPy array of log-densities.
"""

import numbers

import numpy as np
import torch
from scipy.special import logsumexp

__all__ = [
    "BaseReference",
    "GaussianMixtureReference",
    "MixtureReference",
    "NormalReference",
    "check_reference",
    "reference_from_state",
    "reference_to_state",
]

_LOG_2PI = float(np.log(2 * np.pi))


def _check_scale(scale, name="scale"):
    scale_arr = np.asarray(scale, dtype=float)
    if not np.all(np.isfinite(scale_arr)) or np.any(scale_arr <= 0):
        raise ValueError(f"{name} must be positive and finite, got {scale!r}.")
    return scale_arr


def _check_weights(weights, n, name="weights"):
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"{name} must be {n} non-negative finite numbers with a positive sum, got {weights!r}."
        )
    return w / w.sum()


class BaseReference:
    """Base class of reference distributions.

    Subclasses implement :meth:`sample` and :meth:`log_prob`; any object with
    a compatible ``sample`` method is accepted as ``reference`` too.

    Examples
    --------
    >>> import torch
    >>> from sklearn_lravae.reference import BaseReference
    >>> class Uniform(BaseReference):
    ...     def sample(self, n_samples, n_components, generator=None, device="cpu"):
    ...         return 6 * torch.rand(n_samples, n_components, generator=generator) - 3
    >>> tuple(Uniform().sample(5, 2).shape)
    (5, 2)
    """

    def sample(self, n_samples, n_components, generator=None, device="cpu"):
        """Draw latent points.

        Parameters
        ----------
        n_samples : int
            Number of points.
        n_components : int
            Latent dimension.
        generator : torch.Generator, default=None
            Source of randomness; torch's global RNG when None.
        device : str or torch.device, default="cpu"
            Device of the returned tensor.

        Returns
        -------
        z : torch.Tensor of shape (n_samples, n_components)
            float32 samples.
        """
        raise NotImplementedError

    def log_prob(self, Z):
        """Log-density of latent points.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)
            Latent points.

        Returns
        -------
        log_prob : ndarray of shape (n_points,)
            Natural-log density.
        """
        raise NotImplementedError

    def _check_dim(self, n_components):
        """Raise if the reference cannot live in ``n_components`` dimensions."""

    def __repr__(self):
        params = ", ".join(f"{k}={_short(v)}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self):
        return {}


def _short(value):
    arr = np.asarray(value) if not isinstance(value, list | tuple) else None
    if arr is not None and arr.ndim > 0 and arr.size > 4:
        return f"<array {arr.shape}>"
    return repr(value)


class NormalReference(BaseReference):
    """Isotropic (or diagonal) normal ``N(loc, diag(scale^2))``.

    Parameters
    ----------
    loc : float or array-like of shape (n_components,), default=0.0
        Mean.
    scale : float or array-like of shape (n_components,), default=2.0
        Standard deviation per dimension; must be positive.

    Examples
    --------
    >>> from sklearn_lravae.reference import NormalReference
    >>> ref = NormalReference(scale=2.0)
    >>> z = ref.sample(1000, 3, generator=__import__("torch").Generator().manual_seed(0))
    >>> tuple(z.shape), round(float(z.std()), 1)
    ((1000, 3), 2.0)
    """

    def __init__(self, loc=0.0, scale=2.0):
        self.loc = loc
        self.scale = scale
        _check_scale(scale)

    def _params(self):
        return {"loc": self.loc, "scale": self.scale}

    def _check_dim(self, n_components):
        for name in ("loc", "scale"):
            arr = np.asarray(getattr(self, name))
            if arr.ndim > 0 and arr.shape != (n_components,):
                raise ValueError(
                    f"NormalReference.{name} has shape {arr.shape}, but the latent "
                    f"space has n_components={n_components}."
                )

    def sample(self, n_samples, n_components, generator=None, device="cpu"):
        self._check_dim(n_components)
        eps = torch.randn(n_samples, n_components, generator=generator)
        loc = torch.as_tensor(np.asarray(self.loc, dtype=np.float32))
        scale = torch.as_tensor(np.asarray(self.scale, dtype=np.float32))
        return (loc + scale * eps).to(device)

    def log_prob(self, Z):
        Z = np.asarray(Z, dtype=float)
        scale = np.broadcast_to(_check_scale(self.scale), Z.shape[1:])
        u = (Z - np.asarray(self.loc, dtype=float)) / scale
        return -0.5 * (u**2).sum(-1) - np.log(scale).sum() - 0.5 * Z.shape[1] * _LOG_2PI


class GaussianMixtureReference(BaseReference):
    """Mixture of isotropic normals ``sum_i w_i N(means[i], scale^2 I)``.

    This is the LSBO reference: centred on the latent points that Bayesian
    optimisation queried (user guide, "LSBO"; Crystal-LSBO uses ``scale=0.3``).

    Parameters
    ----------
    means : array-like of shape (n_centres, n_components)
        Component centres, e.g. recent queried latents.
    scale : float, default=0.3
        Standard deviation of every component; must be positive.
    weights : array-like of shape (n_centres,), default=None
        Non-negative mixture weights (normalised); uniform when None.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_lravae.reference import GaussianMixtureReference
    >>> ref = GaussianMixtureReference([[5.0, 5.0], [-5.0, -5.0]], scale=0.1)
    >>> z = ref.sample(200, 2, generator=torch.Generator().manual_seed(0)).numpy()
    >>> bool(np.all(np.abs(np.abs(z) - 5.0) < 1.0))
    True
    """

    def __init__(self, means, scale=0.3, weights=None):
        self.means = means
        self.scale = scale
        self.weights = weights
        means_arr = np.asarray(means, dtype=float)
        if means_arr.ndim != 2 or means_arr.shape[0] == 0:
            raise ValueError(
                "means must be a non-empty 2-D array (n_centres, n_components), got "
                f"shape {means_arr.shape}."
            )
        if not np.isfinite(means_arr).all():
            raise ValueError("means must be finite.")
        if np.ndim(scale) != 0:
            raise ValueError(f"scale must be a positive float, got {scale!r}.")
        _check_scale(scale)
        _check_weights(weights, means_arr.shape[0])

    def _params(self):
        return {"means": self.means, "scale": self.scale, "weights": self.weights}

    def _check_dim(self, n_components):
        d = np.asarray(self.means).shape[1]
        if d != n_components:
            raise ValueError(
                f"GaussianMixtureReference.means has {d} columns, but the latent "
                f"space has n_components={n_components}."
            )

    def sample(self, n_samples, n_components, generator=None, device="cpu"):
        self._check_dim(n_components)
        means = torch.as_tensor(np.asarray(self.means, dtype=np.float32))
        w = torch.as_tensor(_check_weights(self.weights, len(means)), dtype=torch.float32)
        idx = torch.multinomial(w, n_samples, replacement=True, generator=generator)
        eps = torch.randn(n_samples, n_components, generator=generator)
        return (means[idx] + float(self.scale) * eps).to(device)

    def log_prob(self, Z):
        Z = np.asarray(Z, dtype=float)
        means = np.asarray(self.means, dtype=float)
        w = _check_weights(self.weights, len(means))
        s = float(self.scale)
        d = Z.shape[1]
        sq = ((Z[:, None, :] - means[None]) ** 2).sum(-1) / s**2
        comp = -0.5 * sq - d * np.log(s) - 0.5 * d * _LOG_2PI
        return logsumexp(comp + np.log(w)[None], axis=1)


class MixtureReference(BaseReference):
    """Mixture of other references, e.g. queried points plus a broad normal.

    Parameters
    ----------
    components : list of references or floats
        Each item is a reference object or a float ``s`` for ``N(0, s^2 I)``.
    weights : array-like of shape (n_components_mixture,), default=None
        Non-negative weights (normalised); uniform when None.

    Examples
    --------
    >>> import torch
    >>> from sklearn_lravae.reference import GaussianMixtureReference, MixtureReference
    >>> ref = MixtureReference([GaussianMixtureReference([[1.0, 0.0]]), 2.0], [0.5, 0.5])
    >>> tuple(ref.sample(10, 2, generator=torch.Generator().manual_seed(0)).shape)
    (10, 2)
    """

    def __init__(self, components, weights=None):
        self.components = components
        self.weights = weights
        if not isinstance(components, list | tuple) or not components:
            raise ValueError("components must be a non-empty list of references.")
        self._components = [check_reference(c) for c in components]
        _check_weights(weights, len(components))

    def _params(self):
        return {"components": self._components, "weights": self.weights}

    def _check_dim(self, n_components):
        for c in self._components:
            c._check_dim(n_components)

    def sample(self, n_samples, n_components, generator=None, device="cpu"):
        w = torch.as_tensor(
            _check_weights(self.weights, len(self._components)), dtype=torch.float32
        )
        idx = torch.multinomial(w, n_samples, replacement=True, generator=generator)
        counts = torch.bincount(idx, minlength=len(self._components)).tolist()
        parts = [
            c.sample(k, n_components, generator=generator)
            for c, k in zip(self._components, counts)
            if k > 0
        ]
        return torch.cat(parts)[torch.argsort(idx, stable=True).argsort()].to(device)

    def log_prob(self, Z):
        w = _check_weights(self.weights, len(self._components))
        logs = np.stack([c.log_prob(Z) for c in self._components], axis=1)
        return logsumexp(logs + np.log(w)[None], axis=1)


def check_reference(reference):
    """Turn ``reference`` into a reference object.

    Parameters
    ----------
    reference : float or reference object
        A positive float ``s`` means ``NormalReference(loc=0, scale=s)``.

    Returns
    -------
    reference : BaseReference
        The reference object.

    Examples
    --------
    >>> from sklearn_lravae.reference import check_reference
    >>> check_reference(2.0)
    NormalReference(loc=0.0, scale=2.0)
    """
    if isinstance(reference, numbers.Real) and not isinstance(reference, bool):
        if not np.isfinite(reference) or reference <= 0:
            raise ValueError(
                "reference must be a positive scale (float) or a reference object "
                f"from sklearn_lravae.reference; got reference={reference!r}."
            )
        return NormalReference(loc=0.0, scale=float(reference))
    if callable(getattr(reference, "sample", None)):
        return reference
    raise TypeError(
        "reference must be a positive float (scale of N(0, s^2 I)) or an object with "
        f"a sample(n_samples, n_components, generator) method; got {reference!r}."
    )


def reference_to_state(ref):
    """JSON-ready description of a reference (or a float scale); None if not ours.

    Used by search checkpoints; :func:`sklearn_lravae.save` stores references
    through its general encoder, which reads the same parameters.

    Parameters
    ----------
    ref : BaseReference or float
        A reference distribution of this module, or a scale.

    Returns
    -------
    state : dict or None
        Plain JSON types only; None for a user-defined reference class.

    Examples
    --------
    >>> from sklearn_lravae.reference import (NormalReference, reference_from_state,
    ...                                       reference_to_state)
    >>> state = reference_to_state(NormalReference(scale=2.0))
    >>> state["class"], reference_from_state(state).scale
    ('NormalReference', 2.0)
    """
    if isinstance(ref, numbers.Real) and not isinstance(ref, bool):
        return {"class": "scale", "scale": float(ref)}
    if type(ref) not in _STATE_CLASSES.values():
        return None

    def value(v):
        if isinstance(v, BaseReference):
            return reference_to_state(v)
        if isinstance(v, list | tuple):
            return {"list": [value(x) for x in v]}
        if v is None or isinstance(v, numbers.Real):
            return v if v is None else float(v)
        return {"array": np.asarray(v, dtype=float).tolist()}

    return {"class": type(ref).__name__, "params": {k: value(v) for k, v in ref._params().items()}}


def reference_from_state(state):
    """Inverse of :func:`reference_to_state`; only this module's classes are built.

    Parameters
    ----------
    state : dict or None
        As written by :func:`reference_to_state`.

    Returns
    -------
    reference : BaseReference, float or None

    Raises
    ------
    ValueError
        If ``state`` names a class that is not one of this module's references.
    """
    if state is None:
        return None
    if state["class"] == "scale":
        return float(state["scale"])
    cls = _STATE_CLASSES.get(state["class"])
    if cls is None:
        raise ValueError(f"unknown reference class {state['class']!r} in checkpoint")

    def value(v):
        if isinstance(v, dict) and "class" in v:
            return reference_from_state(v)
        if isinstance(v, dict) and "list" in v:
            return [value(x) for x in v["list"]]
        if isinstance(v, dict) and "array" in v:
            return np.asarray(v["array"], dtype=float)
        return v

    return cls(**{k: value(v) for k, v in state["params"].items()})


_STATE_CLASSES = {
    c.__name__: c for c in (NormalReference, GaussianMixtureReference, MixtureReference)
}
