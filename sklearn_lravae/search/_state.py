"""``SearchState``: everything a latent-space search has learnt, in one object.

The same object is built at the start of a run (:meth:`SearchState.start`) and
rebuilt from a checkpoint (:meth:`SearchState.from_dict`), so a fresh and a
resumed run cannot drift apart. It holds plain NumPy / Python data only; the
estimator, surrogate and optimiser live elsewhere.
"""

import hashlib
import json

import numpy as np

__all__ = ["SearchState", "objects_digest"]


def objects_digest(objects):
    """A short, order-sensitive fingerprint of the initial objects.

    Stored in checkpoints so that resuming with different initial objects
    (whose latents and values would no longer match) is refused.
    """
    h = hashlib.sha256()
    for obj in objects:
        if isinstance(obj, str):
            h.update(b"s" + obj.encode())
        else:
            a = np.ascontiguousarray(np.asarray(obj, dtype=float))
            h.update(b"a" + str(a.shape).encode() + a.tobytes())
        h.update(b"\x00")
    return h.hexdigest()[:32]


def _history_to_json(history, string_objects):
    return [
        {
            **h,
            "object": h["object"] if string_objects else np.asarray(h["object"], dtype=float),
        }
        for h in history
    ]


def _history_from_json(history, string_objects):
    return [
        {
            **h,
            "latent": np.asarray(h["latent"], dtype=float),
            "object": h["object"] if string_objects else np.asarray(h["object"], dtype=float),
            "value": float("nan") if h["value"] is None else float(h["value"]),
            "inverted": h.get("inverted"),  # absent in checkpoints of earlier versions
        }
        for h in history
    ]


class SearchState:
    """Observations, counters and seeds of one search run.

    Parameters
    ----------
    initial_objects : list
        The initial objects (their values are the first ``n_initial`` entries
        of ``values``).
    latents : ndarray of shape (n_observations, n_components)
        Current latent coordinates of all observations (NaN rows: objects
        that could not be encoded).
    values : ndarray of shape (n_observations,)
        Objective values (NaN for failures).
    seed : int
        Base seed; every random draw of the run is derived from it and the
        number of evaluations so far.
    """

    def __init__(self, initial_objects, latents, values, seed):
        self.initial_objects = list(initial_objects)
        self.n_initial = len(self.initial_objects)
        self.latents = np.asarray(latents, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.seed = int(seed)
        self.history = []
        self.n_retrain_rounds = 0
        self.n_rejected = 0
        self.since_retrain = 0
        self.trigger_hit = False  # a value trigger (quantile, new best) fired since retraining
        self.n_consecutive_failures = 0
        self.surrogate = None  # SurrogateManager.state()
        self.model_file = None
        self.model_kind = "full"
        self.vae = None  # the VAE's training counters (weights-only checkpoints)
        self.reference = None  # the VAE's reference distribution (weights-only checkpoints)
        self.trust_region = None  # TrustRegion.state()
        self.box = None  # the search box, (n_components, 2) as nested lists
        init = self.values[: self.n_initial]
        self.finite_initial = init[np.isfinite(init)]

    # ------------------------------------------------------------- observations
    @property
    def string_objects(self):
        return bool(self.initial_objects) and isinstance(self.initial_objects[0], str)

    @property
    def n_evaluated(self):
        return len(self.history)

    def object(self, i):
        """Object of observation ``i`` (initial objects first)."""
        if i < self.n_initial:
            return self.initial_objects[i]
        return self.history[i - self.n_initial]["object"]

    def objects(self):
        """All observed objects, initial ones first."""
        return [self.object(i) for i in range(len(self.values))]

    def append(self, latent, obj, evaluation, lre, told=None, inverted=None):
        """Record one evaluation (``evaluation`` is ``(value, status, message, seconds)``).

        ``latent`` is the point as queried (``history``); the surrogate is told
        ``told`` when given (e.g. an inverted latent), else ``latent``.
        ``inverted``: whether ``told`` is an inversion that reproduces ``obj``
        (None: no inversion was tried).
        """
        value, status, message, seconds = evaluation
        self.history.append(
            {
                "iteration": len(self.history),
                "latent": np.array(latent, dtype=float),
                "object": obj,
                "value": float(value),
                "status": status,
                "message": message,
                "lre": float(lre),
                "retrain_round": self.n_retrain_rounds,
                "time": float(seconds),
                "inverted": None if inverted is None else bool(inverted),
            }
        )
        told = latent if told is None else told
        self.latents = np.vstack([self.latents, np.reshape(told, (1, -1))])
        self.values = np.append(self.values, value)
        self.since_retrain += 1
        self.n_consecutive_failures = 0 if status == "ok" else self.n_consecutive_failures + 1

    def beats_quantile(self, value, quantile):
        """Whether ``value`` beats the ``quantile`` of the finite initial values."""
        return (
            quantile is not None
            and np.isfinite(value)
            and len(self.finite_initial) > 0
            and value > np.quantile(self.finite_initial, quantile)
        )

    def beats_best(self, value):
        """Whether ``value`` is finite and beats every finite value observed so far."""
        finite = self.values[np.isfinite(self.values)]
        return bool(np.isfinite(value) and (len(finite) == 0 or value > finite.max()))

    def best_index(self):
        """Index of the best finite observation, or None."""
        finite = np.isfinite(self.values)
        if not finite.any():
            return None
        return int(np.argmax(np.where(finite, self.values, -np.inf)))

    def surrogate_targets(self):
        """Values skopt minimises; failures get the worst successful value."""
        v = self.values
        finite = np.isfinite(v)
        fail = -np.min(v[finite]) if finite.any() else 0.0
        return np.where(finite, -v, fail)

    def queried_latents(self, n_recent=None):
        """Latents of the evaluated (not initial) points, finite rows only."""
        queried = self.latents[self.n_initial :]
        if n_recent is not None:
            queried = queried[-n_recent:]
        return queried[np.all(np.isfinite(queried), axis=1)]

    # --------------------------------------------------------------- (de)serialise
    def to_dict(self):
        """JSON-ready state (NumPy arrays allowed), the body of ``state.json``."""
        return {
            "n_initial": self.n_initial,
            "initial_digest": objects_digest(self.initial_objects),
            "initial_values": self.values[: self.n_initial],
            "latents": self.latents,
            "history": _history_to_json(self.history, self.string_objects),
            "n_retrain_rounds": self.n_retrain_rounds,
            "n_rejected": self.n_rejected,
            "since_retrain": self.since_retrain,
            "trigger_hit": self.trigger_hit,
            "n_consecutive_failures": self.n_consecutive_failures,
            "seed": self.seed,
            "surrogate": self.surrogate,
            "model_file": self.model_file,
            "model_kind": self.model_kind,
            "vae": self.vae,
            "reference": self.reference,
            "trust_region": self.trust_region,
            "box": self.box,
        }

    @classmethod
    def from_dict(cls, state, initial_objects, n_components, source="checkpoint"):
        """Rebuild the state saved by :meth:`to_dict` for the same initial objects.

        Raises
        ------
        ValueError
            If ``initial_objects`` are not the ones the state was started with.
        """
        objects = list(initial_objects)
        if len(objects) != state["n_initial"]:
            raise ValueError(
                f"{source} was started with {state['n_initial']} initial objects, but X has "
                f"{len(objects)}: resume with the same X, or start a new checkpoint directory."
            )
        digest = state.get("initial_digest")
        if digest is not None and digest != objects_digest(objects):
            raise ValueError(
                f"{source} was started with different initial objects than the X passed now "
                "(same number, different content or order): resume with the same X, or start "
                "a new checkpoint directory."
            )
        init = np.asarray(state["initial_values"], dtype=float)
        self = cls.__new__(cls)
        self.initial_objects = objects
        self.n_initial = len(objects)
        self.seed = int(state["seed"])
        self.history = _history_from_json(state["history"], self.string_objects)
        self.latents = np.asarray(state["latents"], dtype=float).reshape(-1, n_components)
        self.values = np.concatenate([init, [h["value"] for h in self.history]])
        self.n_retrain_rounds = int(state["n_retrain_rounds"])
        self.n_rejected = int(state["n_rejected"])
        self.since_retrain = int(state["since_retrain"])
        self.trigger_hit = bool(state.get("trigger_hit", state.get("quantile_hit", False)))
        self.n_consecutive_failures = int(state.get("n_consecutive_failures", 0))
        self.surrogate = state["surrogate"]
        self.model_file = state["model_file"]
        self.model_kind = state["model_kind"]
        self.vae = state.get("vae")
        self.reference = state.get("reference")
        self.trust_region = state.get("trust_region")
        self.box = state.get("box")
        self.finite_initial = init[np.isfinite(init)]
        return self

    def __eq__(self, other):  # for tests: same observations and counters
        if not isinstance(other, SearchState):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        return json.dumps(a, default=_json_default, sort_keys=True) == json.dumps(
            b, default=_json_default, sort_keys=True
        )

    __hash__ = None


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)
