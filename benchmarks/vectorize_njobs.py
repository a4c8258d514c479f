"""Vectorising speed per core and with ``n_jobs=2`` against a raw ``selfies`` loop.

Issue 19 asks for vectorising at >= 90% of the raw ``selfies`` loop per core and
``n_jobs`` near-linear on 2 cores. Each cell is a fresh process with one BLAS /
torch thread that reads the first ``n`` MOSES SMILES and times only the
vectorising:

- ``raw``: ``selfies.encoder`` + ``split_selfies`` + a dict lookup per token (no
  padding, no array), one process;
- ``n_jobs=1`` / ``n_jobs=2``: ``SelfiesVectorizer(output="indices",
  canonicalize=False, on_error="drop").fit_transform`` (MOSES SMILES are
  already RDKit-canonical; canonicalising doubles the cost of both).

Cells are interleaved over the repeats (raw, 1, 2, raw, 1, 2, ...); the table
gives the median and range of molecules per second.

Usage::

    python benchmarks/vectorize_njobs.py [--n 40000] [--repeats 5]

Writes ``benchmarks/results/vectorize_njobs.md``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "moses_train.csv.gz"


def cell(n, mode, path):
    import numpy as np
    import pandas as pd
    import selfies as sf

    from sklearn_lravae.chem import SelfiesVectorizer

    smiles = pd.read_csv(path, nrows=n).iloc[:, 0].tolist()
    t0 = time.perf_counter()
    if mode == "raw":
        vocab = {}
        for s in smiles:
            [vocab.setdefault(t, len(vocab)) for t in sf.split_selfies(sf.encoder(s))]
    else:
        vec = SelfiesVectorizer(
            output="indices", dtype=np.uint8, on_error="drop", canonicalize=False,
            n_jobs=int(mode),
        )  # fmt: skip
        vec.fit_transform(smiles)
    return n / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=40_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--cell", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.cell:
        print(json.dumps(cell(a.n, a.cell, a.data)))
        return
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    load0 = os.getloadavg()
    rates = {"raw": [], "1": [], "2": []}
    for _ in range(a.repeats):
        for mode in rates:
            cmd = [sys.executable, __file__, "--cell", mode, "--n", str(a.n), "--data", str(a.data)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            rates[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load1 = os.getloadavg()

    def fmt(v):
        return f"{statistics.median(v):,.0f} [{min(v):,.0f}, {max(v):,.0f}]"

    raw = statistics.median(rates["raw"])
    one = statistics.median(rates["1"])
    two = statistics.median(rates["2"])
    ratio_1 = [x / y for x, y in zip(rates["1"], rates["raw"])]
    speedup = [x / y for x, y in zip(rates["2"], rates["1"])]
    lines = [
        "# Vectorising: per core against a raw selfies loop, and n_jobs=2",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average (1/5/15 min) "
        f"{', '.join(f'{x:.2f}' for x in load0)} before, {', '.join(f'{x:.2f}' for x in load1)} "
        "after (no other job of ours ran).",
        "",
        f"First {a.n:,} MOSES SMILES; each cell a fresh process, one thread; "
        f"{a.repeats} interleaved repeats, median [min, max] molecules per second. "
        "Method: module docstring of `benchmarks/vectorize_njobs.py`.",
        "",
        "| cell | molecules/s | vs raw loop (paired by repeat) |",
        "| --- | ---: | ---: |",
        f"| raw selfies loop | {fmt(rates['raw'])} | 1 |",
        f"| SelfiesVectorizer, n_jobs=1 | {fmt(rates['1'])} | "
        f"{statistics.median(ratio_1):.2f}x [{min(ratio_1):.2f}, {max(ratio_1):.2f}] |",
        f"| SelfiesVectorizer, n_jobs=2 | {fmt(rates['2'])} | {two / raw:.2f}x |",
        "",
        f"- Per core: {one / raw:.2f}x the raw loop (goal >= 0.90x).",
        f"- n_jobs=2 / n_jobs=1 (paired): {statistics.median(speedup):.2f}x "
        f"[{min(speedup):.2f}, {max(speedup):.2f}] on 2 cores (linear: 2x); the rest is joblib "
        "start-up and moving the molecules to and from the worker processes.",
    ]
    out = HERE / "results" / "vectorize_njobs.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
