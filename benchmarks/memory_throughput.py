"""Peak memory of fit / search, and decode + QED throughput vs a hand-written loop.

- Peak RSS (each measured in a fresh subprocess, ``resource.getrusage``) of
  ``LRAVAETransformer.fit`` on n MNIST images (or synthetic 784-d data) and of a
  ``LatentBayesSearch`` run on the digits VAE, against the RSS of the bare
  imports. The parent process writes each subset to its own ``.npy`` file (a
  copy: ``X[:n].copy()``), so a child never holds the full 60,000-image array
  (in an earlier version ``X[:n]`` was a view of it, and 10,000 and 60,000
  images showed the same peak).
- Objective throughput (molecules / s) of decoding latent points with a fitted
  SELFIES VAE and scoring the molecules with QED: through the package
  (``inverse_transform(Z, decode="mode")``, ``SelfiesVectorizer.inverse_transform``,
  ``chem.qed`` with ``n_jobs`` = 1 and 2) vs a plain loop (torch decoder,
  argmax, ``selfies.decoder``, RDKit QED), and each part on its own; every
  timing repeated ``--repeats`` times (median [min, max]). The VAE is trained
  before the timings (5,000 QM9 molecules, 20 epochs) and decodes the encoder
  means of other QM9 molecules, so that the decodes are as varied as in a
  search near the data (an earlier version decoded N(0, I) with a 5-epoch model:
  8 distinct molecules in 5,000, which timed the vectoriser's de-duplication).

Usage::

    python benchmarks/memory_throughput.py [--quick]

Writes ``benchmarks/results/memory_throughput.md``.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from _load import LoadMonitor, load_sentence

HERE = Path(__file__).resolve().parent

IMPORTS = "import resource, numpy as np, sklearn_lravae\n"
PEAK = "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"

# sklearn_lravae imports torch & co. lazily: the baseline imports them explicitly
BARE = """
import torch, sklearn, skorch, skopt, rdkit
from sklearn_lravae import LRAVAETransformer, LatentBayesSearch
"""

FIT = """
from sklearn_lravae import LRAVAETransformer
X = np.load({path!r})
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


def mnist_subsets(data_dir, sizes, tmp):
    """Write ``X[:n].copy()`` of each size to its own file; return the paths and the source."""
    from sklearn_lravae.datasets import load_mnist

    try:
        X, _ = load_mnist(data_dir)
        source = "MNIST"
    except FileNotFoundError:
        X = (np.random.RandomState(0).rand(max(sizes), 784) > 0.8).astype(np.float32)
        source = "synthetic binary 784-d (MNIST not found)"
    paths = {}
    for n in sizes:
        paths[n] = os.path.join(tmp, f"X{n}.npy")
        np.save(paths[n], X[:n].copy())
    return paths, source


def fitted_selfies_vae():
    from sklearn_lravae import LRAVAETransformer
    from sklearn_lravae.chem import SelfiesVectorizer
    from sklearn_lravae.datasets import load_qm9

    vec = SelfiesVectorizer(on_long="drop")
    X = vec.fit_transform(load_qm9(n_samples=5000, random_state=0))
    vae = LRAVAETransformer(16, likelihood="categorical", max_epochs=20, random_state=0).fit(X)
    return vec, vae


def data_latents(vec, vae, n_mols):
    """Encoder means of ``n_mols`` QM9 molecules (another sample than the training one)."""
    from sklearn_lravae.datasets import load_qm9

    return vae.transform(vec.transform(load_qm9(n_samples=n_mols + 200, random_state=1)))[:n_mols]


def plain_decode_qed(module, alphabet, pad, Z):
    """What one would write by hand: decoder, argmax, SELFIES -> SMILES, RDKit QED."""
    import selfies as sf
    import torch
    from rdkit import Chem
    from rdkit.Chem import QED

    with torch.no_grad():
        logits = module.decode(torch.as_tensor(Z, dtype=torch.float32))
    idx = logits.reshape(len(Z), -1, len(alphabet)).argmax(-1).numpy()
    scores = []
    for row in idx:
        mol = Chem.MolFromSmiles(sf.decoder("".join(alphabet[i] for i in row if i != pad)))
        scores.append(QED.qed(mol) if mol is not None and mol.GetNumAtoms() else float("nan"))
    return scores


def throughput(n_mols, repeats):
    import torch
    from rdkit import RDLogger

    from sklearn_lravae.chem import qed

    RDLogger.DisableLog("rdApp.*")
    torch.set_num_threads(2)
    vec, vae = fitted_selfies_vae()
    Z = data_latents(vec, vae, n_mols)
    alphabet = list(vec.alphabet_)
    pad = alphabet.index(vec.pad_token)
    module = vae.net_.module_
    smiles = vec.inverse_transform(vae.inverse_transform(Z, decode="mode"))
    timed = {
        "plain loop: decode + QED": lambda: plain_decode_qed(module, alphabet, pad, Z),
        "package: decode (VAE + vectorizer) + QED, n_jobs=1": lambda: qed(
            vec.inverse_transform(vae.inverse_transform(Z, decode="mode")), n_jobs=1
        ),
        "package: decode (VAE + vectorizer) + QED, n_jobs=2": lambda: qed(
            vec.inverse_transform(vae.inverse_transform(Z, decode="mode")), n_jobs=2
        ),
        "package: decode only (VAE + vectorizer)": lambda: vec.inverse_transform(
            vae.inverse_transform(Z, decode="mode")
        ),
        "package: chem.qed only, n_jobs=1": lambda: qed(smiles, n_jobs=1),
        "package: chem.qed only, n_jobs=2": lambda: qed(smiles, n_jobs=2),
    }
    rows = {k: [] for k in timed}
    for _ in range(repeats):  # interleaved
        for name, fn in timed.items():
            t0 = time.perf_counter()
            fn()
            rows[name].append(n_mols / (time.perf_counter() - t0))
    valid = float(np.mean([s != "" for s in smiles]))
    return rows, (valid, len(set(smiles)))


def fmt(values):
    return f"{statistics.median(values):.0f} [{min(values):.0f}, {max(values):.0f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=str(HERE.parent.parent / "shared/data/mnist"))
    args = parser.parse_args()
    sizes = (10000,) if args.quick else (10000, 60000)
    n_calls = 100 if args.quick else 1000
    n_mols = 1000 if args.quick else 5000
    monitor = LoadMonitor().start()

    base = statistics.median(peak_rss(BARE) for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        paths, source = mnist_subsets(args.data_dir, sizes, tmp)
        fits = {n: peak_rss(FIT.format(path=paths[n])) for n in sizes}
    search = peak_rss(SEARCH.format(n_calls=n_calls))
    tp, valid = throughput(n_mols, args.repeats)
    load = load_sentence(monitor.stop(), own_threads=2)
    lines = [
        "# Peak memory and objective throughput",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores. {load}",
        "",
        "| what | peak RSS (MiB) | above bare imports (MiB) |",
        "| --- | --- | --- |",
        f"| imports only (torch, sklearn, skorch, skopt, rdkit, sklearn_lravae) | {base:.0f} | 0 |",
    ]
    for n, fit in fits.items():
        lines.append(
            f"| fit, {n} {source} images (float32 copy, {n * 784 * 4 / 2**20:.0f} MiB), "
            f"MLP 784-512-256-16, 1 epoch | {fit:.0f} | {fit - base:.0f} |"
        )
    lines += [
        f"| LatentBayesSearch, digits VAE (d=8), {n_calls} evaluations in rounds of 10 "
        f"(GP hyperparameters refitted every 100) | {search:.0f} | {search - base:.0f} |",
        "",
        f"Objective throughput: decode {n_mols} latent points (encoder means of QM9 molecules) "
        "with a SELFIES VAE (QM9, d = 16, 20 epochs, argmax decode) and score them with QED; "
        f"molecules / s, median [min, max] of {args.repeats} interleaved repeats, 2 torch "
        f"threads ({100 * valid[0]:.0f}% of the decoded SMILES non-empty, {valid[1]} distinct):",
        "",
        "| how | molecules / s | vs plain loop (medians) |",
        "| --- | --- | --- |",
    ]
    raw = statistics.median(tp["plain loop: decode + QED"])
    for k, v in tp.items():
        lines.append(f"| {k} | {fmt(v)} | {statistics.median(v) / raw:.2f}x |")
    text = "\n".join(lines) + "\n"
    discussion = HERE / "results" / "memory_throughput.discussion.md"
    if discussion.exists():
        text += "\n" + discussion.read_text()
    print(text)
    out = HERE / "results" / "memory_throughput.md"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
