"""How well does a Tanimoto GP rank molecules with each feature set? (issue 14)

The object surrogate of the recommended LSBO configuration
(``TanimotoGP(features=...)``) picks library molecules and decodes by its
posterior. This measures the ranking on its own, without a search: on the
screening pool of the LSBO benchmark (10,000 MOSES training molecules), for
each task and seed the GP is fitted to the benchmark's 100 initial molecules
(bottom 80% of the pool) plus 100 random others, and ranks 3,000 further pool
molecules. Reported: Spearman correlation of the posterior mean with the true
scores, and the mean and best true score of its top 50 (what a greedy pick
would get; the pool's mean and best of the 3,000 for scale).

Feature sets: folded ECFP4 bits, ECFP4 counts, ``chem.molecule_features``
(ECFP4 counts + six physicochemical counts) at descriptor weights 1, 3
(default), 5, 8, and, when the benchmark's cached gamma > 0 VAE exists, a
Matern GP on its 64 latent coordinates (the latent-space surrogate).

``--data qm9`` does the same on the QM9 variant of the benchmark (its six
QM9 tasks, a 10,000-molecule pool of the QM9 VAE's training set, the cached
QM9 gamma > 0 VAE for the latent row): a check of the descriptor weight on
data it was not chosen on.

Usage::

    python benchmarks/surrogate_features.py              # ~5 min on one core
    python benchmarks/surrogate_features.py --data qm9

Writes ``benchmarks/results/surrogate_features{,_qm9}.md``.
"""

import os
import sys
import time
import warnings
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_k] = "1"

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np
from scipy.stats import spearmanr

SEEDS = (0, 1, 2)
N_EXTRA, N_TEST, TOP = 100, 3000, 50


def feature_sets(pool):
    from sklearn_lravae.chem import molecule_features, morgan_fingerprints

    sets = {
        "ECFP4 bits": morgan_fingerprints(pool),
        "ECFP4 counts": morgan_fingerprints(pool, counts=True),
    }
    for w in (1.0, 3.0, 5.0, 8.0):
        label = f"molecule_features, weight {w:g}" + (" (default)" if w == 3.0 else "")
        sets[label] = molecule_features(pool, descriptor_weight=w)
    return sets


def latent_set(pool, data):
    """The cached gamma > 0 benchmark VAE's latent means, or None."""
    try:
        import torch
        from _lsbo_vae import VAE_CONFIGS, get_vae

        torch.set_num_threads(1)
        vae, _ = get_vae(VAE_CONFIGS[data], 0.1, train_if_missing=False)
    except (FileNotFoundError, ImportError):
        return None
    return np.asarray(vae.transform(pool), dtype=float)


def rank_scores(fit_predict, X, v, train, test):
    pred = fit_predict(X[train], v[train], X[test])
    top = test[np.argsort(-pred)[:TOP]]
    return spearmanr(pred, v[test])[0], v[top].mean(), v[top].max()


def tanimoto(Xtr, ytr, Xte):
    from sklearn_lravae.search import TanimotoGP

    return TanimotoGP().fit(Xtr, ytr).predict(Xte)


def matern(Xtr, ytr, Xte):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel() * Matern(length_scale=5.0, nu=2.5) + WhiteKernel()
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
    return gp.fit(Xtr, ytr).predict(Xte)


def main(data="moses"):
    import lsbo_molecules as L

    # the LSBO benchmark's tasks
    tasks = L.QM9_TASKS if data == "qm9" else L.CONFIGS["full"]["tasks"]
    t0 = time.time()
    cfg = dict(vae=data, n_screen=10000)
    pool = L.screen_pool(cfg)
    sets = {k: (X, tanimoto) for k, X in feature_sets(pool).items()}
    Z = latent_set(pool, data)
    if Z is not None:
        sets["latent coordinates (Matern GP)"] = (Z, matern)
    rows = {}
    for task in tasks:
        v = L.screen_scores(cfg, task, pool)
        for seed in SEEDS:
            init = L.initial_indices(v, 100, seed, task)
            rest = np.setdiff1d(np.arange(len(pool)), init)
            rng = np.random.RandomState(seed)
            extra = rng.choice(rest, N_EXTRA, replace=False)
            train = np.concatenate([init, extra])
            test = rng.choice(np.setdiff1d(rest, extra), N_TEST, replace=False)
            rows.setdefault((task, "pool"), []).append((np.nan, v[test].mean(), v[test].max()))
            for name, (X, fit_predict) in sets.items():
                rows.setdefault((task, name), []).append(
                    rank_scores(fit_predict, X, v, train, test)
                )
        print(f"{task} done ({time.time() - t0:.0f}s)", flush=True)
    write(rows, tasks, list(sets), time.time() - t0, data)


def write(rows, tasks, names, runtime, data):
    what = "10,000 QM9 molecules" if data == "qm9" else "10,000 MOSES molecules"
    out = [
        "# Tanimoto-GP ranking quality by feature set" + (" (QM9)" if data == "qm9" else ""),
        "",
        "Written by `benchmarks/surrogate_features.py` (docstring: protocol). Screening pool "
        f"of the LSBO benchmark ({what}); per task and seed the GP is fitted to "
        f"the 100 initial molecules + {N_EXTRA} random pool molecules and ranks {N_TEST} others; "
        f"means over seeds {list(SEEDS)}. Spearman: posterior mean against the true score; "
        f"top-{TOP} mean / best: true scores of the {TOP} ranked highest (row 'pool': the "
        f"{N_TEST} molecules' mean and best, for scale). One core, "
        f"{runtime / 60:.1f} min.",
        "",
    ]
    for task in tasks:
        out += [f"## {task}", "", f"| features | Spearman | top-{TOP} mean | top-{TOP} best |"]
        out += ["|---|---|---|---|"]
        for name in ["pool", *names]:
            r = np.array(rows[(task, name)], dtype=float)
            rho = "" if name == "pool" else f"{np.mean(r[:, 0]):.3f}"
            out.append(f"| {name} | {rho} | {np.mean(r[:, 1]):.3f} | {np.mean(r[:, 2]):.3f} |")
        out.append("")
    path = HERE / "results" / f"surrogate_features{'_qm9' if data == 'qm9' else ''}.md"
    path.write_text("\n".join(out))
    print(f"wrote {path}")


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=["moses", "qm9"], default="moses")
    warnings.filterwarnings("ignore", category=UserWarning)
    main(p.parse_args().data)
