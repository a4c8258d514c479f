"""IDX files (MNIST's format): load_idx and load_mnist."""

import gzip

import numpy as np
import pytest

from sklearn_lravae.datasets import load_idx, load_mnist


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
