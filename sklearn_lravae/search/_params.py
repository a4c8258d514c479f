"""The parameters of :class:`~sklearn_lravae.search.LatentBayesSearch`: defaults and validation.

Kept apart from the search loop so that ``_search.py`` reads as the loop; the
parameters are documented on :class:`~sklearn_lravae.search.LatentBayesSearch`.
"""

import numbers
import os

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._object_gp import check_object_surrogate

__all__ = ["SearchParameters"]


class SearchParameters(BaseEstimator):
    """Constructor, parameter constraints and checks of ``LatentBayesSearch``."""

    _parameter_constraints = {
        "estimator": [HasMethods(["transform", "inverse_transform"])],
        "objective": [callable],
        "n_calls": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_initial_points": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "surrogate": [
            StrOptions({"GP", "GP-ML", "GP-stock", "RF", "ET"}),
            HasMethods(["fit", "predict"]),
        ],
        "acq_func": [StrOptions({"EI", "LCB", "PI", "gp_hedge"})],
        "acq_optimizer": [StrOptions({"auto", "sampling", "lbfgs"})],
        "acq_optimizer_kwargs": [None, dict],
        "bounds": [
            StrOptions({"data"}),
            Interval(numbers.Real, 0, None, closed="neither"),
            "array-like",
        ],
        "hp_refit_every": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "retrain_every": [
            None,
            StrOptions({"auto"}),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "retrain_on_best": ["boolean", StrOptions({"auto"})],
        "retrain_quantile": [None, Interval(numbers.Real, 0, 1, closed="right")],
        "retrain_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "reference_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_recent": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "broad_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "broad_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "weight_k": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "trust_region": ["boolean"],
        "trust_region_kwargs": [None, dict],
        "recoordinate": ["boolean"],
        "train_candidates": ["boolean", Interval(numbers.Integral, 1, None, closed="left")],
        "invert": ["boolean"],
        "inversion_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "inversion_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "lre_threshold": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "vectorized": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "timeout": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "checkpoint": [None, str, os.PathLike],
        "callbacks": [None, callable, list],
        "random_state": ["random_state"],
        "on_all_failed": [StrOptions({"raise", "warn", "ignore"})],
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
        bounds="data",
        hp_refit_every="auto",
        retrain_every="auto",
        retrain_on_best="auto",
        retrain_quantile=None,
        retrain_epochs=3,
        reference_scale=0.3,
        n_recent=None,
        broad_scale=2.0,
        broad_weight=0.5,
        weight_k=None,
        trust_region=False,
        trust_region_kwargs=None,
        recoordinate=False,
        train_candidates=False,
        invert=False,
        inversion_steps=50,
        inversion_lr=0.05,
        lre_threshold=None,
        n_candidates=20,
        vectorized=False,
        n_jobs=1,
        timeout=None,
        checkpoint=None,
        callbacks=None,
        random_state=None,
        on_all_failed="raise",
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
        self.retrain_on_best = retrain_on_best
        self.retrain_quantile = retrain_quantile
        self.retrain_epochs = retrain_epochs
        self.reference_scale = reference_scale
        self.n_recent = n_recent
        self.broad_scale = broad_scale
        self.broad_weight = broad_weight
        self.weight_k = weight_k
        self.trust_region = trust_region
        self.trust_region_kwargs = trust_region_kwargs
        self.recoordinate = recoordinate
        self.train_candidates = train_candidates
        self.invert = invert
        self.inversion_steps = inversion_steps
        self.inversion_lr = inversion_lr
        self.lre_threshold = lre_threshold
        self.n_candidates = n_candidates
        self.vectorized = vectorized
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.checkpoint = checkpoint
        self.callbacks = callbacks
        self.random_state = random_state
        self.on_all_failed = on_all_failed
        self.verbose = verbose

    def _check_params(self):
        if isinstance(self.surrogate, str) and self.surrogate.upper() in ("GBRT", "DUMMY"):
            raise ValueError(
                f"surrogate={self.surrogate!r} is broken in scikit-optimize 0.10 with "
                "recent scikit-learn; use 'GP' (default), 'RF' or 'ET'."
            )
        self._validate_params()
        check_object_surrogate(self.surrogate, self.trust_region)
        if self.train_candidates is not False and not self.trust_region:
            raise ValueError(
                f"train_candidates={self.train_candidates!r} offers training objects to the "
                "trust region's proposals; set trust_region=True as well (or "
                "train_candidates=False)."
            )
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
