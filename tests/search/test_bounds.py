"""The search box follows the encoded data by default (bounds="data")."""

import numpy as np
import pytest

from sklearn_lravae.search import LatentBayesSearch
from sklearn_lravae.search._space import data_box

from .conftest import Distance


def test_data_box_quantiles_margin_and_fallback():
    rng = np.random.RandomState(0)
    Z = rng.standard_normal((2000, 3)) * [1.0, 5.0, 0.1]
    box = data_box(Z)
    lo, hi = np.quantile(Z, [0.005, 0.995], axis=0)
    np.testing.assert_allclose(box[:, 0], lo - 0.1 * (hi - lo))
    np.testing.assert_allclose(box[:, 1], hi + 0.1 * (hi - lo))
    assert box[1, 1] > 12 and box[2, 1] < 0.4  # wide where the data are wide
    Z[:5] = np.nan
    np.testing.assert_allclose(data_box(Z)[0], box[0], rtol=0.05)  # NaN rows ignored
    np.testing.assert_array_equal(data_box(np.full((3, 2), np.nan)), [[-3, 3], [-3, 3]])


def test_default_box_comes_from_initial_and_train_objects(digits_vae, digits, target):
    X0, train = digits[1][:20], digits[0][:300]
    search = LatentBayesSearch(digits_vae, Distance(target), n_calls=2, random_state=0)
    search.fit(X0, train_objects=train)
    Z = np.vstack([search.latents_[: search.n_initial_], digits_vae.transform(train)])
    expected = data_box(Z)
    np.testing.assert_allclose(search._proposer.box, expected)
    assert [d.bounds for d in search.space_.dimensions] == [tuple(b) for b in expected]
    for h in search.history_:  # proposals inside the box
        assert np.all(h["latent"] >= expected[:, 0] - 1e-9)
        assert np.all(h["latent"] <= expected[:, 1] + 1e-9)
    fixed = LatentBayesSearch(digits_vae, Distance(target), n_calls=1, bounds=2.0).fit(X0)
    np.testing.assert_array_equal(fixed._proposer.box, np.tile([-2.0, 2.0], (4, 1)))


def test_box_is_recomputed_after_retraining_and_restored_on_resume(
    digits_vae, digits, target, tmp_path
):
    X0 = digits[1][:20]
    kw = dict(n_calls=4, retrain_every=2, retrain_epochs=2, random_state=0)
    search = LatentBayesSearch(digits_vae, Distance(target), checkpoint=tmp_path, **kw).fit(X0)
    assert search.n_retrain_rounds_ == 2
    np.testing.assert_allclose(search._proposer.box, data_box(search.latents_))
    resumed = LatentBayesSearch(digits_vae, Distance(target), checkpoint=tmp_path, **kw)
    resumed.fit(X0, resume=True)
    np.testing.assert_allclose(resumed._proposer.box, search._proposer.box)


@pytest.mark.parametrize("bounds", ["box", -1.0])
def test_bad_bounds(digits_vae, digits, target, bounds):
    with pytest.raises(ValueError, match="bounds"):
        LatentBayesSearch(digits_vae, Distance(target), n_calls=1, bounds=bounds).fit(digits[1][:3])
