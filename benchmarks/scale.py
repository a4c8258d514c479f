"""Scaling to a million molecules: time and peak memory of vectorising MOSES (issue 19).

Cells, each run in a fresh subprocess with every thread pool pinned to one thread:

- ``vectorize``: read the first ``n`` SMILES of ``moses_train.csv.gz`` and
  ``SelfiesVectorizer(output="indices").fit_transform`` them (``n_jobs`` 1 or 2):
  wall time of each step, peak RSS (``VmHWM`` of ``/proc/self/status``) of the
  cell and of its largest joblib worker, bytes of the output.
- ``speed``: ``transform`` per core against a raw loop on the same molecules
  (``selfies.encoder`` + ``split_selfies`` + dict look-ups into a preallocated
  index array), with and without RDKit canonicalisation, in CPU seconds
  (``time.process_time``, less sensitive to other users of the machine than
  wall time), interleaved and repeated; and the wall-time speed-up of
  ``n_jobs=2``.
- ``fit_epoch`` and ``encode``: HOOKS for the transformer side (one training
  epoch from the compact indices, and ``transform`` to latent means); not
  implemented yet, see :func:`cell_fit_epoch` and :func:`cell_encode`.

Usage::

    nice -n 10 python benchmarks/scale.py                 # 10k and 100k, 3 repeats
    nice -n 10 python benchmarks/scale.py --full          # + the 1.58M cell, once
    python benchmarks/scale.py --report-only              # rewrite the report from JSON

Writes ``benchmarks/results/scale.json``, ``scale.md`` and ``scale.png``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "moses_train.csv.gz"
RESULTS = HERE / "results"
N_MOSES = 1_584_663
THREADS = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


# ---------------------------------------------------------------- measurement
def _loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def _vm_hwm_mib():
    """Peak resident set size of this process (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _children_usage():
    """Largest peak RSS (MiB) of the live child processes (the joblib workers), and the CPU
    seconds of all children once they have ended.

    The peak is each child's own ``VmHWM``, read before the workers end: the
    ``ru_maxrss`` of ``RUSAGE_CHILDREN`` would count the parent's pages that a
    fork-then-exec child holds for an instant.
    """
    import resource

    from joblib.externals.loky import get_reusable_executor

    peak = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != os.getpid():
                continue
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        hwm = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
        peak = max([peak, *(h / 1024 for h in hwm)])
    get_reusable_executor().shutdown(wait=True)  # workers end, so their CPU is counted
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return peak, usage.ru_utime + usage.ru_stime


def _read_smiles(n, path=DATA):
    import pandas as pd

    return pd.read_csv(path, nrows=n)["SMILES"].tolist()


# ---------------------------------------------------------------- cells
def cell_imports(args):
    """RSS of the imports alone (the baseline of the other cells)."""
    import torch

    from sklearn_lravae.chem import SelfiesVectorizer  # noqa: F401

    torch.set_num_threads(1)
    return {"peak_mib": _vm_hwm_mib()}


def cell_vectorize(args):
    """Read ``n`` MOSES SMILES and vectorise them to uint8 token indices."""
    import numpy as np
    import torch

    from sklearn_lravae.chem import SelfiesVectorizer

    torch.set_num_threads(1)
    base = _vm_hwm_mib()
    t0 = time.perf_counter()
    smiles = _read_smiles(args.n)
    t1 = time.perf_counter()
    vec = SelfiesVectorizer(output=args.output, on_error="drop", n_jobs=args.n_jobs)
    c1 = time.process_time()
    X = vec.fit_transform(smiles)
    t2, c2 = time.perf_counter(), time.process_time()
    worker_peak, worker_cpu = _children_usage() if args.n_jobs > 1 else (None, 0.0)
    float32_bytes = X.shape[0] * vec.n_positions_ * vec.n_tokens_ * 4
    return {
        "n": len(smiles),
        "n_kept": int(X.shape[0]),
        "read_s": t1 - t0,
        "vectorize_s": t2 - t1,
        "per_s": len(smiles) / (t2 - t1),
        "shape": list(X.shape),
        "dtype": str(X.dtype),
        "out_bytes": int(X.nbytes if isinstance(X, np.ndarray) else X.data.nbytes),
        "float32_onehot_bytes": int(float32_bytes),
        "n_positions": vec.n_positions_,
        "n_tokens": vec.n_tokens_,
        "imports_mib": base,
        "peak_mib": _vm_hwm_mib(),
        "worker_peak_mib": worker_peak,
        "cpu_s": c2 - c1,
        "worker_cpu_s": worker_cpu,
    }


def _compact_bytes(X):
    """Bytes of a dense array or of a CSR matrix's three arrays."""
    if hasattr(X, "indptr"):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)


def _compact_data(args):
    """``(X, info)``: vectorise ``n`` MOSES SMILES compactly, or load them from ``--cache``.

    ``--output sparse`` gives a CSR matrix of uint8 ones, ``onehot`` a dense uint8
    one-hot array. With ``--cache PATH`` an existing cache is loaded (its
    vectorise time is the one recorded when it was written), else written.
    """
    import numpy as np
    import scipy.sparse as sp

    from sklearn_lravae.chem import SelfiesVectorizer

    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.exists():
        t0 = time.perf_counter()
        X = sp.load_npz(cache) if args.output == "sparse" else np.load(cache)
        info = json.loads(cache.with_suffix(".json").read_text())
        return X, {**info, "loaded_s": time.perf_counter() - t0, "from_cache": True}
    t0 = time.perf_counter()
    smiles = _read_smiles(args.n)
    t1, c1 = time.perf_counter(), time.process_time()
    vec = SelfiesVectorizer(
        output=args.output, dtype=np.uint8, on_error="drop", n_jobs=args.n_jobs,
        canonicalize=bool(args.canonicalize),
    )  # fmt: skip
    X = vec.fit_transform(smiles)
    t2, c2 = time.perf_counter(), time.process_time()
    worker_peak, worker_cpu = _children_usage() if args.n_jobs > 1 else (None, 0.0)
    info = {
        "n": len(smiles), "n_kept": int(X.shape[0]), "read_s": t1 - t0,
        "vectorize_s": t2 - t1, "vectorize_cpu_s": c2 - c1 + worker_cpu,
        "vectorize_peak_mib": _vm_hwm_mib(), "worker_peak_mib": worker_peak,
        "n_positions": vec.n_positions_, "n_tokens": vec.n_tokens_, "from_cache": False,
    }  # fmt: skip
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        if args.output == "sparse":
            sp.save_npz(cache, X, compressed=False)
        else:
            np.save(cache, X)
        cache.with_suffix(".json").write_text(json.dumps(info))
    return X, info


def _pipeline(args, train):
    """Vectorise (or load), fit one epoch (if ``train``), encode: time and VmHWM per stage."""
    import torch

    from sklearn_lravae import LRAVAETransformer

    torch.set_num_threads(args.threads)
    imports = _vm_hwm_mib()
    X, info = _compact_data(args)
    out = {**info, "imports_mib": imports, "after_data_mib": _vm_hwm_mib()}
    out.update(shape=list(X.shape), dtype=str(X.dtype), compact_bytes=_compact_bytes(X))
    out["format"] = "csr" if hasattr(X, "indptr") else "dense"
    vae = LRAVAETransformer(likelihood="categorical", max_epochs=1 if train else 0, random_state=0)
    t0, c0 = time.perf_counter(), time.process_time()
    vae.fit(X)
    out.update(fit_s=time.perf_counter() - t0, fit_cpu_s=time.process_time() - c0)
    out["after_fit_mib"] = _vm_hwm_mib()
    if train:
        out["train_loss"] = float(vae.net_.history[-1]["train_loss"])
        out["n_batches"] = -(-X.shape[0] // vae.batch_size)
    t0, c0 = time.perf_counter(), time.process_time()
    Z = vae.transform(X)
    out.update(encode_s=time.perf_counter() - t0, encode_cpu_s=time.process_time() - c0)
    out.update(peak_mib=_vm_hwm_mib(), latent_shape=list(Z.shape), threads=args.threads)
    return out


def cell_fit_epoch(args):
    """Vectorise ``n`` MOSES molecules compactly, fit ONE epoch, encode them all.

    ``LRAVAETransformer(likelihood="categorical", max_epochs=1, random_state=0)``,
    the package's molecule defaults otherwise, trained on the CSR / uint8 output
    as it is (expanded to float32 per mini-batch). Peak RSS is read after each
    stage (``VmHWM`` never decreases, so each value is the peak so far).
    """
    return _pipeline(args, train=True)


def cell_encode(args):
    """``transform`` of all molecules alone, with an untrained network (``max_epochs=0``):
    the encoder's cost does not depend on its weights."""
    return _pipeline(args, train=False)


def cell_search_step(args):
    """Seconds of one ``LatentBayesSearch`` ask + tell with ``n`` observations, d=32.

    A Gaussian VAE (32 latents, one epoch on random data: its weights do not
    matter here) and a search started from ``n`` told objects; then
    ``--steps`` steps of ``ask()`` and ``tell(z, value)``, each timed. The
    default surrogate refits its hyperparameters every 10 observations (on at
    most 1,000 of them): those steps are reported apart.
    """
    import warnings

    import numpy as np
    import torch

    from sklearn_lravae import LatentBayesSearch, LRAVAETransformer

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(args.n, 64))
    vae = LRAVAETransformer(32, hidden_layer_sizes=(64,), max_epochs=1, random_state=0).fit(X)
    y = -np.sum(X[:, :8] ** 2, axis=1)
    search = LatentBayesSearch(vae, _search_objective, n_calls=0, random_state=0).fit(X, y)
    steps = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        z = search.ask()
        search.tell(z, [float(-np.sum(z[0, :8] ** 2))], kind="latents")
        steps.append(time.perf_counter() - t0)
    return {"n": args.n, "d": 32, "step_s": steps, "peak_mib": _vm_hwm_mib()}


def _search_objective(x):
    import numpy as np

    return -float(np.sum(np.asarray(x)[:8] ** 2))


def cell_cache(args):
    """Vectorise ``n`` molecules compactly into ``--cache`` (the first half of a split cell)."""
    X, info = _compact_data(args)
    return {**info, "shape": list(X.shape), "compact_bytes": _compact_bytes(X)}


def _raw_loop(smiles, vocabulary, canonicalize, width=128):
    """The reference: encoder + split + dict look-ups into a preallocated array."""
    import numpy as np
    import selfies as sf
    from rdkit import Chem

    out = np.zeros((len(smiles), width), dtype=np.uint8)
    for i, s in enumerate(smiles):
        if canonicalize:
            s = Chem.MolToSmiles(Chem.MolFromSmiles(s))
        row = [vocabulary[t] for t in sf.split_selfies(sf.encoder(s))]
        out[i, : len(row)] = row
    return out


def cell_speed(args):
    """Per-core speed of transform vs the raw loop (CPU s), and the n_jobs=2 speed-up."""
    import torch
    from rdkit import RDLogger

    from sklearn_lravae.chem import SelfiesVectorizer

    torch.set_num_threads(1)
    RDLogger.DisableLog("rdApp.*")
    smiles = _read_smiles(args.n)
    vec = SelfiesVectorizer(output="indices").fit(smiles)
    raw_vocabulary = SelfiesVectorizer(output="indices", canonicalize=False).fit(smiles)
    runs = {
        "raw loop + RDKit canonical": lambda: _raw_loop(smiles, vec.vocabulary_, True),
        "raw loop": lambda: _raw_loop(smiles, raw_vocabulary.vocabulary_, False),
        'transform, output="indices"': lambda: vec.set_params(output="indices").transform(smiles),
        'transform, output="onehot" (float32)': lambda: vec.set_params(output="onehot").transform(
            smiles
        ),
        'transform, output="indices", canonicalize=False': lambda: raw_vocabulary.transform(smiles),
    }
    cpu = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            t = time.process_time()
            run()
            cpu[name].append(time.process_time() - t)
    vec.set_params(output="indices")
    wall = {1: [], 2: []}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            t = time.perf_counter()
            vec.set_params(n_jobs=n_jobs).transform(smiles)
            wall[n_jobs].append(time.perf_counter() - t)
    wall = {str(k): v for k, v in wall.items()}
    return {"n": len(smiles), "cpu_s": cpu, "wall_s": wall, "overhead_s": _overhead(vec, smiles)}


def _overhead(vec, smiles, repeats=5):
    """CPU s of ``transform`` without its per-molecule loop (``encode_chunk`` results cached)."""
    import sklearn_lravae.chem._vectorizer as module

    cache, encode = {}, module.encode_chunk

    def cached(chunk, canonicalize=True):
        key = (chunk[0], chunk[-1], len(chunk))
        if key not in cache:
            cache[key] = encode(chunk, canonicalize)
        return cache[key]

    module.encode_chunk, out = cached, {}
    try:
        vec.set_params(n_jobs=1).transform(smiles)  # fills the cache
        for output in ("indices", "onehot", "sparse"):
            t = time.process_time()
            for _ in range(repeats):
                vec.set_params(output=output).transform(smiles)
            out[output] = (time.process_time() - t) / repeats
    finally:
        module.encode_chunk = encode
    return out


CELLS = {
    "imports": cell_imports,
    "vectorize": cell_vectorize,
    "speed": cell_speed,
    "fit_epoch": cell_fit_epoch,
    "encode": cell_encode,
    "search_step": cell_search_step,
    "cache": cell_cache,
}


def run_cell(name, **kw):
    """Run one cell in a fresh, single-threaded subprocess; its JSON result."""
    cmd = [sys.executable, __file__, "--cell", name]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    load = _loadavg()
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **THREADS}, check=False
    )
    if out.returncode:
        raise RuntimeError(f"cell {name} {kw} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cell": name, **kw, "loadavg_before": load, **result}


# ---------------------------------------------------------------- driver
def measure(args):
    info = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "loadavg_start": _loadavg(),
        "cpu": _cpu_name(),
        "n_cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    rows = [run_cell("imports")]
    print("imports", rows[-1]["peak_mib"], flush=True)
    for n in args.sizes:
        for repeat in range(1 if n >= 1_000_000 else args.repeats):
            for n_jobs in args.n_jobs:
                rows.append(run_cell("vectorize", n=n, n_jobs=n_jobs, output=args.output))
                r = rows[-1]
                print(
                    f"n={n} n_jobs={n_jobs} #{repeat}: {r['vectorize_s']:.1f} s "
                    f"{r['per_s']:.0f}/s peak {r['peak_mib']:.0f} MiB",
                    flush=True,
                )
    if args.full:
        for n_jobs in args.full_n_jobs:
            rows.append(run_cell("vectorize", n=N_MOSES, n_jobs=n_jobs, output=args.output))
            print("full", n_jobs, rows[-1]["vectorize_s"], flush=True)
    if args.speed_n:
        rows.append(run_cell("speed", n=args.speed_n, repeats=args.speed_repeats))
        print("speed", json.dumps(rows[-1]["cpu_s"]), flush=True)
    rows += _measure_model(args)
    info["loadavg_end"] = _loadavg()
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return {"info": info, "rows": rows}


def _measure_model(args):
    """The transformer's cells: fit_epoch / encode per size, the full split cell, search."""
    rows = []
    model = dict(output=args.fit_output, n_jobs=2, canonicalize=0, threads=args.threads)
    for n in args.fit_sizes:
        for cell in ("fit_epoch", "encode"):
            rows.append(run_cell(cell, n=n, **model))
            r = rows[-1]
            print(f"{cell} n={n}: fit {r['fit_s']:.1f} s encode {r['encode_s']:.1f} s "
                  f"peak {r['peak_mib']:.0f} MiB", flush=True)  # fmt: skip
    cache = HERE / "cache" / f"moses_{N_MOSES}_{args.fit_output}.npz"
    for stage in args.full_stage:
        cell = {"vectorize": "cache", "fit": "fit_epoch", "encode": "encode"}[stage]
        rows.append(run_cell(cell, n=N_MOSES, cache=str(cache), **model))
        print(f"full {stage}:", {k: v for k, v in rows[-1].items() if k.endswith("_s")}, flush=True)
    for n in args.search_sizes:
        rows.append(run_cell("search_step", n=n, steps=args.search_steps, threads=args.threads))
        print(f"search n={n}: median step {_median(rows[-1]['step_s']):.3f} s", flush=True)
    return rows


def _cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=sorted(CELLS), help="run one cell (internal)")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--output", default="indices", choices=["indices", "sparse", "onehot"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--full", action="store_true", help="add the 1.58M-molecule cell")
    parser.add_argument("--full-n-jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--speed-n", type=int, default=20_000, help="0: no speed cell")
    parser.add_argument("--speed-repeats", type=int, default=3)
    parser.add_argument("--name", default="scale", help="file name stem of the results")
    parser.add_argument("--fit-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--fit-output", default="sparse", choices=["sparse", "onehot"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of model cells")
    parser.add_argument("--canonicalize", type=int, default=0, help="model cells: 0 or 1")
    parser.add_argument("--cache", default="", help="model cells: compact data cache (.npz)")
    parser.add_argument(
        "--full-stage", nargs="*", default=[], choices=["vectorize", "fit", "encode"],
        help="all of MOSES, split: vectorise into benchmarks/cache/, then fit / encode from it",
    )  # fmt: skip
    parser.add_argument("--search-sizes", type=int, nargs="*", default=[100, 300, 1000, 2000])
    parser.add_argument("--search-steps", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="search_step cell (internal)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.cell:
        args.n_jobs = args.n_jobs[0]
        print(json.dumps(CELLS[args.cell](args)))
        return
    path = RESULTS / f"{args.name}.json"
    if not args.report_only:
        results = measure(args)
        if path.exists():  # keep the cells of earlier runs that this one did not redo
            results = _merge(json.loads(path.read_text()), results)
        path.write_text(json.dumps(results, indent=1))
    write_report(json.loads(path.read_text()), RESULTS / args.name)


def _merge(old, new):
    def key(row):
        return row["cell"], row.get("n"), row.get("n_jobs"), row.get("output")

    done = {key(r) for r in new["rows"]}
    kept = [r for r in old["rows"] if key(r) not in done]
    earlier = [*old.get("earlier_info", []), old["info"]]
    return {"info": new["info"], "earlier_info": earlier, "rows": kept + new["rows"]}


# ---------------------------------------------------------------- report
def _median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _series(rows):
    """{n_jobs: [(n, [vectorise s], [peak above imports MiB], [rows])]} of the vectorise cells."""
    base = next(r["peak_mib"] for r in rows if r["cell"] == "imports")
    out = {}
    for r in rows:
        if r["cell"] != "vectorize":
            continue
        cells = out.setdefault(r["n_jobs"], {}).setdefault(r["n"], [[], [], []])
        cells[0].append(r["vectorize_s"])
        cells[1].append(r["peak_mib"] - base)
        cells[2].append(r)
    return {j: [(n, *v) for n, v in sorted(d.items())] for j, d in sorted(out.items())}


def _slope(points):
    import numpy as np

    if len(points) < 2:
        return float("nan")
    x, y = np.log10([p[0] for p in points]), np.log10([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def write_report(results, stem):
    """Write ``stem.md`` and ``stem.png`` from the JSON results."""
    info, rows = results["info"], results["rows"]
    series = _series(rows)
    base = next(r["peak_mib"] for r in rows if r["cell"] == "imports")
    lines = [
        "# A million molecules on one machine (issue 19)",
        "",
        "## Vectorising MOSES",
        "",
        f"Run {info['started']} to {info['finished']} on {info['cpu']} ({info['n_cpus']} cores), "
        f"Python {info['python']}. Load average (1/5/15 min) at start "
        f"{' / '.join(info['loadavg_start'])}, at end {' / '.join(info['loadavg_end'])}: "
        "other developers share the 2 cores, so wall times are upper bounds.",
        *(
            f"Earlier run kept in the table: {e['started']} to {e['finished']}, load average "
            f"{' / '.join(e['loadavg_start'])} at start, {' / '.join(e['loadavg_end'])} at end."
            for e in results.get("earlier_info", [])
        ),
        "",
        "Each cell is a fresh process, threads pinned to 1: read the first n SMILES of "
        '`moses_train.csv.gz` (pandas) and `SelfiesVectorizer(output="indices", '
        'on_error="drop", n_jobs=...).fit_transform` them. Peak RSS is the cell\'s `VmHWM`; '
        f"the imports alone (torch, RDKit, sklearn) take {base:.0f} MiB, shown as 'above imports'. "
        "With n_jobs=2 each joblib worker is a separate process: its own peak is in the last "
        "column. Times are medians over the repeats (range in brackets). The last column is "
        "the 1-minute load average before each repeat: rows measured at different loads do "
        "not compare in wall time (CPU seconds do, within about 20% on this shared machine).",
        "",
        "| n | n_jobs | read s | vectorise s | molecules/s | CPU s (cell + workers) "
        "| peak MiB (above imports) | worker peak MiB | output | float32 one-hot would be "
        "| load (1 min) before |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    lines += _table_lines(series, base) + _slope_lines(series)
    lines += _extrapolation_lines(series)
    lines += _speed_lines(rows)
    lines += ["", f"![scaling]({Path(stem).name}.png)", ""]
    lines += _model_lines(rows, base, f"{Path(stem).name}_model.png")
    Path(f"{stem}.md").write_text("\n".join(lines))
    _plot(series, f"{stem}.png")
    _plot_model(rows, f"{stem}_model.png")


def _cpu(cells, key="total"):
    """Median CPU seconds of repeated cells: of the cell, its workers, or both."""
    parts = {"cell": ("cpu_s",), "workers": ("worker_cpu_s",), "total": ("cpu_s", "worker_cpu_s")}
    return _median([sum(c[k] for k in parts[key]) for c in cells])


def _table_lines(series, base):
    lines = []
    for n_jobs, points in series.items():
        for n, times, above, cells in points:
            r, t = cells[0], _median(times)
            span = f" ({min(times):.1f}-{max(times):.1f})" if len(times) > 1 else ""
            worker = f"{r['worker_peak_mib']:.0f}" if r.get("worker_peak_mib") else "-"
            lines.append(
                f"| {n:,} | {n_jobs} | {r['read_s']:.1f} | {t:.1f}{span} | {n / t:,.0f} "
                f"| {_cpu(cells, 'cell'):.1f} + {_cpu(cells, 'workers'):.1f} "
                f"| {base + _median(above):.0f} ({_median(above):.0f}) | {worker} "
                f"| {r['dtype']} {tuple(r['shape'])}, {r['out_bytes'] / 2**20:.1f} MiB "
                f"| {r['float32_onehot_bytes'] / 2**30:.2f} GiB "
                f"| {'/'.join(c['loadavg_before'][0] for c in cells)} |"
            )
    return lines


def _slope_lines(series):
    lines = ["", "Fitted log-log slopes (time or memory ~ n^slope):", ""]
    for n_jobs, points in series.items():
        t = _slope([(n, _median(v)) for n, v, _, _ in points])
        c = _slope([(n, _cpu(cells)) for n, _, _, cells in points])
        m = _slope([(n, max(_median(a), 1.0)) for n, _, a, _ in points])
        lines.append(
            f"- n_jobs={n_jobs}: vectorise wall time slope {t:.2f}, CPU seconds slope {c:.2f}, "
            f"peak RSS above imports slope {m:.2f}"
        )
    if 1 in series and 2 in series:
        pairs = [(a, b) for a, b in zip(series[1], series[2]) if a[0] == b[0]]
        wall = [(a[0], _median(a[1]) / _median(b[1])) for a, b in pairs]
        est = [
            (a[0], _cpu(a[3]) / (_cpu(b[3], "cell") + _cpu(b[3], "workers") / 2)) for a, b in pairs
        ]
        lines += [
            "- n_jobs=2 speed-up (wall, medians): "
            + ", ".join(f"{s:.2f}x at {n:,}" for n, s in wall),
            "- n_jobs=2 speed-up on 2 free cores, estimated from CPU seconds (n_jobs=1 CPU / "
            "(cell CPU + workers CPU / 2), i.e. the workers split the work evenly and nothing "
            "else runs): " + ", ".join(f"{s:.2f}x at {n:,}" for n, s in est),
        ]
    return lines


def _extrapolation_lines(series):
    """Linear extrapolation of the largest measured cell to all of MOSES, if not measured."""
    if any(n >= N_MOSES for points in series.values() for n, *_ in points):
        return []
    lines = []
    for n_jobs, points in series.items():
        n, times, above, cells = points[-1]
        f = N_MOSES / n
        cpu = _cpu(cells, "cell") + _cpu(cells, "workers") / n_jobs
        lines.append(
            f"- not measured: the 1.58M cell with n_jobs={n_jobs}, extrapolated linearly from "
            f"{n:,}: {_median(times) * f / 60:.0f} min wall at that load, "
            f"{cpu * f / 60:.0f} min on {n_jobs} free core(s) (CPU-based), "
            f"{_median(above) * f:.0f} MiB above imports at most (memory grew more slowly "
            "than n so far)"
        )
    return lines


def _speed_lines(rows):
    speed = [r for r in rows if r["cell"] == "speed"]
    if not speed:
        return []
    r = speed[-1]
    cpu = {k: min(v) for k, v in r["cpu_s"].items()}
    canon, raw = cpu["raw loop + RDKit canonical"], cpu["raw loop"]
    lines = [
        "",
        f"Per core, {r['n']:,} MOSES molecules, CPU seconds (`time.process_time`, best of "
        f"{len(next(iter(r['cpu_s'].values())))} interleaved repeats; load average before: "
        f"{' / '.join(r['loadavg_before'])}):",
        "",
        "| run | CPU s | molecules/s | vs raw loop + canonical | vs raw loop |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, t in cpu.items():
        lines.append(
            f"| {name} | {t:.2f} | {r['n'] / t:,.0f} | {canon / t:.2f}x | {raw / t:.2f}x |"
        )
    if "overhead_s" in r:
        lines += [
            "",
            "Everything `transform` does besides that loop (its results cached), per "
            f"{r['n']:,} molecules: "
            + ", ".join(
                f'{t * 1000:.0f} ms for output="{k}" ({100 * t / canon:.1f}% of the raw loop)'
                for k, t in r["overhead_s"].items()
            )
            + ". The differences between the transform rows and the raw loop + canonical row "
            "above are therefore noise of the shared machine, not work.",
        ]
    w1, w2 = min(r["wall_s"]["1"]), min(r["wall_s"]["2"])
    lines += [
        "",
        f"`transform` with n_jobs=2: {w2:.1f} s wall against {w1:.1f} s with n_jobs=1 "
        f"({w1 / w2:.2f}x, best of {len(r['wall_s']['1'])}).",
    ]
    return lines


MIB = 2**20


def _model_cells(rows, cell):
    """Latest row per n of a model cell (full-MOSES rows from the split run included)."""
    out = {}
    for r in rows:
        if r["cell"] == cell:
            out[r["n"]] = r
    return [out[n] for n in sorted(out)]


def _model_lines(rows, base, png):
    fits = _model_cells(rows, "fit_epoch")
    if not fits:
        return []
    f0 = fits[0]
    lines = [
        "## Vectorise, fit one epoch, encode",
        "",
        "Each row is one fresh process (`fit_epoch` cell), threads pinned "
        f"(torch {f0['threads']} thread(s), BLAS 1): read the first n SMILES, "
        f'`SelfiesVectorizer(output="{f0["output"]}", dtype=np.uint8, on_error="drop", '
        f"canonicalize={bool(f0['canonicalize'])}, n_jobs=2).fit_transform` them, "
        '`LRAVAETransformer(likelihood="categorical", max_epochs=1, random_state=0)` '
        "(the molecule defaults otherwise: 32 latents, hidden (512, 256), batch 128, gamma 0.1 "
        "with 128 reference samples per batch) `.fit` on the compact matrix as it is, then "
        "`transform` of all of it. MOSES SMILES are RDKit-canonical already (4,999 of the "
        "first 5,000 are unchanged by `MolToSmiles(MolFromSmiles(s))`), so `canonicalize=False` "
        "(about twice as fast, see above). Peak RSS is the process's `VmHWM` after each stage "
        "(cumulative); the vectoriser's two joblib workers are separate processes (their own "
        "peak in its column). The full MOSES row is split in two processes (vectorise into a "
        "cache under `benchmarks/cache/`, then fit + encode from it); its vectorise columns "
        "come from the first, the rest from the second. Single measurements: the load "
        "column says what else ran.",
        "",
        "| n | compact X | vectorise s (CPU s) | fit 1 epoch s | ms/batch | encode s "
        "| peak MiB after vectorise / fit / encode | worker peak MiB | budget: compact + 2 GiB "
        "| train loss | load before |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | --- |",
    ]
    for r in fits:
        compact = r["compact_bytes"] / MIB
        budget = compact + 2048
        peaks = f"{r['after_data_mib']:.0f} / {r['after_fit_mib']:.0f} / {r['peak_mib']:.0f}"
        if r.get("from_cache"):
            peaks = f"{r['vectorize_peak_mib']:.0f} (own process) / " + peaks.split(" / ", 1)[1]
        worst = max(r["peak_mib"], r["vectorize_peak_mib"])
        ok = "within" if worst <= budget else "OVER"
        worker = f"{r['worker_peak_mib']:.0f}" if r.get("worker_peak_mib") else "-"
        lines.append(
            f"| {r['n_kept']:,} | {r['format']} {r['dtype']} {tuple(r['shape'])}, "
            f"{compact:.0f} MiB | {r['vectorize_s']:.0f} ({r['vectorize_cpu_s']:.0f}) "
            f"| {r['fit_s']:.0f} | {1000 * r['fit_s'] / r['n_batches']:.1f} "
            f"| {r['encode_s']:.1f} | {peaks} | {worker} | {budget:.0f} MiB: {ok} "
            f"| {r['train_loss']:.1f} | {r['loadavg_before'][0]} |"
        )
    speeds = ", ".join(f"{r['n_kept'] / r['vectorize_s']:,.0f} at {r['n_kept']:,}" for r in fits)
    lines += [
        "",
        f"Vectorising in these cells ran at {speeds} molecules/s (wall, 2 worker processes, "
        "no other job on the machine): the counterpart, without canonicalisation and without "
        "load, of the loaded vectoriser table above. "
        f"Imports alone: {base:.0f} MiB. Fitted log-log slopes over n:",
        "",
    ]
    stages = [("vectorize_s", "vectorise"), ("fit_s", "fit one epoch"), ("encode_s", "encode")]
    for key, label in [*stages, ("peak_mib", "peak RSS of fit + encode")]:
        lines.append(f"- {label}: slope {_slope([(r['n_kept'], r[key]) for r in fits]):.2f}")
    lines += [
        "",
        "The 1.58M row was measured twice. The first run (fit 491 s, encode 34.7 s) peaked at "
        "2,858 MiB after encode, over the budget: `batched_inference` kept each batch's latent "
        "means as a view of the encoder's (batch, 2 x 32) output and concatenated them (plus "
        "a copy in `astype`). The output is now filled in place; the row above is the re-run "
        "after that fix.",
    ]
    lines += _cache_lines(rows, {r["n"] for r in fits})
    lines += _encode_lines(rows) + _search_lines(rows)
    return [*lines, "", f"![model cells]({png})", ""]


def _cache_lines(rows, fitted):
    """Vectorise-only cells (the first half of a split cell) whose fit did not run."""
    lines = []
    for r in _model_cells(rows, "cache"):
        if r["n"] in fitted:
            continue
        lines += [
            "",
            f"Vectorised only (`cache` cell, its fit + encode cell not run): {r['n_kept']:,} "
            f"molecules in {r['vectorize_s']:.0f} s ({r['vectorize_cpu_s']:.0f} CPU s, "
            f"{r['n_kept'] / r['vectorize_s']:,.0f}/s) to CSR uint8 {tuple(r['shape'])}, "
            f"{r['compact_bytes'] / MIB:.0f} MiB; peak RSS of the process "
            f"{r['vectorize_peak_mib']:.0f} MiB, of each worker {r['worker_peak_mib']:.0f} MiB "
            f"(budget compact + 2 GiB: {r['compact_bytes'] / MIB + 2048:.0f} MiB); load before "
            f"{r['loadavg_before'][0]}.",
        ]
    return lines


def _encode_lines(rows):
    enc = _model_cells(rows, "encode")
    if not enc:
        return []
    lines = [
        "",
        "Encode alone (`encode` cell: the same data, an untrained network, `max_epochs=0`, "
        "then `transform`; chunks of 4,096 rows densified one at a time):",
        "",
        "| n | encode s | molecules/s | peak MiB | load before |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for r in enc:
        lines.append(
            f"| {r['n_kept']:,} | {r['encode_s']:.1f} | {r['n_kept'] / r['encode_s']:,.0f} "
            f"| {r['peak_mib']:.0f} | {r['loadavg_before'][0]} |"
        )
    return lines


def _search_lines(rows):
    cells = _model_cells(rows, "search_step")
    if not cells:
        return []
    lines = [
        "",
        "## Search: cost of a step against the number of evaluations",
        "",
        '`search_step` cell: `LatentBayesSearch` (default surrogate `"GP"`) started from n '
        "told objects in a d = 32 latent space, then steps of `ask()` + `tell(z, value)`, "
        f"each timed (one process per n, torch {cells[0].get('threads', 1)} thread(s), BLAS "
        "1). The default GP refits its "
        "kernel hyperparameters only every 10 observations, warm-started, on at most 1,000 "
        "observations (a fixed-seed subset above that: `max_fit_points`); the other steps "
        "fit a GP with the kernel fixed (one Cholesky factorisation, O(n^3) with a small "
        "constant) and score the acquisition's candidates with one matrix product "
        "(O(m n^2)). The step with the refit is the maximum below.",
        "",
        "| n | steps | median step s | mean step s | max step s | load before |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in cells:
        t = r["step_s"]
        lines.append(
            f"| {r['n']:,} | {len(t)} | {_median(t):.3f} | {sum(t) / len(t):.3f} "
            f"| {max(t):.3f} | {r['loadavg_before'][0]} |"
        )
    med = _slope([(r["n"], _median(r["step_s"])) for r in cells])
    mean = _slope([(r["n"], sum(r["step_s"]) / len(r["step_s"])) for r in cells])
    local = [
        f"{a['n']:,} to {b['n']:,}: "
        f"{_slope([(a['n'], _median(a['step_s'])), (b['n'], _median(b['step_s']))]):.2f}"
        for a, b in zip(cells, cells[1:])
    ]
    lines += [
        "",
        f"Fitted log-log slope of the median step {med:.2f}, of the mean {mean:.2f}; of the "
        "median between neighbouring sizes " + ", ".join(local) + ".",
    ]
    return lines


def _plot_model(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fits, search = _model_cells(rows, "fit_epoch"), _model_cells(rows, "search_step")
    if not fits:
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    n = np.array([r["n_kept"] for r in fits], dtype=float)
    panels = [
        (axes[0], [("vectorize_s", "vectorise"), ("fit_s", "fit 1 epoch"),
                   ("encode_s", "encode")], "wall s"),
        (axes[1], [("peak_mib", "peak RSS"), ("above", "peak above imports"),
                   ("compact_bytes", "compact X")], "MiB"),
    ]  # fmt: skip
    for ax, keys, ylabel in panels:
        for key, label in keys:
            y = np.array([_plotted(r, key) for r in fits])
            _loglog_fit(ax, n, y, label)
        ax.set(xlabel="molecules", ylabel=ylabel)
    axes[0].set_title("default categorical VAE, one epoch")
    axes[1].set_title("memory")
    if search:
        x = np.array([r["n"] for r in search], dtype=float)
        _loglog_fit(axes[2], x, np.array([_median(r["step_s"]) for r in search]), "median step")
        _loglog_fit(axes[2], x, np.array([max(r["step_s"]) for r in search]), "max (refit)")
        axes[2].set(xlabel="evaluations", ylabel="s per ask + tell", title="search, d = 32")
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plotted(row, key):
    if key == "above":
        return row["peak_mib"] - row["imports_mib"]
    return row[key] / (MIB if key == "compact_bytes" else 1)


def _loglog_fit(ax, x, y, label):
    import numpy as np

    slope = _slope(list(zip(x, y)))
    (line,) = ax.loglog(x, y, "o", label=f"{label}: slope {slope:.2f}")
    if len(x) > 1:
        fit = np.polyfit(np.log10(x), np.log10(y), 1)
        grid = np.geomspace(x.min(), x.max(), 20)
        ax.loglog(grid, 10 ** np.polyval(fit, np.log10(grid)), "-", color=line.get_color())


def _plot(series, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for n_jobs, points in series.items():
        n = np.array([p[0] for p in points], dtype=float)
        for ax, k in [(axes[0], 1), (axes[1], 2)]:
            y = np.array([max(_median(p[k]), 1.0) for p in points])
            slope = _slope(list(zip(n, y)))
            (line,) = ax.loglog(n, y, "o", label=f"n_jobs={n_jobs}: slope {slope:.2f}")
            if len(n) > 1:
                fit = np.polyfit(np.log10(n), np.log10(y), 1)
                grid = np.geomspace(n.min(), n.max(), 20)
                ax.loglog(grid, 10 ** np.polyval(fit, np.log10(grid)), "-", color=line.get_color())
    axes[0].set(
        xlabel="molecules",
        ylabel="fit_transform wall s",
        title="SelfiesVectorizer(output='indices')",
    )
    axes[1].set(
        xlabel="molecules", ylabel="peak RSS above imports, MiB", title="memory of the cell process"
    )
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
