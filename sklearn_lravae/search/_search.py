"""``LatentBayesSearch``: Bayesian optimisation in the latent space of an LRA-VAE."""

import copy
import multiprocessing
import numbers
import os
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition
from skopt.space import Real, Space
from skopt.utils import create_result
from tqdm.auto import tqdm

from ..metrics import find_lravae
from ..reference import (
    GaussianMixtureReference,
    MixtureReference,
    NormalReference,
    _reference_from_state,
    _reference_to_state,
)
from ._checkpoint import (
    load_model,
    load_state,
    load_weights,
    remove_stale_models,
    save_model,
    save_state,
)
from ._surrogate import SurrogateManager

__all__ = ["LatentBayesSearch", "rank_weights"]

STATUSES = ("ok", "failed", "invalid", "timeout")
ACQ_OPTIMIZER_KWARGS = {"n_points": 2000, "n_restarts_optimizer": 2}


def rank_weights(values, k):
    """Rank-based weights of Tripp et al. (2020): ``w_i ∝ 1 / (k N + rank_i)``.

    Parameters
    ----------
    values : array-like of shape (n,)
        Objective values (higher is better); NaN counts as the worst.
    k : float
        Sharpness; small ``k`` concentrates the weight on the best objects.

    Returns
    -------
    weights : ndarray of shape (n,)
        Positive weights with mean 1 (rank 0 = best value).

    Examples
    --------
    >>> from sklearn_lravae.search import rank_weights
    >>> w = rank_weights([0.1, 0.9, 0.5], k=1e-3)
    >>> bool(w[1] > w[2] > w[0]), round(float(w.mean()), 6)
    (True, 1.0)
    """
    v = np.asarray(values, dtype=float)
    v = np.where(np.isnan(v), -np.inf, v)
    ranks = np.empty(len(v))
    ranks[np.argsort(-v, kind="stable")] = np.arange(len(v))
    w = 1.0 / (k * len(v) + ranks)
    return w / w.mean()


def _safe_call(objective, obj):
    """Evaluate one object; never raises. Returns (value, status, message, seconds)."""
    start = time.perf_counter()
    if obj is None or (isinstance(obj, str) and not obj):
        return np.nan, "invalid", "decoder produced no object", 0.0
    try:
        value = objective(obj)
        value = float(value)
    except Exception as exc:  # a failed evaluation is recorded, not fatal
        return np.nan, "failed", f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    seconds = time.perf_counter() - start
    if not np.isfinite(value):
        return np.nan, "failed", f"objective returned {value}", seconds
    return value, "ok", "", seconds


def _indexed_call(i, objective, obj):
    return i, _safe_call(objective, obj)


def _dropped_indices(estimator):
    """Rows the last ``transform`` left out, as reported by a step's ``dropped_indices_``.

    E.g. ``SelfiesVectorizer(on_error="drop", on_long="drop")`` drops invalid or
    too long molecules instead of raising; None when no step reports any.
    """
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    for step in steps:
        dropped = getattr(step, "dropped_indices_", None)
        if dropped is not None:
            return np.asarray(dropped, dtype=int)
    return None


def _robust_transform(transform, objects, as_input, estimator=None):
    """``transform`` the objects it can; bisect around those raising ValueError.

    Returns the transformed rows and the indices of the objects they belong to
    (e.g. decoded molecules longer than a vectoriser's ``max_length`` are left
    out) at a cost of O(k log n) calls for k failures. Rows a step drops
    without raising are matched through its ``dropped_indices_`` (looked up in
    ``estimator``).
    """
    if not objects:
        return np.empty((0, 0)), []
    try:
        rows = np.asarray(transform(as_input(objects)), dtype=float)
    except ValueError:
        if len(objects) == 1:
            return np.empty((0, 0)), []
    else:
        index = list(range(len(objects)))
        if len(rows) != len(objects):
            dropped = None if estimator is None else _dropped_indices(estimator)
            drop = set() if dropped is None else set(dropped.tolist())
            if len(objects) - len(drop) != len(rows):
                raise RuntimeError(
                    f"transform returned {len(rows)} rows for {len(objects)} objects and no "
                    "pipeline step reports which it dropped (dropped_indices_)."
                )
            index = [i for i in index if i not in drop]
        return rows, index
    mid = len(objects) // 2
    left, kl = _robust_transform(transform, objects[:mid], as_input, estimator)
    right, kr = _robust_transform(transform, objects[mid:], as_input, estimator)
    parts = [p for p in (left, right) if len(p)]
    rows = np.vstack(parts) if parts else np.empty((0, 0))
    return rows, kl + [mid + i for i in kr]


def _safe_batch_call(objective, objects):
    """Evaluate a whole round with a vectorised objective; never raises."""
    start = time.perf_counter()
    try:
        values = np.asarray(objective(list(objects)), dtype=float).ravel()
        if len(values) != len(objects):
            raise ValueError(f"returned {len(values)} values for {len(objects)} objects")
    except Exception as exc:  # a failed evaluation is recorded, not fatal
        seconds = (time.perf_counter() - start) / len(objects)
        return [(np.nan, "failed", f"{type(exc).__name__}: {exc}", seconds)] * len(objects)
    seconds = (time.perf_counter() - start) / len(objects)
    out = []
    for obj, v in zip(objects, values, strict=True):
        if obj is None or (isinstance(obj, str) and not obj):
            out.append((np.nan, "invalid", "decoder produced no object", seconds))
        elif not np.isfinite(v):
            out.append((np.nan, "failed", f"objective returned {v}", seconds))
        else:
            out.append((float(v), "ok", "", seconds))
    return out


class LatentBayesSearch(BaseEstimator):
    """Latent-space Bayesian optimisation (LSBO) with LRA-VAE retraining.

    Searches the latent space of an :class:`~sklearn_lravae.LRAVAETransformer`
    (or of a Pipeline ending in one, e.g. ``SelfiesVectorizer`` + VAE) for
    objects that **maximise** ``objective``: ask a latent point from a
    scikit-optimize ``Optimizer`` -> decode it with ``inverse_transform`` ->
    evaluate -> tell. Every ``retrain_every`` evaluations the VAE continues
    training on the known objects with its LRE reference centred on the recent
    queries (METHOD.md, section 3), all evaluated objects are re-encoded, and
    the surrogate is rebuilt in the new latent space.

    Parameters
    ----------
    estimator : LRAVAETransformer or Pipeline
        Maps objects to latents (``transform``) and back (``inverse_transform``);
        a Pipeline must end with the VAE. Fitted or not (then it is fitted on
        the initial and ``train_objects`` at :meth:`fit`). It is deep-copied
        into ``estimator_``.
    objective : callable
        ``objective(obj) -> float``, called once per decoded object (a SMILES
        string, an image row, ...); higher is better. Exceptions, NaN/inf/None
        results and empty objects are recorded as failures (``history_``
        status ``"failed"``/``"invalid"``, value NaN) and do not stop the run;
        the surrogate sees them at the worst successful value so far, which
        steers it away without distorting its scale. Must be picklable for
        ``n_jobs != 1``. With ``vectorized=True`` it is called once per round
        with the list of objects instead.
    n_calls : int, default=50
        Number of objects to propose and evaluate (the objects in ``X`` not
        counted).
    n_initial_points : int, default=0
        How many of the ``n_calls`` evaluations decode random latent points
        (prior samples ``N(0, I)``, clipped to ``bounds``) before the surrogate
        takes over; useful when ``X`` holds few objects. Rounds are also
        random while no observed object could be encoded (e.g. all dropped by
        a vectoriser).
    batch_size : int, default=1
        Points per round; more than one uses skopt's constant-liar strategy and
        evaluates the round with ``n_jobs`` workers.
    surrogate : {"GP", "GP-stock", "RF", "ET"} or regressor, default="GP"
        ``"GP"``: skopt's Matern-5/2 GP whose hyperparameters are refitted
        only every ``hp_refit_every`` observations (warm start, no restarts),
        with a BLAS-based predictive variance (identical predictions, ~10x
        cheaper acquisition over thousands of candidates);
        ``"GP-stock"``: skopt's GP refitted with restarts at every step (slow);
        ``"RF"``/``"ET"``: skopt's forests. skopt's GBRT and dummy surrogates
        are broken with recent scikit-learn and are refused.
    acq_func : {"EI", "LCB", "PI", "gp_hedge"}, default="EI"
        Acquisition function.
    acq_optimizer : {"auto", "sampling", "lbfgs"}, default="auto"
        skopt's acquisition optimiser.
    acq_optimizer_kwargs : dict or None, default=None
        Passed to ``skopt.Optimizer``; None means ``{"n_points": 2000,
        "n_restarts_optimizer": 2}`` (skopt's own 10000 / 5 cost ~3.5x more
        per step at 300 observations for little gain in a latent box).
    bounds : float or array-like of shape (n_components, 2), default=3.0
        Search box; a float ``b`` is ``[-b, b]`` in every dimension (the prior
        holds 99.7% of its mass within 3).
    hp_refit_every : int, default=10
        Observations between GP hyperparameter refits (``surrogate="GP"``).
    retrain_every : int or None, default=None
        Retrain the VAE after this many evaluations; None never retrains on a
        schedule (a fixed VAE unless ``retrain_quantile`` is set).
    retrain_quantile : float in (0, 1) or None, default=None
        Also retrain as soon as an evaluation beats this quantile of the
        initial values.
    retrain_epochs : int, default=3
        Epochs of each retraining (``partial_fit``).
    reference_scale : float, default=0.3
        Scale of the normals centred on recent queries in the retraining
        reference distribution.
    n_recent : int or None, default=None
        Queries the reference is centred on (the last ``n_recent``); all since
        the start when None. They are taken in current coordinates: the queries
        since the last retraining as proposed, earlier ones re-encoded.
    broad_scale : float, default=2.0
        Scale of the broad ``N(0, s^2 I)`` component mixed into the reference.
    broad_weight : float in [0, 1], default=0.5
        Weight of the broad component.
    weight_k : float or None, default=None
        Rank-weighted retraining (Tripp et al. 2020, e.g. ``1e-3``): sample
        weights ``∝ 1 / (k N + rank)``; None weighs all objects equally.
    lre_threshold : float or None, default=None
        Consistency filter: candidates whose hard-decode LRE exceeds it are
        rejected and the next-best candidate is taken (``n_rejected_`` counts
        them).
    n_candidates : int, default=20
        With the consistency filter, how many of the best-acquisition candidates
        (per requested point) are checked before giving up.
    vectorized : bool, default=False
        Call ``objective(list_of_objects) -> values`` once per round (e.g.
        :func:`sklearn_lravae.chem.qed`, which takes lists of SMILES and has
        its own ``n_jobs``); NaN entries are failures.
    n_jobs : int or None, default=1
        Parallel evaluations (joblib; use ``joblib.parallel_config(backend=
        "dask")`` to spread them over a dask cluster).
    timeout : float or None, default=None
        Seconds a parallel evaluation may take (joblib's per-task ``timeout``;
        not enforced with ``n_jobs=1``, where joblib warns). When one exceeds
        it, the round's evaluations that have finished are kept and the others
        are recorded with status ``"timeout"`` (the workers are restarted).
    checkpoint : str or os.PathLike or None, default=None
        Directory for a checkpoint written atomically (temporary file +
        ``os.replace``) after every evaluation round: ``state.json`` (history,
        counters, surrogate hyperparameters, seeds) and the current estimator
        (``estimator-<round>.lravae`` via :func:`sklearn_lravae.save`, or only
        the VAE's state dicts when the estimator holds a custom torch module).
        Loading runs no code (JSON, npz, ``torch.load(weights_only=True)``).
        ``fit(..., resume=True)`` continues from it.
    callbacks : callable or list of callables, default=None
        Called after every evaluation with an skopt ``OptimizeResult`` (values
        negated, as skopt minimises); returning True stops the search, so
        ``skopt.callbacks.DeltaYStopper`` and ``DeadlineStopper`` work.
    random_state : int, RandomState instance or None, default=None
        Seeds the optimiser; with ``n_jobs=1`` the same seed gives the same run.
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    estimator_ : estimator
        The (possibly retrained) copy of ``estimator``.
    history_ : list of dict
        One row per evaluation: ``iteration``, ``latent`` (as queried),
        ``object``, ``value`` (NaN on failure), ``status`` (``"ok"``,
        ``"failed"``, ``"invalid"``, ``"timeout"``), ``message``, ``lre``
        (hard-decode LRE at query time), ``retrain_round``, ``time``.
    latents_ : ndarray of shape (n_initial + n_evaluated, n_components)
        Current latent coordinates of all observations (re-encoded after each
        retraining); the first ``n_initial_`` rows are the initial objects.
    values_ : ndarray of shape (n_initial + n_evaluated,)
        Their objective values (NaN for failures).
    best_object_, best_score_, best_latent_ :
        Best observation (initial points included); the latent in current
        coordinates.
    result_ : OptimizeResult
        skopt-style result for ``skopt.plots``: **minimisation** convention,
        ``func_vals = -values`` (failures at minus the worst successful value),
        ``fun = -best_score_``, ``x_iters`` the current latents (clipped to the
        box); ``models`` holds the surrogate fitted for the last proposal
        (empty after a retraining, whose latent space it does not match).
    optimizer_ : skopt.Optimizer
        The optimiser of the last step.
    n_retrain_rounds_ : int
        Retrainings done.
    n_rejected_ : int
        Candidates rejected by the consistency filter.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.search import LatentBayesSearch
    >>> X = load_digits().data[:300] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=5, random_state=0)
    >>> target = X[0]
    >>> search = LatentBayesSearch(vae.fit(X), lambda x: -np.mean((x - target) ** 2),
    ...                            n_calls=5, random_state=0).fit(X[1:21])
    >>> len(search.history_), bool(search.result_.fun == -search.best_score_)
    (5, True)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["transform", "inverse_transform"])],
        "objective": [callable],
        "n_calls": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_initial_points": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "surrogate": [StrOptions({"GP", "GP-stock", "RF", "ET"}), HasMethods(["fit", "predict"])],
        "acq_func": [StrOptions({"EI", "LCB", "PI", "gp_hedge"})],
        "acq_optimizer": [StrOptions({"auto", "sampling", "lbfgs"})],
        "acq_optimizer_kwargs": [None, dict],
        "bounds": [Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
        "hp_refit_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "retrain_every": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "retrain_quantile": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "retrain_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "reference_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_recent": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "broad_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "broad_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "weight_k": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "lre_threshold": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "vectorized": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "timeout": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "checkpoint": [None, str, os.PathLike],
        "callbacks": [None, callable, list],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        objective,
        *,
        n_calls=50,
        n_initial_points=0,
        batch_size=1,
        surrogate="GP",
        acq_func="EI",
        acq_optimizer="auto",
        acq_optimizer_kwargs=None,
        bounds=3.0,
        hp_refit_every=10,
        retrain_every=None,
        retrain_quantile=None,
        retrain_epochs=3,
        reference_scale=0.3,
        n_recent=None,
        broad_scale=2.0,
        broad_weight=0.5,
        weight_k=None,
        lre_threshold=None,
        n_candidates=20,
        vectorized=False,
        n_jobs=1,
        timeout=None,
        checkpoint=None,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.objective = objective
        self.n_calls = n_calls
        self.n_initial_points = n_initial_points
        self.batch_size = batch_size
        self.surrogate = surrogate
        self.acq_func = acq_func
        self.acq_optimizer = acq_optimizer
        self.acq_optimizer_kwargs = acq_optimizer_kwargs
        self.bounds = bounds
        self.hp_refit_every = hp_refit_every
        self.retrain_every = retrain_every
        self.retrain_quantile = retrain_quantile
        self.retrain_epochs = retrain_epochs
        self.reference_scale = reference_scale
        self.n_recent = n_recent
        self.broad_scale = broad_scale
        self.broad_weight = broad_weight
        self.weight_k = weight_k
        self.lre_threshold = lre_threshold
        self.n_candidates = n_candidates
        self.vectorized = vectorized
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.checkpoint = checkpoint
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # ================================================================ set-up
    def _check_params(self):
        if isinstance(self.surrogate, str) and self.surrogate.upper() in ("GBRT", "DUMMY"):
            raise ValueError(
                f"surrogate={self.surrogate!r} is broken in scikit-optimize 0.10 with "
                "recent scikit-learn; use 'GP' (default), 'RF' or 'ET'."
            )
        self._validate_params()
        if self.callbacks is None:
            callbacks = []
        elif callable(self.callbacks):
            callbacks = [self.callbacks]
        else:
            callbacks = list(self.callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"callbacks must be callables, got {cb!r}.")
        self._callbacks = callbacks

    def _setup_estimator(self, objects):
        est = copy.deepcopy(self.estimator)
        if isinstance(est, Pipeline) and not hasattr(est[-1], "latent_reconstruction_error"):
            raise TypeError(
                "estimator is a Pipeline whose last step is not an LRAVAETransformer; "
                "LatentBayesSearch needs the VAE as the final step."
            )
        vae = find_lravae(est)
        try:
            check_is_fitted(vae)
        except NotFittedError:
            est.fit(self._as_input(objects))
        self._set_estimator(est)

    def _set_estimator(self, est):
        vae = find_lravae(est)
        self.estimator_, self._vae = est, vae
        self._pre = est[:-1] if isinstance(est, Pipeline) else None
        d = vae.n_components
        b = self.bounds
        if isinstance(b, numbers.Real):
            box = np.tile([-float(b), float(b)], (d, 1))
        else:
            box = np.asarray(b, dtype=float)
            if box.shape != (d, 2) or np.any(box[:, 0] >= box[:, 1]):
                raise ValueError(
                    f"bounds must be a positive float or an array of shape ({d}, 2) with "
                    f"lower < upper per row (n_components={d}); got shape {box.shape}."
                )
        self._box = box
        self.space_ = Space([Real(lo, hi, transform="normalize") for lo, hi in box])

    @staticmethod
    def _as_input(objects):
        if objects and isinstance(objects[0], str):
            return np.asarray(objects, dtype=object)
        return np.asarray(objects, dtype=float)

    def _encode(self, objects):
        """Latents of ``objects`` (rows that cannot be encoded: NaN)."""
        objects = list(objects)
        out = np.full((len(objects), self._vae.n_components), np.nan)
        rows, keep = _robust_transform(
            self.estimator_.transform, objects, self._as_input, self.estimator_
        )
        if keep:
            out[keep] = rows
        return out

    def decode(self, Z):
        """Decode latent points into objects, as the search does before evaluating.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)
            Latent points.

        Returns
        -------
        objects : list
            Decoded objects (e.g. SMILES strings or image rows).
        """
        check_is_fitted(self, "estimator_")
        decoded = self.estimator_.inverse_transform(np.asarray(Z, dtype=float))
        return [d if isinstance(d, str) else np.asarray(d) for d in decoded]

    def _init_state(self, X, y, train_objects):
        objects = list(X)
        if not objects:
            raise ValueError("X must hold at least one initial object.")
        self._initial_objects = objects
        self._train_objects = list(train_objects) if train_objects is not None else []
        self._setup_estimator(objects + self._train_objects)
        if y is None:
            results = self._evaluate(objects)
            values = np.array([r[0] for r in results], dtype=float)
        else:
            values = np.asarray(y, dtype=float).ravel()
            if len(values) != len(objects):
                raise ValueError(f"y has {len(values)} values but X has {len(objects)} objects.")
        self.n_initial_ = len(objects)
        self.latents_ = self._encode(objects)
        self.values_ = values
        self.history_ = []
        self.n_retrain_rounds_ = 0
        self.n_rejected_ = 0
        self._since_retrain = 0
        self._quantile_hit = False
        self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self._surrogates = SurrogateManager(
            self.surrogate, self._vae.n_components, self.hp_refit_every
        )
        self._finite_initial = values[np.isfinite(values)]
        self._model_kind, self._model_file = "full", None
        if self.checkpoint is not None:
            self._save_model()
            if self._model_kind == "full":
                try:  # a class outside the loader's allowlist only fails at load time
                    load_model(self.checkpoint, self._model_file)
                except (ValueError, TypeError):
                    self._model_kind = "weights"
                    self._save_model()
            self._save_checkpoint()

    # ================================================================ public API
    def fit(self, X, y=None, *, train_objects=None, resume=False):
        """Run the search from initial objects ``X`` for ``n_calls`` evaluations.

        Parameters
        ----------
        X : sequence of objects
            Initial objects (SMILES strings, or rows of numeric data).
        y : array-like of shape (n_initial,), default=None
            Their objective values; evaluated with ``objective`` when None.
        train_objects : sequence of objects, default=None
            Unlabelled objects (e.g. the VAE's training set) included in every
            retraining; also used to fit an unfitted ``estimator``.
        resume : bool, default=False
            Continue the run saved in ``checkpoint`` (same constructor
            arguments, ``X`` and ``train_objects``); starts afresh when the
            directory holds no checkpoint yet. Evaluations recorded in the
            checkpoint are neither lost nor repeated, the estimator (as
            retrained so far) is restored from the checkpoint, and with
            ``n_jobs=1`` the resumed run equals an uninterrupted one.

        Returns
        -------
        self : LatentBayesSearch
            The fitted search.
        """
        self._check_params()
        if resume and self.checkpoint is None:
            raise ValueError("resume=True needs checkpoint='some/directory'.")
        state = load_state(self.checkpoint) if (resume and self.checkpoint) else None
        if state is None:
            self._init_state(X, y, train_objects)
        else:
            self._restore(X, train_objects, state)
        self._run(self.n_calls - len(self.history_))
        return self

    def ask(self, n_points=1):
        """Propose latent points to evaluate next (after :meth:`fit`).

        Parameters
        ----------
        n_points : int, default=1
            Number of points (constant-liar strategy when > 1).

        Returns
        -------
        Z : ndarray of shape (n_points, n_components)
            Latent points; decode them with :meth:`decode`.
        """
        check_is_fitted(self, "history_")
        return self._suggest(int(n_points))

    def tell(self, objects_or_latents, values, kind="auto"):
        """Add evaluations made elsewhere (e.g. in a lab) to the search.

        Parameters
        ----------
        objects_or_latents : sequence
            Evaluated objects, or the latent points that were decoded into them.
        values : array-like of shape (n,)
            Objective values (NaN for failed evaluations).
        kind : {"auto", "objects", "latents"}, default="auto"
            How to read the first argument; ``"auto"`` takes a 2-D numeric array
            with ``n_components`` columns (and a different input width) as latents.

        Returns
        -------
        self : LatentBayesSearch
            The updated search.
        """
        check_is_fitted(self, "history_")
        values = np.asarray(values, dtype=float).ravel()
        d = self._vae.n_components
        if kind == "auto":
            arr = (
                None
                if (len(objects_or_latents) and isinstance(objects_or_latents[0], str))
                else np.asarray(objects_or_latents)
            )
            n_in = getattr(self._pre[0] if self._pre else self._vae, "n_features_in_", None)
            is_latent = (
                arr is not None
                and arr.ndim == 2
                and arr.dtype.kind == "f"
                and arr.shape[1] == d
                and n_in != d
            )
            kind = "latents" if is_latent else "objects"
        if kind == "latents":
            Z = np.asarray(objects_or_latents, dtype=float)
            objects = self.decode(Z)
        elif kind == "objects":
            objects = list(objects_or_latents)
            Z = self._encode(objects)
        else:
            raise ValueError(f"kind must be 'auto', 'objects' or 'latents', got {kind!r}.")
        if len(values) != len(objects):
            raise ValueError(f"values has {len(values)} entries for {len(objects)} objects.")
        results = [
            (v, "ok" if np.isfinite(v) else "failed", "" if np.isfinite(v) else "told NaN", 0.0)
            for v in values
        ]
        self._record(Z, objects, results)
        return self

    # ================================================================ the loop
    def _run(self, n_remaining):
        bar = tqdm(
            total=self.n_calls,
            initial=len(self.history_),
            disable=not self.verbose,
            desc="LatentBayesSearch",
            unit="eval",
        )
        stop = False
        while n_remaining > 0 and not stop:
            n = min(self.batch_size, n_remaining)
            Z = self._suggest(n)
            objects = self.decode(Z)
            results = self._evaluate(objects)
            stop = self._record(Z, objects, results)
            n_remaining -= n
            bar.update(n)
            if self.verbose and np.isfinite(self.best_score_):
                bar.set_postfix(best=f"{self.best_score_:.4g}", round=self.n_retrain_rounds_)
        bar.close()
        self.stopped_early_ = stop

    def _surrogate_targets(self):
        """Values skopt minimises; failures get the worst successful value."""
        v = self.values_
        finite = np.isfinite(v)
        fail = -np.min(v[finite]) if finite.any() else 0.0
        return np.where(finite, -v, fail)

    def _gp_data(self):
        Z = self.latents_
        ok = np.all(np.isfinite(Z), axis=1)
        Zc = np.clip(Z[ok], self._box[:, 0], self._box[:, 1])
        return Zc, self._surrogate_targets()[ok]

    def _make_optimizer(self):
        Zc, yt = self._gp_data()
        seed = int(np.random.SeedSequence([self._seed, len(self.history_)]).generate_state(1)[0])
        base = self._surrogates.base_estimator(self.space_.transform(Zc.tolist()), yt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            opt = Optimizer(
                self.space_.dimensions,
                base_estimator=base,
                n_initial_points=0,
                acq_func=self.acq_func,
                acq_optimizer=self.acq_optimizer,
                acq_optimizer_kwargs=(
                    ACQ_OPTIMIZER_KWARGS
                    if self.acq_optimizer_kwargs is None
                    else self.acq_optimizer_kwargs
                ),
                random_state=seed,
            )
            if len(yt):
                opt.tell(Zc.tolist(), yt.tolist())
        self.optimizer_ = opt
        self._optimizer_round = self.n_retrain_rounds_
        return opt

    def _suggest(self, n_points):
        n_random = min(n_points, max(0, self.n_initial_points - len(self.history_)))
        if not np.all(np.isfinite(self.latents_), axis=1).any():
            n_random = n_points  # no object could be encoded yet: nothing to model
        if n_random:  # prior samples, clipped to the box
            seed = np.random.SeedSequence([self._seed, len(self.history_), 2])
            rng = np.random.default_rng(seed)
            Z = rng.standard_normal((n_random, len(self._box)))
            Z = np.clip(Z, self._box[:, 0], self._box[:, 1])
            if n_random == n_points:
                return Z
            return np.vstack([Z, self._propose(n_points - n_random)])
        return self._propose(n_points)

    def _propose(self, n_points):
        opt = self._make_optimizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if self.lre_threshold is None:
                Z = opt.ask() if n_points == 1 else opt.ask(n_points=n_points)
                return np.array(Z, dtype=float).reshape(n_points, -1)
            best = np.array(opt.ask(), dtype=float).reshape(1, -1)
        return self._filtered_candidates(opt, best, n_points)

    def _filtered_candidates(self, opt, best, n_points):
        """Consistency filter: the best-acquisition candidates whose LRE passes.

        Candidates are the optimiser's proposal plus random points of the box,
        ranked by the acquisition function; the first ``n_points`` whose
        hard-decode LRE is below ``lre_threshold`` are taken (the least
        inconsistent ones if too few pass).
        """
        seed = int(np.random.SeedSequence([self._seed, len(self.history_), 1]).generate_state(1)[0])
        rand = np.array(self.space_.rvs(n_samples=2000, random_state=seed), dtype=float)
        cands = np.vstack([best, rand.reshape(len(rand), -1)])
        acq_func = "EI" if self.acq_func == "gp_hedge" else self.acq_func
        yt = np.asarray(opt.yi, dtype=float)
        acq = (
            _gaussian_acquisition(
                np.asarray(self.space_.transform(cands.tolist())),
                opt.models[-1],
                y_opt=yt.min(),
                acq_func=acq_func,
            )
            if hasattr(opt.models[-1], "kernel_")
            else np.zeros(len(cands))
        )
        acq[0] = -np.inf  # the optimiser's own (locally optimised) proposal comes first
        order = np.argsort(acq, kind="stable")[: n_points * self.n_candidates]
        lre = self._vae.latent_reconstruction_error(cands[order], decode="mode")
        ok = lre <= self.lre_threshold
        chosen = [int(i) for i in np.flatnonzero(ok)[:n_points]]
        last = chosen[-1] if len(chosen) == n_points else len(order) - 1
        self.n_rejected_ += int(np.sum(~ok[: last + 1]))
        if len(chosen) < n_points:  # too few consistent candidates: least inconsistent
            rest = [int(i) for i in np.argsort(lre) if i not in chosen]
            chosen += rest[: n_points - len(chosen)]
        return cands[order[chosen]]

    def _evaluate(self, objects):
        if not objects:
            return []
        if self.vectorized:
            return _safe_batch_call(self.objective, objects)
        tasks = [delayed(_indexed_call)(i, self.objective, o) for i, o in enumerate(objects)]
        out = [None] * len(objects)
        try:
            try:  # results as they complete, so a time-out keeps the finished ones
                parallel = Parallel(
                    n_jobs=self.n_jobs, timeout=self.timeout, return_as="generator_unordered"
                )
            except ValueError:  # a backend without result generators
                parallel = Parallel(n_jobs=self.n_jobs, timeout=self.timeout)
            for i, result in parallel(tasks):
                out[i] = result
        except (TimeoutError, multiprocessing.TimeoutError) as exc:
            message = f"evaluation round exceeded timeout={self.timeout} s ({exc})"
            out = [
                r if r is not None else (np.nan, "timeout", message, float(self.timeout))
                for r in out
            ]
        return out

    def _record(self, Z, objects, results):
        """Store a round of evaluations; retrain if due; checkpoint; run callbacks."""
        Z = np.asarray(Z, dtype=float).reshape(len(objects), -1)
        finite_rows = np.all(np.isfinite(Z), axis=1)
        lre = np.full(len(Z), np.nan)
        if finite_rows.any():
            lre[finite_rows] = self._vae.latent_reconstruction_error(Z[finite_rows], "mode")
        stop = False
        for i, (obj, (value, status, message, seconds)) in enumerate(
            zip(objects, results, strict=True)
        ):
            self.history_.append(
                {
                    "iteration": len(self.history_),
                    "latent": Z[i].copy(),
                    "object": obj,
                    "value": float(value),
                    "status": status,
                    "message": message,
                    "lre": float(lre[i]),
                    "retrain_round": self.n_retrain_rounds_,
                    "time": float(seconds),
                }
            )
            self.latents_ = np.vstack([self.latents_, Z[i : i + 1]])
            self.values_ = np.append(self.values_, value)
            self._since_retrain += 1
            if (
                self.retrain_quantile is not None
                and np.isfinite(value)
                and len(self._finite_initial)
                and value > np.quantile(self._finite_initial, self.retrain_quantile)
            ):
                self._quantile_hit = True
            self._update_best()
            for cb in self._callbacks:
                if cb(self.result_):
                    stop = True
        if (self.retrain_every and self._since_retrain >= self.retrain_every) or (
            self._quantile_hit
        ):
            self._retrain()
        if self.checkpoint is not None:
            self._save_checkpoint()
        return stop

    def _update_best(self):
        v = self.values_
        finite = np.isfinite(v)
        if finite.any():
            i = int(np.nanargmax(np.where(finite, v, -np.inf)))
            self.best_score_ = float(v[i])
            self.best_latent_ = self.latents_[i].copy()
            self.best_object_ = self._object(i)
        else:
            self.best_score_, self.best_latent_, self.best_object_ = -np.inf, None, None

    def _object(self, i):
        if i < self.n_initial_:
            return self._initial_objects[i]
        return self.history_[i - self.n_initial_]["object"]

    @property
    def result_(self):
        """skopt ``OptimizeResult`` of all observations (minimisation convention)."""
        check_is_fitted(self, "history_")
        Zc, yt = self._gp_data()
        opt = getattr(self, "optimizer_", None)
        current = opt is not None and self._optimizer_round == self.n_retrain_rounds_
        models = list(opt.models[-1:]) if current else []
        res = create_result(Zc.tolist(), yt, space=self.space_, rng=None, models=models)
        res.specs = {"args": {"n_calls": self.n_calls}, "function": "LatentBayesSearch"}
        return res

    # ================================================================ retraining
    def _retrain(self):
        vae = self._vae
        n_obs = len(self.values_)
        objects = [self._object(i) for i in range(n_obs)] + self._train_objects
        keep = [
            i for i, o in enumerate(objects) if o is not None and not (isinstance(o, str) and not o)
        ]
        objects = [objects[i] for i in keep]
        data = self._as_input(objects)
        if self._pre is not None:
            data, keep_rows = self._transform_upstream(objects)
            keep = [keep[i] for i in keep_rows]
        weights = None
        if self.weight_k is not None:
            vals = np.concatenate([self.values_, np.full(len(self._train_objects), np.nan)])
            weights = rank_weights(vals, self.weight_k)[keep]
        # current coordinates: this round's queries as proposed, earlier ones re-encoded
        queried = self.latents_[self.n_initial_ :]
        if self.n_recent is not None:
            queried = queried[-self.n_recent :]
        queried = queried[np.all(np.isfinite(queried), axis=1)]
        components, mix = [], []
        if len(queried) and self.broad_weight < 1:
            components.append(GaussianMixtureReference(queried, scale=self.reference_scale))
            mix.append(1 - self.broad_weight)
        if self.broad_weight > 0 or not components:
            components.append(NormalReference(scale=self.broad_scale))
            mix.append(max(self.broad_weight, 1e-12))
        vae.set_params(reference=MixtureReference(components, mix))
        vae.partial_fit(data, sample_weight=weights, epochs=self.retrain_epochs)
        self.n_retrain_rounds_ += 1
        self._since_retrain = 0
        self._quantile_hit = False
        # the old coordinates are stale: re-encode everything we know
        all_objects = [self._object(i) for i in range(n_obs)]
        new = self._encode(all_objects)
        stale = ~np.all(np.isfinite(new), axis=1)
        new[stale] = self.latents_[stale]
        self.latents_ = new
        self._surrogates.theta_ = None  # new space: refit GP hyperparameters
        self._update_best()
        if self.checkpoint is not None:
            self._save_model()

    def _transform_upstream(self, objects):
        return _robust_transform(self._pre.transform, objects, self._as_input, self.estimator_)

    # ================================================================ checkpoints
    def _save_model(self):
        self._model_file, self._model_kind = save_model(
            self.checkpoint,
            self.n_retrain_rounds_,
            self.estimator_,
            self._vae,
            allow_full=self._model_kind == "full",
        )

    def _save_checkpoint(self):
        vae = self._vae
        if getattr(self, "_model_file", None) is None:  # checkpoint set after fit
            self._model_kind = getattr(self, "_model_kind", "full")
            self._save_model()
        string_objects = bool(self._initial_objects) and isinstance(self._initial_objects[0], str)
        state = {
            "n_initial": self.n_initial_,
            "initial_values": self.values_[: self.n_initial_],
            "latents": self.latents_,
            "history": [
                {
                    **h,
                    "latent": h["latent"],
                    "object": h["object"]
                    if string_objects
                    else np.asarray(h["object"], dtype=float),
                }
                for h in self.history_
            ],
            "n_retrain_rounds": self.n_retrain_rounds_,
            "n_rejected": self.n_rejected_,
            "since_retrain": self._since_retrain,
            "quantile_hit": self._quantile_hit,
            "seed": self._seed,
            "surrogate": self._surrogates.state(),
            "model_file": self._model_file,
            "model_kind": self._model_kind,
            "vae": {"n_fit_calls": vae.n_fit_calls_, "n_iter": vae.n_iter_, "seed": vae._seed},
            "reference": _reference_to_state(vae.reference),
        }
        save_state(self.checkpoint, state)
        remove_stale_models(self.checkpoint, keep=self._model_file)

    def _restore(self, X, train_objects, state):
        objects = list(X)
        if len(objects) != state["n_initial"]:
            raise ValueError(
                f"checkpoint {self.checkpoint!r} was started with {state['n_initial']} initial "
                f"objects, but X has {len(objects)}: resume with the same X."
            )
        self._initial_objects = objects
        self._train_objects = list(train_objects) if train_objects is not None else []
        self._model_file, self._model_kind = state["model_file"], state["model_kind"]
        if self._model_kind == "full":  # the saved (retrained) estimator, no refit
            self._set_estimator(load_model(self.checkpoint, self._model_file))
            vae = self._vae
        else:  # weights into a (re)fitted copy of the user's estimator
            self._setup_estimator(objects + self._train_objects)
            vae = self._vae
            load_weights(self.checkpoint, self._model_file, vae)
            vae.n_fit_calls_ = state["vae"]["n_fit_calls"]
            vae.n_iter_ = state["vae"]["n_iter"]
            vae._seed = state["vae"]["seed"]
            ref = _reference_from_state(state["reference"])
            if ref is not None:
                vae.set_params(reference=ref)
        string_objects = bool(objects) and isinstance(objects[0], str)
        self.n_initial_ = state["n_initial"]
        self.history_ = [
            {
                **h,
                "latent": np.asarray(h["latent"], dtype=float),
                "object": h["object"] if string_objects else np.asarray(h["object"], dtype=float),
                "value": float("nan") if h["value"] is None else float(h["value"]),
            }
            for h in state["history"]
        ]
        self.latents_ = np.asarray(state["latents"], dtype=float).reshape(-1, vae.n_components)
        init = np.asarray(state["initial_values"], dtype=float)
        self.values_ = np.concatenate([init, [h["value"] for h in self.history_]])
        self.n_retrain_rounds_ = state["n_retrain_rounds"]
        self.n_rejected_ = state["n_rejected"]
        self._since_retrain = state["since_retrain"]
        self._quantile_hit = state["quantile_hit"]
        self._seed = state["seed"]
        self._finite_initial = init[np.isfinite(init)]
        self._surrogates = SurrogateManager(self.surrogate, vae.n_components, self.hp_refit_every)
        self._surrogates.set_state(state["surrogate"])
        self._update_best()
