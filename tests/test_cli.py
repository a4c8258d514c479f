"""The lravae command line: end to end through subprocesses, argument errors in process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_lravae import load
from sklearn_lravae._cli import main
from sklearn_lravae.chem import qed
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
    for word in ("demo", "fit", "transform", "sample", "optimize", "examples:", "--resume"):
        assert word in r.stdout


def test_console_script():
    script = Path(sys.executable).parent / "lravae"
    if not script.exists():
        pytest.skip("the lravae console script is not installed in this environment")
    r = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("sklearn-lravae ")


@pytest.mark.slow  # the demo in a subprocess: 33 s on the busy 2-core box
def test_demo_quick(tmp_path):
    r = lravae("demo", "--quick", "--output", tmp_path / "d.png")
    assert r.returncode == 0, r.stderr
    assert "gamma=0.1" in r.stdout and "LRE N(0,4I)" in r.stdout
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # five CLI subprocesses: 90 s on the busy 2-core box
def test_numeric_fit_transform_sample_optimize(tmp_path):
    X = load_digits().data[:300] / 16
    header = ",".join(f"p{i}" for i in range(64))
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", header=header, comments="")
    model = tmp_path / "m.lravae"
    r = lravae("fit", tmp_path / "x.csv", "--n-components", 3, "--max-epochs", 2, "-o", model)
    assert r.returncode == 0, r.stderr
    vae = load(model)
    assert (vae.likelihood, vae.n_components, vae.n_iter_) == ("bernoulli", 3, 2)

    r = lravae("transform", model, tmp_path / "x.csv", "-o", tmp_path / "z.npy")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), vae.transform(X), rtol=1e-6)

    r = lravae("sample", model, "-n", 7, "--scale", 2, "-o", tmp_path / "s.csv")
    assert r.returncode == 0, r.stderr
    S = np.loadtxt(tmp_path / "s.csv", delimiter=",")
    Z = 2 * np.random.RandomState(0).standard_normal((7, 3))  # --random-state 0
    np.testing.assert_allclose(S, vae.inverse_transform(Z), atol=1e-7)

    # a user objective as module:function, imported from the working directory
    (tmp_path / "myobjective.py").write_text(
        "import numpy as np\ndef ink(x):\n    return float(np.sum(x))\n"
    )
    r = lravae(
        "optimize", model, "--objective", "myobjective:ink", "--initial", tmp_path / "x.csv",
        "--n-initial", 5, "--n-calls", 3, "-o", tmp_path / "r.csv", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = (tmp_path / "r.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3
    best = max(float(row.split(",")[2]) for row in rows[1:])
    assert f"best value {max(best, X[:5].sum(axis=1).max()):.6g}" in r.stdout


@pytest.mark.slow  # six CLI subprocesses on SMILES: 2 min on the busy 2-core box
def test_smiles_fit_transform_sample_optimize_resume(tmp_path):
    smiles = list(load_qm9(n_samples=300, random_state=0))
    smi = tmp_path / "mols.smi"  # header and a name column, as .smi files often have
    smi.write_text("SMILES Name\n" + "".join(f"{s} mol{i}\n" for i, s in enumerate(smiles)))
    model = tmp_path / "mol.lravae"
    r = lravae(
        "fit", smi, "--n-components", 4, "--max-epochs", 2, "--beta", 0.01, "--hidden", 32,
        "--core", "gru", "--straight-through", "-o", model,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    pipe = load(model)
    assert pipe[0].n_positions_ > 1 and pipe[-1].module.func.__name__ == "_build_straight_through"

    (tmp_path / "few.smi").write_text("CCO\nnot((a smiles\nc1ccccc1O\n")
    r = lravae("transform", model, tmp_path / "few.smi", "-o", tmp_path / "z.csv")
    assert r.returncode == 0, r.stderr
    Z = np.loadtxt(tmp_path / "z.csv", delimiter=",")
    assert Z.shape == (3, 4) and np.isnan(Z[1]).all() and np.isfinite(Z[[0, 2]]).all()
    assert "NaN rows [1]" in r.stderr
    np.testing.assert_allclose(Z[[0, 2]], pipe.transform(["CCO", "c1ccccc1O"]), rtol=1e-6)

    r = lravae("sample", model, "-n", 5, "-o", tmp_path / "s.smi")
    assert r.returncode == 0, r.stderr
    sampled = (tmp_path / "s.smi").read_text().split()
    assert len(sampled) == 5 and not np.isnan(qed(sampled)).any()  # SELFIES: always valid

    args = [
        "optimize", model, "--objective", "qed", "--initial", smi, "--n-initial", 10,
        "--checkpoint", tmp_path / "ckpt", "-o", tmp_path / "res.csv",
    ]  # fmt: skip
    r = lravae(*args, "--n-calls", 3)
    assert r.returncode == 0, r.stderr
    first = (tmp_path / "res.csv").read_text().strip().splitlines()
    r = lravae(*args, "--n-calls", 5, "--resume")
    assert r.returncode == 0, r.stderr
    assert "5 evaluations" in r.stdout
    lines = (tmp_path / "res.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 5 and lines[:4] == first  # the first 3 kept, not repeated
    mols = [line.split(",")[1] for line in lines[1:]]
    values = [float(line.split(",")[2]) for line in lines[1:]]
    np.testing.assert_allclose(values, qed(mols))


def test_user_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / "bad.lravae").write_text("not a model")
    r = lravae("sample", "bad.lravae", "-o", "s.csv", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "lravae sample: error: bad.lravae is not an sklearn-lravae model file (not a zip archive)."
    ]


@pytest.fixture(scope="module")
def numeric_model(tmp_path_factory):
    from sklearn_lravae import LRAVAETransformer, save

    path = tmp_path_factory.mktemp("m") / "num.lravae"
    X = load_digits().data[:100] / 16
    save(LRAVAETransformer(2, likelihood="bernoulli", max_epochs=1).fit(X), path)
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "missing.csv", "-o", "m.lravae"], "missing.csv: no such file"),
        (["fit", "x.json", "-o", "m.lravae"], "unknown file type"),
        (["fit", "words.csv", "-o", "m.lravae"], "not numeric CSV data"),
        (["transform", "missing.lravae", "x.csv", "-o", "z.npy"], "no such model file"),
        (["transform", "MODEL", "mols.smi", "-o", "z.npy"], "is a numeric model"),
        (["sample", "MODEL", "-o", "s.xyz"], "unknown output type"),
        (["optimize", "MODEL", "--objective", "qed"], "needs a molecule model"),
        (["optimize", "MODEL", "--objective", "nomodule:f"], "cannot import objective"),
        (["optimize", "MODEL", "--objective", "foo"], "module:function"),
        (["sample", "MODEL", "-o", "s.csv", "--device", "gpu7"], "is not a torch device"),
    ],
)
def test_bad_files_exit_1(tmp_path, monkeypatch, capsys, numeric_model, args, message):
    monkeypatch.chdir(tmp_path)
    Path("x.json").write_text("{}")
    Path("words.csv").write_text("a,b\n1,x\n")
    Path("mols.smi").write_text("CCO\n")
    args = [str(numeric_model) if a == "MODEL" else a for a in args]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit"], "required"),
        (["frobnicate"], "invalid choice"),
        (["fit", "x.csv", "-o", "m", "--n-components", "0"], "must be >= 1, got 0"),
        (["sample", "m", "-o", "s.csv", "--scale", "-1"], "must be > 0, got -1"),
        (["fit", "x.csv", "-o", "m", "--gamma", "abc"], "expected a number"),
        (["optimize", "m", "--objective", "qed", "--resume"], "--resume needs --checkpoint"),
    ],
)
def test_usage_errors_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
