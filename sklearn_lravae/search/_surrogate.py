"""Gaussian-process surrogate with warm-started, occasionally refitted hyperparameters.

scikit-optimize's GP re-optimises its kernel hyperparameters (with restarts)
on every ``tell``, which dominates the cost of a step (~10-17 s at 300 points
in 32 dimensions on a 2-core machine). :class:`SurrogateManager` instead fits
the hyperparameters only every ``refit_every`` observations (starting from the
previous optimum, no restarts) and in between hands skopt a GP whose kernel is
fixed, so a step costs one Cholesky factorisation.
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

__all__ = ["SurrogateManager", "default_gp"]


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
        return GaussianProcessRegressor(
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
