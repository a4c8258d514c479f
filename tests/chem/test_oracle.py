"""The budgeted, caching Oracle and its PMO metrics."""

import pickle

import numpy as np
import pytest

from sklearn_lravae import chem
from sklearn_lravae.chem import BudgetExhaustedError, Oracle


class CountingObjective:
    """Picklable vectorised objective that records what it was asked."""

    vectorized = True

    def __init__(self):
        self.calls = []

    def __call__(self, smiles):
        self.calls.append(list(smiles))
        return np.array([float(len(s)) for s in smiles])


def test_caches_by_canonical_smiles_and_counts_unique_molecules():
    objective = CountingObjective()
    oracle = Oracle(objective, budget=10)
    scores = oracle(["OCC", "CCO", "C(C)O", "c1ccccc1", "bad", None])
    assert scores[:4].tolist() == [3.0, 3.0, 3.0, 8.0]  # canonical "CCO", "c1ccccc1"
    assert np.isnan(scores[4:]).all()
    assert objective.calls == [["CCO", "c1ccccc1"]]  # invalid SMILES never reach it
    assert oracle.n_evaluations == len(oracle) == 2 and oracle.remaining == 8
    oracle(["CCO", "C1=CC=CC=C1", "CCN"])
    assert objective.calls[-1] == ["CCN"]  # cached molecules are free
    assert oracle.history == [("CCO", 3.0), ("c1ccccc1", 8.0), ("CCN", 3.0)]


def test_budget_exhausted_raises_and_leaves_the_oracle_unchanged():
    oracle = Oracle(CountingObjective(), budget=3)
    oracle(["C", "CC"])
    with pytest.raises(BudgetExhaustedError, match="needs 2 new evaluations but only 1"):
        oracle(["CCC", "CCCC", "C"])
    assert oracle.n_evaluations == 2 and not oracle.exhausted
    assert oracle(["CC", "CCC"]).tolist() == [2.0, 3.0]
    assert oracle.exhausted and oracle.remaining == 0
    assert oracle(["C"]).tolist() == [1.0]  # still free once exhausted
    with pytest.raises(BudgetExhaustedError):
        oracle(["N"])


def test_budget_exhausted_nan_scores_what_fits():
    oracle = Oracle(CountingObjective(), budget=3, on_exhausted="nan")
    scores = oracle(["C", "CC", "CC", "CCC", "CCCC", "CCC"])
    np.testing.assert_array_equal(scores, [1.0, 2.0, 2.0, 3.0, np.nan, 3.0])
    assert np.isnan(oracle(["CCCCC"])).all()
    assert [s for s, _ in oracle.history] == ["C", "CC", "CCC"]


def test_named_objective_and_n_jobs_passthrough():
    oracle = Oracle("celecoxib_rediscovery", budget=5)
    assert oracle.objective is chem.celecoxib_rediscovery
    target = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
    assert oracle([target], n_jobs=1).tolist() == [1.0]
    assert "celecoxib_rediscovery" in repr(oracle)


def test_pickle_keeps_cache_and_budget():
    oracle = Oracle("qed", budget=4)
    first = oracle(["CCO", "c1ccccc1O"])
    clone = pickle.loads(pickle.dumps(oracle))
    assert clone.history == oracle.history and clone.remaining == 2
    np.testing.assert_array_equal(clone(["OCC", "Oc1ccccc1"]), first)
    assert clone.n_evaluations == 2


def test_top_k():
    oracle = Oracle(CountingObjective())
    assert np.isnan(oracle.top_k())
    oracle(["C" * n for n in [3, 9, 1, 7, 5]])
    assert oracle.top_k(1) == 9.0
    assert oracle.top_k(2) == 8.0
    assert oracle.top_k(10) == 5.0  # fewer than k: all of them
    assert oracle.top_k(1, n_evaluations=1) == 3.0


def _pmo_top_auc(scores, top_n, finish, freq_log, max_oracle_calls):
    """PMO's ``top_auc`` (mol_opt main/optimizer.py) on a buffer {smiles: [score, order]}."""
    buffer = {f"m{i}": [s, i + 1] for i, s in enumerate(scores)}
    total, prev, called = 0, 0, 0
    ordered = sorted(buffer.items(), key=lambda kv: kv[1][1])
    for idx in range(freq_log, min(len(buffer), max_oracle_calls), freq_log):
        temp = sorted(ordered[:idx], key=lambda kv: kv[1][0], reverse=True)[:top_n]
        top_n_now = np.mean([item[1][0] for item in temp])
        total += freq_log * (top_n_now + prev) / 2
        prev, called = top_n_now, idx
    temp = sorted(ordered, key=lambda kv: kv[1][0], reverse=True)[:top_n]
    top_n_now = np.mean([item[1][0] for item in temp])
    total += (len(buffer) - called) * (top_n_now + prev) / 2
    if finish and len(buffer) < max_oracle_calls:
        total += (max_oracle_calls - len(buffer)) * top_n_now
    return total / max_oracle_calls


@pytest.mark.parametrize("n, k, finish", [(250, 10, True), (250, 1, False), (1000, 100, True)])
def test_auc_top_k_matches_pmo(n, k, finish):
    scores = np.random.default_rng(n + k).random(n)
    table = dict(zip([f"C{i}" for i in range(n)], scores))
    oracle = Oracle(lambda smiles: [table[s] for s in smiles], budget=1000)
    oracle._scores = dict(table)  # as if evaluated in this order
    expected = _pmo_top_auc(scores.tolist(), k, finish, 100, 1000)
    assert oracle.auc_top_k(k, finish=finish) == pytest.approx(expected, rel=1e-12)


def test_auc_top_k_by_hand():
    oracle = Oracle(CountingObjective())
    oracle(["C", "CC", "CCC", "CCCC"])
    # readings after 2 and 4 calls: top-1 = 2 then 4; trapezoids from 0: (2 + 6) / 4
    assert oracle.auc_top_k(k=1, freq_log=2) == 2.0
    # a budget of 8 credits the last top-1 (4) for the 4 unused calls: (8 + 16) / 8
    assert oracle.auc_top_k(k=1, freq_log=2, max_evaluations=8) == 3.0
    assert oracle.auc_top_k(k=1, freq_log=2, max_evaluations=8, finish=False) == 1.0
    assert oracle.auc_top_k(k=1, freq_log=2, max_evaluations=2) == 1.0  # first two only


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"objective": 3}, TypeError, "objective must be an objective name"),
        ({"objective": "qedd"}, ValueError, "did you mean 'qed'"),
        ({"objective": "qed", "budget": 0}, ValueError, "budget must be a positive integer"),
        ({"objective": "qed", "budget": 2.5}, ValueError, "budget must be a positive integer"),
        ({"objective": "qed", "on_exhausted": "zero"}, ValueError, "on_exhausted must be"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Oracle(**kwargs)


def test_objective_that_is_not_vectorised_is_reported():
    oracle = Oracle(lambda smiles: 1.0)
    with pytest.raises(ValueError, match="returned 1 scores for 2 molecules"):
        oracle(["CCO", "CCN"])
    with pytest.raises(TypeError, match="single string"):
        oracle("CCO")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        oracle.top_k(0)
