"""SearchState: observations and counters, JSON round trip, the initial-objects digest."""

import json

import numpy as np
import pytest

from sklearn_lravae.search._evaluate import Evaluation
from sklearn_lravae.search._state import SearchState, objects_digest


def _through_json(state):
    """What a checkpoint does: to_dict -> JSON text -> dict."""

    def default(obj):
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(type(obj).__name__)

    return json.loads(json.dumps(state.to_dict(), default=default))


def _state(objects, values, seed=7):
    rng = np.random.RandomState(0)
    latents = rng.standard_normal((len(objects), 2))
    return SearchState(objects, latents, values, seed)


@pytest.mark.parametrize("kind", ["strings", "arrays"])
def test_to_dict_from_dict_round_trip_through_json(kind):
    if kind == "strings":
        initial, new = ["CCO", "c1ccccc1", "CN"], ["CC", "", "O"]
    else:
        initial = [np.arange(3.0), np.ones(3), np.zeros(3)]
        new = [np.full(3, 0.5), np.full(3, 2.0), np.full(3, -1.0)]
    st = _state(initial, [1.0, np.nan, 3.0])
    st.append([0.1, 0.2], new[0], Evaluation(4.0, "ok", "", 0.5), lre=0.25)
    st.append([0.3, 0.4], new[1], Evaluation(np.nan, "failed", "boom", 0.1), lre=1.5)
    st.n_retrain_rounds = 1  # the next evaluation belongs to round 1
    st.append([np.nan, np.nan], new[2], Evaluation(2.0, "ok", "", 0.2), lre=np.nan)
    st.n_rejected, st.trigger_hit = 4, True
    st.surrogate = {"theta": [0.1, 0.2, 0.3], "noise": 1e-3, "n_at_refit": 5}
    st.model_file, st.model_kind = "vae-1.pt", "weights"
    st.vae = {"n_fit_calls": 2, "n_iter": 12, "seed": 3}
    st.reference = {"kind": "normal", "scale": 2.0}

    back = SearchState.from_dict(_through_json(st), initial, n_components=2)
    assert back == st
    assert back is not st and back.initial_objects == initial
    np.testing.assert_array_equal(back.latents, st.latents)  # NaN rows included
    np.testing.assert_array_equal(back.values, [1.0, np.nan, 3.0, 4.0, np.nan, 2.0])
    assert back.n_initial == 3 and back.n_evaluated == 3 and back.seed == 7
    assert [h["retrain_round"] for h in back.history] == [0, 0, 1]
    assert [h["status"] for h in back.history] == ["ok", "failed", "ok"]
    assert isinstance(back.history[0]["latent"], np.ndarray)
    for a, b in zip(back.objects(), st.objects()):
        if kind == "strings":
            assert a == b
        else:
            assert isinstance(a, np.ndarray)
            np.testing.assert_array_equal(a, b)
    assert (back.n_rejected, back.trigger_hit, back.since_retrain) == (4, True, 3)
    assert back.n_consecutive_failures == 0
    assert back.surrogate == st.surrogate and back.vae == st.vae
    assert (back.model_file, back.model_kind, back.reference) == (
        "vae-1.pt",
        "weights",
        {"kind": "normal", "scale": 2.0},
    )
    np.testing.assert_array_equal(back.finite_initial, [1.0, 3.0])
    # a changed counter makes the states differ
    back.n_rejected += 1
    assert back != st


def test_from_dict_refuses_other_initial_objects():
    st = _state(["CCO", "CN", "O"], [1.0, 2.0, 3.0])
    saved = _through_json(st)
    with pytest.raises(ValueError, match="started with 3 initial objects, but X has 2"):
        SearchState.from_dict(saved, ["CCO", "CN"], n_components=2)
    with pytest.raises(ValueError, match="different initial objects"):
        SearchState.from_dict(saved, ["CCO", "O", "CN"], n_components=2)  # order
    with pytest.raises(ValueError, match="my checkpoint was started with different"):
        SearchState.from_dict(saved, ["CCO", "CN", "N"], 2, source="my checkpoint")
    assert SearchState.from_dict(saved, ["CCO", "CN", "O"], n_components=2) == st


def test_objects_digest():
    a = objects_digest(["CCO", "CN"])
    assert a == objects_digest(["CCO", "CN"]) and len(a) == 32
    assert a != objects_digest(["CN", "CCO"])  # order-sensitive
    assert a != objects_digest(["CCOC", "N"])  # boundaries count
    x = np.arange(4.0)
    assert objects_digest([x]) == objects_digest([x.tolist()])
    assert objects_digest([x]) != objects_digest([x.reshape(2, 2)])  # shape counts
    assert objects_digest([x]) != objects_digest([x + 1e-12])


def test_best_index_and_surrogate_targets():
    st = _state(["A", "B", "C"], [np.nan, 2.0, -1.0])
    assert st.best_index() == 1
    # skopt minimises: -value; a failure gets the worst successful value
    np.testing.assert_array_equal(st.surrogate_targets(), [1.0, -2.0, 1.0])
    st.append([0.0, 0.0], "D", Evaluation(5.0, "ok", "", 0.0), lre=0.0)
    assert st.best_index() == 3 and st.object(3) == "D"
    np.testing.assert_array_equal(st.surrogate_targets(), [1.0, -2.0, 1.0, -5.0])
    none = _state(["A", "B"], [np.nan, np.nan])
    assert none.best_index() is None
    np.testing.assert_array_equal(none.surrogate_targets(), [0.0, 0.0])


def test_append_counters_quantile_and_queried_latents():
    st = _state(["A", "B", "C"], [1.0, 2.0, np.nan])
    fail = Evaluation(np.nan, "failed", "x", 0.0)
    st.append([1.0, 1.0], "D", fail, lre=0.0)
    st.append([np.nan, np.nan], "E", fail, lre=0.0)
    assert st.n_consecutive_failures == 2 and st.since_retrain == 2
    st.append([3.0, 3.0], "F", Evaluation(1.0, "ok", "", 0.0), lre=0.0)
    assert st.n_consecutive_failures == 0 and st.since_retrain == 3
    assert st.latents.shape == (6, 2) and st.objects() == list("ABCDEF")
    np.testing.assert_array_equal(st.queried_latents(), [[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(st.queried_latents(n_recent=2), [[3.0, 3.0]])
    # quantile of the finite initial values [1, 2]
    assert st.beats_quantile(1.6, 0.5) and not st.beats_quantile(1.5, 0.5)
    assert not st.beats_quantile(np.nan, 0.5) and not st.beats_quantile(10.0, None)
    assert not _state(["A"], [np.nan]).beats_quantile(10.0, 0.5)  # no finite initial value
