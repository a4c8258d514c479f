"""Retraining pieces: rank weights, the reference around the queries, retrain()."""

import numpy as np
import pytest

from sklearn_lravae.reference import GaussianMixtureReference, MixtureReference, NormalReference
from sklearn_lravae.search import rank_weights
from sklearn_lravae.search._retrain import retrain, retraining_reference


def test_rank_weights():
    w = rank_weights([3.0, np.nan, 1.0, 2.0], k=0.1)
    assert np.argmax(w) == 0 and np.argmin(w) == 1
    np.testing.assert_allclose(w.mean(), 1.0)
    # w_i ∝ 1 / (k N + rank_i), rank 0 = best, NaN last
    ranks = np.array([0, 3, 2, 1])
    expected = 1.0 / (0.1 * 4 + ranks)
    np.testing.assert_allclose(w, expected / expected.mean())


def test_rank_weights_sharpness_and_ties():
    values = np.arange(10.0)
    sharp, flat = rank_weights(values, k=1e-3), rank_weights(values, k=100.0)
    assert sharp[-1] / sharp.sum() > 0.3  # most of the weight on the best object
    np.testing.assert_allclose(flat, 1.0, rtol=0.05)  # nearly uniform
    assert np.all(np.diff(sharp) > 0)
    tied = rank_weights([1.0, 1.0, 0.0], k=1.0)
    assert tied[0] == tied[1] > tied[2]  # ties share one rank


def test_rank_weights_do_not_depend_on_list_order():
    """Unlabelled rows (NaN) all get the same weight wherever they sit (issue 18)."""
    values = np.array([0.5, np.nan, 0.9, np.nan, np.nan, 0.1, np.nan])
    w = rank_weights(values, k=1e-3)
    assert np.ptp(w[np.isnan(values)]) == 0.0
    perm = np.random.RandomState(0).permutation(len(values))
    np.testing.assert_allclose(rank_weights(values[perm], k=1e-3), w[perm])
    # ranks are the number of strictly better values: 0.9 -> 0, 0.5 -> 1, 0.1 -> 2, NaN -> 3
    expected = 1.0 / (1e-3 * 7 + np.array([1, 3, 0, 3, 3, 2, 3]))
    np.testing.assert_allclose(w, expected / expected.mean())


def test_retraining_reference_mixes_queries_and_broad_component():
    queried = np.array([[0.0, 1.0], [2.0, -1.0]])
    ref = retraining_reference(queried, reference_scale=0.3, broad_scale=2.0, broad_weight=0.25)
    assert isinstance(ref, MixtureReference)
    gmm, broad = ref.components
    assert isinstance(gmm, GaussianMixtureReference) and isinstance(broad, NormalReference)
    np.testing.assert_array_equal(np.asarray(gmm.means), queried)
    assert gmm.scale == 0.3 and broad.scale == 2.0
    np.testing.assert_allclose(ref.weights, [0.75, 0.25])


@pytest.mark.parametrize(
    "n_queries, broad_weight, kinds, weights",
    [
        (0, 0.5, ["NormalReference"], [1.0]),  # no queries: all the broad component
        (0, 0.0, ["NormalReference"], [1.0]),
        (3, 1.0, ["NormalReference"], [1.0]),
        (3, 0.0, ["GaussianMixtureReference"], [1.0]),
    ],
)
def test_retraining_reference_edge_cases(n_queries, broad_weight, kinds, weights):
    ref = retraining_reference(
        np.zeros((n_queries, 2)), reference_scale=0.3, broad_scale=2.0, broad_weight=broad_weight
    )
    assert [type(c).__name__ for c in ref.components] == kinds
    np.testing.assert_allclose(np.asarray(ref.weights) / np.sum(ref.weights), weights)


class _RecordingVAE:
    def __init__(self):
        self.calls = []
        self.params = {}

    def set_params(self, **params):
        self.params.update(params)
        return self

    def partial_fit(self, X, sample_weight=None, epochs=None):
        self.calls.append((X, sample_weight, epochs))
        return self


class _Codec:
    """training_data keeps the objects that are not None, as LatentCodec does."""

    def __init__(self):
        self.vae = _RecordingVAE()

    def training_data(self, objects):
        keep = [i for i, o in enumerate(objects) if o is not None]
        return np.array([objects[i] for i in keep], dtype=float), keep


@pytest.mark.parametrize("weight_k", [None, 1e-3])
def test_retrain_trains_on_kept_objects_with_their_rank_weights(weight_k):
    codec = _Codec()
    objects = [[0.0], None, [2.0], [3.0]]
    values = np.array([1.0, 5.0, np.nan, 3.0])
    ref = NormalReference(scale=2.0)
    retrain(codec, objects, values, reference=ref, epochs=4, weight_k=weight_k)
    assert codec.vae.params == {"reference": ref}
    ((X, w, epochs),) = codec.vae.calls
    np.testing.assert_array_equal(X, [[0.0], [2.0], [3.0]])
    assert epochs == 4
    if weight_k is None:
        assert w is None
    else:  # ranked among all values (the dropped object included), then subset
        np.testing.assert_allclose(w, rank_weights(values, weight_k)[[0, 2, 3]])
        assert w[2] > w[0] > w[1]  # value 3 > value 1 > NaN
