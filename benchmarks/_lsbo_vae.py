"""Data and VAEs of the LSBO molecule benchmark (``lsbo_molecules.py``).

``load_data(name)`` gives the VAE training molecules and held-out molecules of a
data set: ``qm9`` (bundled, no ``../shared`` needed) or ``moses`` (a subset of
``../shared/data/moses_train.csv.gz``, held-out from ``moses_test.csv.gz``).

``get_vae(data, gamma, cfg)`` trains (or loads from ``benchmarks/cache/``) a
SELFIES + ``LRAVAETransformer(likelihood="categorical")`` pipeline in chunks of
epochs, measuring held-out exact reconstruction after each chunk, until it
reaches ``target_recon`` (after ``min_epochs``), ``max_epochs`` or
``time_limit`` seconds. The chunk log is stored next to the model (``.json``).

Run it on its own to pre-train a VAE in a separate process, on a GPU if there is
one (the model is stored with ``device="cpu"`` and the vectoriser's ``n_jobs`` reset,
so the benchmark loads it on the CPU either way)::

    python benchmarks/_lsbo_vae.py moses --gamma 0.1
    python benchmarks/_lsbo_vae.py moses --gamma 0.1 --device cuda --n-jobs 8
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

from sklearn_lravae import LRAVAETransformer, load, save
from sklearn_lravae.chem import SelfiesVectorizer, make_sequence_core
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
    # trained on a GPU (~5 s per epoch on an H200; ~70 s on 2 idle CPU cores): see the module doc
    "moses": dict(
        data="moses",
        n_train=250000,
        n_heldout=1000,
        latent=64,
        hidden=(512, 256),
        beta=0.01,
        lr=1e-3,
        batch=256,
        chunk=2,
        min_epochs=6,
        max_epochs=400,
        target_recon=0.92,
        time_limit=420,
    ),
}
# the same data with a GRU decoder (``core="sequence"``), for a GPU; not trained yet
VAE_CONFIGS["moses_gru"] = dict(VAE_CONFIGS["moses"], core="sequence", gru_size=256)


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


def train_vae(cfg, gamma, seed=0, log=print, device="cpu", n_jobs=None):
    train, heldout = load_data(cfg)
    vec = SelfiesVectorizer(on_long="drop", on_error="drop", n_jobs=n_jobs)
    t0 = time.perf_counter()
    X = vec.fit_transform(train)
    t_vec = time.perf_counter() - t0
    module = None
    if cfg.get("core", "mlp") == "sequence":  # MLP encoder + GRU decoder
        module = make_sequence_core(int(vec.n_tokens_), hidden_size=cfg.get("gru_size", 256))
    vae = LRAVAETransformer(
        cfg["latent"],
        module=module,
        likelihood="categorical",
        gamma=gamma,
        beta=cfg["beta"],
        reference=2.0,
        hidden_layer_sizes=tuple(cfg["hidden"]),
        max_epochs=cfg["chunk"],
        batch_size=cfg["batch"],
        lr=cfg["lr"],
        flush_denormal=True,
        device=device,
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
    vec.set_params(n_jobs=None)  # the benchmark's workers are single-process
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
        device=str(device),
        config={k: v for k, v in cfg.items()},
    )
    return pipe, info


def get_vae(cfg, gamma, log=print, train_if_missing=True, device="cpu", n_jobs=None):
    """Cached VAE pipeline and its training info for config ``cfg`` and ``gamma``.

    The pipeline is always returned (and stored) on the CPU; ``device`` and
    ``n_jobs`` only say where a missing model is trained.
    """
    CACHE.mkdir(exist_ok=True)
    key = _key(cfg, gamma)
    path, meta = CACHE / f"{key}.lravae", CACHE / f"{key}.json"
    if path.exists() and meta.exists():
        return load(path, device="cpu"), json.loads(meta.read_text())
    if not train_if_missing:
        raise FileNotFoundError(path)
    pipe, info = train_vae(cfg, gamma, log=log, device=device, n_jobs=n_jobs)
    pipe[-1].set_params(device="cpu")
    save(pipe, path)
    meta.write_text(json.dumps(info, indent=1, default=str))
    return pipe, info


PROBE_LABELS = {
    "beta3": "beta = 0.001",
    "lat128": "latent 128",
    "wide": "MLP (1024, 512)",
}


def write_report(name, gammas=(0.0, 0.1), probes=None, log=print):
    """``results/lsbo_vae_{name}.md`` + ``.png``: training curves and reconstruction.

    Held-out exact reconstruction is re-measured here (CPU), next to the same
    measure on 1,000 training molecules (the generalisation gap).
    ``probes`` is a folder of logs of short variant runs (``probe_*.txt``).
    """
    import platform
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = VAE_CONFIGS[name]
    train, heldout = load_data(cfg)
    rows, fig = [], plt.figure(figsize=(6, 3.6))
    for g in gammas:
        pipe, info = get_vae(cfg, g, train_if_missing=False)
        ep = [c["epochs"] for c in info["chunks"]]
        plt.plot(ep, [c["heldout_recon"] for c in info["chunks"]], label=f"gamma = {g:g}")
        rows.append(
            (g, info, exact_reconstruction(pipe, heldout), exact_reconstruction(pipe, train[:1000]))
        )
    plt.axhline(0.9, color="k", ls=":", lw=1, label="goal 0.90")
    plt.xlabel("epoch")
    plt.ylabel("held-out exact reconstruction")
    plt.legend()
    plt.tight_layout()
    RESULTS = HERE / "results"
    fig.savefig(RESULTS / f"lsbo_vae_{name}.png", dpi=110)
    c = rows[0][1]["config"]
    vec = pipe[0]
    vec.transform(heldout)
    n_drop = len(getattr(vec, "dropped_indices_", []))
    out = [
        f"# The LSBO benchmark's VAEs: `{name}`",
        "",
        "Generated by `python benchmarks/_lsbo_vae.py "
        f"{name} --report` from the cached models and their training logs.",
        "",
        f"- Data: {rows[0][1]['n_train']:,} training molecules ({cfg['data']}), "
        f"{len(heldout):,} held-out molecules; SELFIES, {rows[0][1]['n_positions']} positions x "
        f"{rows[0][1]['n_tokens']} tokens (molecules longer than the longest training molecule or "
        f"with an unknown token count as failures: {n_drop} of the held-out ones).",
        f"- Model: `LRAVAETransformer(likelihood='categorical')`, latent {c['latent']}, MLP "
        f"{tuple(c['hidden'])}, beta {c['beta']}, Adam lr {c['lr']}, batch {c['batch']}, "
        f"reference N(0, 2^2 I); trained in chunks of {c['chunk']} epochs until held-out "
        f"reconstruction >= {c['target_recon']} or {c['time_limit']} s.",
        f"- Trained on: {rows[0][1].get('device', 'cpu')} (one process per gamma, side by side). "
        f"Report written on {platform.machine()} CPU.",
        "- Exact reconstruction: argmax decode of the encoder mean gives the same canonical "
        "SMILES.",
        "",
        "| gamma | epochs | train s | held-out exact reconstruction | on 1,000 training "
        "molecules | goal |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for g, info, ho, tr in rows:
        ok = "met" if ho >= 0.9 else f"missed by {0.9 - ho:.3f}"
        out.append(
            f"| {g:g} | {info['epochs']} | {info['train_s']:.0f} | {ho:.3f} | {tr:.3f} | {ok} |"
        )
    out += ["", f"![held-out reconstruction by epoch](lsbo_vae_{name}.png)", ""]
    if probes is not None and Path(probes).is_dir():
        out += [
            "## Variants (short runs, gamma = 0, same data, same time budget)",
            "",
            "| variant | epochs | held-out reconstruction at the end | baseline at that epoch |",
            "| --- | --- | --- | --- |",
        ]
        base = {c["epochs"]: c["heldout_recon"] for c in rows[0][1]["chunks"]}
        for f in sorted(Path(probes).glob("probe_*.txt")):
            last = re.findall(r"epochs (\d+) recon ([0-9.]+)", f.read_text())
            if last:
                e, r = int(last[-1][0]), float(last[-1][1])
                b = base.get(e, float("nan"))
                what = PROBE_LABELS.get(f.stem[6:], f.stem[6:])
                out.append(f"| {what} | {e} | {r:.3f} | {b:.3f} |")
        out.append("")
    path = RESULTS / f"lsbo_vae_{name}.md"
    text = "\n".join(out) + "\n"
    if path.exists() and "## Discussion" in path.read_text():  # keep the hand-written part
        text += "\n## Discussion" + path.read_text().split("## Discussion", 1)[1]
    path.write_text(text)
    log(path)
    return path


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description="pre-train a VAE of the LSBO benchmark")
    p.add_argument("config", choices=sorted(VAE_CONFIGS))
    p.add_argument("--gamma", type=float, default=0.0)
    p.add_argument("--device", default="cpu", help="torch device to train on, e.g. cuda")
    p.add_argument("--n-jobs", type=int, default=None, help="vectoriser processes")
    p.add_argument("--set", default="{}", help="JSON overrides, e.g. '{\"beta\": 0.001}'")
    p.add_argument("--report", action="store_true", help="write results/lsbo_vae_<config>.md")
    p.add_argument("--probes", default=None, help="folder of probe_*.txt logs for the report")
    a = p.parse_args()
    if a.report:
        write_report(a.config, probes=a.probes)
        sys.exit()
    _, inf = get_vae(
        {**VAE_CONFIGS[a.config], **json.loads(a.set)},
        a.gamma,
        log=lambda m: print(m, flush=True),
        device=a.device,
        n_jobs=a.n_jobs,
    )
    print(json.dumps({k: inf[k] for k in ("heldout_recon", "epochs", "train_s")}))
