"""Training and encoding from compact input (issue 19): uint8 / int8 / bool one-hot
arrays and CSR matrices are kept as they are, converted per mini-batch, and give the
same network as their float32 equivalent."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae._likelihood import infer_n_categories, make_likelihood
from sklearn_lravae._loader import BatchSliceLoader
from sklearn_lravae._utils import batched_inference, dense_chunks, take_rows

from ._rst import DOCS, python_blocks

N_CAT, N_POS = 5, 6


def _onehot(n, seed=0, n_cat=N_CAT):
    idx = np.random.RandomState(seed).randint(0, n_cat, size=(n, N_POS))
    return np.eye(N_CAT, dtype=np.float32)[idx].reshape(n, -1)


X32 = _onehot(300)
WEIGHTS = np.random.RandomState(1).rand(300)
FORMS = {
    "uint8": lambda X: X.astype(np.uint8),
    "int8": lambda X: X.astype(np.int8),
    "bool": lambda X: X.astype(bool),
    "float64": lambda X: X.astype(np.float64),
    "csr uint8": lambda X: sp.csr_matrix(X.astype(np.uint8)),
    "csr float32": sp.csr_matrix,
    "csc float32": sp.csc_matrix,
    "csr_array uint8": lambda X: sp.csr_array(X.astype(np.uint8)),
}


def _vae(**kw):
    params = dict(
        n_components=3, likelihood="categorical", hidden_layer_sizes=(16,), max_epochs=2,
        batch_size=32, n_reference_samples=8, random_state=0,
    )  # fmt: skip
    return LRAVAETransformer(**{**params, **kw})


def _losses(vae):
    return [(h["train_loss"], h.get("valid_loss")) for h in vae.net_.history]


@pytest.fixture(scope="module")
def reference():
    return _vae(validation_fraction=0.2).fit(X32, sample_weight=WEIGHTS)


@pytest.mark.parametrize("form", list(FORMS))
def test_compact_input_trains_as_float32(form, reference):
    X = FORMS[form](X32)
    vae = _vae(validation_fraction=0.2).fit(X, sample_weight=WEIGHTS)
    assert _losses(vae) == _losses(reference)
    for name, p in vae.net_.module_.state_dict().items():
        assert torch.equal(p, reference.net_.module_.state_dict()[name]), name
    Z = vae.transform(X)
    assert Z.dtype == (np.float64 if form == "float64" else np.float32)
    np.testing.assert_array_equal(Z, reference.transform(X32))
    np.testing.assert_array_equal(vae.score_samples(X), reference.score_samples(X32))
    assert vae.net_.module_.likelihood.n_categories == N_CAT


def test_compact_partial_fit_over_chunks_as_float32():
    """Chunks of a larger set: the second lacks category 4 at every position."""
    chunks = [_onehot(200, seed=2), _onehot(150, seed=3, n_cat=N_CAT - 1)]
    assert not chunks[1].reshape(-1, N_POS, N_CAT)[..., -1].any()
    a, b = _vae(), _vae()
    for chunk in chunks:
        a.partial_fit(chunk, epochs=1)
        b.partial_fit(sp.csr_matrix(chunk.astype(np.uint8)), epochs=1)
    assert a.n_iter_ == b.n_iter_ == 2
    assert b.net_.module_.likelihood.n_categories == N_CAT
    assert _losses(a) == _losses(b)
    np.testing.assert_array_equal(a.transform(chunks[1]), b.transform(sp.csr_matrix(chunks[1])))


def test_memory_mapped_compact_array_trains_in_place(tmp_path, reference):
    """A read-only uint8 .npy opened with mmap_mode="r" trains as the float32 array."""
    np.save(tmp_path / "X.npy", X32.astype(np.uint8))
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    vae = _vae(validation_fraction=0.2).fit(X, sample_weight=WEIGHTS)
    assert _losses(vae) == _losses(reference)
    np.testing.assert_array_equal(vae.transform(X), reference.transform(X32))


def test_partial_fit_chunk_of_other_width_is_refused():
    vae = _vae().partial_fit(X32.astype(np.uint8), epochs=1)
    with pytest.raises(ValueError, match="features"):
        vae.partial_fit(np.zeros((10, (N_POS + 1) * N_CAT), dtype=np.uint8), epochs=1)


def test_validation_split_is_reproducible():
    a = _vae(validation_fraction=0.3).fit(X32)
    b = _vae(validation_fraction=0.3).fit(X32)
    assert _losses(a) == _losses(b)


def test_fit_makes_no_float_copy_of_compact_input():
    idx = np.random.RandomState(4).randint(0, 25, size=(20_000, 40))
    X = np.eye(25, dtype=np.uint8)[idx].reshape(20_000, -1)  # 20 MB; as float32 80 MB
    for data in (X, sp.csr_matrix(X)):
        tracemalloc.start()
        vae = _vae(max_epochs=1, batch_size=512).fit(data)
        vae.transform(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < X.size * 4 / 2, (type(data), peak)  # numpy's; torch's are not traced


def test_loader_keeps_compact_arrays_and_yields_float32():
    X = X32.astype(np.uint8)
    loader = BatchSliceLoader(Dataset({"x": X, "sample_weight": WEIGHTS}), batch_size=64)
    assert loader.X["x"].dtype == torch.uint8
    assert np.shares_memory(loader.X["x"].numpy(), X)
    batches = [b["x"] for b, _ in loader]
    assert all(b.dtype == torch.float32 for b in batches)
    np.testing.assert_array_equal(torch.cat(batches).numpy(), X32)
    sparse = BatchSliceLoader(Dataset(sp.csr_matrix(X)), batch_size=64, shuffle=True)
    torch.manual_seed(0)
    rows = torch.randperm(len(X))
    torch.manual_seed(0)
    got = torch.cat([b for b, _ in sparse]).numpy()
    np.testing.assert_array_equal(got, X32[rows.numpy()])


def test_take_rows_and_dense_chunks():
    X = X32.astype(np.uint8)
    index = torch.tensor([5, 0, 7])
    for a in (torch.as_tensor(X), sp.csr_matrix(X)):
        out = take_rows(a, index)
        assert out.dtype == torch.float32
        np.testing.assert_array_equal(out.numpy(), X32[[5, 0, 7]])
    chunks = list(dense_chunks(sp.csr_matrix(X), chunk_size=128))
    assert [c.shape[0] for c in chunks] == [128, 128, 44] and chunks[0].dtype == np.uint8
    np.testing.assert_array_equal(np.vstack(chunks), X)
    assert np.shares_memory(next(dense_chunks(X, 128)), X)  # dense chunks are views


def test_batched_inference_of_sparse_input():
    fn = lambda m, x: x.sum(1, keepdim=True)  # noqa: E731
    dense = batched_inference(torch.nn.Identity(), fn, X32, "cpu", batch_size=64)
    sparse = batched_inference(torch.nn.Identity(), fn, sp.csr_matrix(X32), "cpu", batch_size=64)
    np.testing.assert_array_equal(dense, sparse)
    assert float(dense.sum()) == 300 * N_POS


@pytest.mark.parametrize("to", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
def test_check_data_of_compact_input(to):
    cat = make_likelihood("categorical", N_POS * N_CAT, N_CAT)
    bad = X32.astype(np.uint8)
    bad[-1, 1] = 1  # two tokens at position 0 of the last row
    cat.check_data(to(X32.astype(np.uint8)))
    with pytest.raises(ValueError, match="n_categories=5"):
        cat.check_data(to(bad))
    bern = make_likelihood("bernoulli", N_POS * N_CAT)
    bern.check_data(to(X32.astype(bool)))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        bern.check_data(to(bad * 2))


def test_infer_n_categories_checks_every_chunk():
    X = np.vstack([X32] * 60).astype(np.uint8)  # 18,000 rows: two check chunks
    assert infer_n_categories(X) == infer_n_categories(sp.csr_matrix(X)) == N_CAT
    X[-1, :] = 0  # invalid only in the second chunk
    with pytest.raises(ValueError, match="could not find a block size"):
        infer_n_categories(X)
    with pytest.raises(ValueError, match="could not find a block size"):
        infer_n_categories(sp.csr_matrix(X))


def test_invalid_compact_input_is_refused_at_fit():
    bad = sp.csr_matrix(np.full((10, N_POS * N_CAT), 2, dtype=np.uint8))
    with pytest.raises(ValueError, match="bernoulli"):
        _vae(likelihood="bernoulli").fit(bad)


def test_selfies_sparse_and_uint8_output_train_as_float32_onehot():
    pytest.importorskip("rdkit")
    from sklearn_lravae.chem import SelfiesVectorizer

    smiles = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "OCC(N)C", "C1CC1", "CC#N", "CCCl"] * 8
    vec = SelfiesVectorizer().fit(smiles)
    onehot = vec.transform(smiles)
    sparse = vec.set_params(output="sparse").transform(smiles)
    compact = vec.set_params(output="onehot", dtype=np.uint8).transform(smiles)
    assert sp.issparse(sparse) and compact.dtype == np.uint8
    ref = _vae(batch_size=16).fit(onehot)
    for X in (sparse, compact):
        vae = _vae(batch_size=16).fit(X)
        assert _losses(vae) == _losses(ref)
        np.testing.assert_array_equal(vae.transform(X), ref.transform(onehot))


def test_docs_scale_training_code_runs():
    """docs/scale_training.rst: compact input, partial_fit over file chunks, dask vectorising
    (the last block only when dask.dataframe imports: dask is not a dependency)."""
    pytest.importorskip("rdkit")
    blocks = python_blocks(DOCS / "scale_training.rst")
    assert len(blocks) == 3 and "map_partitions" in blocks[2]
    namespace = {}
    for block in blocks[:2]:
        exec(compile(block, "scale_training.rst", "exec"), namespace)
    assert namespace["vae"].n_iter_ == 6
    assert namespace["vae"].net_.module_.likelihood.n_categories == namespace["vec"].n_tokens_
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.dataframe")  # needs pyarrow too
    with dask.config.set(scheduler="synchronous"):
        exec(compile(blocks[2], "scale_training.rst", "exec"), namespace)
    assert int(namespace["counts"]["rows"].sum()) == 3000 - len(namespace["vec"].dropped_indices_)
