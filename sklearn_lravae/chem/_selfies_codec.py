"""SELFIES token codec: the per-chunk encode / decode loops and the one-hot expansion.

The loops run in joblib workers for :class:`~sklearn_lravae.chem.SelfiesVectorizer`
(``n_jobs``), so they are plain module-level functions over lists of strings
that return compact arrays. The module imports nothing from the package: it is
sent to the workers by value (:func:`map_chunks`), so that they import NumPy,
RDKit and SELFIES only, not ``sklearn_lravae`` (whose import loads torch, about
5 CPU seconds and 330 MB per worker).
"""

import contextlib
import math
import numbers
import re
import sys

import numpy as np
import selfies as sf
from joblib import Parallel, delayed, effective_n_jobs
from rdkit import Chem, RDLogger

__all__ = ["one_hot"]

# the tokens of a well-formed SELFIES string, in order (selfies.split_selfies, in C)
_TOKEN = re.compile(r"\[[^\]]*\]|\.")
_CHUNK = 10_000  # molecules per task: bounds the per-chunk Python lists


def index_dtype(n_tokens):
    """Smallest unsigned integer dtype that holds the indices ``0 .. n_tokens - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_tokens - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def check_dtype(dtype, name):
    """``np.dtype(dtype)`` if it is a bool or numeric dtype; ValueError naming ``name``."""
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out is None or out.kind not in "biuf":
        raise ValueError(
            f"{name} must be a bool or numeric NumPy dtype such as numpy.float32, numpy.uint8 "
            f"or bool, got {dtype!r}."
        )
    return out


@contextlib.contextmanager
def _rdkit_quiet():
    """Silence RDKit's parser messages (restored on exit)."""
    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


class _LocalIds(dict):
    """Token -> id (1, 2, ... in order of first appearance); unseen tokens get the next id."""

    def __missing__(self, token):
        self[token] = value = len(self) + 1
        return value


def encode_chunk(smiles, canonicalize=True):
    """Canonicalise, SELFIES-encode and tokenise a list of SMILES.

    Parameters
    ----------
    smiles : list of str or None
        SMILES strings (None or empty strings are invalid).
    canonicalize : bool, default=True
        Write each molecule as its RDKit canonical SMILES before encoding;
        False encodes the strings as they are.

    Returns
    -------
    tokens : list of str
        The chunk's tokens in order of first appearance; id ``j + 1`` is
        ``tokens[j]``.
    ids : ndarray of shape (n, max_length)
        Token ids of each molecule, 0 after its end (and for invalid rows), in
        the smallest unsigned dtype that holds them.
    lengths : ndarray of int32 of shape (n,)
        Number of tokens of each molecule; -1 for SMILES RDKit cannot parse
        (or empty ones), -2 for molecules SELFIES cannot encode.

    Examples
    --------
    >>> from sklearn_lravae.chem._selfies_codec import encode_chunk
    >>> tokens, ids, lengths = encode_chunk(["OCC", "not a smiles"])
    >>> tokens, ids.tolist(), lengths.tolist()
    (['[C]', '[O]'], [[1, 1, 2], [0, 0, 0]], [3, -1])
    """
    ids = _LocalIds()
    lookup, findall = ids.__getitem__, _TOKEN.findall
    flat, lengths = [], []
    with _rdkit_quiet():
        for smi in smiles:
            if not smi:
                lengths.append(-1)
                continue
            if canonicalize:
                mol = Chem.MolFromSmiles(smi)
                if mol is None or mol.GetNumAtoms() == 0:
                    lengths.append(-1)
                    continue
                smi = Chem.MolToSmiles(mol)
            try:
                encoded = sf.encoder(smi)
            except sf.EncoderError:
                encoded = None
            if not encoded:
                lengths.append(-2)
                continue
            start = len(flat)
            flat.extend(map(lookup, findall(encoded)))
            lengths.append(len(flat) - start)
    lengths = np.array(lengths, dtype=np.int32)
    width = int(lengths.max(initial=0))
    out = np.zeros((len(lengths), width), dtype=index_dtype(len(ids) + 1))
    out[np.arange(width) < lengths[:, None]] = flat  # row-major order = order of `flat`
    return list(ids), out, lengths


def decode_chunk(selfies):
    """RDKit canonical SMILES of a list of SELFIES strings (the decoded string if RDKit fails).

    Examples
    --------
    >>> from sklearn_lravae.chem._selfies_codec import decode_chunk
    >>> decode_chunk(["[O][C][C]", "[C][=C]"])
    ['CCO', 'C=C']
    """
    out = []
    with _rdkit_quiet():
        for s in selfies:
            smi = sf.decoder(s) if s else ""
            mol = Chem.MolFromSmiles(smi) if smi else None
            if mol is None or mol.GetNumAtoms() == 0:
                out.append(smi)
            else:
                out.append(Chem.MolToSmiles(mol))
    return out


def one_hot(indices, n_tokens, *, dtype=np.float32):
    """Expand token indices to flattened one-hot rows.

    The inverse of ``argmax`` per position: row ``i`` gets a 1 in column
    ``p * n_tokens + indices[i, p]`` for every position ``p``. Use it on a
    mini-batch of the compact output of
    ``SelfiesVectorizer(output="indices")`` to get the rows of
    ``output="onehot"`` without expanding the whole data set.

    Parameters
    ----------
    indices : array-like of int of shape (n_samples, n_positions)
        Token indices in ``[0, n_tokens - 1]``.
    n_tokens : int
        Tokens per position (``SelfiesVectorizer.n_tokens_``).
    dtype : numpy dtype, default=numpy.float32
        Bool or numeric dtype of the output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_positions * n_tokens)
        One-hot rows.

    Examples
    --------
    >>> from sklearn_lravae.chem import one_hot
    >>> one_hot([[1, 0], [2, 1]], 3)
    array([[0., 1., 0., 1., 0., 0.],
           [0., 0., 1., 0., 1., 0.]], dtype=float32)
    """
    dtype = check_dtype(dtype, "dtype")
    if not isinstance(n_tokens, numbers.Integral) or isinstance(n_tokens, bool) or n_tokens < 1:
        raise ValueError(f"n_tokens must be an integer >= 1 (the alphabet size), got {n_tokens!r}.")
    idx = np.asarray(indices)
    if idx.ndim != 2 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(
            "indices must be a 2-D integer array of shape (n_samples, n_positions), got "
            f"shape {idx.shape} and dtype {idx.dtype}; pass SelfiesVectorizer(output='indices') "
            "output."
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n_tokens):
        raise ValueError(
            f"indices must lie in [0, n_tokens - 1] = [0, {n_tokens - 1}], got values in "
            f"[{idx.min()}, {idx.max()}]; pass the n_tokens_ of the vectoriser that made them."
        )
    n, n_positions = idx.shape
    out = np.zeros((n, n_positions * n_tokens), dtype=dtype)
    out.reshape(-1)[np.arange(n * n_positions, dtype=np.intp) * n_tokens + idx.ravel()] = 1
    return out


def map_chunks(func, items, n_jobs):
    """``func`` over chunks of ``items`` (joblib processes when ``n_jobs`` > 1)."""
    n_jobs = effective_n_jobs(n_jobs)
    size = _CHUNK if n_jobs == 1 else max(1, min(_CHUNK, math.ceil(len(items) / (4 * n_jobs))))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if n_jobs == 1 or len(chunks) < 2:
        return [func(c) for c in chunks]
    try:  # joblib's loky workers unpickle with cloudpickle when it is installed
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])  # see the docstring
    except ImportError:  # pragma: no cover - plain pickle: by reference, still correct
        pass
    return Parallel(n_jobs=n_jobs)(delayed(func)(c) for c in chunks)


def merge_chunks(results, n):
    """One ``(tokens, ids, lengths)`` triple from the chunks of :func:`encode_chunk`."""
    tokens, position = [], {}
    remaps = []
    for chunk_tokens, _, _ in results:
        for t in chunk_tokens:
            if t not in position:
                position[t] = len(tokens) + 1
                tokens.append(t)
        remaps.append(np.array([0, *(position[t] for t in chunk_tokens)]))
    width = max((r[1].shape[1] for r in results), default=0)
    ids = np.zeros((n, width), dtype=index_dtype(len(tokens) + 1))
    lengths = np.empty(n, dtype=np.int32)
    start = 0
    for (_, chunk_ids, chunk_lengths), remap in zip(results, remaps):
        stop = start + len(chunk_lengths)
        ids[start:stop, : chunk_ids.shape[1]] = remap.astype(ids.dtype)[chunk_ids]
        lengths[start:stop] = chunk_lengths
        start = stop
    return tokens, ids, lengths
