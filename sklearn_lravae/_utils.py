"""Small helpers shared across the package (one implementation each).

- :func:`atomic_write`: write a file so that a crash leaves the old or the new
  content, never a mix (models, checkpoints);
- :func:`check_device`: refuse a torch device that cannot be used here, with
  the fix in the message (estimators, command line);
- :func:`batched_inference`: apply a torch function to an array in eval mode,
  without gradients, in mini-batches (VAE and feature extractor);
- :func:`take_rows` and :func:`dense_chunks`: float32 mini-batches and dense
  row chunks of compact data (``uint8`` / ``bool`` arrays, CSR matrices), so
  that no float copy of a whole data set is ever made.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "CHECK_CHUNK",
    "INFERENCE_BATCH",
    "atomic_write",
    "batched_inference",
    "check_device",
    "dense_chunks",
    "take_rows",
]

INFERENCE_BATCH = 4096
#: Rows per chunk when data are checked chunk by chunk (:func:`dense_chunks`).
CHECK_CHUNK = 16384


def atomic_write(path, write, *, make_parents=False):
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file, then ``os.replace``.

    The temporary file lives in the same folder (so the rename is atomic), is
    flushed and fsync'ed before the rename, and is removed if ``write`` fails.

    Parameters
    ----------
    path : str or path-like
        Destination.
    write : callable
        ``write(fh)`` with a binary file handle open for writing.
    make_parents : bool, default=False
        Create missing parent folders; otherwise a missing folder raises.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    FileNotFoundError
        If the parent folder does not exist and ``make_parents`` is False.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_lravae._utils import atomic_write
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = atomic_write(folder / "a.txt", lambda fh: fh.write(b"hello"))
    >>> p.read_bytes(), sorted(x.name for x in folder.iterdir())
    (b'hello', ['a.txt'])
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {path}: the folder {path.parent} does not exist; create it first."
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def check_device(device, option="device"):
    """Return ``torch.device(device)``, or raise a ValueError saying what to use instead.

    Parameters
    ----------
    device : str or torch.device
        Requested device.
    option : str, default="device"
        How the caller names the setting (``"device"``, ``"--device"``) in messages.

    Returns
    -------
    device : torch.device

    Examples
    --------
    >>> from sklearn_lravae._utils import check_device
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a torch device; use 'cpu', 'cuda', 'cuda:<index>' or 'mps' ...
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"{option}={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:<index>' "
            f"or 'mps' ({exc})."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{option}={device!r}, but this torch build or machine has no CUDA GPU "
                "(torch.cuda.is_available() is False); use device 'cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{option}={device!r}, but only {torch.cuda.device_count()} CUDA device(s) "
                "are visible."
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{option}={device!r}, but MPS is not available here; use device 'cpu'.")
    return dev


def batched_inference(module, fn, A, device, batch_size=INFERENCE_BATCH):
    """``fn(module, batch)`` over float32 batches of ``A`` in eval mode, without gradients.

    The module's training flag is restored afterwards. Returns the
    concatenated outputs as a NumPy array (``(0,)`` for empty ``A``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_lravae._utils import batched_inference
    >>> out = batched_inference(torch.nn.Identity(), lambda m, x: m(x) * 2,
    ...                         np.ones((5, 2)), "cpu", batch_size=2)
    >>> out.shape, float(out.sum())
    ((5, 2), 20.0)

    ``A`` may be compact (``uint8``, ``bool``) or a SciPy sparse matrix: each
    batch is converted (densified) on its own.
    """
    was_training = module.training
    module.eval()
    n, out = A.shape[0], None
    try:
        with torch.no_grad():
            for start in range(0, max(n, 1), batch_size):
                a = A[start : start + batch_size]
                a = a.toarray() if sp.issparse(a) else a
                a = torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32), device=device)
                b = fn(module, a).cpu().numpy()
                if out is None:  # filled in place: no list of batches, no concatenated copy
                    out = np.empty((n, *b.shape[1:]), dtype=b.dtype)
                out[start : start + len(b)] = b
    finally:
        module.train(was_training)
    return out if out is not None else np.empty((0,))


def take_rows(a, index):
    """Rows ``index`` (a tensor of ints) of a tensor or CSR matrix, as a float32 tensor.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, torch
    >>> from sklearn_lravae._utils import take_rows
    >>> X = np.eye(3, dtype=np.uint8)
    >>> take_rows(torch.as_tensor(X), torch.tensor([2, 0])).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    >>> take_rows(sp.csr_matrix(X), torch.tensor([2, 0])).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if sp.issparse(a):
        return torch.from_numpy(a[index.numpy()].toarray()).to(torch.float32)
    return a[index].to(torch.float32)


def dense_chunks(X, chunk_size=CHECK_CHUNK):
    """Consecutive row blocks of ``X`` as dense arrays (views for dense ``X``).

    Memory stays bounded by one chunk (a CSR chunk is densified in its own
    dtype), so a check of a large compact data set never copies all of it.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from sklearn_lravae._utils import dense_chunks
    >>> [c.shape for c in dense_chunks(sp.csr_matrix(np.eye(5)), chunk_size=2)]
    [(2, 5), (2, 5), (1, 5)]
    """
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        yield chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk)
