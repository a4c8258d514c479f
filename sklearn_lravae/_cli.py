"""The ``lravae`` command line (also ``python -m sklearn_lravae``).

Exit status: 0 on success, 1 for errors in files or data (one-line message on
stderr, no traceback), 2 for usage errors (argparse), 130 when interrupted.
Everything heavy (NumPy, torch, scikit-learn, RDKit) is imported by the
command that needs it, so ``lravae --help`` and usage errors are instant.
Training output: ``-q`` never, ``-v`` always, by default when stderr is a
terminal; saved models never carry the terminal's verbosity.
"""

import argparse
import sys
import warnings

from ._cli_commands import (
    check_device_option,
    cmd_demo,
    cmd_fit,
    cmd_optimize,
    cmd_sample,
    cmd_transform,
)
from ._cli_io import CLIError

EPILOG = """\
examples:
  lravae demo                                   # digits: gamma=0 vs gamma>0, writes a PNG
  lravae fit data.csv --gamma 0.1 --n-components 8 -o model.lravae
  lravae fit molecules.smi --core gru -o mol.lravae
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


def _retrain_every(text):
    """``--retrain-every``: a positive integer, 'auto' or 'never' (None)."""
    if text == "never":
        return None
    try:
        return _or_auto(positive_int)(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("'auto'", "'auto' or 'never'")) from None


#: Output file types of each command, checked before any work is done.
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
        "lravae fit data.csv --gamma 0.1 --n-components 8 -o model.lravae",
    )
    p.add_argument("data", help="numeric .csv/.npy, or SMILES .smi/.csv")
    p.add_argument("-o", "--output", required=True, help="model file to write (.lravae)")
    p.add_argument("--n-components", type=positive_int, default=32, help="latent dimension (32)")
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
        type=_retrain_every,
        default="auto",
        help="retrain the VAE around the queried points every N evaluations; 'auto': "
        "with --train every 50 evaluations and at each new best, without --train never; "
        "'never' (auto)",
    )
    p.add_argument(
        "--trust-region",
        action="store_true",
        help="propose in a TuRBO trust region around the incumbent (recommended for molecules)",
    )
    p.add_argument(
        "--train-candidates",
        action="store_true",
        help="with --trust-region and --train: also propose --train objects as they are, "
        "ranked by the GP (pool-based BO over that library)",
    )
    p.add_argument(
        "--invert",
        action="store_true",
        help="tell the surrogate latents that decode to the evaluated objects (decoder inversion)",
    )
    p.add_argument(
        "--surrogate",
        choices=["GP", "GP-ML", "GP-stock", "RF", "ET", "tanimoto"],
        default="GP",
        help="surrogate model: GP (hyperparameters under dimension-scaled priors), GP-ML "
        "(maximum likelihood), GP-stock, RF, ET, or tanimoto: a GP on the decoded objects "
        "(Morgan counts + physicochemical counts of molecules; needs --trust-region; "
        "recommended for molecules) (GP)",
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
            check_device_option(getattr(args, "device", None))
            args.func(args)
    except (CLIError, ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"lravae {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lravae {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
