"""Tests of the Fréchet distance and precision/recall (the CNN extractor: test_classifier)."""

import numpy as np
import pytest
from scipy import linalg

from sklearn_lravae.metrics import frechet_distance, precision_recall


def _with_moments(rng, mean, cov, n=400):
    """Sample whose sample mean and (ddof=1) covariance are exactly ``mean``, ``cov``."""
    d = len(mean)
    A = rng.standard_normal((n, d))
    A -= A.mean(0)
    L = np.linalg.cholesky(np.cov(A, rowvar=False))
    white = A @ np.linalg.inv(L).T  # sample covariance exactly I
    return white @ np.linalg.cholesky(cov).T + mean


def _random_cov(rng, d):
    M = rng.standard_normal((d, d))
    return M @ M.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_a_set_to_itself_is_zero(rng):
    F = rng.standard_normal((300, 20)) @ rng.standard_normal((20, 20))
    assert frechet_distance(F, F) == pytest.approx(0.0, abs=1e-6)
    # a permutation of the rows is the same set
    assert frechet_distance(F, F[::-1]) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form(rng):
    d = 6
    mu_a, mu_b = rng.standard_normal(d), rng.standard_normal(d)
    cov_a, cov_b = _random_cov(rng, d), _random_cov(rng, d)
    A = _with_moments(rng, mu_a, cov_a)
    B = _with_moments(rng, mu_b, cov_b, n=250)
    expected = (
        np.sum((mu_a - mu_b) ** 2)
        + np.trace(cov_a + cov_b)
        - 2 * np.trace(linalg.sqrtm(cov_a @ cov_b).real)
    )
    assert frechet_distance(A, B, eps=0) == pytest.approx(expected, rel=1e-8)
    # the default ridge changes the value by O(eps) only
    assert frechet_distance(A, B) == pytest.approx(expected, rel=1e-5)


def test_frechet_distance_diagonal_gaussians(rng):
    # N(m, diag(a^2)) vs N(0, diag(b^2)): |m|^2 + sum (a - b)^2
    a, b, m = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5]), np.array([1.0, -2.0, 0.0])
    A = _with_moments(rng, m, np.diag(a**2))
    B = _with_moments(rng, np.zeros(3), np.diag(b**2))
    assert frechet_distance(A, B, eps=0) == pytest.approx(5.0 + 4.0 + 1.0, rel=1e-9)


def test_frechet_distance_symmetry_and_translation(rng):
    A = rng.standard_normal((200, 8))
    B = 0.5 * rng.standard_normal((150, 8)) + 1.0
    assert frechet_distance(A, B) == pytest.approx(frechet_distance(B, A), rel=1e-9)
    shift = rng.standard_normal(8)
    assert frechet_distance(A, A + shift) == pytest.approx(np.sum(shift**2), rel=1e-6)


def test_frechet_distance_singular_covariance_stays_real_and_finite(rng):
    # rank-1 features (e.g. dead ReLU units make covariances singular)
    t = rng.standard_normal((100, 1))
    A = np.hstack([t, 2 * t, np.zeros((100, 3))])
    B = np.hstack([t, -t, np.zeros((100, 3))])
    value = frechet_distance(A, B, eps=0)
    assert np.isfinite(value) and value >= 0
    # 1-D projections: cov_a = v v^T var, exact value from the closed form
    var = np.var(t, ddof=1)
    va, vb = np.array([1, 2, 0, 0, 0.0]), np.array([1, -1, 0, 0, 0.0])
    mean_term = np.sum((A.mean(0) - B.mean(0)) ** 2)
    tr_sqrt = var * abs(va @ vb)  # sqrt of the single eigenvalue of (v_a v_a^T)(v_b v_b^T) var^2
    expected = mean_term + var * (va @ va + vb @ vb) - 2 * tr_sqrt
    assert value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros(10), np.zeros((10, 1)), "features_a must be a 2-D array"),
        (np.zeros((10, 2)), np.zeros((10, 2, 1)), "features_b must be a 2-D array"),
        (np.zeros((10, 2)), np.zeros((10, 3)), "same feature extractor"),
        (np.zeros((1, 2)), np.zeros((10, 2)), "features_a has 1 samples; at least 2"),
        (np.full((10, 2), np.nan), np.zeros((10, 2)), "NaN"),
    ],
)
def test_frechet_distance_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def test_frechet_distance_rejects_negative_eps(rng):
    with pytest.raises(ValueError, match="eps must be a non-negative"):
        frechet_distance(np.zeros((3, 2)), np.zeros((3, 2)), eps=-1)


def test_precision_recall_values(rng):
    real = rng.standard_normal((400, 3))
    assert precision_recall(real, real) == (1.0, 1.0)
    p, r = precision_recall(real, real + 100.0)
    assert p == 0.0 and r == 0.0
    # collapsed samples at the mode: precise, but cover little of the data
    p, r = precision_recall(real, 0.05 * rng.standard_normal((400, 3)))
    assert p > 0.95 and r < 0.2


def test_precision_recall_rejects_bad_input(rng):
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        precision_recall(np.zeros((5, 2)), np.zeros((5, 2)), n_neighbors=0)
    with pytest.raises(ValueError, match="features_fake has 3 samples; at least 4"):
        precision_recall(rng.standard_normal((5, 2)), rng.standard_normal((3, 2)))
    with pytest.raises(ValueError, match="features_real has 2 features but features_fake"):
        precision_recall(rng.standard_normal((5, 2)), rng.standard_normal((5, 3)))
