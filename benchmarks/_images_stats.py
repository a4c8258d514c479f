"""Statistics of ``reproduce_images.py``: per-seed values, paired differences with
95% t-intervals, gamma and reference-scale selection on the validation split, the runtime
estimate."""

import numpy as np
from scipy import stats


def select(runs, dataset=None, length=None, gamma=None):
    return [
        r
        for r in runs
        if (dataset is None or r["dataset"] == dataset)
        and (length is None or r["length"] == length)
        and (gamma is None or r["gamma"] == gamma)
    ]


def by_seed(runs, fn):
    return {r["seed"]: float(fn(r)) for r in runs}


def t_interval(values):
    """Mean and 95% t-interval (nan bounds with fewer than 2 values)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), np.nan, np.nan
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def paired(runs_g, runs_0, fn, relative=False):
    """Per-seed differences of ``fn`` (gamma vs gamma = 0, same seed): mean, lo, hi, n."""
    a, b = by_seed(runs_g, fn), by_seed(runs_0, fn)
    seeds = sorted(set(a) & set(b))
    if relative:  # a zero baseline (e.g. precision 0) has no relative change
        seeds = [s for s in seeds if b[s] != 0]
    diff = [(a[s] - b[s]) / abs(b[s]) * 100 if relative else a[s] - b[s] for s in seeds]
    if not diff:
        return np.nan, np.nan, np.nan, 0
    return (*t_interval(diff), len(diff))


def fmt_paired(res, fmt="{:+.2f}", unit=""):
    mean, lo, hi, n = res
    if n == 0:
        return "—"
    if n < 2:
        return fmt.format(mean) + unit
    mark = " \\*" if lo > 0 or hi < 0 else ""
    return f"{fmt.format(mean)}{unit} [{fmt.format(lo)}, {fmt.format(hi)}]{mark}"


def ms(values, fmt="{:.2f}"):
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return "—"
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(v.mean())} ± {fmt.format(v.std(ddof=1))}"


def epochs_of(runs, dataset, length, default):
    """Epochs the models of ``dataset`` at ``length`` trained (calibrated per data set)."""
    found = sorted({r["epochs"] for r in select(runs, dataset, length)})
    return "/".join(map(str, found)) if found else default


def selection(runs, dataset, length, gammas, scale, metric="kid"):
    """Mean validation ``metric`` of N(0, scale^2 I) samples per gamma; the best gamma > 0."""
    key = f"{scale:g}"
    table = {}
    for g in gammas:
        rs = select(runs, dataset, length, g)
        if rs:
            table[g] = float(np.mean([r["samples"]["val"][key][metric] for r in rs]))
    positive = {g: v for g, v in table.items() if g > 0}
    best = min(positive, key=positive.get) if positive else None
    return best, table


def rates(runs, cnn_info, sel_runs=()):
    """Measured seconds per training image-epoch (gamma = 0 / > 0), evaluation, CNN."""
    out = {}
    sel_eval = [r["eval_s"] for r in sel_runs if "eval_s" in r]
    if sel_eval:
        out["sel_eval_s"] = float(np.mean(sel_eval))
    for label, keep in (("gamma0", lambda g: g == 0), ("gamma_pos", lambda g: g > 0)):
        rs = [r for r in runs if keep(r["gamma"])]
        if rs:
            out[label] = float(np.median([r["fit_s"] / (r["n_train"] * r["epochs"]) for r in rs]))
    if runs:
        out["eval_s"] = float(np.mean([r["eval_s"] for r in runs]))
    cnns = [c for ds in cnn_info.values() for c in ds]
    if cnns:
        out["cnn_per_image_epoch"] = float(np.median([c["rate"] for c in cnns]))
    return out


def estimate(rate, plan, workers=2, eval_scale=1.0):
    """Predicted wall time (s) of a run ``plan`` from measured rates.

    ``plan``: datasets, seeds, gammas, extractor seeds, lengths [(n_train, epochs)],
    calibration epochs, CNN images x epochs, optionally the reference-scale selection
    stage (models per data set, n_train, epochs). Work is split evenly over ``workers``
    single-thread processes; ``eval_scale`` scales the measured evaluation time to the
    plan's evaluation size.
    """
    n_ds = len(plan["datasets"])
    fit = 0.0
    for n_train, epochs in plan["lengths"]:
        per_gamma = [rate["gamma0"] if g == 0 else rate["gamma_pos"] for g in plan["gammas"]]
        fit += len(plan["seeds"]) * sum(per_gamma) * n_train * epochs
    n_models = len(plan["seeds"]) * len(plan["gammas"]) * len(plan["lengths"])
    evals = n_models * rate["eval_s"] * eval_scale
    calib = plan["calib_epochs"] * plan["lengths"][0][0] * rate["gamma0"]
    sel = plan.get("selection")  # (models per data set, n_train, epochs)
    if sel:
        n_models += sel[0]
        evals += sel[0] * rate.get("sel_eval_s", rate["eval_s"] * eval_scale / 5)
        fit += sel[0] * rate["gamma_pos"] * sel[1] * sel[2]
    cnn = len(plan["ext_seeds"]) * plan["cnn_images_epochs"] * rate.get("cnn_per_image_epoch", 0)
    total = n_ds * (fit + evals + calib + cnn)
    return {"core_s": total, "wall_s": total / workers, "models": n_ds * n_models}


def reference_choice(sel_runs, dataset, gamma, metric="kid"):
    """Mean validation ``metric`` per reference scale (selection runs); the lowest one."""
    table = {}
    for r in sel_runs:
        if r["dataset"] == dataset and r["gamma"] == gamma:
            table.setdefault(r["reference_scale"], []).append(r["val"][metric])
    table = {s: float(np.mean(v)) for s, v in sorted(table.items())}
    return (min(table, key=table.get) if table else None), table
