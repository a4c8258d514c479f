"""Methods of the LSBO molecule benchmark (``lsbo_molecules.py``).

Every method gets the same initial molecules (SMILES with known values, which
are free), proposes ``budget`` new molecules and returns them in the order they
were proposed with their values (duplicates are proposals too: they use a slot
of the budget). ``run_method(name, ctx)`` dispatches on the name; ``ctx`` holds
the task's objective, the initial molecules, the VAEs and the settings.
"""

import functools
import random
import warnings

import numpy as np

from sklearn_lravae import LatentBayesSearch
from sklearn_lravae.chem import molecule_features, morgan_fingerprints
from sklearn_lravae.chem._smiles import rdkit_quiet
from sklearn_lravae.search import TanimotoGP

METHODS = {
    "screening": "best of N unlabelled training molecules (random order)",
    "prior-g0": "decode N(0, I) samples of the gamma = 0 VAE",
    "prior-lra": "decode N(0, I) samples of the gamma > 0 VAE",
    "random-box": "decode uniform samples of the search box (gamma = 0 VAE)",
    "lsbo-fixed": "GP + EI in the box, gamma = 0 VAE, no retraining",
    "lsbo-tripp": "GP + EI, gamma = 0 VAE retrained with rank weights (k = 1e-3)",
    "lra-lsbo": "GP + EI, gamma > 0 VAE retrained with rank weights and the LRE "
    "reference on the queries",
    "lra-lsbo-filter": "lra-lsbo + consistency filter (LRE threshold)",
    "tr-fixed": "trust region + Thompson sampling + recoordination, gamma > 0 VAE, no retraining",
    "tr-lra": "trust region + Thompson sampling + recoordination, gamma > 0 VAE, "
    "LRA retraining with rank weights",
    "tr-inv": "tr-fixed with decoder inversion (InvBO) instead of recoordination",
    "tr-inv-best-g0": "tr-inv, gamma = 0 VAE retrained (rank weights) every 50 and at each "
    "new best",
    "tr-inv-best-lra": "tr-inv, gamma > 0 VAE, LRA retraining (rank weights) every 50 and at each "
    "new best",
    "tr-pool": "tr-inv whose Thompson draw also ranks the screening pool's unevaluated "
    "molecules (train_candidates: pool-based BO on the same library as screening)",
    "tr-pool-lra": "tr-pool with LRA retraining (rank weights) every 50 and at each new best",
    "tr-pool-ml": "tr-pool with the maximum-likelihood GP fit (surrogate='GP-ML'; an ablation of "
    "the default MAP fit)",
    "tr-fp": "tr-inv whose Thompson draw ranks the region's decoded molecules with a "
    "Tanimoto GP on their Morgan fingerprints (surrogate=TanimotoGP(features="
    "morgan_fingerprints)); decodes already evaluated are skipped",
    "tr-pool-fp": "tr-pool with the Tanimoto GP on fingerprints (decodes and library "
    "molecules ranked by what they are)",
    "tr-fp-offset": "tr-fp with the GP's source offset (source_variance=1: decodes against "
    "the initial molecules)",
    "tr-pool-fp-offset": "tr-pool-fp with the source offset (decodes against library and "
    "initial molecules)",
    "tr-fpc": "tr-fp on Morgan count fingerprints (counts=True)",
    "tr-pool-fpc": "tr-pool-fp on Morgan count fingerprints (counts=True)",
    "tr-mf": "tr-fp on molecule_features (Morgan counts + physicochemical counts)",
    "tr-pool-mf": "tr-pool-fp on molecule_features (Morgan counts + physicochemical counts)",
    "tr-pool-mf-offset": "tr-pool-mf with the source offset (source_variance=1)",
    "tr-pool-mf-cr": "tr-pool-mf, the trust region credited with its own (decoded) proposals "
    "only (library picks raise its reference level; package default since session 10)",
    "tr-pool-mf-small": "tr-pool-mf-cr with a smaller initial trust region (length_init=0.2, "
    "the default with an object surrogate since session 10): the recommended configuration",
    "tr-pool-mf-mid": "tr-pool-mf-cr with trust_region_kwargs=dict(length_init=0.4)",
    "tr-pool-mf-small-lra": "tr-pool-mf-small with LRA retraining of the gamma > 0 VAE (rank "
    "weights, reference on the queries) every 50 and at each new best",
    "tr-pool-mf-small-g0": "tr-pool-mf-small on the gamma = 0 VAE (no LRA term anywhere)",
    "tr-mf-small": "tr-mf with the object-surrogate default region (length_init=0.2): decodes "
    "only, no library",
    "tr-pool-fp-bug": "tr-pool-fp with source_variance=1 and a labelling bug of the first "
    "version (every molecule the search evaluated, library picks included, was counted as a "
    "decode); fixed since, kept for the record, cannot be rerun",
    "ga-feasible": "mol-ga held to the decoder's feasible set (infeasible score 0)",
    "ga": "mol-ga, unrestricted",
}
# the methods whose surrogate is a Tanimoto GP on the decoded molecules (run_method)
OBJECT_GP_METHODS = (
    "tr-fp",
    "tr-pool-fp",
    "tr-fp-offset",
    "tr-pool-fp-offset",
    "tr-fpc",
    "tr-pool-fpc",
    "tr-mf",
    "tr-pool-mf",
    "tr-pool-mf-offset",
    "tr-pool-mf-cr",
    "tr-pool-mf-small",
    "tr-pool-mf-mid",
    "tr-pool-mf-small-lra",
    "tr-pool-mf-small-g0",
    "tr-mf-small",
)
LATENT_METHODS = {
    "lsbo-fixed",
    "lsbo-tripp",
    "lra-lsbo",
    "lra-lsbo-filter",
    "tr-fixed",
    "tr-lra",
    "tr-inv",
    "tr-inv-best-g0",
    "tr-inv-best-lra",
    "tr-pool",
    "tr-pool-lra",
    "tr-pool-ml",
    "tr-pool-fp-bug",
    *OBJECT_GP_METHODS,
}


class _Budget(Exception):
    pass


def _search(ctx, vae, seed, train_objects=None, **kw):
    cfg = ctx["cfg"]
    train_objects = ctx["train_subset"] if train_objects is None else train_objects
    kw.setdefault("retrain_every", None)  # a fixed VAE unless the method retrains
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = LatentBayesSearch(
            vae,
            ctx["objective"],
            vectorized=True,
            n_calls=cfg["budget"],
            batch_size=cfg["batch"],
            acq_optimizer="sampling",
            on_all_failed="ignore",
            random_state=seed,
            **kw,
        ).fit(ctx["init"], ctx["y0"], train_objects=train_objects)
    hist = s.history_
    return dict(
        smiles=[h["object"] for h in hist],
        values=[h["value"] for h in hist],
        lre=[h["lre"] for h in hist],
        n_retrain=int(s.n_retrain_rounds_),
        n_rejected=int(getattr(s, "n_rejected_", 0)),
        n_inverted=int(s.n_inverted_),
    )


def _decode(ctx, vae, Z):
    vec, model = vae[0], vae[-1]
    smiles = list(vec.inverse_transform(model.inverse_transform(Z, decode="mode")))
    with rdkit_quiet():
        values = np.asarray(ctx["objective"](smiles), dtype=float)
    lre = model.latent_reconstruction_error(Z, decode="mode")
    return dict(smiles=smiles, values=values.tolist(), lre=lre.tolist())


def _box(ctx, vae):
    from sklearn_lravae.search._space import data_box

    return data_box(vae.transform(list(ctx["init"]) + list(ctx["train_subset"])))


def _ga(ctx, seed, feasible):
    from mol_ga import default_ga

    cfg, objective = ctx["cfg"], ctx["objective"]
    known = dict(zip(ctx["init"], ctx["y0"]))
    out_s, out_v, n_infeasible = [], [], [0]
    check = ctx["feasible"] if feasible else None

    def scoring(smiles):
        smiles = list(smiles)
        if all(s in known for s in smiles):  # the starting population: free
            return [known[s] for s in smiles]
        new = [s for s in smiles if s not in known]
        room = cfg["budget"] - len(out_s)
        new = new[:room]
        with rdkit_quiet():
            ok = check(new) if check is not None else np.ones(len(new), bool)
            v = np.zeros(len(new))
            if ok.any():
                v[ok] = objective([s for s, o in zip(new, ok) if o])
        n_infeasible[0] += int((~ok).sum())
        v = np.nan_to_num(v, nan=0.0)
        out_s.extend(new)
        out_v.extend(v.tolist())
        known.update(zip(new, v.tolist()))
        if len(out_s) >= cfg["budget"]:
            raise _Budget
        return [known.get(s, 0.0) for s in smiles]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            default_ga(
                starting_population_smiles=list(ctx["init"]),
                scoring_function=scoring,
                max_generations=10 * cfg["budget"],
                offspring_size=cfg["ga_offspring"],
                rng=random.Random(seed),
            )
        except _Budget:
            pass
    return dict(smiles=out_s, values=out_v, lre=None, n_infeasible=n_infeasible[0])


def run_method(name, ctx, seed):
    """Run method ``name``; returns smiles, values, lre (or None) and extras."""
    cfg = ctx["cfg"]
    n, rng = cfg["budget"], np.random.RandomState(seed + 7919)
    retrain = dict(retrain_every=cfg["retrain_every"], weight_k=1e-3)
    if name == "screening":
        idx = rng.choice(len(ctx["screen_pool"]), size=n, replace=False)
        return dict(
            smiles=[ctx["screen_pool"][i] for i in idx],
            values=[float(ctx["screen_values"][i]) for i in idx],
            lre=None,
        )
    if name in ("prior-g0", "prior-lra"):
        vae = ctx["vae0"] if name == "prior-g0" else ctx["vae1"]
        return _decode(ctx, vae, rng.standard_normal((n, ctx["latent"])))
    if name == "random-box":
        box = _box(ctx, ctx["vae0"])
        return _decode(ctx, ctx["vae0"], rng.uniform(box[:, 0], box[:, 1], (n, len(box))))
    if name == "lsbo-fixed":
        return _search(ctx, ctx["vae0"], seed)
    if name == "lsbo-tripp":
        return _search(ctx, ctx["vae0"], seed, **retrain)
    if name == "lra-lsbo":
        return _search(ctx, ctx["vae1"], seed, **retrain)
    if name == "lra-lsbo-filter":
        return _search(ctx, ctx["vae1"], seed, lre_threshold=ctx["lre_threshold"], **retrain)
    if name == "tr-fixed":
        return _search(ctx, ctx["vae1"], seed, trust_region=True, recoordinate=True)
    if name == "tr-lra":
        return _search(ctx, ctx["vae1"], seed, trust_region=True, recoordinate=True, **retrain)
    if name == "tr-inv":
        return _search(ctx, ctx["vae1"], seed, trust_region=True, invert=True)
    if name in ("tr-inv-best-g0", "tr-inv-best-lra"):
        vae = ctx["vae0"] if name == "tr-inv-best-g0" else ctx["vae1"]
        auto = dict(retrain_every="auto", retrain_on_best="auto", weight_k=1e-3)
        return _search(ctx, vae, seed, trust_region=True, invert=True, **auto)
    if name in ("tr-pool", "tr-pool-lra", "tr-pool-ml"):
        kw = dict(trust_region=True, invert=True, train_candidates=True)
        if name == "tr-pool-ml":
            kw.update(surrogate="GP-ML")
        if name == "tr-pool-lra":
            kw.update(retrain_every="auto", retrain_on_best="auto", weight_k=1e-3)
        return _search(ctx, ctx["vae1"], seed, train_objects=list(ctx["screen_pool"]), **kw)
    if name == "tr-pool-fp-bug":
        raise ValueError("tr-pool-fp-bug records a fixed bug and cannot be rerun.")
    if name in OBJECT_GP_METHODS:
        offset = 1.0 if name.endswith("-offset") else 0.0
        feats = functools.partial(morgan_fingerprints, counts=name.endswith("fpc"))
        if "-mf" in name:
            feats = molecule_features
        gp = TanimotoGP(features=feats, source_variance=offset)
        kw = dict(trust_region=True, invert=True, surrogate=gp)
        # the region's initial length: 0.8 (TuRBO's) for every method run before the object
        # surrogate's default became 0.2 (session 10), so that their records stay reproducible
        length = 0.2 if "-small" in name else 0.4 if "-mid" in name else 0.8
        kw.update(trust_region_kwargs=dict(length_init=length))
        if name.endswith("-lra"):
            kw.update(retrain_every="auto", retrain_on_best="auto", weight_k=1e-3)
        vae = ctx["vae0"] if name.endswith("-g0") else ctx["vae1"]
        if name.startswith("tr-pool"):
            kw.update(train_candidates=True)
            return _search(ctx, vae, seed, train_objects=list(ctx["screen_pool"]), **kw)
        return _search(ctx, vae, seed, **kw)
    if name in ("ga", "ga-feasible"):
        return _ga(ctx, seed, feasible=name == "ga-feasible")
    raise ValueError(f"unknown method {name!r}; one of {sorted(METHODS)}")
