"""Scorers and distances for model selection and sample quality.

- :func:`mean_latent_reconstruction_error` / :func:`make_lre_scorer`: the LRE of
  decoded reference samples, as a function and as a grid-search scorer
  (negated, so higher is better).
- :func:`frechet_distance`: Fréchet distance between two sets of features (the
  FID when the features come from an image classifier), with
  :class:`CNNFeatureExtractor` as a small classifier whose penultimate layer
  stands in for Inception features.
- :func:`kernel_inception_distance`: unbiased squared MMD with a cubic
  polynomial kernel (the KID when the features come from an image
  classifier), averaged over random subsets.
- :func:`precision_recall`: k-nearest-neighbour precision and recall of
  generated samples in feature space (Kynkäänniemi et al., 2019).
"""

import numbers

import numpy as np
import torch
from scipy import linalg
from sklearn.utils import check_array, check_random_state

from ._feature_extractor import CNNFeatureExtractor
from .reference import check_reference

__all__ = [
    "CNNFeatureExtractor",
    "find_lravae",
    "frechet_distance",
    "kernel_inception_distance",
    "make_lre_scorer",
    "mean_latent_reconstruction_error",
    "precision_recall",
]


def find_lravae(estimator):
    """Return the LRA-VAE inside ``estimator`` (itself, or the last Pipeline step with LRE).

    Parameters
    ----------
    estimator : estimator
        An :class:`~sklearn_lravae.LRAVAETransformer`, or a Pipeline containing one.

    Returns
    -------
    vae : LRAVAETransformer
        The estimator that provides ``latent_reconstruction_error``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import find_lravae
    >>> pipe = make_pipeline(MinMaxScaler(), LRAVAETransformer())
    >>> type(find_lravae(pipe)).__name__
    'LRAVAETransformer'
    """
    if hasattr(estimator, "latent_reconstruction_error"):
        return estimator
    for _, step in reversed(getattr(estimator, "steps", [])):
        if hasattr(step, "latent_reconstruction_error"):
            return step
    raise TypeError(
        f"{type(estimator).__name__} has no latent_reconstruction_error and is not a "
        "Pipeline containing an LRAVAETransformer."
    )


def mean_latent_reconstruction_error(
    estimator, reference=2.0, n_samples=1000, random_state=0, decode="mean"
):
    """Mean LRE of latent points drawn from ``reference`` (lower is better).

    Parameters
    ----------
    estimator : LRAVAETransformer or Pipeline
        Fitted estimator (see :func:`find_lravae`).
    reference : float or reference object, default=2.0
        Where to draw latent points; a float ``s`` is ``N(0, s^2 I)``.
    n_samples : int, default=1000
        Number of latent points.
    random_state : int, default=0
        Seed of the draws (fixed, so models are compared on the same points).
    decode : {"mean", "mode"}, default="mean"
        Soft or hard decode, see
        :meth:`~sklearn_lravae.LRAVAETransformer.latent_reconstruction_error`.

    Returns
    -------
    lre : float
        Mean latent reconstruction error.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import mean_latent_reconstruction_error
    >>> X = load_digits().data / 16
    >>> vae = LRAVAETransformer(4, likelihood="bernoulli", max_epochs=2, random_state=0)
    >>> mean_latent_reconstruction_error(vae.fit(X), reference=2.0) > 0
    True
    """
    vae = find_lravae(estimator)
    ref = check_reference(reference)
    gen = torch.Generator().manual_seed(int(random_state))
    Z = ref.sample(n_samples, vae.n_components, generator=gen).numpy().astype(np.float64)
    return float(np.mean(vae.latent_reconstruction_error(Z, decode=decode)))


def make_lre_scorer(reference=2.0, n_samples=1000, random_state=0, decode="mean"):
    """Scorer ``(estimator, X, y=None) -> -mean LRE`` for ``GridSearchCV``.

    The LRE does not depend on ``X``; the scorer measures the fitted model's
    latent consistency on samples of ``reference``. It is negated so that higher
    is better, as scikit-learn expects.

    Parameters
    ----------
    reference : float or reference object, default=2.0
        Reference distribution of the latent points.
    n_samples : int, default=1000
        Number of latent points.
    random_state : int, default=0
        Seed of the draws.
    decode : {"mean", "mode"}, default="mean"
        Soft or hard decode.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import make_lre_scorer
    >>> X = load_digits().data[:300] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=2, random_state=0)
    >>> gs = GridSearchCV(vae, {"gamma": [0.0, 1.0]}, cv=2, refit="elbo",
    ...                   scoring={"elbo": None, "lre": make_lre_scorer()}).fit(X)
    >>> sorted(gs.cv_results_)[:2]
    ['mean_fit_time', 'mean_score_time']
    """
    check_reference(reference)

    def lre_scorer(estimator, X=None, y=None):
        return -mean_latent_reconstruction_error(
            estimator, reference, n_samples, random_state, decode
        )

    lre_scorer.__name__ = "neg_mean_latent_reconstruction_error"
    return lre_scorer


def _check_feature_pair(features_a, features_b, min_samples):
    arrays = []
    for name, F in (("features_a", features_a), ("features_b", features_b)):
        F = np.asarray(F) if not hasattr(F, "shape") else F
        if getattr(F, "ndim", None) != 2:
            raise ValueError(
                f"{name} must be a 2-D array of shape (n_samples, n_features), got an array "
                f"with shape {np.shape(F)}: reshape a single feature with reshape(-1, 1)."
            )
        F = check_array(F, dtype=np.float64, input_name=name)
        if len(F) < min_samples:
            raise ValueError(f"{name} has {len(F)} samples; at least {min_samples} are needed.")
        arrays.append(F)
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise ValueError(
            f"features_a has {arrays[0].shape[1]} features but features_b has "
            f"{arrays[1].shape[1]}: both must come from the same feature extractor."
        )
    return arrays


def frechet_distance(features_a, features_b, eps=1e-6):
    """Fréchet distance between Gaussians fitted to two sets of features.

    .. math::

        d^2 = \\lVert \\mu_a - \\mu_b \\rVert^2
            + \\operatorname{tr}\\bigl(\\Sigma_a + \\Sigma_b
            - 2 (\\Sigma_a \\Sigma_b)^{1/2}\\bigr)

    with sample means and (``ddof=1``) covariances. With Inception features
    this is the FID; here any feature extractor works, e.g. the penultimate
    layer of :class:`CNNFeatureExtractor`. The trace of the matrix square
    root is computed as ``sum(sqrt(eig(S S_b S)))`` with ``S = sqrtm(Sigma_a)``
    -- a symmetric positive semi-definite problem, so the result is real and
    stable even for singular covariances; ``eps * I`` is added to both
    covariances first.

    Parameters
    ----------
    features_a : array-like of shape (n_samples_a, n_features)
        First sample (e.g. features of real images).
    features_b : array-like of shape (n_samples_b, n_features)
        Second sample (e.g. features of generated images).
    eps : float, default=1e-6
        Ridge added to both covariance diagonals.

    Returns
    -------
    distance : float
        The squared Fréchet distance (non-negative; 0 for identical sets up to
        rounding).

    See Also
    --------
    CNNFeatureExtractor : Features of a small CNN classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.metrics import frechet_distance
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((5000, 2))
    >>> round(frechet_distance(A, A), 6)
    0.0
    >>> B = 3 + 2 * rng.standard_normal((5000, 2))   # |mu|^2 = 18, (2 - 1)^2 * 2 = 2
    >>> bool(abs(frechet_distance(A, B) - 20) < 0.5)
    True
    """
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"eps must be a non-negative float, got {eps!r}.")
    A, B = _check_feature_pair(features_a, features_b, min_samples=2)
    mu_a, mu_b = A.mean(0), B.mean(0)
    d = A.shape[1]
    cov_a = np.atleast_2d(np.cov(A, rowvar=False)) + eps * np.eye(d)
    cov_b = np.atleast_2d(np.cov(B, rowvar=False)) + eps * np.eye(d)
    tr_sqrt = _trace_sqrt_product(cov_a, cov_b)
    dist = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt)
    return max(dist, 0.0)


def _trace_sqrt_product(cov_a, cov_b):
    """``tr sqrtm(cov_a @ cov_b)`` for symmetric PSD matrices, via eigenvalues."""
    w, V = linalg.eigh(cov_a)
    sqrt_a = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    M = sqrt_a @ cov_b @ sqrt_a
    M = 0.5 * (M + M.T)
    return float(np.sum(np.sqrt(np.clip(linalg.eigvalsh(M), 0, None))))


def kernel_inception_distance(
    features_a, features_b, subset_size=1000, n_subsets=100, random_state=0
):
    """Unbiased kernel distance (KID) between two sets of features.

    The squared maximum mean discrepancy with the cubic polynomial kernel
    ``k(x, y) = (x . y / d + 1)^3`` (``d`` features) of Bińkowski et al.
    (2018), estimated without bias on ``n_subsets`` random subsets of
    ``subset_size`` rows drawn without replacement from each set:

    .. math::

        \\widehat{\\mathrm{MMD}}^2 = \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(a_i, a_j)
            + \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(b_i, b_j)
            - \\frac{2}{m^2} \\sum_{i, j} k(a_i, b_j)

    Unlike the Fréchet distance, its expectation is zero when both sets come
    from the same distribution whatever the sample size, so values from
    different sample sizes can be compared; a single estimate can be
    slightly negative.

    Parameters
    ----------
    features_a : array-like of shape (n_samples_a, n_features)
        First sample (e.g. features of real images).
    features_b : array-like of shape (n_samples_b, n_features)
        Second sample (e.g. features of generated images).
    subset_size : int, default=1000
        Rows per subset ``m``; at most the size of the smaller set.
    n_subsets : int, default=100
        Number of random subset pairs.
    random_state : int, RandomState instance or None, default=0
        Seeds the subset draws.

    Returns
    -------
    kid : float
        Mean of the unbiased MMD^2 estimates over the subsets.
    kid_std : float
        Their standard deviation (``ddof=0``, as in common KID code; 0 with one
        subset).

    See Also
    --------
    frechet_distance : The Fréchet distance of the same features (biased in
        the sample size).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.metrics import kernel_inception_distance
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((2, 2000, 8))
    >>> kid, kid_std = kernel_inception_distance(A, B, subset_size=500, n_subsets=20)
    >>> bool(abs(kid) < 0.01)
    True
    >>> bool(kernel_inception_distance(A, B + 1.0, subset_size=500)[0] > 0.5)
    True
    """
    for name, value, low in (("subset_size", subset_size, 2), ("n_subsets", n_subsets, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    A, B = _check_feature_pair(features_a, features_b, min_samples=2)
    if subset_size > min(len(A), len(B)):
        raise ValueError(
            f"subset_size={subset_size} is larger than the smaller feature set "
            f"({min(len(A), len(B))} samples): pass subset_size <= {min(len(A), len(B))}."
        )
    rng = check_random_state(random_state)
    d, m = A.shape[1], subset_size

    def kernel(x, y):
        k = x @ y.T
        k /= d
        k += 1
        return k * k * k  # faster than k ** 3

    estimates = np.empty(n_subsets)
    for k in range(n_subsets):
        a = A[rng.choice(len(A), m, replace=False)]
        b = B[rng.choice(len(B), m, replace=False)]
        k_aa, k_bb = kernel(a, a), kernel(b, b)
        within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
        estimates[k] = within - 2 * kernel(a, b).mean()
    return float(estimates.mean()), float(estimates.std())


def precision_recall(features_real, features_fake, n_neighbors=3):
    """k-NN precision and recall of generated samples (Kynkäänniemi et al., 2019).

    Each set's manifold is the union of balls around its points with the
    radius of the distance to the ``n_neighbors``-th nearest neighbour within
    the set. *Precision* is the fraction of generated points inside the real
    manifold (quality), *recall* the fraction of real points inside the
    generated manifold (coverage).

    Parameters
    ----------
    features_real : array-like of shape (n_real, n_features)
        Features of real images.
    features_fake : array-like of shape (n_fake, n_features)
        Features of generated images.
    n_neighbors : int, default=3
        Which neighbour sets the ball radius.

    Returns
    -------
    precision : float
        In [0, 1].
    recall : float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.metrics import precision_recall
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((500, 2))
    >>> p, r = precision_recall(real, 0.2 * rng.standard_normal((500, 2)))
    >>> bool(p > 0.9 and r < 0.5)   # good samples, but too little spread
    True
    """
    from sklearn.neighbors import NearestNeighbors

    if not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
    names = ("features_real", "features_fake")
    try:
        R, F = _check_feature_pair(features_real, features_fake, min_samples=n_neighbors + 1)
    except ValueError as exc:
        msg = str(exc).replace("features_a", names[0]).replace("features_b", names[1])
        raise ValueError(msg) from None

    def radii(P):
        dist, _ = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(P).kneighbors(P)
        return dist[:, -1]

    def coverage(P, radius_p, Q):
        # fraction of Q within radius_p[j] of some P[j]
        inside = np.zeros(len(Q), dtype=bool)
        for start in range(0, len(Q), 1024):
            q = Q[start : start + 1024]
            d2 = (q**2).sum(1)[:, None] + (P**2).sum(1)[None, :] - 2 * q @ P.T
            d = np.sqrt(np.clip(d2, 0, None))
            inside[start : start + 1024] = (d <= radius_p[None, :]).any(1)
        return float(inside.mean())

    return coverage(R, radii(R), F), coverage(F, radii(F), R)
