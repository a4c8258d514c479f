"""CNNFeatureExtractor: classification, features, reproducibility, shapes, verbose bar."""

import numpy as np
import pytest
import torch

from sklearn_lravae._feature_extractor import CNNFeatureExtractor
from sklearn_lravae.metrics import CNNFeatureExtractor as PublicCNNFeatureExtractor
from sklearn_lravae.metrics import frechet_distance


def test_public_name():
    assert PublicCNNFeatureExtractor is CNNFeatureExtractor


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
    with pytest.raises(ValueError, match="1 class"):
        CNNFeatureExtractor(max_epochs=0).fit(X_train, np.zeros(len(X_train)))
    cnn = CNNFeatureExtractor(image_shape=(4, 16), max_epochs=0).fit(X_train, y_train)
    assert cnn.image_shape_ == (4, 16)
    with pytest.raises(ValueError, match="64 features"):
        cnn.transform(X_train[:, :10])


def test_cnn_loss_curve_and_verbose_progress_bar(digits, capsys):
    X_train, _, y_train, _ = digits
    cnn = CNNFeatureExtractor(
        n_filters=(4,), n_hidden=8, max_epochs=2, batch_size=700, verbose=1, random_state=0
    ).fit(X_train, y_train)
    assert len(cnn.loss_curve_) == 2 and all(np.isfinite(cnn.loss_curve_))
    err = capsys.readouterr().err
    # tqdm's own bar text: description, count of the 2 batches of each epoch
    assert "CNN epoch 1/2" in err and "CNN epoch 2/2" in err and "2/2 [" in err
    quiet = CNNFeatureExtractor(n_filters=(4,), n_hidden=8, max_epochs=1, random_state=0)
    quiet.fit(X_train, y_train)
    assert "CNN epoch" not in capsys.readouterr().err
