"""LatentBayesSearch, the loop: optimisation quality, retraining, failures, callbacks,
ask/tell, pipelines, parallel evaluation and parameter validation.

The pieces have their own test modules: ``test_evaluate`` (status rule),
``test_encode`` (objects <-> latents), ``test_propose`` (box, prior samples,
consistency filter), ``test_retrain`` (rank weights, reference), ``test_state``,
``test_checkpoint`` (files, kill and resume) and ``test_surrogate``.
"""

import json
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from skopt.callbacks import DeadlineStopper, DeltaYStopper

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.search import LatentBayesSearch

from .conftest import Distance


def random_search_best(vae, objective, n, seed):
    Z = np.random.RandomState(seed).standard_normal((n, vae.n_components))
    return max(objective(x) for x in vae.inverse_transform(Z))


def test_beats_random_latent_sampling(digits_vae, digits, target):
    objective = Distance(target)
    X0 = digits[0][:10]
    bo, rnd = [], []
    for seed in range(3):
        s = LatentBayesSearch(digits_vae, objective, n_calls=25, random_state=seed).fit(X0)
        bo.append(max(h["value"] for h in s.history_))
        rnd.append(random_search_best(digits_vae, objective, 25, seed))
    assert np.mean(bo) > np.mean(rnd), (bo, rnd)
    assert sum(b > r for b, r in zip(bo, rnd)) >= 2, (bo, rnd)


def test_history_result_and_best(digits_vae, digits, target):
    s = LatentBayesSearch(digits_vae, Distance(target), n_calls=6, random_state=0)
    s.fit(digits[0][:5])
    assert [h["iteration"] for h in s.history_] == list(range(6))
    assert {h["status"] for h in s.history_} == {"ok"}
    assert all(h["latent"].shape == (4,) and h["lre"] >= 0 for h in s.history_)
    assert s.latents_.shape == (11, 4) and s.values_.shape == (11,)
    assert s.best_score_ == np.nanmax(s.values_)
    assert Distance(target)(s.best_object_) == pytest.approx(s.best_score_)
    # skopt convention: minimisation
    np.testing.assert_allclose(s.result_.func_vals, -s.values_)
    assert s.result_.fun == -s.best_score_
    from skopt.plots import plot_convergence

    ax = plot_convergence(s.result_)
    assert len(ax.lines[0].get_xdata()) == 11
    # the surrogate of the last proposal comes along for plot_objective
    from skopt.plots import plot_objective

    (model,) = s.result_.models
    assert model.predict(s.space_.transform(s.result_.x_iters)).shape == (11,)
    ax = plot_objective(s.result_, n_points=4, n_samples=10)
    assert len(ax.figure.axes) == 4 * 4 + 1  # pairwise grid + colour bar
    import matplotlib.pyplot as plt

    plt.close("all")
    # the latents are inside the search box
    assert np.all(np.abs(np.array([h["latent"] for h in s.history_])) <= 3.0)


def test_same_random_state_same_run(digits_vae, digits, target):
    runs = [
        [
            h["value"]
            for h in LatentBayesSearch(digits_vae, Distance(target), n_calls=5, random_state=3)
            .fit(digits[0][:5])
            .history_
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_retraining_changes_vae_and_reencodes(digits_vae, digits, target):
    X0 = digits[0][:8]
    s = LatentBayesSearch(
        digits_vae,
        Distance(target),
        n_calls=10,
        retrain_every=5,
        retrain_epochs=2,
        weight_k=1e-3,
        random_state=0,
    ).fit(X0, train_objects=digits[0][100:300])
    assert s.n_retrain_rounds_ == 2
    assert [h["retrain_round"] for h in s.history_] == [0] * 5 + [1] * 5
    before = digits_vae.transform(X0)
    after = s.estimator_.transform(X0)
    assert not np.allclose(before, after)  # the VAE changed
    assert digits_vae.n_iter_ == 20  # the user's estimator is untouched
    assert s.estimator_.n_iter_ == 24
    # current coordinates are the re-encoded objects
    objects = list(X0) + [h["object"] for h in s.history_]
    np.testing.assert_allclose(s.latents_, s.estimator_.transform(np.array(objects)), atol=1e-6)
    # and the reference was centred on the queries, mixed with the broad one
    ref = s.estimator_.reference
    assert type(ref).__name__ == "MixtureReference"
    means = np.asarray(ref.components[0].means)
    assert means.shape == (10, 4) and ref.components[0].scale == 0.3
    assert ref.components[1].scale == 2.0 and list(ref.weights) == [0.5, 0.5]
    # in the coordinates of the second retraining: round-1 queries as proposed,
    # round-0 queries re-encoded by the first retraining
    queried = np.array([h["latent"] for h in s.history_])
    np.testing.assert_allclose(means[5:], queried[5:])
    assert not np.allclose(means[:5], queried[:5], atol=1e-3)


def test_quantile_trigger_retrains_exactly_when_a_value_beats_the_quantile(digits_vae, digits):
    """retrain_quantile=0.01 of the initial values [1, 2, 3] is 1.02: 1.5 and 5.0 beat it,
    1.0 and 0.0 do not; the VAE is retrained right after each value that beats it, and only then.
    """
    returned = iter([1.0, 1.5, 0.0, 5.0])

    def objective(x):
        return next(returned)

    s = LatentBayesSearch(
        digits_vae, objective, n_calls=4, retrain_quantile=0.01, retrain_epochs=1, random_state=0
    ).fit(digits[0][:3], y=[1.0, 2.0, 3.0])
    assert [h["value"] for h in s.history_] == [1.0, 1.5, 0.0, 5.0]
    # retrain_round is the number of retrainings before the evaluation
    assert [h["retrain_round"] for h in s.history_] == [0, 0, 1, 1]
    assert s.n_retrain_rounds_ == 2
    assert s.estimator_.n_iter_ == digits_vae.n_iter_ + 2  # one epoch per retraining
    # without the trigger nothing is retrained
    returned = iter([1.0, 1.5, 0.0, 5.0])
    plain = LatentBayesSearch(digits_vae, objective, n_calls=4, random_state=0).fit(
        digits[0][:3], y=[1.0, 2.0, 3.0]
    )
    assert plain.n_retrain_rounds_ == 0 and plain.estimator_.n_iter_ == digits_vae.n_iter_


def test_failures_are_recorded_not_fatal(digits_vae, digits, target):
    calls = {"n": 0}

    def flaky(x):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("simulator crashed")
        if calls["n"] % 3 == 1:
            return float("nan")
        return Distance(target)(x)

    s = LatentBayesSearch(digits_vae, flaky, n_calls=6, random_state=0)
    s.fit(digits[0][:5], y=np.linspace(-20, -10, 5))
    statuses = [h["status"] for h in s.history_]
    assert len(statuses) == 6 and statuses.count("failed") == 4
    assert any("simulator crashed" in h["message"] for h in s.history_)
    failed = np.isnan(s.values_)
    # surrogate treatment: failures get the worst successful value
    worst = np.nanmin(s.values_)
    np.testing.assert_allclose(s.result_.func_vals[failed], -worst)


def test_callbacks_stop_the_search(digits_vae, digits, target):
    seen = []

    def stop_after_three(res):
        seen.append(len(res.func_vals))
        return len(seen) >= 3

    s = LatentBayesSearch(
        digits_vae, Distance(target), n_calls=10, callbacks=stop_after_three, random_state=0
    ).fit(digits[0][:4])
    assert len(s.history_) == 3 and s.stopped_early_
    assert seen == [5, 6, 7]
    s = LatentBayesSearch(
        digits_vae, Distance(target), n_calls=10, callbacks=[DeadlineStopper(1e-4)]
    ).fit(digits[0][:4])
    assert len(s.history_) == 1 and s.stopped_early_
    # DeltaYStopper: the 3 best values (4 initial + 1 evaluated) are within 1e9
    s = LatentBayesSearch(
        digits_vae, Distance(target), n_calls=10, callbacks=[DeltaYStopper(1e9, n_best=3)]
    ).fit(digits[0][:4])
    assert len(s.history_) == 1 and s.stopped_early_
    s = LatentBayesSearch(
        digits_vae, Distance(target), n_calls=3, callbacks=[DeltaYStopper(1e-12, n_best=3)]
    ).fit(digits[0][:4])
    assert len(s.history_) == 3 and not s.stopped_early_


def test_consistency_filter_rejects_high_lre(digits_vae, digits, target):
    lre0 = digits_vae.latent_reconstruction_error(
        np.random.RandomState(0).uniform(-3, 3, (200, 4)), decode="mode"
    )
    thr = float(np.quantile(lre0, 0.3))

    def run(threshold):
        return LatentBayesSearch(
            digits_vae,
            Distance(target),
            n_calls=6,
            bounds=3.0,  # the box the threshold was measured in
            lre_threshold=threshold,
            random_state=0,
        ).fit(digits[0][:5])

    plain, filtered = run(None), run(thr)
    assert plain.n_rejected_ == 0 and filtered.n_rejected_ > 0
    lre_plain = np.array([h["lre"] for h in plain.history_])
    lre_filtered = np.array([h["lre"] for h in filtered.history_])
    assert np.mean(lre_filtered <= thr) > np.mean(lre_plain <= thr)
    assert np.median(lre_filtered) < np.median(lre_plain)


def test_ask_tell_external_loop(digits_vae, digits, target):
    s = LatentBayesSearch(digits_vae, Distance(target), n_calls=0, random_state=0)
    s.fit(digits[0][:5])
    assert s.history_ == []
    Z = s.ask(2)
    assert Z.shape == (2, 4)
    objects = s.decode(Z)
    s.tell(Z, [Distance(target)(o) for o in objects])  # latents
    s.tell(digits[0][20:22], [-1.0, np.nan])  # objects evaluated elsewhere
    assert len(s.history_) == 4
    assert [h["status"] for h in s.history_] == ["ok", "ok", "ok", "failed"]
    np.testing.assert_allclose(s.latents_[-2:], digits_vae.transform(digits[0][20:22]))


def test_pipeline_estimator_unfitted(digits, target):
    pipe = make_pipeline(
        MinMaxScaler(clip=True),
        LRAVAETransformer(2, likelihood="bernoulli", max_epochs=3, random_state=0),
    )
    s = LatentBayesSearch(pipe, Distance(target), n_calls=3, retrain_every=3, random_state=0)
    s.fit(digits[0][:6], train_objects=digits[0][:200])
    assert len(s.history_) == 3 and s.n_retrain_rounds_ == 1
    assert s.history_[0]["object"].shape == (64,)
    with pytest.raises(AttributeError):
        _ = pipe[-1].net_  # the user's pipeline was not fitted in place


def test_dask_backend(digits_vae, digits, target):
    distributed = pytest.importorskip("dask.distributed")
    names = []

    def objective(x):
        names.append(threading.current_thread().name)
        return Distance(target)(x)

    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ):
        with joblib.parallel_config(backend="dask"):
            s = LatentBayesSearch(
                digits_vae, objective, n_calls=4, batch_size=2, n_jobs=2, random_state=0
            ).fit(digits[0][:5], y=np.full(5, -30.0))
    assert len(s.history_) == 4 and {h["status"] for h in s.history_} == {"ok"}
    assert all("Dask" in n for n in names)


@pytest.mark.slow  # starts a loky process pool that imports torch: ~40 s on a busy 2-core box
def test_parallel_batches_with_loky(digits_vae, digits, target):
    s = LatentBayesSearch(
        digits_vae, Distance(target), n_calls=4, batch_size=2, n_jobs=2, random_state=0
    ).fit(digits[0][:5], y=np.full(5, -30.0))
    assert len(s.history_) == 4
    assert len({tuple(h["latent"]) for h in s.history_}) == 4  # liar: distinct points


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"surrogate": "GBRT"}, ValueError, "broken"),
        ({"surrogate": "dummy"}, ValueError, "broken"),
        ({"n_calls": -1}, ValueError, "n_calls"),
        ({"acq_func": "UCB"}, ValueError, "acq_func"),
        ({"bounds": np.ones((3, 2))}, ValueError, "bounds"),
        ({"broad_weight": 1.5}, ValueError, "broad_weight"),
        ({"objective": "qed"}, ValueError, "objective"),
        ({"hp_refit_every": "sometimes"}, ValueError, "hp_refit_every.*'auto'"),
        ({"hp_refit_every": 0}, ValueError, "hp_refit_every"),
    ],
)
def test_bad_parameters(digits_vae, digits, target, params, error, match):
    kw = {"objective": Distance(target), **params}
    with pytest.raises(error, match=match):
        LatentBayesSearch(
            digits_vae,
            n_calls=params.get("n_calls", 2),
            **{k: v for k, v in kw.items() if k != "n_calls"},
        ).fit(digits[0][:3])


def test_qm9_pipeline_with_vectorized_qed(tmp_path):
    from sklearn_lravae.chem import SelfiesVectorizer, qed
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=600, random_state=0))
    pipe = make_pipeline(
        SelfiesVectorizer(),
        LRAVAETransformer(
            4,
            likelihood="categorical",
            beta=0.01,
            hidden_layer_sizes=(64,),
            max_epochs=5,
            random_state=0,
        ),
    ).fit(smiles)
    init = smiles[:8]
    s = LatentBayesSearch(
        pipe,
        qed,
        vectorized=True,
        n_calls=6,
        batch_size=2,
        retrain_every=4,
        checkpoint=tmp_path,
        random_state=0,
    ).fit(init, qed(init), train_objects=smiles)
    objects = [h["object"] for h in s.history_]
    assert all(isinstance(o, str) and o for o in objects)
    np.testing.assert_allclose([h["value"] for h in s.history_], qed(objects))
    assert s.n_retrain_rounds_ == 1
    assert isinstance(s.best_object_, str) and s.best_score_ == pytest.approx(
        qed([s.best_object_])[0]
    )
    # after retraining, the molecules known then were re-encoded through the vectoriser
    # (later rows hold their queried latents, already in the new space)
    known = init + objects[:4]
    np.testing.assert_allclose(
        s.latents_[: len(known)], s.estimator_.transform(np.array(known)), atol=1e-6
    )
    np.testing.assert_allclose(s.latents_[len(known) :], [h["latent"] for h in s.history_[4:]])
    # the retrained vectoriser + VAE pipeline was checkpointed whole and resumes as it was
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["model_kind"] == "full" and [h["object"] for h in state["history"]] == objects
    resumed = LatentBayesSearch(**{**s.get_params(deep=False), "n_calls": 7})
    resumed.fit(init, qed(init), train_objects=smiles, resume=True)
    assert [h["object"] for h in resumed.history_[:6]] == objects
    assert len(resumed.history_) == 7 and resumed.n_retrain_rounds_ == 1
    np.testing.assert_allclose(
        resumed.estimator_.transform(np.array(known)), s.latents_[: len(known)], atol=1e-6
    )


@pytest.fixture(scope="module")
def qm9_vae():
    """A SELFIES VAE trained well enough that its latent space is organised (~1 min)."""
    from sklearn_lravae.chem import SelfiesVectorizer
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=10000, random_state=0))
    pipe = make_pipeline(
        SelfiesVectorizer(),
        LRAVAETransformer(
            16,
            likelihood="categorical",
            gamma=0.1,
            beta=0.01,
            hidden_layer_sizes=(512, 256),
            max_epochs=20,
            lr=3e-3,
            random_state=0,
        ),
    ).fit(smiles)
    return pipe, smiles


@pytest.mark.slow  # trains a 10k-molecule SELFIES VAE (~4 min) and runs 5 searches (~4 min)
def test_beats_random_latent_sampling_on_qm9_qed(qm9_vae):
    """LRA-LSBO (retraining with rank weights) vs prior samples, same budget and seeds."""
    from sklearn_lravae.chem import qed

    pipe, smiles = qm9_vae
    n_calls, lsbo, rnd = 30, [], []
    for seed in range(5):
        rng = np.random.RandomState(seed)
        init = [smiles[i] for i in rng.choice(len(smiles), 100, replace=False)]
        s = LatentBayesSearch(
            pipe,
            qed,
            vectorized=True,
            n_calls=n_calls,
            batch_size=5,
            retrain_every=10,
            retrain_epochs=2,
            weight_k=1e-3,
            random_state=seed,
        ).fit(init, qed(init), train_objects=smiles[:2000])
        assert len(s.history_) == n_calls and s.n_retrain_rounds_ == 3
        lsbo.append(np.nanmax([h["value"] for h in s.history_]))
        Z = np.random.RandomState(seed).standard_normal((n_calls, 16))
        rnd.append(np.nanmax(qed(list(pipe.inverse_transform(Z)))))
    assert np.mean(lsbo) > np.mean(rnd) + 0.03, (lsbo, rnd)
    assert sum(b > r for b, r in zip(lsbo, rnd)) >= 4, (lsbo, rnd)


def test_retraining_through_a_vectorizer_that_drops_rows():
    """Weights and latents stay aligned when the vectoriser drops molecules silently."""
    from sklearn_lravae.chem import SelfiesVectorizer, qed
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=400, random_state=0))
    vec = SelfiesVectorizer(max_length=14, on_long="drop", on_error="drop")
    n_long = len(vec.fit(smiles).transform(smiles)) - len(smiles)
    assert n_long < 0  # some training molecules are too long and get dropped
    pipe = make_pipeline(
        vec,
        LRAVAETransformer(4, likelihood="categorical", beta=0.01, max_epochs=3, random_state=0),
    ).fit(smiles)
    init = smiles[:10] + ["not a smiles"]
    s = LatentBayesSearch(
        pipe, qed, vectorized=True, n_calls=4, retrain_every=2, weight_k=1e-3, random_state=0
    ).fit(init, qed(init), train_objects=smiles)
    assert s.n_retrain_rounds_ == 2 and len(s.history_) == 4
    # rows the vectoriser drops (too long, unparsable) have no latent; the others are
    # their current encodings, in order
    vec_ = s.estimator_[0]
    vec_.transform(np.array(init, dtype=object))
    dropped = set(vec_.dropped_indices_.tolist())
    assert 10 in dropped and len(dropped) < len(init)
    missing = np.isnan(s.latents_[: len(init)]).all(axis=1)
    assert set(np.flatnonzero(missing).tolist()) == dropped
    kept = [i for i in range(len(init)) if i not in dropped]
    np.testing.assert_allclose(
        s.latents_[kept], s.estimator_.transform(np.array([init[i] for i in kept])), atol=1e-6
    )
    # when no initial object can be encoded at all, the first round decodes prior samples
    bad = ["not a smiles", "C" * 30]
    s2 = LatentBayesSearch(pipe, qed, vectorized=True, n_calls=3, batch_size=3, random_state=0)
    s2.fit(bad, [0.1, 0.2])
    assert np.isnan(s2.latents_[:2]).all() and len(s2.history_) == 3
    assert all(h["status"] == "ok" for h in s2.history_)


def test_timeout_keeps_finished_evaluations(digits_vae, digits, target):
    lock, calls = threading.Lock(), []

    def objective(x):
        with lock:
            calls.append(1)
            slow = len(calls) > 1
        if slow:
            time.sleep(2.0)
        return Distance(target)(x)

    with joblib.parallel_config(backend="threading"):
        s = LatentBayesSearch(
            digits_vae, objective, n_calls=2, batch_size=2, n_jobs=2, timeout=0.5, random_state=0
        ).fit(digits[0][:5], y=np.full(5, -30.0))
    statuses = [h["status"] for h in s.history_]
    assert sorted(statuses) == ["ok", "timeout"]
    late = s.history_[statuses.index("timeout")]
    assert np.isnan(late["value"]) and "timeout=0.5" in late["message"]
    ok = s.history_[statuses.index("ok")]
    assert ok["value"] == pytest.approx(Distance(target)(ok["object"]))


def test_bad_inputs_give_clear_errors(digits_vae, digits, target):
    from sklearn.exceptions import NotFittedError

    objective = Distance(target)
    search = LatentBayesSearch(digits_vae, objective, n_calls=0, random_state=0)
    with pytest.raises(NotFittedError):
        search.ask()
    with pytest.raises(ValueError, match="at least one initial object"):
        search.fit([])
    with pytest.raises(ValueError, match="y has 2 values but X has 3 objects"):
        search.fit(digits[0][:3], y=[1.0, 2.0])
    with pytest.raises(TypeError, match="last step is not an LRAVAETransformer"):
        LatentBayesSearch(make_pipeline(digits_vae, MinMaxScaler()), objective, n_calls=1).fit(
            digits[0][:3]
        )
    search.fit(digits[0][:3])
    with pytest.raises(ValueError, match="values has 1 entries for 2 objects"):
        search.tell(digits[0][3:5], [1.0])
    with pytest.raises(ValueError, match="kind must be"):
        search.tell(digits[0][3:5], [1.0, 2.0], kind="images")


def test_n_initial_points_are_random_prior_samples(digits_vae, digits, target):
    def latents(X0):
        s = LatentBayesSearch(
            digits_vae, Distance(target), n_calls=5, n_initial_points=3, bounds=1.0, random_state=0
        ).fit(X0)
        return np.array([h["latent"] for h in s.history_])

    a, b = latents(digits[0][:5]), latents(digits[0][5:12])
    # the random points ignore the data (same seed: same points); the surrogate's do not
    np.testing.assert_array_equal(a[:3], b[:3])
    assert not np.allclose(a[3:], b[3:])
    assert np.all(np.abs(a) <= 1.0) and np.any(np.abs(a[:3]) == 1.0)  # clipped to the box
