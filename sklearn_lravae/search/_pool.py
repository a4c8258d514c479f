"""Known objects as candidates of the trust-region proposal (``train_candidates``).

With ``LatentBayesSearch(train_candidates=...)`` a subset of ``train_objects``
is encoded (encoder means, re-encoded after every retraining) and offered to
the trust region's Thompson sampling next to its own perturbed points: of the
objects not evaluated yet, the most promising by the GP (lowest lower
confidence bound, as many as half the region's candidates) join the joint
posterior draw wherever they lie, and one that wins is proposed *as itself*
(the object, not a decoding of its latent). The GP thus ranks an unlabelled library by what the
evaluations so far say, while new points are still decoded where the library
has nothing better to offer. The pool is rebuilt from ``train_objects`` and the
(restored) estimator on resume, so it needs no state of its own in checkpoints.
"""

import numpy as np

from ._evaluate import object_key

__all__ = ["CandidatePool", "DEFAULT_POOL_SIZE"]

DEFAULT_POOL_SIZE = 10_000  # ``train_candidates=True``: at most this many objects


class CandidatePool:
    """A fixed subset of known objects, their latents and the points handed out.

    Parameters
    ----------
    objects : list
        The known objects (e.g. ``train_objects``).
    size : int
        At most this many of them are used (a seeded random subset).
    seed : int
        Seed of the subset.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._pool import CandidatePool
    >>> pool = CandidatePool(["CCO", "CCN", "CCC"], size=2, seed=0)
    >>> len(pool.objects)
    2
    """

    def __init__(self, objects, size, seed):
        objects = list(objects)
        if len(objects) > size:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
            objects = [objects[i] for i in np.sort(rng.choice(len(objects), size, replace=False))]
        self.objects = objects
        self.keys = [object_key(o) for o in objects]
        self.latents = np.zeros((len(objects), 0))
        self._handed_out = {}

    def handed_out_rows(self, Z):
        """Whether each row of ``Z`` is a latent handed out for a pool object (not a decode)."""
        Z = np.asarray(Z, dtype=float).reshape(len(Z), -1)
        return np.array([z.tobytes() in self._handed_out for z in Z], dtype=bool)

    def refresh(self, encode):
        """Encode the objects with ``encode(objects) -> latents`` (after a retraining)."""
        self.latents = np.asarray(encode(self.objects), dtype=float).reshape(len(self.objects), -1)
        self._handed_out = {}

    def available(self, evaluated):
        """``(latents, rows)`` of the objects whose keys are not in ``evaluated``."""
        rows = np.array([i for i, k in enumerate(self.keys) if k not in evaluated], dtype=int)
        return self.latents[rows] if len(rows) else self.latents[:0], rows

    def hand_out(self, Z, source, rows):
        """Remember that ``Z[j]`` stands for pool object ``rows[source[j]]`` (``source >= 0``)."""
        self._handed_out = {
            np.asarray(Z[j], dtype=float).tobytes(): self.objects[rows[s]]
            for j, s in enumerate(source)
            if s >= 0
        }

    def substitute(self, Z, objects):
        """``objects`` with each row of ``Z`` that was handed out replaced by its pool object."""
        Z = np.asarray(Z, dtype=float).reshape(len(objects), -1)
        return [self._handed_out.get(z.tobytes(), o) for z, o in zip(Z, objects, strict=True)]
