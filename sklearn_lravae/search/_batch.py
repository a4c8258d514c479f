"""A batch of points from one acquisition sweep: the constant liar as fantasised observations.

skopt's ``Optimizer.ask(n_points)`` implements the constant liar (Ginsbourger,
Le Riche and Carraro 2010) by copying the optimiser and, for each point of the
batch, refitting the surrogate with a fake observation (the *lie*, e.g. the
best value so far) at the points chosen so far and sweeping the acquisition
over fresh random candidates: ``n_points + 2`` fits and sweeps per batch.
When the GP's kernel hyperparameters are fixed between refits (the package's
fast GP), adding a lie changes the posterior by a rank-one update, so the
same greedy batch can be chosen from *one* sweep: the candidates' posterior
mean and variance are computed once and updated in ``O(m n)`` per point
(``m`` candidates, ``n`` observations), as BoTorch's fantasies do. The
targets' standardisation stays that of the real observations (a refit would
re-standardise with the lies included).
"""

import numpy as np
from skopt.acquisition import _gaussian_acquisition

__all__ = ["LIES", "constant_liar_batch", "supports_fantasies"]

#: The lie of each skopt strategy, from the observed values (skopt minimises).
LIES = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}


def supports_fantasies(model):
    """Whether ``model`` is a fitted skopt-style GP whose posterior can be updated here."""
    needed = ("kernel_", "X_train_", "alpha_", "K_inv_", "y_train_mean_", "y_train_std_")
    return all(hasattr(model, a) for a in needed)


class _Posterior:
    """The candidates' current posterior, in the ``predict(X, return_std=True)`` shape."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def predict(self, X, return_std=False):
        return (self.mean, self.std) if return_std else self.mean


def constant_liar_batch(
    model, candidates, y, n_points, *, acq_func="EI", acq_func_kwargs=None, strategy="cl_min"
):
    """Rows of ``candidates`` chosen greedily by the constant liar with fixed hyperparameters.

    Each pick maximises the acquisition under the posterior that has been
    told the lie at every earlier pick (an exact rank-one update of the GP
    with its kernel fixed, observation noise included); a row is picked at
    most once.

    Parameters
    ----------
    model : fitted skopt ``GaussianProcessRegressor``
        The surrogate (``noise="gaussian"``; e.g. the package's fast GP).
    candidates : ndarray of shape (m, n_dims)
        Candidate points in the model's (normalised) input space.
    y : array-like of shape (n,)
        The observed values the model was fitted on (skopt minimises them).
    n_points : int
        Batch size.
    acq_func : {"EI", "PI", "LCB"}, default="EI"
        Acquisition function, with skopt's definitions.
    acq_func_kwargs : dict or None, default=None
        skopt's ``xi`` (EI, PI) and ``kappa`` (LCB).
    strategy : {"cl_min", "cl_mean", "cl_max"}, default="cl_min"
        The lie: the minimum, mean or maximum of ``y``, as skopt's ``ask``.

    Returns
    -------
    rows : list of int
        ``min(n_points, m)`` distinct rows of ``candidates``, in the order picked.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._batch import constant_liar_batch
    >>> from sklearn_lravae.search._surrogate import FastGaussianProcessRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(20, 2))
    >>> y = ((X - 0.3) ** 2).sum(1)
    >>> gp = FastGaussianProcessRegressor(noise="gaussian", normalize_y=True).fit(X, y)
    >>> rows = constant_liar_batch(gp, rng.uniform(size=(500, 2)), y, 4)
    >>> len(rows), len(set(rows))
    (4, 4)
    """
    if strategy not in LIES:
        raise ValueError(f"strategy must be one of {sorted(LIES)}, got {strategy!r}.")
    if acq_func not in ("EI", "PI", "LCB"):
        raise ValueError(f"acq_func must be 'EI', 'PI' or 'LCB', got {acq_func!r}.")
    if not supports_fantasies(model):
        raise TypeError(
            f"model must be a fitted skopt GaussianProcessRegressor, got {type(model).__name__}."
        )
    y = np.asarray(y, dtype=float)
    Xc = np.asarray(candidates, dtype=float)
    y_mean, y_std = float(np.ravel(model.y_train_mean_)[0]), float(np.ravel(model.y_train_std_)[0])
    noise = float(model.noise_ or 0.0)  # in standardised units, as the kernel
    kernel, Xt = model.kernel_, model.X_train_
    Ks = kernel(Xc, Xt)
    mean = Ks @ np.ravel(model.alpha_)  # standardised units from here on
    KK = Ks @ model.K_inv_
    var = kernel.diag(Xc) - np.einsum("ij,ij->i", KK, Ks)
    lie = (float(LIES[strategy](y)) - y_mean) / y_std
    y_opt = float(np.min(y))
    fantasies, rows = [], []
    for _ in range(min(int(n_points), len(Xc))):
        post = _Posterior(y_mean + y_std * mean, y_std * np.sqrt(np.clip(var, 0.0, None)))
        acq = _gaussian_acquisition(
            Xc, post, y_opt=y_opt, acq_func=acq_func, acq_func_kwargs=acq_func_kwargs or {}
        )
        acq = np.asarray(acq, dtype=float)
        acq[rows] = np.inf
        j = int(np.argmin(acq))
        rows.append(j)
        # covariance of every candidate with x_j under the posterior told the earlier lies
        cov = kernel(Xc, Xc[j : j + 1])[:, 0] - KK @ Ks[j]
        for c, s in fantasies:
            cov -= c * (c[j] / s)
        s = var[j] + noise
        if s <= 0.0:  # a noise-free, already known point: nothing to update
            continue
        mean += cov * ((lie - mean[j]) / s)
        var -= cov * cov / s
        fantasies.append((cov, s))
    return rows
