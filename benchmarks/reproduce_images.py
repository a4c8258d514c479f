"""Reproduce the LRA-VAE paper's image results on MNIST and Fashion-MNIST.

Standard VAEs (``gamma = 0``) and LRA-VAEs (``gamma`` on a grid, reference
``N(0, s_ref^2 I)``) with the same architecture, data and seeds, trained through the
public API at two training lengths (the main one long enough that the gamma = 0
model's validation ELBO has plateaued, and a short one), then measured on:

1. **Low-density sample quality**: FID and unbiased KID between real test images and
   images decoded from ``N(0, s^2 I)`` (decoder means, and Bernoulli-binarised against
   binarised real images), k-NN precision / recall and classifier confidence, each
   averaged over several :class:`~sklearn_lravae.metrics.CNNFeatureExtractor` seeds.
   The reference scale s_ref is selected first, per data set and gamma, on a validation
   split (a selection stage: ``--select-seeds`` models per candidate in
   ``--reference-scales`` at the cheapest length ``--select-length``, lowest mean
   validation KID of N(0, ``--select-scale``^2 I) samples); the main models then train
   with it at every length. gamma is selected the same way among the main models and
   reported on test as paired per-seed differences vs gamma = 0 with 95% t-intervals;
   a gamma x training-length grid figure shows where it holds.
2. **LRE vs latent density**: Spearman correlations of the LRE with the log prior and
   a GMM log density; the mean LRE of ``N(0, s^2 I)`` samples; held-out ELBO.
3. **Morphing at matched spread**: interpolation between encoded test pairs and
   extrapolation by the same multiple of each model's latent spread; LRE and classifier
   confidence along the paths.

Models run as single-thread processes side by side (``--workers``, default 2).

Usage::

    python benchmarks/reproduce_images.py --quick   # minutes -> results/images_quick.md
    python benchmarks/reproduce_images.py --full    # -> results/images.md (keeps its
                                                    #    Discussion; estimate in images_quick.md)
    python benchmarks/reproduce_images.py --quick --render-only   # .md from the .json
    python benchmarks/reproduce_images.py --full --resume   # reuse the finished models of
                                                            # results/images.json (same
                                                            # settings), run the rest
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import _images_eval as ev
import _images_figures as figs
import _images_resume as resume
import _images_stats as stats
import numpy as np
import scipy
import sklearn
import torch
from _images_report import markdown

import sklearn_lravae

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
DISCUSSION = "## Discussion"

QUICK = dict(
    seeds=[0, 1],
    gammas=[0.0, 0.3],
    ext_seeds=[0, 1],
    lengths=["long:6000:auto", "short:3000:2"],
    n_val=2000,
    n_fid=2000,
    n_eval=2000,
    n_pairs=50,
    n_probe=200,
    cnn_epochs=1,
    cnn_train=6000,
    kid_subset=1000,
    kid_subsets=10,
    calib_cap=5,
    calib_patience=1,
    reference_scales=[1.0, 2.0],
    select_seeds=[0],
)
# 3 gammas and 3,000 images per sample metric so that the run fits 2 h on 2 cores with the
# MNIST plateau of 26 epochs (images_quick.md: 4 gammas and 5,000 images would take ~2.9 h)
FULL = dict(
    seeds=[0, 1, 2, 3, 4],
    gammas=[0.0, 0.03, 0.3],
    ext_seeds=[0, 1, 2],
    lengths=["long:55000:auto", "short:20000:4"],
    n_val=5000,
    n_fid=3000,
    n_eval=5000,
    n_pairs=100,
    n_probe=1000,
    cnn_epochs=3,
    cnn_train=55000,
    kid_subset=1000,
    kid_subsets=10,
    calib_cap=40,
    calib_patience=3,
    reference_scales=[1.0, 2.0, 3.0],  # the selection stage: 3 x 2 gammas x 3 seeds x 2 data
    select_seeds=[0, 1, 2],  # sets = 36 short models with a validation-only evaluation
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small settings, minutes")
    mode.add_argument("--full", action="store_true", help="the issue's protocol (the default)")
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="VAE seeds")
    p.add_argument("--ext-seeds", type=int, nargs="+", default=None, help="extractor seeds")
    p.add_argument("--gammas", type=float, nargs="+", default=None)
    p.add_argument(
        "--lengths", nargs="+", default=None,
        help="name:n_train:epochs, the first is the main one; epochs 'auto' = calibrated",
    )  # fmt: skip
    p.add_argument(
        "--reference-scale", type=float, default=2.0,
        help="s_ref of N(0, s_ref^2 I) without selection (one --reference-scales value)",
    )  # fmt: skip
    p.add_argument(
        "--reference-scales", type=float, nargs="+", default=None,
        help="candidate s_ref, selected on validation per data set and gamma",
    )  # fmt: skip
    p.add_argument("--select-seeds", type=int, nargs="+", default=None, help="selection stage")
    p.add_argument(
        "--select-length", default=None, help="length name of the selection stage (the last)"
    )
    p.add_argument(
        "--n-reference-samples", default="auto",
        type=lambda v: v if v == "auto" else int(v),
        help="reference samples per batch ('auto': the package default, 32 for Bernoulli)",
    )  # fmt: skip
    p.add_argument(
        "--select-scale", type=float, default=2.0, help="sampling scale of the validation KID"
    )
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    p.add_argument("--n-components", type=int, default=16)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 256])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    for key in ("n_val", "n_fid", "n_eval", "n_pairs", "n_probe", "cnn_epochs", "cnn_train"):
        p.add_argument("--" + key.replace("_", "-"), type=int, default=None)
    for key in ("kid_subset", "kid_subsets", "calib_cap", "calib_patience"):
        p.add_argument("--" + key.replace("_", "-"), type=int, default=None)
    p.add_argument("--calib-tol", type=float, default=3e-4, help="plateau tolerance x |ELBO_1|")
    p.add_argument("--workers", type=int, default=2, help="single-thread worker processes")
    p.add_argument("--shared-cpu", action="store_true", help="mark timings as upper bounds")
    p.add_argument("--tag", default=None, help="result stem (images / images_quick)")
    p.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json")
    p.add_argument(
        "--pictures-only", action="store_true",
        help="refit the seed-0 main-length models of gamma 0 and the selected gamma of the "
        "result .json and redraw the picture figures (after a --resume that reused them)",
    )  # fmt: skip
    p.add_argument(
        "--resume", action="store_true",
        help="reuse finished models of the result .json (same settings) and run the rest",
    )  # fmt: skip
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.gammas = sorted(set(args.gammas))
    if 0.0 not in args.gammas:
        p.error("--gammas must include 0 (the standard VAE baseline).")
    if args.select_scale not in args.scales:
        p.error("--select-scale must be one of --scales.")
    args.reference_scales = sorted(set(args.reference_scales))
    try:
        args.lengths = [_parse_length(s) for s in args.lengths]
    except ValueError as exc:
        p.error(f"--lengths: {exc}")
    if args.select_length is None:
        args.select_length = args.lengths[-1][0]
    if args.select_length not in [name for name, _, _ in args.lengths]:
        p.error("--select-length must name one of --lengths.")
    if args.tag is None:
        args.tag = "images_quick" if args.quick else "images"
    return args


def _parse_length(spec):
    name, n_train, epochs = spec.split(":")
    return name, int(n_train), epochs if epochs == "auto" else int(epochs)


def selecting(args):
    """Whether the run has a reference-scale selection stage."""
    return len(args.reference_scales) > 1


def chosen_scale(args, done, ds, g):
    """The selected (or fixed) reference scale of data set ``ds`` and gamma ``g``."""
    if g == 0 or not selecting(args):
        return args.reference_scale
    sel = [v for k, v in done.items() if k[0] == "sel" and k[1] == ds and k[2] == g]
    return stats.reference_choice(sel, ds, g)[0]


def _tasks(args, cfg, cnn_dir):
    """Task list: (key, needs, fn, make_args) with make_args(done) -> positional args."""
    tasks = []
    for ds in args.datasets:
        paths = [str(cnn_dir / f"{ds}_{s}.pkl") for s in args.ext_seeds]
        cnn_keys = {("cnn", ds, s) for s in args.ext_seeds}
        for s, path in zip(args.ext_seeds, paths):
            tasks.append(
                (("cnn", ds, s), set(), ev.train_cnn, lambda d, ds=ds, s=s, p=path: (cfg, ds, s, p))
            )
        length_needs, epochs_of = {}, {}
        for length, n_train, epochs in args.lengths:
            length_needs[length] = set(cnn_keys)
            if epochs == "auto":
                ck = ("calib", ds, length)
                tasks.append(
                    (ck, set(), ev.calibrate_epochs, lambda d, ds=ds, n=n_train: (cfg, ds, n))
                )
                length_needs[length].add(ck)
            epochs_of[length] = lambda d, e=epochs, ck=("calib", ds, length): (
                d[ck]["epochs"] if e == "auto" else e
            )
        sel_keys = {}
        if selecting(args):
            _, n_sel, _ = next(x for x in args.lengths if x[0] == args.select_length)
            for g in [g for g in args.gammas if g > 0]:
                for ref in args.reference_scales:
                    for seed in args.select_seeds:
                        key = ("sel", ds, g, ref, seed)
                        sel_keys.setdefault(g, set()).add(key)

                        def make_sel(done, ds=ds, g=g, ref=ref, seed=seed, n=n_sel, eo=epochs_of,
                                     p=paths):  # fmt: skip
                            return (cfg, ds, n, eo[args.select_length](done), g, seed, ref, p)

                        needs = length_needs[args.select_length]
                        tasks.append((key, needs, ev.fit_and_validate, make_sel))
        for i, (length, n_train, _) in enumerate(args.lengths):
            for seed in args.seeds:
                for g in args.gammas:

                    def make(done, ds=ds, length=length, n=n_train, g=g, seed=seed, i=i,
                             eo=epochs_of, p=paths):  # fmt: skip
                        e = eo[length](done)
                        pics = seed == args.seeds[0] and i == 0
                        ref = chosen_scale(args, done, ds, g)
                        return (cfg, ds, length, n, e, g, seed, p, pics, ref)

                    needs = length_needs[length] | sel_keys.get(g, set())
                    tasks.append((("vae", ds, length, g, seed), needs, ev.fit_and_evaluate, make))
    return tasks


def run_tasks(args, cfg, cnn_dir, on_done, cached=None):
    """Run the tasks on ``--workers`` single-thread processes, respecting dependencies.

    ``cached`` maps :func:`_images_resume.cache_key` of finished models (``--resume``) to their
    results; such tasks are marked done without running (``on_done(..., reused=True)``).
    """
    pending, done, running = _tasks(args, cfg, cnn_dir), {}, {}
    cached = cached or {}
    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=ev.init_worker) as pool:
        while pending or running:
            for task in list(pending):
                key, needs, fn, make = task
                if len(running) < args.workers and needs <= set(done):
                    fn_args = make(done)
                    pending.remove(task)
                    hit = cached.get(resume.cache_key(key, fn_args))
                    if hit is not None:
                        done[key] = hit
                        on_done(key, hit, reused=True)
                        continue
                    running[pool.submit(fn, *fn_args)] = key
            if not running:
                if pending and not any(t[1] <= set(done) for t in pending):
                    raise RuntimeError(f"unmet task dependencies: {[t[0] for t in pending]}")
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                key = running.pop(fut)
                done[key] = fut.result()
                on_done(key, done[key])
    return done


def versions():
    return (
        f"sklearn-lravae {sklearn_lravae.__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, scipy {scipy.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}"
    )


def full_plan(args):
    """The full preset, for the runtime estimate written into every report."""
    lengths = [_parse_length(s) for s in FULL["lengths"]]
    main_n = lengths[0][1]
    eval_scale = (FULL["n_fid"] * len(FULL["ext_seeds"])) / (args.n_fid * len(args.ext_seeds))
    return {
        "datasets": ["mnist", "fashion-mnist"],
        "seeds": FULL["seeds"],
        "gammas": FULL["gammas"],
        "ext_seeds": FULL["ext_seeds"],
        "lengths": [(main_n, 26), *[(n, e) for _, n, e in lengths[1:]]],
        "calib_epochs": 29,
        "patience": FULL["calib_patience"],
        "cnn_images_epochs": FULL["cnn_train"] * FULL["cnn_epochs"],
        "eval_scale": eval_scale,
        "epochs_grid": [10, 20, 26, 30, 40],
        "selection": (
            len(FULL["reference_scales"]) * (len(FULL["gammas"]) - 1) * len(FULL["select_seeds"]),
            *lengths[-1][1:],
        ),
    }


def write_markdown(result, stem):
    md = RESULTS / f"{stem}.md"
    text = markdown(result)
    if md.exists() and DISCUSSION in md.read_text():  # keep the hand-written discussion
        text += "\n" + DISCUSSION + md.read_text().split(DISCUSSION, 1)[1]
    md.write_text(text)
    return md


def main(argv=None):
    args = parse_args(argv)
    json_path = RESULTS / f"{args.tag}.json"
    if args.render_only:
        print(write_markdown(json.loads(json_path.read_text()), args.tag))
        return
    if args.pictures_only:
        return resume.redraw_pictures(args, json_path, write_markdown)
    drop = ("render_only", "quick", "full", "resume", "pictures_only")
    settings = {k: v for k, v in vars(args).items() if k not in drop}
    settings["data_dir"] = str(args.data_dir)
    cfg = dict(settings)
    t_start = time.perf_counter()
    old, cached = resume.load_previous(json_path, settings) if args.resume else (None, {})
    parts = []
    if old:
        parts = old.get("runtime_parts", [{"min": old["runtime_min"], "what": old["command"]}])
    result = {
        "mode": "quick" if args.quick else "full",
        "command": "python benchmarks/reproduce_images.py " + " ".join(sys.argv[1:]),
        "settings": settings,
        "versions": versions(),
        "lengths_used": [],
        "cnn": {},
        "calibration": dict(old["calibration"]) if old else {},
        "runs": [],
        "ref_selection": [],
        "figures": list(old["figures"]) if old else [],
        "full_plan": full_plan(args),
    }
    if old:  # kept until reused, so that a killed resume loses nothing
        result["previous_cnn"] = old.get("previous_cnn", old["cnn"])
        result["superseded_runs"] = old["runs"] + old.get("superseded_runs", [])
    pics = {}

    def save(final=False):
        result["partial"] = not final
        this = (time.perf_counter() - t_start) / 60
        result["runtime_parts"] = parts + [{"min": this, "what": result["command"]}]
        result["runtime_min"] = sum(p["min"] for p in result["runtime_parts"])
        lengths = []
        for name, n, e in args.lengths:
            calibrated = [
                c["epochs"] for c in result["calibration"].values() if c["length"] == name
            ]
            lengths.append(
                (name, n, e if e != "auto" else (calibrated[0] if calibrated else "auto"))
            )
        result["lengths_used"] = lengths
        RESULTS.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=1, default=str))
        return write_markdown(result, args.tag)

    def on_done(key, value, reused=False):
        kind, ds = key[0], key[1]
        if reused and kind == "calib":
            return  # copied from the earlier result
        if reused:
            result["runs" if kind == "vae" else "ref_selection"].append(value)
            if value in result.get("superseded_runs", []):
                result["superseded_runs"].remove(value)
            return
        if kind == "cnn":
            result["cnn"].setdefault(ds, []).append(value)
            line = f"{ds}: extractor seed {key[2]}: accuracy {value['accuracy']:.4f}"
        elif kind == "calib":
            result["calibration"][ds] = {**value, "length": key[2]}
            line = f"{ds}: calibrated {value['epochs']} epochs ({value['time_s']:.0f} s)"
        elif kind == "sel":
            result["ref_selection"].append(value)
            line = (
                f"{ds} selection gamma={key[2]:g} s_ref={key[3]:g} seed={key[4]}: fit "
                f"{value['fit_s']:.0f} s, validation KID {value['val']['kid']:.4g}"
            )
        else:
            run, pic = value
            result["runs"].append(run)
            if pic is not None:
                pics.setdefault(ds, {})[run["gamma"]] = pic
            s = f"{args.select_scale:g}"
            line = (
                f"{ds} {key[2]} gamma={key[3]:g} s_ref={run['reference_scale']:g} seed={key[4]}: "
                f"fit {run['fit_s']:.0f} s, eval {run['eval_s']:.0f} s, FID s={s} "
                f"{run['samples']['test'][s]['fid']:.2f}, "
                f"KID {run['samples']['test'][s]['kid']:.4g}"
            )
        print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)
        save()

    with tempfile.TemporaryDirectory() as cnn_dir:
        run_tasks(args, cfg, Path(cnn_dir), on_done, cached)
    main_length = args.lengths[0][0]
    for ds in args.datasets:
        for fig in (
            figs.morph_figure(result, args.tag, ds, main_length),
            figs.calibration_figure(result, args.tag, ds),
            *figs.picture_figures(result, args.tag, ds, main_length, pics.get(ds, {})),
        ):
            if fig and fig not in result["figures"]:
                result["figures"].append(fig)
    grid = figs.grid_figure(result, args.tag)
    if grid and grid not in result["figures"]:
        result["figures"].append(grid)
    md = save(final=True)
    print(f"wrote {md} and {json_path} in {result['runtime_min']:.1f} min", flush=True)


if __name__ == "__main__":
    main()
