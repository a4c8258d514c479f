"""``reproduce_images.py`` resumed: reuse finished models, redraw pictures.

``--resume`` marks every task whose model (data set, length, n, epochs, gamma, seed,
reference scale) is in the stored result as done; ``--pictures-only`` refits the few
models the picture figures show and checks that each refit reproduces its stored model.
"""

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import _images_eval as ev
import _images_figures as figs
import _images_stats as stats


def cache_key(key, fn_args):
    """What identifies a finished task: data set, length / n, epochs, gamma, seed, s_ref."""
    if key[0] == "calib":
        return key
    if key[0] == "vae":
        _, ds, length, n, e, g, seed, _, _, ref = fn_args
        return ("vae", ds, length, n, e, g, seed, ref)
    if key[0] == "sel":
        _, ds, n, e, g, seed, ref, _ = fn_args
        return ("sel", ds, n, e, g, seed, ref)
    return None


def load_previous(json_path, settings):
    """``--resume``: the earlier result (same settings) and its finished models by cache key."""
    if not json_path.exists():
        return None, {}
    old = json.loads(json_path.read_text())
    ignore = {"workers", "shared_cpu", "reference_scales", "select_seeds", "select_length"}
    now = json.loads(json.dumps(settings, default=str))  # tuples -> lists, as stored
    changed = sorted(
        k for k in now if k not in ignore and k in old["settings"] and old["settings"][k] != now[k]
    )
    if changed:
        sys.exit(f"--resume: {json_path} was run with other settings ({changed}); drop --resume.")
    cached = {}
    for run in old["runs"] + old.get("superseded_runs", []):
        run.setdefault("reference_scale", old["settings"]["reference_scale"])
        key = (
            "vae", run["dataset"], run["length"], run["n_train"], run["epochs"], run["gamma"],
            run["seed"], run["reference_scale"],
        )  # fmt: skip
        cached[key] = run
    for ds, calib in old["calibration"].items():
        cached[("calib", ds, calib["length"])] = calib
    for sel in old.get("ref_selection", []):
        key = ("sel", sel["dataset"], sel["n_train"], sel["epochs"], sel["gamma"], sel["seed"])
        cached[(*key, sel["reference_scale"])] = sel
    return old, cached


def redraw_pictures(args, json_path, write_markdown):
    """``--pictures-only``: refit the picture models of the stored result, redraw figures.

    Each refit must reproduce the stored model (same test ELBO); a mismatch is reported
    and its figures are not replaced.
    """
    result = json.loads(json_path.read_text())
    cfg, t_start = result["settings"], time.perf_counter()
    main_length, n_train, epochs = result["lengths_used"][0]
    jobs = {}
    for ds in [ds for ds in args.datasets if ds in cfg["datasets"]]:
        best, _ = stats.selection(
            result["runs"], ds, main_length, cfg["gammas"], cfg["select_scale"]
        )
        for g in (0.0, best):
            (run,) = [
                r
                for r in stats.select(result["runs"], ds, main_length, g)
                if r["seed"] == cfg["seeds"][0]
            ]
            ref = run.get("reference_scale", cfg["reference_scale"])
            jobs[(ds, g)] = (run, (cfg, ds, n_train, run["epochs"], g, run["seed"], ref))
    pics, checks = {}, []
    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=ev.init_worker) as pool:
        futures = {pool.submit(ev.fit_for_pictures, *a): key for key, (_, a) in jobs.items()}
        for fut in futures:
            (ds, g), (elbo, pic) = futures[fut], fut.result()
            stored = jobs[(ds, g)][0]["elbo"]
            same = abs(elbo - stored) <= 1e-6 * abs(stored)
            checks.append({"dataset": ds, "gamma": g, "elbo": elbo, "stored": stored, "same": same})
            print(f"{ds} gamma={g:g}: refit test ELBO {elbo:.6f}, stored {stored:.6f}", flush=True)
            if same:
                pics.setdefault(ds, {})[g] = pic
    for ds, by_gamma in pics.items():
        for fig in figs.picture_figures(result, args.tag, ds, main_length, by_gamma):
            if fig and fig not in result["figures"]:
                result["figures"].append(fig)
    result["picture_refit"] = {"checks": checks, "min": (time.perf_counter() - t_start) / 60}
    json_path.write_text(json.dumps(result, indent=1, default=str))
    print(write_markdown(result, args.tag))
    if not all(c["same"] for c in checks):
        sys.exit("a refit did not reproduce its stored model; its figures were left as they were")
