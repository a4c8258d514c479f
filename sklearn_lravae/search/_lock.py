"""One run per checkpoint folder: a lock file held for the duration of ``fit`` / ``tell``.

The lock is the file ``run.lock`` in the checkpoint folder. It holds the
holder's process id, host name and start time (JSON), is created with
``os.open(O_CREAT | O_EXCL)`` and, where :mod:`fcntl` is available, is also
``flock``-ed by the holder for as long as it runs. The operating system drops
an ``flock`` when its process dies, however it dies, so a lock file left behind
by a killed run is recognised as stale on the same host and taken over with a
warning. Where ``flock`` is not available, a lock whose process id is no longer
running on this host is stale.

A lock held by a run on another host (a shared file system) cannot be checked
from here: if that run is known to be dead, remove the lock with
:func:`break_lock` (or delete ``run.lock``).
"""

import datetime
import errno
import json
import os
import socket
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["LOCK_FILE", "CheckpointLock", "CheckpointLockedError", "break_lock", "hold_lock"]

LOCK_FILE = "run.lock"


class CheckpointLockedError(RuntimeError):
    """A checkpoint folder is in use by another run (see :func:`break_lock`)."""


def _describe(info):
    if not info:
        return "an unknown process (the lock file is empty or unreadable)"
    return (
        f"process {info.get('pid')} on host {info.get('hostname')!r}, started {info.get('started')}"
    )


def _read_info(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
        info = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _pid_running(pid):
    """Whether ``pid`` runs on this host; True when it cannot be told (Windows)."""
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _flock(fd):
    """``"held"`` (ours now), ``"busy"`` (a live process holds it) or ``"unsupported"``."""
    if fcntl is None:
        return "unsupported"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "busy"
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return "busy"
        return "unsupported"  # e.g. ENOLCK / EOPNOTSUPP on some network file systems
    return "held"


def _write_info(fd):
    """Write who holds the lock (pid, host, start time) into the open lock file."""
    info = {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(info).encode())
    os.fsync(fd)


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:  # gone already, or (Windows) still open elsewhere
        pass


def _same_file(fd, path):
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class CheckpointLock:
    """The lock of one checkpoint folder, for one run.

    Parameters
    ----------
    directory : str or os.PathLike
        The checkpoint folder (created if missing).

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_lravae.search._lock import CheckpointLock, CheckpointLockedError
    >>> folder = tempfile.mkdtemp()
    >>> with CheckpointLock(folder):
    ...     try:
    ...         CheckpointLock(folder).acquire()
    ...     except CheckpointLockedError as exc:
    ...         print("refused:", "break_lock" in str(exc))
    refused: True
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self._fd = None

    def acquire(self):
        """Take the lock; return ``self``.

        Raises
        ------
        CheckpointLockedError
            If a live run (or one that cannot be checked) holds the folder.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # only repeats when the holder released it meanwhile
            if self._try_acquire():
                return self
        raise CheckpointLockedError(  # pragma: no cover - needs a pathological race
            f"could not lock the checkpoint folder {self.directory}: its lock file kept "
            "changing; make sure no other run uses this folder, then try again."
        )

    def _try_acquire(self):
        """Publish a complete, already ``flock``-ed lock file under its name, atomically."""
        fd, tmp = self._prepared()
        try:
            os.link(tmp, self.path)  # fails if the lock exists; never a half-written lock
        except FileExistsError:
            os.close(fd)
            return self._take_existing()
        except FileNotFoundError:  # our temporary file was cleaned up: try again
            os.close(fd)
            return False
        except OSError:  # no hard links here: exclusive create, then write
            os.close(fd)
            return self._create_exclusive()
        finally:
            _unlink_quietly(tmp)
        self._fd = fd
        return True

    def _prepared(self):
        name = f".{LOCK_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        tmp = self.directory / name
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _flock(fd)
            _write_info(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        return fd, tmp

    def _create_exclusive(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self._take_existing()
        if _flock(fd) == "busy":  # pragma: no cover - another run raced us to it
            os.close(fd)
            return False
        _write_info(fd)
        self._fd = fd
        return True

    def _take_existing(self):
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False  # released meanwhile: create it again
        state = _flock(fd)
        info = _read_info(self.path)
        if state == "busy":
            os.close(fd)
            self._refuse(info, "it is running")
        if not _same_file(fd, self.path):  # the holder removed it while we opened it
            os.close(fd)
            return False
        here = info.get("hostname") == socket.gethostname()
        dead = here and (state == "held" or not _pid_running(info.get("pid")))
        if not dead:
            os.close(fd)
            why = (
                "it may still be running (another host)"
                if not here
                else "it is still running (or this system cannot tell)"
            )
            self._refuse(info, why)
        warnings.warn(
            f"took over the lock of the checkpoint folder {self.directory}: its holder, "
            f"{_describe(info)}, is no longer running (a crashed or killed run).",
            RuntimeWarning,
            stacklevel=5,
        )
        _write_info(fd)
        self._fd = fd
        return True

    def _refuse(self, info, why):
        raise CheckpointLockedError(
            f"the checkpoint folder {self.directory} is in use by {_describe(info)}; "
            f"{why}. Two runs must not write the same checkpoint: wait for that run to "
            "finish or use another folder. If that run is dead, remove its lock with "
            f"sklearn_lravae.search.break_lock({str(self.directory)!r}) "
            f"(or delete {self.path})."
        )

    def release(self):
        """Give the lock up (remove the lock file if it is still ours)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        ours = _same_file(fd, self.path)  # not broken and re-taken by another run since
        if os.name == "posix" and ours:
            _unlink_quietly(self.path)  # before the flock drops: nobody takes a dead file
        os.close(fd)
        if os.name != "posix" and ours:
            _unlink_quietly(self.path)  # Windows removes closed files only

    @property
    def held(self):
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


@contextmanager
def hold_lock(directory):
    """Hold the lock of ``directory`` for a ``with`` block; nothing when it is None."""
    if directory is None:
        yield None
        return
    lock = CheckpointLock(directory).acquire()
    try:
        yield lock
    finally:
        lock.release()


def break_lock(directory):
    """Remove the lock of a checkpoint folder left behind by a dead run.

    A run that was killed leaves ``run.lock`` in its checkpoint folder. On the
    same host the next run takes such a lock over by itself (with a warning);
    a lock written on another host, or on a system where the holder cannot be
    checked, must be removed with this function once you are sure that run
    is dead. Breaking the lock of a live run lets two runs write the same
    checkpoint: do not.

    Parameters
    ----------
    directory : str or os.PathLike
        The checkpoint folder.

    Returns
    -------
    holder : dict or None
        What the lock said about its holder (``pid``, ``hostname``,
        ``started``), or None when the folder was not locked.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_lravae.search import break_lock
    >>> break_lock(tempfile.mkdtemp()) is None
    True
    """
    path = Path(directory) / LOCK_FILE
    if not path.exists():
        return None
    info = _read_info(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return info
