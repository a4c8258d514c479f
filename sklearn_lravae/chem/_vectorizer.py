"""``SelfiesVectorizer``: SMILES <-> flattened one-hot SELFIES arrays."""

import numbers

import numpy as np
import selfies as sf
from rdkit import Chem
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._smiles import check_smiles_list, format_indices, mol_from_smiles, rdkit_quiet

__all__ = ["SelfiesVectorizer"]


def _is_atom_token(token, pad_token):
    """True for SELFIES atom tokens (not padding, branch or ring tokens)."""
    return token != pad_token and "Branch" not in token and "Ring" not in token


class SelfiesVectorizer(TransformerMixin, BaseEstimator):
    """Encode SMILES as flattened one-hot SELFIES arrays, and decode them back.

    Each molecule is parsed with RDKit, written as its canonical SMILES,
    translated to SELFIES (``selfies.encoder``) and split into tokens. Position
    ``p`` of a molecule is a one-hot vector over the alphabet; sequences shorter
    than ``n_positions_`` are filled with the padding token. The output is the
    ``(n_samples, n_positions_ * n_tokens_)`` array that
    ``LRAVAETransformer(likelihood="categorical")`` models with one softmax
    per position. Because every SELFIES string decodes to a valid molecule,
    :meth:`inverse_transform` turns *any* array of per-position scores (for
    instance decoded latent points) into a valid molecule.

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
        Dtype of the one-hot output.

    Attributes
    ----------
    alphabet_ : ndarray of str of shape (n_tokens,)
        Tokens; ``alphabet_[0]`` is ``pad_token``, the others are sorted.
    vocabulary_ : dict
        Token -> column index within a position block.
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
    """

    _parameter_constraints = {
        "max_length": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "alphabet": [None, "array-like"],
        "on_long": [StrOptions({"raise", "drop", "truncate"})],
        "on_error": [StrOptions({"raise", "drop"})],
        "pad_token": [str],
        "dtype": "no_validation",
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
    ):
        self.max_length = max_length
        self.alphabet = alphabet
        self.on_long = on_long
        self.on_error = on_error
        self.pad_token = pad_token
        self.dtype = dtype

    # ------------------------------------------------------------------ helpers
    def _tokenize(self, smiles, name="X"):
        """Token lists (None for invalid rows) and a dict of invalid reasons."""
        smiles = check_smiles_list(smiles, name=name)
        tokens, bad = [], {}
        with rdkit_quiet():
            for i, smi in enumerate(smiles):
                mol = mol_from_smiles(smi)
                if mol is None:
                    bad.setdefault("SMILES that RDKit cannot parse (or empty)", []).append(i)
                    tokens.append(None)
                    continue
                try:
                    encoded = sf.encoder(Chem.MolToSmiles(mol))
                except sf.EncoderError:
                    encoded = None
                if encoded is None:
                    bad.setdefault("molecules SELFIES cannot encode", []).append(i)
                    tokens.append(None)
                    continue
                tokens.append(list(sf.split_selfies(encoded)))
        return tokens, bad

    def _check_alphabet_param(self):
        alphabet = [str(t) for t in np.asarray(self.alphabet, dtype=object).ravel()]
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet contains duplicate tokens; pass each token once.")
        return [self.pad_token, *sorted(set(alphabet) - {self.pad_token})]

    def _apply_policies(self, tokens, bad, n_positions, vocabulary):
        """Resolve invalid / unknown / long rows; return kept row indices."""
        if vocabulary is not None:
            unknown = [
                i for i, t in enumerate(tokens) if t is not None and not set(t) <= vocabulary
            ]
            if unknown:
                bad["molecules with tokens outside the fitted alphabet"] = unknown
        if bad and self.on_error == "raise":
            detail = "; ".join(f"{k}: indices {format_indices(v)}" for k, v in bad.items())
            raise ValueError(
                f"Invalid molecules in the input ({detail}). Fix or remove them, or pass "
                "on_error='drop' to drop them (their indices go to dropped_indices_)."
            )
        invalid = {i for v in bad.values() for i in v}
        long_rows = [
            i
            for i, t in enumerate(tokens)
            if i not in invalid and n_positions is not None and len(t) > n_positions
        ]
        if long_rows and self.on_long == "raise":
            raise ValueError(
                f"{len(long_rows)} molecule(s) have more than max_length={n_positions} "
                f"SELFIES tokens (indices {format_indices(long_rows)}). Increase "
                "max_length (or leave it None at fit), or pass on_long='drop' or "
                "on_long='truncate'."
            )
        dropped = set(invalid)
        truncated = []
        if self.on_long == "drop":
            dropped |= set(long_rows)
        elif self.on_long == "truncate":
            truncated = long_rows
            for i in long_rows:
                tokens[i] = tokens[i][:n_positions]
        self.dropped_indices_ = np.array(sorted(dropped), dtype=np.intp)
        self.truncated_indices_ = np.array(truncated, dtype=np.intp)
        return [i for i in range(len(tokens)) if i not in dropped]

    def _one_hot(self, tokens, keep):
        index = np.zeros((len(keep), self.n_positions_), dtype=np.intp)  # 0 = padding
        for row, i in enumerate(keep):
            seq = [self.vocabulary_[t] for t in tokens[i]]
            index[row, : len(seq)] = seq
        X = np.zeros((len(keep), self.n_positions_, self.n_tokens_), dtype=self.dtype)
        np.put_along_axis(X, index[..., None], 1, axis=-1)
        return X.reshape(len(keep), self.n_positions_ * self.n_tokens_)

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
        tokens, bad = self._tokenize(X)
        vocabulary = None
        if self.alphabet is not None:
            alphabet = self._check_alphabet_param()
            vocabulary = set(alphabet)
        keep = self._apply_policies(tokens, bad, self.max_length, vocabulary)
        if not keep:
            raise ValueError(
                "No valid molecule left to fit SelfiesVectorizer on "
                f"({len(tokens)} given, all dropped)."
            )
        if self.alphabet is None:
            seen = set().union(*(tokens[i] for i in keep)) - {self.pad_token}
            alphabet = [self.pad_token, *sorted(seen)]
        if self.max_length is None:
            self.n_positions_ = max(len(tokens[i]) for i in keep)
        else:
            self.n_positions_ = int(self.max_length)
        self.alphabet_ = np.array(alphabet, dtype=object)
        self.vocabulary_ = {t: j for j, t in enumerate(alphabet)}
        self.n_tokens_ = len(alphabet)
        return tokens, keep

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its one-hot encoding (tokenising once).

        Parameters
        ----------
        X : list or array-like of str of shape (n_samples,)
            SMILES strings.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_kept, n_positions * n_tokens)
            One-hot encoding of the kept molecules (see ``dropped_indices_``).
        """
        self._validate_params()
        tokens, keep = self._fit(X)
        return self._one_hot(tokens, keep)

    # ---------------------------------------------------------------- transform
    def transform(self, X):
        """One-hot encode SMILES.

        Parameters
        ----------
        X : list or array-like of str of shape (n_samples,)
            SMILES strings.

        Returns
        -------
        X_new : ndarray of shape (n_kept, n_positions * n_tokens)
            Flattened one-hot arrays; rows of dropped molecules (see
            ``dropped_indices_``) are left out.
        """
        check_is_fitted(self)
        tokens, bad = self._tokenize(X)
        keep = self._apply_policies(tokens, bad, self.n_positions_, set(self.vocabulary_))
        return self._one_hot(tokens, keep)

    def _check_array(self, X):
        check_is_fitted(self)
        X = np.asarray(X) if not hasattr(X, "toarray") else X.toarray()
        if X.ndim == 3:
            X = X.reshape(X.shape[0], -1)
        X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        n_features = self.n_positions_ * self.n_tokens_
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but this SelfiesVectorizer produces "
                f"n_positions_ * n_tokens_ = {self.n_positions_} * {self.n_tokens_} = "
                f"{n_features}; pass one-hot or probability arrays of that width."
            )
        return X.reshape(X.shape[0], self.n_positions_, self.n_tokens_)

    def to_selfies(self, X):
        """Argmax-decode one-hot or probability arrays to SELFIES strings.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_positions * n_tokens)
            One-hot or per-position scores (probabilities or logits); a 3-D
            array ``(n_samples, n_positions_, n_tokens_)`` is accepted too.

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
        scores = self._check_array(X)
        idx = scores.argmax(-1)
        alphabet = self.alphabet_
        is_atom = np.array([_is_atom_token(t, self.pad_token) for t in alphabet])
        if is_atom.any():
            # a sequence without any atom token decodes to the empty molecule:
            # position 0 then takes its most likely atom token instead
            empty = ~is_atom[idx].any(axis=1)
            if empty.any():
                first = np.where(is_atom, scores[empty, 0, :], -np.inf)
                idx[empty, 0] = first.argmax(-1)
        pad = self.vocabulary_[self.pad_token]
        return np.array(["".join(alphabet[row[row != pad]]) for row in idx], dtype=object)

    def inverse_transform(self, X):
        """Decode one-hot or probability arrays to canonical SMILES.

        Each position takes its most likely token (argmax); padding tokens are
        skipped wherever they appear; the SELFIES string is decoded and written
        as RDKit canonical SMILES. A sequence whose argmax holds no atom token
        (only padding, branch or ring tokens) would decode to the empty
        molecule; position 0 of such a row takes its most likely atom token
        instead, so every row decodes to a valid, non-empty molecule (a
        trained model rarely needs this: training molecules always start with
        an atom). Rows that are exactly one-hot on padding only (no atom token
        with a non-zero score either) still give an atom, the first of the
        alphabet.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_positions * n_tokens)
            One-hot arrays or per-position scores (e.g. the decoder
            probabilities of ``LRAVAETransformer.inverse_transform``).

        Returns
        -------
        smiles : ndarray of str of shape (n_samples,)
            Canonical SMILES (object dtype).
        """
        out = []
        with rdkit_quiet():
            for s in self.to_selfies(X):
                smi = sf.decoder(s) if s else ""
                mol = mol_from_smiles(smi)
                out.append(smi if mol is None else Chem.MolToSmiles(mol))
        return np.array(out, dtype=object)

    def get_feature_names_out(self, input_features=None):
        """Output feature names ``"pos{p}_{token}"``.

        Parameters
        ----------
        input_features : None
            Ignored (the input is a list of SMILES).

        Returns
        -------
        feature_names_out : ndarray of str of shape (n_positions * n_tokens,)
            One name per output column.
        """
        check_is_fitted(self)
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
