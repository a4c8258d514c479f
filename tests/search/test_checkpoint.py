"""Checkpoints of a search: state.json, model files, stale files; kill and resume."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from skorch.callbacks import EarlyStopping

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae._network import MLPCore
from sklearn_lravae.search import LatentBayesSearch
from sklearn_lravae.search._checkpoint import (
    FORMAT_VERSION,
    load_model,
    load_state,
    load_weights,
    remove_stale_models,
    save_model,
    save_state,
)


def _small_vae(random_state=0, **kw):
    return LRAVAETransformer(
        2,
        likelihood="bernoulli",
        hidden_layer_sizes=(8,),
        max_epochs=1,
        random_state=random_state,
        **kw,
    )


def _user_core(**kw):  # a user's own factory: save() cannot store its code
    return MLPCore(hidden_layer_sizes=(8,), **kw)


# ------------------------------------------------------------------ state.json
def test_save_state_load_state_round_trip(tmp_path):
    folder = tmp_path / "new" / "ckpt"  # created on demand
    state = {
        "latents": np.array([[0.5, -1.0], [np.nan, 2.0]]),
        "values": np.array([1.0, np.nan]),
        "n": np.int64(3),
        "name": "estimator-0.lravae",
        "nested": {"theta": [0.1, 0.2]},
    }
    save_state(folder, state)
    assert sorted(os.listdir(folder)) == ["state.json"]  # no temporary file left
    loaded = load_state(folder)
    assert loaded["format_version"] == FORMAT_VERSION
    assert loaded["latents"][0] == [0.5, -1.0] and np.isnan(loaded["latents"][1][0])
    assert loaded["values"][0] == 1.0 and np.isnan(loaded["values"][1])
    assert loaded["n"] == 3 and isinstance(loaded["n"], int)
    assert loaded["name"] == "estimator-0.lravae" and loaded["nested"] == {"theta": [0.1, 0.2]}
    # a second save replaces the first atomically
    save_state(folder, {"n": 4})
    assert load_state(folder)["n"] == 4 and sorted(os.listdir(folder)) == ["state.json"]


def test_load_state_without_checkpoint_is_none(tmp_path):
    assert load_state(tmp_path) is None
    assert load_state(tmp_path / "missing") is None


def test_load_state_refuses_other_format_versions(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"format_version": 2, "history": []}))
    with pytest.raises(ValueError, match=f"checkpoint format 2.*reads format {FORMAT_VERSION}"):
        load_state(tmp_path)


def test_save_state_refuses_objects_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="cannot store object in a checkpoint"):
        save_state(tmp_path, {"bad": object()})
    assert not (tmp_path / "state.json").exists()
    assert os.listdir(tmp_path) == []  # the temporary file was removed


# ------------------------------------------------------------------ model files
def test_save_model_full_and_load_model(digits, tmp_path):
    vae = _small_vae().fit(digits[0][:100])
    name, kind = save_model(tmp_path, 2, vae, vae)
    assert (name, kind) == ("estimator-2.lravae", "full")
    loaded = load_model(tmp_path, name)
    assert type(loaded) is LRAVAETransformer and loaded is not vae
    np.testing.assert_array_equal(loaded.transform(digits[1][:5]), vae.transform(digits[1][:5]))


@pytest.mark.parametrize("why", ["allow_full=False", "callbacks"])
def test_save_model_weights_fallback_and_load_weights(digits, tmp_path, why):
    """Weights only when asked, or when save() refuses the estimator (TypeError: callbacks)."""
    X = digits[0][:100]
    callbacks = [EarlyStopping(monitor="train_loss", patience=100)]
    vae = _small_vae(callbacks=callbacks if why == "callbacks" else None).fit(X)
    name, kind = save_model(tmp_path / "m", 1, vae, vae, allow_full=why == "callbacks")
    assert (name, kind) == ("vae-1.pt", "weights")
    assert sorted(os.listdir(tmp_path / "m")) == ["vae-1.pt"]
    # the file holds tensors and numbers only
    payload = torch.load(tmp_path / "m" / name, weights_only=True)
    assert sorted(payload) == ["module", "n_fit_calls", "n_iter", "optimizer", "seed"]
    other = _small_vae(random_state=1).fit(X[:50])
    assert not np.allclose(other.transform(X[:5]), vae.transform(X[:5]))
    load_weights(tmp_path / "m", name, other)
    np.testing.assert_array_equal(other.transform(X[:5]), vae.transform(X[:5]))
    assert other.n_iter_ == vae.n_iter_


def test_save_model_custom_module_is_full_but_needs_the_module_to_load(digits, tmp_path):
    """A user's core is saved by name only; the search checks load_model and falls back."""
    vae = _small_vae(module=_user_core).fit(digits[0][:100])
    name, kind = save_model(tmp_path, 0, vae, vae)
    assert (name, kind) == ("estimator-0.lravae", "full")
    with pytest.raises(ValueError, match="custom module"):
        load_model(tmp_path, name)


def test_remove_stale_models_keeps_both_generations_and_other_files(tmp_path):
    names = [
        "state.json",
        "state.prev.json",
        "estimator-1.lravae",
        "estimator-2.lravae",
        "estimator-3.lravae",
        "vae-0.pt",
        ".state.json.x1.tmp",  # left by a run killed mid-write
        ".state.prev.json.x1.tmp",
        ".estimator-2.lravae.abc.tmp",
        ".vae-1.pt.abc.tmp",
        ".notes.txt.abc.tmp",  # not a checkpoint's temporary file
        "notes.txt",
        "estimator-1.lravae.bak",
    ]
    for name in names:
        (tmp_path / name).write_text("x")
    # the current generation names estimator-3, the previous one estimator-2
    remove_stale_models(tmp_path, keep={"estimator-3.lravae", "estimator-2.lravae"})
    assert sorted(os.listdir(tmp_path)) == sorted(
        [
            "state.json",
            "state.prev.json",
            "estimator-2.lravae",
            "estimator-3.lravae",
            ".notes.txt.abc.tmp",
            "notes.txt",
            "estimator-1.lravae.bak",
        ]
    )
    remove_stale_models(tmp_path, keep={"vae-4.pt"})  # weights-only run: the .lravae go too
    assert not any(name.endswith(".lravae") for name in os.listdir(tmp_path))


# ---------------------------------------------------------------- in the loop
def test_resume_requires_checkpoint(digits_vae, digits, distance):
    with pytest.raises(ValueError, match="checkpoint"):
        LatentBayesSearch(digits_vae, distance, n_calls=2).fit(digits[0][:3], resume=True)


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn_lravae import LRAVAETransformer
    from sklearn_lravae.search import LatentBayesSearch

    X = load_digits().data[:400] / 16.0
    target = X[-1]

    def objective(x):
        time.sleep(float(sys.argv[2]))
        return -float(np.sum((np.asarray(x) - target) ** 2))

    vae = LRAVAETransformer(3, likelihood="bernoulli", hidden_layer_sizes=(32,),
                            max_epochs=5, random_state=0)
    search = LatentBayesSearch(vae, objective, n_calls=12, retrain_every=4,
                               retrain_epochs=1, checkpoint=sys.argv[1], random_state=0)
    search.fit(X[:6], train_objects=X[:300], resume=len(sys.argv) > 3)
    print("VALUES", [round(h["value"], 10) for h in search.history_])
    """
)


def _run_script(script, args, **kw):
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=300, **kw
    )


def _values(out):
    line = next(line for line in out.splitlines() if line.startswith("VALUES"))
    return json.loads(line.split(" ", 1)[1])


@pytest.mark.slow  # two subprocesses train and search for about a minute under load
def test_kill_and_resume_loses_and_repeats_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    ckpt = tmp_path / "ckpt"
    # the uninterrupted reference run goes alongside the one we kill
    fresh = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "fresh"), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), "0.3"])
    state_file = ckpt / "state.json"
    deadline = time.time() + 240
    n_done = 0
    while time.time() < deadline:
        if state_file.exists():
            n_done = len(json.loads(state_file.read_text())["history"])
            if n_done >= 6:  # past the first retraining
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert n_done >= 6, "the run did not get far enough before the deadline"
    killed = json.loads(state_file.read_text())
    k = len(killed["history"])
    assert 6 <= k < 12
    assert killed["model_kind"] == "full" and (ckpt / killed["model_file"]).exists()

    resumed = _run_script(script, [str(ckpt), "0", "resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    values = _values(resumed.stdout)
    final = json.loads(state_file.read_text())
    assert len(values) == 12 and len(final["history"]) == 12
    assert [h["iteration"] for h in final["history"]] == list(range(12))
    # nothing completed before the kill was lost or re-evaluated
    assert [h["value"] for h in final["history"][:k]] == [h["value"] for h in killed["history"]]

    # only the model files of the current and the previous generation are kept (the
    # previous generation is the fallback of a damaged state.json); no temporary files
    previous = json.loads((ckpt / "state.prev.json").read_text())
    assert len(previous["history"]) == 11
    assert (final["model_file"], previous["model_file"]) == (
        "estimator-3.lravae",
        "estimator-2.lravae",
    )
    assert sorted(os.listdir(ckpt)) == sorted(
        ["state.json", "state.prev.json", "estimator-3.lravae", "estimator-2.lravae"]
    )
    # and the resumed run is the run that was never interrupted
    out, err = fresh.communicate(timeout=300)
    assert fresh.returncode == 0, err[-2000:]
    np.testing.assert_allclose(values, _values(out), rtol=1e-6)


@pytest.mark.parametrize("custom_module", [False, True])
def test_resume_in_process(digits, distance, tmp_path, custom_module):
    """Full-estimator checkpoints, and the weights-only fallback for custom modules."""

    def user_core(**kw):  # a user's own factory: save() cannot store its code
        return MLPCore(hidden_layer_sizes=(16,), **kw)

    module = user_core if custom_module else None
    vae = LRAVAETransformer(
        2,
        likelihood="bernoulli",
        hidden_layer_sizes=(16,),
        module=module,
        max_epochs=2,
        random_state=0,
    )
    X0, train = digits[0][:5], digits[0][:200]

    def search(n_calls, ckpt):
        return LatentBayesSearch(
            vae,
            distance,
            n_calls=n_calls,
            retrain_every=2,
            retrain_epochs=1,
            checkpoint=ckpt,
            random_state=0,
        )

    first = search(3, tmp_path / "a").fit(X0, train_objects=train)
    state = json.loads((tmp_path / "a" / "state.json").read_text())
    assert state["model_kind"] == ("weights" if custom_module else "full")
    assert state["model_file"] == ("vae-1.pt" if custom_module else "estimator-1.lravae")
    (tmp_path / "a" / ".state.json.x1.tmp").write_text("{")  # as left by a kill mid-write
    resumed = search(5, tmp_path / "a").fit(X0, train_objects=train, resume=True)
    # the current and previous generations both use round 2's model file; the
    # temporary file and round 1's model file are gone
    assert sorted(os.listdir(tmp_path / "a")) == sorted(
        ["state.json", "state.prev.json", state["model_file"].replace("1", "2")]
    )
    straight = search(5, tmp_path / "b").fit(X0, train_objects=train)
    assert [h["value"] for h in resumed.history_[:3]] == [h["value"] for h in first.history_]
    np.testing.assert_allclose(
        [h["value"] for h in resumed.history_], [h["value"] for h in straight.history_]
    )
    assert resumed.n_retrain_rounds_ == straight.n_retrain_rounds_ == 2
    np.testing.assert_allclose(resumed.latents_, straight.latents_, atol=1e-6)
    # resuming with other initial objects is refused
    with pytest.raises(ValueError, match="same X"):
        search(6, tmp_path / "a").fit(X0[:4], resume=True)
    with pytest.raises(ValueError, match="different initial objects"):
        search(6, tmp_path / "a").fit(X0[::-1], resume=True)
    # a tampered model file is refused without running its code
    marker = tmp_path / "pwned"
    model_file = (
        tmp_path / "a" / json.loads((tmp_path / "a" / "state.json").read_text())["model_file"]
    )
    model_file.unlink()
    torch.save({"module": _Evil(str(marker))}, model_file)
    with pytest.raises(Exception, match="(?i)weights_only|unpickl|not a zip|model file"):
        search(6, tmp_path / "a").fit(X0, train_objects=train, resume=True)
    assert not marker.exists()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))
