"""Tests of the Fréchet distance, precision/recall and the CNN feature extractor."""

import numpy as np
import pytest
import torch
from scipy import linalg

from sklearn_lravae.metrics import CNNFeatureExtractor, frechet_distance, precision_recall


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


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # tiny 8x8 convolutions: two OpenMP threads on a busy 2-core machine are slower
    # by orders of magnitude (spin-waiting), one thread is fast and predictable
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def cnn(digits):
    X_train, _, y_train, _ = digits
    return CNNFeatureExtractor(
        n_hidden=32, max_epochs=10, batch_size=32, lr=3e-3, random_state=0
    ).fit(X_train, y_train)


def test_cnn_classifies_digits_and_gives_features(cnn, digits):
    _, X_test, _, y_test = digits
    assert cnn.image_shape_ == (8, 8)
    assert cnn.score(X_test, y_test) > 0.88
    assert cnn.loss_curve_[-1] < cnn.loss_curve_[0]
    F = cnn.transform(X_test)
    assert F.shape == (len(X_test), 32) and F.dtype == np.float64
    assert (F >= 0).all()  # ReLU features
    proba = cnn.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(cnn.predict(X_test), cnn.classes_[proba.argmax(1)])
    assert list(cnn.get_feature_names_out()[:2]) == ["cnnfeatureextractor0", "cnnfeatureextractor1"]


def test_cnn_features_separate_classes_in_frechet_distance(cnn, digits):
    X_train, X_test, y_train, y_test = digits
    F_train, F_test = cnn.transform(X_train), cnn.transform(X_test)
    same = frechet_distance(F_train[y_train == 3], F_test[y_test == 3])
    other = frechet_distance(F_train[y_train == 3], F_test[y_test == 8])
    assert same < 0.5 * other


def test_cnn_is_reproducible_and_keeps_global_rng(digits):
    X_train, X_test, y_train, _ = digits
    state = torch.random.get_rng_state()
    a = CNNFeatureExtractor(n_hidden=8, max_epochs=1, random_state=3).fit(X_train, y_train)
    assert torch.equal(state, torch.random.get_rng_state())
    b = CNNFeatureExtractor(n_hidden=8, max_epochs=1, random_state=3).fit(X_train, y_train)
    np.testing.assert_array_equal(a.transform(X_test), b.transform(X_test))
    c = CNNFeatureExtractor(n_hidden=8, max_epochs=1, random_state=4).fit(X_train, y_train)
    assert not np.allclose(a.transform(X_test), c.transform(X_test))


def test_cnn_rejects_bad_shapes(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="not a square image: pass image_shape"):
        CNNFeatureExtractor(max_epochs=0).fit(X_train[:, :60], y_train)
    with pytest.raises(ValueError, match=r"image_shape=\(4, 4\) does not match X with 64"):
        CNNFeatureExtractor(image_shape=(4, 4), max_epochs=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match="too small for 3 pooling blocks"):
        CNNFeatureExtractor(n_filters=(4, 4, 4, 4)[:3], image_shape=(2, 32), max_epochs=0).fit(
            X_train, y_train
        )
    with pytest.raises(ValueError, match="single class"):
        CNNFeatureExtractor(max_epochs=0).fit(X_train, np.zeros(len(X_train)))
    cnn = CNNFeatureExtractor(image_shape=(4, 16), max_epochs=0).fit(X_train, y_train)
    assert cnn.image_shape_ == (4, 16)
    with pytest.raises(ValueError, match="64 features"):
        cnn.transform(X_train[:, :10])
