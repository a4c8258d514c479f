"""QM9 SELFIES VAE: reconstruction, prior-sample quality and LRE, gamma = 0 vs gamma > 0.

Trains ``LRAVAETransformer(likelihood="categorical")`` on one-hot SELFIES of a QM9
train split (CPU) and reports, for each gamma:

- exact reconstruction rate of held-out molecules (encode to the posterior mean,
  argmax decode, canonical SMILES equal to the input's),
- validity / uniqueness / novelty / internal diversity of 10,000 samples of the
  prior N(0, I) and of N(0, 2^2 I) (decoded with the vectoriser's argmax),
- mean latent reconstruction error of the hard (argmax) decode and of the soft
  decode at those latent points, and on held-out encodings,
- training time.

Usage::

    python benchmarks/qm9_vae.py --quick          # ~1-2 minutes -> qm9_vae_quick.md
    python benchmarks/qm9_vae.py                  # full run, ~18 min on 2 CPU threads
    python benchmarks/qm9_vae.py --quick --core gru --gammas 0 --n-train 30000 \
        --epochs 10 --tag _core_gru               # the core comparison
    python benchmarks/qm9_vae.py --render-only    # rewrite the .md/.png from the .json

Writes ``benchmarks/results/qm9_vae{tag}.md`` (+ ``.json`` and a PNG). Result
files named ``qm9_vae_core_*.json`` are collected into a core-comparison table.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.chem import (
    SelfiesVectorizer,
    generation_metrics,
    make_sequence_core,
    make_straight_through_core,
)
from sklearn_lravae.chem._smiles import canonical_smiles
from sklearn_lravae.datasets import load_qm9

RESULTS = Path(__file__).resolve().parent / "results"
DISCUSSION = "## Discussion"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small, fast settings")
    p.add_argument("--n-train", type=int, default=None, help="training molecules (default all)")
    p.add_argument("--n-test", type=int, default=None, help="held-out molecules")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument(
        "--gammas",
        nargs="+",
        default=["0", "0.1", "0.1st"],
        help="gamma values; a suffix 'st' uses the straight-through core "
        "(make_straight_through_core: the encoder sees the argmax one-hot)",
    )
    p.add_argument("--beta", type=float, default=0.01)
    p.add_argument("--n-components", type=int, default=32)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 256])
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--core", choices=["mlp", "gru"], default="mlp")
    p.add_argument("--n-samples", type=int, default=None, help="prior samples per scale")
    p.add_argument("--diversity-samples", type=int, default=3000)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the .md from the saved .json without training",
    )
    args = p.parse_args()
    quick = dict(n_train=20_000, n_test=1_000, epochs=12, n_samples=2_000)
    full = dict(n_train=None, n_test=10_000, epochs=30, n_samples=10_000)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick and not args.tag:
        args.tag = "_quick"  # never overwrite the full results
    return args


def no_atom_rate(vec, probs):
    """Fraction of rows whose raw argmax has no atom token (would decode to '')."""
    idx = probs.reshape(len(probs), vec.n_positions_, vec.n_tokens_).argmax(-1)
    is_atom = np.array(
        [t != vec.pad_token and "Branch" not in t and "Ring" not in t for t in vec.alphabet_]
    )
    return float(np.mean(~is_atom[idx].any(axis=1)))


def main():
    args = parse_args()
    if args.render_only:
        stem = f"qm9_vae{args.tag}"
        saved = json.loads((RESULTS / f"{stem}.json").read_text())
        if "histories" in saved:
            plot(saved["histories"], RESULTS / f"{stem}.png")
        write_markdown(markdown(saved["settings"], saved["rows"], stem), stem)
        return
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(args.seed)
    t0 = time.perf_counter()
    smiles = load_qm9()
    perm = rng.permutation(len(smiles))
    test_smiles = smiles[perm[: args.n_test]]
    train_pool = smiles[perm[args.n_test :]]
    train_smiles = train_pool if args.n_train is None else train_pool[: args.n_train]
    vec = SelfiesVectorizer()
    X_train = vec.fit_transform(train_smiles)
    test_vec = SelfiesVectorizer(
        alphabet=vec.alphabet_.tolist(),
        max_length=vec.n_positions_,
        on_error="drop",
        on_long="drop",
    ).fit(train_smiles[:10])
    X_test = test_vec.transform(test_smiles)
    n_test_dropped = len(test_vec.dropped_indices_)
    kept = np.delete(np.arange(len(test_smiles)), test_vec.dropped_indices_)
    test_canon = [canonical_smiles(s) for s in test_smiles[kept]]
    train_canon = [canonical_smiles(s) for s in train_smiles]
    print(
        f"QM9: {len(train_smiles)} train / {len(kept)} held-out molecules "
        f"({n_test_dropped} held-out dropped: tokens or length unseen in train); "
        f"{vec.n_positions_} positions x {vec.n_tokens_} tokens; "
        f"prep {time.perf_counter() - t0:.1f} s"
    )

    rows, histories = [], {}
    for variant in args.gammas:
        st = variant.endswith("st")
        gamma = float(variant[:-2] if st else variant)
        label = f"gamma={gamma:g}" + (" ST" if st else "")
        module = None
        if args.core == "gru":
            module = make_sequence_core(vec.n_tokens_, hidden_size=256)
        if st:
            module = make_straight_through_core(
                vec.n_tokens_, core=module, hidden_layer_sizes=tuple(args.hidden)
            )
        vae = LRAVAETransformer(
            args.n_components,
            gamma=gamma,
            beta=args.beta,
            reference=2.0,
            n_reference_samples=128,
            hidden_layer_sizes=tuple(args.hidden),
            likelihood="categorical",
            n_categories=vec.n_tokens_,
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            module=module,
            flush_denormal=True,
            random_state=args.seed,
            verbose=2,
        )
        t = time.perf_counter()
        vae.fit(X_train)
        train_time = time.perf_counter() - t
        histories[label] = {
            k: [h[k] for h in vae.net_.history if k in h]
            for k in ("train_nll", "train_kl", "train_lre")
        }

        t = time.perf_counter()
        Z_test = vae.transform(X_test)
        rec = vec.inverse_transform(vae.inverse_transform(Z_test, decode="mode"))
        recon = float(np.mean([a == b for a, b in zip(rec, test_canon)]))
        Z_tr = vae.transform(X_train[:5000])
        rec_tr = vec.inverse_transform(vae.inverse_transform(Z_tr, decode="mode"))
        recon_train = float(np.mean([a == b for a, b in zip(rec_tr, train_canon[:5000])]))
        row = dict(
            gamma=gamma,
            variant=label,
            straight_through=st,
            train_time_s=train_time,
            recon_heldout=recon,
            recon_train=recon_train,
            lre_mode_heldout=float(np.mean(vae.latent_reconstruction_error(Z_test, "mode"))),
            final_nll=histories[label]["train_nll"][-1],
            final_kl=histories[label]["train_kl"][-1],
            elbo_heldout=vae.score(X_test),
        )
        for scale in (1.0, 2.0):
            probs, Z = vae.sample(
                args.n_samples, scale=scale, random_state=args.seed + 1, return_latent=True
            )
            gen = vec.inverse_transform(probs)
            m = generation_metrics(
                gen,
                training_smiles=train_canon,
                max_samples=args.diversity_samples,
                random_state=args.seed,
            )
            s = f"s{scale:g}"
            for k, v in m.items():
                row[f"{k}_{s}"] = v
            row[f"no_atom_fix_{s}"] = no_atom_rate(vec, probs)
            row[f"lre_mode_{s}"] = float(np.mean(vae.latent_reconstruction_error(Z, "mode")))
            row[f"lre_mean_{s}"] = float(np.mean(vae.latent_reconstruction_error(Z, "mean")))
        row["eval_time_s"] = time.perf_counter() - t
        rows.append(row)
        print(
            f"{label}: train {train_time:.0f} s, held-out recon {recon:.3f} "
            f"(train {recon_train:.3f}), prior: valid {row['validity_s1']:.3f} "
            f"unique {row['uniqueness_s1']:.3f} novel {row['novelty_s1']:.3f} "
            f"div {row['diversity_s1']:.3f}; N(0,4I): unique {row['uniqueness_s2']:.3f}; "
            f"LRE(mode) prior {row['lre_mode_s1']:.3f} N(0,4I) {row['lre_mode_s2']:.3f}"
        )

    settings = dict(
        quick=args.quick,
        core=args.core,
        n_train=len(train_smiles),
        n_heldout=len(kept),
        n_heldout_dropped=n_test_dropped,
        n_positions=vec.n_positions_,
        n_tokens=vec.n_tokens_,
        n_components=args.n_components,
        hidden_layer_sizes=args.hidden,
        beta=args.beta,
        reference="N(0, 2^2 I), 128 samples per batch",
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        n_samples=args.n_samples,
        diversity_samples=args.diversity_samples,
        torch_threads=args.threads,
        seed=args.seed,
        cpu=platform.processor() or platform.machine(),
        total_time_s=time.perf_counter() - t0,
    )
    RESULTS.mkdir(exist_ok=True)
    stem = f"qm9_vae{args.tag}"
    saved = dict(settings=settings, rows=rows, histories=histories)
    (RESULTS / f"{stem}.json").write_text(json.dumps(saved, indent=1))
    plot(histories, RESULTS / f"{stem}.png")
    write_markdown(markdown(settings, rows, stem), stem)


def write_markdown(table, stem):
    md = RESULTS / f"{stem}.md"
    if md.exists() and DISCUSSION in md.read_text():  # keep the hand-written discussion
        table += "\n" + DISCUSSION + md.read_text().split(DISCUSSION, 1)[1]
    md.write_text(table)
    print(table)


def plot(histories, path):
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for i, (label, h) in enumerate(histories.items()):
        for ax, key in zip(axes, ("train_nll", "train_kl", "train_lre")):
            if h[key]:
                ax.plot(np.arange(1, len(h[key]) + 1), h[key], label=label, color=f"C{i}")
            ax.set_title(key)
            ax.set_xlabel("epoch")
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[2].set_title("train_lre on N(0, 4I) (soft unless ST)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(v):
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def markdown(settings, rows, stem):
    cols = [
        ("gamma", "gamma"),
        ("train_time_s", "train time (s)"),
        ("recon_heldout", "held-out recon"),
        ("recon_train", "train recon"),
        ("elbo_heldout", "held-out ELBO"),
        ("final_nll", "final train NLL"),
        ("final_kl", "final train KL"),
        ("lre_mode_heldout", "LRE(mode) held-out"),
        ("validity_s1", "valid N(0,I)"),
        ("uniqueness_s1", "unique N(0,I)"),
        ("novelty_s1", "novel N(0,I)"),
        ("diversity_s1", "IntDiv N(0,I)"),
        ("lre_mode_s1", "LRE(mode) N(0,I)"),
        ("lre_mean_s1", "LRE(mean) N(0,I)"),
        ("validity_s2", "valid N(0,4I)"),
        ("uniqueness_s2", "unique N(0,4I)"),
        ("novelty_s2", "novel N(0,4I)"),
        ("diversity_s2", "IntDiv N(0,4I)"),
        ("lre_mode_s2", "LRE(mode) N(0,4I)"),
        ("lre_mean_s2", "LRE(mean) N(0,4I)"),
        ("no_atom_fix_s1", "no-atom fix N(0,I)"),
        ("no_atom_fix_s2", "no-atom fix N(0,4I)"),
    ]
    lines = [f"# QM9 SELFIES VAE ({stem}{', quick' if settings['quick'] else ''})", ""]
    lines += ["Generated by `benchmarks/qm9_vae.py`.", "", "## Settings", ""]
    lines += [f"- {k}: {round(v, 1) if k.endswith('_s') else v}" for k, v in settings.items()]
    lines += ["", "## Results (one column per variant; ST = straight-through core)", ""]
    lines += ["| metric | " + " | ".join(r["variant"] for r in rows) + " |"]
    lines += ["|---|" + "---:|" * len(rows)]
    for key, name in cols[1:]:
        lines.append(f"| {name} | " + " | ".join(_fmt(r[key]) for r in rows) + " |")
    lines += [
        "",
        f"![training curves]({stem}.png)",
        "",
        "Definitions: *recon* = fraction of molecules whose argmax decode of the encoder "
        "mean has the same RDKit canonical SMILES as the input; validity / uniqueness / "
        "novelty (vs the training SMILES) / IntDiv (1 - mean pairwise Tanimoto of Morgan "
        f"r=2 2048-bit fingerprints, on a random {settings['diversity_samples']} of the "
        "valid samples) are computed on the SMILES decoded from latent samples; LRE(mode) "
        "= ||z - enc_mu(argmax one-hot of dec(z))||^2, LRE(mean) feeds the softmax "
        "probabilities back instead. *no-atom fix* = fraction of samples whose raw argmax "
        "had no atom token and got one at position 0 (see SelfiesVectorizer).",
    ]
    others = sorted(RESULTS.glob("qm9_vae_core_*.json"))
    if others:
        lines += ["", "## Core comparison (MLP vs GRU decoder, same settings)", ""]
        lines += [
            "| file | core | n_train | epochs | gamma | train time (s) | held-out recon | "
            "train recon | unique N(0,I) | LRE(mode) N(0,I) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for f in others:
            d = json.loads(f.read_text())
            s = d["settings"]
            for r in d["rows"]:
                lines.append(
                    f"| {f.name} | {s['core']} | {s['n_train']} | {s['epochs']} | "
                    f"{r['gamma']:g} | {r['train_time_s']:.0f} | {r['recon_heldout']:.3f} | "
                    f"{r['recon_train']:.3f} | {r['uniqueness_s1']:.3f} | "
                    f"{r['lre_mode_s1']:.3f} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
