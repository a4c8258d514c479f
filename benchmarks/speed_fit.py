"""Training speed of ``LRAVAETransformer.fit``: an independent PyTorch baseline, the LRE cost.

Three measurements, each its own mode (results accumulate in
``benchmarks/results/speed_fit.json``; ``--render`` writes the reports):

``--baseline``
    The fair protocol: every cell (package or plain loop, gamma, reference
    samples M) runs in a fresh Python process with torch threads pinned,
    ``--repeats`` times (interleaved), and is reported as median and range.
    The plain loop is written here from the equations -- its own ``nn.Module``
    of the same architecture (MLP 784-512-256-16, mirrored decoder), its own
    Bernoulli ELBO and LRE -- and imports nothing from ``sklearn_lravae``; it
    uses the same MNIST images, batch size (128), optimiser (Adam, lr 1e-3),
    threads and flush-denormal setting. A "fused" variant decodes the data's
    ``z`` and the reference ``z`` in one decoder call. Each cell also times a
    2048^3 float32 matmul, the machine's peak against which the achieved
    GFLOP/s of a training step are reported.
``--lre-curve {mnist,qm9}``
    Cost and effect of the number of reference samples per batch M in
    {8, 16, 32, 64, 128} (and gamma = 0): epoch time ratio to gamma = 0,
    held-out ELBO, mean LRE of reference samples N(0, 2^2 I) and of prior
    samples N(0, I), for ``--seeds`` seeds (interleaved). MNIST: Bernoulli,
    18,000 / 2,000 images. QM9: a SELFIES categorical VAE, 10,000 / 1,000
    molecules (also exact held-out reconstruction and the LRE of the hard,
    argmax decode).
``--lre-gamma``
    QM9 SELFIES VAE: can a larger gamma make up for fewer reference samples?
    (M, gamma) in :data:`M_GAMMA`, same columns as the curve.
``--step-ab``
    The package's training step (``net.train_step``) against the plain loop's in
    one process, alternating blocks on the same batches (gamma 0 and the default
    M): separates the step from the epoch loop and the process.
``--lre-decode``
    QM9 SELFIES VAE, ``lre_decode="mean"`` vs ``"auto"`` (straight-through
    argmax) at the default M and gamma: held-out exact reconstruction, LRE of
    decoded prior samples (argmax decode -> encode), held-out ELBO.

Usage (timed runs: on an otherwise idle machine; each block records the load
average before, during and after it, and the report says whether it was idle)::

    flock -x /tmp/lravae-cpu.lock python benchmarks/speed_fit.py --baseline
    flock -x /tmp/lravae-cpu.lock python benchmarks/speed_fit.py --lre-curve mnist
    flock -x /tmp/lravae-cpu.lock python benchmarks/speed_fit.py --lre-curve qm9
    flock -x /tmp/lravae-cpu.lock python benchmarks/speed_fit.py --lre-decode
    flock -x /tmp/lravae-cpu.lock python benchmarks/speed_fit.py --lre-gamma
    python benchmarks/speed_fit.py --render

Writes ``benchmarks/results/speed_fit.{json,md,png}`` and ``lre_decode.md``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _load import LoadMonitor, load_sentence
from torch import nn

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
JSON = RESULTS / "speed_fit.json"
MNIST_DIR = HERE.parent.parent / "shared/data/mnist"
M_GRID = (0, 8, 16, 32, 64, 128)
D, HIDDEN, BATCH, LR = 16, (512, 256), 128, 1e-3


# ----------------------------------------------------------------------------------------
# the independent baseline: module and loss written from the equations (no sklearn_lravae)
def mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class PlainVAE(nn.Module):
    def __init__(self, n_features=784, d=D, hidden=HIDDEN):
        super().__init__()
        self.d = d
        self.enc = mlp([n_features, *hidden, 2 * d])
        self.dec = mlp([d, *hidden[::-1], n_features])

    def encode(self, x):
        h = self.enc(x)
        return h[:, : self.d], h[:, self.d :]


def plain_loss(model, x, z_ref, gamma, fused):
    """-ELBO (Bernoulli, beta = 1) + gamma * mean ||z - enc_mu(sigmoid(dec(z)))||^2."""
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    if z_ref is not None and fused:
        logits, logits_ref = model.dec(torch.cat([z, z_ref])).split([len(z), len(z_ref)])
    else:
        logits = model.dec(z)
        logits_ref = model.dec(z_ref) if z_ref is not None else None
    nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(1)
    loss = (nll + kl).mean()
    if z_ref is not None:
        mu_ref, _ = model.encode(torch.sigmoid(logits_ref))
        loss = loss + gamma * (z_ref - mu_ref).pow(2).sum(1).mean()
    return loss


def plain_epochs(X, epochs, gamma, m_ref, fused, seed):
    torch.manual_seed(seed)
    model = PlainVAE(X.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.as_tensor(X)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            xb = Xt[perm[i : i + BATCH]]
            z_ref = 2.0 * torch.randn(m_ref, D) if gamma > 0 else None
            opt.zero_grad()
            plain_loss(model, xb, z_ref, gamma, fused).backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def step_flops(n_features, m_ref, gamma, batch=BATCH):
    """2 x multiply-adds of the Linear layers, forward + backward (x3)."""
    enc = [n_features, *HIDDEN, 2 * D]
    dec = [D, *HIDDEN[::-1], n_features]
    macs = lambda s: sum(a * b for a, b in zip(s[:-1], s[1:]))  # noqa: E731
    per_row = 6 * (macs(enc) + macs(dec))
    return per_row * (batch + (m_ref if gamma > 0 else 0))


def matmul_peak(n=2048, reps=8):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def load_mnist_copy(n):
    from sklearn_lravae.datasets import load_mnist

    X, _ = load_mnist(str(MNIST_DIR))
    return X[:n].astype(np.float32).copy()


def run_cell(spec):
    """One baseline cell, in its own process: seconds per epoch and the matmul peak."""
    torch.set_num_threads(spec["threads"])
    torch.set_flush_denormal(True)
    X = load_mnist_copy(spec["n"])
    epochs, gamma, m_ref = spec["epochs"], spec["gamma"], spec["m"]
    if spec["kind"] == "package":
        from sklearn_lravae import LRAVAETransformer

        kw = dict(likelihood="bernoulli", hidden_layer_sizes=HIDDEN, batch_size=BATCH, lr=LR)
        kw.update(flush_denormal=True, n_iter_no_change=None)
        LRAVAETransformer(D, max_epochs=1, **kw).fit(X[:256])  # warm-up
        start = time.perf_counter()
        vae = LRAVAETransformer(
            D, gamma=gamma, n_reference_samples=max(m_ref, 1), max_epochs=epochs,
            random_state=spec["seed"], **kw,
        ).fit(X)  # fmt: skip
        whole = (time.perf_counter() - start) / epochs
        epoch_times = [h["dur"] for h in vae.net_.history]
        torch.set_flush_denormal(True)
    else:
        plain_epochs(X[:256], 1, gamma, m_ref, False, 0)  # warm-up
        epoch_times = plain_epochs(X, epochs, gamma, m_ref, spec["kind"] == "plain_fused", 0)
        whole = statistics.mean(epoch_times)
    return {
        "epoch_s": statistics.median(epoch_times),
        "whole_s": whole,
        "steps": int(np.ceil(len(X) / BATCH)),
        "flops_step": step_flops(X.shape[1], m_ref, gamma),
        "peak_gflops": matmul_peak(),
        "threads": torch.get_num_threads(),
    }


def baseline(args):
    default_m = _default_m("bernoulli")
    cells = [("package", 0.0, 0), ("plain", 0.0, 0)]
    kinds = ("package", "plain", "plain_fused") if args.fused else ("package", "plain")
    for m in sorted({default_m, 128}):
        cells += [(kind, 0.1, m) for kind in kinds]
    epochs = args.epochs or 3
    out = {"cells": {}, "default_m": default_m, "repeats": args.repeats, "epochs": epochs}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": "1"}
    for rep in range(args.repeats):
        for kind, gamma, m in cells:
            spec = dict(kind=kind, gamma=gamma, m=m, seed=rep, epochs=epochs, n=20000)
            spec["threads"] = args.threads
            proc = subprocess.run(
                [sys.executable, __file__, "--cell", json.dumps(spec)],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            out["cells"].setdefault(f"{kind}|{gamma:g}|{m}", []).append(res)
            print(f"rep {rep} {kind} gamma={gamma:g} M={m}: {res['epoch_s']:.3f} s/epoch, "
                  f"peak {res['peak_gflops']:.0f} GFLOP/s", flush=True)  # fmt: skip
    return out


def fused_ab(args, blocks=30, steps=20):
    """Fused vs two decoder calls, plain loop, in alternating blocks of ``steps`` steps."""
    torch.set_flush_denormal(True)
    X = torch.as_tensor(load_mnist_copy(20000))
    out = {"blocks": blocks, "steps": steps, "ratios": {}}
    for m in (32, 128):
        torch.manual_seed(0)
        model = PlainVAE()
        opt = torch.optim.Adam(model.parameters(), lr=LR)

        def run(batches, fused, m=m, model=model, opt=opt):
            for i in batches:
                opt.zero_grad()
                plain_loss(model, X[i], 2.0 * torch.randn(m, D), 0.1, fused).backward()
                opt.step()

        ratios = _block_ratios(
            lambda b: run(b, True), lambda b: run(b, False), len(X), blocks, steps
        )
        out["ratios"][str(m)] = ratios
        print(f"M={m}: fused / two calls {statistics.median(ratios):.3f}", flush=True)
    return out


def _block_ratios(first, second, n_rows, blocks, steps):
    """Time ``first`` / ``second`` on the same random batches, in alternating order.

    Each takes a list of ``steps`` batch indices; block 0 is a warm-up.
    Returns one time ratio per block (paired, so load changes cancel).
    """
    ratios = []
    for b in range(blocks + 1):
        batches = [torch.randint(n_rows, (BATCH,)) for _ in range(steps)]
        t = {}
        for name, fn in (("first", first), ("second", second))[:: 1 if b % 2 else -1]:
            start = time.perf_counter()
            fn(batches)
            t[name] = time.perf_counter() - start
        if b:
            ratios.append(t["first"] / t["second"])
    return ratios


def step_ab(args, blocks=20, steps=40):
    """The package's training step (``net.train_step``) vs the plain loop's, in one process.

    Alternating blocks of ``steps`` steps on the same random batches (paired, so
    load changes cancel): isolates the step from the epoch loop and the process.
    """
    torch.set_flush_denormal(True)
    X = load_mnist_copy(20000)
    out = {"blocks": blocks, "steps": steps, "ratios": {}}
    for m in (0, _default_m("bernoulli")):
        gamma = 0.1 if m else 0.0
        ratios = _step_ratios(X, gamma, m, blocks, steps)
        out["ratios"][f"{gamma:g}|{m}"] = ratios
        print(f"gamma={gamma:g} M={m}: package step / plain step {statistics.median(ratios):.3f}")
    return out


def _step_ratios(X, gamma, m, blocks, steps):
    from sklearn_lravae import LRAVAETransformer

    kw = dict(likelihood="bernoulli", hidden_layer_sizes=HIDDEN, batch_size=BATCH, lr=LR)
    net = LRAVAETransformer(
        D, gamma=gamma, n_reference_samples=max(m, 1), max_epochs=1, random_state=0,
        flush_denormal=True, n_iter_no_change=None, **kw,
    ).fit(X[:512]).net_  # fmt: skip
    torch.set_flush_denormal(True)  # fit switched it off again
    torch.manual_seed(0)
    model = PlainVAE(X.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.as_tensor(X)

    def package(batches):
        for i in batches:
            net.train_step((Xt[i], torch.zeros(0)))

    def plain(batches):
        for i in batches:
            z_ref = 2.0 * torch.randn(m, D) if gamma > 0 else None
            opt.zero_grad()
            plain_loss(model, Xt[i], z_ref, gamma, False).backward()
            opt.step()

    return _block_ratios(package, plain, len(Xt), blocks, steps)


# ----------------------------------------------------------------------------------------
# the cost/effect curve of the number of reference samples, and lre_decode
def qm9_data(n_train=10000, n_test=1000, seed=0):
    from sklearn_lravae.chem import SelfiesVectorizer
    from sklearn_lravae.datasets import load_qm9

    smiles = load_qm9()
    perm = np.random.RandomState(seed).permutation(len(smiles))
    test, train = smiles[perm[:n_test]], smiles[perm[n_test : n_test + n_train]]
    vec = SelfiesVectorizer()
    X_train = vec.fit_transform(train)
    test_vec = SelfiesVectorizer(
        alphabet=vec.alphabet_.tolist(), max_length=vec.n_positions_,
        on_error="drop", on_long="drop",
    ).fit(train[:10])  # fmt: skip
    return X_train.astype(np.float32), test_vec.transform(test).astype(np.float32)


def dataset(name):
    if name == "mnist":
        X = load_mnist_copy(20000)
        return X[:-2000], X[-2000:], dict(likelihood="bernoulli", n_components=D)
    X_train, X_test = qm9_data()
    return X_train, X_test, dict(likelihood="categorical", n_components=32)


def quality_cell(X, X_test, kw, m_ref, seed, epochs, lre_decode="auto", gamma=0.1):
    from sklearn_lravae import LRAVAETransformer

    vae = LRAVAETransformer(
        kw["n_components"], likelihood=kw["likelihood"], batch_size=BATCH,
        gamma=gamma if m_ref else 0.0, n_reference_samples=max(m_ref, 1),
        lre_decode=lre_decode, max_epochs=epochs, n_iter_no_change=None,
        flush_denormal=True, random_state=seed,
    ).fit(X)  # fmt: skip
    rng = np.random.RandomState(1000)
    Z_ref = rng.normal(0, 2, (2000, kw["n_components"]))
    Z_prior = rng.normal(0, 1, (2000, kw["n_components"]))
    res = {"epoch_s": statistics.median(h["dur"] for h in vae.net_.history)}
    res["elbo"] = float(vae.score(X_test))
    for name, Z in (("ref", Z_ref), ("prior", Z_prior)):
        for decode in ("mean", "mode"):
            res[f"lre_{name}_{decode}"] = float(np.mean(vae.latent_reconstruction_error(Z, decode)))
    if kw["likelihood"] == "categorical":
        rec = vae.inverse_transform(vae.transform(X_test), decode="mode")
        res["exact_recon"] = float(np.mean(np.all(rec == X_test, axis=1)))
    return res


def lre_curve(args):
    X, X_test, kw = dataset(args.lre_curve)
    epochs = args.epochs or (10 if args.lre_curve == "mnist" else 30)
    out = {"epochs": epochs, "n_train": len(X), "n_test": len(X_test), "cells": {}}
    for seed in range(args.seeds):
        for m in M_GRID:
            res = quality_cell(X, X_test, kw, m, seed, epochs)
            out["cells"].setdefault(str(m), []).append(res)
            print(f"seed {seed} M={m}: {json.dumps(res)}", flush=True)
    return out


#: (M, gamma) cells of ``--lre-gamma``: can a larger gamma make up for fewer reference samples?
M_GAMMA = ((0, 0.0), (32, 0.1), (32, 0.2), (32, 0.4), (128, 0.1))


def lre_gamma(args):
    X, X_test, kw = dataset("qm9")
    epochs = args.epochs or 30
    out = {"epochs": epochs, "n_train": len(X), "n_test": len(X_test), "cells": {}}
    for seed in range(args.seeds):
        for m, gamma in M_GAMMA:
            res = quality_cell(X, X_test, kw, m, seed, epochs, gamma=gamma)
            out["cells"].setdefault(f"{m}|{gamma:g}", []).append(res)
            print(f"seed {seed} M={m} gamma={gamma:g}: {json.dumps(res)}", flush=True)
    return out


def lre_decode(args):
    X, X_test, kw = dataset("qm9")
    epochs, m = args.epochs or 30, _default_m("categorical")
    out = {"epochs": epochs, "m": m, "n_train": len(X), "n_test": len(X_test), "cells": {}}
    for seed in range(args.seeds):
        for mode in ("mean", "auto"):
            res = quality_cell(X, X_test, kw, m, seed, epochs, lre_decode=mode)
            out["cells"].setdefault(mode, []).append(res)
            print(f"seed {seed} lre_decode={mode}: {json.dumps(res)}", flush=True)
    return out


def _default_m(likelihood):
    """The default ``n_reference_samples`` ("auto") for ``likelihood``."""
    from sklearn_lravae._transformer_params import AUTO_N_REFERENCE_SAMPLES as AUTO

    return AUTO.get(likelihood, AUTO["default"])


# ----------------------------------------------------------------------------------------
# reports
def _med(values):
    """'median [min, max]' of a list."""
    return statistics.median(values), min(values), max(values)


def _fmt(values, digits=2, suffix=""):
    m, lo, hi = _med(values)
    return f"{m:.{digits}f}{suffix} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _stamp(block):
    head = f"Run {block['date']} on {block['machine']}."
    return f"{head} {load_sentence(block, block.get('threads', 2))}"


def render_baseline(b):
    cells = b["cells"]
    t = {k: [r["epoch_s"] for r in v] for k, v in cells.items()}
    peak = [r["peak_gflops"] for v in cells.values() for r in v]
    m = b["default_m"]
    ratio = lambda a, c: [x / y for x, y in zip(t[a], t[c])]  # noqa: E731 (paired by repeat)
    lines = [
        "## Package vs an independent plain-PyTorch loop (fair protocol)",
        "",
        _stamp(b),
        "",
        f"MNIST, 20,000 images (a copy), MLP 784-512-256-16 (mirrored decoder), Bernoulli, batch "
        f"{BATCH}, Adam lr {LR}, {b.get('epochs', 2)} epochs per cell (median epoch time), "
        f"{cells['plain|0|0'][0]['threads']} torch thread(s), flush-denormal on; each cell a "
        f"fresh process, {b['repeats']} interleaved repeats: median [min, max]. "
        "The plain loop has its own module and loss (written from "
        "the equations in this file, nothing imported from `sklearn_lravae`).",
        "",
        "| cell | s/epoch | vs plain loop (same gamma, M) | GFLOP/s | % of matmul peak |",
        "| --- | --- | --- | --- | --- |",
    ]
    peak_med = statistics.median(peak)
    for key in cells:
        kind, gamma, mm = key.split("|")
        r0 = cells[key][0]
        gf = [r0["flops_step"] * r0["steps"] / x / 1e9 for x in t[key]]
        plain = f"plain|{gamma}|{mm}"
        vs = _fmt(ratio(key, plain), suffix="x") if kind != "plain" else "1"
        name = f"{kind}, gamma {gamma}" + (f", M {mm}" if gamma != "0" else "")
        lines.append(
            f"| {name} | {_fmt(t[key], 3)} | {vs} | {_fmt(gf, 1)} | "
            f"{100 * statistics.median(gf) / peak_med:.0f}% |"
        )
    lines += [
        "",
        f"- float32 matmul 2048^3, measured in every cell: {_fmt(peak, 0)} GFLOP/s.",
        f"- Package vs plain loop, gamma 0 (paired by repeat): "
        f"{_ci(ratio('package|0|0', 'plain|0|0'))} (goal <= 1.05x).",
        f"- LRE cost at the default M = {m} (epoch time gamma 0.1 / gamma 0, paired by repeat): "
        f"package {_ci(ratio(f'package|0.1|{m}', 'package|0|0'))}, plain loop "
        f"{_ci(ratio(f'plain|0.1|{m}', 'plain|0|0'))} (goal <= 1.3x).",
        "- At M = 128 (the categorical default): package "
        f"{_ci(ratio('package|0.1|128', 'package|0|0'))}, plain "
        f"{_ci(ratio('plain|0.1|128', 'plain|0|0'))}.",
    ]
    if f"plain_fused|0.1|{m}" in cells:
        lines.append(
            "- Fused decode (data z and reference z in one decoder call) vs two calls, plain "
            f"loop, fresh processes: M = {m}: "
            f"{_fmt(ratio(f'plain_fused|0.1|{m}', f'plain|0.1|{m}'), 3, 'x')}; M = 128: "
            f"{_fmt(ratio('plain_fused|0.1|128', 'plain|0.1|128'), 3, 'x')}."
        )
    lines += [
        *_step_ab_line(b.get("step_ab")),
        *_fused_ab_line(b),
        "- Ratios: median of the per-repeat ratios with a 95% bootstrap interval of that median "
        "in brackets (2,000 resamples of the repeats).",
        "- GFLOP/s count the Linear layers only (2 x multiply-adds, x3 for forward + backward).",
    ]
    return lines


def _ci(ratios, n_boot=2000, seed=0):
    """'median [lo, hi]x': the median ratio and a percentile-bootstrap 95% interval of it."""
    r = np.asarray(ratios, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(r), (n_boot, len(r)))
    lo, hi = np.percentile(np.median(r[idx], axis=1), [2.5, 97.5])
    return f"{np.median(r):.3f}x [{lo:.3f}, {hi:.3f}]"


def _step_ab_line(ab):
    if not ab:
        return []
    parts = []
    for key, r in ab["ratios"].items():
        gamma, m = key.split("|")
        parts.append(f"gamma {gamma}{f', M {m}' if gamma != '0' else ''}: {_ci(r)}")
    return [
        f"- The training step alone (`net.train_step` vs the plain loop's step, one process, "
        f"{ab['blocks']} alternating blocks of {ab['steps']} steps on the same batches, paired; "
        f"{ab['date']}): " + "; ".join(parts) + "."
    ]


def _fused_ab_line(b):
    ab = b.get("fused_ab")
    if not ab:
        return []
    parts = [f"M = {m}: {_fmt(r, 3, 'x')}" for m, r in ab["ratios"].items()]
    return [
        f"- Fused vs two decoder calls in one process, plain loop, {ab['blocks']} alternating "
        f"blocks of {ab['steps']} steps (paired, so load changes cancel): " + "; ".join(parts) + "."
    ]


CURVE_COLS = (
    ("elbo", "held-out ELBO"),
    ("lre_ref_mean", "LRE N(0,4I), mean decode"),
    ("lre_ref_mode", "LRE N(0,4I), mode decode"),
    ("lre_prior_mean", "LRE N(0,I), mean decode"),
    ("lre_prior_mode", "LRE N(0,I), mode decode"),
    ("exact_recon", "held-out exact recon."),
)


def curve_table(c, base_key="0", label=None):
    cells = c["cells"]
    base = [r["epoch_s"] for r in cells[base_key]]
    cols = [(k, n) for k, n in CURVE_COLS if k in cells[base_key][0]]
    label = label or (lambda m: m if m != "0" else "0 (gamma 0)")
    lines = [
        f"| {'M' if base_key == '0' else 'M, gamma'} | s/epoch | cost vs gamma 0 | "
        + " | ".join(n for _, n in cols)
        + " |",
        "| --- " * (3 + len(cols)) + "|",
    ]
    for m, rows in cells.items():
        ratio = [r["epoch_s"] / b for r, b in zip(rows, base)]
        vals = [_fmt([r[k] for r in rows], 3 if k == "exact_recon" else 2) for k, _ in cols]
        lines.append(
            f"| {label(m)} | {_fmt([r['epoch_s'] for r in rows], 3)} | {_fmt(ratio, suffix='x')} | "
            + " | ".join(vals)
            + " |"
        )
    return lines


def plot_curves(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in ("curve_mnist", "curve_qm9") if k in data]
    fig, axes = plt.subplots(len(names), 3, figsize=(12, 3.3 * len(names)), squeeze=False)
    for ax_row, name in zip(axes, names):
        cells = data[name]["cells"]
        ms = [int(m) for m in cells if m != "0"]
        base = [r["epoch_s"] for r in cells["0"]]
        for ax, key, label in zip(
            ax_row,
            ("cost", "lre_ref_mode", "elbo"),
            ("epoch time / gamma 0", "mean LRE of N(0, 4I) (mode decode)", "held-out ELBO"),
        ):
            vals = []
            for m in ms:
                rows = cells[str(m)]
                v = [r["epoch_s"] / b for r, b in zip(rows, base)] if key == "cost" else None
                vals.append(_med(v or [r[key] for r in rows]))
            med = np.array([v[0] for v in vals])
            err = np.abs(np.array([[v[1], v[2]] for v in vals]).T - med)
            ax.errorbar(ms, med, yerr=err, fmt="o-", capsize=3, label="gamma 0.1")
            if key != "cost":
                g0 = _med([r[key] for r in cells["0"]])
                ax.axhspan(g0[1], g0[2], color="grey", alpha=0.2, label="gamma 0 (range)")
            else:
                ax.axhline(1.3, color="grey", ls=":", label="goal 1.3x")
            ax.set(xscale="log", xlabel="reference samples per batch M", ylabel=label)
            ax.set_xticks(ms, [str(m) for m in ms])
            ax.set_title(name.replace("curve_", "").upper(), fontsize=9)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def render_lre_decode(d):
    cells = d["cells"]
    keys = [k for k in ("exact_recon", "lre_prior_mode", "lre_ref_mode", "lre_prior_mean",
                        "elbo", "epoch_s") if k in cells["mean"][0]]  # fmt: skip
    lines = [
        "# LRE through the discrete decode: `lre_decode` on a QM9 SELFIES VAE",
        "",
        _stamp(d),
        "",
        f"QM9, {d['n_train']} training / {d['n_test']} held-out molecules (one-hot SELFIES), "
        f"`LRAVAETransformer(32, likelihood='categorical')` defaults (beta 0.01, MLP 512-256, "
        f"gamma 0.1, M = {d['m']}), {d['epochs']} epochs, {len(cells['mean'])} seeds: median "
        "[min, max]. 'mode decode' LRE: argmax decode of the latent point, one-hot, encode "
        "(codec style: what an evaluated molecule really encodes to).",
        "",
        "| lre_decode | " + " | ".join(keys) + " |",
        "| --- " * (1 + len(keys)) + "|",
    ]
    for mode, rows in cells.items():
        label = mode + (" (straight-through)" if mode == "auto" else "")
        vals = [_fmt([r[k] for r in rows], 3) for k in keys]
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    return lines


def render(data):
    lines = ["# Training speed: package vs a plain PyTorch loop, and the price of the LRE term", ""]
    if "baseline" in data:
        base = {**data["baseline"], **{k: data.get(k) for k in ("fused_ab", "step_ab")}}
        lines += render_baseline(base) + [""]
    for name, title in (("curve_mnist", "MNIST (Bernoulli)"), ("curve_qm9", "QM9 SELFIES")):
        if name in data:
            c = data[name]
            lines += [
                f"## Reference samples per batch M: cost and effect, {title}",
                "",
                _stamp(c),
                "",
                f"{c['n_train']} training / {c['n_test']} held-out rows, {c['epochs']} epochs, "
                f"gamma 0.1 (0 in the first row), batch {BATCH}, {len(c['cells']['0'])} seeds "
                "(interleaved): median [min, max]; cost = epoch time / the same seed's gamma 0 "
                "epoch time (skorch epoch durations, one process).",
                "",
                *curve_table(c),
                "",
            ]
    if "lre_gamma" in data:
        c = data["lre_gamma"]
        lines += [
            "## Fewer reference samples, larger gamma? QM9 SELFIES",
            "",
            _stamp(c),
            "",
            f"As the QM9 curve above ({c['n_train']} / {c['n_test']} molecules, {c['epochs']} "
            f"epochs, batch {BATCH}, {len(c['cells']['0|0'])} seeds, interleaved), for pairs "
            "(M, gamma): does M = 32 with a larger gamma give the LRE and reconstruction of "
            "M = 128, gamma 0.1, at the cost of M = 32? Cost = epoch time / the same seed's "
            "gamma 0 epoch time.",
            "",
            *curve_table(c, "0|0", lambda k: "0 (gamma 0)" if k == "0|0" else k.replace("|", ", ")),
            "",
        ]
    if "curve_mnist" in data or "curve_qm9" in data:
        plot_curves(data, RESULTS / "speed_fit.png")
        lines += ["![cost and effect of M](speed_fit.png)", ""]
    discussion = RESULTS / "speed_fit.discussion.md"
    if discussion.exists():
        lines += [discussion.read_text()]
    (RESULTS / "speed_fit.md").write_text("\n".join(lines) + "\n")
    if "lre_decode" in data:
        text = "\n".join(render_lre_decode(data["lre_decode"])) + "\n"
        extra = RESULTS / "lre_decode.discussion.md"
        text += ("\n" + extra.read_text()) if extra.exists() else ""
        (RESULTS / "lre_decode.md").write_text(text)
    print("wrote", RESULTS / "speed_fit.md")


# ----------------------------------------------------------------------------------------
def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", action="store_true")
    p.add_argument("--lre-curve", choices=["mnist", "qm9"])
    p.add_argument("--lre-decode", action="store_true")
    p.add_argument("--lre-gamma", action="store_true")
    p.add_argument("--fused-ab", action="store_true")
    p.add_argument("--step-ab", action="store_true")
    p.add_argument("--render", action="store_true")
    p.add_argument("--cell", help=argparse.SUPPRESS)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--fused", action="store_true", help="also time the fused-decode plain loop")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.cell:
        print(json.dumps(run_cell(json.loads(args.cell))))
        return
    torch.set_num_threads(args.threads)
    data = json.loads(JSON.read_text()) if JSON.exists() else {}
    stamp = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": args.threads,
    }
    for flag, key, fn in (
        (args.baseline, "baseline", baseline),
        (args.lre_curve, f"curve_{args.lre_curve}", lre_curve),
        (args.lre_decode, "lre_decode", lre_decode),
        (args.lre_gamma, "lre_gamma", lre_gamma),
        (args.fused_ab, "fused_ab", fused_ab),
        (args.step_ab, "step_ab", step_ab),
    ):
        if flag:
            monitor = LoadMonitor().start()
            result = fn(args)
            data[key] = {**stamp, **result, **monitor.stop()}
            JSON.write_text(json.dumps(data, indent=1))
            print(f"wrote {JSON}")
    modes = (args.baseline, args.lre_curve, args.lre_decode, args.lre_gamma, args.fused_ab)
    modes += (args.step_ab,)
    if args.render or not any(modes):
        render(data)


if __name__ == "__main__":
    main()
