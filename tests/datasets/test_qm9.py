"""The bundled QM9 data set: file integrity, licence, load_qm9 and its subsets."""

import hashlib
import importlib.resources

import pytest

from sklearn_lravae.datasets import load_qm9

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
