"""Atomic, code-free checkpoints of a latent-space search.

Layout of a checkpoint directory::

    state.json              history, surrogate hyperparameters, counters (the commit point)
    estimator-<round>.lravae  the whole (retrained) estimator or pipeline, written with
                            :func:`sklearn_lravae.save` (JSON + npz + weights-only torch)
    vae-<round>.pt          fallback when the estimator cannot be saved that way (e.g. a
                            custom torch module): VAE module + optimiser state dicts only,
                            loaded into a refitted copy of the user's estimator

``state.json`` names the model file of the current retraining round; files of
older rounds are removed once a newer ``state.json`` is in place.

Files are written to a temporary name in the same directory and moved into
place with :func:`os.replace`, so a run killed at any instant leaves either the
previous or the new checkpoint. Loading uses :func:`json.load` and
``torch.load(weights_only=True)``: nothing in a checkpoint can execute code.
"""

import json
from pathlib import Path

import numpy as np
import torch

from .._persistence import load, save
from .._utils import atomic_write

__all__ = [
    "load_model",
    "load_state",
    "load_weights",
    "remove_stale_models",
    "save_model",
    "save_state",
    "save_weights",
]

FORMAT_VERSION = 3


def _to_json(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def save_state(directory, state):
    """Write ``state`` (JSON-serialisable, NumPy allowed) to ``directory/state.json``."""
    payload = {"format_version": FORMAT_VERSION, **state}
    data = json.dumps(payload, default=_to_json, allow_nan=True).encode()
    atomic_write(Path(directory) / "state.json", lambda fh: fh.write(data), make_parents=True)


def load_state(directory):
    """Read ``directory/state.json``; None when there is no checkpoint yet."""
    path = Path(directory) / "state.json"
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        state = json.load(fh)
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {state.get('format_version')!r}; this version "
            f"of sklearn-lravae reads format {FORMAT_VERSION}. Start a new checkpoint "
            "directory or use the matching package version."
        )
    return state


def save_weights(directory, name, vae):
    """Save the VAE's network state (weights, optimiser, counters; tensors and numbers only)."""
    state = vae.get_network_state()
    payload = {k: state[k] for k in ("module", "optimizer", "seed", "n_fit_calls", "n_iter")}
    atomic_write(Path(directory) / name, lambda fh: torch.save(payload, fh), make_parents=True)


def load_weights(directory, name, vae):
    """Load weights saved by :func:`save_weights` into a fitted ``vae`` (no code runs)."""
    payload = torch.load(Path(directory) / name, weights_only=True, map_location="cpu")
    vae.set_network_state(payload)


def save_model(directory, round_, estimator, vae, allow_full=True):
    """Save the estimator for retraining round ``round_``; return ``(file, kind)``.

    ``kind`` is ``"full"`` (the whole estimator, :func:`sklearn_lravae.save`)
    or ``"weights"`` (VAE state dicts only) when ``allow_full`` is False or the
    estimator cannot be saved without pickle.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if allow_full:
        name = f"estimator-{round_}.lravae"
        try:
            save(estimator, directory / name)  # atomic: temporary file + os.replace
            return name, "full"
        except TypeError:  # custom module, callbacks, ...: fall back to weights
            pass
    name = f"vae-{round_}.pt"
    save_weights(directory, name, vae)
    return name, "weights"


def load_model(directory, name):
    """Load an estimator saved by :func:`save_model` with kind ``"full"``."""
    return load(Path(directory) / name)


def _is_stale(name, keep):
    if name == keep:
        return False
    if name.startswith(".") and name.endswith(".tmp"):  # left by a run killed mid-write
        return any(k in name for k in ("state.json", "estimator-", "vae-"))
    return (name.startswith("estimator-") and name.endswith(".lravae")) or (
        name.startswith("vae-") and name.endswith(".pt")
    )


def remove_stale_models(directory, keep):
    """Delete model files of other rounds than ``keep`` and orphaned temporary files.

    Called after ``state.json`` (naming ``keep``) was committed, by the only
    process writing to ``directory``.
    """
    for path in Path(directory).iterdir():
        if _is_stale(path.name, keep):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
