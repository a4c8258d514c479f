"""Tests of sklearn_lravae.datasets: bundled QM9, SMILES CSV reader, IDX reader."""

import gzip
import hashlib
import importlib.resources

import numpy as np
import pytest

from sklearn_lravae.datasets import load_idx, load_mnist, load_qm9, load_smiles_csv

QM9_SHA256 = "a800c8b0e8b2be35b17be8547aca19ecba1860daf3918bd27d2281631b58e7bc"


@pytest.fixture(scope="module")
def qm9():
    return load_qm9()


def test_bundled_qm9_file_and_licence():
    data = importlib.resources.files("sklearn_lravae.datasets") / "data"
    assert hashlib.sha256((data / "qm9.csv.gz").read_bytes()).hexdigest() == QM9_SHA256
    licence = (data / "LICENSE-QM9.txt").read_text()
    assert "Apache License" in licence and "aspuru-guzik-group/selfies" in licence


def test_load_qm9_all(qm9):
    assert qm9.shape == (133_885,) and qm9.dtype == object
    assert qm9[:5].tolist() == ["C", "N", "O", "C#C", "C#N"]
    assert all(isinstance(s, str) and s for s in qm9[:1000])


def test_load_qm9_subset_reproducible(qm9):
    a, idx = load_qm9(n_samples=50, random_state=3, return_index=True)
    b = load_qm9(n_samples=50, random_state=3)
    c = load_qm9(n_samples=50, random_state=4)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert len(set(idx)) == 50
    assert a.tolist() == qm9[idx].tolist()
    with pytest.raises(ValueError, match="n_samples=200000 is larger than the 133885"):
        load_qm9(n_samples=200_000)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        load_qm9(n_samples=0)


def test_load_smiles_csv_moses_style_gz(tmp_path):
    path = tmp_path / "train.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("SMILES\nCCO\nc1ccccc1\nCC(=O)O\n")
    assert load_smiles_csv(path).tolist() == ["CCO", "c1ccccc1", "CC(=O)O"]
    sub, idx = load_smiles_csv(path, n_samples=2, random_state=0, return_index=True)
    assert sub.tolist() == np.array(["CCO", "c1ccccc1", "CC(=O)O"], dtype=object)[idx].tolist()


def test_load_smiles_csv_zinc_style_strips_quoted_newlines(tmp_path):
    path = tmp_path / "zinc.csv"
    path.write_text('smiles,logP,qed,SAS\n"CCO\n",-0.0014,0.4,1.9\n"c1ccccc1\n",1.68,0.44,1.0\n')
    assert load_smiles_csv(path).tolist() == ["CCO", "c1ccccc1"]
    assert load_smiles_csv(path, column="logP").tolist() == ["-0.0014", "1.68"]


def test_load_smiles_csv_columns_and_errors(tmp_path):
    path = tmp_path / "mols.tsv"
    path.write_text("id\tstructure\n1\tCCN\n2\tCCC\n")
    with pytest.raises(ValueError, match=r"no column named.*columns: \['id', 'structure'\]"):
        load_smiles_csv(path, delimiter="\t")
    assert load_smiles_csv(path, column="structure", delimiter="\t").tolist() == ["CCN", "CCC"]
    with pytest.raises(ValueError, match="column='smi' is not in"):
        load_smiles_csv(path, column="smi", delimiter="\t")
    single = tmp_path / "single.csv"
    single.write_text("mol\nCO\n")
    assert load_smiles_csv(single).tolist() == ["CO"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_smiles_csv(empty)
    with pytest.raises(ValueError, match="not an existing file"):
        load_smiles_csv(tmp_path / "missing.csv")


def test_load_idx_and_mnist_directory(tmp_path):
    images = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(range(256)) * 7
    images = images[: 16 + 2 * 784]
    labels = bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 3])
    for name, data in (
        ("train-images-idx3-ubyte.gz", images),
        ("train-labels-idx1-ubyte.gz", labels),
    ):
        with gzip.open(tmp_path / name, "wb") as fh:
            fh.write(data)
    raw = load_idx(tmp_path / "train-images-idx3-ubyte.gz")
    assert raw.shape == (2, 28, 28) and raw.dtype == np.uint8 and raw[0, 0, 5] == 5
    X, y = load_mnist(tmp_path)
    assert X.shape == (2, 784) and X.dtype == np.float32
    assert X.max() <= 1.0 and X[0, 255] == pytest.approx(1.0)
    assert y.tolist() == [7, 3]
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist(tmp_path, kind="test")
