"""The constant liar from one sweep: fantasised lies equal a refit GP, one fit per batch."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from skopt import Optimizer
from skopt.acquisition import _gaussian_acquisition
from skopt.learning import RandomForestRegressor
from skopt.learning.gaussian_process.kernels import WhiteKernel

from sklearn_lravae.search._batch import constant_liar_batch, supports_fantasies
from sklearn_lravae.search._propose import Proposer
from sklearn_lravae.search._surrogate import (
    FastGaussianProcessRegressor,
    SurrogateManager,
    default_gp,
)


def _gp(X, y, normalize_y=True, noise=1e-2):
    """The package's fast GP at fixed hyperparameters (as between refits)."""
    kernel = default_gp(X.shape[1]).kernel
    kernel.theta = np.log([1.5, *np.full(X.shape[1], 0.3)])
    return FastGaussianProcessRegressor(
        kernel=kernel + WhiteKernel(noise, noise_level_bounds="fixed"),
        normalize_y=normalize_y,
        noise="gaussian",
        optimizer=None,
    ).fit(X, y)


def _data(n=25, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, d))
    y = np.sum((X - 0.4) ** 2, axis=1) + 0.01 * rng.normal(size=n)
    return X, y, rng.uniform(size=(400, d))


@pytest.mark.parametrize("acq_func", ["EI", "PI", "LCB"])
@pytest.mark.parametrize("strategy", ["cl_min", "cl_mean", "cl_max"])
def test_each_pick_is_the_refit_gps_best_candidate(acq_func, strategy):
    """Picks 2..k equal refitting the GP (same kernel) with the lies told, sweeping again."""
    X, y, C = _data()
    rows = constant_liar_batch(
        _gp(X, y, normalize_y=False), C, y, 4, acq_func=acq_func, strategy=strategy
    )
    lie = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}[strategy](y)
    Xl, yl = X, y
    for j in rows:
        gp = _gp(Xl, yl, normalize_y=False)  # without re-standardising, as the fantasies
        acq = _gaussian_acquisition(C, gp, y_opt=np.min(y), acq_func=acq_func)
        acq[rows[: rows.index(j)]] = np.inf  # a candidate is picked once
        assert int(np.argmin(acq)) == j
        Xl, yl = np.vstack([Xl, C[j]]), np.append(yl, lie)


def test_the_first_pick_is_the_sweeps_best_and_picks_are_distinct():
    X, y, C = _data(seed=1)
    gp = _gp(X, y)
    rows = constant_liar_batch(gp, C, y, 10)
    assert rows[0] == int(np.argmin(_gaussian_acquisition(C, gp, y_opt=y.min(), acq_func="EI")))
    assert len(set(rows)) == 10
    assert constant_liar_batch(gp, C, y, 10) == rows  # deterministic
    assert len(constant_liar_batch(gp, C[:3], y, 10)) == 3  # at most every candidate once


def test_lies_spread_the_batch():
    """Without lies, a batch of the top acquisition values clusters; the liar moves away."""
    X, y, C = _data(seed=2)
    gp = _gp(X, y)
    rows = constant_liar_batch(gp, C, y, 5)
    acq = _gaussian_acquisition(C, gp, y_opt=y.min(), acq_func="EI")
    top = np.argsort(acq)[:5]

    def spread(r):
        P = C[r]
        return np.mean([np.linalg.norm(a - b) for i, a in enumerate(P) for b in P[i + 1 :]])

    assert spread(rows) > spread(top)


def test_errors_name_the_argument():
    X, y, C = _data()
    gp = _gp(X, y)
    with pytest.raises(ValueError, match="strategy must be one of"):
        constant_liar_batch(gp, C, y, 2, strategy="cl_median")
    with pytest.raises(ValueError, match="acq_func must be 'EI', 'PI' or 'LCB'"):
        constant_liar_batch(gp, C, y, 2, acq_func="gp_hedge")
    with pytest.raises(TypeError, match="fitted skopt GaussianProcessRegressor"):
        constant_liar_batch(object(), C, y, 2)
    assert supports_fantasies(gp) and not supports_fantasies(default_gp(3))


def _proposer(acq_optimizer, surrogate="GP", **kw):
    box = np.tile([-2.0, 2.0], (3, 1))
    return Proposer(
        box,
        SurrogateManager(surrogate, 3),
        acq_optimizer=acq_optimizer,
        acq_optimizer_kwargs=dict(n_points=500, n_restarts_optimizer=2),
        **kw,
    )


def test_sampling_batches_fit_once_without_skopts_ask(monkeypatch):
    rng = np.random.RandomState(3)
    Z = rng.uniform(-2, 2, size=(30, 3))
    y = np.sum(Z**2, axis=1)
    fits = []
    real_fit = FastGaussianProcessRegressor.fit
    monkeypatch.setattr(
        FastGaussianProcessRegressor,
        "fit",
        lambda self, X, t: fits.append(len(X)) or real_fit(self, X, t),
    )
    monkeypatch.setattr(Optimizer, "ask", lambda *a, **k: pytest.fail("skopt's ask was used"))
    P, opt, n_rejected = _proposer("sampling").propose(5, Z, y, (0, 30))
    assert P.shape == (5, 3) and len({tuple(p) for p in P}) == 5 and n_rejected == 0
    assert fits == [30]  # one fit for the batch (skopt's constant liar: 7)
    assert np.all(np.abs(P) <= 2.0) and len(opt.models) == 1 and len(opt.yi) == 30
    again, _, _ = _proposer("sampling").propose(5, Z, y, (0, 30))
    np.testing.assert_array_equal(P, again)  # same seed, same batch
    other, _, _ = _proposer("sampling").propose(5, Z, y, (1, 30))
    assert not np.allclose(P, other)


def test_lbfgs_batches_still_use_skopts_constant_liar():
    rng = np.random.RandomState(4)
    Z = rng.uniform(-2, 2, size=(20, 3))
    y = np.sum(Z**2, axis=1)
    P, opt, _ = _proposer("lbfgs").propose(3, Z, y, (0, 20))
    assert P.shape == (3, 3) and len(opt.models) == 1


def test_the_filter_ranks_the_single_sweep():
    rng = np.random.RandomState(5)
    Z = rng.uniform(-2, 2, size=(30, 3))
    y = np.sum(Z**2, axis=1)
    lre = lambda P: np.where(P[:, 0] > 0, 10.0, 0.0)  # noqa: E731 - the right half fails
    P, _, n_rejected = _proposer("sampling", lre_threshold=1.0, lre=lre).propose(4, Z, y, (0, 30))
    assert P.shape == (4, 3) and np.all(P[:, 0] <= 0)
    assert n_rejected > 0  # the best-ranked candidates on the right were passed over


@pytest.mark.parametrize(
    "surrogate, acq_optimizer, acq_func, sweeps",
    [
        ("GP", "auto", "EI", False),  # skopt picks lbfgs for a GP
        ("GP", "sampling", "LCB", True),
        ("RF", "auto", "EI", True),  # ... and sampling for a forest
        ("ET", "auto", "PI", True),
        (RandomForestRegressor(n_estimators=10), "auto", "EI", True),
        ("RF", "auto", "gp_hedge", False),  # a portfolio: skopt's ask
        ("GP", "lbfgs", "EI", False),
    ],
)
def test_one_sweep_wherever_skopt_would_sample(surrogate, acq_optimizer, acq_func, sweeps):
    proposer = _proposer(acq_optimizer, surrogate=surrogate, acq_func=acq_func)
    assert proposer._sweeps_once() is sweeps


def test_forest_batches_are_the_sweeps_best_without_skopts_ask(monkeypatch):
    rng = np.random.RandomState(6)
    Z = rng.uniform(-2, 2, size=(30, 3))
    y = np.sum(Z**2, axis=1)
    monkeypatch.setattr(Optimizer, "ask", lambda *a, **k: pytest.fail("skopt's ask was used"))
    P, opt, _ = _proposer("auto", surrogate="RF").propose(4, Z, y, (0, 30))
    assert P.shape == (4, 3) and len({tuple(p) for p in P}) == 4
    forest = opt.models[-1]
    unit = lambda A: np.asarray(opt.space.transform(A.tolist()))  # noqa: E731
    acq = _gaussian_acquisition(unit(P), forest, np.min(y), acq_func="EI")
    cands = rng.uniform(-2, 2, size=(200, 3))
    others = _gaussian_acquisition(unit(cands), forest, np.min(y), acq_func="EI")
    assert np.max(acq) < np.median(others)  # the batch ranks among the best (lowest -EI)


def test_the_filter_ranks_a_forests_candidates_by_acquisition():
    rng = np.random.RandomState(7)
    Z = rng.uniform(-2, 2, size=(30, 3))
    y = np.sum(Z**2, axis=1)
    proposer = _proposer("auto", surrogate="RF", acq_func="gp_hedge")  # skopt's ask path
    opt = proposer.make_optimizer(Z, y, 0)
    cands = rng.uniform(-2, 2, size=(300, 3))
    acq = proposer._acquisition(opt, cands)
    expected = _gaussian_acquisition(
        np.asarray(opt.space.transform(cands.tolist())), opt.models[-1], np.min(y), acq_func="EI"
    )
    np.testing.assert_allclose(acq, expected)
    assert np.ptp(acq) > 0  # it ranks (it was all zeros for forests)
    lre = lambda P: np.zeros(len(P))  # noqa: E731 - every candidate passes
    P, _, n_rejected = _proposer(
        "auto", surrogate="RF", acq_func="gp_hedge", lre_threshold=1.0, lre=lre
    ).propose(3, Z, y, (0, 30))
    assert P.shape == (3, 3) and n_rejected == 0
    near = np.linalg.norm(P, axis=1)  # the minimum is at the origin: good picks lie near it
    assert np.median(near) < np.median(np.linalg.norm(cands, axis=1))


def test_a_surrogate_without_std_gives_no_ranking():
    class Plain:
        models = [LinearRegression().fit(np.eye(3), [0.0, 1.0, 2.0])]
        yi = [0.0, 1.0, 2.0]

    acq = _proposer("auto")._acquisition(Plain(), np.zeros((5, 3)))
    np.testing.assert_array_equal(acq, np.zeros(5))
