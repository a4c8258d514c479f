"""Torch marginal-likelihood fit of the GP hyperparameters and the surrogate manager using it."""

import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime
from scipy.stats import lognorm
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor as SklearnGP
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from sklearn_lravae.search._gp import (
    CONSTANT_BOUNDS,
    LENGTH_SCALE_BOUNDS,
    NOISE_BOUNDS,
    fit_gp_hyperparameters,
    gp_log_marginal_likelihood,
    length_scale_prior,
)
from sklearn_lravae.search._surrogate import (
    FastGaussianProcessRegressor,
    SurrogateManager,
    default_gp,
)


def _problem(name, n, d, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, d))
    Z = 6 * X - 3
    if name == "sines":
        y = np.sum(np.sin(1.5 * Z) + 0.1 * Z**2, axis=1)
    elif name == "ackley":
        y = -20 * np.exp(-0.2 * np.sqrt(np.mean(Z**2, 1))) - np.exp(np.mean(np.cos(2 * Z), 1))
    else:  # a noisy function of the first coordinate only
        y = Z[:, 0] ** 2 + 0.3 * rng.standard_normal(n)
    return X, y


def _sklearn_fit(X, y):
    """skopt's GP fitted the way the old SurrogateManager did (no restarts)."""
    gp = default_gp(X.shape[1]).set_params(n_restarts_optimizer=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gp.fit(X, y)


@pytest.mark.parametrize(("name", "n", "d"), [("sines", 60, 3), ("ackley", 80, 5), ("x0", 50, 2)])
def test_fit_reaches_sklearn_likelihood(name, n, d):
    X, y = _problem(name, n, d)
    fit = fit_gp_hyperparameters(X, y, prior=None)
    gp = _sklearn_fit(X, y)
    lml_sk = gp.log_marginal_likelihood_value_
    assert fit.log_marginal_likelihood >= lml_sk - 1e-3 * abs(lml_sk)
    # the reported value is the model's likelihood at the returned hyperparameters
    params = np.append(fit.theta, np.log(fit.noise))
    assert gp.log_marginal_likelihood(params) == pytest.approx(fit.log_marginal_likelihood)
    low, high = np.log([CONSTANT_BOUNDS, *[LENGTH_SCALE_BOUNDS] * d, NOISE_BOUNDS]).T
    assert np.all(params >= low - 1e-12) and np.all(params <= high + 1e-12)
    assert fit.n_fit == n and fit.n_iter > 0 and fit.log_prior == 0.0


def test_map_fit_maximises_likelihood_plus_log_prior():
    X, y = _problem("sines", 40, 6)
    fit = fit_gp_hyperparameters(X, y)
    ml = fit_gp_hyperparameters(X, y, prior=None)
    mu, sigma = length_scale_prior(6)

    def log_posterior(theta, noise):  # written from scipy's log-normal, not the module's
        params = np.append(theta, np.log(noise))
        prior = np.sum(lognorm.logpdf(np.exp(theta[1:]), s=sigma, scale=np.exp(mu)))
        prior += lognorm.logpdf(noise, s=1.0, scale=np.exp(-4.0))
        return gp_log_marginal_likelihood(params, X, y)[0] + prior, prior

    at_map, prior_at_map = log_posterior(fit.theta, fit.noise)
    assert fit.log_prior == pytest.approx(prior_at_map)
    assert fit.log_marginal_likelihood + fit.log_prior == pytest.approx(at_map)
    assert at_map > log_posterior(ml.theta, ml.noise)[0]  # MAP beats the ML point on its objective
    assert ml.log_marginal_likelihood > fit.log_marginal_likelihood  # and vice versa
    rng = np.random.RandomState(1)
    for _ in range(5):  # a local maximum: small moves do not improve it
        step = 0.01 * rng.standard_normal(len(fit.theta) + 1)
        assert log_posterior(fit.theta + step[:-1], fit.noise * np.exp(step[-1]))[0] <= at_map


def test_prior_keeps_length_scales_finite_with_few_points_in_many_dimensions():
    # 20 points in 16 dimensions: maximum likelihood switches most dimensions off
    # (length scales at the upper bound); the prior keeps them all within reach
    X, y = _problem("sines", 20, 16)
    ml = fit_gp_hyperparameters(X, y, prior=None)
    fit = fit_gp_hyperparameters(X, y)
    upper = LENGTH_SCALE_BOUNDS[1]
    assert np.sum(np.exp(ml.theta[1:]) > 0.5 * upper) >= 4
    assert np.all(np.exp(fit.theta[1:]) < 0.1 * upper)
    assert fit.noise < 0.5


def test_cold_map_fit_starts_at_the_priors_modes():
    X, y = _problem("sines", 30, 8)
    one_step = fit_gp_hyperparameters(X, y, max_iter=1)
    mu, sigma = length_scale_prior(8)
    assert one_step.n_iter == 1
    # one L-BFGS-B step from the modes stays near them (ML would start at l = 1)
    assert np.all(np.abs(one_step.theta[1:] - (mu - sigma**2)) < 1.0)


def test_irrelevant_dimension_gets_long_length_scale():
    X, y = _problem("x0", 60, 2)
    fit = fit_gp_hyperparameters(X, y)
    assert np.exp(fit.theta[2]) > 10 * np.exp(fit.theta[1])
    assert 0.01 < fit.noise < 0.5  # the 0.3 noise std, relative to std(y) ~ 2.7


def test_likelihood_matches_sklearn_and_gradient_matches_finite_differences():
    X, y = _problem("sines", 30, 4, seed=1)
    rng = np.random.RandomState(2)
    kernel = ConstantKernel() * Matern(np.ones(4), nu=2.5) + WhiteKernel()
    gp = SklearnGP(kernel, normalize_y=True, optimizer=None).fit(X, y)
    for _ in range(3):
        params = rng.uniform(-1.5, 1.5, size=6)
        lml, grad = gp_log_marginal_likelihood(params, X, y)
        lml_sk, grad_sk = gp.log_marginal_likelihood(params, eval_gradient=True)
        assert lml == pytest.approx(lml_sk, rel=1e-10)
        numeric = approx_fprime(params, lambda p: gp_log_marginal_likelihood(p, X, y)[0], 1e-6)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(grad, grad_sk, rtol=1e-8, atol=1e-8)


def test_not_positive_definite_is_minus_infinity():
    X = np.random.RandomState(0).uniform(size=(50, 2)) * 1e-6  # near-duplicate points
    params = np.array([np.log(1e12), 0.0, 0.0, np.log(1e-30)])  # huge signal, no noise
    lml, grad = gp_log_marginal_likelihood(params, X, np.arange(50.0))
    assert lml == -np.inf and np.all(grad == 0)  # scikit-learn's convention
    assert np.isfinite(gp_log_marginal_likelihood(np.zeros(4), X, np.arange(50.0))[0])


@pytest.mark.parametrize("prior", [None, "dimension-scaled"])
def test_warm_start_takes_fewer_iterations(prior):
    X, y = _problem("sines", 90, 4)
    before = fit_gp_hyperparameters(X[:80], y[:80], prior=prior)
    cold = fit_gp_hyperparameters(X, y, prior=prior)
    warm = fit_gp_hyperparameters(X, y, init=(before.theta, before.noise), prior=prior)
    if prior is not None:  # the MAP fit from the priors' modes is short already
        assert warm.n_iter <= cold.n_iter
        return
    assert warm.n_iter < cold.n_iter / 2
    assert warm.log_marginal_likelihood == pytest.approx(cold.log_marginal_likelihood, rel=1e-3)


def test_subset_above_threshold_and_determinism():
    X, y = _problem("sines", 120, 3)
    full = fit_gp_hyperparameters(X, y)
    sub = fit_gp_hyperparameters(X, y, max_fit_points=60)
    assert full.n_fit == 120 and sub.n_fit == 60
    assert not np.allclose(sub.theta, full.theta)
    again = fit_gp_hyperparameters(X.copy(), y.copy(), max_fit_points=60)
    np.testing.assert_array_equal(again.theta, sub.theta)
    assert again.noise == sub.noise
    other_seed = fit_gp_hyperparameters(X, y, max_fit_points=60, random_state=1)
    assert not np.array_equal(other_seed.theta, sub.theta)
    manager = SurrogateManager("GP", 3, max_fit_points=60)
    manager.base_estimator(X, y)
    assert manager.last_fit_.n_fit == 60
    np.testing.assert_array_equal(manager.theta_, sub.theta)


def test_fit_keeps_callers_torch_threads():
    before = torch.get_num_threads()
    fit_gp_hyperparameters(*_problem("sines", 20, 2))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.ones(5)}, "2-D"),
        ({"y": np.ones(4)}, "one value per row"),
        ({"y": np.r_[np.ones(9), np.nan]}, "finite"),
        ({"init": (np.zeros(2), 1.0)}, "n_dims \\+ 1 = 3"),
        ({"init": 3.0}, "pair"),
        ({"max_fit_points": 1}, "max_fit_points"),
        ({"random_state": -1}, "random_state"),
        ({"max_iter": 0}, "max_iter"),
        ({"prior": "hvarfner"}, "prior must be one of"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"X": np.random.RandomState(0).uniform(size=(10, 2)), "y": np.arange(10.0), **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        fit_gp_hyperparameters(args.pop("X"), args.pop("y"), **args)


def test_manager_prediction_matches_sklearn_gp_with_same_hyperparameters():
    X, y = _problem("ackley", 70, 4)
    manager = SurrogateManager("GP", 4)
    est = manager.base_estimator(X, y)
    assert isinstance(est, FastGaussianProcessRegressor) and est.optimizer is None
    est.fit(X, y)
    c, length = np.exp(manager.theta_[0]), np.exp(manager.theta_[1:])
    kernel = ConstantKernel(c, "fixed") * Matern(length, "fixed", nu=2.5)
    # skopt's noise enters like scikit-learn's alpha: in K, not in the predictive std
    reference = SklearnGP(kernel, alpha=manager.noise_ + 1e-10, normalize_y=True, optimizer=None)
    reference.fit(X, y)
    Xq = np.random.RandomState(1).uniform(size=(200, 4))
    mean, std = est.predict(Xq, return_std=True)
    mean_ref, std_ref = reference.predict(Xq, return_std=True)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(std, std_ref, rtol=1e-6, atol=1e-8)


def test_manager_refits_on_schedule_and_warm_starts():
    X, y = _problem("sines", 80, 3)
    manager = SurrogateManager("GP", 3, refit_every=10)
    manager.base_estimator(X[:60], y[:60])
    first = manager.last_fit_
    np.testing.assert_array_equal(manager.theta_, fit_gp_hyperparameters(X[:60], y[:60]).theta)
    manager.base_estimator(X[:69], y[:69])
    assert manager.last_fit_ is first and manager.n_at_refit_ == 60
    manager.base_estimator(X[:70], y[:70])
    warm = fit_gp_hyperparameters(X[:70], y[:70], init=(first.theta, first.noise))
    np.testing.assert_array_equal(manager.theta_, warm.theta)
    assert manager.n_at_refit_ == 70


def test_manager_fits_map_by_default_and_maximum_likelihood_for_gp_ml():
    X, y = _problem("sines", 30, 8)
    SurrogateManager("GP", 8).base_estimator(X, y)
    map_manager, ml_manager = SurrogateManager("GP", 8), SurrogateManager("GP-ML", 8)
    map_manager.base_estimator(X, y)
    ml_manager.base_estimator(X, y)
    np.testing.assert_array_equal(map_manager.theta_, fit_gp_hyperparameters(X, y).theta)
    np.testing.assert_array_equal(ml_manager.theta_, fit_gp_hyperparameters(X, y, prior=None).theta)
    assert map_manager.last_fit_.log_prior < 0.0 and ml_manager.last_fit_.log_prior == 0.0
    assert not np.allclose(map_manager.theta_, ml_manager.theta_)


def test_reset_forces_a_cold_refit():
    X, y = _problem("sines", 70, 3)
    manager = SurrogateManager("GP", 3, refit_every=10)
    manager.base_estimator(X[:60], y[:60])
    assert not manager.needs_refit(61)
    manager.reset()
    assert manager.needs_refit(61) and manager.theta_ is None
    manager.base_estimator(X[:61], y[:61])
    cold = fit_gp_hyperparameters(X[:61], y[:61])
    np.testing.assert_array_equal(manager.theta_, cold.theta)
    assert manager.n_at_refit_ == 61


def test_old_state_dicts_load():
    X, y = _problem("sines", 45, 3)
    old = {"theta": [0.5, -0.2, 0.1, 1.0], "noise": 1e-10, "n_at_refit": 40}  # old code's format
    manager = SurrogateManager("GP", 3, refit_every=10)
    manager.set_state(old)
    assert not manager.needs_refit(45)
    est = manager.base_estimator(X, y)  # no refit: the saved hyperparameters as they were
    np.testing.assert_allclose(est.kernel.k1.theta, old["theta"])
    assert est.kernel.k2.noise_level == 1e-10
    assert manager.state() == old
    manager.set_state({"theta": None, "noise": None, "n_at_refit": 0})  # before any GP fit
    assert manager.needs_refit(1)
    manager.set_state(old)
    manager.base_estimator(np.vstack([X, X[:5] + 0.01]), np.r_[y, y[:5]])  # 50: refit, warm
    assert manager.n_at_refit_ == 50 and manager.noise_ >= NOISE_BOUNDS[0]
    with pytest.raises(ValueError, match="n_dims \\+ 1 = 3"):
        SurrogateManager("GP", 2).set_state(old)
    with pytest.raises(ValueError, match="keys"):
        manager.set_state({"theta": None})


def test_other_surrogates_unchanged():
    X, y = _problem("sines", 20, 2)
    assert SurrogateManager("RF", 2).base_estimator(X, y) == "RF"
    stock = SurrogateManager("GP-stock", 2).base_estimator(X, y)
    assert stock.n_restarts_optimizer == 2 and stock.optimizer == "fmin_l_bfgs_b"
    with pytest.raises(ValueError, match="refit_every"):
        SurrogateManager("GP", 2, refit_every=0)
