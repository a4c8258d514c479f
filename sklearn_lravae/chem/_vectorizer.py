"""``SelfiesVectorizer``: SMILES <-> SELFIES token arrays (one-hot, sparse or indices)."""

import numbers
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._selfies_codec import (
    check_dtype,
    decode_chunk,
    encode_chunk,
    index_dtype,
    map_chunks,
    merge_chunks,
    one_hot,
)
from ._smiles import check_smiles_list, format_indices

__all__ = ["SelfiesVectorizer"]

_ROWS = 8_192  # rows per block when building or reading arrays (bounds temporaries)


def _is_atom_token(token, pad_token):
    """True for SELFIES atom tokens (not padding, branch or ring tokens)."""
    return token != pad_token and "Branch" not in token and "Ring" not in token


class SelfiesVectorizer(TransformerMixin, BaseEstimator):
    """Encode SMILES as SELFIES token arrays (one-hot, sparse or indices), and back.

    Each molecule is parsed with RDKit, written as its canonical SMILES,
    translated to SELFIES (``selfies.encoder``) and split into tokens. Position
    ``p`` of a molecule is a one-hot vector over the alphabet; sequences shorter
    than ``n_positions_`` are filled with the padding token. The default output
    is the ``(n_samples, n_positions_ * n_tokens_)`` array that
    ``LRAVAETransformer(likelihood="categorical")`` models with one softmax
    per position. Because every SELFIES string decodes to a valid molecule,
    :meth:`inverse_transform` turns *any* array of per-position scores (for
    instance decoded latent points) into a valid molecule.

    For large data sets, ``output="indices"`` returns the token index of each
    position instead, ``(n_samples, n_positions_)`` of ``uint8`` (up to 256
    tokens; ``uint16`` beyond): ``n_tokens_ * 4`` times smaller than the
    float32 one-hot array (:func:`~sklearn_lravae.chem.one_hot` expands a
    mini-batch of it), and ``output="sparse"`` a SciPy CSR matrix like
    ``OneHotEncoder``; ``n_jobs`` spreads the work over processes. See
    :doc:`/scale`.

    Parameters
    ----------
    max_length : int or None, default=None
        Number of token positions. None learns it at :meth:`fit` as the
        length of the longest training molecule. Molecules longer than this
        (at fit when ``max_length`` is given, at :meth:`transform` always) are
        handled according to ``on_long``.
    alphabet : list of str or None, default=None
        SELFIES tokens (e.g. ``["[C]", "[O]", "[=O]"]``). None learns the
        tokens of the training molecules. Fix it (together with
        ``max_length``) when the same encoding must be used for every fold
        of a cross-validation; the padding token is added when missing.
    on_long : {"raise", "drop", "truncate"}, default="raise"
        Policy for molecules with more than ``max_length`` tokens: raise a
        ``ValueError`` listing their indices, drop them (indices in
        ``dropped_indices_``), or keep the first ``max_length`` tokens (a
        different but still valid molecule; indices in ``truncated_indices_``).
    on_error : {"raise", "drop"}, default="raise"
        Policy for invalid input: SMILES that RDKit cannot parse (or empty /
        missing ones), molecules SELFIES cannot encode, and, at
        :meth:`transform`, molecules with tokens outside the alphabet.
        ``"raise"`` raises a ``ValueError`` listing the offending indices,
        ``"drop"`` leaves those rows out of the output and records their
        indices in ``dropped_indices_``.
    pad_token : str, default="[nop]"
        Padding token (SELFIES' no-operation token, which the SELFIES decoder
        skips wherever it appears). Always column 0 of each position block.
    dtype : numpy dtype, default=numpy.float32
        Dtype of the one-hot values (``output="onehot"`` or ``"sparse"``), a
        numeric or bool dtype: ``numpy.uint8`` or ``bool`` take a quarter of
        the memory of float32. Not used by ``output="indices"``, whose dtype is
        the smallest unsigned integer that holds ``n_tokens_ - 1``.
    output : {"onehot", "sparse", "indices"}, default="onehot"
        What :meth:`transform` returns: the dense flattened one-hot array of
        shape ``(n_samples, n_positions_ * n_tokens_)``, the same as a
        ``scipy.sparse.csr_matrix``, or the token indices of shape
        ``(n_samples, n_positions_)`` (0 is padding). Rows, dropped rows and
        :meth:`inverse_transform` are the same for all three.
    canonicalize : bool, default=True
        Parse each SMILES with RDKit and encode its canonical SMILES, so that
        every way of writing a molecule gives the same tokens. False encodes
        the strings as given (no RDKit), about twice as fast: for data sets
        that are already canonical (e.g. MOSES, or SMILES canonicalised once
        and stored); other SMILES then give other, still valid, token
        sequences, and SMILES that SELFIES cannot parse count as "molecules
        SELFIES cannot encode" for ``on_error``.
    n_jobs : int or None, default=None
        Processes for the RDKit / SELFIES work of :meth:`fit`,
        :meth:`transform` and :meth:`inverse_transform` (joblib, chunks of
        molecules; the result does not depend on it). None means 1 unless in
        a ``joblib.parallel_config`` context; -1 means all cores. Starting
        the workers costs about a second, so it pays from a few thousand
        molecules.

    Attributes
    ----------
    alphabet_ : ndarray of str of shape (n_tokens,)
        Tokens; ``alphabet_[0]`` is ``pad_token``, the others are sorted.
    vocabulary_ : dict
        Token -> column index within a position block (the token index).
    n_tokens_ : int
        Alphabet size including the padding token (the ``n_categories`` of
        the categorical likelihood).
    n_positions_ : int
        Number of token positions (``max_length`` or the learned maximum).
    dropped_indices_ : ndarray of int
        Indices of the input rows left out by the latest :meth:`fit` or
        :meth:`transform` call (``on_error="drop"`` / ``on_long="drop"``).
    truncated_indices_ : ndarray of int
        Indices of the input rows truncated by the latest call
        (``on_long="truncate"``).

    See Also
    --------
    sklearn_lravae.LRAVAETransformer : Use with ``likelihood="categorical"``.
    sklearn_lravae.chem.one_hot : Expand token indices to one-hot rows (per mini-batch).

    Notes
    -----
    A molecule's output row depends only on the fitted alphabet and
    ``n_positions_``, so the same vectoriser can encode new molecules. Rows of
    :meth:`transform` correspond to the input rows except those listed in
    ``dropped_indices_``. For cross-validation fix ``alphabet`` and
    ``max_length`` (e.g. from a vectoriser fitted on all molecules) so every
    fold sees the same columns.

    Examples
    --------
    >>> from sklearn_lravae.chem import SelfiesVectorizer
    >>> vec = SelfiesVectorizer().fit(["CCO", "C1=CC=CC=C1", "CC(=O)O"])
    >>> X = vec.transform(["OCC", "c1ccccc1"])
    >>> X.shape, X.dtype
    ((2, 56), dtype('float32'))
    >>> vec.n_positions_, vec.n_tokens_
    (8, 7)
    >>> vec.inverse_transform(X).tolist()
    ['CCO', 'c1ccccc1']
    >>> idx = vec.set_params(output="indices").transform(["OCC", "c1ccccc1"])
    >>> idx.dtype, idx[0].tolist()
    (dtype('uint8'), [4, 4, 5, 0, 0, 0, 0, 0])
    >>> vec.inverse_transform(idx).tolist()
    ['CCO', 'c1ccccc1']
    """

    _parameter_constraints = {
        "max_length": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "alphabet": [None, "array-like"],
        "on_long": [StrOptions({"raise", "drop", "truncate"})],
        "on_error": [StrOptions({"raise", "drop"})],
        "pad_token": [str],
        "dtype": "no_validation",  # check_dtype
        "output": [StrOptions({"onehot", "sparse", "indices"})],
        "canonicalize": ["boolean"],
        "n_jobs": [None, numbers.Integral],
    }

    def __init__(
        self,
        max_length=None,
        *,
        alphabet=None,
        on_long="raise",
        on_error="raise",
        pad_token="[nop]",
        dtype=np.float32,
        output="onehot",
        canonicalize=True,
        n_jobs=None,
    ):
        self.max_length = max_length
        self.alphabet = alphabet
        self.on_long = on_long
        self.on_error = on_error
        self.pad_token = pad_token
        self.dtype = dtype
        self.output = output
        self.canonicalize = canonicalize
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ helpers
    def _check_params(self):
        self._validate_params()
        check_dtype(self.dtype, "dtype")
        if self.n_jobs == 0:
            raise ValueError("n_jobs=0 runs nothing; pass None or 1 (one process) or -1 (all).")

    def _encode(self, X):
        """``(tokens, ids, lengths)`` of the SMILES ``X`` (see :func:`encode_chunk`)."""
        smiles = check_smiles_list(X, name="X")
        encode = partial(encode_chunk, canonicalize=self.canonicalize)
        return merge_chunks(map_chunks(encode, smiles, self.n_jobs), len(smiles))

    def _check_alphabet_param(self):
        alphabet = [str(t) for t in np.asarray(self.alphabet, dtype=object).ravel()]
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet contains duplicate tokens; pass each token once.")
        return [self.pad_token, *sorted(set(alphabet) - {self.pad_token})]

    def _apply_policies(self, tokens, ids, lengths, n_positions, vocabulary):
        """Resolve invalid / unknown / long rows; return the boolean mask of kept rows."""
        bad = {}
        for code, reason in [
            (-1, "SMILES that RDKit cannot parse (or empty)"),
            (-2, "molecules SELFIES cannot encode"),
        ]:
            if (rows := np.flatnonzero(lengths == code)).size:
                bad[reason] = rows
        invalid = lengths < 0
        if vocabulary is not None:
            unknown_ids = [j + 1 for j, t in enumerate(tokens) if t not in vocabulary]
            if unknown_ids:
                unknown = np.isin(ids, unknown_ids).any(axis=1)
                bad["molecules with tokens outside the fitted alphabet"] = np.flatnonzero(unknown)
                invalid |= unknown
        if bad and self.on_error == "raise":
            detail = "; ".join(f"{k}: indices {format_indices(v.tolist())}" for k, v in bad.items())
            raise ValueError(
                f"Invalid molecules in the input ({detail}). Fix or remove them, or pass "
                "on_error='drop' to drop them (their indices go to dropped_indices_)."
            )
        long_rows = np.zeros_like(invalid)
        if n_positions is not None:
            long_rows = ~invalid & (lengths > n_positions)
        if long_rows.any() and self.on_long == "raise":
            raise ValueError(
                f"{long_rows.sum()} molecule(s) have more than max_length={n_positions} "
                f"SELFIES tokens (indices {format_indices(np.flatnonzero(long_rows).tolist())}). "
                "Increase max_length (or leave it None at fit), or pass on_long='drop' or "
                "on_long='truncate'."
            )
        dropped = invalid | long_rows if self.on_long == "drop" else invalid
        truncated = long_rows if self.on_long == "truncate" else np.zeros_like(long_rows)
        self.dropped_indices_ = np.flatnonzero(dropped).astype(np.intp)
        self.truncated_indices_ = np.flatnonzero(truncated).astype(np.intp)
        return ~dropped

    def _output(self, tokens, ids, keep):
        """The output array of the kept rows, in the form ``output`` asks for."""
        n_positions, width = self.n_positions_, min(ids.shape[1], self.n_positions_)
        remap = [0, *(self.vocabulary_.get(t, 0) for t in tokens)]
        remap = np.array(remap, dtype=index_dtype(self.n_tokens_))
        rows = np.flatnonzero(keep)
        idx = np.zeros((len(rows), n_positions), dtype=remap.dtype)
        for s in range(0, len(rows), _ROWS):
            idx[s : s + _ROWS, :width] = remap[ids[rows[s : s + _ROWS], :width]]
        if self.output == "indices":
            return idx
        if self.output == "onehot":
            return one_hot(idx, self.n_tokens_, dtype=self.dtype)
        n, k = idx.size, self.n_tokens_
        itype = np.int32 if max(n, n_positions * k) < 2**31 else np.int64
        columns = (np.arange(n_positions, dtype=itype) * k + idx).ravel()
        indptr = np.arange(0, n + 1, n_positions, dtype=itype)
        data = np.ones(n, dtype=self.dtype)
        return sp.csr_matrix((data, columns, indptr), shape=(len(rows), n_positions * k))

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the alphabet and the number of positions from SMILES.

        Parameters
        ----------
        X : list or array-like of str of shape (n_samples,)
            SMILES strings (a single-column 2-D array or DataFrame also works).
        y : None
            Ignored.

        Returns
        -------
        self : SelfiesVectorizer
            The fitted vectoriser.
        """
        self._fit(X)
        return self

    def _fit(self, X):
        self._check_params()
        tokens, ids, lengths = self._encode(X)
        vocabulary = None
        if self.alphabet is not None:
            alphabet = self._check_alphabet_param()
            vocabulary = set(alphabet)
        keep = self._apply_policies(tokens, ids, lengths, self.max_length, vocabulary)
        if not keep.any():
            raise ValueError(
                "No valid molecule left to fit SelfiesVectorizer on "
                f"({len(lengths)} given, all dropped)."
            )
        if self.max_length is None:
            self.n_positions_ = int(lengths[keep].max())
        else:
            self.n_positions_ = int(self.max_length)
        if self.alphabet is None:
            present = np.zeros(len(tokens) + 1, dtype=bool)
            rows = np.flatnonzero(keep)
            for s in range(0, len(rows), _ROWS):
                block = ids[rows[s : s + _ROWS], : self.n_positions_]
                present[: block.max(initial=0) + 1] |= np.bincount(block.ravel()) > 0
            seen = {tokens[j - 1] for j in np.flatnonzero(present[1:]) + 1} - {self.pad_token}
            alphabet = [self.pad_token, *sorted(seen)]
        self.alphabet_ = np.array(alphabet, dtype=object)
        self.vocabulary_ = {t: j for j, t in enumerate(alphabet)}
        self.n_tokens_ = len(alphabet)
        return tokens, ids, keep

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its encoding (tokenising once).

        Parameters
        ----------
        X : list or array-like of str of shape (n_samples,)
            SMILES strings.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray or sparse matrix
            Encoding of the kept molecules (see ``dropped_indices_``), in the
            form of ``output`` (see :meth:`transform`).
        """
        return self._output(*self._fit(X))

    # ---------------------------------------------------------------- transform
    def transform(self, X):
        """Encode SMILES as one-hot rows, a sparse matrix or token indices.

        Parameters
        ----------
        X : list or array-like of str of shape (n_samples,)
            SMILES strings.

        Returns
        -------
        X_new : ndarray or sparse matrix
            ``output="onehot"``: flattened one-hot arrays of shape
            ``(n_kept, n_positions_ * n_tokens_)`` and dtype ``dtype``;
            ``"sparse"``: the same as a CSR matrix; ``"indices"``: token
            indices of shape ``(n_kept, n_positions_)``. Rows of dropped
            molecules (see ``dropped_indices_``) are left out.
        """
        check_is_fitted(self)
        self._check_params()
        tokens, ids, lengths = self._encode(X)
        keep = self._apply_policies(tokens, ids, lengths, self.n_positions_, self.vocabulary_)
        return self._output(tokens, ids, keep)

    def _token_indices(self, X):
        """Per-position argmax token indices ``(n, n_positions_)`` of any accepted input."""
        check_is_fitted(self)
        n_positions, n_tokens = self.n_positions_, self.n_tokens_
        if not sp.issparse(X):
            X = np.asarray(X)
            if X.ndim == 3:
                X = X.reshape(X.shape[0], -1)
        if X.ndim != 2:
            raise ValueError(
                f"X must be a 2-D array (or 3-D one-hot blocks), got shape {X.shape}; pass "
                "the output of transform or per-position scores."
            )
        n_features, dtype = X.shape[1], index_dtype(n_tokens)
        if n_features == n_positions and not sp.issparse(X) and X.dtype.kind in "iu":
            if X.size and (X.min() < 0 or X.max() >= n_tokens):
                raise ValueError(
                    f"X holds token indices outside [0, n_tokens_ - 1] = [0, {n_tokens - 1}]; "
                    "pass indices from transform(output='indices') of this vectoriser."
                )
            return self._fill_empty(X.astype(dtype), None)
        if n_features != n_positions * n_tokens:
            raise ValueError(
                f"X has {n_features} features, but this SelfiesVectorizer produces "
                f"n_positions_ * n_tokens_ = {n_positions} * {n_tokens} = "
                f"{n_positions * n_tokens} (one-hot, sparse or probability arrays) or "
                f"n_positions_ = {n_positions} integer token indices; pass one of those."
            )
        idx = np.empty((X.shape[0], n_positions), dtype=dtype)
        for s in range(0, X.shape[0], _ROWS):
            block = X[s : s + _ROWS]
            block = block.toarray() if sp.issparse(block) else block
            block = check_array(block, dtype=[np.float64, np.float32], input_name="X")
            scores = block.reshape(-1, n_positions, n_tokens)
            idx[s : s + _ROWS] = self._fill_empty(scores.argmax(-1), scores)
        return idx

    def _fill_empty(self, idx, scores):
        """Give rows without any atom token their most likely atom at position 0.

        ``scores`` None (token indices) acts as the one-hot of ``idx``.
        """
        is_atom = np.array([_is_atom_token(t, self.pad_token) for t in self.alphabet_])
        if is_atom.any():
            empty = ~is_atom[idx].any(axis=1)
            if empty.any():
                if scores is None:
                    idx[empty, 0] = np.flatnonzero(is_atom)[0]
                else:
                    first = np.where(is_atom, scores[empty, 0, :], -np.inf)
                    idx[empty, 0] = first.argmax(-1)
        return idx

    def to_selfies(self, X):
        """Argmax-decode one-hot, probability or token-index arrays to SELFIES strings.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_positions * n_tokens)
            One-hot (any numeric or bool dtype, dense or sparse) or
            per-position scores (probabilities or logits); a 3-D array
            ``(n_samples, n_positions_, n_tokens_)`` is accepted too, and so
            are integer token indices of shape ``(n_samples, n_positions_)``
            (``output="indices"``).

        Returns
        -------
        selfies : ndarray of str of shape (n_samples,)
            SELFIES strings without padding tokens (a row without any atom
            token gets its most likely atom token at position 0, see
            :meth:`inverse_transform`).

        Examples
        --------
        >>> from sklearn_lravae.chem import SelfiesVectorizer
        >>> vec = SelfiesVectorizer().fit(["CCO"])
        >>> vec.to_selfies(vec.transform(["CO"])).tolist()
        ['[C][O]']
        """
        idx = self._token_indices(X)
        alphabet = self.alphabet_
        pad = self.vocabulary_[self.pad_token]
        return np.array(["".join(alphabet[row[row != pad]]) for row in idx], dtype=object)

    def inverse_transform(self, X):
        """Decode one-hot, probability or token-index arrays to canonical SMILES.

        Each position takes its most likely token (argmax); padding tokens are
        skipped wherever they appear; the SELFIES string is decoded and written
        as RDKit canonical SMILES. A sequence whose argmax holds no atom token
        (only padding, branch or ring tokens) would decode to the empty
        molecule; position 0 of such a row takes its most likely atom token
        instead, so every row decodes to a valid, non-empty molecule (a
        trained model rarely needs this: training molecules always start with
        an atom). Rows that are exactly one-hot on padding only (no atom token
        with a non-zero score either) still give an atom, the first of the
        alphabet; token indices act as their one-hot rows.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_positions * n_tokens)
            Any output of :meth:`transform` (one-hot, sparse or token indices
            of shape ``(n_samples, n_positions_)``), or per-position scores
            (e.g. the decoder probabilities of
            ``LRAVAETransformer.inverse_transform``).

        Returns
        -------
        smiles : ndarray of str of shape (n_samples,)
            Canonical SMILES (object dtype).
        """
        selfies = list(self.to_selfies(X))
        unique = list(dict.fromkeys(selfies))  # identical argmax rows are decoded once
        out = [s for chunk in map_chunks(decode_chunk, unique, self.n_jobs) for s in chunk]
        smiles = dict(zip(unique, out, strict=True))
        return np.array([smiles[s] for s in selfies], dtype=object)

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"pos{p}_{token}"``, or ``"pos{p}"`` for indices.

        Parameters
        ----------
        input_features : None
            Ignored (the input is a list of SMILES).

        Returns
        -------
        feature_names_out : ndarray of str
            One name per output column: ``n_positions_ * n_tokens_`` names
            for the one-hot and sparse outputs, ``n_positions_`` for
            ``output="indices"``.
        """
        check_is_fitted(self)
        if self.output == "indices":
            return np.array([f"pos{p}" for p in range(self.n_positions_)], dtype=object)
        return np.array(
            [f"pos{p}_{t}" for p in range(self.n_positions_) for t in self.alphabet_],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
