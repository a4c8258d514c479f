"""Atomic, checksummed, code-free checkpoints of a latent-space search.

Layout of a checkpoint directory::

    state.json              history, surrogate hyperparameters, counters (the commit point)
    state.prev.json         the generation before it, kept as a fallback
    estimator-<round>.lravae  the whole (retrained) estimator or pipeline, written with
                            :func:`sklearn_lravae.save` (JSON + npz + weights-only torch)
    vae-<round>.pt          fallback when the estimator cannot be saved that way (e.g. a
                            custom torch module): VAE module + optimiser state dicts only,
                            loaded into a refitted copy of the user's estimator
    run.lock                held by the run using the folder (:mod:`._lock`)

Every file is written to a temporary name in the same directory, fsync'ed and
moved into place with :func:`os.replace` (then the directory is fsync'ed), so a
run killed at any instant leaves a complete checkpoint. ``state.json`` starts
with the SHA-256 of the rest of its text and records the SHA-256 of the model
file it names; both are checked on load. One commit (:func:`save_checkpoint`)
is: hard-link the current ``state.json`` to ``state.prev.json`` (atomically),
write the new ``state.json``, remove model files neither generation names.
A damaged or missing ``state.json`` (or model file) is reported by name and the
previous generation is loaded instead (its last round is then evaluated again).

Loading uses :func:`json.loads` and ``torch.load(weights_only=True)``: nothing
in a checkpoint can execute code. Format 3 checkpoints (no checksums, written
by earlier versions) are read as they are.
"""

import errno
import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch

from .._persistence import load, save
from .._utils import atomic_write
from ..reference import reference_from_state, reference_to_state
from ._encode import LatentCodec

__all__ = [
    "checkpoint_search",
    "restore_codec",
    "save_search_model",
    "load_model",
    "load_state",
    "load_weights",
    "remove_stale_models",
    "save_checkpoint",
    "save_model",
    "save_state",
    "save_weights",
]

FORMAT_VERSION = 4
READABLE_FORMATS = (3, 4)
STATE_FILE = "state.json"
PREVIOUS_FILE = "state.prev.json"
_SEAL = b'{"sha256": "'
_SEAL_END = len(_SEAL) + 64
_DIGESTS = {}  # absolute path -> (stat signature, sha256) of files this process wrote
_WRITTEN = {}  # absolute path of a state.json -> (stat signature, summary) as written here


def _to_json(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def _seal(body):
    """``body`` (a JSON object's text) with ``"sha256": <digest of body>`` as its first key."""
    digest = hashlib.sha256(body).hexdigest().encode()
    return _SEAL + digest + b'", ' + body[1:]


def _unseal(data):
    """``(body, sealed)``: sealed is True / False (checksum (mis)matches) / None (none)."""
    if not data.startswith(_SEAL) or data[_SEAL_END : _SEAL_END + 3] != b'", ':
        return data, None
    body = b"{" + data[_SEAL_END + 3 :]
    return body, hashlib.sha256(body).hexdigest().encode() == data[len(_SEAL) : _SEAL_END]


def _signature(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def file_sha256(path, *, cached=False):
    """SHA-256 of a file; ``cached`` reuses the digest of a file unchanged since it was hashed."""
    key = os.path.abspath(path)
    if cached and key in _DIGESTS and _DIGESTS[key][0] == _signature(path):
        return _DIGESTS[key][1]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    _DIGESTS[key] = (_signature(path), h.hexdigest())
    return _DIGESTS[key][1]


def _write_error(directory, exc):
    """The OSError of a failed checkpoint write, naming the folder and the way on."""
    message = (
        f"could not write the checkpoint in {directory}: {exc.strerror or exc}. The last "
        "checkpoint written in full is still there: free disk space (or fix the folder), "
        "then continue the run with fit(..., resume=True)."
    )
    return OSError(exc.errno, message) if exc.errno else OSError(message)


def _fsync_dir(directory):
    """Make the renames in ``directory`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def save_state(directory, state):
    """Write ``state`` (JSON-serialisable, NumPy allowed) to ``directory/state.json``.

    The text carries its own SHA-256, and the SHA-256 of the model file named
    by ``state["model_file"]`` (if any) is recorded as ``model_sha256``.
    """
    directory = Path(directory)
    payload = {"format_version": FORMAT_VERSION, **state}
    model = state.get("model_file")
    if model is not None and (directory / model).is_file():
        payload["model_sha256"] = file_sha256(directory / model, cached=True)
    data = _seal(json.dumps(payload, default=_to_json, allow_nan=True).encode())
    try:
        path = atomic_write(directory / STATE_FILE, lambda fh: fh.write(data), make_parents=True)
    except OSError as exc:
        raise _write_error(directory, exc) from exc
    _WRITTEN[os.path.abspath(path)] = (_signature(path), _summary(payload))


def _summary(state):
    """What a commit needs to know about the generation it replaces."""
    keys = ("initial_digest", "seed", "model_file")
    return {**{k: state.get(k) for k in keys}, "n_history": len(state.get("history", ()))}


def _check_model(directory, name, state, cached):
    """Why the model file named by ``state`` (read from ``name``) is unusable, or None."""
    model = state.get("model_file")
    if model is None:
        return None
    path = directory / model
    if not path.is_file():
        return f"the model file {path} named by {name} is missing"
    expected = state.get("model_sha256")
    if expected is not None and file_sha256(path, cached=cached) != expected:
        return f"the model file {path} is damaged: its SHA-256 differs from the one in {name}"
    return None


def _read_generation(directory, name, cached=False):
    """``(state, None)`` for a good generation, ``(None, why)`` for a bad or missing one.

    Raises
    ------
    ValueError
        If the file is intact but of a format this version does not read.
    """
    path = directory / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, f"{path} is missing"
    except OSError as exc:
        return None, f"{path} cannot be read ({exc})"
    body, sealed = _unseal(data)
    if sealed is False:
        return None, f"{path} is damaged: its content does not match its SHA-256 checksum"
    try:
        state = json.loads(body)
        version = state.get("format_version")
    except (ValueError, AttributeError) as exc:
        return None, f"{path} is damaged: it is not a JSON object ({exc})"
    if version not in READABLE_FORMATS:
        raise ValueError(
            f"{path} has checkpoint format {version!r}; this version of sklearn-lravae reads "
            f"format {FORMAT_VERSION} (and {READABLE_FORMATS[0]}). Start a new checkpoint "
            "directory or use the matching package version."
        )
    if version >= 4 and not sealed:
        return None, f"{path} is damaged: its SHA-256 checksum is missing"
    problem = _check_model(directory, name, state, cached)
    return (None, problem) if problem else (state, None)


def load_state(directory):
    """Read the newest intact generation of ``directory``; None when there is no checkpoint.

    ``state.json`` is checked against its checksum, and the model file it
    names against the one recorded; when either is damaged or missing, the
    previous generation (``state.prev.json``) is loaded with a warning.

    Raises
    ------
    ValueError
        If no generation is intact (the message names the damaged files), or
        a checkpoint has a format this version does not read.

    Warns
    -----
    RuntimeWarning
        When falling back to the previous generation.
    """
    directory = Path(directory)
    if not any((directory / n).exists() for n in (STATE_FILE, PREVIOUS_FILE)):
        return None
    state, problem = _read_generation(directory, STATE_FILE)
    if state is not None:
        return state
    previous, why = _read_generation(directory, PREVIOUS_FILE)
    if previous is None:
        raise ValueError(
            f"cannot resume from the checkpoint in {directory}: {problem}, and the previous "
            f"generation is unusable too ({why}). Nothing there was changed: restore the "
            "damaged files from a backup, or start afresh with fit(..., resume=False) or "
            "in a new checkpoint folder."
        )
    warnings.warn(
        f"{problem}; resuming from the previous checkpoint {directory / PREVIOUS_FILE} "
        f"({len(previous.get('history', []))} evaluations): the evaluations recorded after "
        "it are run again.",
        RuntimeWarning,
        stacklevel=2,
    )
    return previous


def _same_run(old, new):
    """Whether ``new`` continues the run of ``old`` (summaries: same start, no fewer rows)."""
    return (
        old["initial_digest"] == new["initial_digest"]
        and old["seed"] == new["seed"]
        and old["n_history"] <= new["n_history"]
    )


def _current(directory):
    """Summary of the intact ``state.json`` in ``directory``, or None (missing or damaged).

    A file this process wrote and nobody changed since is not read again.
    """
    path = directory / STATE_FILE
    key = os.path.abspath(path)
    try:
        if key in _WRITTEN and _WRITTEN[key][0] == _signature(path):
            return _WRITTEN[key][1]
    except FileNotFoundError:
        return None
    try:
        state, _ = _read_generation(directory, STATE_FILE, cached=True)
    except ValueError:  # an unreadable format: not ours to keep
        return None
    return None if state is None else _summary(state)


def _link_or_copy(src, dst):
    """Make ``dst`` an atomic copy of ``src`` (a hard link where the file system has them)."""
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.link(src, tmp)
    except OSError:  # no hard links here (FAT, some network file systems): copy
        data = src.read_bytes()
        atomic_write(dst, lambda fh: fh.write(data))
        return
    try:
        os.replace(tmp, dst)
    except BaseException:
        _unlink(tmp)
        raise


def _rotate(directory, state):
    """Keep the current generation as the previous one; return the model file it needs."""
    old = _current(directory)
    if old is not None and _same_run(old, _summary(state)):
        _link_or_copy(directory / STATE_FILE, directory / PREVIOUS_FILE)
        return old["model_file"]
    if old is not None:  # a finished run started afresh here: its generations go
        _unlink(directory / PREVIOUS_FILE)
        return None
    try:  # no current generation, or a damaged one: keep the previous one as it is
        kept, _ = _read_generation(directory, PREVIOUS_FILE, cached=True)
    except ValueError:
        kept = None
    return kept.get("model_file") if kept is not None else None


def save_checkpoint(directory, state):
    """Commit one generation: previous one kept, ``state.json`` written, stale files removed.

    Parameters
    ----------
    directory : str or os.PathLike
        The checkpoint folder (created if missing).
    state : dict
        JSON-serialisable state (NumPy allowed); ``state["model_file"]``
        names the model file in ``directory`` it goes with.

    Raises
    ------
    OSError
        When a write fails (e.g. ``errno.ENOSPC``, a full disk); the message
        names the folder, and the checkpoint there stays complete.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        previous_model = _rotate(directory, state)
    except OSError as exc:
        raise _write_error(directory, exc) from exc
    save_state(directory, state)  # its OSError names the folder already
    try:
        _fsync_dir(directory)
    except OSError as exc:
        raise _write_error(directory, exc) from exc
    remove_stale_models(directory, keep={state.get("model_file"), previous_model})


def save_weights(directory, name, vae):
    """Save the VAE's network state (weights, optimiser, counters; tensors and numbers only)."""
    state = vae.get_network_state()
    payload = {k: state[k] for k in ("module", "optimizer", "seed", "n_fit_calls", "n_iter")}
    path = atomic_write(
        Path(directory) / name, lambda fh: torch.save(payload, fh), make_parents=True
    )
    file_sha256(path)  # remembered for the state.json that will name it


def load_weights(directory, name, vae):
    """Load weights saved by :func:`save_weights` into a fitted ``vae`` (no code runs)."""
    payload = torch.load(Path(directory) / name, weights_only=True, map_location="cpu")
    vae.set_network_state(payload)


def save_model(directory, round_, estimator, vae, allow_full=True):
    """Save the estimator for retraining round ``round_``; return ``(file, kind)``.

    ``kind`` is ``"full"`` (the whole estimator, :func:`sklearn_lravae.save`)
    or ``"weights"`` (VAE state dicts only) when ``allow_full`` is False or the
    estimator cannot be saved without pickle.

    Raises
    ------
    OSError
        When the write fails (e.g. a full disk), naming the folder.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if allow_full:
            name = f"estimator-{round_}.lravae"
            try:
                file_sha256(save(estimator, directory / name))  # atomic; digest remembered
                return name, "full"
            except TypeError:  # custom module, callbacks, ...: fall back to weights
                pass
        name = f"vae-{round_}.pt"
        save_weights(directory, name, vae)
    except OSError as exc:
        raise _write_error(directory, exc) from exc
    return name, "weights"


def load_model(directory, name):
    """Load an estimator saved by :func:`save_model` with kind ``"full"``."""
    return load(Path(directory) / name)


_TEMPORARY = ("state.json", "state.prev.json", "estimator-", "vae-", ".run.lock.")


def _is_stale(name, keep):
    if name in keep:
        return False
    if name.startswith(".") and name.endswith(".tmp"):  # left by a run killed mid-write
        return any(k in name for k in _TEMPORARY)
    return (name.startswith("estimator-") and name.endswith(".lravae")) or (
        name.startswith("vae-") and name.endswith(".pt")
    )


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_stale_models(directory, keep):
    """Delete model files other than ``keep`` and orphaned temporary files.

    Called after ``state.json`` was committed, by the only process writing to
    ``directory`` (the holder of its lock). Best effort: a file that cannot be
    removed now is removed after a later commit.

    Parameters
    ----------
    directory : str or os.PathLike
        The checkpoint folder.
    keep : str or collection of str
        Model file name(s) still needed (current and previous generation).
    """
    keep = {keep} if isinstance(keep, str) else set(keep)
    for path in Path(directory).iterdir():
        if _is_stale(path.name, keep):
            try:
                path.unlink()
            except OSError:
                pass


# ------------------------------------------------------------- a search's checkpoint
def save_search_model(directory, state, estimator, vae, first=False):
    """Save the search's estimator for ``state``'s retraining round; record it in ``state``.

    The whole estimator is saved when :func:`sklearn_lravae.save` can store it
    (and, on the first save, :func:`sklearn_lravae.load` can read it back);
    otherwise only the VAE's weights (``state.model_kind = "weights"``).
    """
    state.model_file, state.model_kind = save_model(
        directory, state.n_retrain_rounds, estimator, vae, allow_full=state.model_kind == "full"
    )
    if first and state.model_kind == "full":
        try:  # a class outside the loader's allowlist only fails at load time
            load_model(directory, state.model_file)
        except (ValueError, TypeError):
            state.model_kind = "weights"
            save_search_model(directory, state, estimator, vae)


def checkpoint_search(directory, state, codec, surrogates):
    """Commit ``state`` (a SearchState) with the VAE's counters, reference and the GP state."""
    if state.model_file is None:  # checkpoint set after fit
        save_search_model(directory, state, codec.estimator, codec.vae)
    net = codec.vae.get_network_state()
    state.vae = {k: net[k] for k in ("n_fit_calls", "n_iter", "seed")}
    state.reference = reference_to_state(codec.vae.reference)
    state.surrogate = surrogates.state()
    save_checkpoint(directory, state.to_dict())


def restore_codec(directory, saved, estimator, objects):
    """The search's estimator as checkpointed in ``saved`` (the body of ``state.json``).

    The saved (retrained) estimator when it was saved whole; otherwise a copy of
    ``estimator`` fitted on ``objects`` (as at the start of the run) into which
    the saved weights, counters and reference are loaded.
    """
    if saved["model_kind"] == "full":  # the saved (retrained) estimator, no refit
        return LatentCodec(load_model(directory, saved["model_file"]))
    codec = LatentCodec.fitted_copy(estimator, objects)
    load_weights(directory, saved["model_file"], codec.vae)
    if saved.get("vae"):  # counters of checkpoints written before format 3.1
        codec.vae.set_network_state(saved["vae"])
    ref = reference_from_state(saved.get("reference"))
    if ref is not None:
        codec.vae.set_params(reference=ref)
    return codec
