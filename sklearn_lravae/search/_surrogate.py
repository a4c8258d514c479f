"""Gaussian-process surrogate with warm-started, occasionally refitted hyperparameters.

scikit-optimize's GP re-optimises its kernel hyperparameters (with restarts)
on every ``tell``, which dominates the cost of a step (see the speed benchmark
in the documentation). :class:`SurrogateManager` instead fits
the hyperparameters only every ``refit_every`` observations (by default every
10, and every 10% more observations once there are more than 100), with
:func:`~sklearn_lravae.search._gp.fit_gp_hyperparameters` (the same model and
bounds, maximum marginal likelihood in torch with an analytic gradient,
warm-started from the previous optimum, no restarts; on a fixed-seed subset
above ``max_fit_points`` observations), and in between hands skopt a GP whose
kernel is fixed, so a step costs one Cholesky factorisation. That GP is a
:class:`FastGaussianProcessRegressor`, whose batched predictive variance uses a
matrix product instead of skopt's unoptimised three-operand ``einsum`` (the
acquisition over a few thousand candidate points was the largest remaining cost).
"""

import math
import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_array
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from ._gp import CONSTANT_BOUNDS, LENGTH_SCALE_BOUNDS, fit_gp_hyperparameters

__all__ = ["FastGaussianProcessRegressor", "SurrogateManager", "default_gp"]

#: ``refit_every="auto"``: refit after at least this many new observations ...
AUTO_REFIT_MIN = 10
#: ... and at least this fraction more than at the last refit.
AUTO_REFIT_GROWTH = 0.1


class FastGaussianProcessRegressor(GaussianProcessRegressor):
    """skopt's GP with a BLAS-based predictive variance.

    Same parameters, fit and prediction API as
    :class:`skopt.learning.GaussianProcessRegressor` (``return_std``,
    ``return_cov``, ``return_mean_grad``, ``return_std_grad``); only the
    posterior variance ``k(x, x) - k_x^T K^{-1} k_x`` is computed as
    ``sum((k_X K^{-1}) * k_X, axis=1)`` (one matrix product, O(m n^2) in BLAS)
    rather than with a three-operand ``einsum``, and slightly negative
    variances from round-off are clipped to 0 without a warning.

    Examples
    --------
    >>> import numpy as np
    >>> from skopt.learning import GaussianProcessRegressor
    >>> from skopt.learning.gaussian_process.kernels import Matern
    >>> from sklearn_lravae.search import FastGaussianProcessRegressor
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.uniform(size=(30, 3)), rng.normal(size=30)
    >>> kw = dict(kernel=Matern(nu=2.5), noise="gaussian", normalize_y=True)
    >>> fast = FastGaussianProcessRegressor(**kw).fit(X, y)
    >>> stock = GaussianProcessRegressor(**kw).fit(X, y)
    >>> Xq = rng.uniform(size=(500, 3))
    >>> mean, std = fast.predict(Xq, return_std=True)
    >>> mean_s, std_s = stock.predict(Xq, return_std=True)
    >>> bool(np.allclose(mean, mean_s) and np.allclose(std, std_s))
    True
    """

    def fit(self, X, y):
        """skopt's fit; at a fixed kernel (``optimizer=None``) without a second factorisation.

        scikit-learn computes the log marginal likelihood of a fixed kernel by
        building and factorising the kernel matrix a second time; here it
        comes from the fit's own Cholesky factor (the same value).
        """
        self._defer_lml = self.optimizer is None
        try:
            super().fit(X, y)
        finally:
            self._defer_lml = False
        if self.optimizer is None:
            y_train = self.y_train_.reshape(len(self.y_train_), -1)
            fit = -0.5 * np.einsum("ik,ik->k", y_train, self.alpha_.reshape(y_train.shape))
            logdet = np.log(np.diag(self.L_)).sum() + len(y_train) / 2 * np.log(2 * np.pi)
            self.log_marginal_likelihood_value_ = float(np.sum(fit - logdet))
        return self

    def log_marginal_likelihood(self, theta=None, eval_gradient=False, clone_kernel=True):
        if getattr(self, "_defer_lml", False) and not eval_gradient:
            return np.nan  # fit sets it from its own factorisation
        return super().log_marginal_likelihood(theta, eval_gradient, clone_kernel)

    def predict(
        self,
        X,
        return_std=False,
        return_cov=False,
        return_mean_grad=False,
        return_std_grad=False,
    ):
        if return_cov or not return_std or not hasattr(self, "X_train_"):
            return super().predict(
                X,
                return_std=return_std,
                return_cov=return_cov,
                return_mean_grad=return_mean_grad,
                return_std_grad=return_std_grad,
            )
        X = check_array(X)
        if X.shape[0] != 1 and (return_mean_grad or return_std_grad):
            raise ValueError("Not implemented for n_samples > 1")
        K_trans = self.kernel_(X, self.X_train_)
        y_mean = self.y_train_std_ * K_trans.dot(self.alpha_) + self.y_train_mean_
        KK = K_trans @ self.K_inv_
        y_var = self.kernel_.diag(X) - np.einsum("ij,ij->i", KK, K_trans)
        y_std = np.sqrt(np.maximum(y_var, 0.0) * self.y_train_std_**2)
        if not return_mean_grad:
            return y_mean, y_std
        grad = self.kernel_.gradient_x(X[0], self.X_train_)
        grad_mean = np.dot(grad.T, self.alpha_) * self.y_train_std_
        if not return_std_grad:
            return y_mean, y_std, grad_mean
        grad_std = np.zeros(X.shape[1])
        if not np.allclose(y_std, grad_std):
            grad_std = -np.dot(KK, grad)[0] / y_std * self.y_train_std_**2
        return y_mean, y_std, grad_mean, grad_std


def default_gp(n_dims):
    """skopt's default GP for ``n_dims`` continuous dimensions (Matern 5/2, ARD).

    Parameters
    ----------
    n_dims : int
        Number of input dimensions (one length scale each).

    Returns
    -------
    skopt.learning.GaussianProcessRegressor
        ``ConstantKernel * Matern(nu=2.5)`` with the bounds of
        :mod:`~sklearn_lravae.search._gp`, Gaussian noise, ``normalize_y=True``
        and 2 optimiser restarts, as ``skopt.Optimizer(base_estimator="GP")``.

    Examples
    --------
    >>> gp = default_gp(3)
    >>> gp.kernel.k2.length_scale_bounds, gp.n_restarts_optimizer
    ([(0.01, 100.0), (0.01, 100.0), (0.01, 100.0)], 2)
    """
    kernel = ConstantKernel(1.0, CONSTANT_BOUNDS) * Matern(
        length_scale=np.ones(n_dims), length_scale_bounds=[LENGTH_SCALE_BOUNDS] * n_dims, nu=2.5
    )
    return GaussianProcessRegressor(
        kernel=kernel, normalize_y=True, noise="gaussian", n_restarts_optimizer=2
    )


class SurrogateManager:
    """Build the surrogate handed to ``skopt.Optimizer`` at each step.

    Parameters
    ----------
    surrogate : {"GP", "GP-ML", "GP-stock", "RF", "ET"} or estimator
        ``"GP"``: fast GP (hyperparameters refitted every ``refit_every``
        observations by :func:`~sklearn_lravae.search._gp.fit_gp_hyperparameters`,
        warm-started, maximum a posteriori with its dimension-scaled prior);
        ``"GP-ML"``: the same by maximum likelihood; ``"GP-stock"``: skopt's GP,
        refitted with restarts every step; ``"RF"``/``"ET"``: skopt's forests; an
        estimator is used as given.
    n_dims : int
        Latent dimension.
    refit_every : int or "auto", default="auto"
        Observations between hyperparameter refits of the fast GP. ``"auto"``:
        after at least ``AUTO_REFIT_MIN`` (10) new observations and at least
        ``AUTO_REFIT_GROWTH`` (10%) more than at the last refit, so every 10
        up to 100 observations, every 50 at 500 (the hyperparameters move
        little once there are hundreds of points, while a refit's cost grows
        with the cube of their number).
    max_fit_points : int, default=1000
        Above this many observations the fast GP's hyperparameters are fitted
        on a fixed-seed subset of this size (prediction uses all of them).

    Attributes
    ----------
    theta_ : ndarray of shape (n_dims + 1,) or None
        Log signal variance and log length scales of the fast GP (``None``:
        not fitted yet, or :meth:`reset`).
    noise_ : float or None
        Its noise variance.
    n_at_refit_ : int
        Number of observations at the last hyperparameter fit.
    last_fit_ : GPHyperparameterFit or None
        Details of the last fit in this session (iterations, likelihood).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.uniform(size=(40, 3)), rng.normal(size=40)
    >>> manager = SurrogateManager("GP", n_dims=3, refit_every=10)
    >>> gp = manager.base_estimator(X, y).fit(X, y)  # fits hyperparameters, then the GP
    >>> manager.n_at_refit_, manager.needs_refit(45), manager.needs_refit(50)
    (40, False, True)
    >>> manager.reset()  # e.g. the latent space changed
    >>> manager.needs_refit(41)
    True
    >>> auto = SurrogateManager("GP", n_dims=3)  # refit_every="auto"
    >>> auto.n_at_refit_ = 300
    >>> auto.theta_ = np.zeros(4)
    >>> auto.needs_refit(320), auto.needs_refit(330)
    (False, True)
    """

    def __init__(self, surrogate, n_dims, refit_every="auto", *, max_fit_points=1000):
        if not isinstance(n_dims, numbers.Integral) or n_dims < 1:
            raise ValueError(f"n_dims must be an integer >= 1, got {n_dims!r}.")
        auto = isinstance(refit_every, str) and refit_every == "auto"
        if not auto and (not isinstance(refit_every, numbers.Integral) or refit_every < 1):
            raise ValueError(f"refit_every must be an integer >= 1 or 'auto', got {refit_every!r}.")
        self.surrogate = surrogate
        self.n_dims = n_dims
        self.refit_every = refit_every
        self.max_fit_points = max_fit_points
        self.theta_ = None  # log-hyperparameters of the fast GP's signal kernel
        self.noise_ = None
        self.n_at_refit_ = 0
        self.last_fit_ = None

    def needs_refit(self, n_obs):
        """Whether a fast-GP surrogate for ``n_obs`` observations refits hyperparameters."""
        if self.theta_ is None:
            return True
        gap = self.refit_every
        if isinstance(gap, str):  # "auto": 10 observations, or 10% more than at the last refit
            gap = max(AUTO_REFIT_MIN, math.ceil(AUTO_REFIT_GROWTH * self.n_at_refit_))
        return n_obs - self.n_at_refit_ >= gap

    def reset(self):
        """Forget the hyperparameters: the next surrogate refits them from scratch.

        Call it when the inputs change meaning (e.g. after the latent space
        was retrained and all points re-encoded): a warm start from the old
        space's length scales would be misleading.
        """
        self.theta_ = None
        self.noise_ = None
        self.n_at_refit_ = 0

    def base_estimator(self, Xn, y):
        """Return the estimator for skopt, refitting hyperparameters if due.

        ``Xn`` are the points in skopt's normalised space, ``y`` the values
        skopt minimises. For ``"GP"`` the result is an unfitted
        :class:`FastGaussianProcessRegressor` whose kernel is fixed at the
        current hyperparameters (skopt fits it on ``tell``).
        """
        if not isinstance(self.surrogate, str):
            return clone(self.surrogate)
        if self.surrogate in ("RF", "ET"):
            return self.surrogate
        if self.surrogate == "GP-stock":
            return default_gp(self.n_dims)
        if self.needs_refit(len(y)):
            warm = self.theta_ is not None and self.noise_ is not None
            fit = fit_gp_hyperparameters(
                Xn,
                y,
                init=(self.theta_, self.noise_) if warm else None,
                max_fit_points=self.max_fit_points,
                prior=None if self.surrogate == "GP-ML" else "dimension-scaled",
            )
            self.theta_, self.noise_ = fit.theta, fit.noise
            self.n_at_refit_ = len(y)
            self.last_fit_ = fit
        kernel = default_gp(self.n_dims).kernel
        kernel.theta = self.theta_
        return FastGaussianProcessRegressor(
            kernel=kernel + WhiteKernel(self.noise_, noise_level_bounds="fixed"),
            normalize_y=True,
            noise="gaussian",
            optimizer=None,
        )

    def state(self):
        """JSON-serialisable hyperparameter state (see :meth:`set_state`)."""
        return {
            "theta": None if self.theta_ is None else [float(t) for t in self.theta_],
            "noise": None if self.noise_ is None else float(self.noise_),
            "n_at_refit": int(self.n_at_refit_),
        }

    def set_state(self, state):
        """Restore :meth:`state` (also those written by earlier versions)."""
        if not isinstance(state, dict) or not {"theta", "noise", "n_at_refit"} <= set(state):
            raise ValueError(
                "state must be a dict with keys 'theta', 'noise' and 'n_at_refit', as returned "
                f"by SurrogateManager.state(); got {state!r}."
            )
        theta = None if state["theta"] is None else np.asarray(state["theta"], dtype=float)
        if theta is not None and theta.shape != (self.n_dims + 1,):
            raise ValueError(
                f"state['theta'] must hold n_dims + 1 = {self.n_dims + 1} log-hyperparameters, "
                f"got {theta.shape}; was the state saved for another latent dimension?"
            )
        self.theta_ = theta
        self.noise_ = None if state["noise"] is None else float(state["noise"])
        self.n_at_refit_ = int(state["n_at_refit"])
