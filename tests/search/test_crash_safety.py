"""Crash safety of a search (issue 20): what survives what.

- a worker process that dies (segfault, ``os._exit``) fails only the evaluation it held;
- a checkpoint folder is locked by the run that uses it;
- checkpoint files carry checksums; a damaged generation falls back to the previous one;
- a kill or a full disk at every step of a checkpoint write, and a kill during
  retraining, are followed by a resume that loses no completed evaluation and repeats
  at most the one in flight.

The searches are tiny (digits, 2 latent dimensions, 1-epoch retraining after every
evaluation) and deterministic (``n_jobs=1``), so a resumed run must reproduce the
uninterrupted one. Objectives log one line per call to a file, which counts calls
across processes.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
N_CALLS = 3  # evaluations of the small runs; the VAE is retrained after each
SOAK_CALLS = 16  # enough rounds that a fast machine still gets >= 6 kills
SOAK = {"retrain_epochs": 6, "n_initial_points": 2}  # retraining takes most of the time
TAKEOVER = "took over the lock"  # the warning of a run that finds a dead run's lock


# ----------------------------------------------------------------------- helpers
def _data():
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    return X[:4], X[:150], X[-1]  # initial objects, training objects, target image


def _key(x):
    return hashlib.sha1(np.ascontiguousarray(x, dtype=float).tobytes()).hexdigest()[:16]


class Logged:
    """Objective: negative squared distance to ``target``; one line per call in ``log``."""

    def __init__(self, target, log):
        self.target, self.log = target, str(log)

    def __call__(self, x):
        with open(self.log, "a") as fh:
            fh.write(_key(x) + "\n")
        return -float(np.sum((np.asarray(x) - self.target) ** 2))


def _calls(log):
    return Path(log).read_text().split() if Path(log).exists() else []


def _search(checkpoint, log, n_calls=N_CALLS, **kw):
    from sklearn_lravae import LRAVAETransformer
    from sklearn_lravae.search import LatentBayesSearch

    vae = LRAVAETransformer(
        2, likelihood="bernoulli", hidden_layer_sizes=(8,), max_epochs=2, random_state=0
    )
    params = dict(
        retrain_every=1,
        retrain_epochs=2,
        n_initial_points=N_CALLS,  # seeded prior samples: cheap, and the GP past them
        acq_optimizer="sampling",
        checkpoint=checkpoint,
        random_state=0,
    )
    return LatentBayesSearch(vae, Logged(_data()[2], log), n_calls=n_calls, **{**params, **kw})


def _fit(search, resume=False):
    X0, train, target = _data()
    y0 = [-float(np.sum((x - target) ** 2)) for x in X0]  # not logged: only search calls count
    return search.fit(X0, y=y0, train_objects=train, resume=resume)


def _values(search):
    return [h["value"] for h in search.history_]


def _committed(folder):
    """Evaluations in the checkpoint; loading it must need no fallback (nothing damaged)."""
    from sklearn_lravae.search._checkpoint import load_state

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = load_state(folder)
    return [] if state is None else [h["value"] for h in state["history"]]


def _resume(folder, log, n_calls=N_CALLS):
    """Resume in this process; a dead run's lock may be taken over (that warning only)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TAKEOVER, category=RuntimeWarning)
        return _fit(_search(folder, log, n_calls), resume=True)


def _assert_only_checkpoint_files(folder):
    names = sorted(os.listdir(folder))
    assert not [n for n in names if n.endswith(".tmp") or n == "run.lock"], names
    assert {"state.json", "state.prev.json"} <= set(names) and len(names) <= 4, names


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Values of the uninterrupted run of N_CALLS + 1 evaluations."""
    folder = tmp_path_factory.mktemp("reference")
    return _values(_fit(_search(folder / "ckpt", folder / "log", N_CALLS + 1)))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A checkpoint folder of a completed N_CALLS run (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("finished")
    _fit(_search(folder / "ckpt", folder / "log"))
    return folder / "ckpt"


# ------------------------------------------------------------------ worker crashes
def _crashing_objective(folder):
    """len(obj) for strings; "SEGV" segfaults its process, "EXIT" calls os._exit(3),
    "FLAKY" segfaults the first time only. Nested: cloudpickle sends it by value."""
    log, marker = str(folder / "calls"), str(folder / "flaky-crashed")

    def objective(obj):
        with open(log, "a") as fh:
            fh.write(obj + "\n")
        if obj == "EXIT":
            os._exit(3)
        first = obj == "FLAKY" and not os.path.exists(marker)
        if first:
            open(marker, "w").close()
        if obj == "SEGV" or first:
            os.kill(os.getpid(), signal.SIGSEGV)
        return float(len(obj))

    return objective


def test_worker_crash_fails_only_its_object_and_is_retried_once(tmp_path):
    from sklearn_lravae.search._evaluate import evaluate

    objects = ["FLAKY", "a", "SEGV", "bb", "EXIT", "ccc"]
    with pytest.warns(RuntimeWarning, match=r"worker process died \(SIGSEGV"):
        out = evaluate(_crashing_objective(tmp_path), objects, n_jobs=2)
    status = dict(zip(objects, [e.status for e in out], strict=True))
    assert status == {
        "FLAKY": "ok",
        "a": "ok",
        "SEGV": "crashed",
        "bb": "ok",
        "EXIT": "crashed",
        "ccc": "ok",
    }
    assert [e.value for e in out if e.status == "ok"] == [5.0, 1.0, 2.0, 3.0]
    messages = {o: e.message for o, e in zip(objects, out, strict=True)}
    assert "SIGSEGV(-11)" in messages["SEGV"] and "EXIT(3)" in messages["EXIT"]
    assert all(np.isnan(e.value) for e in out if e.status == "crashed")
    calls = _calls(tmp_path / "calls")
    assert calls.count("FLAKY") == 2  # crashed in the pool, fine alone
    assert all(1 <= calls.count(o) <= 2 for o in objects)  # nobody runs more than twice


def test_known_crashes_are_not_run_again(tmp_path):
    from sklearn_lravae.search._evaluate import STATUSES, evaluate, object_key

    log = tmp_path / "calls"

    def objective(obj):
        with open(log, "a") as fh:
            fh.write(f"{obj}\n")
        return 1.0

    out = evaluate(objective, ["C", "CC", ""], known_crashes={object_key("CC")})
    assert [e.status for e in out] == ["ok", "crashed", "invalid"] and "crashed" in STATUSES
    assert "earlier" in out[1].message and _calls(log) == ["C"]


def _crash_on_first_object(folder):
    """Distance to a digit; the first object any worker sees segfaults it, every time."""
    target, log, poison = _data()[2], str(folder / "calls"), str(folder / "poison")

    def objective(x):
        key = hashlib.sha1(np.ascontiguousarray(x, dtype=float).tobytes()).hexdigest()
        with open(log, "a") as fh:
            fh.write(key + "\n")
        try:
            fd = os.open(poison, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, key.encode())
            os.close(fd)
            bad = True
        except FileExistsError:
            with open(poison) as fh:
                bad = fh.read() == key
        if bad:
            os.kill(os.getpid(), signal.SIGSEGV)
        return -float(np.sum((np.asarray(x) - target) ** 2))

    return objective


def test_search_goes_on_after_a_worker_crash(tmp_path):
    search = _search(tmp_path / "ckpt", tmp_path / "unused", n_calls=4, retrain_every=None)
    search.set_params(objective=_crash_on_first_object(tmp_path), batch_size=2, n_jobs=2)
    with pytest.warns(RuntimeWarning, match="worker process died"):
        _fit(search)
    statuses = [h["status"] for h in search.history_]
    assert sorted(statuses) == ["crashed", "ok", "ok", "ok"]  # the second round ran too
    crashed = search.history_[statuses.index("crashed")]
    assert "SIGSEGV" in crashed["message"] and np.isnan(crashed["value"])
    calls = _calls(tmp_path / "calls")
    poison = (tmp_path / "poison").read_text()
    assert calls.count(poison) == 2 and len(calls) <= 4 + 2
    # the crash is in the checkpoint like any other failure
    assert [
        h["status"] for h in json.loads((tmp_path / "ckpt" / "state.json").read_text())["history"]
    ] == statuses


# ------------------------------------------------------------------------- locking
HOLDER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("lock", sys.argv[1])
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
lock.CheckpointLock(sys.argv[2]).acquire()
print("LOCKED", flush=True)
sys.stdin.read()  # hold the lock until killed
"""


def test_a_second_run_on_a_locked_folder_is_refused(tmp_path):
    from sklearn_lravae.search import CheckpointLockedError

    folder = tmp_path / "ckpt"
    module = REPO / "sklearn_lravae" / "search" / "_lock.py"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(module), str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        pattern = rf"{re.escape(str(folder))} is in use by process {holder.pid} .*break_lock"
        with pytest.raises(CheckpointLockedError, match=pattern):
            _fit(_search(folder, tmp_path / "log"), resume=True)
        other = _fit(_search(tmp_path / "other", tmp_path / "log", n_calls=1))
        other.set_params(checkpoint=folder)
        with pytest.raises(CheckpointLockedError, match=str(holder.pid)):
            other.tell(_data()[0][:1], [-1.0])  # tell writes the checkpoint too
        assert os.listdir(folder) == ["run.lock"] and len(_calls(tmp_path / "log")) == 1
    finally:
        holder.kill()
        holder.communicate()  # waits, and closes the pipes
    # the holder died without releasing: its lock is stale and taken over, with a warning
    with pytest.warns(RuntimeWarning, match=rf"{TAKEOVER}.*process {holder.pid}.*no longer"):
        _fit(_search(folder, tmp_path / "log", n_calls=1))
    assert not (folder / "run.lock").exists()  # released at the end of fit


def test_a_lock_from_another_host_is_broken_with_break_lock(tmp_path):
    from sklearn_lravae.search import CheckpointLockedError, break_lock

    folder = tmp_path / "ckpt"
    folder.mkdir()
    holder = {"pid": 12345, "hostname": "node-17.cluster", "started": "2024-01-01T00:00:00"}
    (folder / "run.lock").write_text(json.dumps(holder))
    with pytest.raises(CheckpointLockedError, match=r"node-17\.cluster.*another host.*break_lock"):
        _fit(_search(folder, tmp_path / "log", n_calls=1))
    assert _calls(tmp_path / "log") == []
    assert break_lock(folder) == holder and break_lock(folder) is None
    _fit(_search(folder, tmp_path / "log", n_calls=1))


def test_the_lock_is_released_when_fit_fails(tmp_path):
    folder = tmp_path / "ckpt"
    search = _search(folder, tmp_path / "log", n_calls=1)

    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(search.set_params(objective=interrupted))
    assert not (folder / "run.lock").exists()
    _fit(_search(folder, tmp_path / "log", n_calls=1), resume=True)  # no warning, no error


# ----------------------------------------------------------------------- checksums
def _damage(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle
    path.write_bytes(bytes(data))


def test_damaged_state_is_named_and_the_previous_generation_resumes(finished, reference, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(finished, folder)
    previous = json.loads((folder / "state.prev.json").read_text())
    assert len(previous["history"]) == N_CALLS - 1
    _damage(folder / "state.json")
    with pytest.warns(RuntimeWarning, match=r"state\.json is damaged.*state\.prev\.json"):
        resumed = _fit(_search(folder, tmp_path / "log", N_CALLS + 1), resume=True)
    np.testing.assert_allclose(_values(resumed), reference, rtol=1e-6)
    assert len(_calls(tmp_path / "log")) == 2  # the evaluation after the previous one, again
    _assert_only_checkpoint_files(folder)


def test_damaged_model_file_is_named_and_the_previous_generation_resumes(
    finished, reference, tmp_path
):
    folder = tmp_path / "ckpt"
    shutil.copytree(finished, folder)
    state = json.loads((folder / "state.json").read_text())
    model = folder / state["model_file"]
    assert state["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    _damage(model)
    with pytest.warns(RuntimeWarning, match=rf"model file .*{re.escape(model.name)} is damaged"):
        resumed = _fit(_search(folder, tmp_path / "log", N_CALLS + 1), resume=True)
    np.testing.assert_allclose(_values(resumed), reference, rtol=1e-6)
    assert len(_calls(tmp_path / "log")) == 2


def test_no_intact_generation_raises_naming_the_files(finished, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(finished, folder)
    _damage(folder / "state.json")
    _damage(folder / "state.prev.json")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(
        ValueError, match=r"state\.json is damaged.*state\.prev\.json.*resume=False"
    ):
        _fit(_search(folder, tmp_path / "log"), resume=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing changed
    assert _calls(tmp_path / "log") == []


def test_format_3_checkpoint_still_resumes(finished, reference, tmp_path):
    """A checkpoint as written before checksums (format 3: plain JSON, no previous one)."""
    folder = tmp_path / "ckpt"
    shutil.copytree(finished, folder)
    state = json.loads((folder / "state.json").read_text())
    for key in ("sha256", "model_sha256"):
        del state[key]
    state["format_version"] = 3
    (folder / "state.json").write_text(json.dumps(state))
    (folder / "state.prev.json").unlink()
    resumed = _fit(_search(folder, tmp_path / "log", N_CALLS + 1), resume=True)  # no warning
    np.testing.assert_allclose(_values(resumed), reference, rtol=1e-6)
    assert len(_calls(tmp_path / "log")) == 1
    assert json.loads((folder / "state.prev.json").read_text())["format_version"] == 3


# ----------------------------------------------------------------- fault injection
class Faults:
    """Fail the k-th file-system step of checkpoint writing, deterministically.

    The steps are the calls of ``tempfile.mkstemp``, ``os.fsync``, ``os.link``,
    ``os.replace`` and ``os.unlink`` made by ``_checkpoint`` (and what it calls:
    ``sklearn_lravae.save``, ``atomic_write``) while the objective has been
    called ``after_calls`` times. ``kind="kill"`` copies the checkpoint folder as
    it is just before step k (what a SIGKILL there leaves on disk) and raises
    SystemExit; ``kind="enospc"`` raises ``OSError(ENOSPC)`` at step k.
    """

    STEPS = (
        ("tempfile", "mkstemp"),
        ("os", "fsync"),
        ("os", "link"),
        ("os", "replace"),
        ("os", "unlink"),
    )

    def __init__(self, monkeypatch, after_calls):
        self.after_calls, self.at, self.n, self.log = after_calls, None, 0, None
        for module, name in self.STEPS:
            real = getattr(sys.modules[module], name)
            monkeypatch.setattr(sys.modules[module], name, self._wrap(name, real))

    def arm(self, log, at=None, kind=None, folder=None, snapshot=None):
        self.log, self.at, self.kind, self.folder, self.snapshot = log, at, kind, folder, snapshot
        self.n, self.names = 0, []

    def _active(self):
        if self.log is None or len(_calls(self.log)) != self.after_calls:
            return False
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.endswith(os.path.join("search", "_checkpoint.py")):
                return True
            frame = frame.f_back
        return False

    def _wrap(self, name, real):
        def step(*args, **kwargs):
            if self._active():
                self.n += 1
                self.names.append(name)
                if self.n == self.at:
                    self.log = None  # one fault per run
                    if self.kind == "enospc":
                        raise OSError(errno.ENOSPC, "No space left on device (injected)")
                    shutil.copytree(self.folder, self.snapshot)
                    raise SystemExit(f"killed before {name} (injected)")
            return real(*args, **kwargs)

        return step


@pytest.mark.parametrize("kind", ["kill", "enospc"])
@pytest.mark.parametrize("after_calls", [0, 2], ids=["first-save", "save-after-retraining"])
def test_fault_at_every_step_of_a_save_loses_nothing(
    monkeypatch, tmp_path, reference, kind, after_calls
):
    faults = Faults(monkeypatch, after_calls)
    faults.arm(tmp_path / "dry.log")  # count the steps of that save
    _fit(_search(tmp_path / "dry", tmp_path / "dry.log"))
    n_steps = faults.n
    assert n_steps >= 7 and {"mkstemp", "fsync", "replace"} <= set(faults.names)
    for k in range(1, n_steps + 1):
        folder, log = tmp_path / f"run{k}", tmp_path / f"run{k}.log"
        faults.arm(log, at=k, kind=kind, folder=folder, snapshot=tmp_path / f"killed{k}")
        try:
            _fit(_search(folder, log))
        except SystemExit:
            assert kind == "kill"
            folder = tmp_path / f"killed{k}"
        except OSError as exc:
            assert kind == "enospc" and exc.errno == errno.ENOSPC, exc
            assert str(folder) in str(exc) and "resume=True" in str(exc)
        else:  # not fatal: a failed clean-up after the commit, or no hard link (then a copy)
            assert kind == "enospc" and faults.names[k - 1] in ("unlink", "link"), faults.names
        faults.arm(None)
        done, n_before = _committed(folder), len(_calls(log))
        assert n_before - len(done) <= 1, f"step {k}: more than the evaluation in flight lost"
        resumed = _resume(folder, log)
        np.testing.assert_allclose(_values(resumed), reference[:N_CALLS], rtol=1e-6)
        assert _values(resumed)[: len(done)] == done  # committed evaluations kept as they were
        assert len(_calls(log)) - n_before == N_CALLS - len(done)  # and not run again
        _assert_only_checkpoint_files(folder)


# ------------------------------------------------------- kills in another process
def _main():
    """Subprocess entry: ``ckpt log n_calls mode``; mode "kill-in-retraining-<r>" SIGKILLs
    the process half-way through the r-th retraining (after its first epoch)."""
    from sklearn_lravae import LRAVAETransformer

    ckpt, log, n_calls, mode = sys.argv[1:5]
    real, count = LRAVAETransformer.partial_fit, []
    marker = Path(log + ".retraining")

    def partial_fit(self, X, y=None, sample_weight=None, epochs=None):
        count.append(1)
        marker.write_text("1")  # the soak test kills while this says "retraining"
        if mode == f"kill-in-retraining-{len(count)}":
            real(self, X, y, sample_weight=sample_weight, epochs=1)
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(self, X, y, sample_weight=sample_weight, epochs=epochs)
        marker.write_text("0")
        return out

    LRAVAETransformer.partial_fit = partial_fit
    extra = SOAK if mode == "soak" else {}
    search = _search(ckpt, log, int(n_calls), **extra)
    _fit(search, resume=True)
    print("VALUES", json.dumps(_values(search)))


def _launch(folder, n_calls, mode):
    code = "from tests.search.test_crash_safety import _main; _main()"
    args = [str(folder / "ckpt"), str(folder / "log"), str(n_calls), mode]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_during_retraining_then_resume(tmp_path, reference):
    proc = _launch(tmp_path, N_CALLS, "kill-in-retraining-2")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    done = _committed(tmp_path / "ckpt")
    assert len(done) == 1 and len(_calls(tmp_path / "log")) == 2  # killed in round 2
    with pytest.warns(RuntimeWarning, match=TAKEOVER):
        resumed = _fit(_search(tmp_path / "ckpt", tmp_path / "log"), resume=True)
    np.testing.assert_allclose(_values(resumed), reference[:N_CALLS], rtol=1e-6)
    assert _values(resumed)[:1] == done
    assert len(_calls(tmp_path / "log")) == N_CALLS + 1  # the round in flight, once more
    _assert_only_checkpoint_files(tmp_path / "ckpt")


def _retraining(marker):
    return marker.exists() and marker.read_text() == "1"


@pytest.mark.slow  # a dozen processes start, train and get killed: minutes under load
def test_soak_kills_during_a_retraining_heavy_run_lose_nothing(tmp_path):
    """SIGKILL a run that retrains after every evaluation a dozen times, half of them
    while it retrains, and resume it each time: nothing committed is lost or rerun."""
    log, ckpt = tmp_path / "log", tmp_path / "ckpt"
    marker = Path(f"{log}.retraining")
    rng = np.random.RandomState(0)
    kills, in_retraining, committed = 0, 0, []
    while True:
        marker.write_text("0")
        n_before, proc = len(_calls(log)), _launch(tmp_path, SOAK_CALLS, "soak")
        deadline = time.time() + 240
        while proc.poll() is None and len(_calls(log)) == n_before and time.time() < deadline:
            time.sleep(0.01)  # until this process evaluates (imports, resume)
        if kills < 12 and proc.poll() is None:
            if kills % 2:  # aim at a retraining
                while proc.poll() is None and not _retraining(marker):
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.05))
            else:
                time.sleep(rng.uniform(0, 0.3))  # a round takes ~0.15 s when idle
            if proc.poll() is None:
                in_retraining += _retraining(marker)
                os.kill(proc.pid, signal.SIGKILL)
                proc.communicate()  # waits, and closes the pipes
                kills += 1
                done = _committed(ckpt)  # intact, no fallback needed
                assert done[: len(committed)] == committed  # nothing committed is lost
                committed = done
                continue
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        break
    values = json.loads(next(x for x in out.splitlines() if x.startswith("VALUES"))[7:])
    reference = _fit(_search(tmp_path / "ref", tmp_path / "ref.log", SOAK_CALLS, **SOAK))
    np.testing.assert_allclose(values, _values(reference), rtol=1e-6)
    assert len(_calls(log)) <= SOAK_CALLS + kills  # at most the evaluation in flight, per kill
    assert kills >= 6 and in_retraining >= 3, (kills, in_retraining)
    print(
        f"soak: {kills} kills, {in_retraining} during retraining, "
        f"{len(_calls(log)) - SOAK_CALLS} evaluations repeated"
    )
