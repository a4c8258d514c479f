"""Trust-region proposals: the update rule, the proposals, and the search option."""

import numpy as np
import pytest
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import Matern

from sklearn_lravae.search import LatentBayesSearch
from sklearn_lravae.search._trust_region import TrustRegion

from .conftest import Distance


def test_length_grows_shrinks_and_restarts():
    tr = TrustRegion(4, success_tolerance=2, failure_tolerance=2, length_min=0.15)
    tr.start([0.0, 1.0])
    assert tr.best == 1.0 and tr.length == 0.8
    tr.update([2.0])
    tr.update([3.0])  # two improving rounds: the box doubles
    assert tr.length == pytest.approx(1.6) and tr.best == 3.0
    tr.update([3.0])  # no improvement beyond 1e-3 relative: failures
    tr.update([np.nan])  # a failed round counts as no improvement
    assert tr.length == pytest.approx(0.8)
    for _ in range(4):
        tr.update([0.0])
    assert tr.length == pytest.approx(0.2)
    tr.update([0.0])
    tr.update([0.0])  # 0.1 < length_min: restart at length_init
    assert tr.length == pytest.approx(0.8) and tr.n_restarts == 1
    back = TrustRegion(4)
    back.set_state(tr.state())
    assert back.state() == tr.state()


def test_other_values_raise_the_reference_but_do_not_count():
    tr = TrustRegion(4, success_tolerance=1, failure_tolerance=1)
    tr.start([1.0])
    tr.update([], others=[5.0])  # only library picks this round: the box stays
    assert (tr.length, tr.best, tr.n_success, tr.n_failure) == (0.8, 5.0, 0, 0)
    tr.update([2.0], others=[9.0])  # own proposal below the raised reference: a failure
    assert tr.length == pytest.approx(0.4) and tr.best == 9.0
    tr.update([10.0], others=[np.nan])  # own new best: a success, the box doubles
    assert tr.length == pytest.approx(0.8) and tr.best == 10.0
    fresh = TrustRegion(4)
    fresh.update([], others=[np.nan, 2.0])  # no reference yet: library values set it
    assert fresh.best == 2.0 and fresh.length == 0.8


def test_default_failure_tolerance_follows_turbo():
    assert TrustRegion(16, batch_size=5).failure_tolerance == 4  # ceil(16 / 5)
    assert TrustRegion(2, batch_size=1).failure_tolerance == 4  # ceil(max(4, 2) / 1)
    with pytest.raises(ValueError, match="length_min < length_init"):
        TrustRegion(2, length_init=0.1, length_min=0.2)


def test_candidates_stay_in_the_box_around_the_center():
    tr = TrustRegion(30, length_init=0.2)
    rng = np.random.default_rng(0)
    center = np.full(30, 0.5)
    cands = tr.candidates(center, rng)
    assert np.all(cands >= 0.4 - 1e-12) and np.all(cands <= 0.6 + 1e-12)
    changed = np.sum(cands != center, axis=1)
    assert changed.min() >= 1 and changed.mean() < 30  # a subset of coordinates is perturbed
    lo, hi = tr.bounds(np.full(30, 0.95))
    assert hi.max() <= 1.0 and lo.min() == pytest.approx(0.85)
    # length scales widen the box along slowly varying dimensions (geometric mean kept)
    ls = np.ones(30)
    ls[0] = 4.0
    lo, hi = tr.bounds(center, length_scales=ls)
    assert (hi - lo)[0] > (hi - lo)[1]
    assert np.exp(np.mean(np.log(hi - lo))) == pytest.approx(0.2)


def test_thompson_sampling_prefers_the_predicted_minimum():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 2))
    y = np.sum((X - 0.3) ** 2, axis=1)  # minimised at (0.3, 0.3)
    gp = GaussianProcessRegressor(kernel=Matern(nu=2.5), normalize_y=True, noise=1e-6).fit(X, y)
    tr = TrustRegion(2, length_init=1.0, n_candidates=500)
    Z = tr.propose(gp, np.array([0.5, 0.5]), 4, np.random.default_rng(0))
    assert Z.shape == (4, 2) and len({tuple(z) for z in Z}) == 4
    assert np.all(np.linalg.norm(Z - 0.3, axis=1) < 0.2)


def test_thompson_choice_with_a_singular_or_indefinite_covariance():
    from sklearn_lravae.search._trust_region import thompson_choice

    mean = np.array([3.0, 1.0, 2.0, 0.0])
    # rank one (a duplicated candidate): jitter makes it factorisable; the draw is joint
    v = np.array([1.0, 1.0, 1.0, 1.0])
    chosen = thompson_choice(mean, 1e-8 * np.outer(v, v), 3, np.random.default_rng(0))
    assert chosen == [3, 1, 2]
    # indefinite beyond any jitter: independent draws from the clipped diagonal
    cov = -np.eye(4)
    cov[0, 0] = 1e-12
    before = cov.copy()
    chosen = thompson_choice(mean, cov, 2, np.random.default_rng(0))
    assert chosen == [3, 1]
    np.testing.assert_array_equal(cov, before)  # the caller's covariance is left as it was


def _search(vae, target, **kw):
    params = dict(
        n_calls=12,
        batch_size=2,
        trust_region=True,
        trust_region_kwargs=dict(length_min=0.3, failure_tolerance=1, n_candidates=200),
        random_state=0,
    )
    params.update(kw)
    return LatentBayesSearch(vae, Distance(target), **params)


def test_search_with_trust_region_resumes_across_a_restart(digits_vae, digits, target, tmp_path):
    X0 = digits[1][1:11]
    full = _search(digits_vae, target).fit(X0)
    region = full._region.state()
    assert region["n_restarts"] >= 1  # the region collapsed and restarted during the run
    assert len(full.history_) == 12 and np.isfinite(full.best_score_)
    # interrupted after 6 evaluations, resumed from the checkpoint: the same run
    ck = tmp_path / "ck"
    _search(digits_vae, target, n_calls=6, checkpoint=ck).fit(X0)
    resumed = _search(digits_vae, target, checkpoint=ck).fit(X0, resume=True)
    np.testing.assert_allclose(resumed.latents_, full.latents_)
    assert resumed._region.state() == region


def test_trust_region_proposals_stay_near_the_incumbent(digits_vae, digits, target):
    search = _search(
        digits_vae, target, n_calls=4, bounds=3.0, trust_region_kwargs=dict(length_init=0.1)
    ).fit(digits[1][1:11])
    best0 = search.latents_[: search.n_initial_][np.argmax(search.values_[: search.n_initial_])]
    first = search.history_[0]["latent"]
    # box [-3, 3]: the region's sides (normalised) have geometric mean 0.1 (the length
    # scales stretch some and shrink others), so the distances to the centre, relative
    # to the box width, have geometric mean <= 0.05 (d = 4: every coordinate is perturbed)
    rel = np.abs(first - best0) / 6.0
    assert np.exp(np.mean(np.log(rel))) <= 0.05 + 1e-9


def test_recoordinate_centres_on_the_reencoded_incumbent(digits_vae, digits, target):
    search = _search(digits_vae, target, n_calls=4, recoordinate=True).fit(digits[1][1:11])
    i = int(np.nanargmax(search.values_))
    expected = search._codec.encode([search._state.object(i)])[0]
    if i < search.n_initial_:
        expected = search.latents_[i]
    np.testing.assert_allclose(search._region_center(), expected)


def test_trust_region_needs_a_gp(digits_vae, digits, target):
    with pytest.raises(ValueError, match="needs a Gaussian-process surrogate"):
        _search(digits_vae, target, surrogate="RF", n_calls=2).fit(digits[1][1:11])
    with pytest.raises(TypeError, match="trust_region_kwargs"):
        _search(digits_vae, target, trust_region_kwargs={"bogus": 1}).fit(digits[1][1:11])
