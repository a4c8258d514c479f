"""Objects <-> latents: as_input, robust_transform, dropped_indices, LatentCodec."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.search._encode import (
    LatentCodec,
    as_input,
    dropped_indices,
    robust_transform,
)


def test_as_input():
    strings = as_input(["CCO", "CN"])
    assert strings.dtype == object and strings.tolist() == ["CCO", "CN"]
    rows = as_input([[1, 2], [3, 4]])
    assert rows.dtype == np.float64 and rows.shape == (2, 2)
    assert as_input([]).shape == (0,)


def test_robust_transform_bisects_around_failures():
    calls = []

    def transform(X):
        calls.append(len(X))
        if np.any(X < 0):
            raise ValueError("negative")
        return X * 2

    objects = [[float(i)] for i in range(16)]
    objects[5] = [-1.0]
    objects[11] = [-2.0]
    rows, keep = robust_transform(transform, objects)
    expected = [i for i in range(16) if i not in (5, 11)]
    assert keep == expected
    np.testing.assert_array_equal(rows.ravel(), 2.0 * np.array(expected))
    assert len(calls) <= 1 + 2 * 2 * 4  # O(k log n), not one call per object
    # nothing transformable, nothing at all
    rows, keep = robust_transform(transform, [[-1.0], [-2.0]])
    assert keep == [] and rows.shape == (0, 0)
    assert robust_transform(transform, [])[1] == []


def test_robust_transform_lets_other_errors_through():
    def transform(X):
        raise TypeError("not a ValueError")

    with pytest.raises(TypeError, match="not a ValueError"):
        robust_transform(transform, [[1.0]])


class _Dropper(TransformerMixin, BaseEstimator):
    """Drops rows with a negative entry without raising; reports them like SelfiesVectorizer."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        bad = np.any(X < 0, axis=1)
        self.dropped_indices_ = np.flatnonzero(bad)
        return X[~bad]


class _SilentDropper(_Dropper):
    def transform(self, X):
        out = super().transform(X)
        del self.dropped_indices_
        return out


def test_robust_transform_matches_rows_through_dropped_indices():
    est = _Dropper()
    objects = [[1.0], [-1.0], [2.0], [-3.0]]
    rows, keep = robust_transform(est.transform, objects, est)
    assert keep == [0, 2] and rows.ravel().tolist() == [1.0, 2.0]
    pipe = make_pipeline(MinMaxScaler(), _Dropper())
    assert dropped_indices(pipe) is None  # no transform yet
    pipe.fit([[0.0], [1.0]]).transform(np.array(objects))
    assert dropped_indices(pipe).tolist() == [1, 3]
    assert dropped_indices(MinMaxScaler()) is None
    silent = _SilentDropper()
    with pytest.raises(RuntimeError, match="returned 2 rows for 4 objects.*dropped_indices_"):
        robust_transform(silent.transform, objects, silent)


class _RejectNegative(TransformerMixin, BaseEstimator):
    """Passes rows through; raises ValueError on a negative entry (like a too long SMILES)."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        if np.any(X < 0):
            raise ValueError("negative pixel")
        return X

    def inverse_transform(self, X):
        return X


@pytest.fixture(scope="module")
def guarded_codec(digits):
    pipe = Pipeline(
        [
            ("guard", _RejectNegative()),
            ("vae", LRAVAETransformer(2, likelihood="bernoulli", max_epochs=1, random_state=0)),
        ]
    ).fit(digits[0][:200])
    return LatentCodec(pipe)


def test_codec_encode_decode_and_lre(guarded_codec, digits):
    codec = guarded_codec
    assert codec.n_components == 2 and codec.n_features_in == 64
    assert codec.vae is codec.estimator[-1] and isinstance(codec.upstream, Pipeline)
    X = digits[1][:3].copy()
    X[1, 0] = -1.0  # rejected by the guard: a NaN row, the others encoded
    Z = codec.encode(list(X))
    assert np.isnan(Z[1]).all() and np.isfinite(Z[[0, 2]]).all()
    np.testing.assert_allclose(Z[[0, 2]], codec.estimator.transform(X[[0, 2]]), atol=1e-6)
    objects = codec.decode(Z[[0, 2]])
    assert [type(o) for o in objects] == [np.ndarray] * 2 and objects[0].shape == (64,)
    lre = codec.lre(Z)
    assert np.isnan(lre[1]) and np.all(lre[[0, 2]] >= 0)
    np.testing.assert_allclose(
        lre[[0, 2]], codec.vae.latent_reconstruction_error(Z[[0, 2]], decode="mode")
    )


def test_codec_training_data_skips_empty_and_rejected_objects(guarded_codec, digits):
    X = digits[1][:4].copy()
    X[2, 5] = -0.5
    objects = [X[0], None, X[2], X[3]]
    data, keep = guarded_codec.training_data(objects)
    assert keep == [0, 3]
    np.testing.assert_array_equal(data, X[[0, 3]])
    # a bare VAE has no upstream steps: every non-empty object is its own row
    bare = LatentCodec(guarded_codec.vae)
    assert bare.upstream is None and bare.n_features_in == 64
    data, keep = bare.training_data(objects)
    assert keep == [0, 2, 3] and data.shape == (3, 64)


def test_codec_fitted_copy(digits_vae, digits):
    codec = LatentCodec.fitted_copy(digits_vae, list(digits[0][:10]))
    assert codec.estimator is not digits_vae and codec.vae.n_iter_ == digits_vae.n_iter_
    np.testing.assert_array_equal(
        codec.encode(list(digits[1][:3])), digits_vae.transform(digits[1][:3])
    )
    unfitted = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=1, random_state=0)
    fitted = LatentCodec.fitted_copy(unfitted, list(digits[0][:50]))
    assert fitted.vae.n_iter_ == 1 and not hasattr(unfitted, "net_")
    with pytest.raises(TypeError, match="last step is not an LRAVAETransformer"):
        LatentCodec.fitted_copy(make_pipeline(digits_vae, MinMaxScaler()), list(digits[0][:5]))


class _CountingVectorizer(TransformerMixin, BaseEstimator):
    """Strings -> 6 character codes; counts the strings it encodes; '!' raises ValueError."""

    def fit(self, X, y=None):
        self.n_encoded_ = 0
        return self

    def transform(self, X):
        X = list(X)
        if any("!" in s for s in X):
            raise ValueError("unknown character '!'")
        self.n_encoded_ += len(X)
        return np.array([[(ord(c) % 7) / 7.0 for c in s.ljust(6)[:6]] for s in X])

    def inverse_transform(self, X):
        return ["C" * 6] * len(X)


@pytest.fixture
def string_codec():
    words = ["CCO", "CCN", "c1ccc", "OCCO", "NCCN", "CC(=O)O", "CCCC", "C#N"] * 4
    pipe = make_pipeline(
        _CountingVectorizer(),
        LRAVAETransformer(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0),
    )
    return LatentCodec(pipe.fit(words)), pipe


def test_codec_memoises_the_upstream_features_of_strings(string_codec, monkeypatch):
    codec, pipe = string_codec
    vec = pipe[0]
    objects = ["CCO", "OCCO", "C!", "CCO", "CCCC"]
    n0 = vec.n_encoded_
    Z = codec.encode(objects)
    assert vec.n_encoded_ - n0 == 3  # the distinct encodable strings, once each
    np.testing.assert_allclose(Z[[0, 1, 3, 4]], pipe.transform(["CCO", "OCCO", "CCO", "CCCC"]))
    assert np.all(np.isnan(Z[2]))  # rejected, as without the memo
    n1 = vec.n_encoded_
    np.testing.assert_array_equal(codec.encode(objects), Z)  # again: no vectoriser call
    data, keep = codec.training_data(["CCCC", "", "OCCO", "C!"])
    assert vec.n_encoded_ == n1 and keep == [0, 2]
    np.testing.assert_array_equal(data, vec.transform(["CCCC", "OCCO"]))
    # the VAE changes (retraining), the features do not: new latents from the memo
    pipe[-1].partial_fit(vec.transform(["CCO", "OCCO"] * 8), epochs=3)
    n2 = vec.n_encoded_
    Z2 = codec.encode(objects)
    assert vec.n_encoded_ == n2
    np.testing.assert_allclose(Z2[[0, 1]], pipe.transform(["CCO", "OCCO"]))
    assert not np.allclose(Z2[[0, 1]], Z[[0, 1]])
    # bounded: beyond MEMO_SIZE objects are encoded every time, still correctly
    monkeypatch.setattr("sklearn_lravae.search._encode.MEMO_SIZE", len(codec._memo) + 1)
    fresh = ["NCCN", "C#N", "CC(=O)O"]
    Zf = codec.encode(fresh)
    np.testing.assert_allclose(Zf, pipe.transform(fresh))
    n3 = vec.n_encoded_
    np.testing.assert_array_equal(codec.encode(fresh), Zf)
    assert vec.n_encoded_ - n3 == 2  # one of the three was memoised


def test_codec_does_not_memoise_numeric_objects(guarded_codec, digits):
    guarded_codec.encode(list(digits[1][:5]))
    assert guarded_codec._memo == {}
