"""Findings of ``reproduce_images.py``, generated from the result JSON alone.

Every number is computed with the functions of ``_images_stats`` that build the report's
tables (``ms``, ``paired``, ``selection``, ``rates``), in the tables' formats. The wording
follows the paired 95% t-interval over VAE seeds, never the sign of the mean alone:
"better" / "worse" (or "lower" / "higher") only when the interval excludes 0, otherwise
"not resolved"; with one paired seed "n/a (1 seed)". Run this file to self-check.
"""

from _images_stats import (
    epochs_of,
    fmt_paired,
    ms,
    paired,
    rates,
    reference_choice,
    select,
    selection,
)

HEADING = "## Findings (generated from the numbers)"
GOAL_MIN = 120.0


def verdict(res, lower_is_good=True, words=("better", "worse")):
    """'better' / 'worse' when the interval excludes 0, else 'not resolved' (or n/a)."""
    _, lo, hi, n = res
    if n == 0:
        return "n/a (no paired seeds)"
    if n < 2:
        return "n/a (1 seed)"
    if hi < 0:
        return words[0] if lower_is_good else words[1]
    if lo > 0:
        return words[1] if lower_is_good else words[0]
    return "not resolved"


def change(res, fmt="{:+.2f}", unit="", lower_is_good=True, words=("better", "worse")):
    """A paired change as in the tables (without the \\* mark) and its verdict."""
    text, word = fmt_paired(res, fmt, unit).replace(" \\*", ""), verdict(res, lower_is_good, words)
    return f"{text} [{word}]" if word.startswith("n/a") else f"{text} ({word})"


def _sample(kind, s, key):
    return lambda r: r["samples"][kind][s][key]


def _gammas(runs, ds, length):
    return sorted({r["gamma"] for r in select(runs, ds, length)})


def _span(values, fmt="{:.2f}"):
    return f"{fmt.format(min(values))} to {fmt.format(max(values))}" if values else "—"


def _lre_density(result, ds, lre_s):
    runs = select(result["runs"], ds)
    enc = [r["lre_encoded_test"] for r in runs if "lre_encoded_test" in r]
    far = [r["lre"][lre_s] for r in runs if lre_s in r["lre"]]
    text = (
        f"**LRE vs latent density.** Over the {len(runs)} models (every gamma and length): "
        f"Spearman(LRE, log GMM density) {_span([r['spearman_gmm'] for r in runs])}, "
        f"Spearman(LRE, log prior) {_span([r['spearman_prior'] for r in runs])} "
        "(negative: the LRE is higher where the density is lower). Mean LRE per model: "
        f"encoded test images {_span(enc)}, N(0, {lre_s}² I) samples {_span(far)}"
    )
    if enc and far and max(enc) > 0:
        text += f" (the lowest sample mean is {min(far) / max(enc):.0f}x the highest test mean)"
    text += "."
    parts = []
    for length, _, _ in result["lengths_used"]:
        best, r0, rg = _best(result, ds, length)
        if best is not None:
            res = paired(rg, r0, lambda r: r["lre"][lre_s], True)
            words = ("lower", "higher")
            parts.append(f"{length} (gamma = {best:g}) {change(res, '{:+.1f}', ' %', True, words)}")
    if parts:
        text += f" Selected gamma vs 0, LRE of N(0, {lre_s}² I) samples: " + "; ".join(parts) + "."
    return text


def _best(result, ds, length):
    runs, a = result["runs"], result["settings"]
    gammas = _gammas(runs, ds, length)
    if 0.0 not in gammas:
        return None, [], []
    best, _ = selection(runs, ds, length, gammas, a["select_scale"])
    rg = select(runs, ds, length, best) if best is not None else []
    return best, select(runs, ds, length, 0.0), rg


def _quality(result, ds, length, label, metrics, kinds, scales):
    best, r0, rg = _best(result, ds, length)
    if best is None:
        return f"{label}: no gamma = 0 / gamma > 0 pair finished."
    text = f"{label}, gamma = {best:g} (selected) vs 0, test."
    for kind, kind_label in kinds:
        if not all(kind in r["samples"] for r in r0 + rg):
            continue
        parts = []
        for key, name in (("fid", "FID"), ("kid", "KID")):
            cells = [
                f"s={s} {change(paired(rg, r0, _sample(kind, s, key), True), '{:+.1f}', ' %')}"
                for s in scales
            ]
            parts.append(f"{name} " + ", ".join(cells))
        text += f" {kind_label.capitalize()}: " + "; ".join(parts) + "."
    s = "3" if "3" in scales else scales[-1]
    other = [
        f"{name} {change(paired(rg, r0, _sample('test', s, key)), fmt, '', False)}"
        for key, name, fmt, _ in metrics
        if key not in ("fid", "kid")
    ]
    return text + f" Decoder means at s = {s}: " + ", ".join(other) + "."


def _claim(marks):
    if all(m.startswith("n/a") for m in marks):
        return marks[0] if marks else "n/a"
    better, worse = marks.count("better"), marks.count("worse")
    if better == len(marks):
        return "holds"
    if better and worse:
        return "mixed"
    if worse:
        return "reversed" if worse == len(marks) else "partly reversed"
    return "partly holds" if better else "not resolved"


def _where(result, ds, length):
    runs, a = result["runs"], result["settings"]
    gammas = _gammas(runs, ds, length)
    if 0.0 not in gammas:
        return f"{length}: no gamma = 0 model finished."
    best, table = selection(runs, ds, length, gammas, a["select_scale"])
    if best is None:
        return f"{length}: no gamma > 0 model finished."
    vals = " | ".join(f"{g:g}: {v:.4g}" for g, v in table.items())
    scales = [s for s in ("2", "3") if s in runs[0]["samples"]["test"]]
    r0, parts = select(runs, ds, length, 0.0), []
    for g in (g for g in gammas if g > 0):
        rg, marks, cells = select(runs, ds, length, g), [], []
        for key, name in (("fid", "FID"), ("kid", "KID")):
            for s in scales:
                res = paired(rg, r0, _sample("test", s, key), True)
                marks.append(verdict(res))
                cells.append(f"{name} s={s} {res[0]:+.1f} % ({marks[-1]})")
        tag = " (selected)" if g == best else ""
        parts.append(f"gamma = {g:g}{tag}: {', '.join(cells)} -> claim {_claim(marks)}")
    return (
        f"{length}: validation KID of N(0, {a['select_scale']:g}² I) samples {vals}, selected "
        f"gamma = {best:g}. Test change vs gamma = 0 (decoder means; FID and KID at s = 2, 3): "
        + "; ".join(parts)
        + "."
    )


def _price(result, ds, length):
    best, r0, rg = _best(result, ds, length)
    if best is None:
        return f"{length}: no gamma = 0 / gamma > 0 pair finished."
    elbo = paired(rg, r0, lambda r: r["elbo"])
    sse = paired(rg, r0, lambda r: r["recon_sse"])
    return (
        f"{length}, gamma = 0 -> {best:g}: test ELBO {ms([r['elbo'] for r in r0], '{:.1f}')} -> "
        f"{ms([r['elbo'] for r in rg], '{:.1f}')} nats, paired "
        f"{change(elbo, '{:+.1f}', '', False)}; reconstruction SSE "
        f"{ms([r['recon_sse'] for r in r0])} -> {ms([r['recon_sse'] for r in rg])}, paired "
        f"{change(sse, '{:+.2f}')}."
    )


def _plateau(result, ds):
    calib = result.get("calibration", {}).get(ds)
    if not calib:
        return ""
    e = calib["epochs"]
    state = f"plateaued at epoch {e}"
    if calib["capped"]:
        state = f"had not plateaued at the cap of {e} epochs"
    return f" (main length: the gamma = 0 validation ELBO {state})"


def _morph(result, ds, length):
    best, r0, rg = _best(result, ds, length)
    if best is None or not all("morph" in r for r in r0 + rg):
        return f"{length}: no gamma = 0 / gamma > 0 pair with morphing finished."

    def both(key, fmt):
        return " vs ".join(ms([r["morph"][key] for r in rs], fmt) for rs in (r0, rg))

    def delta(key, fmt, lower_is_good, words):
        res = paired(rg, r0, lambda r: r["morph"][key])
        return change(res, fmt, "", lower_is_good, words)

    lre_w, conf_w = ("lower", "higher"), ("higher", "lower")
    return (
        f"{length}, gamma = 0 vs {best:g}: interpolation LRE {both('lre_interp', '{:.3f}')}, "
        f"confidence {both('conf_interp', '{:.3f}')}. Extrapolation at matched spread LRE "
        f"{both('lre_extrap', '{:.2f}')}, Δ {delta('lre_extrap', '{:+.2f}', True, lre_w)}; "
        f"LRE / r² {both('lre_extrap_rel', '{:.3f}')}, Δ "
        f"{delta('lre_extrap_rel', '{:+.3f}', True, lre_w)}; confidence "
        f"{both('conf_extrap', '{:.3f}')}, Δ {delta('conf_extrap', '{:+.3f}', False, conf_w)}."
    )


def _reference(result, ds):
    """The reference-scale selection stage: validation KID per s_ref, paired vs the chosen."""
    sel = [r for r in result.get("ref_selection", []) if r["dataset"] == ds]
    if not sel:
        return None
    a, parts = result["settings"], []
    for g in sorted({r["gamma"] for r in sel}):
        best, table = reference_choice(sel, ds, g)
        rb = [r for r in sel if r["gamma"] == g and r["reference_scale"] == best]
        cells = []
        for ref in table:
            rs = [r for r in sel if r["gamma"] == g and r["reference_scale"] == ref]
            text = f"s_ref = {ref:g} {ms([r['val']['kid'] for r in rs], '{:.4g}')}"
            if ref != best:
                res = paired(rs, rb, lambda r: r["val"]["kid"], True)
                text += f" ({change(res, '{:+.1f}', ' %', True, ('lower', 'higher'))} vs {best:g})"
            cells.append(text)
        parts.append(f"gamma = {g:g}: " + "; ".join(cells) + f" -> s_ref = {best:g}")
    return (
        f"**Reference scale** (selection stage: {a['select_length']} length, seeds "
        f"{a['select_seeds']}, validation KID of N(0, {a['select_scale']:g}² I) samples, "
        "mean ± sd, paired change vs the selected scale): " + "; ".join(parts) + "."
    )


def _runtime(result):
    a, minutes = result["settings"], result.get("runtime_min", float("nan"))
    planned = len(a["datasets"]) * len(a["seeds"]) * len(a["gammas"]) * len(a["lengths"])
    n_sel = len(result.get("ref_selection", []))
    text = (
        f"**Runtime.** {minutes:.1f} min wall with {a['workers']} single-thread workers, "
        f"{len(result['runs'])} of {planned} models"
        + (f" and {n_sel} reference-scale selection models" if n_sel else "")
    )
    parts = result.get("runtime_parts", [])
    if len(parts) > 1:
        text += " (" + " + ".join(f"{p['min']:.1f} min" for p in parts) + " in resumed parts"
        work = sum(
            r["fit_s"] + r.get("eval_s", 0) for r in result["runs"] + result["ref_selection"]
        )
        work += sum(c["fit_s"] for cs in result.get("cnn", {}).values() for c in cs)
        work += sum(c["time_s"] for c in result.get("calibration", {}).values())
        n_sup = len(result.get("superseded_runs", []))
        text += (
            f"; the models in this report took {work / 60:.0f} core-min, about "
            f"{work / 60 / a['workers']:.0f} min on {a['workers']} workers from scratch if "
            f"perfectly packed; the rest went to the {n_sup} models that the selection "
            "superseded)"
        )
    if result.get("partial"):
        text += "; the run had not finished, so the <= 2 h goal is not yet decided."
    else:
        met = "met" if minutes <= GOAL_MIN else "missed"
        text += f"; the <= 2 h goal is {met}"
        text += " (a quick run; the goal is the full run's)." if result["mode"] == "quick" else "."
    rate = rates(result["runs"], result.get("cnn", {}))
    if rate.get("gamma0") and rate.get("gamma_pos"):
        text += (
            f" Fit time per image-epoch, gamma > 0 vs 0: {rate['gamma_pos'] / rate['gamma0']:.2f}x"
            + (" (shared CPU)." if a.get("shared_cpu") else ".")
        )
    return text


def _numbered(items, start):
    lines = []
    for i, (head, parts) in enumerate(items, start):
        lines.append(f"{i}. {head}")
        lines += [f"   - {p}" for p in parts]
    return lines


def findings(result):
    """Markdown lines of the Findings section (numbered statements per data set)."""
    from _images_report import KINDS, METRICS  # here: _images_report imports this module

    a, runs = result["settings"], result["runs"]
    scales = [f"{s:g}" for s in a["scales"]]
    lre_s = "3" if "3" in scales else scales[-1]
    lengths = [
        (n, f"{n} ({'main' if i == 0 else 'secondary'}; {t} images x {e} epochs)")
        for i, (n, t, e) in enumerate(result["lengths_used"])
    ]
    main = lengths[0][0] if lengths else "—"
    lines = [
        HEADING,
        "",
        "Generated from the result JSON by `benchmarks/_images_findings.py` with the functions "
        "behind the tables. Changes are gamma minus gamma = 0, paired per VAE seed, mean "
        "[95% t-interval]; better / worse (lower / higher) only where the interval excludes 0, "
        "otherwise not resolved. Lower FID, KID, LRE and SSE are better; higher ELBO, "
        f"precision, recall and confidence are better. The first length ({main}) is the main "
        "setting. Per-model ranges and the paired changes of LRE, ELBO, SSE and LRE / r² (and "
        "the KID change of a gamma that was not selected) are not in the tables: they come from "
        "the same per-model values with the same `paired`.",
        "",
    ]
    for ds in a["datasets"]:
        if not select(runs, ds):
            continue
        lengths = [
            (
                n,
                f"{n} ({'main' if i == 0 else 'secondary'}; {t} images x "
                f"{epochs_of(runs, ds, n, e)} epochs)",
            )
            for i, (n, t, e) in enumerate(result["lengths_used"])
        ]
        ref = _reference(result, ds)
        items = [
            *([(ref, [])] if ref else []),
            (_lre_density(result, ds, lre_s), []),
            (
                "**Low-density sample quality** (N(0, s² I) samples):",
                [_quality(result, ds, n, label, METRICS, KINDS, scales) for n, label in lengths],
            ),
            (
                "**Where the low-density claim holds** (holds = FID and KID better at s = 2 "
                "and 3):",
                [_where(result, ds, n) for n, _ in lengths],
            ),
            (
                "**In-distribution price**" + _plateau(result, ds) + ":",
                [_price(result, ds, n) for n, _ in lengths],
            ),
            ("**Morphing at matched spread:**", [_morph(result, ds, n) for n, _ in lengths]),
        ]
        lines += [f"### Findings: {ds}", "", *_numbered(items, 1), ""]
    start = 6 + any(r["dataset"] in a["datasets"] for r in result.get("ref_selection", []))
    return lines + ["### Findings: runtime", "", *_numbered([(_runtime(result), [])], start), ""]


def _toy(seeds):
    """A result with known numbers: gamma 0.3 vs 0 on one data set and one length."""

    def run(g, i):
        pick = lambda a, b: (b if g else a)[i]  # noqa: E731 (gamma 0 values, gamma 0.3 values)
        q = dict(
            fid=pick([100, 110], [80, 89]),  # -20 %, -19.1 %: better
            kid=pick([100, 100], [85, 108]),  # -15 %, +8 %: negative mean, not resolved
            precision=pick([0.5, 0.6], [0.4, 0.49]),  # -0.10, -0.11: worse
            recall=0.5,
            confidence=pick([0.5, 0.5], [0.6, 0.61]),  # better
        )
        return dict(
            dataset="toy", length="long", gamma=g, seed=i, n_train=100, epochs=5, fit_s=1.0,
            eval_s=1.0, elbo=pick([-100, -101], [-102, -103.1]), recon_sse=pick([10, 11], [11, 12]),
            lre={"1": 1.0, "2": 4.0, "3": pick([100, 100], [50, 51])}, lre_encoded_test=0.5,
            spearman_prior=-0.9, spearman_gmm=-0.95,
            samples={"test": {s: q for s in "123"}, "test_bin": {s: q for s in "123"},
                     "val": {"2": {"kid": pick([100, 100], [90, 90])}}},
            morph=dict(lre_interp=1.0, conf_interp=0.5, lre_extrap=pick([10, 10], [12, 12.1]),
                       lre_extrap_rel=1.0, conf_extrap=0.7),
        )  # fmt: skip

    settings = dict(datasets=["toy"], seeds=seeds, gammas=[0.0, 0.3], lengths=[["long"]],
                    scales=[1.0, 2.0, 3.0], select_scale=2.0, workers=2)  # fmt: skip
    runs = [run(g, i) for g in (0.0, 0.3) for i in seeds]
    return dict(mode="full", settings=settings, lengths_used=[["long", 100, 5]], runs=runs,
                runtime_min=130.0, partial=False, cnn={}, calibration={})  # fmt: skip


def _self_check():
    """Wording follows the interval (known numbers, 2 seeds); 1 seed gives n/a."""
    assert verdict((-1.0, -2.0, -0.5, 2)) == "better"
    assert verdict((-1.0, -2.0, 0.5, 2)) == "not resolved"  # negative mean, interval has 0
    assert verdict((1.0, 0.5, 2.0, 2), lower_is_good=False) == "better"
    assert verdict((-1.0, float("nan"), float("nan"), 1)) == "n/a (1 seed)"
    text = "\n".join(findings(_toy([0, 1])))
    for part in (
        "Means: FID s=1 -19.5 % [-25.3, -13.8] (better)",
        "; KID s=1 -3.5 % [-149.6, +142.6] (not resolved)",
        "precision -0.105 [-0.169, -0.041] (worse)",
        "confidence 0.105 [0.041, 0.169] (better)",
        "paired -2.0 [-2.7, -1.4] (worse)",
        "paired +1.00 [+1.00, +1.00] (worse)",
        "-49.5 % [-55.9, -43.1] (lower)",
        "Δ +2.05 [+1.41, +2.69] (higher)",
        "-> claim partly holds",
        "the <= 2 h goal is missed",
    ):
        assert part in text, part
    text = "\n".join(findings(_toy([0])))
    assert "[n/a (1 seed)]" in text and "(better)" not in text
    toy = _toy([0, 1])
    toy["settings"].update(select_length="short", select_seeds=[0, 1])
    kid = {(1.0, 0): 50, (1.0, 1): 60, (2.0, 0): 40, (2.0, 1): 44}  # s_ref 1: +25 %, +36 %
    toy["ref_selection"] = [
        dict(dataset="toy", gamma=0.3, seed=i, reference_scale=s, val={"kid": k}, elbo_val=-1.0)
        for (s, i), k in kid.items()
    ]
    text = "\n".join(findings(toy))
    assert "s_ref = 1 55 ± 7.071 (+30.7 % [-41.5, +102.9] (not resolved) vs 2)" in text, text
    assert "-> s_ref = 2." in text and "7. **Runtime.**" in text
    print("self-check passed")


if __name__ == "__main__":  # python benchmarks/_images_findings.py
    _self_check()
