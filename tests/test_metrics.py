"""Tests of the Fréchet distance and precision/recall (the CNN extractor: test_classifier)."""

import numpy as np
import pytest
from scipy import linalg

from sklearn_lravae.metrics import frechet_distance, kernel_inception_distance, precision_recall


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


def _kid_direct(a, b):
    """Unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, written out pair by pair."""
    m, d = len(a), a.shape[1]

    def k(x, y):
        return (x @ y / d + 1) ** 3

    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def test_kid_matches_the_direct_formula(rng):
    a, b = rng.standard_normal((6, 3)), 0.5 + rng.standard_normal((6, 3))
    kid, kid_std = kernel_inception_distance(a, b, subset_size=6, n_subsets=3)
    # subsets of all rows are permutations: every subset gives the same value
    assert kid == pytest.approx(_kid_direct(a, b), rel=1e-10)
    assert kid_std == pytest.approx(0.0, abs=1e-10)
    # smaller subsets: the mean of the per-subset direct values
    kid, kid_std = kernel_inception_distance(a, b, subset_size=4, n_subsets=5, random_state=3)
    draw = np.random.RandomState(3)
    direct = []
    for _ in range(5):
        ia, ib = draw.choice(6, 4, replace=False), draw.choice(6, 4, replace=False)
        direct.append(_kid_direct(a[ia], b[ib]))
    assert kid == pytest.approx(np.mean(direct), rel=1e-10)
    assert kid_std == pytest.approx(np.std(direct), rel=1e-8)


def test_kid_same_distribution_is_near_zero_shifted_is_larger(rng):
    A, B = rng.standard_normal((2, 1500, 10))
    same, same_std = kernel_inception_distance(A, B, subset_size=500, n_subsets=20)
    assert abs(same) < 0.02 and same_std > 0
    shifts = [
        kernel_inception_distance(A, B + c, subset_size=500, n_subsets=5)[0] for c in (0.3, 1)
    ]
    assert same < shifts[0] < shifts[1]
    assert shifts[0] > 10 * abs(same)
    # a different spread (same mean) is detected as well
    assert kernel_inception_distance(A, 2 * B, subset_size=500, n_subsets=5)[0] > 10 * abs(same)


def test_kid_is_unbiased_for_small_samples(rng):
    # the biased V-statistic (diagonal included) is positive in expectation; KID is not
    kids, biased = [], []
    for _ in range(400):
        a, b = rng.standard_normal((2, 10, 4))
        kids.append(kernel_inception_distance(a, b, subset_size=10, n_subsets=1)[0])
        k = (np.vstack([a, b]) @ np.vstack([a, b]).T / 4 + 1) ** 3
        biased.append(k[:10, :10].mean() + k[10:, 10:].mean() - 2 * k[:10, 10:].mean())
    kids = np.array(kids)
    assert abs(kids.mean()) < 3 * kids.std() / np.sqrt(len(kids))
    assert np.mean(biased) > 10 * kids.std() / np.sqrt(len(kids))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(subset_size=1), "subset_size must be an integer >= 2"),
        (dict(subset_size=2.5), "subset_size must be an integer >= 2"),
        (dict(n_subsets=0), "n_subsets must be an integer >= 1"),
        (dict(subset_size=11), "pass subset_size <= 10"),
    ],
)
def test_kid_rejects_bad_parameters(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kernel_inception_distance(
            rng.standard_normal((10, 2)), rng.standard_normal((12, 2)), **kwargs
        )


def test_kid_rejects_bad_features(rng):
    with pytest.raises(ValueError, match="features_a must be a 2-D array"):
        kernel_inception_distance(np.zeros(10), np.zeros((10, 1)), subset_size=5)
    with pytest.raises(ValueError, match="same feature extractor"):
        kernel_inception_distance(np.zeros((10, 2)), np.zeros((10, 3)), subset_size=5)
    with pytest.raises(ValueError, match="NaN"):
        kernel_inception_distance(np.full((10, 2), np.nan), np.zeros((10, 2)), subset_size=5)
