"""The ``lravae`` command line (also ``python -m sklearn_lravae``).

Exit status: 0 on success, 1 for errors in files or data (one-line message on
stderr, no traceback), 2 for usage errors (argparse), 130 when interrupted.
Everything heavy (NumPy, torch, scikit-learn, RDKit) is imported by the
command that needs it, so ``lravae --help`` and usage errors are instant.
Training output: ``-q`` never, ``-v`` always, by default when stderr is a
terminal; saved models never carry the terminal's verbosity.
"""

import argparse
import csv
import importlib
import sys
import warnings
from pathlib import Path

EPILOG = """\
examples:
  lravae demo                                   # digits: gamma=0 vs gamma>0, writes a PNG
  lravae fit data.csv --gamma 0.1 --n-components 8 -o model.lravae
  lravae fit molecules.smi --n-components 16 --beta 0.01 --core gru -o mol.lravae
  lravae transform model.lravae data.csv -o latents.npy
  lravae sample mol.lravae -n 100 --scale 2 -o samples.smi
  lravae optimize mol.lravae --objective qed --initial molecules.smi \\
         --n-calls 200 --retrain-every 50 --checkpoint run/ -o results.csv
  lravae optimize mol.lravae --objective qed --initial molecules.smi \\
         --n-calls 400 --retrain-every 50 --checkpoint run/ --resume -o results.csv
  lravae optimize model.lravae --objective my_objectives:score --n-calls 50

Data files: numeric .csv (header row optional) or .npy, one sample per row;
molecules: a .smi file (one SMILES per line, optionally followed by a name) or a
.csv with a 'smiles' column, for which 'fit' builds a SelfiesVectorizer +
categorical LRA-VAE pipeline. Outputs: .npy, .csv, or .smi for molecules.
Exit status: 0 success, 1 bad file or data, 2 bad arguments, 130 interrupted.
"""


class CLIError(Exception):
    """A user error: printed as one line, exit status 1."""


# ----------------------------------------------------------------- argument types
def _number(kind, low, closed=True):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < low or (not closed and value == low):
            relation = ">=" if closed else ">"
            raise argparse.ArgumentTypeError(f"must be {relation} {low:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = _number(int, 1)
non_negative_int = _number(int, 0)
positive_float = _number(float, 0, closed=False)
non_negative_float = _number(float, 0)


def _or_auto(kind):
    def parse(text):
        if text == "auto":
            return "auto"
        try:
            return kind(text)
        except argparse.ArgumentTypeError as exc:
            message = str(exc).replace("expected a number", "expected a number or 'auto'")
            raise argparse.ArgumentTypeError(message) from None

    parse.__name__ = f"{kind.__name__} or 'auto'"
    return parse


#: Output file types of each command, checked before any work is done.
NUMERIC_OUTPUTS = (".npy", ".csv", ".txt")
SMILES_OUTPUTS = (".smi", ".smiles", ".txt", ".csv")


def _check_output(path, suffixes, what="output"):
    """Refuse an output file that could not be written, before the work starts."""
    if path is None:
        return
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise CLIError(
            f"{path}: unknown {what} type {path.suffix or '(none)'!r}; use {', '.join(suffixes)}."
        )
    if not path.parent.is_dir():
        raise CLIError(f"{path}: the folder {path.parent} does not exist; create it first.")


# ----------------------------------------------------------------- files
def _smiles_column(path):
    """Index of the SMILES column of a CSV file's header, or None."""
    from .datasets._smiles import DEFAULT_COLUMNS

    opener = _open_text(path)
    with opener as fh:
        header = next(csv.reader(fh), [])
    header = [h.strip() for h in header]
    return next((i for i, h in enumerate(header) if h in DEFAULT_COLUMNS), None)


def _open_text(path):
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def _kind(path):
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".smi", ".smiles")):
        return "smiles"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".csv"):
        return "smiles" if _smiles_column(path) is not None else "csv"
    if name.endswith(".txt"):  # numbers (CSV) or one SMILES per line: look at a data line
        with _open_text(path) as fh:
            lines = [line for _, line in zip(range(2), filter(str.strip, fh))]
        token = lines[-1].replace(",", " ").split()[0] if lines else "0"
        return "csv" if _is_number(token) else "smiles"
    raise CLIError(f"{path}: unknown file type; use .csv, .npy, or .smi for molecules.")


def _read_smiles(path):
    if Path(path).name.lower().removesuffix(".gz").endswith(".csv"):
        from .datasets import load_smiles_csv

        return [str(s) for s in load_smiles_csv(path)]
    with _open_text(path) as fh:
        first = [line.split()[0] for line in fh if line.strip()]
    if first and first[0].lower() == "smiles":
        first = first[1:]  # header
    return first


def _read_numeric(path, kind):
    import numpy as np

    if kind == "npy":
        X = np.load(path, allow_pickle=False)
    else:
        with _open_text(path) as fh:
            rows = [r for r in csv.reader(fh) if r]
        if rows and not all(_is_number(v) for v in rows[0]):
            rows = rows[1:]  # header
        try:
            X = np.array([[float(v) for v in r] for r in rows], dtype=float)
        except ValueError as exc:
            raise CLIError(f"{path}: not numeric CSV data ({exc}).") from None
    if X.ndim != 2 or len(X) == 0:
        raise CLIError(f"{path}: expected a non-empty 2-D table, got shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}.")
    return X.astype(float)


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_data(path):
    """SMILES list or 2-D float array from ``path``."""
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such file.")
    kind = _kind(path)
    data = _read_smiles(path) if kind == "smiles" else _read_numeric(path, kind)
    if len(data) == 0:
        raise CLIError(f"{path}: no data.")
    return data


def _write(out, data):
    import numpy as np

    out = Path(out)
    if isinstance(data, list) and data and isinstance(data[0], str):
        if out.suffix == ".npy":
            raise CLIError(f"{out}: SMILES are written as text; use .smi (or .txt).")
        out.write_text("\n".join(data) + "\n")
    elif out.suffix == ".npy":
        np.save(out, np.asarray(data))
    elif out.suffix in (".csv", ".txt"):
        np.savetxt(out, np.asarray(data), delimiter=",", fmt="%.8g")
    else:
        raise CLIError(f"{out}: unknown output type; use .npy or .csv (.smi for molecules).")
    _info(f"wrote {out} ({len(data)} rows)")


def _info(message):
    print(message, file=sys.stderr)


def _load_model(path, device=None):
    from ._persistence import load

    if not Path(path).is_file():
        raise CLIError(f"{path}: no such model file.")
    return load(path, device=device)


def _vectorizer(model):
    """The model's SelfiesVectorizer (first Pipeline step), or None."""
    from .chem import SelfiesVectorizer

    steps = getattr(model, "steps", [])
    return next((s for _, s in steps if isinstance(s, SelfiesVectorizer)), None)


def _check_device(device):
    if device is None:
        return
    from ._utils import check_device

    try:
        check_device(device, option="--device")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _progress(args):
    """Show training output: never with -q, always with -v, else on a terminal."""
    if args.quiet:
        return False
    return args.verbose or sys.stderr.isatty()


def _set_verbose(model, verbose):
    """Set ``verbose`` of every LRAVAETransformer in ``model`` (a saved model keeps its own)."""
    from ._transformer import LRAVAETransformer

    steps = [s for _, s in getattr(model, "steps", [])] or [model]
    for step in steps:
        if isinstance(step, LRAVAETransformer):
            step.set_params(verbose=verbose)


# ----------------------------------------------------------------- commands
def cmd_demo(args):
    from ._demo import run_demo

    run_demo(output=args.output, gamma=args.gamma, quick=args.quick, random_state=args.random_state)


def cmd_fit(args):
    from sklearn.pipeline import Pipeline

    from ._persistence import save
    from ._transformer import LRAVAETransformer

    _check_output(args.output, None)
    data = _read_data(args.data)
    hidden = args.hidden
    if hidden != "auto":
        try:
            hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
        except ValueError:
            raise CLIError(
                f"--hidden must be comma-separated integers or auto, got {args.hidden!r}."
            ) from None
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
        device=args.device or "cpu",
        verbose=2 if _progress(args) else 0,
    )
    if isinstance(data, list):
        from ._likelihood import CategoricalLikelihood
        from .chem import SelfiesVectorizer, make_sequence_core, make_straight_through_core

        if hidden == "auto" and (args.core == "gru" or args.straight_through):
            hidden = CategoricalLikelihood.default_hidden_layer_sizes

        vec = SelfiesVectorizer(on_error="drop").fit(data)
        X = vec.transform(data)
        if len(vec.dropped_indices_):
            _info(f"skipped {len(vec.dropped_indices_)} invalid SMILES of {len(data)}")
        k = int(vec.n_tokens_)
        core = make_sequence_core(k, encoder_layer_sizes=hidden) if args.core == "gru" else None
        if args.straight_through:
            core = make_straight_through_core(k, core=core, hidden_layer_sizes=hidden)
        vae = LRAVAETransformer(likelihood="categorical", module=core, **common).fit(X)
        model = Pipeline([("selfiesvectorizer", vec), ("lravaetransformer", vae)])
    else:
        if args.core != "mlp" or args.straight_through:
            raise CLIError("--core gru and --straight-through are for SMILES data only.")
        likelihood = args.likelihood
        if likelihood == "auto":
            likelihood = "bernoulli" if data.min() >= 0 and data.max() <= 1 else "gaussian"
        model = LRAVAETransformer(likelihood=likelihood, **common).fit(data)
    _set_verbose(model, 0)  # the file does not carry this terminal's verbosity
    save(model, args.output)
    _info(f"saved {args.output}")


def cmd_transform(args):
    import numpy as np

    _check_output(args.output, NUMERIC_OUTPUTS)
    model = _load_model(args.model, args.device)
    data = _read_data(args.data)
    vec = _vectorizer(model)
    if isinstance(data, list) != (vec is not None):
        kind = "a molecule" if vec is not None else "a numeric"
        raise CLIError(f"{args.model} is {kind} model; {args.data} holds other data.")
    if vec is None:
        _write(args.output, model.transform(data))
        return
    # keep one output row per input molecule: unreadable / too long ones give NaN rows
    vec.set_params(on_error="drop", on_long="drop")
    Z = model.transform(data)
    dropped = np.asarray(vec.dropped_indices_, dtype=int)
    if len(dropped):
        full = np.full((len(data), Z.shape[1]), np.nan)
        full[np.setdiff1d(np.arange(len(data)), dropped)] = Z
        Z = full
        _info(f"{len(dropped)} molecule(s) could not be encoded: NaN rows {dropped[:10].tolist()}")
    _write(args.output, Z)


def cmd_sample(args):
    import numpy as np

    from .metrics import find_lravae

    _check_output(args.latent, NUMERIC_OUTPUTS, "--latent")
    _check_output(args.output, None)
    model = _load_model(args.model, args.device)
    molecules = _vectorizer(model) is not None
    _check_output(args.output, SMILES_OUTPUTS if molecules else NUMERIC_OUTPUTS)
    vae = find_lravae(model)
    rng = np.random.RandomState(args.random_state)
    Z = args.scale * rng.standard_normal((args.n_samples, vae.n_components))
    X = model.inverse_transform(Z)
    _write(args.output, [str(s) for s in X] if molecules else X)
    if args.latent:
        _write(args.latent, Z)


def _objective(name, molecules, vectorized):
    """Return ``(callable, vectorized)`` for ``--objective``."""
    from . import chem

    if ":" not in name:  # a name of chem.list_objectives()
        try:
            fn = chem.get_objective(name)
        except ValueError as exc:
            raise CLIError(f"--objective: {str(exc).rstrip('.')}, or module:function.") from None
        if not molecules:
            raise CLIError(f"--objective {name} needs a molecule model (fitted on SMILES).")
        if fn is chem.sa_score:  # lower is better: maximise its negative
            return (lambda smiles: -fn(smiles)), True
        return fn, True
    module, _, attr = name.partition(":")
    sys.path.insert(0, str(Path.cwd()))
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise CLIError(f"cannot import objective {name!r}: {exc}") from None
    if not callable(fn):
        raise CLIError(f"objective {name!r} is not callable.")
    return fn, bool(vectorized or getattr(fn, "vectorized", False))


def cmd_optimize(args):
    import numpy as np

    from .metrics import find_lravae
    from .search import LatentBayesSearch

    _check_output(args.output, None)
    model = _load_model(args.model, args.device)
    _set_verbose(model, 1 if args.verbose else 0)  # retraining epochs: only with -v
    molecules = _vectorizer(model) is not None
    objective, vectorized = _objective(args.objective, molecules, args.vectorized)
    if args.initial is not None:
        initial = _read_data(args.initial)
        if isinstance(initial, list) != molecules:
            raise CLIError(f"{args.initial} does not hold the kind of data {args.model} encodes.")
        initial = list(initial[: args.n_initial])
    else:  # decoded prior samples (the same ones on --resume: fixed seed)
        vae = find_lravae(model)
        rng = np.random.RandomState(args.random_state)
        initial = list(
            model.inverse_transform(rng.standard_normal((args.n_initial, vae.n_components)))
        )
    train = None
    if args.train is not None:
        train = list(_read_data(args.train))
    search = LatentBayesSearch(
        model,
        objective,
        vectorized=vectorized,
        n_calls=args.n_calls,
        n_initial_points=args.n_random,
        batch_size=args.batch_size,
        acq_func=args.acq_func,
        retrain_every=args.retrain_every,
        retrain_epochs=args.retrain_epochs,
        weight_k=args.weight_k,
        lre_threshold=args.lre_threshold,
        n_jobs=args.n_jobs,
        checkpoint=args.checkpoint,
        random_state=args.random_state,
        verbose=1 if _progress(args) else 0,
    )
    search.fit(initial, train_objects=train, resume=args.resume)
    rows = search.history_
    if args.output:
        with open(args.output, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["iteration", "object", "value", "status", "lre", "retrain_round"])
            for h in rows:
                obj = h["object"]
                if not isinstance(obj, str):
                    obj = " ".join(f"{v:.6g}" for v in np.ravel(obj))
                w.writerow(
                    [h["iteration"], obj, h["value"], h["status"], h["lre"], h["retrain_round"]]
                )
        _info(f"wrote {args.output} ({len(rows)} evaluations)")
    n_ok = sum(h["status"] == "ok" for h in rows)
    best = search.best_object_
    best = best if isinstance(best, str) else np.array2string(np.ravel(best), precision=3)
    print(
        f"{len(rows)} evaluations ({n_ok} ok), {search.n_retrain_rounds_} retraining rounds; "
        f"best value {search.best_score_:.6g}: {best}"
    )


# ----------------------------------------------------------------- parser
def build_parser():
    """The ``argparse`` parser of the ``lravae`` command."""
    parser = argparse.ArgumentParser(
        prog="lravae",
        description="Latent Reconstruction-Aware VAEs and latent-space Bayesian optimisation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"sklearn-lravae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help, example):
        return sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def device_flag(p):
        p.add_argument(
            "--device", default=None, help="torch device, e.g. cuda (default: cpu / as saved)"
        )

    def progress_flags(p):
        g = p.add_mutually_exclusive_group()
        g.add_argument(
            "-v", "--verbose", action="store_true", help="always show progress and training output"
        )
        g.add_argument(
            "-q", "--quiet", action="store_true", help="never show progress or training output"
        )

    p = add("demo", "standard VAE vs LRA-VAE on scikit-learn's digits", "lravae demo --quick")
    p.add_argument("--output", default="lravae_demo.png", help="PNG of decoded samples")
    p.add_argument("--gamma", type=non_negative_float, default=0.1, help="LRE weight (0.1)")
    p.add_argument("--quick", action="store_true", help="3 epochs, for smoke tests")
    p.add_argument("--random-state", type=int, default=0, help="seed of the whole demo (0)")
    p.set_defaults(func=cmd_demo)

    p = add(
        "fit",
        "fit an LRA-VAE (or a SELFIES pipeline for SMILES) and save it",
        "lravae fit data.csv --gamma 0.1 --n-components 8 --max-epochs 50 -o model.lravae",
    )
    p.add_argument("data", help="numeric .csv/.npy, or SMILES .smi/.csv")
    p.add_argument("-o", "--output", required=True, help="model file to write (.lravae)")
    p.add_argument("--n-components", type=positive_int, default=16, help="latent dimension (16)")
    p.add_argument("--gamma", type=non_negative_float, default=0.1, help="LRE weight (0.1)")
    p.add_argument(
        "--beta",
        type=_or_auto(non_negative_float),
        default="auto",
        help="KL weight; auto: 0.01 for SMILES (categorical), else 1 (auto)",
    )
    p.add_argument(
        "--reference-scale", type=positive_float, default=2.0, help="p_ref = N(0, s^2 I) (2.0)"
    )
    p.add_argument(
        "--likelihood",
        choices=["auto", "bernoulli", "gaussian", "categorical"],
        default="auto",
        help="numeric data: bernoulli if all values are in [0, 1], else gaussian (auto)",
    )
    p.add_argument(
        "--hidden",
        default="auto",
        help="hidden layer sizes, comma separated; auto: 512,256 for SMILES, else 256,128 (auto)",
    )
    p.add_argument("--core", choices=["mlp", "gru"], default="mlp", help="SMILES: decoder type")
    p.add_argument(
        "--straight-through",
        action="store_true",
        help="SMILES: the LRE term sees hard (argmax) decodes",
    )
    p.add_argument(
        "--max-epochs",
        type=_or_auto(non_negative_int),
        default="auto",
        help="passes over the data; auto: until the training loss stops improving, "
        "with a ceiling (auto)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=128, help="samples per gradient step (128)"
    )
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (1e-3)")
    p.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of weights, batch order, noise and reference samples (0)",
    )
    progress_flags(p)
    device_flag(p)
    p.set_defaults(func=cmd_fit)

    p = add(
        "transform",
        "encode data to latent means",
        "lravae transform model.lravae data.csv -o latents.npy",
    )
    p.add_argument("model", help="model file written by 'lravae fit' (.lravae)")
    p.add_argument("data", help="data of the kind the model was fitted on (.csv/.npy, or .smi)")
    p.add_argument("-o", "--output", required=True, help=".npy or .csv")
    device_flag(p)
    p.set_defaults(func=cmd_transform)

    p = add(
        "sample",
        "decode samples from N(0, scale^2 I)",
        "lravae sample mol.lravae -n 100 --scale 2 -o samples.smi",
    )
    p.add_argument("model", help="model file written by 'lravae fit' (.lravae)")
    p.add_argument(
        "-n", "--n-samples", type=positive_int, default=100, help="number of samples (100)"
    )
    p.add_argument(
        "--scale",
        type=positive_float,
        default=1.0,
        help="latent standard deviation s: samples from N(0, s^2 I) (1.0); above 1 reaches "
        "regions the training data do not cover",
    )
    p.add_argument("--random-state", type=int, default=0, help="seed of the latent samples (0)")
    p.add_argument("-o", "--output", required=True, help=".smi for molecules, else .npy/.csv")
    p.add_argument("--latent", default=None, help="also write the latent points (.npy/.csv)")
    device_flag(p)
    p.set_defaults(func=cmd_sample)

    p = add(
        "optimize",
        "latent-space Bayesian optimisation (maximises the objective)",
        "lravae optimize mol.lravae --objective qed --initial mols.smi --n-calls 100 "
        "--checkpoint run/ --resume",
    )
    p.add_argument("model", help="model file written by 'lravae fit' (.lravae)")
    p.add_argument(
        "--objective",
        required=True,
        help="qed, logp, penalized_logp, sa_score (lower is better: its negative is "
        "maximised) or module:function; a function with attribute vectorized=True (or "
        "--vectorized) gets a list of objects per round",
    )
    p.add_argument("--vectorized", action="store_true", help="see --objective")
    p.add_argument(
        "--initial", default=None, help="initial objects (default: decoded prior samples)"
    )
    p.add_argument(
        "--n-initial", type=positive_int, default=50, help="use the first N initial objects (50)"
    )
    p.add_argument("--train", default=None, help="extra unlabelled objects for retraining")
    p.add_argument("--n-calls", type=non_negative_int, default=100, help="evaluations (100)")
    p.add_argument(
        "--n-random", type=non_negative_int, default=0, help="first N calls at random latents (0)"
    )
    p.add_argument("--batch-size", type=positive_int, default=1, help="points per round (1)")
    p.add_argument(
        "--acq-func",
        choices=["EI", "LCB", "PI", "gp_hedge"],
        default="EI",
        help="scikit-optimize acquisition function: expected improvement, lower confidence "
        "bound, probability of improvement, or a hedge over the three (EI)",
    )
    p.add_argument(
        "--retrain-every",
        type=positive_int,
        default=None,
        help="retrain the VAE around the queried points every N evaluations (never)",
    )
    p.add_argument(
        "--retrain-epochs",
        type=positive_int,
        default=3,
        help="training epochs per retraining round (3)",
    )
    p.add_argument(
        "--weight-k",
        type=positive_float,
        default=None,
        help="rank-weight the retraining data with this k; smaller k favours the best "
        "objects more, 1e-3 is a common choice (off: unweighted)",
    )
    p.add_argument(
        "--lre-threshold",
        type=positive_float,
        default=None,
        help="consistency filter: reject candidates whose hard-decode LRE exceeds this (off)",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="parallel evaluations per round")
    p.add_argument("--checkpoint", default=None, help="directory for resumable checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --checkpoint")
    p.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the initial prior samples and of the search (0)",
    )
    p.add_argument("-o", "--output", default=None, help="CSV of all evaluations")
    progress_flags(p)
    device_flag(p)
    p.set_defaults(func=cmd_optimize)
    return parser


def _warning_line(command):
    """``warnings.showwarning`` that prints one line, without the source location."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"lravae {command}: warning: {text}", file=sys.stderr)

    return show


def main(argv=None):
    """Run the ``lravae`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (without the program name); ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success, 1 for bad files or data, 130 when interrupted (usage
        errors exit with status 2 from argparse).

    Examples
    --------
    >>> from sklearn_lravae._cli import main
    >>> main(["sample", "no-such-model.lravae", "-o", "out.csv"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "resume", False) and not args.checkpoint:
        parser.error("--resume needs --checkpoint DIR")
    try:
        with warnings.catch_warnings():
            if not sys.warnoptions:  # python -W ... keeps its say
                warnings.simplefilter("default")
            warnings.showwarning = _warning_line(args.command)
            _check_device(getattr(args, "device", None))
            args.func(args)
    except (CLIError, ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"lravae {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lravae {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
