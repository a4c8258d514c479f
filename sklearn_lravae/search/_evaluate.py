"""Evaluating decoded objects: one status rule, per-object or vectorised, in parallel.

Every evaluation ends as an :class:`Evaluation` ``(value, status, message,
seconds)``; nothing here raises because of the objective. Statuses:

- ``"ok"``: a finite value;
- ``"failed"``: the objective raised, or returned NaN / inf / None;
- ``"invalid"``: the decoder produced no object (None or an empty string);
- ``"timeout"``: a parallel evaluation exceeded the time-out.
"""

import multiprocessing
import time
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed

__all__ = ["STATUSES", "Evaluation", "evaluate", "is_empty_object"]

STATUSES = ("ok", "failed", "invalid", "timeout")


class Evaluation(NamedTuple):
    """Outcome of one evaluation."""

    value: float
    status: str
    message: str
    seconds: float


def is_empty_object(obj):
    """Whether a decoded object is missing (None or an empty string)."""
    return obj is None or (isinstance(obj, str) and not obj)


def _classify(obj, value, seconds):
    """The one status rule for a value the objective returned for ``obj``."""
    if is_empty_object(obj):
        return Evaluation(np.nan, "invalid", "decoder produced no object", seconds)
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        return Evaluation(np.nan, "failed", f"{type(exc).__name__}: {exc}", seconds)
    if not np.isfinite(value):
        return Evaluation(np.nan, "failed", f"objective returned {value}", seconds)
    return Evaluation(value, "ok", "", seconds)


def _failure(exc, seconds):
    return Evaluation(np.nan, "failed", f"{type(exc).__name__}: {exc}", seconds)


def evaluate_one(objective, obj):
    """Evaluate one object; never raises."""
    if is_empty_object(obj):
        return _classify(obj, np.nan, 0.0)
    start = time.perf_counter()
    try:
        value = objective(obj)
    except Exception as exc:  # a failed evaluation is recorded, not fatal
        return _failure(exc, time.perf_counter() - start)
    return _classify(obj, value, time.perf_counter() - start)


def evaluate_batch(objective, objects):
    """Evaluate a whole round with a vectorised objective; never raises."""
    start = time.perf_counter()
    try:
        values = np.asarray(objective(list(objects)), dtype=float).ravel()
        if len(values) != len(objects):
            raise ValueError(f"returned {len(values)} values for {len(objects)} objects")
    except Exception as exc:  # a failed evaluation is recorded, not fatal
        seconds = (time.perf_counter() - start) / len(objects)
        return [_failure(exc, seconds)] * len(objects)
    seconds = (time.perf_counter() - start) / len(objects)
    return [_classify(o, v, seconds) for o, v in zip(objects, values, strict=True)]


def _indexed(i, objective, obj):
    return i, evaluate_one(objective, obj)


def evaluate(objective, objects, *, vectorized=False, n_jobs=1, timeout=None):
    """Evaluate ``objects``; return one :class:`Evaluation` per object, in order.

    Parameters
    ----------
    objective : callable
        ``objective(obj) -> float``, or ``objective(list) -> values`` when
        ``vectorized``.
    objects : list
        Decoded objects.
    vectorized : bool, default=False
        Call the objective once with the whole list.
    n_jobs : int or None, default=1
        joblib workers for per-object evaluation.
    timeout : float or None, default=None
        joblib's per-task time-out; on expiry the finished evaluations are
        kept and the others recorded as ``"timeout"``.

    Returns
    -------
    evaluations : list of Evaluation
        ``(value, status, message, seconds)`` per object.

    Examples
    --------
    >>> from sklearn_lravae.search._evaluate import evaluate
    >>> [e.status for e in evaluate(len, ["CCO", "", None])]
    ['ok', 'invalid', 'invalid']
    >>> evaluate(lambda s: 1 / 0, ["C"])[0].message
    'ZeroDivisionError: division by zero'
    """
    objects = list(objects)
    if not objects:
        return []
    if vectorized:
        return evaluate_batch(objective, objects)
    tasks = [delayed(_indexed)(i, objective, o) for i, o in enumerate(objects)]
    out = [None] * len(objects)
    try:
        try:  # results as they complete, so a time-out keeps the finished ones
            parallel = Parallel(n_jobs=n_jobs, timeout=timeout, return_as="generator_unordered")
        except ValueError:  # a backend without result generators
            parallel = Parallel(n_jobs=n_jobs, timeout=timeout)
        for i, result in parallel(tasks):
            out[i] = result
    except (TimeoutError, multiprocessing.TimeoutError) as exc:
        message = f"evaluation round exceeded timeout={timeout} s ({exc})"
        out = [
            r if r is not None else Evaluation(np.nan, "timeout", message, float(timeout))
            for r in out
        ]
    return out
