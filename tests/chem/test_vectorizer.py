"""SelfiesVectorizer at scale: compact outputs, n_jobs, one_hot, the dask recipe, sklearn API."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import selfies as sf
from rdkit import Chem
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks

from sklearn_lravae.chem import SelfiesVectorizer, one_hot
from sklearn_lravae.datasets import load_qm9

from .._rst import python_blocks

BAD = [None, "not a smiles", "C1CC", "CCCCCCCCCCCCCCCCCCCCCCCCCCCC", "C[Xe]"]


@pytest.fixture(scope="module")
def qm9():
    return list(load_qm9(n_samples=400, random_state=0))


@pytest.fixture(scope="module")
def fitted(qm9):
    return SelfiesVectorizer().fit(qm9)


def _canon(smiles):
    return [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles]


def _dense(X, vec):
    """Any output form as the float32 one-hot array."""
    if sp.issparse(X):
        return X.toarray().astype(np.float32)
    if X.shape[1] == vec.n_positions_:
        return one_hot(X, vec.n_tokens_)
    return X.astype(np.float32)


# ------------------------------------------------------------------ output forms
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_output_forms_are_the_same_encoding_and_round_trip(fitted, qm9, dtype):
    vec = clone(fitted).set_params(dtype=dtype).fit(qm9)
    P, K = vec.n_positions_, vec.n_tokens_
    dense = vec.set_params(output="onehot").transform(qm9)
    sparse = vec.set_params(output="sparse").transform(qm9)
    idx = vec.set_params(output="indices").transform(qm9)
    assert dense.dtype == dtype and dense.shape == (400, P * K)
    assert sp.isspmatrix_csr(sparse) and sparse.dtype == dtype and sparse.shape == (400, P * K)
    assert sparse.nnz == 400 * P  # one entry per position, padding included
    assert idx.dtype == np.uint8 and idx.shape == (400, P)
    np.testing.assert_array_equal(sparse.toarray(), dense)
    np.testing.assert_array_equal(one_hot(idx, K, dtype=dtype), dense)
    np.testing.assert_array_equal(dense.reshape(400, P, K).argmax(-1), idx)
    expected = _canon(qm9)
    for X in (dense, sparse, idx, dense.reshape(400, P, K)):
        assert vec.inverse_transform(X).tolist() == expected
    np.testing.assert_array_equal(vec.to_selfies(idx), vec.to_selfies(dense))
    # fit_transform gives the same as fit + transform for every form
    for output, X in [("onehot", dense), ("indices", idx)]:
        np.testing.assert_array_equal(clone(vec).set_params(output=output).fit_transform(qm9), X)
    assert (clone(vec).set_params(output="sparse").fit_transform(qm9) != sparse).nnz == 0


def test_default_output_unchanged(fitted, qm9):
    X = fitted.transform(qm9[:5])
    assert fitted.output == "onehot" and X.dtype == np.float32 and isinstance(X, np.ndarray)
    assert X.shape == (5, fitted.n_positions_ * fitted.n_tokens_)
    np.testing.assert_array_equal(X.reshape(5, fitted.n_positions_, -1).sum(-1), 1.0)


def test_memory_of_compact_outputs(fitted, qm9):
    vec = clone(fitted).fit(qm9)
    n, P, K = len(qm9), vec.n_positions_, vec.n_tokens_
    assert vec.set_params(output="indices").transform(qm9).nbytes == n * P
    assert vec.set_params(output="onehot").transform(qm9).nbytes == n * P * K * 4
    assert vec.set_params(dtype=np.uint8).transform(qm9).nbytes == n * P * K
    S = vec.set_params(output="sparse", dtype=bool).transform(qm9)
    assert S.data.nbytes + S.indices.nbytes + S.indptr.nbytes == n * P * 5 + (n + 1) * 4
    # float32 one-hot / uint8 indices = 4 * n_tokens
    assert (n * P * K * 4) // (n * P) == 4 * K > 50


def test_large_alphabet_gives_uint16_indices():
    alphabet = ["[C]", "[O]", *(f"[Tok{i}]" for i in range(300))]
    vec = SelfiesVectorizer(alphabet=alphabet, max_length=4, output="indices").fit(["CO"])
    idx = vec.transform(["OC", "CCO"])
    assert vec.n_tokens_ == 303 and idx.dtype == np.uint16
    assert idx.tolist() == [[1, 2, 0, 0], [1, 1, 2, 0]]
    assert vec.inverse_transform(idx).tolist() == ["CO", "CCO"]
    np.testing.assert_array_equal(
        vec.inverse_transform(vec.set_params(output="sparse").transform(["OC"])), ["CO"]
    )


# ------------------------------------------------------------------ dropped rows
@pytest.mark.parametrize("output", ["onehot", "sparse", "indices"])
def test_dropped_and_truncated_rows_with_every_output(qm9, output):
    smiles = qm9[:30] + BAD
    vec = SelfiesVectorizer(max_length=12, on_error="drop", on_long="drop", output=output)
    X = vec.fit_transform(smiles)
    long_rows = [i for i, s in enumerate(qm9[:30]) if len(_tokens(s)) > 12]
    assert 0 < len(long_rows) < 30
    # None, unparseable, unclosed ring, too long; "C[Xe]" is valid and kept
    assert vec.dropped_indices_.tolist() == [*long_rows, 30, 31, 32, 33]
    kept = [s for i, s in enumerate(smiles) if i not in set(vec.dropped_indices_)]
    assert X.shape[0] == len(kept) == 35 - len(long_rows) - 4
    assert vec.inverse_transform(X).tolist() == _canon(kept)
    assert "[Xe]" in vec.alphabet_
    # every call records its own dropped rows
    Xt = vec.transform(["CCO", "xx", "C" * 20, "CCl"])  # QM9 has no chlorine
    assert vec.dropped_indices_.tolist() == [1, 2, 3] and Xt.shape[0] == 1
    vec.set_params(on_long="truncate")
    Xt = vec.transform(["CCO", "C" * 20])
    assert vec.truncated_indices_.tolist() == [1] and vec.dropped_indices_.tolist() == []
    assert vec.inverse_transform(Xt).tolist() == ["CCO", "C" * 12]


def _tokens(smiles):
    return list(sf.split_selfies(sf.encoder(Chem.MolToSmiles(Chem.MolFromSmiles(smiles)))))


def test_all_rows_dropped_keeps_the_width_for_every_output():
    vec = SelfiesVectorizer(on_long="drop", on_error="drop").fit(["CCO", "CCN"])
    for output, width in [("onehot", 12), ("sparse", 12), ("indices", 3)]:
        X = vec.set_params(output=output).transform(["CCCCCCCCCC", "xx"])
        assert X.shape == (0, width) and vec.dropped_indices_.tolist() == [0, 1]
        assert vec.inverse_transform(X).shape == (0,)


def test_invalid_rows_raise_with_compact_output():
    vec = SelfiesVectorizer(output="indices")
    with pytest.raises(ValueError, match=r"cannot parse.*indices \[1, 3\].*on_error='drop'"):
        vec.fit(["CCO", "C1CC", "CCN", "not a smiles"])
    vec.fit(["CCO"])
    with pytest.raises(ValueError, match=r"outside the fitted alphabet: indices \[1\]"):
        vec.transform(["CO", "CF"])


# ------------------------------------------------------------------ n_jobs
def test_n_jobs_gives_identical_results(qm9):
    smiles = qm9 + BAD
    kw = dict(on_error="drop", on_long="drop", output="indices")
    one = SelfiesVectorizer(**kw).fit(smiles[::2])
    two = SelfiesVectorizer(**kw, n_jobs=2).fit(smiles[::2])
    assert one.alphabet_.tolist() == two.alphabet_.tolist()
    assert one.n_positions_ == two.n_positions_
    X1, X2 = one.transform(smiles), two.transform(smiles)
    np.testing.assert_array_equal(X1, X2)
    assert one.dropped_indices_.tolist() == two.dropped_indices_.tolist()
    assert len(one.dropped_indices_) >= 3  # at least the three unparseable rows
    assert two.inverse_transform(X2).tolist() == one.inverse_transform(X1).tolist()


# ------------------------------------------------------------------ canonicalize
def test_canonicalize_false_encodes_the_strings_as_given(fitted, qm9):
    canonical = _canon(qm9)
    fast = clone(fitted).set_params(canonicalize=False, output="indices").fit(canonical)
    ref = clone(fitted).set_params(output="indices").fit(canonical)
    np.testing.assert_array_equal(fast.transform(canonical), ref.transform(canonical))
    # a non-canonical SMILES: other tokens, the same molecule
    a, b = ref.transform(["OCC"]), fast.transform(["OCC"])
    assert a.tolist() != b.tolist()
    assert fast.inverse_transform(b).tolist() == ref.inverse_transform(a).tolist() == ["CCO"]
    fast.set_params(on_error="drop").transform(["CCO", "not a smiles", ""])
    assert fast.dropped_indices_.tolist() == [1, 2]
    with pytest.raises(ValueError, match="SELFIES cannot encode: indices \\[1\\]"):
        fast.set_params(on_error="raise").transform(["CCO", "C1CC"])


# ------------------------------------------------------------------ inverse input
def test_inverse_transform_indices_edge_cases(fitted):
    P = fitted.n_positions_
    pad_only = np.zeros((1, P), dtype=np.uint8)
    first_atom = next(t for t in fitted.alphabet_[1:] if "Ring" not in t and "Branch" not in t)
    assert fitted.to_selfies(pad_only).tolist() == [first_atom]
    # token indices act as their one-hot rows (same empty-row rule)
    onehot = one_hot(pad_only, fitted.n_tokens_)
    assert fitted.inverse_transform(pad_only).tolist() == fitted.inverse_transform(onehot).tolist()
    expected = Chem.MolToSmiles(Chem.MolFromSmiles(sf.decoder(first_atom)))
    assert fitted.inverse_transform(pad_only.astype(np.int64)).tolist() == [expected]
    with pytest.raises(ValueError, match=r"outside \[0, n_tokens_ - 1\]"):
        fitted.inverse_transform(np.full((1, P), fitted.n_tokens_))
    with pytest.raises(ValueError, match=r"outside \[0, n_tokens_ - 1\]"):
        fitted.inverse_transform(np.full((1, P), -1))
    with pytest.raises(ValueError, match=f"n_positions_ = {P} integer token indices"):
        fitted.inverse_transform(np.zeros((1, P)))  # float array of the indices' width
    with pytest.raises(ValueError, match="X has 3 features"):
        fitted.inverse_transform(np.zeros((1, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"X must be a 2-D array .* got shape \(5,\)"):
        fitted.inverse_transform(np.zeros(5, dtype=np.uint8))


def test_inverse_transform_is_blockwise_for_long_inputs(fitted, qm9, monkeypatch):
    import sklearn_lravae.chem._vectorizer as module

    monkeypatch.setattr(module, "_ROWS", 7)  # many blocks, last one partial
    X = fitted.transform(qm9[:50])
    S = sp.csr_matrix(X)
    assert fitted.inverse_transform(S).tolist() == _canon(qm9[:50])
    np.testing.assert_array_equal(fitted.to_selfies(X), fitted.to_selfies(X.astype(bool)))
    idx = clone(fitted).set_params(output="indices").fit(qm9).transform(qm9[:50])
    np.testing.assert_array_equal(idx, X.reshape(50, fitted.n_positions_, -1).argmax(-1))


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "params, match",
    [
        ({"output": "dense"}, "'output' parameter"),
        ({"output": None}, "'output' parameter"),
        ({"dtype": str}, "dtype must be a bool or numeric NumPy dtype"),
        ({"dtype": "not a dtype"}, "dtype must be a bool or numeric NumPy dtype"),
        ({"dtype": object}, "dtype must be a bool or numeric NumPy dtype"),
        ({"n_jobs": 0}, "n_jobs=0"),
        ({"n_jobs": "2"}, "'n_jobs' parameter"),
        ({"canonicalize": "yes"}, "'canonicalize' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        SelfiesVectorizer(**params).fit(["CCO"])
    vec = SelfiesVectorizer().fit(["CCO"]).set_params(**params)
    with pytest.raises(ValueError, match=match):
        vec.transform(["CCO"])


def test_feature_names_follow_the_output(fitted):
    vec = clone(fitted).fit(["CO"])
    assert vec.get_feature_names_out().tolist()[:3] == ["pos0_[nop]", "pos0_[C]", "pos0_[O]"]
    assert vec.set_params(output="indices").get_feature_names_out().tolist() == ["pos0", "pos1"]
    pd = pytest.importorskip("pandas")
    df = vec.set_output(transform="pandas").transform(["OC", "C"])
    assert isinstance(df, pd.DataFrame) and df.columns.tolist() == ["pos0", "pos1"]
    assert df.to_numpy().tolist() == [[1, 2], [1, 0]]


# ------------------------------------------------------------------ one_hot
def test_one_hot_values_and_errors():
    X = one_hot(np.array([[2, 0, 1]], dtype=np.uint8), 3, dtype=np.uint8)
    assert X.dtype == np.uint8 and X.tolist() == [[0, 0, 1, 1, 0, 0, 0, 1, 0]]
    assert one_hot(np.zeros((0, 4), dtype=np.int64), 5).shape == (0, 20)
    assert one_hot([[1]], 2, dtype=bool).tolist() == [[False, True]]
    with pytest.raises(ValueError, match=r"indices must lie in \[0, n_tokens - 1\] = \[0, 2\]"):
        one_hot([[0, 3]], 3)
    with pytest.raises(ValueError, match=r"indices must lie in"):
        one_hot([[-1]], 3)
    with pytest.raises(ValueError, match="indices must be a 2-D integer array"):
        one_hot([0, 1], 3)
    with pytest.raises(ValueError, match="indices must be a 2-D integer array"):
        one_hot([[0.0, 1.0]], 3)
    with pytest.raises(ValueError, match="n_tokens must be an integer >= 1"):
        one_hot([[0]], 0)
    with pytest.raises(ValueError, match="n_tokens must be an integer >= 1"):
        one_hot([[0]], 2.0)
    with pytest.raises(ValueError, match="dtype must be a bool or numeric"):
        one_hot([[0]], 2, dtype=object)


# ------------------------------------------------------------------ docs/scale.rst
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scale.rst"


def test_docs_page_code_runs_and_dask_recipe_matches_transform(qm9, tmp_path, monkeypatch):
    """Every code block of docs/scale.rst, the dask recipe on the synchronous scheduler."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.bag")
    blocks = python_blocks(DOCS)
    assert len(blocks) == 3 and "map_partitions" in blocks[2]
    shards = [qm9[:150], qm9[150:160] + ["not a smiles"] + qm9[160:280], qm9[280:]]
    (tmp_path / "smiles").mkdir()
    for i, shard in enumerate(shards):
        (tmp_path / "smiles" / f"part-{i}.smi").write_text("\n".join(shard) + "\n")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with dask.config.set(scheduler="synchronous"):
        for block in blocks:
            exec(compile(block, str(DOCS), "exec"), namespace)
    smiles = [s for shard in shards for s in shard]
    ref = SelfiesVectorizer(on_error="drop", output="indices")
    expected = ref.fit_transform(smiles)
    vec, indices = namespace["vec"], namespace["indices"]
    assert vec.alphabet_.tolist() == ref.alphabet_.tolist()
    assert vec.n_positions_ == ref.n_positions_
    assert indices.dtype == np.uint8 and indices.shape == (len(smiles) - 1, ref.n_positions_)
    np.testing.assert_array_equal(indices, expected)
    assert ref.dropped_indices_.tolist() == [160]
    assert namespace["idx2"].shape == namespace["idx"].shape == (2000, namespace["idx"].shape[1])


# ------------------------------------------------------------------ sklearn API
# parametrize_with_checks yields no check for an estimator whose input is not
# a 2-D numeric array (two_d_array=False: sklearn skips it with SkipTestWarning),
# so the checks that do not need numeric data run directly, and the data checks
# that matter are redone with SMILES below.
API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_estimators_unfitted",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_transformers_unfitted",
    "check_get_feature_names_out_error",
]
ESTIMATORS = [
    SelfiesVectorizer(),
    SelfiesVectorizer(output="indices", n_jobs=2),
    SelfiesVectorizer(output="sparse", dtype=bool),
]


@pytest.mark.parametrize("check", API_CHECKS)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["onehot", "indices", "sparse"])
def test_sklearn_api_checks(estimator, check):
    getattr(estimator_checks, check)(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["onehot", "indices", "sparse"])
def test_sklearn_data_checks_with_smiles(estimator, qm9):
    smiles = qm9[:60]
    est = clone(estimator)
    params = repr(est.get_params())
    with pytest.raises(NotFittedError):
        est.transform(smiles)
    assert est.fit(smiles) is est
    assert repr(est.get_params()) == params  # fit does not change parameters
    X = _dense(est.transform(smiles), est)
    # idempotent fit, pickling, subset and sample-order invariance
    np.testing.assert_array_equal(_dense(est.fit(smiles).transform(smiles), est), X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_dense(loaded.transform(smiles), loaded), X)
    parts = [_dense(est.transform(smiles[i : i + 7]), est) for i in range(0, 60, 7)]
    np.testing.assert_array_equal(np.vstack(parts), X)
    order = np.random.RandomState(0).permutation(60)
    np.testing.assert_array_equal(_dense(est.transform([smiles[i] for i in order]), est), X[order])
    # read-only input arrays
    ro = np.array(smiles, dtype=object)
    ro.setflags(write=False)
    np.testing.assert_array_equal(_dense(est.transform(ro), est), X)


def test_identical_rows_are_decoded_once(monkeypatch):
    import sklearn_lravae.chem._vectorizer as mod

    vec = SelfiesVectorizer().fit(["CCO", "c1ccccc1", "CN"])
    X = vec.transform(["CCO", "CN", "CCO", "CCO", "c1ccccc1"])
    seen = []
    real = mod.decode_chunk
    monkeypatch.setattr(mod, "decode_chunk", lambda chunk: seen.extend(chunk) or real(chunk))
    assert vec.inverse_transform(X).tolist() == ["CCO", "CN", "CCO", "CCO", "c1ccccc1"]
    assert len(seen) == 3
