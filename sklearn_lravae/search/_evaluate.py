"""Evaluating decoded objects: one status rule, per-object or vectorised, in parallel.

Every evaluation ends as an :class:`Evaluation` ``(value, status, message,
seconds)``; nothing here raises because of the objective. Statuses:

- ``"ok"``: a finite value;
- ``"failed"``: the objective raised, or returned NaN / inf / None;
- ``"invalid"``: the decoder produced no object (None or an empty string);
- ``"timeout"``: a parallel evaluation exceeded the time-out;
- ``"crashed"``: the worker process evaluating the object died (a segmentation
  fault in a C extension, ``os._exit``, the out-of-memory killer), also when the
  object was run again alone in a fresh process.

A dead worker ends joblib's whole round (``TerminatedWorkerError``); the
evaluations that finished before are kept, and the others are run again once,
in fresh single-worker processes that each hold one evaluation at a time (at
most ``n_jobs`` of them), which tells the culprit from its bystanders. An
object is never run more than twice, and objects that crashed earlier in the
run (``known_crashes``) are not run again.
"""

import multiprocessing
import re
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from joblib.externals.loky import ProcessPoolExecutor

from ._state import objects_digest

__all__ = ["STATUSES", "Evaluation", "evaluate", "is_empty_object", "object_key"]

STATUSES = ("ok", "failed", "invalid", "timeout", "crashed")


class Evaluation(NamedTuple):
    """Outcome of one evaluation."""

    value: float
    status: str
    message: str
    seconds: float

    @classmethod
    def told(cls, value):
        """An evaluation made elsewhere and told to the search (NaN: a failure)."""
        value = float(value)
        if np.isfinite(value):
            return cls(value, "ok", "", 0.0)
        return cls(np.nan, "failed", "told NaN", 0.0)


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


def object_key(obj):
    """A hashable fingerprint of a decoded object (string or array), for ``known_crashes``."""
    return objects_digest([obj])


def _exit_codes(exc):
    """The workers' exit codes named in a loky ``TerminatedWorkerError`` (e.g. SIGSEGV(-11))."""
    found = re.search(r"exit codes of the workers are \{([^}]*)\}", str(exc))
    codes = found.group(1) if found else f"{type(exc).__name__}"
    if "SIGKILL" in codes:
        codes += ", often the out-of-memory killer"
    return codes


def _crashed(codes, seconds):
    return Evaluation(
        np.nan,
        "crashed",
        f"the worker process died ({codes}) while evaluating this object, also when it ran "
        "alone in a fresh process; not run again",
        seconds,
    )


def _bare_caller():
    """``call(i, objective, obj) -> (i, value, error, seconds)``, pickled by value.

    A nested function holding no reference to this package, so that cloudpickle
    sends its code: a fresh worker then imports only what the objective needs
    (not torch). The parent applies the status rule to what comes back
    (:func:`_settle`).
    """

    def call(i, objective, obj):
        start = time.perf_counter()
        try:
            value = objective(obj)
        except Exception as exc:  # a failed evaluation is recorded, not fatal
            return i, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start
        seconds = time.perf_counter() - start
        try:  # a number travels back whatever the objective returned
            return i, float(value), None, seconds
        except (TypeError, ValueError) as exc:
            return i, None, f"{type(exc).__name__}: {exc}", seconds

    return call


def _settle(obj, value, error, seconds):
    """The :class:`Evaluation` of what a worker's ``call`` returned for ``obj``."""
    if error is not None:
        return Evaluation(np.nan, "failed", error, seconds)
    return _classify(obj, value, seconds)


def _isolated(objective, objects, indices, *, n_jobs, timeout):
    """Run ``objects[indices]`` one at a time per single-worker process; ``{index: Evaluation}``.

    Each process holds one evaluation at a time, so a dead process names the
    object that killed it; the others go on in it, and a dead (or timed-out)
    process is replaced. At most ``n_jobs`` processes run at once.
    """
    call, pending, out = _bare_caller(), list(indices), {}
    width = max(1, min(len(pending), effective_n_jobs(n_jobs)))
    slots, running = [None] * width, {}  # future -> (index, slot, start time)
    try:
        while pending or running:
            for slot in set(range(width)) - {s for _, s, _ in running.values()}:
                if not pending:
                    break
                if slots[slot] is None:
                    slots[slot] = ProcessPoolExecutor(max_workers=1)
                i = pending.pop(0)
                future = slots[slot].submit(call, i, objective, objects[i])
                running[future] = (i, slot, time.monotonic())
            left = None
            if timeout is not None:  # until the oldest running evaluation expires
                first = min(started for _, _, started in running.values())
                left = max(0.0, first + timeout - time.monotonic())
            done, _ = wait(list(running), timeout=left, return_when=FIRST_COMPLETED)
            for future, (i, slot, started) in list(running.items()):
                seconds = time.monotonic() - started
                if future not in done and (timeout is None or seconds < timeout):
                    continue
                del running[future]
                out[i] = _outcome(future, objects[i], seconds, timeout, future in done)
                if out[i].status in ("crashed", "timeout"):  # replace the process
                    slots[slot].shutdown(wait=False, kill_workers=True)
                    slots[slot] = None
    finally:
        for executor in slots:
            if executor is not None:
                executor.shutdown(wait=False, kill_workers=True)
    return out


def _outcome(future, obj, seconds, timeout, finished):
    """The Evaluation of one isolated run (finished, crashed, or out of time)."""
    if not finished:
        message = f"evaluation exceeded timeout={timeout} s (run alone after a crash)"
        return Evaluation(np.nan, "timeout", message, float(timeout))
    try:
        _, value, error, seconds = future.result()
    except BrokenProcessPool as exc:
        return _crashed(_exit_codes(exc), seconds)
    except Exception as exc:  # e.g. an objective that cannot be sent to the process
        return _failure(exc, seconds)
    return _settle(obj, value, error, seconds)


def _parallel(objective, objects, indices, out, *, n_jobs, timeout):
    """joblib over ``objects[indices]``, filling ``out`` as results come in."""
    call = _bare_caller()
    tasks = [delayed(call)(i, objective, objects[i]) for i in indices]
    try:  # results as they complete, so a time-out or a crash keeps the finished ones
        parallel = Parallel(n_jobs=n_jobs, timeout=timeout, return_as="generator_unordered")
    except ValueError:  # a backend without result generators
        parallel = Parallel(n_jobs=n_jobs, timeout=timeout)
    for i, value, error, seconds in parallel(tasks):
        out[i] = _settle(objects[i], value, error, seconds)


def evaluate(objective, objects, *, vectorized=False, n_jobs=1, timeout=None, known_crashes=()):
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
    known_crashes : collection of str, default=()
        :func:`object_key` of objects that crashed a worker earlier in the
        run: recorded as ``"crashed"`` again without running them.

    Returns
    -------
    evaluations : list of Evaluation
        ``(value, status, message, seconds)`` per object.

    Warns
    -----
    RuntimeWarning
        When a worker process died and the round's unfinished evaluations are
        run again one by one in fresh processes.

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
    out = [_classify(o, np.nan, 0.0) if is_empty_object(o) else None for o in objects]
    if known_crashes:
        for i, obj in enumerate(objects):
            if out[i] is None and object_key(obj) in known_crashes:
                message = "this object crashed a worker process earlier in the run; not run again"
                out[i] = Evaluation(np.nan, "crashed", message, 0.0)
    todo = [i for i, r in enumerate(out) if r is None]
    try:
        _parallel(objective, objects, todo, out, n_jobs=n_jobs, timeout=timeout)
    except (TimeoutError, multiprocessing.TimeoutError) as exc:
        message = f"evaluation round exceeded timeout={timeout} s ({exc})"
        out = [
            r if r is not None else Evaluation(np.nan, "timeout", message, float(timeout))
            for r in out
        ]
    except BrokenProcessPool as exc:  # loky's TerminatedWorkerError among them
        unfinished = [i for i in todo if out[i] is None]
        warnings.warn(
            f"a worker process died ({_exit_codes(exc)}) during an evaluation round; "
            f"running its {len(unfinished)} unfinished evaluation(s) again, one at a time per "
            "fresh process, to find the object that crashes it.",
            RuntimeWarning,
            stacklevel=3,
        )
        isolated = _isolated(objective, objects, unfinished, n_jobs=n_jobs, timeout=timeout)
        for i, result in isolated.items():
            out[i] = result
    return out
