"""Atomic, code-free checkpoints of a latent-space search.

Layout of a checkpoint directory::

    state.json            history, surrogate hyperparameters, counters (the commit point)
    vae-<round>.pt        VAE module + optimiser state dicts (plain tensors)

Files are written to a temporary name in the same directory and moved into
place with :func:`os.replace`, so a run killed at any instant leaves either the
previous or the new checkpoint. Loading uses :func:`json.load` and
``torch.load(weights_only=True)``: nothing in a checkpoint can execute code.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["load_state", "load_weights", "save_state", "save_weights"]

FORMAT_VERSION = 1


def _atomic_write(path, write):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
    _atomic_write(Path(directory) / "state.json", lambda fh: fh.write(data))


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
    """Save the VAE module's and optimiser's state dicts (tensors only)."""
    net = vae.net_
    payload = {
        "module": net.module_.state_dict(),
        "optimizer": net.optimizer_.state_dict(),
    }
    _atomic_write(Path(directory) / name, lambda fh: torch.save(payload, fh))


def load_weights(directory, name, vae):
    """Load weights saved by :func:`save_weights` into a fitted ``vae`` (no code runs)."""
    payload = torch.load(Path(directory) / name, weights_only=True, map_location="cpu")
    vae.net_.module_.load_state_dict(payload["module"])
    vae.net_.optimizer_.load_state_dict(payload["optimizer"])
