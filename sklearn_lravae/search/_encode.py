"""The estimator as the search sees it: objects <-> latent points.

:class:`LatentCodec` wraps the search's copy of the user's estimator (an
``LRAVAETransformer`` or a Pipeline ending in one) and offers what the loop
needs: encode objects robustly (objects a vectoriser rejects become NaN rows
instead of ending the run), decode latent points, the LRE of latent points, and
the upstream transform used to build retraining data.

The upstream steps (e.g. a ``SelfiesVectorizer``) never change during a
search, while the VAE does: the codec keeps the upstream features of string
objects (up to :data:`MEMO_SIZE`), so the training library, which is encoded
again for the search box, the candidate pool and every retraining, goes through
the vectoriser once.
"""

import copy

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..metrics import find_lravae
from ._evaluate import is_empty_object
from ._invert import invert_latents, reproduces

__all__ = ["MEMO_SIZE", "LatentCodec", "as_input", "object_list", "robust_transform"]

#: Most string objects whose upstream features a :class:`LatentCodec` keeps (a
#: SELFIES one-hot row of 50 positions x 26 tokens is 5 kB in float32: 100 MB).
MEMO_SIZE = 20_000


def object_list(X, name="X"):
    """``X`` as a list of objects; sparse, complex and empty ``X`` are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._encode import object_list
    >>> len(object_list(np.zeros((3, 2)))), object_list(["CCO"])
    (3, ['CCO'])
    """
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; LatentBayesSearch takes a sequence of objects: pass "
            f"{name}.toarray() (or a list of SMILES strings)."
        )
    if np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported: {name} must hold real-valued objects.")
    objects = list(X)
    if not objects:
        raise ValueError(f"{name} must hold at least one initial object.")
    return objects


def as_input(objects):
    """The array an estimator's ``transform`` expects for a list of objects."""
    if objects and isinstance(objects[0], str):
        return np.asarray(objects, dtype=object)
    return np.asarray(objects, dtype=float)


def dropped_indices(estimator):
    """Rows the last ``transform`` left out, as reported by a step's ``dropped_indices_``.

    E.g. ``SelfiesVectorizer(on_error="drop", on_long="drop")`` drops invalid or
    too long molecules instead of raising; None when no step reports any.
    """
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    for step in steps:
        dropped = getattr(step, "dropped_indices_", None)
        if dropped is not None:
            return np.asarray(dropped, dtype=int)
    return None


def _matched_rows(rows, n_objects, estimator):
    """Indices of the objects that ``rows`` (one ``transform`` output) belong to."""
    index = list(range(n_objects))
    if len(rows) == n_objects:
        return index
    dropped = None if estimator is None else dropped_indices(estimator)
    drop = set() if dropped is None else set(dropped.tolist())
    if n_objects - len(drop) != len(rows):
        raise RuntimeError(
            f"transform returned {len(rows)} rows for {n_objects} objects and no "
            "pipeline step reports which it dropped (dropped_indices_)."
        )
    return [i for i in index if i not in drop]


def robust_transform(transform, objects, estimator=None):
    """``transform`` the objects it can; bisect around those raising ValueError.

    Returns the transformed rows and the indices of the objects they belong to
    (e.g. decoded molecules longer than a vectoriser's ``max_length`` are left
    out) at a cost of O(k log n) calls for k failures. Rows a step drops
    without raising are matched through its ``dropped_indices_`` (looked up in
    ``estimator``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._encode import robust_transform
    >>> def transform(X):
    ...     if np.any(X < 0):
    ...         raise ValueError("negative")
    ...     return X * 2
    >>> rows, keep = robust_transform(transform, [[1.0], [-1.0], [3.0]])
    >>> rows.ravel().tolist(), keep
    ([2.0, 6.0], [0, 2])
    """
    if not objects:
        return np.empty((0, 0)), []
    try:
        rows = np.asarray(transform(as_input(objects)), dtype=float)
    except ValueError:
        if len(objects) == 1:
            return np.empty((0, 0)), []
    else:
        return rows, _matched_rows(rows, len(objects), estimator)
    mid = len(objects) // 2
    left, kl = robust_transform(transform, objects[:mid], estimator)
    right, kr = robust_transform(transform, objects[mid:], estimator)
    parts = [p for p in (left, right) if len(p)]
    rows = np.vstack(parts) if parts else np.empty((0, 0))
    return rows, kl + [mid + i for i in kr]


class LatentCodec:
    """Objects <-> latents through a fitted estimator (VAE or Pipeline ending in one).

    Parameters
    ----------
    estimator : LRAVAETransformer or Pipeline
        Fitted; used as given (not copied).
    """

    def __init__(self, estimator):
        if isinstance(estimator, Pipeline) and not hasattr(
            estimator[-1], "latent_reconstruction_error"
        ):
            raise TypeError(
                "estimator is a Pipeline whose last step is not an LRAVAETransformer; "
                "LatentBayesSearch needs the VAE as the final step."
            )
        self.estimator = estimator
        self.vae = find_lravae(estimator)
        self.upstream = estimator[:-1] if isinstance(estimator, Pipeline) else None
        self._memo = {}  # string object -> its upstream feature row (None: rejected)

    @classmethod
    def fitted_copy(cls, estimator, objects):
        """A codec on a deep copy of ``estimator``, fitted on ``objects`` if it is not yet."""
        est = copy.deepcopy(estimator)
        if isinstance(est, Pipeline) and not hasattr(est[-1], "latent_reconstruction_error"):
            cls(est)  # raises the TypeError above
        try:
            check_is_fitted(find_lravae(est))
        except NotFittedError:
            est.fit(as_input(objects))
        return cls(est)

    @property
    def n_components(self):
        return self.vae.n_components

    @property
    def n_features_in(self):
        """Input width of the first step (None when unknown)."""
        first = self.upstream[0] if self.upstream is not None else self.vae
        return getattr(first, "n_features_in_", None)

    def encode(self, objects):
        """Latents of ``objects`` (rows that cannot be encoded: NaN)."""
        objects = list(objects)
        out = np.full((len(objects), self.n_components), np.nan)
        if self._memoised(objects):
            data, keep = self._upstream_features(objects)
            rows = self.vae.transform(data) if keep else None
        else:
            rows, keep = robust_transform(self.estimator.transform, objects, self.estimator)
        if keep:
            out[keep] = rows
        return out

    def _memoised(self, objects):
        """Whether the upstream features of ``objects`` go through the memo."""
        return self.upstream is not None and all(isinstance(o, str) for o in objects)

    def _upstream_features(self, objects):
        """``(features, keep)`` of string ``objects`` through the upstream steps, memoised.

        Objects the upstream rejects (a ``ValueError`` or a dropped row) are
        left out of ``keep``, as with :func:`robust_transform`.
        """
        memo = self._memo
        todo = [o for o in dict.fromkeys(objects) if o not in memo]
        new = dict.fromkeys(todo)
        if todo:
            data, rows = robust_transform(self.upstream.transform, todo, self.estimator)
            for j, i in enumerate(rows):
                new[todo[i]] = data[j] if sp.issparse(data) else np.array(data[j])
            for o in todo[: max(MEMO_SIZE - len(memo), 0)]:
                memo[o] = new[o]
        feats = [memo[o] if o in memo else new[o] for o in objects]
        keep = [i for i, f in enumerate(feats) if f is not None]
        if not keep:
            return np.empty((0, 0)), []
        kept = [feats[i] for i in keep]
        return (sp.vstack(kept, format="csr") if sp.issparse(kept[0]) else np.stack(kept)), keep

    def decode(self, Z):
        """Decoded objects of latent points ``Z`` (strings or arrays)."""
        decoded = self.estimator.inverse_transform(np.asarray(Z, dtype=float))
        return [d if isinstance(d, str) else np.asarray(d) for d in decoded]

    def lre(self, Z, decode="mode"):
        """Hard-decode LRE of latent points; NaN for rows with non-finite entries."""
        Z = np.asarray(Z, dtype=float).reshape(len(Z), -1)
        out = np.full(len(Z), np.nan)
        finite = np.all(np.isfinite(Z), axis=1)
        if finite.any():
            out[finite] = self.vae.latent_reconstruction_error(Z[finite], decode=decode)
        return out

    def invert(self, objects, *, steps=50, lr=0.05, scale=1.0):
        """Latents whose decode reproduces ``objects``, found by decoder inversion.

        Starts at the encoder's ``enc_mu(x)`` and maximises ``log p(x | z)``
        (:func:`~sklearn_lravae.search._invert.invert_latents`), ``x`` being
        each object as the VAE sees it (after the upstream steps).

        Parameters
        ----------
        objects : sequence
            Objects (strings or numeric rows).
        steps : int, default=50
            Adam steps.
        lr : float, default=0.05
            Adam step size, in units of ``scale``.
        scale : float or array-like of shape (n_components,), default=1.0
            Per-dimension unit of the steps.

        Returns
        -------
        Z : ndarray of shape (n_objects, n_components)
            Inverted latents (NaN rows: objects that cannot be encoded).
        reproduced : ndarray of bool, shape (n_objects,)
            Whether ``decode`` of the row gives the object back (strings equal,
            numbers within 1e-3).
        """
        objects = list(objects)
        Z = np.full((len(objects), self.n_components), np.nan)
        reproduced = np.zeros(len(objects), dtype=bool)
        data, keep = self.training_data(objects) if objects else (None, [])
        if not keep:
            return Z, reproduced
        Z0 = self.vae.transform(data)
        Zi, _ = invert_latents(self.vae, data, Z0, steps=steps, lr=lr, scale=scale)
        Z[keep] = Zi
        decoded = self.decode(Zi)
        reproduced[keep] = [reproduces(d, objects[i]) for d, i in zip(decoded, keep, strict=True)]
        return Z, reproduced

    def check_widths(self, objects, name="X"):
        """Numeric objects must have the estimator's input width (strings are not checked)."""
        n_in = self.n_features_in
        if n_in is None or not objects or isinstance(objects[0], str):
            return
        sizes = np.array([np.size(o) for o in objects])
        bad = np.flatnonzero(sizes != n_in)
        if len(bad):
            raise ValueError(
                f"{name} has objects of {sizes[bad[0]]} features (rows {bad[:10].tolist()}), "
                f"but the estimator expects {n_in}: pass objects shaped like its training data."
            )

    def looks_like_latents(self, data):
        """A 2-D float array of width ``n_components`` (and a different input width)."""
        if len(data) and isinstance(data[0], str):
            return False
        arr = np.asarray(data)
        d = self.n_components
        return (
            arr.ndim == 2
            and arr.dtype.kind == "f"
            and arr.shape[1] == d
            and (self.n_features_in != d)
        )

    def latents_and_objects(self, data, kind="auto"):
        """``(Z, objects)`` for user input that holds either objects or latent points.

        ``kind="auto"`` takes a 2-D float array with ``n_components`` columns
        (and an input width that differs) as latent points.
        """
        if kind == "auto":
            kind = "latents" if self.looks_like_latents(data) else "objects"
        if kind == "latents":
            Z = np.asarray(data, dtype=float)
            return Z, self.decode(Z)
        if kind == "objects":
            objects = list(data)
            self.check_widths(objects, name="objects_or_latents")
            return self.encode(objects), objects
        raise ValueError(f"kind must be 'auto', 'objects' or 'latents', got {kind!r}.")

    def training_data(self, objects):
        """VAE input for ``objects`` and the indices of the objects that made it."""
        keep = [i for i, o in enumerate(objects) if not is_empty_object(o)]
        kept = [objects[i] for i in keep]
        if self.upstream is None:
            return as_input(kept), keep
        if self._memoised(kept):
            data, rows = self._upstream_features(kept)
        else:
            data, rows = robust_transform(self.upstream.transform, kept, self.estimator)
        return data, [keep[i] for i in rows]
