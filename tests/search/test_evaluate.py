"""The status rule of evaluations: ok / failed / invalid / timeout, never an exception."""

import threading
import time

import joblib
import numpy as np
import pytest

from sklearn_lravae.search._evaluate import (
    STATUSES,
    Evaluation,
    evaluate,
    evaluate_batch,
    evaluate_one,
    is_empty_object,
)


def test_is_empty_object():
    assert is_empty_object(None) and is_empty_object("")
    assert not is_empty_object("C") and not is_empty_object(np.zeros(3))
    assert not is_empty_object(0.0) and not is_empty_object(np.array([]))


@pytest.mark.parametrize(
    "returned, status, message",
    [
        (2.5, "ok", ""),
        (np.float32(-1.0), "ok", ""),
        (np.array(3.0), "ok", ""),
        (float("nan"), "failed", "objective returned nan"),
        (float("inf"), "failed", "objective returned inf"),
        (-np.inf, "failed", "objective returned -inf"),
        (None, "failed", "TypeError"),
        ("high", "failed", "ValueError: could not convert string to float"),
    ],
)
def test_evaluate_one_classifies_returned_values(returned, status, message):
    ev = evaluate_one(lambda obj: returned, "CCO")
    assert isinstance(ev, Evaluation) and ev.status == status and ev.status in STATUSES
    assert message in ev.message and (message or ev.message == "")
    if status == "ok":
        assert ev.value == float(np.asarray(returned).item())
    else:
        assert np.isnan(ev.value)
    assert ev.seconds >= 0


def test_evaluate_one_records_exceptions_and_skips_empty_objects():
    calls = []

    def objective(obj):
        calls.append(obj)
        raise RuntimeError("simulator crashed")

    ev = evaluate_one(objective, "C")
    assert ev.status == "failed" and ev.message == "RuntimeError: simulator crashed"
    assert np.isnan(ev.value)
    for empty in (None, ""):
        ev = evaluate_one(objective, empty)
        assert ev == (ev.value, "invalid", "decoder produced no object", 0.0)
        assert np.isnan(ev.value)
    assert calls == ["C"]  # the objective never sees an empty object


def test_evaluate_batch_statuses_per_entry():
    def batch_objective(objects):
        return [np.nan] + [1.0] * (len(objects) - 1)

    def broken(objects):
        raise RuntimeError("lab offline")

    out = evaluate_batch(batch_objective, ["C", "", "CC"])
    assert [o.status for o in out] == ["failed", "invalid", "ok"]
    assert out[2].value == 1.0 and np.isnan(out[0].value) and np.isnan(out[1].value)
    failed = evaluate_batch(broken, ["C", "CC"])
    assert [o.status for o in failed] == ["failed", "failed"]
    assert failed[0].message == "RuntimeError: lab offline"
    short = evaluate_batch(lambda objects: [1.0], ["C", "CC", "CCC"])
    assert {o.status for o in short} == {"failed"}
    assert "returned 1 values for 3 objects" in short[0].message


def test_evaluate_keeps_order_and_passes_through_options():
    assert evaluate(len, []) == []
    objects = ["C" * n for n in (3, 1, 2)] + [""]
    serial = evaluate(len, objects)
    assert [e.value for e in serial[:3]] == [3.0, 1.0, 2.0] and serial[3].status == "invalid"
    with joblib.parallel_config(backend="threading"):
        parallel = evaluate(len, objects, n_jobs=2)
    assert [e.status for e in parallel] == [e.status for e in serial]
    assert [e.value for e in parallel[:3]] == [3.0, 1.0, 2.0]
    calls = []

    def vectorized(batch):
        calls.append(list(batch))
        return [float(len(s)) for s in batch]

    out = evaluate(vectorized, objects[:3], vectorized=True)
    assert calls == [objects[:3]] and [e.value for e in out] == [3.0, 1.0, 2.0]


def test_evaluate_timeout_keeps_finished_evaluations():
    lock, started = threading.Lock(), []

    def objective(x):
        with lock:
            started.append(x)
            slow = x == "slow"
        if slow:
            time.sleep(2.0)
        return 1.0

    with joblib.parallel_config(backend="threading"):
        out = evaluate(objective, ["fast", "slow"], n_jobs=2, timeout=0.5)
    assert [e.status for e in out] == ["ok", "timeout"]
    assert out[0].value == 1.0 and np.isnan(out[1].value)
    assert "exceeded timeout=0.5 s" in out[1].message and out[1].seconds == 0.5
