"""Search speed: LatentBayesSearch's GP step vs stock scikit-optimize and BoTorch (fair protocol).

Each library builds a GP on n points of [0, 1]^d (the box [-3, 3]^d rescaled)
and proposes the next point:

- ``lravae``: ``SurrogateManager`` (torch fit of the hyperparameters, maximum a
  posteriori under the dimension-scaled priors BoTorch also uses, warm-started)
  + skopt ``Optimizer`` with the fixed-kernel ``FastGaussianProcessRegressor``, EI;
  ``lravae-ml`` (only when asked for): the same by maximum likelihood
  (``surrogate="GP-ML"``, the package's default before the prior);
- ``skopt``: stock skopt ``GaussianProcessRegressor``, the same model (cold fit:
  2 restarts, as shipped; warm fit: from the previous optimum, no restarts), EI;
- ``botorch``: ``SingleTaskGP`` (default priors, ``Standardize``) +
  ``fit_gpytorch_mll`` + ``LogExpectedImprovement`` + ``optimize_acqf``, GPyTorch
  defaults (Cholesky up to 800 points, CG/Lanczos above).

Matched acquisition budget (``ACQ_BUDGET``): 2000 random candidates, then
L-BFGS-B from the best 2. Test functions (minimised, known minima): ``sines``,
``ackley``, ``levy``.

A timing cell (library, function, n, d) times the cold hyperparameter fit on n
points, a warm fit on n + 10 points from that optimum, one step at fixed
hyperparameters, and the amortised steps ``step + fit`` (refit every step) and
``step + fit / 10`` (every 10), ``fit`` being the faster of the library's cold
and warm fits. Every cell is a fresh subprocess with OMP/MKL/OpenBLAS/torch
threads pinned to 1, an untimed warm-up and ``--repeats`` (>= 5) repeats on
different random data; tables give median [min, max]. A regret cell runs 50
BO steps from 20 random points in d = 16 for 5 seeds, refitting every step or
every 10 steps (skopt: as shipped), and reports the simple regret ``min f - f*``.

Usage::

    python benchmarks/speed_search.py --quick   # n in {100, 300}, d = 16, sines
    python benchmarks/speed_search.py           # the full grid

``--quick`` took 9.6-9.9 min at load averages of 9-12 on 2 cores (an
estimated 2-3 min on an idle machine). The full grid (timing on ``sines`` and ``ackley``
for n in {100, 300, 1000, 2000} and d in {16, 32, 64, 128}, stock skopt on
``sines`` up to n = 1000; regret on all three functions) needs roughly
FULL_GRID_HOURS hours of an idle core (+-50 %, extrapolated from the quick run
and single-cell probes; about three quarters of it is BoTorch at n >= 1000).
Split it with ``--libraries``, ``--functions`` or ``--sizes``: finished cells
stay in the JSON file and are skipped, and so do the finished repeats of a cell
that was stopped (each repeat is saved as it ends), so an interrupted run resumes
losing at most the repeat in progress; the report names cells whose repeats came
from more than one process. Writes
``benchmarks/results/speed_search{,_quick}.{json,md,png}``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _load import LoadMonitor
from sklearn.exceptions import ConvergenceWarning
from skopt import Optimizer
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import WhiteKernel

from sklearn_lravae.search._surrogate import SurrogateManager, default_gp

HERE = Path(__file__).resolve().parent
FULL_GRID_HOURS = 40  # see the module docstring; estimated from the quick run
ACQ_BUDGET = {"n_points": 2000, "n_restarts_optimizer": 2}  # matched acquisition budget
LIBRARIES = ("lravae", "skopt", "botorch")  # the plan; "lravae-ml" on request (--libraries)
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


# ---------------------------------------------------------------- test functions (minimised)
def sines(Z):
    return np.sum(np.sin(1.5 * Z) + 0.1 * Z**2, axis=1)


def ackley(Z):
    a = -20 * np.exp(-0.2 * np.sqrt(np.mean(Z**2, axis=1)))
    return a - np.exp(np.mean(np.cos(2 * np.pi * Z), axis=1)) + 20 + np.e


def levy(Z):
    w = 1 + (Z - 1) / 4
    inner = np.sum((w[:, :-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:, :-1] + 1) ** 2), axis=1)
    last = (w[:, -1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[:, -1]) ** 2)
    return np.sin(np.pi * w[:, 0]) ** 2 + inner + last


FUNCTIONS = {"sines": sines, "ackley": ackley, "levy": levy}


def f_min(name, d):
    """Known minimum on [-3, 3]^d (sines: d times the 1-D minimum, found on a fine grid)."""
    if name != "sines":
        return 0.0
    z = np.linspace(-3, 3, 600001)
    return d * float(np.min(np.sin(1.5 * z) + 0.1 * z**2))


def objective(name, X):
    """The test function at points X of the unit cube (the box [-3, 3]^d rescaled)."""
    return FUNCTIONS[name](6.0 * np.asarray(X) - 3.0)


# ---------------------------------------------------------------- the three libraries
class Lravae:
    """SurrogateManager's fit (MAP, the default) + skopt Optimizer with the fixed-kernel fast GP."""

    surrogate = "GP"

    def fit(self, X, y, init=None):
        mgr = SurrogateManager(self.surrogate, X.shape[1], refit_every=1)
        if init is not None:
            mgr.set_state({**init, "n_at_refit": 0})  # warm start from init
        mgr.base_estimator(X, y)
        return mgr.state()

    def step(self, X, y, hyper, seed):
        mgr = SurrogateManager(self.surrogate, X.shape[1], refit_every=1)
        mgr.set_state({**hyper, "n_at_refit": len(y)})  # no refit due
        return _skopt_step(mgr.base_estimator(X, y), X, y, seed)


class LravaeML(Lravae):
    """The same with ``surrogate="GP-ML"``: maximum-likelihood hyperparameters (no prior)."""

    surrogate = "GP-ML"


class Skopt:
    """Stock skopt GP: cold fits with its 2 restarts, warm fits from the optimum, no restarts."""

    def fit(self, X, y, init=None):
        gp = default_gp(X.shape[1]).set_params(random_state=0)  # seeded restarts
        if init is not None:
            gp.set_params(kernel=self._kernel(X.shape[1], init, fixed=False))
            gp.set_params(n_restarts_optimizer=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(X, y)
        return {"theta": gp.kernel_.k1.theta.tolist(), "noise": float(gp.noise_)}

    @staticmethod
    def _kernel(d, hyper, fixed):
        kernel = default_gp(d).kernel
        kernel.theta = np.asarray(hyper["theta"])
        bounds = "fixed" if fixed else (1e-5, 1e5)
        return kernel + WhiteKernel(hyper["noise"], noise_level_bounds=bounds)

    def step(self, X, y, hyper, seed):
        kernel = self._kernel(X.shape[1], hyper, fixed=True)
        gp = GaussianProcessRegressor(
            kernel=kernel, normalize_y=True, noise="gaussian", optimizer=None
        )
        return _skopt_step(gp, X, y, seed)


def _skopt_step(base, X, y, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = Optimizer(
            [(0.0, 1.0)] * X.shape[1],
            base_estimator=base,
            n_initial_points=0,
            acq_func="EI",
            acq_optimizer="lbfgs",
            acq_optimizer_kwargs=ACQ_BUDGET,
            random_state=seed,
        )
        opt.tell(X.tolist(), y.tolist())
        return np.asarray(opt.ask())


class Botorch:
    """SingleTaskGP with its defaults; hyperparameters are the GP's modules' state dicts."""

    MODULES = ("mean_module", "covar_module", "likelihood")

    def _model(self, X, y, hyper):
        import torch
        from botorch.models import SingleTaskGP
        from botorch.models.transforms import Standardize

        Xt = torch.tensor(X, dtype=torch.double)
        Yt = torch.tensor(-y, dtype=torch.double).unsqueeze(-1)  # BoTorch maximises
        model = SingleTaskGP(Xt, Yt, outcome_transform=Standardize(1))
        if hyper is not None:
            for name in self.MODULES:
                getattr(model, name).load_state_dict(hyper[name])
        return model

    def fit(self, X, y, init=None):
        from botorch.fit import fit_gpytorch_mll
        from gpytorch.mlls import ExactMarginalLogLikelihood

        model = self._model(X, y, init)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. input-scaling and optimisation warnings
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        return {
            k: {p: v.clone() for p, v in getattr(model, k).state_dict().items()}
            for k in self.MODULES
        }

    def step(self, X, y, hyper, seed):
        import torch
        from botorch.acquisition import LogExpectedImprovement
        from botorch.optim import optimize_acqf

        torch.manual_seed(seed)
        model = self._model(X, y, hyper).eval()
        acq = LogExpectedImprovement(model, best_f=float(np.max(-y)))
        bounds = torch.stack([torch.zeros(X.shape[1]), torch.ones(X.shape[1])]).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, _ = optimize_acqf(
                acq,
                bounds,
                q=1,
                num_restarts=ACQ_BUDGET["n_restarts_optimizer"],
                raw_samples=ACQ_BUDGET["n_points"],
            )
        return x.detach().numpy()[0]


ADAPTERS = {"lravae": Lravae, "lravae-ml": LravaeML, "skopt": Skopt, "botorch": Botorch}


# ---------------------------------------------------------------- what one subprocess runs
def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _warm_up(lib, name, d):
    """Untimed fit and step on 20 points: imports and first-call overheads."""
    X = np.random.default_rng(99).uniform(size=(20, d))
    lib.step(X, objective(name, X), lib.fit(X, objective(name, X)), 0)


def _emit(r, values, monitor):
    """Report repeat ``r`` at once, so that the driver keeps it if the cell is killed later.

    With it the load during the repeat: 1-minute load average at its start and end and,
    where ``/proc`` is readable, the cores other processes used meanwhile.
    """
    rec = monitor.stop()
    values["load"] = [rec["loadavg_before"][0], rec["loadavg"][0]]
    if "other_cores" in rec:
        values["other_cores"] = rec["other_cores"]
    print("REPEAT " + json.dumps({"r": r, **values}), flush=True)


def run_timing_cell(cell):
    """Cold fit, warm fit and fixed-hyperparameter step for repeats ``todo`` (default: all)."""
    lib, name, n, d = ADAPTERS[cell["library"]](), cell["function"], cell["n"], cell["d"]
    _warm_up(lib, name, d)
    for r in cell.get("todo", range(cell["repeats"])):
        monitor = LoadMonitor().start()
        X = np.random.default_rng([r, n, d]).uniform(size=(n + 10, d))
        y = objective(name, X)
        hyper, cold = _timed(lib.fit, X[:n], y[:n])
        warm = _timed(lib.fit, X, y, hyper)[1]
        step = _timed(lib.step, X[:n], y[:n], hyper, r)[1]
        _emit(r, {"cold": cold, "warm": warm, "step": step}, monitor)


def run_regret_cell(cell):
    """Simple regret after ``steps`` BO steps from ``n0`` random points, one run per seed."""
    lib, name, d = ADAPTERS[cell["library"]](), cell["function"], cell["d"]
    every, warm = cell["refit_every"], cell["library"].startswith("lravae")  # others: cold
    best = f_min(name, d)
    _warm_up(lib, name, d)
    for seed in cell.get("todo", range(cell["repeats"])):
        monitor, t0 = LoadMonitor().start(), time.perf_counter()
        X = np.random.default_rng([seed, d, 7]).uniform(size=(cell["n0"], d))
        y, hyper = objective(name, X), None
        for t in range(cell["steps"]):
            if t % every == 0:
                hyper = lib.fit(X, y, hyper if warm else None)
            x = np.clip(lib.step(X, y, hyper, 1000 * seed + t), 0.0, 1.0)
            X, y = np.vstack([X, x]), np.append(y, objective(name, x[None]))
        seconds = time.perf_counter() - t0
        _emit(seed, {"regret": float(np.min(y) - best), "seconds": seconds}, monitor)


def worker(cell):
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    (run_regret_cell if cell["kind"] == "regret" else run_timing_cell)(cell)
    print("DONE", flush=True)


# ---------------------------------------------------------------- the report
def machine():
    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        names = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if "model name" in ln]
        cpu = names[0] if names else cpu
    return {
        "machine": f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {_versions()}",
        "start_load": os.getloadavg(),
    }


def _versions():
    """Versions of the libraries compared (those installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("torch", "scikit-optimize", "botorch", "gpytorch"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


def _stat(values):
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return "n/a"
    fmt = (lambda x: f"{x:.3g}") if np.max(np.abs(v)) < 100 else (lambda x: f"{x:.0f}")
    return f"{fmt(np.median(v))} [{fmt(v.min())}, {fmt(v.max())}]"


def _components(res):
    """Per-repeat times: cold, warm, step and the amortised steps.

    The amortised steps use whichever of the library's cold and warm fits has
    the lower median (BoTorch's warm start does not always pay), so neither
    competitor is charged for a warm start that does not help it.
    """
    step, warm, cold = (np.asarray(res[k]) for k in ("step", "warm", "cold"))
    fit, kind = (warm, "warm") if np.median(warm) <= np.median(cold) else (cold, "cold")
    return {
        "cold": cold,
        "warm": warm,
        "step": step,
        "fit used": kind,
        "every 1": step + fit,
        "every 10": step + fit / 10,
        "native": step + cold,
    }


def _timing_tables(cells):
    rows = []
    head = "| function | n | d | library | cold fit | warm fit | step | fit used | amortised, "
    lines = [head + "refit every step | every 10 | load |", "|" + " --- |" * 11]
    groups = {}
    for c in cells:
        cell, res = c["cell"], c["result"]
        groups.setdefault((cell["function"], cell["n"], cell["d"]), {})[cell["library"]] = res
    for (name, n, d), libs in groups.items():
        for lib in ADAPTERS:
            if lib not in libs:
                continue
            res = libs[lib]
            if "error" in res:
                lines.append(f"| {name} | {n} | {d} | {lib} | {res['error']} |" + " |" * 6)
                continue
            comp = _components(res)
            vals = " | ".join(_stat(comp[k]) for k in ("cold", "warm", "step"))
            vals += f" | {comp['fit used']} | {_stat(comp['every 1'])} | {_stat(comp['every 10'])}"
            load = "-".join(f"{x:.1f}" for x in res["load"])
            lines.append(f"| {name} | {n} | {d} | {lib} | {vals} | {load} |")
        rows.append((name, n, d, {k: _components(v) for k, v in libs.items() if "error" not in v}))
    return lines, rows


def _ratio_table(rows):
    def med(comp, lib, k):
        return np.median(comp[lib][k]) if lib in comp else np.nan

    lines = [
        "| function | n | d | BoTorch / lravae, every step | BoTorch / lravae, every 10 "
        "| stock skopt as shipped / lravae every 10 | skopt warm fit / lravae warm fit |",
        "|" + " --- |" * 7,
    ]
    ratios = []
    for name, n, d, comp in rows:
        r = [
            med(comp, "botorch", "every 1") / med(comp, "lravae", "every 1"),
            med(comp, "botorch", "every 10") / med(comp, "lravae", "every 10"),
            med(comp, "skopt", "native") / med(comp, "lravae", "every 10"),
            med(comp, "skopt", "warm") / med(comp, "lravae", "warm"),
        ]
        ratios.append((n, d, name, r))
        cols = " | ".join("n/a" if np.isnan(x) else f"{x:.1f}x" for x in r)
        lines.append(f"| {name} | {n} | {d} | {cols} |")
    bo = np.array([r[:2] for *_, r in ratios if not np.isnan(r[0])]).reshape(-1, 2)
    sk = sorted((d, name, r[2]) for n, d, name, r in ratios if n == 1000 and not np.isnan(r[2]))
    return lines + [
        "",
        f"Goals: lravae's amortised step no slower than BoTorch's in {np.sum(bo[:, 0] >= 1)} of "
        f"{len(bo)} cells (refit every step) and {np.sum(bo[:, 1] >= 1)} of {len(bo)} (every "
        f"10); stock skopt as shipped / lravae at n = 1000: "
        + (", ".join(f"{x:.0f}x ({name}, d = {d})" for d, name, x in sk) or "not measured")
        + " (target >= 50x).",
    ]


def _regret_table(cells):
    lines = ["| function | d | library | refit every | simple regret | s per run | load |"]
    lines.append("|" + " --- |" * 7)
    order = {**{f: i for i, f in enumerate(FUNCTIONS)}, **{k: i for i, k in enumerate(ADAPTERS)}}
    cells = sorted(
        cells,
        key=lambda c: (
            order[c["cell"]["function"]],
            order[c["cell"]["library"]],
            c["cell"]["refit_every"],
        ),
    )
    for c in cells:
        cell, res = c["cell"], c["result"]
        every = "1 (cold, as shipped)" if cell["library"] == "skopt" else cell["refit_every"]
        head = f"| {cell['function']} | {cell['d']} | {cell['library']} | {every} |"
        if "error" in res:
            lines.append(f"{head} {res['error']} | | |")
            continue
        load = "-".join(f"{x:.1f}" for x in res["load"])
        lines.append(f"{head} {_stat(res['regret'])} | {_stat(res['seconds'])} | {load} |")
    return lines


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.9 * len(rows) + 3, 4))
    x = np.arange(len(rows))
    for k, lib in enumerate(LIBRARIES):
        v = [np.median(c[lib]["every 10"]) if lib in c else np.nan for *_, c in rows]
        ax.bar(x + (k - 1) * 0.27, v, width=0.27, label=lib)
    labels = [f"{name}\nn={n}\nd={d}" for name, n, d, _ in rows]
    ax.set(xticks=x, yscale="log", ylabel="s per step, refit every 10 (median)")
    ax.set_xticklabels(labels, fontsize=7)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _shared_cpu_note(done):
    """What the load says about the timings: timing cells must run alone, regret cells need not."""
    loads = {
        kind: [
            x
            for c in done["cells"]
            if c["cell"]["kind"] == kind
            for x in [*c["result"]["load"], c["result"].get("load_max", 0.0)]
        ]
        for kind in ("timing", "regret")
    }
    peak, cores = max(loads["timing"], default=0.0), os.cpu_count()
    other = [
        c["result"]["other_cores"]
        for c in done["cells"]
        if c["cell"]["kind"] == "timing" and "other_cores" in c["result"]
    ]
    if peak <= 1.5:
        note = (
            "The machine was otherwise idle during every timing cell (1-minute load average at "
            f"most {peak:.1f}"
            + (
                f"; in the {len(other)} cell{'s' * (len(other) > 1)} timed since the CPU time "
                "of other processes is "
                f"read from /proc, they used at most {max(other):.2f} cores"
                if other
                else ""
            )
            + ")."
        )
    else:
        note = (
            f"**Timing cells shared the CPU** with other processes (1-minute load average up to "
            f"{peak:.1f} on {cores} cores): absolute seconds are inflated, by up to several "
            "times, and ratios between cells timed at different moments are only indicative."
        )
    if max(loads["regret"], default=0.0) > 1.5:
        note += (
            " Regret cells ran up to two at a time (one per core; see their `load`): their "
            "regret does not depend on the load, their seconds per run are indicative only."
        )
    return note


def coverage(done, quick):
    """Which cells of the mode's whole plan (``--quick`` or the full grid) have a result."""
    have = {key(c["cell"]) for c in done["cells"] if "error" not in c["result"]}
    planned = plan(parse(["--quick"] if quick else []))
    missing = [c for c in planned if key(c) not in have]
    if not missing:
        return f"Coverage: all {len(planned)} cells of the plan."
    kinds = {k: [c for c in planned if c["kind"] == k] for k in ("timing", "regret")}
    counts = ", ".join(
        f"{sum(key(c) in have for c in cells)} of {len(cells)} {k} cells"
        for k, cells in kinds.items()
    )
    return (
        f"**Partial run.** Coverage: {counts} of the {'quick' if quick else 'full'} plan "
        "(module docstring); the rest has not been run, and every statement below is about "
        "the cells shown."
    )


def _resumed_note(done):
    """Cells resumed (repeats from several processes) and cells stopped with repeats saved."""
    stopped = [
        f"{c['library']} {c['function']} "
        + (f"n = {c['n']}, " if "n" in c else "")
        + f"d = {c['d']} ({len(reps)} repeat{'s' * (len(reps) > 1)} done)"
        for k, reps in done.get("partial", {}).items()
        if reps
        for c in [json.loads(k)]  # the key is the cell without its number of repeats
    ]
    lines = (
        [
            "Stopped mid-cell, not in the tables (finished repeats kept in the JSON file; a "
            f"rerun does the rest): {', '.join(stopped)}.",
            "",
        ]
        if stopped
        else []
    )
    resumed = [c for c in done["cells"] if c["result"].get("processes", 1) > 1]
    if not resumed:
        return lines
    names = ", ".join(
        f"{c['cell']['library']} {c['cell']['function']} "
        + (f"n = {c['cell']['n']}, " if "n" in c["cell"] else "")
        + f"d = {c['cell']['d']} ({c['result']['processes']} processes)"
        for c in resumed
    )
    return lines + [
        f"Resumed cells (their repeats ran in more than one fresh process, each with its own "
        f"untimed warm-up, because a run was stopped mid-cell): {names}.",
        "",
    ]


def _run_line(run):
    """One run of the script: machine, load average at start and end, minutes."""
    start, end = (
        " / ".join(f"{x:.2f}" for x in run.get(k, ())) for k in ("start_load", "end_load")
    )
    line = f"- {run['start']}: {run['machine']}; load average (1/5/15 min) {start} at start, "
    if not end:  # killed: its finished repeats are in the JSON file
        return line + "stopped before its end (finished repeats kept)"
    return line + f"{end} at end, {run['seconds'] / 60:.1f} min"


def write_report(done, out, quick):
    timing = [c for c in done["cells"] if c["cell"]["kind"] == "timing"]
    regret = [c for c in done["cells"] if c["cell"]["kind"] == "regret"]
    run_lines = [_run_line(r) for r in done["runs"]]
    t_lines, rows = _timing_tables(timing)
    lines = [
        "# Search speed: LatentBayesSearch vs stock skopt and BoTorch" + (" (quick)" * quick),
        "",
        "Protocol: `benchmarks/speed_search.py` (module docstring). Seconds, median [min, max] "
        "over the repeats (different random data); every cell a fresh process with one thread. "
        "Acquisition budget matched: 2000 random candidates + L-BFGS-B from the best 2. "
        "Warm fit: on n + 10 points from the cold fit's optimum. `fit used`: the faster "
        "(by median) of a library's cold and warm fits, charged to its amortised steps "
        "(`step + fit` when refitting every step, `step + fit / 10` every 10). "
        "`load` is the 1-minute load average at the cell's start and end.",
        "",
        _shared_cpu_note(done),
        "",
        coverage(done, quick),
        "",
        *_resumed_note(done),
        "Runs:",
        *run_lines,
        "",
        *t_lines,
        "",
        "Ratios of medians (above 1: lravae is faster). Stock skopt as shipped refits "
        "with restarts at every step (cold fit + step).",
        "",
        *_ratio_table(rows),
        "",
        f"Simple regret `min f - f*` after {regret[0]['cell']['steps'] if regret else 50} steps "
        "from 20 random points, median [min, max] over seeds (lravae warm-starts its fits, "
        "BoTorch and skopt refit from scratch as usually run)"
        + (": in the quick mode (d = 4, 10 steps) a smoke test, not evidence." if quick else ":"),
        "",
        *_regret_table(regret),
    ]
    if rows:
        plot(rows, out.with_suffix(".png"))
        lines += ["", f"![seconds per step]({out.with_suffix('.png').name})"]
    out.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- the driver
def key(cell):
    return json.dumps({k: v for k, v in sorted(cell.items()) if k not in ("repeats", "todo")})


def run_cell(cell, timeout, partial, save):
    """Run the repeats of ``cell`` missing from ``partial`` in one fresh process.

    ``partial`` maps a repeat's index (as a string) to its values; each repeat
    is added as soon as the worker reports it and ``save()`` is called, so a run
    killed mid-cell keeps its finished repeats and the next run only does the
    rest (in a fresh process with its own warm-up). Returns the cell's result
    once every repeat is there, else ``{"error": ...}``.
    """
    todo = [r for r in range(cell["repeats"]) if str(r) not in partial]
    cmd = [sys.executable, __file__, "--cell", json.dumps({**cell, "todo": todo})]
    timed_out = threading.Event()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **THREAD_ENV}, stdout=subprocess.PIPE, stderr=err, text=True
        )
        timer = threading.Timer(timeout, lambda: (timed_out.set(), proc.kill()))
        timer.start()
        for line in proc.stdout:
            if line.startswith("REPEAT "):
                rec = json.loads(line[len("REPEAT ") :])
                r = str(rec.pop("r"))
                partial[r] = {**rec, "process": todo[0]}
                save()
        proc.wait()
        timer.cancel()
        err.seek(0)
        last = (err.read().strip().splitlines() or ["no output"])[-1]
    if len(partial) < cell["repeats"]:
        return {"error": f"timed out after {timeout} s" if timed_out.is_set() else last}
    return merge_repeats(partial, cell["repeats"])


def merge_repeats(partial, repeats):
    """A cell's result from its repeats: value lists in repeat order, the load over all of them.

    ``processes`` counts the worker processes the repeats came from (1 unless a
    run was interrupted and resumed); ``load`` is the 1-minute load average at
    the first repeat's start and the last one's end, ``load_max`` the highest seen.
    """
    recs = [partial[str(r)] for r in range(repeats)]
    skip = ("load", "other_cores", "process")
    out = {k: [rec[k] for rec in recs] for k in recs[0] if k not in skip}
    out["load"] = [recs[0]["load"][0], recs[-1]["load"][1]]
    out["load_max"] = max(x for rec in recs for x in rec["load"])
    other = [rec["other_cores"] for rec in recs if "other_cores" in rec]
    if other:
        out["other_cores"] = max(other)
    out["processes"] = len({rec["process"] for rec in recs})
    return out


def plan(args):
    """The cells of the run: timing cells, then regret cells."""
    cells = []
    for name in [] if args.regret_only else args.functions:
        for n, d in args.sizes:
            for lib in args.libraries:
                if lib == "skopt" and (n > args.skopt_max_n or name != args.functions[0]):
                    continue
                cells.append({"kind": "timing", "library": lib, "function": name, "n": n, "d": d})
    for name in args.regret_functions:
        for lib in args.libraries:
            for every in (1,) if lib == "skopt" else args.regret_every:
                cell = {"kind": "regret", "library": lib, "function": name, "refit_every": every}
                cells.append({**cell, "d": args.regret_d, "n0": 20, "steps": args.regret_steps})
    for cell in cells:
        cell["repeats"] = args.repeats
    return cells


def parse(argv=None):
    doc = __doc__.replace("FULL_GRID_HOURS", str(FULL_GRID_HOURS))
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="n in {100, 300}, d = 16, sines only")
    p.add_argument("--sizes", nargs="+", help="n:d pairs (default: the full grid)")
    names = list(FUNCTIONS)
    p.add_argument("--functions", nargs="+", choices=names, default=names[:2], help="timing")
    p.add_argument("--regret-functions", nargs="*", choices=names, default=names)
    p.add_argument("--libraries", nargs="+", choices=list(ADAPTERS), default=list(LIBRARIES))
    p.add_argument("--repeats", type=int, default=5, help="repeats per cell (>= 5)")
    p.add_argument("--skopt-max-n", type=int, default=1000, help="largest n for stock skopt")
    p.add_argument("--regret-d", type=int, default=16)
    p.add_argument("--regret-steps", type=int, default=50)
    p.add_argument("--regret-every", type=int, nargs="+", default=[1, 10], help="refit schedules")
    p.add_argument("--regret-only", action="store_true", help="run no timing cells")
    p.add_argument("--timeout", type=int, default=12 * 3600, help="seconds per cell")
    p.add_argument("--out", default=None, help="markdown path (JSON and PNG next to it)")
    p.add_argument("--report-only", action="store_true", help="rewrite the report, run nothing")
    p.add_argument("--cell", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cell is None and args.repeats < 5:
        p.error("--repeats must be >= 5 (median and spread need repeats)")
    if args.quick:
        args.sizes = args.sizes or ["100:16", "300:16"]
        args.functions = args.regret_functions = ["sines"]
        args.skopt_max_n = min(args.skopt_max_n, 100)
        args.regret_d, args.regret_steps, args.regret_every = 4, min(args.regret_steps, 10), [10]
    sizes = args.sizes or [f"{n}:{d}" for n in (100, 300, 1000, 2000) for d in (16, 32, 64, 128)]
    args.sizes = [tuple(int(v) for v in s.split(":")) for s in sizes]
    stem = "speed_search_quick" if args.quick else "speed_search"
    args.out = Path(args.out or HERE / "results" / f"{stem}.md")
    return args


def main(argv=None):
    args = parse(argv)
    if args.cell is not None:
        return worker(json.loads(args.cell))
    if "botorch" in args.libraries:
        try:
            import botorch  # noqa: F401
        except ImportError:
            print("BoTorch is not installed (pip install .[benchmarks]); skipping it")
            args.libraries = [lib for lib in args.libraries if lib != "botorch"]
    json_path = args.out.with_suffix(".json")
    done = json.loads(json_path.read_text()) if json_path.exists() else {"cells": []}
    if args.report_only:
        write_report(done, args.out, quick=args.quick)
        return print(f"wrote {args.out}")
    have = {key(c["cell"]) for c in done["cells"] if "error" not in c["result"]}
    done.setdefault("runs", []).append({"start": time.strftime("%Y-%m-%d %H:%M"), **machine()})
    t_run = time.perf_counter()
    json_path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        json_path.write_text(json.dumps(done, indent=1))

    for cell in plan(args):
        if key(cell) in have:
            continue
        t0 = time.perf_counter()
        partial = done.setdefault("partial", {}).setdefault(key(cell), {})
        result = run_cell(cell, args.timeout, partial, save)
        print(f"{time.perf_counter() - t0:7.1f}s {key(cell)} -> {json.dumps(result)[:160]}")
        done["cells"] = [c for c in done["cells"] if key(c["cell"]) != key(cell)]
        done["cells"].append({"cell": cell, "result": result})
        if "error" not in result:
            del done["partial"][key(cell)]
        save()
    done["runs"][-1].update(end_load=os.getloadavg(), seconds=time.perf_counter() - t_run)
    json_path.write_text(json.dumps(done, indent=1))
    write_report(done, args.out, quick=args.quick)
    print(f"wrote {args.out} and {json_path.name}")


if __name__ == "__main__":
    main()
