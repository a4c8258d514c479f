"""Gaussian-process surrogate with warm-started, occasionally refitted hyperparameters.

scikit-optimize's GP re-optimises its kernel hyperparameters (with restarts)
on every ``tell``, which dominates the cost of a step (~10-17 s at 300 points
in 32 dimensions on a 2-core machine). :class:`SurrogateManager` instead fits
the hyperparameters only every ``refit_every`` observations (starting from the
previous optimum, no restarts) and in between hands skopt a GP whose kernel is
fixed, so a step costs one Cholesky factorisation. That GP is a
:class:`FastGaussianProcessRegressor`, whose batched predictive variance uses a
matrix product instead of skopt's unoptimised three-operand ``einsum`` (the
acquisition over a few thousand candidate points was the largest remaining cost).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

__all__ = ["FastGaussianProcessRegressor", "SurrogateManager", "default_gp"]


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
    """skopt's default GP for ``n_dims`` continuous dimensions (Matern 5/2, ARD)."""
    kernel = ConstantKernel(1.0, (0.01, 1000.0)) * Matern(
        length_scale=np.ones(n_dims), length_scale_bounds=[(0.01, 100)] * n_dims, nu=2.5
    )
    return GaussianProcessRegressor(
        kernel=kernel, normalize_y=True, noise="gaussian", n_restarts_optimizer=2
    )


class SurrogateManager:
    """Build the surrogate handed to ``skopt.Optimizer`` at each step.

    Parameters
    ----------
    surrogate : {"GP", "GP-stock", "RF", "ET"} or estimator
        ``"GP"``: fast GP (hyperparameters refitted every ``refit_every``
        observations); ``"GP-stock"``: skopt's GP, refitted with restarts every
        step; ``"RF"``/``"ET"``: skopt's forests; an estimator is used as given.
    n_dims : int
        Latent dimension.
    refit_every : int
        Observations between hyperparameter refits of the fast GP.
    """

    def __init__(self, surrogate, n_dims, refit_every=10):
        self.surrogate = surrogate
        self.n_dims = n_dims
        self.refit_every = refit_every
        self.theta_ = None  # log-hyperparameters of the fast GP's signal kernel
        self.noise_ = None
        self.n_at_refit_ = 0

    def needs_refit(self, n_obs):
        return self.theta_ is None or n_obs - self.n_at_refit_ >= self.refit_every

    def base_estimator(self, Xn, y):
        """Return the estimator for skopt, refitting hyperparameters if due.

        ``Xn`` are the points in skopt's normalised space, ``y`` the values
        skopt minimises.
        """
        if not isinstance(self.surrogate, str):
            return clone(self.surrogate)
        if self.surrogate in ("RF", "ET"):
            return self.surrogate
        gp = default_gp(self.n_dims)
        if self.surrogate == "GP-stock":
            return gp
        if self.needs_refit(len(y)):
            if self.theta_ is not None:
                gp.kernel.theta = self.theta_
            gp.set_params(n_restarts_optimizer=0)
            with warnings.catch_warnings():  # bounds hits are routine for small n
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(np.asarray(Xn), np.asarray(y))
            # kernel_ = (constant * matern) + white(0); noise_ holds the fitted noise
            self.theta_ = gp.kernel_.k1.theta.copy()
            self.noise_ = float(gp.noise_ or 1e-10)
            self.n_at_refit_ = len(y)
        kernel = default_gp(self.n_dims).kernel  # skopt's fit mutated gp.kernel
        kernel.theta = self.theta_
        return FastGaussianProcessRegressor(
            kernel=kernel + WhiteKernel(self.noise_, noise_level_bounds="fixed"),
            normalize_y=True,
            noise="gaussian",
            optimizer=None,
        )

    def state(self):
        return {
            "theta": None if self.theta_ is None else [float(t) for t in self.theta_],
            "noise": self.noise_,
            "n_at_refit": int(self.n_at_refit_),
        }

    def set_state(self, state):
        self.theta_ = None if state["theta"] is None else np.asarray(state["theta"])
        self.noise_ = state["noise"]
        self.n_at_refit_ = int(state["n_at_refit"])
