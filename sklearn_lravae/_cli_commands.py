"""The subcommands of the ``lravae`` command (``demo``, ``fit``, ``transform``, ``sample``,
``optimize``).

Everything heavy (NumPy, torch, scikit-learn, RDKit) is imported inside the
command that needs it, so ``lravae --help`` and usage errors are instant.
"""

import csv
import importlib
import sys
from pathlib import Path

from ._cli_io import (
    NUMERIC_OUTPUTS,
    SMILES_OUTPUTS,
    CLIError,
    check_output,
    info,
    read_data,
    write_output,
)

__all__ = [
    "check_device_option",
    "cmd_demo",
    "cmd_fit",
    "cmd_optimize",
    "cmd_sample",
    "cmd_transform",
    "resolve_objective",
]


def load_model(path, device=None):
    from ._persistence import load

    if not Path(path).is_file():
        raise CLIError(f"{path}: no such model file.")
    return load(path, device=device)


def vectorizer_of(model):
    """The model's SelfiesVectorizer (first Pipeline step), or None."""
    from .chem import SelfiesVectorizer

    steps = getattr(model, "steps", [])
    return next((s for _, s in steps if isinstance(s, SelfiesVectorizer)), None)


def check_device_option(device):
    if device is None:
        return
    from ._utils import check_device

    try:
        check_device(device, option="--device")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def progress_enabled(args):
    """Show training output: never with -q, always with -v, else on a terminal."""
    if args.quiet:
        return False
    return args.verbose or sys.stderr.isatty()


def set_verbose(model, verbose):
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

    check_output(args.output, None)
    data = read_data(args.data)
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
        verbose=2 if progress_enabled(args) else 0,
    )
    if isinstance(data, list):
        from ._likelihood import CategoricalLikelihood
        from .chem import SelfiesVectorizer, make_sequence_core, make_straight_through_core

        if hidden == "auto" and (args.core == "gru" or args.straight_through):
            hidden = CategoricalLikelihood.default_hidden_layer_sizes

        vec = SelfiesVectorizer(on_error="drop").fit(data)
        X = vec.transform(data)
        if len(vec.dropped_indices_):
            info(f"skipped {len(vec.dropped_indices_)} invalid SMILES of {len(data)}")
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
    set_verbose(model, 0)  # the file does not carry this terminal's verbosity
    save(model, args.output)
    info(f"saved {args.output}")


def cmd_transform(args):
    import numpy as np

    check_output(args.output, NUMERIC_OUTPUTS)
    model = load_model(args.model, args.device)
    data = read_data(args.data)
    vec = vectorizer_of(model)
    if isinstance(data, list) != (vec is not None):
        kind = "a molecule" if vec is not None else "a numeric"
        raise CLIError(f"{args.model} is {kind} model; {args.data} holds other data.")
    if vec is None:
        write_output(args.output, model.transform(data))
        return
    # keep one output row per input molecule: unreadable / too long ones give NaN rows
    vec.set_params(on_error="drop", on_long="drop")
    Z = model.transform(data)
    dropped = np.asarray(vec.dropped_indices_, dtype=int)
    if len(dropped):
        full = np.full((len(data), Z.shape[1]), np.nan)
        full[np.setdiff1d(np.arange(len(data)), dropped)] = Z
        Z = full
        info(f"{len(dropped)} molecule(s) could not be encoded: NaN rows {dropped[:10].tolist()}")
    write_output(args.output, Z)


def cmd_sample(args):
    import numpy as np

    from .metrics import find_lravae

    check_output(args.latent, NUMERIC_OUTPUTS, "--latent")
    check_output(args.output, None)
    model = load_model(args.model, args.device)
    molecules = vectorizer_of(model) is not None
    check_output(args.output, SMILES_OUTPUTS if molecules else NUMERIC_OUTPUTS)
    vae = find_lravae(model)
    rng = np.random.RandomState(args.random_state)
    Z = args.scale * rng.standard_normal((args.n_samples, vae.n_components_))
    X = model.inverse_transform(Z)
    write_output(args.output, [str(s) for s in X] if molecules else X)
    if args.latent:
        write_output(args.latent, Z)


def cli_surrogate(name, molecules):
    """``--surrogate``: a name for LatentBayesSearch, or the Tanimoto GP of the decoded objects."""
    if name != "tanimoto":
        return name
    from .chem import molecule_features
    from .search import TanimotoGP

    return TanimotoGP(features=molecule_features if molecules else None)


def resolve_objective(name, molecules, vectorized):
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

    check_output(args.output, None)
    model = load_model(args.model, args.device)
    set_verbose(model, 1 if args.verbose else 0)  # retraining epochs: only with -v
    molecules = vectorizer_of(model) is not None
    objective, vectorized = resolve_objective(args.objective, molecules, args.vectorized)
    if args.initial is not None:
        initial = read_data(args.initial)
        if isinstance(initial, list) != molecules:
            raise CLIError(f"{args.initial} does not hold the kind of data {args.model} encodes.")
        initial = list(initial[: args.n_initial])
    else:  # decoded prior samples (the same ones on --resume: fixed seed)
        vae = find_lravae(model)
        rng = np.random.RandomState(args.random_state)
        initial = list(
            model.inverse_transform(rng.standard_normal((args.n_initial, vae.n_components_)))
        )
    train = None
    if args.train is not None:
        train = list(read_data(args.train))
    search = LatentBayesSearch(
        model,
        objective,
        vectorized=vectorized,
        n_calls=args.n_calls,
        n_initial_points=args.n_random,
        batch_size=args.batch_size,
        acq_func=args.acq_func,
        retrain_every=args.retrain_every,
        trust_region=args.trust_region,
        train_candidates=args.train_candidates,
        surrogate=cli_surrogate(args.surrogate, molecules),
        invert=args.invert,
        retrain_epochs=args.retrain_epochs,
        weight_k=args.weight_k,
        lre_threshold=args.lre_threshold,
        n_jobs=args.n_jobs,
        checkpoint=args.checkpoint,
        random_state=args.random_state,
        verbose=1 if progress_enabled(args) else 0,
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
        info(f"wrote {args.output} ({len(rows)} evaluations)")
    n_ok = sum(h["status"] == "ok" for h in rows)
    best = search.best_object_
    best = best if isinstance(best, str) else np.array2string(np.ravel(best), precision=3)
    print(
        f"{len(rows)} evaluations ({n_ok} ok), {search.n_retrain_rounds_} retraining rounds; "
        f"best value {search.best_score_:.6g}: {best}"
    )


# ----------------------------------------------------------------- parser
