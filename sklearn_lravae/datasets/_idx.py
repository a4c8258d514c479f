"""Readers for IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed."""

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["load_idx", "load_mnist"]

_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def load_idx(path):
    """Read one IDX file (``.gz`` or uncompressed) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        File in the IDX format of LeCun et al.

    Returns
    -------
    array : ndarray
        Array with the file's dimensions and dtype.

    Raises
    ------
    ValueError
        If the file is not an IDX file or is truncated.

    Examples
    --------
    >>> import gzip, tempfile, os, numpy as np
    >>> from sklearn_lravae.datasets import load_idx
    >>> f = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> with gzip.open(f, "wb") as fh:
    ...     _ = fh.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> load_idx(f)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: header says {expected} bytes of data, "
            f"found {len(data) - offset}."
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=offset)
        .reshape(dims)
        .astype(dtype.newbyteorder("="))
    )


def load_mnist(directory, kind="train", return_X_y=True, normalize=True):
    """Load MNIST or Fashion-MNIST from a directory of IDX files.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``
        (e.g. ``../shared/data/mnist``).
    kind : {"train", "test"}, default="train"
        Which split.
    return_X_y : bool, default=True
        Return ``(X, y)``; this loader has no other mode yet.
    normalize : bool, default=True
        Scale pixels to [0, 1] float32 (flattened to 784 features); otherwise
        return uint8.

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        Images, one flattened row each.
    y : ndarray of shape (n_samples,)
        Labels 0-9.

    Examples
    --------
    >>> from sklearn_lravae.datasets import load_mnist
    >>> load_mnist("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileNotFoundError: ...
    """
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}.")
    prefix = "train" if kind == "train" else "t10k"
    arrays = []
    for part in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        stem = os.path.join(directory, f"{prefix}-{part}")
        path = next((p for p in (stem + ".gz", stem) if os.path.exists(p)), None)
        if path is None:
            raise FileNotFoundError(
                f"No {prefix}-{part}[.gz] in {directory!r}: point directory at a folder "
                "with the MNIST / Fashion-MNIST IDX files."
            )
        arrays.append(load_idx(path))
    X, y = arrays
    X = X.reshape(len(X), -1)
    if normalize:
        X = X.astype(np.float32) / 255.0
    return X, y.astype(np.int64)
