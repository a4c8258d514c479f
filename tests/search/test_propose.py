"""Proposing latent points: the box, seeds, prior samples, skopt's proposal, the filter."""

import numpy as np
import pytest

from sklearn_lravae.search._propose import (
    ACQ_OPTIMIZER_KWARGS,
    Proposer,
    derived_seed,
)
from sklearn_lravae.search._space import make_box
from sklearn_lravae.search._surrogate import SurrogateManager


def test_make_box():
    np.testing.assert_array_equal(make_box(1.5, 2), [[-1.5, 1.5], [-1.5, 1.5]])
    box = [[-1.0, 2.0], [0.0, 0.5], [-3.0, -2.0]]
    np.testing.assert_array_equal(make_box(box, 3), box)
    assert make_box(np.int64(2), 1).tolist() == [[-2.0, 2.0]]


@pytest.mark.parametrize(
    "bounds, shape",
    [
        (np.ones((3, 2)), r"\(3, 2\)"),  # wrong number of rows
        (np.ones(4), r"\(4,\)"),
        ([[0.0, 1.0], [1.0, 1.0]], r"\(2, 2\)"),  # lower == upper
        ([[0.0, 1.0], [2.0, 1.0]], r"\(2, 2\)"),  # lower > upper
    ],
)
def test_make_box_errors_name_the_expected_shape(bounds, shape):
    with pytest.raises(ValueError, match=rf"shape \(2, 2\).*n_components=2.*got shape {shape}"):
        make_box(bounds, 2)


def test_derived_seed():
    s = derived_seed(3, 5)
    assert s == derived_seed(3, 5) and 0 <= s < 2**32
    others = {derived_seed(3, 6), derived_seed(4, 5), derived_seed(3, 5, 1)}
    assert len(others | {s}) == 4


def _proposer(box, **kw):
    return Proposer(np.asarray(box, dtype=float), SurrogateManager("GP", len(box)), **kw)


def test_prior_samples_are_seeded_and_clipped_to_the_box():
    prop = _proposer([[-0.5, 0.5], [-3.0, 1.0], [0.0, 3.0]])
    Z = prop.prior_samples(200, [1, 2, 3])
    assert Z.shape == (200, 3)
    np.testing.assert_array_equal(Z, prop.prior_samples(200, [1, 2, 3]))
    assert not np.allclose(Z, prop.prior_samples(200, [1, 2, 4]))
    assert np.all(Z >= prop.box[:, 0]) and np.all(Z <= prop.box[:, 1])
    # N(0, 1) draws beyond +-0.5 land on the bounds; inside, they are untouched
    assert np.sum(np.abs(Z[:, 0]) == 0.5) > 50 and np.sum(np.abs(Z[:, 0]) < 0.5) > 50
    assert np.sum(Z[:, 2] == 0.0) > 50  # the negative half is clipped to 0
    assert Z[:, 1].min() > -3.0 - 1e-12 and Z[:, 1].std() > 0.8  # barely clipped


def test_observations_drop_non_finite_rows_and_clip():
    prop = _proposer([[-1.0, 1.0], [-1.0, 1.0]])
    latents = np.array([[0.5, 2.0], [np.nan, 0.0], [-3.0, 0.1]])
    Z, y = prop.observations(latents, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(Z, [[0.5, 1.0], [-1.0, 0.1]])
    np.testing.assert_array_equal(y, [1.0, 3.0])


def _observations(n=25, d=2, seed=0):
    rng = np.random.RandomState(seed)
    Z = rng.uniform(-2, 2, (n, d))
    return Z, np.sum((Z - 1.0) ** 2, axis=1)  # skopt minimises: best near (1, 1)


def test_propose_is_seeded_inside_the_box_with_default_acquisition_options():
    prop = _proposer([[-2.0, 2.0], [-2.0, 2.0]])
    Z, y = _observations()
    a, opt, n_rejected = prop.propose(3, Z, y, step_seed=(0, 25))
    assert a.shape == (3, 2) and n_rejected == 0
    assert np.all(np.abs(a) <= 2.0)
    assert len({tuple(z) for z in a}) == 3  # constant liar: distinct points
    assert opt.n_points == ACQ_OPTIMIZER_KWARGS["n_points"] == 2000
    assert opt.n_restarts_optimizer == ACQ_OPTIMIZER_KWARGS["n_restarts_optimizer"] == 2
    assert len(opt.yi) == 25
    b, _, _ = prop.propose(3, Z, y, step_seed=(0, 25))
    np.testing.assert_array_equal(a, b)
    # the surrogate steers towards the minimum near (1, 1)
    one, _, _ = prop.propose(1, Z, y, step_seed=(0, 25))
    assert np.linalg.norm(one[0] - 1.0) < 1.0
    custom = _proposer([[-2.0, 2.0]] * 2, acq_optimizer_kwargs={"n_points": 50})
    assert custom.make_optimizer(Z, y, seed=0).n_points == 50


def test_consistency_filter_takes_the_first_consistent_candidates():
    checked = []

    def lre(Z):  # "consistent" where the first coordinate is below 0.95
        checked.append(np.array(Z))
        return np.where(Z[:, 0] < 0.95, 0.1, 5.0)

    prop = _proposer([[-2.0, 2.0], [-2.0, 2.0]], lre_threshold=1.0, n_candidates=20, lre=lre)
    Z, y = _observations()  # the acquisition's best candidates are near (1, 1)
    chosen, _, n_rejected = prop.propose(2, Z, y, step_seed=(0, 25))
    # one call with n_points * n_candidates candidates, best acquisition first
    ((cands,),) = [checked]
    assert cands.shape == (2 * 20, 2)
    ok = np.flatnonzero(cands[:, 0] < 0.95)
    assert len(ok) >= 2
    np.testing.assert_array_equal(chosen, cands[ok[:2]])
    assert n_rejected == ok[1] - 1 > 0  # the inconsistent ones ranked before the 2nd pick
    unfiltered, _, n_unfiltered = _proposer([[-2.0, 2.0]] * 2).propose(2, Z, y, (0, 25))
    assert unfiltered[0, 0] >= 0.95 and n_unfiltered == 0  # the filter changed the pick


def test_consistency_filter_falls_back_to_the_least_inconsistent():
    checked = []

    def lre(Z):  # nothing passes
        checked.append(np.array(Z))
        return 10.0 + np.abs(Z[:, 0])

    prop = _proposer([[-2.0, 2.0], [-2.0, 2.0]], lre_threshold=1.0, n_candidates=5, lre=lre)
    Z, y = _observations()
    chosen, _, n_rejected = prop.propose(2, Z, y, step_seed=(0, 25))
    assert n_rejected == 2 * 5  # every checked candidate was rejected
    ((cands,),) = [checked]
    order = np.argsort(np.abs(cands[:, 0]))
    np.testing.assert_array_equal(chosen, cands[order[:2]])
