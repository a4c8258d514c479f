"""Reproduce the LRA-VAE paper's image results on MNIST and Fashion-MNIST.

For each data set, a standard VAE (``gamma = 0``) and LRA-VAEs (``gamma`` on a
grid, broad reference ``N(0, s_ref^2 I)``) are trained with the same
architecture, epochs and seeds through the public API
(:class:`sklearn_lravae.LRAVAETransformer`), then measured on three studies:

1. **LRE vs latent density** (paper Fig. 2): latent probe points (draws of
   ``N(0, s^2 I)``, s in {0.5, 1, 2, 3}, plus encoded test images); LRE against
   the log prior density and the log density of a Gaussian mixture fitted to the
   encoded training data; Spearman correlations; hexbin figures; the mean LRE
   of ``N(0, s^2 I)`` samples for s in {1, 2, 3}.
2. **Low-density sample quality**: Fréchet distance (FID-like) between real
   test images and images decoded from ``N(0, s^2 I)``, s in {1, 2, 3}, on the
   penultimate features of a small CNN trained on the data set's train split
   (:class:`sklearn_lravae.metrics.CNNFeatureExtractor`); the classifier's
   confidence and k-NN precision / recall of the samples; held-out ELBO and
   reconstruction error (the in-distribution price).
3. **Morphing**: interpolation (0 <= t <= 1) and extrapolation (t < 0, t > 1)
   between encoded test pairs, ``z(t) = z_a + t (z_b - z_a)``: LRE along the
   path and the classifier's confidence in the decoded images, averaged over
   pairs; a picture grid gamma = 0 vs gamma > 0.

Usage::

    python benchmarks/reproduce_images.py --quick     # minutes -> results/images_quick.md
    python benchmarks/reproduce_images.py --full      # -> results/images.md (hours, see the .md)
    python benchmarks/reproduce_images.py --full --n-train 20000 --epochs 5 \\
        --gammas 0 0.03 0.3 --seeds 0 1 2             # a reduced full run
    python benchmarks/reproduce_images.py --render-only [--quick]   # .md from the saved .json

``--data-dir`` is the folder holding ``mnist/`` and ``fashion-mnist/`` IDX files
(default: ``../shared/data`` next to the repository). Training uses
``flush_denormal=True`` (denormal Adam state slows CPU epochs) and
``--threads`` torch threads; numpy / scipy BLAS is limited to one thread.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy
import sklearn
import skorch
import torch
from scipy.stats import spearmanr
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

import sklearn_lravae
from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.datasets import load_mnist
from sklearn_lravae.metrics import (
    CNNFeatureExtractor,
    frechet_distance,
    mean_latent_reconstruction_error,
    precision_recall,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
DISCUSSION = "## Discussion"
PROBE_SCALES = (0.5, 1.0, 2.0, 3.0)
T_GRID = np.round(np.linspace(-1.0, 2.0, 31), 3)
PICTURE_T = np.round(np.linspace(-1.0, 2.0, 13), 3)

QUICK = dict(
    n_train=10000,
    epochs=3,
    seeds=[0],
    gammas=[0.0, 0.1],
    n_fid=2000,
    n_eval=2000,
    n_pairs=50,
    n_probe=300,
    cnn_epochs=2,
    cnn_train=20000,
)
FULL = dict(
    n_train=60000,
    epochs=8,
    seeds=[0, 1, 2],
    gammas=[0.0, 0.03, 0.1, 0.3],
    n_fid=5000,
    n_eval=5000,
    n_pairs=200,
    n_probe=1000,
    cnn_epochs=3,
    cnn_train=60000,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small settings, minutes")
    mode.add_argument("--full", action="store_true", help="full settings (the default)")
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--gammas", type=float, nargs="+", default=None)
    p.add_argument("--reference-scale", type=float, default=2.0, help="s_ref of N(0, s_ref^2 I)")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    p.add_argument("--n-components", type=int, default=16)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 256])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--n-train", type=int, default=None, help="VAE training images")
    p.add_argument("--n-fid", type=int, default=None, help="real / generated images per FID")
    p.add_argument("--n-eval", type=int, default=None, help="test images for ELBO / recon")
    p.add_argument("--n-pairs", type=int, default=None, help="morphing pairs")
    p.add_argument("--n-probe", type=int, default=None, help="LRE probe points per probe scale")
    p.add_argument("--cnn-epochs", type=int, default=None)
    p.add_argument("--cnn-train", type=int, default=None, help="classifier training images")
    p.add_argument("--morph-gamma", type=float, default=None, help="gamma of the picture grid")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--tag", default=None, help="result stem (default images / images_quick)")
    p.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.gammas = sorted(set(args.gammas))
    if 0.0 not in args.gammas:
        p.error("--gammas must include 0 (the standard VAE baseline).")
    if args.tag is None:
        args.tag = "images_quick" if args.quick else "images"
    return args


# --------------------------------------------------------------------------- pieces
def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load(data_dir, name):
    folder = Path(data_dir) / name
    X_train, y_train = load_mnist(folder, "train")
    X_test, y_test = load_mnist(folder, "test")
    return X_train, y_train, X_test, y_test


def log_prior(Z):
    d = Z.shape[1]
    return -0.5 * (Z**2).sum(1) - 0.5 * d * np.log(2 * np.pi)


def latent_probes(n_components, n_probe, seed):
    rng = np.random.default_rng(10_000 + seed)
    return np.vstack([s * rng.standard_normal((n_probe, n_components)) for s in PROBE_SCALES])


def sample_quality(vae, cnn, F_real, scale, n, seed):
    """FID, confidence, precision/recall of ``n`` images decoded from N(0, scale^2 I)."""
    X_gen = vae.sample(n, scale=scale, random_state=1000 + seed)
    return image_quality(cnn, F_real, X_gen)


def image_quality(cnn, F_real, X_gen):
    F = cnn.transform(X_gen)
    proba = cnn.predict_proba(X_gen)
    n_pr = min(len(F), len(F_real), 2000)
    prec, rec = precision_recall(F_real[:n_pr], F[:n_pr])
    return {
        "fid": frechet_distance(F_real, F),
        "confidence": float(proba.max(1).mean()),
        "precision": prec,
        "recall": rec,
    }


def morph(vae, cnn, Z_a, Z_b):
    """LRE and classifier confidence along z_a + t (z_b - z_a) for every t in T_GRID."""
    path = Z_a[:, None, :] + T_GRID[None, :, None] * (Z_b - Z_a)[:, None, :]
    flat = path.reshape(-1, Z_a.shape[1])
    lre = vae.latent_reconstruction_error(flat).reshape(len(Z_a), len(T_GRID))
    conf = cnn.predict_proba(vae.inverse_transform(flat)).max(1).reshape(lre.shape)
    return lre, conf


def run_dataset(name, args, figures, datasets, save):
    log(f"== {name}: loading {args.data_dir / name}")
    X_train_all, y_train_all, X_test, y_test = load(args.data_dir, name)
    rng = np.random.default_rng(0)
    X_train = X_train_all[rng.permutation(len(X_train_all))[: args.n_train]]
    test_perm = rng.permutation(len(X_test))
    X_fid_real = X_test[test_perm[: args.n_fid]]
    X_eval = X_test[test_perm[: args.n_eval]]
    pairs = rng.choice(len(X_test), size=(args.n_pairs, 2), replace=False)

    log(f"{name}: training the CNN feature extractor on {args.cnn_train} train images")
    t0 = time.perf_counter()
    cnn_idx = np.random.default_rng(1).permutation(len(X_train_all))[: args.cnn_train]
    cnn = CNNFeatureExtractor(max_epochs=args.cnn_epochs, random_state=0).fit(
        X_train_all[cnn_idx], y_train_all[cnn_idx]
    )
    cnn_time = time.perf_counter() - t0
    F_real = cnn.transform(X_fid_real)
    X_train_ref = X_train_all[np.random.default_rng(2).permutation(len(X_train_all))[: args.n_fid]]
    floor = image_quality(cnn, F_real, X_train_ref)
    ds = {
        "cnn_accuracy": float(cnn.score(X_test, y_test)),
        "cnn_time_s": cnn_time,
        "real_train_vs_test": floor,
        "runs": [],
    }
    datasets[name] = ds
    log(f"{name}: CNN test accuracy {ds['cnn_accuracy']:.4f}, train-vs-test FID {floor['fid']:.3f}")

    plots = {"density": {}, "morph_images": {}, "morph_curves": {}, "samples": {}}
    for seed in args.seeds:
        for gamma in args.gammas:
            log(f"{name}: fit gamma={gamma:g} seed={seed}")
            vae = LRAVAETransformer(
                n_components=args.n_components,
                gamma=gamma,
                reference=args.reference_scale,
                likelihood="bernoulli",
                hidden_layer_sizes=tuple(args.hidden),
                max_epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                flush_denormal=True,
                random_state=seed,
            )
            t0 = time.perf_counter()
            vae.fit(X_train)
            fit_time = time.perf_counter() - t0
            t0 = time.perf_counter()
            run = {"gamma": gamma, "seed": seed, "fit_time_s": fit_time}
            # in-distribution price
            run["elbo"] = vae.score(X_eval)
            rec = vae.inverse_transform(vae.transform(X_eval))
            run["recon_sse"] = float(((rec - X_eval) ** 2).sum(1).mean())
            run["recon"] = image_quality(cnn, F_real, rec)
            # (1) LRE vs density
            run["lre"] = {
                f"{s:g}": mean_latent_reconstruction_error(
                    vae, reference=s, n_samples=2000, random_state=seed
                )
                for s in args.scales
            }
            Z_train = vae.transform(X_train[:10000])
            # active units (Burda et al.): latent dims whose posterior mean varies with x;
            # an inactive dim decodes to the same image whatever z_i, but adds z_i^2 to the LRE
            run["active_units"] = int((Z_train.var(0) > 0.01).sum())
            gmm = GaussianMixture(10, covariance_type="full", random_state=seed).fit(Z_train)
            Z_probe = np.vstack(
                [
                    latent_probes(args.n_components, args.n_probe, seed),
                    vae.transform(X_eval[: args.n_probe]),
                ]
            )
            lre_probe = vae.latent_reconstruction_error(Z_probe)
            lp_prior, lp_gmm = log_prior(Z_probe), gmm.score_samples(Z_probe)
            run["spearman_prior"] = float(spearmanr(lre_probe, lp_prior).statistic)
            run["spearman_gmm"] = float(spearmanr(lre_probe, lp_gmm).statistic)
            run["lre_encoded_test"] = float(lre_probe[-args.n_probe :].mean())
            # (2) sample quality
            run["samples"] = {
                f"{s:g}": sample_quality(vae, cnn, F_real, s, args.n_fid, seed) for s in args.scales
            }
            # (3) morphing
            Z_test = vae.transform(X_test[pairs.ravel()]).reshape(args.n_pairs, 2, -1)
            lre_path, conf_path = morph(vae, cnn, Z_test[:, 0], Z_test[:, 1])
            inside = (T_GRID >= 0) & (T_GRID <= 1)
            run["morph"] = {
                "lre_interp": float(lre_path[:, inside].mean()),
                "lre_extrap": float(lre_path[:, ~inside].mean()),
                "conf_interp": float(conf_path[:, inside].mean()),
                "conf_extrap": float(conf_path[:, ~inside].mean()),
                "lre_curve": lre_path.mean(0).tolist(),
                "conf_curve": conf_path.mean(0).tolist(),
            }
            run["eval_time_s"] = time.perf_counter() - t0
            ds["runs"].append(run)
            save()
            s_main = f"{args.scales[-1]:g}"
            log(
                f"{name}: gamma={gamma:g} seed={seed}: fit {fit_time:.0f}s, ELBO "
                f"{run['elbo']:.1f}, LRE(s={s_main}) {run['lre'][s_main]:.3f}, FID(s=1..) "
                + ", ".join(f"{run['samples'][k]['fid']:.2f}" for k in run["samples"])
                + f", rho_gmm {run['spearman_gmm']:.2f}, AU {run['active_units']}, "
                f"eval {run['eval_time_s']:.0f}s"
            )
            if seed == args.seeds[0]:
                plots["density"][gamma] = (lre_probe, lp_prior, lp_gmm)
                Zp = Z_test[:4]
                pic = Zp[:, 0][:, None] + PICTURE_T[None, :, None] * (Zp[:, 1] - Zp[:, 0])[:, None]
                plots["morph_images"][gamma] = vae.inverse_transform(
                    pic.reshape(-1, args.n_components)
                ).reshape(len(Zp), len(PICTURE_T), -1)
                plots["samples"][gamma] = {
                    s: vae.sample(8, scale=s, random_state=7) for s in args.scales
                }
    figures.extend(make_figures(name, args, ds, plots))
    return ds


# --------------------------------------------------------------------------- figures
def _gamma_for_pictures(args):
    if args.morph_gamma is not None and args.morph_gamma in args.gammas:
        return args.morph_gamma
    positive = [g for g in args.gammas if g > 0]
    return positive[len(positive) // 2] if positive else 0.0


def make_figures(name, args, ds, plots):
    out = []
    gammas = list(plots["density"])
    # (1) hexbins: rows prior / GMM density, columns gamma
    fig, axes = plt.subplots(2, len(gammas), figsize=(3.6 * len(gammas), 6.4), squeeze=False)
    for col, g in enumerate(gammas):
        lre, lp_prior, lp_gmm = plots["density"][g]
        for row, (lp, label) in enumerate(((lp_prior, "log prior density"), (lp_gmm, "log GMM"))):
            ax = axes[row, col]
            rho = spearmanr(lre, lp).statistic
            # GMM log densities of far-out probes reach -1e5: clip the x axis at the
            # 2nd percentile (Spearman uses the unclipped values)
            lp = np.maximum(lp, np.percentile(lp, 2))
            ax.hexbin(lp, np.log10(lre + 1e-6), gridsize=35, cmap="viridis", mincnt=1, bins="log")
            ax.set_title(f"gamma={g:g}: Spearman {rho:.2f}", fontsize=9)
            ax.set_xlabel(label + " (clipped at 2nd percentile)", fontsize=8)
            if col == 0:
                ax.set_ylabel("log10 LRE")
    fig.suptitle(f"{name}: LRE vs latent density (seed {args.seeds[0]})")
    fig.tight_layout()
    out.append(_save(fig, f"{args.tag}_lre_density_{name}.png"))

    # (2) FID / confidence vs sampling scale
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for g in args.gammas:
        runs = [r for r in ds["runs"] if r["gamma"] == g]
        for ax, key in zip(axes, ("fid", "confidence", "precision")):
            vals = np.array([[r["samples"][f"{s:g}"][key] for s in args.scales] for r in runs])
            ax.errorbar(args.scales, vals.mean(0), yerr=vals.std(0), marker="o", label=f"{g:g}")
    for ax, title in zip(
        axes, ("Fréchet distance (CNN features)", "classifier confidence", "precision")
    ):
        ax.set_xlabel("sampling scale s of N(0, s^2 I)")
        ax.set_title(title, fontsize=10)
    axes[0].axhline(ds["real_train_vs_test"]["fid"], color="k", ls=":", lw=1)
    axes[0].legend(title="gamma", fontsize=8)
    fig.suptitle(f"{name}: quality of decoded samples (mean ± sd over seeds)")
    fig.tight_layout()
    out.append(_save(fig, f"{args.tag}_fid_{name}.png"))

    # (3) morphing: picture grid gamma=0 vs gamma>0 and curves along the path
    g_pic = _gamma_for_pictures(args)
    side = int(np.sqrt(plots["morph_images"][0.0].shape[-1]))
    n_pairs_pic = plots["morph_images"][0.0].shape[0]
    fig, axes = plt.subplots(
        2 * n_pairs_pic, len(PICTURE_T), figsize=(0.75 * len(PICTURE_T), 1.6 * n_pairs_pic)
    )
    for p in range(n_pairs_pic):
        for k, g in enumerate((0.0, g_pic)):
            for j, t in enumerate(PICTURE_T):
                ax = axes[2 * p + k, j]
                ax.imshow(plots["morph_images"][g][p, j].reshape(side, side), cmap="gray_r")
                ax.set_xticks([])
                ax.set_yticks([])
                if 0 <= t <= 1:
                    for spine in ax.spines.values():
                        spine.set_color("tab:blue")
                if j == 0:
                    ax.set_ylabel(f"g={g:g}", fontsize=7)
                if p == 0 and k == 0:
                    ax.set_title(f"t={t:g}", fontsize=7)
    fig.suptitle(f"{name}: morphing, rows alternate gamma=0 / gamma={g_pic:g} (blue: 0<=t<=1)")
    fig.tight_layout()
    out.append(_save(fig, f"{args.tag}_morph_{name}.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for g in args.gammas:
        runs = [r for r in ds["runs"] if r["gamma"] == g]
        lre = np.mean([r["morph"]["lre_curve"] for r in runs], axis=0)
        conf = np.mean([r["morph"]["conf_curve"] for r in runs], axis=0)
        axes[0].plot(T_GRID, lre, label=f"{g:g}")
        axes[1].plot(T_GRID, conf, label=f"{g:g}")
    for ax, title in zip(axes, ("mean LRE along the path", "mean classifier confidence")):
        ax.axvspan(0, 1, color="tab:blue", alpha=0.08)
        ax.set_xlabel("t (z = z_a + t (z_b - z_a))")
        ax.set_title(title, fontsize=10)
    axes[0].set_yscale("log")
    axes[0].legend(title="gamma", fontsize=8)
    fig.suptitle(f"{name}: morphing over {args.n_pairs} test pairs, mean over seeds")
    fig.tight_layout()
    out.append(_save(fig, f"{args.tag}_morph_curves_{name}.png"))

    # decoded samples per scale, gamma=0 vs the picture gamma
    fig, axes = plt.subplots(2 * len(args.scales), 8, figsize=(6.4, 1.7 * len(args.scales)))
    for i, s in enumerate(args.scales):
        for k, g in enumerate((0.0, g_pic)):
            for j in range(8):
                ax = axes[2 * i + k, j]
                ax.imshow(plots["samples"][g][s][j].reshape(side, side), cmap="gray_r")
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"s={s:g}\ng={g:g}", fontsize=7)
    fig.suptitle(f"{name}: samples of N(0, s^2 I), gamma=0 vs {g_pic:g} (same z)", fontsize=9)
    fig.tight_layout()
    out.append(_save(fig, f"{args.tag}_samples_{name}.png"))
    return out


def _save(fig, filename):
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / filename, dpi=90)
    plt.close(fig)
    return filename


# --------------------------------------------------------------------------- report
def _ms(values, fmt="{:.2f}"):
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std(ddof=1))}"


def _rel(runs, base, key_fn):
    """Per-seed relative change vs gamma = 0 (paired by seed), in percent."""
    by_seed = {r["seed"]: key_fn(r) for r in base}
    rel = np.array([100 * (key_fn(r) - by_seed[r["seed"]]) / by_seed[r["seed"]] for r in runs])
    if len(rel) == 1:
        return f"{rel[0]:+.1f} %"
    return f"{rel.mean():+.1f} ± {rel.std(ddof=1):.1f} %"


def _mode_label(result):
    if result["mode"] == "quick":
        return "quick"
    args = result["settings"]
    same = all(args[k] == v for k, v in FULL.items()) and len(args["datasets"]) == 2
    return "full" if same else "reduced full"


def markdown(result):
    args = result["settings"]
    lines = [
        f"# Reproducing the paper's image results ({_mode_label(result)} run)",
        *(
            ["", "**Partial results: the run was interrupted; tables hold the finished models.**"]
            if result.get("partial")
            else []
        ),
        "",
        "Generated by `benchmarks/reproduce_images.py`; command:",
        "",
        f"    {result['command']}",
        "",
        "## Settings",
        "",
        f"- Model: `LRAVAETransformer(n_components={args['n_components']}, "
        f"hidden_layer_sizes={tuple(args['hidden'])}, likelihood='bernoulli', "
        f"reference={args['reference_scale']:g}, n_reference_samples=128, "
        f"max_epochs={args['epochs']}, batch_size={args['batch_size']}, lr={args['lr']:g}, "
        "flush_denormal=True)` (Adam). ELBO summed over the 784 pixels, LRE summed over the "
        "latent dimensions, reference N(0, "
        f"{args['reference_scale']:g}^2 I), 128 fresh reference samples per batch.",
        f"- gammas {args['gammas']}, seeds {args['seeds']}; {args['n_train']} training images "
        "(a fixed random subset of the 60,000 when fewer).",
        f"- Feature extractor: `CNNFeatureExtractor` (conv 16-32, 128 hidden ReLU features), "
        f"{args['cnn_epochs']} epochs on {args['cnn_train']} train images, seed 0.",
        f"- Fréchet distance (FID-like, on the CNN's 128 penultimate features): {args['n_fid']} "
        f"test images vs {args['n_fid']} decoded samples (`sample(scale=s)`, decoder means), "
        "covariances with ddof=1. Precision / recall: k=3 nearest neighbours on 2000 of each. "
        "Confidence: mean max class probability of the CNN.",
        f"- ELBO (`score`, 16 draws) and reconstruction error (squared error summed over "
        f"pixels, posterior-mean encode, mean decode) on {args['n_eval']} test images.",
        f"- LRE vs density: {args['n_probe']} probe points from each of N(0, s^2 I), "
        f"s in {list(PROBE_SCALES)}, plus {args['n_probe']} encoded test images; GMM: 10 full-"
        "covariance components fitted on 10,000 encoded training images. Mean LRE of "
        "N(0, s^2 I): `mean_latent_reconstruction_error(n_samples=2000)`.",
        f"- Morphing: {args['n_pairs']} random test pairs, t in [-1, 2] (31 steps); "
        "interpolation = 0 <= t <= 1, extrapolation = the rest.",
        f"- torch threads {args['threads']}. Versions: {result['versions']}.",
        f"- Runtime: {result['runtime_min']:.1f} min in total; mean fit time per model "
        f"{result['mean_fit_s']:.0f} s, evaluation {result['mean_eval_s']:.0f} s.",
        "",
    ]
    for name, ds in result["datasets"].items():
        runs = ds["runs"]
        if not runs:
            continue
        gammas = sorted({r["gamma"] for r in runs})
        base = [r for r in runs if r["gamma"] == 0.0]
        scales = list(runs[0]["samples"])
        floor = ds["real_train_vs_test"]
        lines += [
            f"## {name}",
            "",
            f"CNN test accuracy {ds['cnn_accuracy']:.4f} (trained in {ds['cnn_time_s']:.0f} s). "
            f"Noise floor, real train vs real test images: FID {floor['fid']:.2f}, "
            f"confidence {floor['confidence']:.3f}, precision {floor['precision']:.3f}, "
            f"recall {floor['recall']:.3f}. Mean ± sd over seeds; Δ = per-seed change "
            "vs gamma = 0.",
            "",
            "### Low-density sample quality (FID on CNN features, lower is better)",
            "",
            "| gamma | "
            + " | ".join(f"FID s={s}" for s in scales)
            + " | "
            + " | ".join(f"ΔFID s={s}" for s in scales)
            + " | FID recon |",
            "|---:|" + "---:|" * (2 * len(scales) + 1),
        ]
        for g in gammas:
            rs = [r for r in runs if r["gamma"] == g]
            cells = [_ms([r["samples"][s]["fid"] for r in rs]) for s in scales]
            cells += [
                "—" if g == 0 else _rel(rs, base, lambda r, s=s: r["samples"][s]["fid"])
                for s in scales
            ]
            cells.append(_ms([r["recon"]["fid"] for r in rs]))
            lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "### Confidence, precision / recall of the samples",
            "",
            "| gamma | "
            + " | ".join(f"conf s={s}" for s in scales)
            + " | "
            + " | ".join(f"prec / rec s={s}" for s in scales)
            + " |",
            "|---:|" + "---:|" * (2 * len(scales)),
        ]
        for g in gammas:
            rs = [r for r in runs if r["gamma"] == g]
            cells = [_ms([r["samples"][s]["confidence"] for r in rs], "{:.3f}") for s in scales]
            cells += [
                _ms([r["samples"][s]["precision"] for r in rs], "{:.2f}")
                + " / "
                + _ms([r["samples"][s]["recall"] for r in rs], "{:.2f}")
                for s in scales
            ]
            lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "### In-distribution price and LRE vs density",
            "",
            "| gamma | test ELBO (nats) | recon SSE | "
            + " | ".join(f"LRE N(0,{s}²I)" for s in scales)
            + " | LRE encoded test | active dims | Spearman(LRE, log prior) "
            "| Spearman(LRE, log GMM) | fit s |",
            "|---:|" + "---:|" * (len(scales) + 7),
        ]
        for g in gammas:
            rs = [r for r in runs if r["gamma"] == g]
            cells = [
                _ms([r["elbo"] for r in rs], "{:.1f}"),
                _ms([r["recon_sse"] for r in rs], "{:.2f}"),
                *(_ms([r["lre"][s] for r in rs], "{:.3f}") for s in scales),
                _ms([r["lre_encoded_test"] for r in rs], "{:.4f}"),
                _ms([r.get("active_units", np.nan) for r in rs], "{:.1f}"),
                _ms([r["spearman_prior"] for r in rs], "{:.2f}"),
                _ms([r["spearman_gmm"] for r in rs], "{:.2f}"),
                f"{np.mean([r['fit_time_s'] for r in rs]):.0f}",
            ]
            lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "### Morphing (mean over pairs and t; interpolation 0 <= t <= 1, extrapolation "
            "t in [-1, 0) and (1, 2])",
            "",
            "| gamma | LRE interp | LRE extrap | confidence interp | confidence extrap |",
            "|---:|---:|---:|---:|---:|",
        ]
        for g in gammas:
            rs = [r for r in runs if r["gamma"] == g]
            m = [r["morph"] for r in rs]
            lines.append(
                f"| {g:g} | {_ms([x['lre_interp'] for x in m], '{:.3f}')} | "
                f"{_ms([x['lre_extrap'] for x in m], '{:.3f}')} | "
                f"{_ms([x['conf_interp'] for x in m], '{:.3f}')} | "
                f"{_ms([x['conf_extrap'] for x in m], '{:.3f}')} |"
            )
        lines += [""]
        for fig in result["figures"]:
            if fig.endswith(f"_{name}.png"):
                lines.append(f"![{fig}]({fig})")
        lines.append("")
    return "\n".join(lines)


def write_markdown(result, stem):
    md = RESULTS / f"{stem}.md"
    text = markdown(result)
    if md.exists() and DISCUSSION in md.read_text():  # keep the hand-written discussion
        text += "\n" + DISCUSSION + md.read_text().split(DISCUSSION, 1)[1]
    md.write_text(text)
    return md


def main(argv=None):
    args = parse_args(argv)
    json_path = RESULTS / f"{args.tag}.json"
    if args.render_only:
        result = json.loads(json_path.read_text())
        print(write_markdown(result, args.tag))
        return
    torch.set_num_threads(args.threads)
    # numpy's BLAS threads and torch's spinning OpenMP threads oversubscribe a small
    # CPU (a GaussianMixture fit took 23 s instead of 1 s): numpy gets one thread
    threadpool_limits(1, user_api="blas")
    t_start = time.perf_counter()
    figures, datasets = [], {}
    settings = {
        k: v
        for k, v in vars(args).items()
        if k not in ("data_dir", "render_only", "quick", "full", "tag")
    }

    def save(final=False):
        """Write the .json and .md (after every model, so an interrupted run keeps its data)."""
        runs = [r for ds in datasets.values() for r in ds["runs"]]
        result = {
            "mode": "quick" if args.quick else "full",
            "partial": not final,
            "command": "python benchmarks/reproduce_images.py " + " ".join(sys.argv[1:]),
            "settings": settings,
            "versions": (
                f"sklearn-lravae {sklearn_lravae.__version__}, torch {torch.__version__}, "
                f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}, "
                f"scipy {scipy.__version__}, numpy {np.__version__}, Python "
                f"{platform.python_version()}, {platform.machine()}"
            ),
            "runtime_min": (time.perf_counter() - t_start) / 60,
            "mean_fit_s": float(np.mean([r["fit_time_s"] for r in runs])),
            "mean_eval_s": float(np.mean([r["eval_time_s"] for r in runs])),
            "figures": figures,
            "datasets": datasets,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=1))
        return result, write_markdown(result, args.tag)

    for name in args.datasets:
        run_dataset(name, args, figures, datasets, save)
    result, md = save(final=True)
    print(md.read_text())
    log(f"wrote {md} and {json_path} in {result['runtime_min']:.1f} min")


if __name__ == "__main__":
    main()
