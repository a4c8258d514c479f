"""The ``lravae`` command line (also ``python -m sklearn_lravae``)."""

import argparse
import csv
import importlib
import sys
from pathlib import Path

import numpy as np

EPILOG = """\
examples:
  lravae demo                                   # digits: gamma=0 vs gamma>0, writes a PNG
  lravae fit data.csv --gamma 0.1 -o model.lravae
  lravae fit molecules.smi --n-components 16 --beta 0.01 -o mol.lravae
  lravae transform model.lravae data.csv -o latents.npy
  lravae sample mol.lravae -n 100 --scale 2 -o samples.smi
  lravae optimize mol.lravae --objective qed --initial molecules.smi \\
         --n-calls 200 --checkpoint run/ --resume -o results.csv

Numeric data: .csv (header optional) or .npy, one sample per row. Molecules: a .smi
file (one SMILES per line) or a .csv with a 'smiles' column; fit then builds a
SelfiesVectorizer + categorical LRA-VAE pipeline.
"""


class CLIError(Exception):
    """A user error: printed as one line, exit status 1."""


def _is_smiles_file(path):
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".smi", ".smiles", ".txt")):
        return True
    if name.endswith(".csv"):
        from .datasets import load_smiles_csv

        try:
            load_smiles_csv(path, n_samples=None)
            return True
        except (ValueError, KeyError):
            return False
    return False


def _read_smiles(path):
    path = Path(path)
    if path.name.lower().removesuffix(".gz").endswith(".csv"):
        from .datasets import load_smiles_csv

        return list(load_smiles_csv(path))
    lines = path.read_text().split()
    return [tok for tok in lines if tok and not tok.lower().startswith("smiles")]


def _read_numeric(path):
    path = Path(path)
    if path.suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    else:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if rows and not _is_number(rows[0][0]):
            rows = rows[1:]  # header
        try:
            X = np.array([[float(v) for v in r] for r in rows if r], dtype=float)
        except ValueError as exc:
            raise CLIError(f"{path}: not numeric CSV data ({exc}).") from None
    if X.ndim != 2 or len(X) == 0:
        raise CLIError(f"{path}: expected a non-empty 2-D table, got shape {X.shape}.")
    return X


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_data(path):
    if not Path(path).exists():
        raise CLIError(f"{path}: no such file.")
    return _read_smiles(path) if _is_smiles_file(path) else _read_numeric(path)


def _write(out, data):
    out = Path(out)
    if len(data) and isinstance(data[0], str):
        out.write_text("\n".join(map(str, data)) + "\n")
    elif out.suffix == ".npy":
        np.save(out, np.asarray(data))
    else:
        np.savetxt(out, np.asarray(data), delimiter=",", fmt="%.8g")
    print(f"wrote {out} ({len(data)} rows)", file=sys.stderr)


def _load_model(path):
    from ._persistence import load

    if not Path(path).exists():
        raise CLIError(f"{path}: no such model file.")
    return load(path)


# ----------------------------------------------------------------- commands
def cmd_demo(args):
    from ._demo import run_demo

    run_demo(output=args.output, gamma=args.gamma, quick=args.quick)


def cmd_fit(args):
    from sklearn.pipeline import make_pipeline

    from ._persistence import save
    from ._transformer import LRAVAETransformer

    data = _read_data(args.data)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    common = dict(
        n_components=args.n_components,
        gamma=args.gamma,
        beta=args.beta,
        reference=args.reference_scale,
        hidden_layer_sizes=hidden,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        random_state=args.random_state,
        verbose=2 if args.verbose else 0,
    )
    if isinstance(data, list):
        from .chem import SelfiesVectorizer

        model = make_pipeline(
            SelfiesVectorizer(on_error="drop"),
            LRAVAETransformer(likelihood="categorical", **common),
        )
    else:
        likelihood = args.likelihood
        if likelihood == "auto":
            likelihood = "bernoulli" if data.min() >= 0 and data.max() <= 1 else "gaussian"
        model = LRAVAETransformer(likelihood=likelihood, **common)
    model.fit(data)
    save(model, args.output)
    print(f"saved {args.output}", file=sys.stderr)


def cmd_transform(args):
    model = _load_model(args.model)
    data = _read_data(args.data)
    _write(
        args.output,
        model.transform(np.asarray(data, dtype=object) if isinstance(data, list) else data),
    )


def cmd_sample(args):
    from .metrics import find_lravae

    model = _load_model(args.model)
    vae = find_lravae(model)
    rng = np.random.RandomState(args.random_state)
    Z = args.scale * rng.standard_normal((args.n_samples, vae.n_components))
    _write(args.output, list(model.inverse_transform(Z)))


def _objective(name):
    from . import chem

    if name in ("qed", "logp", "penalized_logp", "sa_score"):
        fn = getattr(chem, name)
        return (lambda s: -fn(s)) if name == "sa_score" else fn, True
    if ":" not in name:
        raise CLIError(
            f"--objective must be qed, logp, penalized_logp or module:function, got {name!r}."
        )
    module, _, attr = name.partition(":")
    sys.path.insert(0, ".")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise CLIError(f"cannot import objective {name!r}: {exc}") from None
    return fn, bool(getattr(fn, "vectorized", False))


def cmd_optimize(args):
    from .search import LatentBayesSearch

    model = _load_model(args.model)
    objective, vectorized = _objective(args.objective)
    initial = _read_data(args.initial)
    if isinstance(initial, np.ndarray):
        initial = list(initial)
    search = LatentBayesSearch(
        model,
        objective,
        vectorized=vectorized,
        n_calls=args.n_calls,
        batch_size=args.batch_size,
        retrain_every=args.retrain_every,
        lre_threshold=args.lre_threshold,
        n_jobs=args.n_jobs,
        checkpoint=args.checkpoint,
        random_state=args.random_state,
        verbose=1,
    )
    search.fit(initial[: args.n_initial], resume=args.resume)
    rows = search.history_
    if args.output:
        with open(args.output, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["iteration", "object", "value", "status", "lre", "retrain_round"])
            for h in rows:
                obj = (
                    h["object"]
                    if isinstance(h["object"], str)
                    else " ".join(f"{v:.6g}" for v in np.ravel(h["object"]))
                )
                w.writerow(
                    [h["iteration"], obj, h["value"], h["status"], h["lre"], h["retrain_round"]]
                )
        print(f"wrote {args.output}", file=sys.stderr)
    best = search.best_object_ if isinstance(search.best_object_, str) else "(array)"
    print(f"best value {search.best_score_:.6g}: {best}")


# ----------------------------------------------------------------- parser
def build_parser():
    parser = argparse.ArgumentParser(
        prog="lravae",
        description="Latent Reconstruction-Aware VAEs and latent-space Bayesian optimisation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="standard VAE vs LRA-VAE on scikit-learn's digits")
    p.add_argument("--output", default="lravae_demo.png", help="PNG of decoded samples")
    p.add_argument("--gamma", type=float, default=0.1, help="LRE weight (default 0.1)")
    p.add_argument("--quick", action="store_true", help="3 epochs, for smoke tests")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("fit", help="fit an LRA-VAE (or SELFIES pipeline) and save it")
    p.add_argument("data", help="numeric .csv/.npy, or SMILES .smi/.csv")
    p.add_argument("-o", "--output", required=True, help="model file to write")
    p.add_argument("--n-components", type=int, default=16)
    p.add_argument("--gamma", type=float, default=0.1)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--reference-scale", type=float, default=2.0)
    p.add_argument("--likelihood", choices=["auto", "bernoulli", "gaussian"], default="auto")
    p.add_argument("--hidden", default="256,128", help="hidden sizes, comma separated")
    p.add_argument("--max-epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true", help="progress bars")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("transform", help="encode data to latent means")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("-o", "--output", required=True, help=".npy or .csv")
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser("sample", help="decode samples from N(0, scale^2 I)")
    p.add_argument("model")
    p.add_argument("-n", "--n-samples", type=int, default=100)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help=".smi for molecules, else .npy/.csv")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("optimize", help="latent-space Bayesian optimisation")
    p.add_argument("model")
    p.add_argument(
        "--objective", required=True, help="qed, logp, penalized_logp or module:function"
    )
    p.add_argument("--initial", required=True, help="initial objects (SMILES or numeric file)")
    p.add_argument("--n-initial", type=int, default=50, help="use the first N initial objects")
    p.add_argument("--n-calls", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--retrain-every", type=int, default=None)
    p.add_argument("--lre-threshold", type=float, default=None)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--checkpoint", default=None, help="directory for resumable checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --checkpoint")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("-o", "--output", default=None, help="CSV of all evaluations")
    p.set_defaults(func=cmd_optimize)
    return parser


def main(argv=None):
    """Entry point of the ``lravae`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "resume", False) and not args.checkpoint:
        parser.error("--resume needs --checkpoint DIR")
    try:
        args.func(args)
    except (CLIError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"lravae {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
