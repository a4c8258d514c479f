"""Worker side of ``reproduce_images.py``: data splits, feature extractors, one model's
fit and evaluation. Every function here runs in a single-thread worker process
(``init_worker``); results are plain dicts / lists (JSON-able), arrays only for pictures.
"""

import pickle
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.datasets import load_mnist
from sklearn_lravae.metrics import (
    CNNFeatureExtractor,
    frechet_distance,
    kernel_inception_distance,
    mean_latent_reconstruction_error,
    precision_recall,
)

PROBE_SCALES = (0.5, 1.0, 2.0, 3.0)
T_INTERP = np.round(np.linspace(0.0, 1.0, 11), 3)
TAU = np.round(np.linspace(0.25, 2.0, 8), 3)  # extrapolation beyond an end, in spread units
PICTURE_T = np.round(np.linspace(-1.0, 2.0, 13), 3)
_CACHE = {}


def init_worker():
    """One torch / BLAS thread per process (models run side by side, one per core)."""
    torch.set_num_threads(1)
    threadpool_limits(1)


def splits(data_dir, name, n_val):
    """Train (60,000 - n_val), validation (n_val, from the train split) and test images."""
    key = ("data", str(data_dir), name, n_val)
    if key not in _CACHE:
        folder = Path(data_dir) / name
        X, y = load_mnist(folder, "train")
        X_test, y_test = load_mnist(folder, "test")
        perm = np.random.default_rng(0).permutation(len(X))
        val, train = perm[:n_val], perm[n_val:]
        _CACHE[key] = dict(
            X_train=X[train], y_train=y[train], X_val=X[val], X_test=X_test, y_test=y_test
        )
    return _CACHE[key]


def bernoulli(X, seed):
    """Binarise images by Bernoulli draws with the pixel intensities as probabilities."""
    rng = np.random.default_rng(seed)
    return (rng.random(X.shape) < X).astype(X.dtype)


def train_cnn(cfg, name, seed, path):
    """Fit one feature extractor (seed ``seed``) on the train split; pickle it to ``path``."""
    init_worker()
    d = splits(cfg["data_dir"], name, cfg["n_val"])
    t0 = time.perf_counter()
    idx = np.random.default_rng(1 + seed).permutation(len(d["X_train"]))[: cfg["cnn_train"]]
    cnn = CNNFeatureExtractor(max_epochs=cfg["cnn_epochs"], random_state=seed)
    cnn.fit(d["X_train"][idx], d["y_train"][idx])
    fit_s = time.perf_counter() - t0
    Path(path).write_bytes(pickle.dumps(cnn))
    n = cfg["n_fid"]
    test = np.random.default_rng(0).permutation(len(d["X_test"]))[:n]
    floor = quality(cnn, cnn.transform(d["X_test"][test]), d["X_val"][:n], cfg)
    return {
        "seed": seed,
        "accuracy": float(cnn.score(d["X_test"], d["y_test"])),
        "fit_s": fit_s,
        "rate": fit_s / (len(idx) * cfg["cnn_epochs"]),
        "floor": floor,
    }


def extractors(cfg, name, paths):
    """The pickled CNNs and their features of the real validation / test images (cached)."""
    key = ("cnn", name, tuple(paths))
    if key not in _CACHE:
        d = splits(cfg["data_dir"], name, cfg["n_val"])
        n = cfg["n_fid"]
        test = np.random.default_rng(0).permutation(len(d["X_test"]))[:n]
        real = {"val": d["X_val"][:n], "test": d["X_test"][test]}
        real["test_bin"] = bernoulli(real["test"], 3)
        cnns = [pickle.loads(Path(p).read_bytes()) for p in paths]
        feats = [{k: c.transform(v) for k, v in real.items()} for c in cnns]
        _CACHE[key] = (cnns, feats, real)
    return _CACHE[key]


def make_vae(cfg, gamma, seed, epochs, reference_scale=None):
    """The study's VAE; ``reference_scale`` defaults to ``cfg["reference_scale"]``."""
    return LRAVAETransformer(
        n_components=cfg["n_components"],
        gamma=gamma,
        reference=cfg["reference_scale"] if reference_scale is None else reference_scale,
        n_reference_samples=cfg.get("n_reference_samples", "auto"),
        likelihood="bernoulli",
        hidden_layer_sizes=tuple(cfg["hidden"]),
        max_epochs=epochs,
        batch_size=cfg["batch_size"],
        lr=cfg["lr"],
        flush_denormal=True,
        random_state=seed,
    )


def calibrate_epochs(cfg, name, n_train):
    """Held-out ELBO curve of the gamma = 0, seed 0 model; epochs until it plateaus.

    The rule mirrors the package's plateau rule (``tol`` relative to the first epoch):
    an epoch improves when its validation ELBO exceeds ``best + tol * |ELBO_1|``;
    training stops after ``patience`` epochs without improvement or at ``cap``
    epochs, and the main setting trains for the last improving epoch.
    """
    init_worker()
    d = splits(cfg["data_dir"], name, cfg["n_val"])
    X_train, X_val = d["X_train"][:n_train], d["X_val"][: cfg["n_eval"]]
    vae = make_vae(cfg, 0.0, 0, 1)
    t0, curve, best, best_epoch = time.perf_counter(), [], -np.inf, 0
    for epoch in range(1, cfg["calib_cap"] + 1):
        vae.fit(X_train) if epoch == 1 else vae.partial_fit(X_train, epochs=1)
        curve.append(float(vae.score(X_val)))
        print(f"  {name} calibration epoch {epoch}: validation ELBO {curve[-1]:.2f}", flush=True)
        if curve[-1] > best + cfg["calib_tol"] * abs(curve[0]):
            best, best_epoch = curve[-1], epoch
        elif epoch - best_epoch >= cfg["calib_patience"]:
            break
    return {
        "elbo_curve": curve,
        "epochs": best_epoch,
        "capped": best_epoch == cfg["calib_cap"],
        "time_s": time.perf_counter() - t0,
        "n_train": n_train,
    }


def quality(cnn, F_real, X_gen, cfg, pr=True):
    """FID, KID (mean over subsets), precision / recall and confidence of generated images."""
    F = cnn.transform(X_gen)
    n_kid = min(cfg["kid_subset"], len(F), len(F_real))
    out = {
        "fid": frechet_distance(F_real, F),
        "kid": kernel_inception_distance(F_real, F, n_kid, cfg["kid_subsets"], 0)[0],
        "confidence": float(proba_from_features(cnn, F).max(1).mean()),
    }
    if pr:
        n_pr = min(len(F), len(F_real), 2000)
        out["precision"], out["recall"] = precision_recall(F_real[:n_pr], F[:n_pr])
    return out


def proba_from_features(cnn, F):
    """Class probabilities from penultimate features (saves a second forward pass)."""
    with torch.no_grad():
        logits = cnn.module_.out(torch.as_tensor(F, dtype=torch.float32))
    return torch.softmax(logits, 1).numpy()


def _mean_over_extractors(per_ext):
    """{metric: mean} and {metric: sd over extractors} from a list of dicts."""
    keys = per_ext[0]
    mean = {k: float(np.mean([e[k] for e in per_ext])) for k in keys}
    sd = {
        k: float(np.std([e[k] for e in per_ext], ddof=1)) if len(per_ext) > 1 else 0.0 for k in keys
    }
    return {**mean, "ext_sd": sd}


def sample_study(vae, cnns, feats, cfg, seed):
    """Test (decoder means and Bernoulli-binarised) and validation quality per scale."""
    out = {"test": {}, "test_bin": {}, "val": {}}
    for s in cfg["scales"]:
        X = vae.sample(cfg["n_fid"], scale=s, random_state=1000 + seed)
        X_bin = bernoulli(X, 7 + seed)
        key = f"{s:g}"
        out["test"][key] = _mean_over_extractors(
            [quality(c, f["test"], X, cfg) for c, f in zip(cnns, feats)]
        )
        out["test_bin"][key] = _mean_over_extractors(
            [quality(c, f["test_bin"], X_bin, cfg) for c, f in zip(cnns, feats)]
        )
        if s == cfg["select_scale"]:  # validation: only what the gamma selection uses
            out["val"][key] = validation_quality(vae, cnns, feats, cfg, seed)
    return out


def validation_quality(vae, cnns, feats, cfg, seed):
    """FID / KID / confidence of fresh ``N(0, select_scale^2 I)`` draws vs validation images."""
    X_val = vae.sample(cfg["n_fid"], scale=cfg["select_scale"], random_state=5000 + seed)
    return _mean_over_extractors(
        [quality(c, f["val"], X_val, cfg, pr=False) for c, f in zip(cnns, feats)]
    )


def morph_study(vae, cnns, Z_a, Z_b, spread):
    """LRE and confidence along paths; extrapolation measured in units of the spread.

    Interpolation: ``z_a + t (z_b - z_a)``, t in [0, 1]. Extrapolation: ``z_b + tau r u``
    and ``z_a - tau r u`` with ``u`` the unit vector from z_a to z_b and ``r`` the model's
    spread (RMS distance of encoded test images from their mean), so that every model's
    paths reach the same distance relative to its encoded data. Also the raw-t path
    t in [-1, 2] of the earlier runs (its reach scales with the pair distance).
    """
    diff = Z_b - Z_a
    u = diff / np.linalg.norm(diff, axis=1, keepdims=True)
    inner = Z_a[:, None] + T_INTERP[None, :, None] * diff[:, None]
    after = Z_b[:, None] + TAU[None, :, None] * spread * u[:, None]
    before = Z_a[:, None] - TAU[None, :, None] * spread * u[:, None]
    raw_t = np.array([-1.0, -0.5, 1.5, 2.0])
    raw = Z_a[:, None] + raw_t[None, :, None] * diff[:, None]
    out = {}
    for key, P in (("interp", inner), ("extrap", np.concatenate([before, after], 1)), ("raw", raw)):
        flat = P.reshape(-1, P.shape[-1])
        lre = vae.latent_reconstruction_error(flat).reshape(P.shape[:2])
        X = vae.inverse_transform(flat)
        conf = np.mean([c.predict_proba(X).max(1) for c in cnns], 0).reshape(P.shape[:2])
        out[key] = (lre, conf)
    lre_e, conf_e = out["extrap"]
    k = len(TAU)
    return {
        "lre_interp": float(out["interp"][0].mean()),
        "conf_interp": float(out["interp"][1].mean()),
        "lre_extrap": float(lre_e.mean()),
        "conf_extrap": float(conf_e.mean()),
        "lre_extrap_rel": float(lre_e.mean() / spread**2),
        "lre_raw_extrap": float(out["raw"][0].mean()),
        "conf_raw_extrap": float(out["raw"][1].mean()),
        "pair_distance_rel": float(np.linalg.norm(diff, axis=1).mean() / spread),
        "lre_tau": ((lre_e[:, :k] + lre_e[:, k:]) / 2).mean(0).tolist(),
        "conf_tau": ((conf_e[:, :k] + conf_e[:, k:]) / 2).mean(0).tolist(),
        "lre_t": out["interp"][0].mean(0).tolist(),
        "conf_t": out["interp"][1].mean(0).tolist(),
    }


def density_study(vae, X_train, X_eval, cfg, seed):
    """Spearman(LRE, log prior / log GMM) on probe points; active units."""
    Z_train = vae.transform(X_train[:10000])
    n, d = cfg["n_probe"], cfg["n_components"]
    rng = np.random.default_rng(10_000 + seed)
    probes = [s * rng.standard_normal((n, d)) for s in PROBE_SCALES]
    Z = np.vstack([*probes, vae.transform(X_eval[:n])])
    lre = vae.latent_reconstruction_error(Z)
    gmm = GaussianMixture(10, covariance_type="full", random_state=seed).fit(Z_train)
    log_prior = -0.5 * (Z**2).sum(1)
    return {
        "active_units": int((Z_train.var(0) > 0.01).sum()),
        "spearman_prior": float(spearmanr(lre, log_prior).statistic),
        "spearman_gmm": float(spearmanr(lre, gmm.score_samples(Z)).statistic),
        "lre_encoded_test": float(lre[-n:].mean()),
    }


def fit_and_validate(cfg, name, n_train, epochs, gamma, seed, reference_scale, cnn_paths):
    """Reference-scale selection: fit one VAE, measure it on the validation split only."""
    init_worker()
    d = splits(cfg["data_dir"], name, cfg["n_val"])
    cnns, feats, _ = extractors(cfg, name, cnn_paths)
    vae = make_vae(cfg, gamma, seed, epochs, reference_scale)
    t0 = time.perf_counter()
    vae.fit(d["X_train"][:n_train])
    out = {"dataset": name, "gamma": gamma, "seed": seed, "reference_scale": reference_scale}
    out.update(n_train=n_train, epochs=epochs, fit_s=time.perf_counter() - t0)
    t0 = time.perf_counter()
    out["elbo_val"] = vae.score(d["X_val"][: cfg["n_eval"]])
    out["val"] = validation_quality(vae, cnns, feats, cfg, seed)
    out["eval_s"] = time.perf_counter() - t0
    return out


def fit_and_evaluate(
    cfg, name, length, n_train, epochs, gamma, seed, cnn_paths, pictures, reference_scale=None
):
    """Fit one VAE (single thread) and run every study on it; a JSON-able dict."""
    init_worker()
    d = splits(cfg["data_dir"], name, cfg["n_val"])
    cnns, feats, _ = extractors(cfg, name, cnn_paths)
    X_train = d["X_train"][:n_train]
    test_perm = np.random.default_rng(0).permutation(len(d["X_test"]))
    X_eval = d["X_test"][test_perm[: cfg["n_eval"]]]
    if reference_scale is None:
        reference_scale = cfg["reference_scale"]
    vae = make_vae(cfg, gamma, seed, epochs, reference_scale)
    t0 = time.perf_counter()
    vae.fit(X_train)
    run = {"dataset": name, "length": length, "gamma": gamma, "seed": seed}
    run.update(n_train=n_train, epochs=epochs, fit_s=time.perf_counter() - t0)
    run["reference_scale"] = reference_scale
    t0 = time.perf_counter()
    run["elbo"] = vae.score(X_eval)
    run["elbo_val"] = vae.score(d["X_val"][: cfg["n_eval"]])
    Z_eval = vae.transform(X_eval)
    rec = vae.inverse_transform(Z_eval)
    run["recon_sse"] = float(((rec - X_eval) ** 2).sum(1).mean())
    run["recon"] = _mean_over_extractors(
        [quality(c, f["test"], rec, cfg, pr=False) for c, f in zip(cnns, feats)]
    )
    spread = float(np.sqrt(((Z_eval - Z_eval.mean(0)) ** 2).sum(1).mean()))
    run["spread"] = spread
    run["lre"] = {
        f"{s:g}": mean_latent_reconstruction_error(vae, s, 2000, seed) for s in cfg["scales"]
    }
    run.update(density_study(vae, X_train, X_eval, cfg, seed))
    run["samples"] = sample_study(vae, cnns, feats, cfg, seed)
    pairs = _pairs(cfg, d["X_test"])
    Z_pairs = vae.transform(d["X_test"][pairs.ravel()]).reshape(cfg["n_pairs"], 2, -1)
    run["morph"] = morph_study(vae, cnns, Z_pairs[:, 0], Z_pairs[:, 1], spread)
    run["eval_s"] = time.perf_counter() - t0
    return run, (picture_data(vae, Z_pairs, cfg) if pictures else None)


def _pairs(cfg, X_test):
    return np.random.default_rng(5).choice(len(X_test), (cfg["n_pairs"], 2), replace=False)


def picture_data(vae, Z_pairs, cfg):
    """Decoded raw-t paths of the first 4 test pairs and 8 samples per scale."""
    Zp = Z_pairs[:4]
    path = Zp[:, 0][:, None] + PICTURE_T[None, :, None] * (Zp[:, 1] - Zp[:, 0])[:, None]
    X_path = vae.inverse_transform(path.reshape(-1, Zp.shape[-1]))
    return {
        "morph": X_path.reshape(len(Zp), len(PICTURE_T), -1),
        "samples": {s: vae.sample(8, scale=s, random_state=7) for s in cfg["scales"]},
    }


def fit_for_pictures(cfg, name, n_train, epochs, gamma, seed, reference_scale):
    """Refit one model (as :func:`fit_and_evaluate` does) for its pictures only.

    Returns its test ELBO (to check that the refit equals the stored model) and the
    picture data.
    """
    init_worker()
    d = splits(cfg["data_dir"], name, cfg["n_val"])
    test_perm = np.random.default_rng(0).permutation(len(d["X_test"]))
    vae = make_vae(cfg, gamma, seed, epochs, reference_scale)
    vae.fit(d["X_train"][:n_train])
    elbo = vae.score(d["X_test"][test_perm[: cfg["n_eval"]]])
    pairs = _pairs(cfg, d["X_test"])
    Z_pairs = vae.transform(d["X_test"][pairs.ravel()]).reshape(cfg["n_pairs"], 2, -1)
    return elbo, picture_data(vae, Z_pairs, cfg)
