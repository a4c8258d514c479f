"""Peak memory of fit / search, and objective throughput vs raw RDKit calls.

- Peak RSS (each measured in a fresh subprocess, ``resource.getrusage``) of
  ``LRAVAETransformer.fit`` on MNIST (or synthetic 784-d data) and of a
  ``LatentBayesSearch`` run on the digits VAE, against the RSS of the bare
  imports.
- Objective throughput (molecules / s) of decode + QED scoring through the
  package with ``n_jobs`` = 1 and 2, vs a plain loop of RDKit calls on the same
  SMILES.

Usage::

    python benchmarks/memory_throughput.py [--quick]

Writes ``benchmarks/results/memory_throughput.md``.
"""

import argparse
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

IMPORTS = "import resource, numpy as np, sklearn_lravae\n"
PEAK = "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"

FIT = """
from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.datasets import load_mnist
try:
    X, _ = load_mnist({data_dir!r})
except FileNotFoundError:
    X = (np.random.RandomState(0).rand(60000, 784) > 0.8).astype(np.float32)
X = X[:{n}]
LRAVAETransformer(16, hidden_layer_sizes=(512, 256), likelihood="bernoulli",
                  max_epochs=1, random_state=0).fit(X)
"""

SEARCH = """
from sklearn.datasets import load_digits
from sklearn_lravae import LRAVAETransformer, LatentBayesSearch
X = load_digits().data / 16
vae = LRAVAETransformer(8, likelihood="bernoulli", max_epochs=10, random_state=0).fit(X)
t = X[0]
LatentBayesSearch(vae, lambda x: -float(((x - t) ** 2).sum()), n_calls={n_calls},
                  batch_size=10, acq_optimizer="sampling", hp_refit_every=100,
                  random_state=0).fit(X[:50])
"""


def peak_rss(body):
    code = IMPORTS + textwrap.dedent(body) + PEAK
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def throughput(n_mols):
    from rdkit import Chem
    from rdkit.Chem import QED

    from sklearn_lravae.chem import qed
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(n_samples=n_mols, random_state=0))
    t0 = time.perf_counter()
    [QED.qed(Chem.MolFromSmiles(s)) for s in smiles]
    raw = n_mols / (time.perf_counter() - t0)
    rows = {"raw RDKit loop": raw}
    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        qed(smiles, n_jobs=n_jobs)
        rows[f"chem.qed n_jobs={n_jobs}"] = n_mols / (time.perf_counter() - t0)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data/mnist"))
    args = parser.parse_args()
    n_fit = 10000 if args.quick else 60000
    n_calls = 100 if args.quick else 1000
    n_mols = 2000 if args.quick else 20000

    base = peak_rss("")
    fit = peak_rss(FIT.format(data_dir=args.data_dir, n=n_fit))
    search = peak_rss(SEARCH.format(n_calls=n_calls))
    tp = throughput(n_mols)
    lines = [
        "# Peak memory and objective throughput",
        "",
        "| what | peak RSS (MiB) | above bare imports (MiB) |",
        "| --- | --- | --- |",
        f"| imports only (torch, sklearn, skorch, skopt, rdkit) | {base:.0f} | 0 |",
        f"| fit, {n_fit} MNIST images, MLP 784-512-256-16, 1 epoch | {fit:.0f} | "
        f"{fit - base:.0f} |",
        f"| LatentBayesSearch, digits VAE (d=8), {n_calls} evaluations in rounds of 10 "
        f"(GP hyperparameters refitted every 100) | {search:.0f} | "
        f"{search - base:.0f} |",
        "",
        f"Objective throughput, QED of {n_mols} QM9 SMILES (parse + score):",
        "",
        "| how | molecules / s | vs raw loop |",
        "| --- | --- | --- |",
    ]
    raw = tp["raw RDKit loop"]
    for k, v in tp.items():
        lines.append(f"| {k} | {v:.0f} | {v / raw:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "memory_throughput.md"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
