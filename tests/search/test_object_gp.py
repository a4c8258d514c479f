"""``TanimotoGP``: a surrogate of the decoded objects, and the search that uses it."""

import numpy as np
import pytest

from sklearn_lravae.search import LatentBayesSearch, TanimotoGP, _object_gp, tanimoto_kernel
from sklearn_lravae.search._object_gp import FeatureMemo

from .conftest import Distance


def test_kernel_is_the_jaccard_similarity_of_bit_vectors():
    rng = np.random.RandomState(0)
    A = (rng.uniform(size=(7, 30)) < 0.3).astype(np.uint8)
    B = (rng.uniform(size=(5, 30)) < 0.3).astype(np.uint8)
    K = tanimoto_kernel(A, B)
    for i in range(7):
        for j in range(5):
            a, b = set(np.flatnonzero(A[i])), set(np.flatnonzero(B[j]))
            assert K[i, j] == pytest.approx(len(a & b) / len(a | b))
    S = tanimoto_kernel(A)
    np.testing.assert_allclose(np.diag(S), 1.0)
    assert np.linalg.eigvalsh(S).min() > -1e-9  # positive semi-definite


def test_kernel_of_all_zero_rows():
    K = tanimoto_kernel(np.array([[0, 0], [1, 0]]))
    assert K.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tanimoto_kernel(np.zeros((1, 2)), np.zeros((1, 2))).tolist() == [[0.0]]


def test_sparse_product_gives_the_dense_kernel():
    # rows of count fingerprints with a real-valued block, sparse enough for the CSR path
    rng = np.random.RandomState(0)
    A = np.where(rng.uniform(size=(300, 500)) < 0.03, rng.randint(1, 4, size=(300, 500)), 0)
    A = np.hstack([A, rng.uniform(0, 3, size=(300, 4))]).astype(np.float32)
    B = A[:40] + (rng.uniform(size=(40, 504)) < 0.01)
    assert A.size >= _object_gp._SPARSE_MIN_SIZE  # the sparse path is taken
    dense = (A @ B.T).astype(float)
    na, nb = (A.astype(float) ** 2).sum(1), (B.astype(float) ** 2).sum(1)
    np.testing.assert_allclose(
        tanimoto_kernel(A, B), dense / (na[:, None] + nb[None, :] - dense), rtol=1e-5
    )
    np.testing.assert_allclose(_object_gp._inner(A, A), A @ A.T, rtol=1e-5)


def _bits(n, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.uniform(size=(n, 40)) < 0.25).astype(float)


def test_noise_is_small_for_a_noiseless_function_and_grows_with_noise():
    X = _bits(80)
    f = X[:, :6].sum(axis=1)
    clean = TanimotoGP().fit(X, f)
    noisy = TanimotoGP().fit(X, f + np.random.RandomState(1).normal(scale=2.0, size=80))
    assert clean.noise_ < 0.05 < noisy.noise_
    np.testing.assert_allclose(clean.predict(X), f, atol=0.3 * f.std())  # near interpolation


def test_predictions_generalise_and_std_shrinks_near_the_data():
    X = _bits(150)
    y = X[:, :8].sum(axis=1) - X[:, 8:12].sum(axis=1)
    gp = TanimotoGP().fit(X[:100], y[:100])
    mean, std = gp.predict(X[100:], return_std=True)
    assert np.corrcoef(mean, y[100:])[0, 1] > 0.6
    _, std_train = gp.predict(X[:100], return_std=True)
    assert std_train.mean() < std.mean()
    mean_c, cov = gp.predict(X[100:], return_cov=True)
    np.testing.assert_allclose(mean_c, mean)
    np.testing.assert_allclose(np.sqrt(np.clip(np.diag(cov), 0, None)), std, atol=1e-6)


def test_source_offset_learns_that_one_source_is_worse():
    X = _bits(120)
    src = np.arange(120) % 2
    y = X[:, :8].sum(axis=1) - 3.0 * src  # source-1 objects are systematically worse
    gp = TanimotoGP(source_variance=1.0).fit(X[:100], y[:100], sources=src[:100])
    Xq = X[100:]
    as0 = gp.predict(Xq, sources=np.zeros(20))
    as1 = gp.predict(Xq, sources=np.ones(20))
    assert np.all(as0 - as1 > 1.5)  # the same object, predicted lower as a source-1 object
    err = np.abs(gp.predict(Xq, sources=src[100:]) - y[100:]).mean()
    plain = TanimotoGP(source_variance=0.0).fit(X[:100], y[:100], sources=src[:100])
    np.testing.assert_allclose(plain.predict(Xq, sources=np.ones(20)), plain.predict(Xq))
    assert err < np.abs(plain.predict(Xq) - y[100:]).mean()  # the offset helps predictions
    _, cov = gp.predict(Xq, return_cov=True, sources=src[100:])
    _, std = gp.predict(Xq, return_std=True, sources=src[100:])
    np.testing.assert_allclose(np.sqrt(np.clip(np.diag(cov), 0, None)), std, atol=1e-6)


def test_bad_input():
    gp = TanimotoGP()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        gp.fit(np.zeros((3, 2)), [1.0, 2.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        gp.fit(np.eye(2), [1.0, np.nan])
    gp.fit(np.eye(2), [1.0, 2.0])
    with pytest.raises(ValueError, match="cannot both"):
        gp.predict(np.eye(2), return_std=True, return_cov=True)
    with pytest.raises(ValueError, match="one 0 or 1 per row"):
        gp.predict(np.eye(2), sources=[0, 2])
    with pytest.raises(ValueError, match="'source_variance' parameter of TanimotoGP"):
        TanimotoGP(source_variance=-1.0).fit(np.eye(2), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(n, n_features\)"):
        TanimotoGP(features=lambda objs: np.zeros(len(objs))).featurize(["a", "b"])


def test_feature_memo_computes_each_object_once_and_keeps_order():
    calls = []

    def features(objs):
        calls.append(list(objs))
        return np.array([[len(o), o.count("C")] for o in objs])

    memo = FeatureMemo(features)
    first = memo(["CCO", "CN"])
    again = memo(["CN", "CCO", "CCC"])
    assert calls == [["CCO", "CN"], ["CCC"]]
    np.testing.assert_array_equal(again[:2], first[::-1])


def test_morgan_features_predict_similarity_to_a_molecule():
    from sklearn_lravae.chem import morgan_fingerprints, tanimoto_similarity
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=400, random_state=0))
    y = np.asarray(tanimoto_similarity(smiles[0])(smiles), dtype=float)
    gp = TanimotoGP(features=morgan_fingerprints)
    gp.fit(gp.featurize(smiles[1:300]), y[1:300])
    pred = gp.predict(gp.featurize(smiles[300:]))
    assert np.corrcoef(pred, y[300:])[0, 1] > 0.5


def _search(vae, target, **kw):
    kw = {
        "n_calls": 12,
        "batch_size": 3,
        "trust_region": True,
        "surrogate": TanimotoGP(),
        "random_state": 0,
        **kw,
    }
    return LatentBayesSearch(vae, Distance(target), retrain_every=None, **kw)


def test_an_object_surrogate_needs_a_trust_region(digits_vae, digits, target):
    with pytest.raises(ValueError, match="set trust_region=True"):
        _search(digits_vae, target, trust_region=False).fit(digits[1][1:11])


@pytest.fixture(scope="module")
def qm9_pipe():
    """A small SELFIES VAE (decodes are discrete: different latents, same molecule)."""
    from sklearn.pipeline import make_pipeline

    from sklearn_lravae import LRAVAETransformer
    from sklearn_lravae.chem import SelfiesVectorizer
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=300, random_state=0))
    vae = LRAVAETransformer(
        4,
        likelihood="categorical",
        hidden_layer_sizes=(64,),
        max_epochs=100,
        beta=0.01,
        random_state=0,
    )
    return make_pipeline(SelfiesVectorizer(), vae).fit(smiles), smiles


def test_evaluated_library_molecules_are_not_labelled_as_decodes(qm9_pipe):
    # the source labels the search gives the GP: initial and library objects 0, decodes 1
    from sklearn_lravae.chem import morgan_fingerprints, qed

    seen = []

    class Recording(TanimotoGP):
        def fit(self, X, y, sources=None):
            seen.append(None if sources is None else np.asarray(sources).copy())
            return super().fit(X, y, sources=sources)

    pipe, smiles = qm9_pipe
    gp = Recording(features=morgan_fingerprints, source_variance=1.0)
    s = LatentBayesSearch(
        pipe,
        qed,
        surrogate=gp,
        n_calls=30,
        batch_size=5,
        trust_region=True,
        train_candidates=True,
        vectorized=True,
        retrain_every=None,
        random_state=0,
    ).fit(smiles[:10], qed(smiles[:10]), train_objects=smiles[10:])
    library = set(smiles[10:])
    expected = [int(h["object"] not in library) for h in s.history_]
    last = seen[-1]  # the last fit saw all but the last round
    assert last[:10].tolist() == [0] * 10
    assert last[10:].tolist() == expected[: len(last) - 10]
    assert 0 < sum(expected) < len(expected)  # both library picks and decodes were evaluated


def test_decodes_already_evaluated_are_not_proposed_again(qm9_pipe):
    from sklearn_lravae.chem import morgan_fingerprints, qed

    pipe, smiles = qm9_pipe
    kw = dict(n_calls=24, batch_size=4, trust_region=True, vectorized=True, random_state=0)
    s = LatentBayesSearch(pipe, qed, surrogate=TanimotoGP(features=morgan_fingerprints), **kw)
    s.fit(smiles[:10], qed(smiles[:10]))  # the box of these 10 decodes to few molecules
    new = [h["object"] for h in s.history_]
    assert len(set(new)) == len(new) and not set(new) & set(smiles[:10])
    latent = LatentBayesSearch(pipe, qed, surrogate="GP", **kw).fit(smiles[:10], qed(smiles[:10]))
    new = [h["object"] for h in latent.history_]
    assert len(set(new)) < len(new)  # the latent GP re-proposes molecules it has seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_library_containing_the_target_is_found(digits_vae, digits, target, seed):
    # the latent GP finds it in 1 of these 3 runs (test_pool.py); the object GP in each
    X0, library = digits[1][1:11], np.vstack([digits[1][11:200], target])
    s = _search(digits_vae, target, n_calls=20, train_candidates=True, random_state=seed)
    s.fit(X0, train_objects=library)
    assert s.best_score_ == 0.0


def test_object_surrogate_search_resumes_to_the_same_run(digits_vae, digits, target, tmp_path):
    X0, library = digits[1][1:11], digits[1][11:200]
    full = _search(digits_vae, target, train_candidates=True).fit(X0, train_objects=library)
    ck = tmp_path / "ck"
    _search(digits_vae, target, n_calls=6, train_candidates=True, checkpoint=ck).fit(
        X0, train_objects=library
    )
    resumed = _search(digits_vae, target, train_candidates=True, checkpoint=ck)
    resumed.fit(X0, train_objects=library, resume=True)
    for a, b in zip(resumed.history_, full.history_, strict=True):
        np.testing.assert_array_equal(a["object"], b["object"])


def test_object_surrogate_starts_with_a_smaller_trust_region(digits_vae, digits, target):
    from sklearn_lravae.search._trust_region import OBJECT_LENGTH_INIT

    X0 = digits[1][1:11]
    lengths = {}
    for name, kw in {
        "object": {},
        "object, set": dict(trust_region_kwargs=dict(length_init=0.5)),
        "latent": dict(surrogate="GP"),
    }.items():
        s = _search(digits_vae, target, n_calls=2, **kw).fit(X0)
        lengths[name] = s._region.length_init
    assert lengths == {"object": OBJECT_LENGTH_INIT, "object, set": 0.5, "latent": 0.8}
    assert OBJECT_LENGTH_INIT == 0.2
