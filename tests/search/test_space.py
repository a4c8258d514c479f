"""``BoxSpace`` / ``BoxOptimizer``: skopt's space and optimiser on arrays, same numbers."""

import numpy as np
import pytest
from skopt import Optimizer
from skopt.space import Real, Space

from sklearn_lravae.search._space import BoxOptimizer, BoxSpace
from sklearn_lravae.search._surrogate import FastGaussianProcessRegressor, default_gp

BOX = np.array([[-3.0, 3.0], [-1.5, 2.5], [0.0, 1.0], [-0.2, 0.2]])


def _stock(box=BOX):
    return Space([Real(lo, hi, transform="normalize") for lo, hi in box])


def test_same_samples_transforms_and_distances_as_skopt():
    fast, stock = BoxSpace(BOX), _stock()
    X = fast.rvs(50, random_state=3)
    assert X == stock.rvs(50, random_state=3)  # the same draws, as lists of floats
    assert isinstance(X, list) and isinstance(X[0][0], float)
    Xt = fast.transform(X)
    np.testing.assert_array_equal(Xt, stock.transform(X))
    assert fast.inverse_transform(Xt) == stock.inverse_transform(Xt)
    assert fast.distance(X[0], X[1]) == pytest.approx(stock.distance(X[0], X[1]), rel=1e-12)
    assert fast == stock and fast.transformed_bounds == stock.transformed_bounds


def test_bounds_are_checked_like_skopt():
    fast = BoxSpace(BOX)
    with pytest.raises(ValueError, match=r"at most 3.000000 \(dimension 0\)"):
        fast.transform([[3.1, 0.0, 0.5, 0.0]])
    with pytest.raises(ValueError, match=r"at least -0.200000 \(dimension 3\)"):
        fast.transform([[0.0, 0.0, 0.5, -0.3]])
    with pytest.raises(ValueError, match="less than 1.0"):
        fast.inverse_transform([[1.1, 0.0, 0.0, 0.0]])
    with pytest.raises(RuntimeError, match="within the space"):
        fast.distance([9.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="has to be less than the upper bound"):
        BoxSpace([[1.0, 1.0], [0.0, 2.0]])  # skopt's own check of each dimension


def test_only_plain_real_dimensions_become_a_box_space():
    assert isinstance(BoxSpace.from_dimensions(_stock().dimensions), BoxSpace)
    assert BoxSpace.from_dimensions([Real(1e-3, 1.0, prior="log-uniform")]) is None
    assert BoxSpace.from_dimensions([Real(0.0, 1.0, transform="identity")]) is None


@pytest.mark.parametrize("acq_optimizer", ["sampling", "lbfgs"])
def test_box_optimizer_asks_what_skopt_asks(acq_optimizer):
    rng = np.random.RandomState(0)
    X = rng.uniform(BOX[:, 0], BOX[:, 1], size=(30, len(BOX))).tolist()
    y = np.sum(np.square(X), axis=1).tolist()
    gp = default_gp(len(BOX)).set_params(optimizer=None)
    base = FastGaussianProcessRegressor(**gp.get_params(deep=False))
    kw = dict(
        base_estimator=base,
        n_initial_points=0,
        acq_optimizer=acq_optimizer,
        acq_optimizer_kwargs=dict(n_points=300, n_restarts_optimizer=2),
        random_state=7,
    )
    fast, stock = BoxOptimizer(_stock().dimensions, **kw), Optimizer(_stock().dimensions, **kw)
    assert isinstance(fast.space, BoxSpace) and not isinstance(stock.space, BoxSpace)
    fast.tell(X, y)
    stock.tell(X, y)
    batch = fast.ask(n_points=3)  # constant liar: copies of the optimiser, told the lies
    np.testing.assert_allclose(batch, stock.ask(n_points=3), rtol=1e-9, atol=1e-12)
    assert isinstance(fast.copy(random_state=0), BoxOptimizer)


def test_fixed_kernel_fit_reports_the_marginal_likelihood_without_refactorising():
    rng = np.random.RandomState(1)
    X, y = rng.uniform(size=(40, 3)), rng.normal(size=40)
    gp = default_gp(3).set_params(optimizer=None)
    fast = FastGaussianProcessRegressor(**gp.get_params(deep=False)).fit(X, y)
    stock = gp.fit(X, y)
    assert fast.log_marginal_likelihood_value_ == pytest.approx(
        stock.log_marginal_likelihood_value_, rel=1e-12
    )
    assert fast.log_marginal_likelihood() == pytest.approx(
        stock.log_marginal_likelihood(), rel=1e-12
    )  # the method itself is untouched
