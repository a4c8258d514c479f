"""The lravae command line, end to end through subprocesses."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_lravae.datasets import load_qm9


def lravae(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "sklearn_lravae", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_help_lists_commands_and_examples():
    r = lravae("--help")
    assert r.returncode == 0
    for word in ("demo", "fit", "transform", "sample", "optimize", "examples:"):
        assert word in r.stdout


def test_demo_quick(tmp_path):
    r = lravae("demo", "--quick", "--output", tmp_path / "d.png")
    assert r.returncode == 0, r.stderr
    assert "gamma=0.1" in r.stdout and "LRE N(0,4I)" in r.stdout
    assert (tmp_path / "d.png").stat().st_size > 1000


def test_numeric_fit_transform_sample(tmp_path):
    X = load_digits().data[:300] / 16
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    model = tmp_path / "m.lravae"
    r = lravae("fit", tmp_path / "x.csv", "--n-components", 3, "--max-epochs", 2, "-o", model)
    assert r.returncode == 0, r.stderr
    r = lravae("transform", model, tmp_path / "x.csv", "-o", tmp_path / "z.npy")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "z.npy").shape == (300, 3)
    r = lravae("sample", model, "-n", 7, "--scale", 2, "-o", tmp_path / "s.csv")
    assert r.returncode == 0, r.stderr
    S = np.loadtxt(tmp_path / "s.csv", delimiter=",")
    assert S.shape == (7, 64) and S.min() >= 0 and S.max() <= 1  # bernoulli was chosen


def test_smiles_fit_sample_optimize_resume(tmp_path):
    smi = tmp_path / "mols.smi"
    smi.write_text("\n".join(load_qm9(n_samples=400, random_state=0)) + "\n")
    model = tmp_path / "mol.lravae"
    r = lravae("fit", smi, "--n-components", 4, "--max-epochs", 2, "--beta", 0.01, "-o", model)
    assert r.returncode == 0, r.stderr
    r = lravae("sample", model, "-n", 5, "-o", tmp_path / "s.smi")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "s.smi").read_text().split()) == 5
    args = [
        "optimize",
        model,
        "--objective",
        "qed",
        "--initial",
        smi,
        "--n-initial",
        10,
        "--checkpoint",
        tmp_path / "ckpt",
        "-o",
        tmp_path / "res.csv",
    ]
    r = lravae(*args, "--n-calls", 3)
    assert r.returncode == 0, r.stderr
    assert "best value" in r.stdout
    r = lravae(*args, "--n-calls", 5, "--resume")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "res.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 5  # header + 5 evaluations, the first 3 kept


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["fit", "missing.csv", "-o", "m.lravae"], 1, "no such file"),
        (["transform", "missing.lravae", "x.csv", "-o", "z.npy"], 1, "no such model file"),
        (["sample", "bad.lravae", "-o", "s.csv"], 1, "not an sklearn-lravae model file"),
        (["fit"], 2, "required"),
        (["frobnicate"], 2, "invalid choice"),
        (
            ["optimize", "m.lravae", "--objective", "qed", "--initial", "x", "--resume"],
            2,
            "--resume needs --checkpoint",
        ),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, code, message):
    (tmp_path / "bad.lravae").write_text("not a model")
    r = lravae(*args, cwd=tmp_path)
    assert r.returncode == code
    assert message in r.stderr
    assert "Traceback" not in r.stderr
