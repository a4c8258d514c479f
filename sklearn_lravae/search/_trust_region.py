"""Trust-region proposals (TuRBO, Eriksson et al. 2019; used in LSBO by LOL-BO).

A box around the incumbent (the best observation so far) in the search box's
normalised coordinates ``[0, 1]^d``: its side ``length`` doubles after
``success_tolerance`` consecutive improving rounds, halves after
``failure_tolerance`` consecutive rounds without improvement, and restarts at
``length_init`` once it falls below ``length_min`` (the observations are kept,
as in LOL-BO). Inside the box, candidates perturb a random subset of the
incumbent's coordinates (TuRBO's candidate set) and a batch is chosen by
Thompson sampling from the surrogate's joint posterior over them. The box's
sides follow the GP's length scales when they are known (wider where the
objective varies slowly).

With ``recoordinate=True`` the box is centred on ``enc(dec(z*))`` — the latent
point the incumbent object really encodes to — rather than on the queried
``z*`` (CoBO's recoordination); the caller supplies that point.
"""

import math

import numpy as np
from scipy.linalg import cholesky

__all__ = ["TrustRegion", "thompson_choice"]


def thompson_choice(mean, cov, n_points, rng):
    """Rows of ``n_points`` distinct minimisers of joint draws from ``N(mean, cov)``.

    One joint draw per point (Thompson sampling for a batch); a row already
    chosen is passed over for the next-lowest of that draw. A covariance that
    stays indefinite after jitter falls back to independent draws.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._trust_region import thompson_choice
    >>> rng = np.random.default_rng(0)
    >>> thompson_choice(np.array([0.0, -5.0, 3.0]), 1e-6 * np.eye(3), 2, rng)
    [1, 0]
    """
    cov = np.asarray(cov, dtype=float)
    n = len(mean)
    diag = np.diag(cov).copy()
    jitter = 1e-10 * max(float(np.mean(diag)), 1e-12)
    for _ in range(6):
        sym = np.add(cov, cov.T)  # (cov + cov.T) / 2 + jitter I, in one array (n is ~3,000)
        sym *= 0.5
        sym[np.diag_indices(n)] += jitter
        try:
            chol = cholesky(sym, lower=True, overwrite_a=True, check_finite=False)
            break
        except np.linalg.LinAlgError:
            jitter *= 100.0
    else:  # degenerate posterior: fall back to independent draws
        chol = np.diag(np.sqrt(np.clip(diag, 0.0, None)))
    draws = mean[:, None] + chol @ rng.standard_normal((n, n_points))
    chosen = []
    for j in range(min(n_points, n)):
        order = np.argsort(draws[:, j])
        chosen.append(next(int(i) for i in order if int(i) not in chosen))
    return chosen


#: Initial side length of the region when the surrogate models the decoded
#: objects: beyond a fifth of the box, decodes of a VAE's latent space are
#: mostly far from the data (``docs/lsbo.rst``).
OBJECT_LENGTH_INIT = 0.2


def make_region(n_dims, batch_size, kwargs=None, on_objects=False):
    """The :class:`TrustRegion` of a search; ``kwargs`` from ``trust_region_kwargs``.

    With ``on_objects`` (an object surrogate) ``length_init`` defaults to
    :data:`OBJECT_LENGTH_INIT`.
    """
    kw = dict(kwargs or {})
    if on_objects:
        kw.setdefault("length_init", OBJECT_LENGTH_INIT)
    try:
        return TrustRegion(n_dims, batch_size, **kw)
    except TypeError as exc:
        raise TypeError(f"trust_region_kwargs: {exc}") from None


class TrustRegion:
    """State and proposals of one trust region.

    Parameters
    ----------
    n_dims : int
        Latent dimension.
    batch_size : int, default=1
        Points per round (sets the default failure tolerance).
    length_init : float, default=0.8
        Initial side length in normalised coordinates (the search box is 1).
    length_min : float, default=0.5 ** 7
        The region restarts at ``length_init`` below this length.
    length_max : float, default=1.6
        Largest side length.
    success_tolerance : int, default=3
        Consecutive improving rounds before the box doubles.
    failure_tolerance : int or None, default=None
        Consecutive rounds without improvement before the box halves;
        None uses TuRBO's ``ceil(max(4, n_dims) / batch_size)``.
    n_candidates : int or None, default=None
        Candidates per proposal; None uses ``min(100 * n_dims, 2000)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._trust_region import TrustRegion
    >>> tr = TrustRegion(2, success_tolerance=2, failure_tolerance=2)
    >>> tr.length
    0.8
    >>> tr.update([1.0]); tr.update([0.5]); tr.update([0.4]); tr.length  # two failures
    0.4
    >>> tr.update([2.0]); tr.update([3.0]); tr.length  # two successes
    0.8
    """

    def __init__(
        self,
        n_dims,
        batch_size=1,
        *,
        length_init=0.8,
        length_min=0.5**7,
        length_max=1.6,
        success_tolerance=3,
        failure_tolerance=None,
        n_candidates=None,
    ):
        if not 0 < length_min < length_init <= length_max:
            raise ValueError(
                "trust region lengths must satisfy 0 < length_min < length_init <= length_max; "
                f"got {length_min}, {length_init}, {length_max}."
            )
        self.n_dims = int(n_dims)
        self.length_init = float(length_init)
        self.length_min = float(length_min)
        self.length_max = float(length_max)
        self.success_tolerance = int(success_tolerance)
        if failure_tolerance is None:
            failure_tolerance = math.ceil(max(4, self.n_dims) / max(1, int(batch_size)))
        self.failure_tolerance = int(failure_tolerance)
        self.n_candidates = int(n_candidates or min(100 * self.n_dims, 2000))
        self.length = self.length_init
        self.n_success = 0
        self.n_failure = 0
        self.n_restarts = 0
        self.best = None  # best value seen by update()

    # ------------------------------------------------------------------ update
    def update(self, values, others=()):
        """Adapt the box after a round with objective ``values`` (higher is better).

        ``values`` are those of the region's own proposals; ``others`` (e.g.
        library objects proposed in the same round) only raise the reference
        level: they do not count as the region's success or failure. A round
        with no ``values`` of its own leaves the box as it is. The region's
        values are compared with the reference level from before the round.
        """
        v = np.asarray(values, dtype=float).ravel()
        o = np.asarray(others, dtype=float).ravel()
        o = o[np.isfinite(o)]
        if not v.size:
            if o.size:
                self.best = float(o.max()) if self.best is None else max(self.best, float(o.max()))
            return
        v = v[np.isfinite(v)]
        new_best = float(v.max()) if len(v) else -np.inf
        if self.best is None:  # the first round only sets the reference level
            both = np.concatenate([v, o])
            self.best = float(both.max()) if both.size else None
            return
        if new_best > self.best + 1e-3 * abs(self.best):
            self.n_success, self.n_failure = self.n_success + 1, 0
        else:
            self.n_success, self.n_failure = 0, self.n_failure + 1
        self.best = max(self.best, new_best, float(o.max()) if o.size else -np.inf)
        if self.n_success >= self.success_tolerance:
            self.length = min(2.0 * self.length, self.length_max)
            self.n_success = 0
        elif self.n_failure >= self.failure_tolerance:
            self.length /= 2.0
            self.n_failure = 0
        if self.length < self.length_min:  # collapsed: restart around the incumbent
            self.length = self.length_init
            self.n_success = self.n_failure = 0
            self.n_restarts += 1

    def start(self, values):
        """Set the reference level from the initial observations."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        self.best = float(v.max()) if len(v) else None

    # ---------------------------------------------------------------- proposal
    def bounds(self, center, length_scales=None):
        """Lower and upper corners of the box around ``center`` (normalised coordinates)."""
        center = np.asarray(center, dtype=float)
        w = np.ones(self.n_dims)
        if length_scales is not None and len(length_scales) == self.n_dims:
            ls = np.asarray(length_scales, dtype=float)
            w = ls / ls.mean()
            w = w / np.prod(np.power(w, 1.0 / len(w)))  # geometric mean 1, as in TuRBO
        half = w * self.length / 2.0
        return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)

    def candidates(self, center, rng, length_scales=None):
        """TuRBO's candidate set: perturb a random subset of the centre's coordinates."""
        lo, hi = self.bounds(center, length_scales)
        n, d = self.n_candidates, self.n_dims
        pert = lo + (hi - lo) * rng.random((n, d))
        prob = min(20.0 / d, 1.0)
        mask = rng.random((n, d)) <= prob
        empty = ~mask.any(axis=1)
        mask[empty, rng.integers(0, d, size=int(empty.sum()))] = True
        return np.where(mask, pert, np.asarray(center, dtype=float))

    def propose(self, model, center, n_points, rng, length_scales=None):
        """Thompson sampling: ``n_points`` distinct minimisers of joint posterior draws.

        ``model`` is a fitted regressor with ``predict(X, return_cov=True)``
        modelling the values to *minimise* in normalised coordinates.
        """
        return self.propose_from(model, center, n_points, rng, length_scales)[0]

    def propose_from(self, model, center, n_points, rng, length_scales=None, extra=None):
        """:meth:`propose` with ``extra`` candidates (e.g. known objects) in the draw.

        The rows of ``extra`` (normalised coordinates, anywhere in the search
        box) join the region's candidates in the same joint posterior draws;
        the caller keeps them few (their number adds to the draw's cubic
        cost). Returns ``(points, source)``: ``source[j]`` is the row of
        ``extra`` that point ``j`` is, or -1.
        """
        cands = self.candidates(center, rng, length_scales)
        n_own = len(cands)
        if extra is not None and len(extra):
            cands = np.vstack([cands, np.asarray(extra, dtype=float)])
        mean, cov = model.predict(cands, return_cov=True)
        chosen = thompson_choice(mean, cov, n_points, rng)
        source = np.array([i - n_own if i >= n_own else -1 for i in chosen], dtype=int)
        return cands[chosen], source

    # ---------------------------------------------------------------- state
    def state(self):
        """JSON-ready state for checkpoints."""
        return {
            "length": self.length,
            "n_success": self.n_success,
            "n_failure": self.n_failure,
            "n_restarts": self.n_restarts,
            "best": self.best,
        }

    def set_state(self, state):
        """Restore :meth:`state`."""
        self.length = float(state["length"])
        self.n_success = int(state["n_success"])
        self.n_failure = int(state["n_failure"])
        self.n_restarts = int(state["n_restarts"])
        self.best = None if state["best"] is None else float(state["best"])
