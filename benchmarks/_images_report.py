"""Markdown report of ``reproduce_images.py`` (tables, intervals, runtime estimate)."""

import _images_findings
import numpy as np
from _images_stats import (
    epochs_of,
    estimate,
    fmt_paired,
    ms,
    paired,
    rates,
    reference_choice,
    select,
    selection,
)

METRICS = (  # key, label, format, scale factor
    ("fid", "FID", "{:.2f}", 1.0),
    ("kid", "KID", "{:.4g}", 1.0),
    ("precision", "precision", "{:.3f}", 1.0),
    ("recall", "recall", "{:.3f}", 1.0),
    ("confidence", "confidence", "{:.3f}", 1.0),
)
KINDS = (("test", "means"), ("test_bin", "binarised"))


def _settings(result):
    a = result["settings"]
    lengths = ", ".join(
        f"{n}: {t} images x "
        + " / ".join(f"{epochs_of(result['runs'], ds, n, e)} ({ds})" for ds in a["datasets"])
        + " epochs"
        for n, t, e in result["lengths_used"]
    )
    return [
        "## Protocol",
        "",
        f"- Model: `LRAVAETransformer(n_components={a['n_components']}, hidden_layer_sizes="
        f"{tuple(a['hidden'])}, likelihood='bernoulli', reference={_reference(a)}, "
        f"n_reference_samples={a.get('n_reference_samples', 'auto')!r}, "
        f"batch_size={a['batch_size']}, lr={a['lr']:g}, flush_denormal=True)`; gammas "
        f"{a['gammas']}, VAE seeds {a['seeds']}, training lengths {lengths}.",
        f"- Splits: {a['n_val']} of the 60,000 training images are a validation split (never "
        "trained on); the rest is the training pool (the first n images of a fixed permutation "
        f"for a length with n images). Test: {a['n_fid']} test images for the sample metrics, "
        f"{a['n_eval']} for ELBO / reconstruction.",
        f"- Feature extractors: `CNNFeatureExtractor` with seeds {a['ext_seeds']}, "
        f"{a['cnn_epochs']} epochs on {a['cnn_train']} training-pool images. Every quality "
        "number is the mean over the extractors; `ext sd` is the mean over models of the "
        "standard deviation between extractors.",
        f"- Sample metrics: {a['n_fid']} images decoded from N(0, s^2 I) vs {a['n_fid']} real "
        "images; FID (ddof=1 covariances), unbiased KID (`kernel_inception_distance`, cubic "
        f"kernel, {a['kid_subsets']} subsets of {a['kid_subset']}), k=3 precision / recall on "
        "2000 of each, mean max class probability of the CNN (confidence). *means*: decoder "
        "means (grey values) vs the real test images; *binarised*: one Bernoulli draw per pixel "
        "of the decoder means vs one Bernoulli draw of the real test images.",
        f"- gamma selection: the gamma > 0 with the lowest mean validation KID of "
        f"N(0, {a['select_scale']:g}^2 I) samples (fresh draws against the validation images), "
        "then reported on test.",
        _reference_protocol(a, result),
        "- Paired differences: per VAE seed, gamma minus gamma = 0 (same seed, same data, same "
        "extractors); mean and 95% t-interval over seeds; \\* = interval excludes 0.",
        "- Morphing: test pairs (z_a, z_b) encoded; interpolation z_a + t (z_b - z_a), "
        "t in [0, 1]; extrapolation z_b + tau r u and z_a - tau r u, tau in (0, 2], u the unit "
        "direction, r the model's *spread* (RMS distance of encoded test images from their "
        "mean), so paths reach the same distance relative to each model's encoded data; "
        f"{a['n_pairs']} pairs. `raw t` = the earlier t in {{-1, -0.5, 1.5, 2}}.",
        f"- Versions: {result['versions']}. Processes: {a['workers']} single-thread workers "
        "side by side.",
        "",
    ]


def _reference(a):
    if len(a.get("reference_scales", [])) > 1:
        return "s_ref (selected per data set and gamma, below)"
    return f"{a['reference_scale']:g}"


def _reference_protocol(a, result):
    scales = a.get("reference_scales", [])
    if len(scales) < 2:
        return f"- Reference scale: fixed at {a['reference_scale']:g} (not selected)."
    n_sel = len(result.get("ref_selection", []))
    return (
        f"- Reference-scale selection (before the main models): for each data set and "
        f"gamma > 0, one model per VAE seed {a['select_seeds']} and candidate s_ref in "
        f"{scales} at the {a['select_length']} length ({n_sel} models, evaluated on the "
        f"validation split only); the s_ref with the lowest mean validation KID of "
        f"N(0, {a['select_scale']:g}^2 I) samples trains that gamma's main models at every "
        "length. gamma = 0 has no LRE term, so its reference is unused."
    )


def _reference_table(result, ds):
    sel = [r for r in result.get("ref_selection", []) if r["dataset"] == ds]
    if not sel:
        return []
    a = result["settings"]
    scales = sorted({r["reference_scale"] for r in sel})
    lines = [
        f"### Reference scale (selection stage, {a['select_length']} length, validation split, "
        f"mean ± sd over seeds {a['select_seeds']})",
        "",
        "| gamma | "
        + " | ".join(f"KID s_ref={s:g} | val ELBO s_ref={s:g}" for s in scales)
        + " | selected |",
        "|---:|" + "---:|" * (2 * len(scales) + 1),
    ]
    for g in sorted({r["gamma"] for r in sel}):
        best, _ = reference_choice(sel, ds, g)
        cells = []
        for s in scales:
            rs = [r for r in sel if r["gamma"] == g and r["reference_scale"] == s]
            cells += [
                ms([r["val"]["kid"] for r in rs], "{:.4g}"),
                ms([r["elbo_val"] for r in rs], "{:.1f}"),
            ]
        lines.append(f"| {g:g} | " + " | ".join(cells) + f" | {best:g} |")
    return lines + [""]


def _runtime(result):
    rate = rates(result["runs"], result["cnn"], result.get("ref_selection", []))
    lines = ["## Runtime", ""]
    if not rate.get("gamma0") or not rate.get("gamma_pos"):
        return lines + ["(not enough finished models for rates)", ""]
    shared = ", shared CPU: upper bounds" if result["settings"]["shared_cpu"] else ""
    parts = result.get("runtime_parts", [])
    if len(parts) > 1:
        lines += [
            f"{result['runtime_min']:.1f} min wall in {len(parts)} resumed parts (each reuses "
            "the finished models of the ones before): "
            + "; ".join(f"{p['min']:.1f} min (`{p['what'].split('.py ', 1)[-1]}`)" for p in parts)
            + ".",
            "",
        ]
    lines += [
        f"{'In all' if len(parts) > 1 else 'This run'}: {result['runtime_min']:.1f} min wall with "
        f"{result['settings']['workers']} "
        f"workers. Measured per model (single thread{shared}): "
        f"fit {rate['gamma0'] * 1e6:.0f} µs per image-epoch at gamma = 0 and "
        f"{rate['gamma_pos'] * 1e6:.0f} µs at gamma > 0 "
        f"({rate['gamma_pos'] / rate['gamma0']:.2f}x), evaluation {rate['eval_s']:.0f} s per "
        f"model, CNN {rate.get('cnn_per_image_epoch', 0) * 1e6:.0f} µs per image-epoch.",
        "",
    ]
    plan = result.get("full_plan")
    if plan:
        ev = plan["eval_scale"]
        lines += [
            f"Estimate of the full run ({len(plan['datasets'])} data sets, "
            f"{len(plan['seeds'])} VAE seeds x gammas {plan['gammas']} x 2 lengths"
            + (
                f" + {plan['selection'][0]} selection models per data set"
                if plan.get("selection")
                else ""
            )
            + ", "
            f"{len(plan['ext_seeds'])} extractors; evaluation time scaled x{ev:.1f} to the "
            "full sizes), 2 single-thread workers, by the epochs E of the main length "
            "(the gamma = 0 MNIST validation ELBO at 55,000 images plateaus at E = 26: "
            "`benchmarks/results/images_calibration_mnist.json`):",
            "",
            "| E (main length) | models | core-hours | wall (2 workers) |",
            "|---:|---:|---:|---:|",
        ]
        for E in plan["epochs_grid"]:
            p = dict(plan, lengths=[(plan["lengths"][0][0], E), *plan["lengths"][1:]])
            p["calib_epochs"] = E + plan["patience"]
            est = estimate(rate, p, eval_scale=ev)
            lines.append(
                f"| {E} | {est['models']} | {est['core_s'] / 3600:.2f} | "
                f"{est['wall_s'] / 60:.0f} min |"
            )
        lines.append("")
    return lines


def _selection_lines(runs, ds, length, gammas, a):
    best, table = selection(runs, ds, length, gammas, a["select_scale"])
    cells = " | ".join(f"{g:g}: {v:.4g}" for g, v in table.items())
    line = (
        f"Validation KID of N(0, {a['select_scale']:g}^2 I) samples: {cells}; "
        f"selected gamma = {best:g}."
        if best is not None
        else "No gamma > 0 finished."
    )
    return best, [line, ""]


def _main_table(runs, ds, length, best, scales):
    r0, rg = select(runs, ds, length, 0.0), select(runs, ds, length, best)
    lines = [
        f"| metric | samples | s | gamma = 0 | gamma = {best:g} | paired Δ [95% CI] "
        "| Δ % [95% CI] |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, label, fmt, f in METRICS:
        for kind, kind_label in KINDS:
            for s in scales:

                def get(r, key=key, kind=kind, s=s, f=f):
                    return r["samples"][kind][s][key] * f

                rel = fmt_paired(paired(rg, r0, get, True), "{:+.1f}", " %")
                lines.append(
                    f"| {label} | {kind_label} | {s} | {ms([get(r) for r in r0], fmt)} | "
                    f"{ms([get(r) for r in rg], fmt)} | {fmt_paired(paired(rg, r0, get), fmt)} | "
                    f"{rel if key in ('fid', 'kid') else '—'} |"
                )
    return lines + [""]


def _all_gammas_table(runs, ds, length, gammas, scales):
    lines = [
        "| gamma | "
        + " | ".join(f"FID s={s} | ΔFID % s={s} | KID s={s}" for s in scales)
        + " | FID recon |",
        "|---:|" + "---:|" * (3 * len(scales) + 1),
    ]
    r0 = select(runs, ds, length, 0.0)
    for g in gammas:
        rs = select(runs, ds, length, g)
        if not rs:
            continue
        cells = []
        for s in scales:

            def fid(r, s=s):
                return r["samples"]["test"][s]["fid"]

            ext = np.mean([r["samples"]["test"][s]["ext_sd"]["fid"] for r in rs])
            cells += [
                f"{ms([fid(r) for r in rs])} (ext sd {ext:.2f})",
                "—" if g == 0 else fmt_paired(paired(rs, r0, fid, True), "{:+.1f}", " %"),
                ms([r["samples"]["test"][s]["kid"] for r in rs], "{:.4g}"),
            ]
        cells.append(ms([r["recon"]["fid"] for r in rs]))
        lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
    return lines + [""]


def _price_table(runs, ds, length, gammas, scales):
    lines = [
        "| gamma | test ELBO | val ELBO | recon SSE | "
        + " | ".join(f"LRE N(0,{s}²I)" for s in scales)
        + " | spread r | active dims | Spearman(LRE, log prior) | Spearman(LRE, log GMM) "
        "| fit s | epochs |",
        "|---:|" + "---:|" * (len(scales) + 9),
    ]
    for g in gammas:
        rs = select(runs, ds, length, g)
        if rs:
            cells = [
                ms([r["elbo"] for r in rs], "{:.1f}"),
                ms([r["elbo_val"] for r in rs], "{:.1f}"),
                ms([r["recon_sse"] for r in rs]),
                *(ms([r["lre"][s] for r in rs], "{:.2f}") for s in scales),
                ms([r["spread"] for r in rs]),
                ms([r["active_units"] for r in rs], "{:.1f}"),
                ms([r["spearman_prior"] for r in rs]),
                ms([r["spearman_gmm"] for r in rs]),
                f"{np.mean([r['fit_s'] for r in rs]):.0f}",
                str(rs[0]["epochs"]),
            ]
            lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
    return lines + [""]


def _morph_table(runs, ds, length, gammas):
    keys = (
        ("lre_interp", "LRE interp", "{:.3f}"),
        ("lre_extrap", "LRE extrap (matched spread)", "{:.2f}"),
        ("lre_extrap_rel", "LRE extrap / r²", "{:.3f}"),
        ("conf_interp", "conf interp", "{:.3f}"),
        ("conf_extrap", "conf extrap (matched)", "{:.3f}"),
        ("lre_raw_extrap", "LRE extrap (raw t)", "{:.2f}"),
        ("pair_distance_rel", "pair distance / r", "{:.2f}"),
    )
    lines = [
        "| gamma | " + " | ".join(k[1] for k in keys) + " | Δ LRE extrap matched [95% CI] "
        "| Δ conf extrap matched [95% CI] |",
        "|---:|" + "---:|" * (len(keys) + 2),
    ]
    r0 = select(runs, ds, length, 0.0)
    for g in gammas:
        rs = select(runs, ds, length, g)
        if rs:
            cells = [ms([r["morph"][k] for r in rs], f) for k, _, f in keys]
            for k, f in (("lre_extrap", "{:+.2f}"), ("conf_extrap", "{:+.3f}")):
                cells.append(
                    "—" if g == 0 else fmt_paired(paired(rs, r0, lambda r, k=k: r["morph"][k]), f)
                )
            lines.append(f"| {g:g} | " + " | ".join(cells) + " |")
    return lines + [""]


def _dataset(result, ds):
    a, runs = result["settings"], result["runs"]
    scales = [f"{s:g}" for s in a["scales"]]
    cnn = result["cnn"].get(ds, [])
    lines = [f"## {ds}", ""]
    if cnn:
        lines += [
            "Extractors: test accuracy "
            + ", ".join(f"{c['accuracy']:.4f}" for c in cnn)
            + "; real validation vs real test images (the noise floor): FID "
            + ", ".join(f"{c['floor']['fid']:.2f}" for c in cnn)
            + ", KID "
            + ", ".join(f"{c['floor']['kid']:.3g}" for c in cnn)
            + ".",
            "",
        ]
    lines += _reference_table(result, ds)
    for length, n_train, epochs in result["lengths_used"]:
        gammas = sorted({r["gamma"] for r in select(runs, ds, length)})
        if 0.0 not in gammas:
            continue
        epochs = epochs_of(runs, ds, length, epochs)
        lines += [f"### {length}: {n_train} images x {epochs} epochs", ""]
        refs = {r["gamma"]: r.get("reference_scale", a["reference_scale"])
                for r in select(runs, ds, length) if r["gamma"] > 0}  # fmt: skip
        if len(a.get("reference_scales", [])) > 1:
            lines += ["Reference scale (selected): "
                      + ", ".join(f"gamma = {g:g}: s_ref = {x:g}" for g, x in sorted(refs.items()))
                      + ".", ""]  # fmt: skip
        best, sel = _selection_lines(runs, ds, length, gammas, a)
        lines += sel
        if best is not None:
            lines += [f"#### Main comparison: gamma = {best:g} (selected) vs 0, test", ""]
            lines += _main_table(runs, ds, length, best, scales)
        lines += ["#### Every gamma (decoder means; after the fact, not selected)", ""]
        lines += _all_gammas_table(runs, ds, length, gammas, scales)
        lines += ["#### In-distribution price, LRE and density", ""]
        lines += _price_table(runs, ds, length, gammas, scales)
        lines += ["#### Morphing (means over pairs, path points, extractors)", ""]
        lines += _morph_table(runs, ds, length, gammas)
    calib = result["calibration"].get(ds)
    if calib:
        curve = ", ".join(f"{v:.1f}" for v in calib["elbo_curve"])
        lines += [
            f"Training length of the main setting: validation ELBO of gamma = 0, seed 0, per "
            f"epoch: {curve}. Plateau (tol {a['calib_tol']:g} x |ELBO_1|, patience "
            f"{a['calib_patience']}) at epoch {calib['epochs']}"
            + (" — the cap was reached, the curve had not plateaued." if calib["capped"] else ".")
            + f" ({calib['time_s']:.0f} s)",
            "",
        ]
    for fig in result["figures"]:
        if fig.endswith(f"_{ds}.png"):
            lines.append(f"![{fig}]({fig})")
    return lines + [""]


def markdown(result):
    lines = [f"# Reproducing the paper's image results ({result['mode']} run)", ""]
    if result.get("partial"):
        lines += ["**Partial results: the run did not finish; tables hold finished models.**", ""]
    lines += [
        "Generated by `benchmarks/reproduce_images.py`; command:",
        "",
        f"    {result['command']}",
        "",
    ]
    lines += _settings(result) + _runtime(result)
    for ds in result["settings"]["datasets"]:
        lines += _dataset(result, ds)
    for fig in result["figures"]:
        if fig.endswith("_grid.png"):
            lines.append(f"![{fig}]({fig})")
    lines += ["", *_images_findings.findings(result)]  # before a hand-written Discussion
    return "\n".join(lines) + "\n"
