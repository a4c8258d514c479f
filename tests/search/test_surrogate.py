"""The surrogate: FastGaussianProcessRegressor and SurrogateManager (refit schedule, state).

The torch hyperparameter fit of ``_gp`` has its own module, ``test_gp``.
"""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from skopt import Optimizer
from skopt.learning import GaussianProcessRegressor
from skopt.space import Real, Space

from sklearn_lravae.search._surrogate import FastGaussianProcessRegressor, SurrogateManager


def test_fast_gp_matches_skopt_gp():
    """The default surrogate predicts (and so proposes) exactly what skopt's GP would."""
    rng = np.random.RandomState(0)
    d = 5
    Z_all = rng.uniform(-3, 3, (70, d))
    y_all = np.sum(np.sin(Z_all), axis=1) + 0.01 * rng.standard_normal(70)
    space = Space([Real(-3.0, 3.0, transform="normalize") for _ in range(d)])
    Zn_all = np.asarray(space.transform(Z_all.tolist()))
    Z, Zn, y = Z_all[:60], Zn_all[:60], y_all[:60]
    mgr = SurrogateManager("GP", d, refit_every=10)
    fast = mgr.base_estimator(Zn, y)
    assert isinstance(fast, FastGaussianProcessRegressor) and fast.optimizer is None
    stock = GaussianProcessRegressor(**fast.get_params(deep=False))
    fast.fit(Zn, y), stock.fit(Zn, y)
    Xq = rng.uniform(size=(300, d))
    for a, b in zip(fast.predict(Xq, return_std=True), stock.predict(Xq, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    kw = dict(return_std=True, return_mean_grad=True, return_std_grad=True)
    for a, b in zip(fast.predict(Xq[:1], **kw), stock.predict(Xq[:1], **kw)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # no hyperparameter refit until refit_every more observations arrive
    theta = mgr.theta_.copy()
    mgr.base_estimator(Zn_all[:69], y_all[:69])
    np.testing.assert_array_equal(mgr.theta_, theta)
    mgr.base_estimator(Zn_all, y_all)
    assert mgr.n_at_refit_ == 70 and not np.array_equal(mgr.theta_, theta)
    points = []
    for base in (fast, stock):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            opt = Optimizer(
                space.dimensions, base, n_initial_points=0, acq_func="EI", random_state=0
            )
            opt.tell(Z.tolist(), y.tolist())
            points.append(opt.ask())
    np.testing.assert_allclose(points[0], points[1], rtol=1e-6)


def _data(n=30, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, d))
    return X, np.sum(np.sin(3 * X), axis=1)


def test_manager_state_round_trip_and_reset():
    X, y = _data()
    mgr = SurrogateManager("GP", 3, refit_every=5)
    assert mgr.needs_refit(0)  # nothing fitted yet
    mgr.base_estimator(X, y)
    state = mgr.state()
    assert state["n_at_refit"] == 30 and len(state["theta"]) == 1 + 3  # constant + 3 scales
    assert not mgr.needs_refit(34) and mgr.needs_refit(35)
    other = SurrogateManager("GP", 3, refit_every=5)
    other.set_state(state)
    np.testing.assert_array_equal(other.theta_, mgr.theta_)
    assert other.noise_ == mgr.noise_ and not other.needs_refit(34)
    # the restored manager hands skopt the same fixed-kernel GP: same predictions
    Xq = _data(5, seed=1)[0]
    a = mgr.base_estimator(X, y).fit(X, y).predict(Xq)
    b = other.base_estimator(X, y).fit(X, y).predict(Xq)
    np.testing.assert_array_equal(a, b)
    other.reset()  # a retraining changed the latent space
    assert other.needs_refit(31) and other.state()["theta"] is None


def test_manager_other_surrogates():
    X, y = _data()
    assert SurrogateManager("RF", 3).base_estimator(X, y) == "RF"
    assert SurrogateManager("ET", 3).base_estimator(X, y) == "ET"
    stock = SurrogateManager("GP-stock", 3).base_estimator(X, y)
    assert type(stock) is GaussianProcessRegressor and stock.n_restarts_optimizer == 2
    user = RandomForestRegressor(n_estimators=3, random_state=0)
    given = SurrogateManager(user, 3).base_estimator(X, y)
    assert isinstance(given, RandomForestRegressor) and given is not user  # a clone
    assert given.get_params() == user.get_params()


@pytest.mark.parametrize(
    "n_at_refit, first_due",
    [(30, 40), (100, 110), (150, 165), (300, 330), (500, 550), (501, 552)],
)
def test_auto_refit_waits_for_10_observations_or_10_percent_more(n_at_refit, first_due):
    X, y = _data()
    mgr = SurrogateManager("GP", 3)  # refit_every="auto" by default
    assert mgr.refit_every == "auto" and mgr.needs_refit(1)  # nothing fitted yet
    mgr.base_estimator(X, y)
    mgr.n_at_refit_ = n_at_refit
    assert not mgr.needs_refit(first_due - 1) and mgr.needs_refit(first_due)
    fixed = SurrogateManager("GP", 3, refit_every=1)
    fixed.base_estimator(X, y)
    assert fixed.needs_refit(31)  # an integer keeps its fixed interval


@pytest.mark.parametrize("bad", [0, -3, 2.5, "always", None])
def test_refit_every_errors_name_the_choices(bad):
    with pytest.raises(ValueError, match=r"refit_every must be an integer >= 1 or 'auto'"):
        SurrogateManager("GP", 3, refit_every=bad)
