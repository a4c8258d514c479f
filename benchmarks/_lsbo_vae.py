"""Data and VAEs of the LSBO molecule benchmark (``lsbo_molecules.py``).

``load_data(name)`` gives the VAE training molecules and held-out molecules of a
data set: ``qm9`` (bundled, no ``../shared`` needed) or ``moses`` (a subset of
``../shared/data/moses_train.csv.gz``, held-out from ``moses_test.csv.gz``).

``get_vae(data, gamma, cfg)`` trains (or loads from ``benchmarks/cache/``) a
SELFIES + ``LRAVAETransformer(likelihood="categorical")`` pipeline in chunks of
epochs, measuring held-out exact reconstruction after each chunk, until it
reaches ``target_recon`` (after ``min_epochs``), ``max_epochs`` or
``time_limit`` seconds. The chunk log is stored next to the model (``.json``).

Run it on its own to pre-train a VAE in a separate process::

    python benchmarks/_lsbo_vae.py moses --gamma 0.1
"""

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae.chem import SelfiesVectorizer
from sklearn_lravae.chem._smiles import canonical_smiles, rdkit_quiet
from sklearn_lravae.datasets import load_qm9, load_smiles_csv

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
SHARED = HERE.parent.parent / "shared" / "data"

# VAE settings per data set; "quick" is the CI-sized QM9 variant.
VAE_CONFIGS = {
    "quick": dict(
        data="qm9",
        n_train=4000,
        n_heldout=200,
        latent=16,
        hidden=(256, 128),
        beta=0.01,
        lr=3e-3,
        batch=128,
        chunk=15,
        min_epochs=15,
        max_epochs=15,
        target_recon=1.0,
        time_limit=60,
    ),
    "qm9": dict(
        data="qm9",
        n_train=20000,
        n_heldout=1000,
        latent=32,
        hidden=(512, 256),
        beta=0.01,
        lr=1e-3,
        batch=256,
        chunk=5,
        min_epochs=15,
        max_epochs=40,
        target_recon=0.9,
        time_limit=900,
    ),
    "moses": dict(
        data="moses",
        n_train=100000,
        n_heldout=1000,
        latent=64,
        hidden=(512, 256),
        beta=0.01,
        lr=1e-3,
        batch=256,
        chunk=2,
        min_epochs=6,
        max_epochs=60,
        target_recon=0.9,
        time_limit=1800,
    ),
}


def load_data(cfg):
    """(training SMILES, held-out SMILES) of a VAE config, deterministic."""
    n, n_ho = cfg["n_train"], cfg["n_heldout"]
    if cfg["data"] == "qm9":
        allq = list(load_qm9(n_samples=n + n_ho, random_state=0))
        return allq[:n], allq[n:]
    path = CACHE / f"data_moses_{n}_{n_ho}.json"  # reading 1.58M rows takes seconds: cache
    if path.exists():
        return tuple(json.loads(path.read_text()))
    train = list(load_smiles_csv(SHARED / "moses_train.csv.gz", n_samples=n, random_state=0))
    test = list(load_smiles_csv(SHARED / "moses_test.csv.gz", n_samples=n_ho, random_state=0))
    CACHE.mkdir(exist_ok=True)
    path.write_text(json.dumps([train, test]))
    return train, test


def _key(cfg, gamma):
    blob = json.dumps({**cfg, "gamma": gamma, "time_limit": None}, sort_keys=True, default=str)
    return f"vae_{cfg['data']}_g{gamma:g}_{hashlib.sha1(blob.encode()).hexdigest()[:8]}"


def exact_reconstruction(pipe, smiles):
    """Fraction of ``smiles`` whose argmax decode of the encoder mean is the same molecule."""
    vec = pipe[0]
    X = vec.transform(smiles)
    kept = np.setdiff1d(np.arange(len(smiles)), getattr(vec, "dropped_indices_", []))
    vae = pipe[-1]
    dec = vec.inverse_transform(vae.inverse_transform(vae.transform(X), decode="mode"))
    with rdkit_quiet():
        ok = [canonical_smiles(smiles[i]) == canonical_smiles(d) for i, d in zip(kept, dec)]
    # molecules the vectoriser could not encode (too long, unknown token) count as failures
    return float(np.sum(ok)) / len(smiles)


def train_vae(cfg, gamma, seed=0, log=print):
    train, heldout = load_data(cfg)
    vec = SelfiesVectorizer(on_long="drop", on_error="drop")
    t0 = time.perf_counter()
    X = vec.fit_transform(train)
    t_vec = time.perf_counter() - t0
    vae = LRAVAETransformer(
        cfg["latent"],
        likelihood="categorical",
        gamma=gamma,
        beta=cfg["beta"],
        reference=2.0,
        hidden_layer_sizes=tuple(cfg["hidden"]),
        max_epochs=cfg["chunk"],
        batch_size=cfg["batch"],
        lr=cfg["lr"],
        flush_denormal=True,
        random_state=seed,
    )
    pipe = make_pipeline(vec, vae)
    chunks, epochs, t0 = [], 0, time.perf_counter()
    while True:
        vae.partial_fit(X, epochs=cfg["chunk"])
        epochs += cfg["chunk"]
        recon = exact_reconstruction(pipe, heldout)
        elapsed = time.perf_counter() - t0
        chunks.append(dict(epochs=epochs, heldout_recon=recon, train_s=round(elapsed, 1)))
        log(f"[vae {cfg['data']} gamma={gamma}] epochs {epochs} recon {recon:.3f} {elapsed:.0f}s")
        if epochs >= cfg["max_epochs"] or elapsed > cfg["time_limit"]:
            break
        if epochs >= cfg["min_epochs"] and recon >= cfg["target_recon"]:
            break
    info = dict(
        gamma=gamma,
        n_train=len(train),
        n_train_encoded=int(X.shape[0]),
        n_positions=int(vec.n_positions_),
        n_tokens=int(vec.n_tokens_),
        vectorize_s=t_vec,
        chunks=chunks,
        heldout_recon=chunks[-1]["heldout_recon"],
        epochs=epochs,
        train_s=chunks[-1]["train_s"],
        config={k: v for k, v in cfg.items()},
    )
    return pipe, info


def get_vae(cfg, gamma, log=print, train_if_missing=True):
    """Cached VAE pipeline and its training info for config ``cfg`` and ``gamma``."""
    CACHE.mkdir(exist_ok=True)
    key = _key(cfg, gamma)
    path, meta = CACHE / f"{key}.lravae", CACHE / f"{key}.json"
    if path.exists() and meta.exists():
        return load(path), json.loads(meta.read_text())
    if not train_if_missing:
        raise FileNotFoundError(path)
    pipe, info = train_vae(cfg, gamma, log=log)
    save(pipe, path)
    meta.write_text(json.dumps(info, indent=1, default=str))
    return pipe, info


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description="pre-train a VAE of the LSBO benchmark")
    p.add_argument("config", choices=sorted(VAE_CONFIGS))
    p.add_argument("--gamma", type=float, default=0.0)
    a = p.parse_args()
    _, inf = get_vae(VAE_CONFIGS[a.config], a.gamma, log=lambda m: print(m, flush=True))
    print(json.dumps({k: inf[k] for k in ("heldout_recon", "epochs", "train_s")}))
