"""The rough edges of the ``lravae`` command a new user hits (issue 13, command-line side).

Fast ``--help`` (lazy imports), ``-q`` silences training output everywhere, no colour
codes into a pipe, help texts that state the real defaults, output files checked before
the work, ``auto`` defaults, warnings as one line.
"""

import argparse
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae import _net as net_module
from sklearn_lravae._cli import build_parser, main
from sklearn_lravae.search import TanimotoGP

HEAVY = ("torch", "sklearn", "skorch", "numpy", "rdkit", "skopt", "scipy")


def _run_python(code):
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_cli_module_imports_nothing_heavy_for_help():
    # the package __init__ is replaced by an empty package: this checks _cli itself
    out = _run_python(
        """
        import importlib.util, pathlib, sys, types
        spec = importlib.util.find_spec("sklearn_lravae")
        pkg = types.ModuleType("sklearn_lravae")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["sklearn_lravae"] = pkg
        from sklearn_lravae._cli import main
        for argv in (["--help"], ["fit", "--help"], ["optimize", "--help"]):
            try:
                main(argv)
            except SystemExit:
                pass
        print(sorted({m.split(".")[0] for m in sys.modules}))
        """
    )
    loaded = set(eval(out.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_help_does_not_import_torch():
    out = _run_python(
        """
        import sys
        from sklearn_lravae.__main__ import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("torch" in sys.modules)
        """
    )
    assert out.strip().splitlines()[-1] == "False"


# ---------------------------------------------------------------------- help texts
def _options():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.option_strings and action.help and action.dest != "help":
                yield name, action


def test_every_help_text_states_the_real_default():
    wrong = []
    for command, action in _options():
        default, text = action.default, action.help
        if isinstance(action, argparse._StoreTrueAction) or "(" not in text:
            continue
        last = text[text.rindex("(") :]
        if default is None:
            if any(ch.isdigit() for ch in last):
                wrong.append(f"{command} {action.option_strings[-1]}: {last} but default None")
        elif isinstance(default, int | float) and not isinstance(default, bool):
            numbers = [float(x) for x in re.findall(r"\d*\.?\d+(?:e[-+]?\d+)?", last)]
            if float(default) not in numbers:
                wrong.append(f"{command} {action.option_strings[-1]}: {last} != {default}")
        elif str(default) not in last:
            wrong.append(f"{command} {action.option_strings[-1]}: {last} != {default}")
    assert not wrong, "\n".join(wrong)


def test_weight_k_help_does_not_suggest_a_default_value():
    action = dict((a.dest, a) for c, a in _options() if c == "optimize")["weight_k"]
    assert action.default is None and "(off" in action.help


def test_auto_defaults_of_fit():
    args = build_parser().parse_args(["fit", "x.csv", "-o", "m.lravae"])
    assert args.max_epochs == "auto" and args.beta == "auto"
    args = build_parser().parse_args(
        ["fit", "x.csv", "-o", "m", "--max-epochs", "7", "--beta", "0.5"]
    )
    assert args.max_epochs == 7 and args.beta == 0.5


def test_bad_max_epochs_mentions_auto(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "x.csv", "-o", "m", "--max-epochs", "many"])
    assert "expected a number or 'auto', got 'many'" in capsys.readouterr().err


# ----------------------------------------------------------------------- outputs
@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "x.csv"
    np.savetxt(path, load_digits().data[:120] / 16, delimiter=",")
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["transform", "missing.lravae", "DATA", "-o", "z.parquet"], "unknown output type"),
        (["transform", "missing.lravae", "DATA", "-o", "no/dir/z.npy"], "does not exist"),
        (["sample", "missing.lravae", "-o", "s.npy", "--latent", "z.h5"], "--latent type"),
        (["fit", "missing.csv", "-o", "no/dir/m.lravae"], "does not exist"),
    ],
)
def test_output_checked_before_any_work(tmp_path, monkeypatch, capsys, digits_csv, argv, message):
    # the model does not exist: the output error must come first, before loading or fitting
    monkeypatch.chdir(tmp_path)
    assert main([str(digits_csv) if a == "DATA" else a for a in argv]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_verbose_fit_into_a_pipe_has_no_colour_codes_and_saves_a_silent_model(
    tmp_path, capsys, digits_csv
):
    model = tmp_path / "m.lravae"
    argv = ["fit", str(digits_csv), "--max-epochs", "3", "--hidden", "16", "-o", str(model)]
    assert main([*argv, "-v"]) == 0
    out = capsys.readouterr().out
    assert "train_loss" in out and "\x1b[" not in out
    assert load(model).verbose == 0


def test_quiet_optimize_silences_a_model_saved_verbose(tmp_path, capsys, monkeypatch):
    X = load_digits().data[:80] / 16
    vae = LRAVAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(8,), max_epochs=1)
    model = save(vae.fit(X).set_params(verbose=2), tmp_path / "m.lravae")
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    (tmp_path / "ink.py").write_text("def ink(x):\n    return float(sum(x))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    capsys.readouterr()
    argv = ["optimize", str(model), "--objective", "ink:ink", "--initial", "x.csv"]
    argv += ["--n-initial", "5", "--n-calls", "2", "--retrain-every", "1", "--retrain-epochs", "1"]
    assert main([*argv, "-q"]) == 0
    out, err = capsys.readouterr()
    assert "train_loss" not in out and "it/s" not in err and "s/it" not in err
    assert "2 evaluations" in out


def test_warnings_are_one_line(tmp_path, capsys, monkeypatch, digits_csv):
    monkeypatch.setattr(net_module, "AUTO_MIN_STEPS", 1)
    monkeypatch.setattr(net_module, "AUTO_MAX_EPOCHS", 2)  # auto: 2 epochs, the rule needs 15
    argv = ["fit", str(digits_csv), "--hidden", "8", "-q", "-o", str(tmp_path / "m.lravae")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "warning:" in line]
    assert len(lines) == 1 and lines[0].startswith("lravae fit: warning: training reached")


def test_cli_tanimoto_surrogate_uses_fingerprints_for_molecules():
    from sklearn_lravae._cli_commands import cli_surrogate
    from sklearn_lravae.chem import molecule_features

    assert cli_surrogate("GP-ML", True) == "GP-ML"
    assert cli_surrogate("tanimoto", True).features is molecule_features
    assert cli_surrogate("tanimoto", False).features is None


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([], {"retrain_every": "auto", "trust_region": False, "invert": False}),
        (
            ["--trust-region", "--invert", "--retrain-every", "7"],
            {"retrain_every": 7, "trust_region": True, "invert": True},
        ),
        (
            ["--trust-region", "--train-candidates", "--train", "x.csv"],
            {"trust_region": True, "train_candidates": True, "surrogate": "GP"},
        ),
        (
            ["--trust-region", "--surrogate", "GP-ML"],
            {"trust_region": True, "surrogate": "GP-ML"},
        ),
        (["--retrain-every", "never"], {"retrain_every": None}),
        (
            ["--trust-region", "--surrogate", "tanimoto"],
            {"trust_region": True, "surrogate": TanimotoGP(features=None)},
        ),
    ],
)
def test_optimize_passes_search_options(tmp_path, monkeypatch, capsys, flags, expected):
    """The LSBO options of issue 14 reach LatentBayesSearch from the command line."""
    from sklearn_lravae.search import LatentBayesSearch

    X = load_digits().data[:80] / 16
    vae = LRAVAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(8,), max_epochs=1)
    model = save(vae.fit(X), tmp_path / "m.lravae")
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    (tmp_path / "ink.py").write_text("def ink(x):\n    return float(sum(x))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = {}
    original = LatentBayesSearch.fit

    def fit(self, *args, **kwargs):
        seen.update(self.get_params(deep=False))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LatentBayesSearch, "fit", fit)
    argv = ["optimize", str(model), "--objective", "ink:ink", "--initial", "x.csv"]
    argv += ["--n-initial", "5", "--n-calls", "2", "-q", *flags]
    assert main(argv) == 0
    got = {k: seen[k] for k in expected}
    if isinstance(expected.get("surrogate"), TanimotoGP):  # estimators compare by parameters
        assert got.pop("surrogate").get_params() == expected.pop("surrogate").get_params()
    assert got == expected
    assert "2 evaluations" in capsys.readouterr().out
