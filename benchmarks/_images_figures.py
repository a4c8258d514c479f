"""Figures of ``reproduce_images.py``: the gamma x training-length grid, morphing curves at
matched spread, the calibration ELBO curve, decoded samples and morphing pictures."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _images_eval import PICTURE_T, TAU, bernoulli
from _images_stats import paired, select, selection

RESULTS = Path(__file__).resolve().parent / "results"


def _save(fig, filename):
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / filename, dpi=90)
    plt.close(fig)
    return filename


def grid_figure(result, tag):
    """Paired Δ% (FID, KID) at s = 2, 3 for every gamma > 0 and training length."""
    a, runs = result["settings"], result["runs"]
    lengths = [name for name, _, _ in result["lengths_used"]]
    gammas = [g for g in a["gammas"] if g > 0]
    panels = [(m, s) for m in ("fid", "kid") for s in ("2", "3") if float(s) in a["scales"]]
    datasets = [d for d in a["datasets"] if select(runs, d)]
    if not panels or not datasets or not gammas:
        return None
    fig, axes = plt.subplots(
        len(datasets),
        len(panels),
        figsize=(3.4 * len(panels), 0.9 + 1.0 * len(lengths) * len(datasets)),
        squeeze=False,
    )
    for row, ds in enumerate(datasets):
        for col, (metric, s) in enumerate(panels):
            M = np.full((len(lengths), len(gammas)), np.nan)
            ax = axes[row, col]
            for i, length in enumerate(lengths):
                r0 = select(runs, ds, length, 0.0)
                for j, g in enumerate(gammas):
                    rg = select(runs, ds, length, g)
                    if not rg or not r0:
                        continue
                    mean, lo, hi, n = paired(
                        rg, r0, lambda r, s=s, m=metric: r["samples"]["test"][s][m], relative=True
                    )
                    M[i, j] = mean
                    sure = n > 1 and (lo > 0 or hi < 0)
                    ax.text(
                        j,
                        i,
                        f"{mean:+.0f}%" + ("*" if sure else ""),
                        ha="center",
                        va="center",
                        fontsize=8,
                    )
            lim = np.nanmax(np.abs(M)) if np.isfinite(M).any() else 1.0
            ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
            ax.set_xticks(range(len(gammas)), [f"{g:g}" for g in gammas], fontsize=8)
            ax.set_yticks(range(len(lengths)), lengths, fontsize=8)
            ax.set_title(f"{ds}: Δ{metric.upper()} % at s = {s}", fontsize=9)
            ax.set_xlabel("gamma", fontsize=8)
    fig.suptitle(
        "Paired change vs gamma = 0 (mean over VAE seeds; * = 95% t-interval excludes 0; "
        "blue = better)",
        fontsize=9,
    )
    fig.tight_layout()
    return _save(fig, f"{tag}_grid.png")


def morph_figure(result, tag, ds, length):
    runs = select(result["runs"], ds, length)
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for g in sorted({r["gamma"] for r in runs}):
        rs = select(runs, ds, length, g)
        for ax, key in zip(axes, ("lre", "conf")):
            t = np.mean([r["morph"][f"{key}_t"] for r in rs], 0)
            tau = np.mean([r["morph"][f"{key}_tau"] for r in rs], 0)
            x = np.concatenate([np.linspace(0, 1, len(t)), 1 + TAU])
            ax.plot(x, np.concatenate([t, tau]), marker=".", label=f"{g:g}")
    for ax, title in zip(axes, ("mean LRE", "mean classifier confidence")):
        ax.axvspan(0, 1, color="tab:blue", alpha=0.08)
        ax.set_xlabel("t in [0, 1], then 1 + tau (spread units past an end)", fontsize=8)
        ax.set_title(f"{title} along the path", fontsize=10)
    axes[0].set_yscale("log")
    axes[0].legend(title="gamma", fontsize=8)
    fig.suptitle(f"{ds} ({length}): morphing at matched spread, mean over pairs and seeds")
    fig.tight_layout()
    return _save(fig, f"{tag}_morph_curves_{ds}.png")


def calibration_figure(result, tag, ds):
    calib = result["calibration"].get(ds)
    if not calib:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.2))
    curve = calib["elbo_curve"]
    ax.plot(range(1, len(curve) + 1), curve, marker="o")
    ax.axvline(calib["epochs"], color="k", ls=":", label=f"plateau: {calib['epochs']} epochs")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation ELBO (nats)")
    ax.legend(fontsize=8)
    ax.set_title(f"{ds}: gamma = 0, seed 0, {calib['n_train']} images", fontsize=9)
    fig.tight_layout()
    return _save(fig, f"{tag}_calibration_{ds}.png")


def picture_figures(result, tag, ds, length, pics):
    """Samples (means, binarised) and raw-t morphing pictures, gamma = 0 vs the selected."""
    a = result["settings"]
    best, _ = selection(result["runs"], ds, length, a["gammas"], a["select_scale"])
    if best is None or 0.0 not in pics or best not in pics:
        return []
    side = int(np.sqrt(pics[0.0]["morph"].shape[-1]))
    out = []
    scales = a["scales"]
    fig, axes = plt.subplots(4 * len(scales), 8, figsize=(6.4, 3.3 * len(scales)))
    for i, s in enumerate(scales):
        for k, (g, binar) in enumerate(((0.0, False), (best, False), (0.0, True), (best, True))):
            X = pics[g]["samples"][s]
            X = bernoulli(X, 11) if binar else X
            for j in range(8):
                ax = axes[4 * i + k, j]
                ax.imshow(X[j].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"s={s:g} g={g:g}\n{'bin' if binar else 'mean'}", fontsize=6)
    fig.suptitle(f"{ds} ({length}): N(0, s^2 I) samples, gamma 0 vs {best:g}, same z", fontsize=9)
    fig.tight_layout()
    out.append(_save(fig, f"{tag}_samples_{ds}.png"))
    n_pairs = pics[0.0]["morph"].shape[0]
    fig, axes = plt.subplots(
        2 * n_pairs, len(PICTURE_T), figsize=(0.75 * len(PICTURE_T), 1.6 * n_pairs)
    )
    for p in range(n_pairs):
        for k, g in enumerate((0.0, best)):
            for j, t in enumerate(PICTURE_T):
                ax = axes[2 * p + k, j]
                ax.imshow(pics[g]["morph"][p, j].reshape(side, side), cmap="gray_r")
                ax.set_xticks([])
                ax.set_yticks([])
                if j == 0:
                    ax.set_ylabel(f"g={g:g}", fontsize=7)
                if p == 0 and k == 0:
                    ax.set_title(f"t={t:g}", fontsize=7)
    fig.suptitle(f"{ds} ({length}): morphing z_a + t (z_b - z_a), gamma 0 / {best:g}", fontsize=9)
    fig.tight_layout()
    out.append(_save(fig, f"{tag}_morph_{ds}.png"))
    return out
