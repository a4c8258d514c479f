"""Kernel hyperparameters of skopt's GP by maximum a posteriori / marginal likelihood in torch.

The model is the one scikit-optimize uses for ``base_estimator="GP"`` (and
:func:`~sklearn_lravae.search._surrogate.default_gp`)::

    k(x, x') = c * Matern_{5/2}(||(x - x') / l||) + s * [x == x'] + 1e-10 * [x == x']

with one length scale per dimension (ARD), the targets standardised
(``normalize_y=True``), and the same box bounds on ``c``, ``l`` and the noise
variance ``s``. :func:`fit_gp_hyperparameters` maximises its log marginal
likelihood with scipy's L-BFGS-B over the log-parameters, the likelihood and
its *analytic* gradient evaluated in torch float64 with a Cholesky
factorisation. Per evaluation this costs one Cholesky and one inverse (about
``n^3`` flops) and one ``n x n x d`` matrix product, where scikit-learn builds
an ``n x n x (d + 2)`` gradient tensor; started from the previous optimum
(warm start), a fit also needs far fewer iterations.

Above ``max_fit_points`` observations the hyperparameters are fitted on a
subset of ``max_fit_points`` observations drawn with a fixed seed (an
unbiased sample, so the marginal-likelihood surface keeps its shape while
the cubic cost stays bounded); prediction then still conditions on all
observations (see :class:`~sklearn_lravae.search._surrogate.SurrogateManager`).

By default the fit maximises the log marginal likelihood *plus* the log
density of the dimension-scaled priors of Hvarfner, Hellsten & Nardi (2024,
"Vanilla Bayesian optimization performs great in high dimensions"), BoTorch's
defaults since 0.12: each length scale ``l ~ LogNormal(sqrt(2) + log(d) / 2,
sqrt(3))`` and the noise variance ``s ~ LogNormal(-4, 1)`` (densities in the
parameters' own units, as GPyTorch's ``LogNormalPrior``; ``c`` has none), and
a cold fit starts at the priors' modes. With few observations in many
dimensions, maximum likelihood switches most dimensions off (length scales at
their upper bound) and the search then moves along few of them; the prior
keeps every length scale near ``sqrt(d)`` times a constant unless the data say
otherwise. ``prior=None`` gives plain maximum likelihood.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize

__all__ = [
    "CONSTANT_BOUNDS",
    "LENGTH_SCALE_BOUNDS",
    "NOISE_BOUNDS",
    "GPHyperparameterFit",
    "PRIORS",
    "fit_gp_hyperparameters",
    "gp_log_marginal_likelihood",
    "length_scale_prior",
]

CONSTANT_BOUNDS = (0.01, 1000.0)  # signal variance c (skopt's ConstantKernel bounds)
LENGTH_SCALE_BOUNDS = (0.01, 100.0)  # each ARD length scale
NOISE_BOUNDS = (1e-5, 1e5)  # WhiteKernel's default bounds (skopt adds it for noise="gaussian")
JITTER = 1e-10  # scikit-learn's default ``alpha`` on the diagonal
_SQRT5 = 5.0**0.5
PRIORS = ("dimension-scaled", None)  # the values of fit_gp_hyperparameters' ``prior``
NOISE_PRIOR = (-4.0, 1.0)  # (mu, sigma) of the noise variance's log-normal prior


def length_scale_prior(n_dims):
    """``(mu, sigma)`` of the dimension-scaled log-normal length-scale prior.

    Examples
    --------
    >>> mu, sigma = length_scale_prior(16)
    >>> round(float(np.exp(mu - sigma**2)), 3)  # the prior's mode: 0.205 * sqrt(16)
    0.819
    """
    return 2.0**0.5 + 0.5 * np.log(n_dims), 3.0**0.5


class _LogPrior:
    """``params -> (log prior density, gradient)`` for ``n_dims`` length scales.

    Log-normal densities of the length scales and the noise variance in their
    own units: ``log p(v) = -(log v - mu)^2 / (2 sigma^2) - log v + const``,
    whose derivative with respect to ``t = log v`` is ``-(t - mu) / sigma^2 - 1``.
    The per-parameter ``mu`` and ``sigma`` are set up once per fit.
    """

    def __init__(self, n_dims):
        mu, sigma = length_scale_prior(n_dims)
        self.mu = np.r_[np.full(n_dims, mu), NOISE_PRIOR[0]]
        self.sigma = np.r_[np.full(n_dims, sigma), NOISE_PRIOR[1]]
        self.const = float(np.sum(-np.log(self.sigma * np.sqrt(2 * np.pi))))

    def __call__(self, params):
        t = params[1:]
        value = self.const - float(np.sum((t - self.mu) ** 2 / (2 * self.sigma**2) + t))
        grad = np.zeros_like(params)
        grad[1:] = -(t - self.mu) / self.sigma**2 - 1.0
        return value, grad


@dataclass(frozen=True)
class GPHyperparameterFit:
    """Result of :func:`fit_gp_hyperparameters`.

    Attributes
    ----------
    theta : ndarray of shape (n_dims + 1,)
        Log of the signal variance and of the ``n_dims`` length scales, in the
        order of scikit-learn's ``(ConstantKernel * Matern).theta``.
    noise : float
        Fitted noise variance (the ``WhiteKernel`` noise level).
    log_marginal_likelihood : float
        Log marginal likelihood of the standardised targets at the optimum
        (on the fitted subset when one was used).
    n_iter : int
        L-BFGS-B iterations.
    n_fit : int
        Number of observations the hyperparameters were fitted on.
    log_prior : float
        Log prior density at the optimum (0.0 for ``prior=None``); the fit
        maximised ``log_marginal_likelihood + log_prior``.
    """

    theta: np.ndarray
    noise: float
    log_marginal_likelihood: float
    n_iter: int
    n_fit: int
    log_prior: float = 0.0


def _as_data(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_dims), got {X.shape}.")
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must be a 1-D array with one value per row of X ({X.shape[0]}), got shape "
            f"{y.shape}."
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite; drop or impute rows with NaN or inf first.")
    return X, y


def _standardise(y):
    """scikit-learn's ``normalize_y``: zero mean, unit (population) std."""
    std = np.std(y)
    return (y - np.mean(y)) / (std if std > 0 else 1.0)


def _log_bounds(n_dims):
    rows = [CONSTANT_BOUNDS] + [LENGTH_SCALE_BOUNDS] * n_dims + [NOISE_BOUNDS]
    return np.log(np.asarray(rows, dtype=np.float64))


class _NegativeLogMarginalLikelihood:
    """``params -> (-LML, -gradient)`` for fixed data, reusing ``n x n`` torch buffers.

    ``params`` holds ``[log c, log l_1..l_d, log s]``. With ``a = K^-1 y`` and
    ``W = a a^T - K^-1``, ``dLML/dp = tr(W dK/dp) / 2``. For a length scale
    ``dK/dlog l_k = G * (x_k - x'_k)^2 / l_k^2`` with
    ``G = 5/3 c (1 + sqrt(5) r) exp(-sqrt(5) r)``, and the sum over pairs
    reduces to ``m . X_k^2 - X_k^T M X_k`` (``M = W * G``, ``m`` its row
    sums); for ``c``, ``tr(W K_signal) = y^T a - n - (s + jitter) tr(W)``;
    for ``s``, ``s tr(W)``. Every ``n x n`` array lives in one of four
    preallocated buffers (allocating them afresh costs more than the
    arithmetic on a single core).
    """

    def __init__(self, X, y):
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        self.y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float64))
        n = len(self.y)
        self._buf = [torch.empty((n, n), dtype=torch.float64) for _ in range(4)]
        self._info = torch.empty((), dtype=torch.int32)

    def __call__(self, params):
        X, y, (S, E, B, L) = self.X, self.y, self._buf
        n = len(y)
        p = torch.from_numpy(params)
        c, length, noise = float(p[0].exp()), p[1:-1].exp(), float(p[-1].exp())
        Xs = X / length
        sq = (Xs * Xs).sum(1)
        torch.mm(Xs, Xs.T, out=S)
        S.mul_(-2.0).add_(sq[:, None]).add_(sq[None, :]).clamp_(min=0.0)
        S.sqrt_().mul_(_SQRT5)  # s = sqrt(5) r
        torch.neg(S, out=E).exp_()  # exp(-s)
        torch.add(S, 1.0, out=B).mul_(E)  # (1 + s) exp(-s)
        K = S.mul_(S).mul_(E).div_(3.0).add_(B).mul_(c)  # c (1 + s + s^2/3) exp(-s)
        K.diagonal().add_(noise + JITTER)
        torch.linalg.cholesky_ex(K, out=(L, self._info))
        if int(self._info) != 0:  # not positive definite: scikit-learn's convention
            return np.inf, np.zeros_like(params)
        alpha = torch.cholesky_solve(y[:, None], L)[:, 0]
        y_alpha, log_det = float(y @ alpha), 2.0 * float(L.diagonal().log().sum())
        W = torch.cholesky_inverse(L, out=E).neg_().addr_(alpha, alpha)
        tr_W = float(W.diagonal().sum())
        M = B.mul_(W).mul_((5.0 / 3.0) * c)
        grad = np.empty_like(params)
        grad[0] = 0.5 * (y_alpha - n - (noise + JITTER) * tr_W)
        XsT = Xs.T.contiguous()  # (d, n) @ (n, n) is the fast layout for BLAS here
        grad[1:-1] = (XsT * XsT @ M.sum(1) - (XsT * (XsT @ M)).sum(1)).numpy()
        grad[-1] = 0.5 * noise * tr_W
        return 0.5 * (y_alpha + log_det + n * np.log(2 * np.pi)), -grad


class _NegativeLogPosterior:
    """``params -> (-(LML + log prior), gradient)`` around a negative-LML callable."""

    def __init__(self, nll, log_prior):
        self.nll = nll
        self.log_prior = log_prior

    def __call__(self, params):
        value, grad = self.nll(params)
        if not np.isfinite(value):
            return value, grad
        log_prior, prior_grad = self.log_prior(params)
        return value - log_prior, grad - prior_grad


def gp_log_marginal_likelihood(params, X, y):
    """Log marginal likelihood of skopt's GP model and its gradient.

    Parameters
    ----------
    params : array-like of shape (n_dims + 2,)
        ``[log c, log l_1, ..., log l_d, log noise]``: the order of
        scikit-learn's ``(ConstantKernel * Matern + WhiteKernel).theta``.
    X : array-like of shape (n_samples, n_dims)
        Inputs.
    y : array-like of shape (n_samples,)
        Targets; standardised as with ``normalize_y=True``.

    Returns
    -------
    lml : float
        The log marginal likelihood (``-inf`` if the kernel matrix is not
        positive definite).
    grad : ndarray of shape (n_dims + 2,)
        Its gradient with respect to ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.uniform(size=(20, 3)), rng.normal(size=20)
    >>> params = np.log([2.0, 0.5, 1.0, 3.0, 0.1])
    >>> lml, grad = gp_log_marginal_likelihood(params, X, y)
    >>> kernel = ConstantKernel() * Matern(np.ones(3), nu=2.5) + WhiteKernel()
    >>> gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None).fit(X, y)
    >>> bool(np.isclose(lml, gp.log_marginal_likelihood(params)))
    True
    """
    X, y = _as_data(X, y)
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (X.shape[1] + 2,):
        raise ValueError(
            f"params must hold n_dims + 2 = {X.shape[1] + 2} log-parameters "
            f"[log c, log length scales, log noise], got shape {params.shape}."
        )
    nll, grad = _NegativeLogMarginalLikelihood(X, _standardise(y))(params)
    return -nll, -grad


def _check_fit_args(n_dims, init, max_fit_points, random_state, max_iter, prior="dimension-scaled"):
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}.")
    if not isinstance(max_fit_points, numbers.Integral) or max_fit_points < 2:
        raise ValueError(f"max_fit_points must be an integer >= 2, got {max_fit_points!r}.")
    if not isinstance(random_state, numbers.Integral) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}.")
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}.")
    if init is None and prior is None:  # scikit-learn's initial kernel: c = 1, l = 1, noise = 1
        return np.zeros(n_dims + 2)
    if init is None:  # c = 1, length scales and noise at their priors' modes
        mu, sigma = length_scale_prior(n_dims)
        return np.r_[0.0, np.full(n_dims, mu - sigma**2), NOISE_PRIOR[0] - NOISE_PRIOR[1] ** 2]
    try:
        theta, noise = init
        x0 = np.append(np.asarray(theta, dtype=np.float64), np.log(float(noise)))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "init must be None or a pair (theta, noise) as returned in a GPHyperparameterFit, "
            f"got {init!r}."
        ) from exc
    if x0.shape != (n_dims + 2,) or not np.all(np.isfinite(x0)):
        raise ValueError(
            f"init's theta must hold n_dims + 1 = {n_dims + 1} finite log-parameters and its "
            f"noise must be positive; got theta of shape {np.shape(theta)}, noise {noise!r}."
        )
    return x0


def fit_gp_hyperparameters(
    X,
    y,
    init=None,
    *,
    max_fit_points=1000,
    random_state=0,
    max_iter=1000,
    prior="dimension-scaled",
):
    """Kernel hyperparameters of skopt's GP by MAP or maximum likelihood (torch, L-BFGS-B).

    Fits ``c * Matern_{5/2}`` (ARD) plus white noise to standardised targets
    with the bounds of :func:`~sklearn_lravae.search._surrogate.default_gp`;
    with ``prior=None`` exactly as ``skopt.learning.GaussianProcessRegressor.fit``
    does without restarts, by default with the dimension-scaled priors of the
    module docstring (maximum a posteriori).
    Torch runs with the caller's ``torch.get_num_threads()``. The result is a
    deterministic function of the data and arguments (for a given number of
    threads).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_dims)
        Inputs (skopt's normalised space).
    y : array-like of shape (n_samples,)
        Targets.
    init : (theta, noise) or None, default=None
        Starting point, e.g. the previous fit's ``(theta, noise)`` (warm
        start; clipped to the bounds). ``None`` starts from ``c = 1`` and the
        priors' modes (``prior=None``: ``l = 1``, ``noise = 1``, scikit-learn's
        initial kernel).
    max_fit_points : int, default=1000
        Above this many observations, fit on ``max_fit_points`` of them drawn
        without replacement with ``random_state`` (targets standardised with
        the statistics of all of them).
    random_state : int, default=0
        Seed of that subset.
    max_iter : int, default=1000
        Maximum number of L-BFGS-B iterations.
    prior : {"dimension-scaled", None}, default="dimension-scaled"
        ``"dimension-scaled"``: maximise the log marginal likelihood plus the
        log density of the length-scale and noise priors (recommended: in
        more than a few dimensions, plain maximum likelihood on few points
        switches most dimensions off); ``None``: maximum likelihood.

    Returns
    -------
    GPHyperparameterFit
        ``theta`` (log signal variance and log length scales), ``noise``,
        ``log_marginal_likelihood``, ``n_iter``, ``n_fit`` and ``log_prior``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(50, 2))
    >>> y = np.sin(6 * X[:, 0]) + 0.01 * rng.normal(size=50)
    >>> fit = fit_gp_hyperparameters(X, y)
    >>> fit.theta.shape, fit.n_fit
    ((3,), 50)
    >>> ml = fit_gp_hyperparameters(X, y, prior=None)  # maximum likelihood
    >>> bool(ml.log_marginal_likelihood >= fit.log_marginal_likelihood)
    True
    >>> bool(np.exp(fit.theta[2]) > np.exp(fit.theta[1]))  # x_2 is irrelevant: longer scale
    True
    >>> warm = fit_gp_hyperparameters(X, y, init=(fit.theta, fit.noise))
    >>> warm.n_iter < fit.n_iter
    True
    """
    X, y = _as_data(X, y)
    n, d = X.shape
    x0 = _check_fit_args(d, init, max_fit_points, random_state, max_iter, prior)
    bounds = _log_bounds(d)
    x0 = np.clip(x0, bounds[:, 0], bounds[:, 1])
    y = _standardise(y)
    if n > max_fit_points:
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(n, size=max_fit_points, replace=False))
        X, y = X[idx], y[idx]
    nll = _NegativeLogMarginalLikelihood(X, y)
    prior_density = None if prior is None else _LogPrior(d)
    objective = nll if prior is None else _NegativeLogPosterior(nll, prior_density)
    res = minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": int(max_iter)},
    )
    x = res.x  # L-BFGS-B never ends above its start
    log_prior = 0.0 if prior is None else prior_density(x)[0]
    return GPHyperparameterFit(
        theta=x[:-1].copy(),
        noise=float(np.exp(x[-1])),
        log_marginal_likelihood=-float(res.fun) - log_prior,
        n_iter=int(res.nit),
        n_fit=len(y),
        log_prior=log_prior,
    )
