"""The search box: built from bounds or data, and as a scikit-optimize ``Space``.

:func:`make_box` turns ``bounds`` into an ``(n_components, 2)`` array;
:func:`data_box` builds the box from encoded data (quantiles plus a margin).

skopt's :class:`~skopt.space.Space` transforms, samples and measures points
one dimension and one Python float at a time. In a latent search every point
is a row of ``n_components`` real numbers, and its ``Optimizer`` transforms
every observation and thousands of candidates at each ``tell``, and compares
each proposal with every observation in Python. Measured on whole benchmark
runs this is a modest share (``benchmarks/results/speed_lsbo.md``: GP + EI
runs 1.1-1.2x faster with this and the fixed-kernel fit together).
:class:`BoxSpace` is the same space (``Real(low, high, transform="normalize")``
per dimension) with these operations done on arrays, giving the same numbers
(and the same random draws for the same seed); :class:`BoxOptimizer` is
skopt's :class:`~skopt.Optimizer` on it.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from skopt import Optimizer
from skopt.space import Real, Space

__all__ = ["BoxOptimizer", "BoxSpace", "data_box", "make_box"]

_EPS = 1e-8  # skopt's tolerance on the bounds of a normalised dimension


def make_box(bounds, n_components):
    """The search box as an ``(n_components, 2)`` array from ``bounds``.

    Examples
    --------
    >>> from sklearn_lravae.search._space import make_box
    >>> make_box(2.0, 3).tolist()
    [[-2.0, 2.0], [-2.0, 2.0], [-2.0, 2.0]]
    """
    d = n_components
    if isinstance(bounds, numbers.Real):
        return np.tile([-float(bounds), float(bounds)], (d, 1))
    box = np.asarray(bounds, dtype=float)
    if box.shape != (d, 2) or np.any(box[:, 0] >= box[:, 1]):
        raise ValueError(
            f"bounds must be a positive float or an array of shape ({d}, 2) with "
            f"lower < upper per row (n_components={d}); got shape {box.shape}."
        )
    return box


def data_box(latents, quantile=0.005, margin=0.1, fallback=3.0):
    """A search box from encoded data: per-dimension quantiles, widened by a margin.

    Parameters
    ----------
    latents : ndarray of shape (n, n_components)
        Encoded objects (rows with NaN are ignored).
    quantile : float, default=0.005
        Lower quantile (the upper one is ``1 - quantile``), so a few outliers
        do not stretch the box.
    margin : float, default=0.1
        Fraction of each side's width added on both ends, so the search can
        reach a little beyond the data.
    fallback : float, default=3.0
        ``[-fallback, fallback]`` in every dimension when fewer than two rows
        are finite.

    Returns
    -------
    box : ndarray of shape (n_components, 2)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._space import data_box
    >>> Z = np.column_stack([np.linspace(0, 1, 101), np.linspace(-10, 10, 101)])
    >>> data_box(Z, quantile=0.0).round(2).tolist()
    [[-0.1, 1.1], [-12.0, 12.0]]
    """
    Z = np.asarray(latents, dtype=float)
    Z = Z[np.all(np.isfinite(Z), axis=1)]
    if len(Z) < 2:
        return np.tile([-float(fallback), float(fallback)], (np.shape(latents)[1], 1))
    lo, hi = np.quantile(Z, [quantile, 1 - quantile], axis=0)
    width = np.maximum(hi - lo, 1e-6)
    return np.column_stack([lo - margin * width, hi + margin * width])


class BoxSpace(Space):
    """``Space([Real(lo, hi, transform="normalize") for lo, hi in box])``, vectorised.

    Parameters
    ----------
    box : array-like of shape (n_dims, 2)
        Lower and upper bound of each dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from skopt.space import Real, Space
    >>> from sklearn_lravae.search._space import BoxSpace
    >>> box = [(-3.0, 3.0), (0.0, 1.0)]
    >>> fast = BoxSpace(box)
    >>> stock = Space([Real(lo, hi, transform="normalize") for lo, hi in box])
    >>> fast.rvs(3, random_state=0) == stock.rvs(3, random_state=0)
    True
    >>> fast.transform([[0.0, 0.5]]).tolist(), fast.inverse_transform([[1.0, 0.25]])
    ([[0.5, 0.5]], [[3.0, 0.25]])
    """

    def __init__(self, box):
        box = np.asarray(box, dtype=float).reshape(-1, 2)
        self._set([Real(lo, hi, transform="normalize") for lo, hi in box])

    def _set(self, dimensions):
        super().__init__(dimensions)
        self._low = np.array([d.low for d in self.dimensions], dtype=float)
        self._high = np.array([d.high for d in self.dimensions], dtype=float)
        self._width = self._high - self._low

    @classmethod
    def from_dimensions(cls, dimensions):
        """The :class:`BoxSpace` of ``dimensions`` (the same objects), or None unless all
        are uniform ``Real`` dimensions with the ``"normalize"`` transform and float dtype."""
        ok = all(
            type(d) is Real
            and d.prior == "uniform"
            and d.transform_ == "normalize"
            and d.dtype in (float, "float")
            for d in dimensions
        )
        if not (ok and dimensions):
            return None
        space = cls.__new__(cls)  # the dimensions as they are: building Reals is not free
        space._set(list(dimensions))
        return space

    def _rows(self, X):
        return np.asarray(X, dtype=float).reshape(-1, self.n_dims)

    def transform(self, X):
        """Samples of the box in ``[0, 1]^n_dims`` (an array), as ``Space.transform``."""
        X = self._rows(X)
        if np.any(X > self._high + _EPS):
            j = int(np.flatnonzero(np.any(X > self._high + _EPS, axis=0))[0])
            raise ValueError(f"All values should be at most {self._high[j]:f} (dimension {j}).")
        if np.any(X < self._low - _EPS):
            j = int(np.flatnonzero(np.any(X < self._low - _EPS, axis=0))[0])
            raise ValueError(f"All values should be at least {self._low[j]:f} (dimension {j}).")
        return (X - self._low) / self._width  # skopt's Real has high > low

    def inverse_transform(self, Xt):
        """Points of the box (a list of lists) from ``[0, 1]^n_dims``, as ``Space``'s."""
        Xt = self._rows(Xt)
        if np.any(Xt > 1.0 + _EPS):
            raise ValueError("All values should be less than 1.0")
        if np.any(Xt < 0.0 - _EPS):
            raise ValueError("All values should be greater than 0.0")
        return np.clip(Xt * self._width + self._low, self._low, self._high).tolist()

    def rvs(self, n_samples=1, random_state=None):
        """Uniform samples of the box (a list of lists), the draws of ``Space.rvs``."""
        if self.constraint is not None:  # pragma: no cover - BoxSpace has none
            return super().rvs(n_samples, random_state)
        rng = check_random_state(random_state)
        cols = [d._rvs.rvs(size=n_samples, random_state=rng) for d in self.dimensions]
        return self.inverse_transform(np.column_stack(cols))

    def distance(self, point_a, point_b):
        """Sum of absolute differences (the L1 distance ``Space.distance`` gives)."""
        a, b = np.asarray(point_a, dtype=float), np.asarray(point_b, dtype=float)
        if np.any((a < self._low) | (a > self._high) | (b < self._low) | (b > self._high)):
            raise RuntimeError(
                f"Can only compute distance for values within the space, not {point_a} and "
                f"{point_b}."
            )
        return float(np.sum(np.abs(a - b)))


class BoxOptimizer(Optimizer):
    """skopt's :class:`~skopt.Optimizer`, on a :class:`BoxSpace` when its dimensions allow.

    Same parameters and behaviour; :meth:`copy` (used by ``ask`` for a batch)
    keeps the class.
    """

    def __init__(self, dimensions, *args, **kwargs):
        super().__init__(dimensions, *args, **kwargs)
        if self.space.constraint is None:
            self.space = BoxSpace.from_dimensions(self.space.dimensions) or self.space

    def copy(self, random_state=None):
        """A copy told the same observations (skopt's ``Optimizer.copy``, this class)."""
        optimizer = type(self)(
            dimensions=self.space.dimensions,
            base_estimator=self.base_estimator_,
            n_initial_points=self.n_initial_points_,
            initial_point_generator=self._initial_point_generator,
            acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer,
            acq_func_kwargs=self.acq_func_kwargs,
            acq_optimizer_kwargs=self.acq_optimizer_kwargs,
            space_constraint=self.space.constraint,
            random_state=random_state,
        )
        optimizer._initial_samples = self._initial_samples
        if hasattr(self, "gains_"):
            optimizer.gains_ = np.copy(self.gains_)
        if self.Xi:
            optimizer._tell(self.Xi, self.yi)
        return optimizer
