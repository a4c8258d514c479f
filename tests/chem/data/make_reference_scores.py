"""Write ``reference_scores.json``: GuacaMol's (and TDC's) scores of test molecules.

This script does NOT run in the project's environment: it needs a throwaway
"reference venv" with GuacaMol and PyTDC installed without their heavy
dependencies, and the same RDKit as the project (so that descriptors agree)::

    python -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install "scipy<1.12" "numpy<2" "rdkit==<the project's>" \
        joblib tqdm packaging networkx "scikit-learn<1.6"
    /tmp/refvenv/bin/pip install --no-deps guacamol==0.5.5 pytdc==1.1.15
    /tmp/refvenv/bin/python tests/chem/data/make_reference_scores.py

``guacamol.utils.chemistry`` imports ``scipy.histogram`` (gone in SciPy 1.12),
hence the old SciPy. GuacaMol's ``fcd`` import (Frechet benchmark only) is
stubbed. TDC's oracle module is loaded from its file with the package's heavy
``tdc.utils`` and the removed ``rdkit.six`` stubbed. GuacaMol scores an invalid
molecule -1, stored as null; TDC raises for one, stored as null too.
"""

import importlib.util
import json
import os
import sys
import types
from importlib.metadata import version

import numpy as np
import rdkit
from rdkit import DataStructs, RDLogger

sys.modules.setdefault("fcd", types.ModuleType("fcd"))  # only FrechetBenchmark uses it
from guacamol import score_modifier as gm  # noqa: E402
from guacamol import standard_benchmarks as sb  # noqa: E402
from guacamol.benchmark_suites import (  # noqa: E402
    goal_directed_suite_trivial,
    goal_directed_suite_v2,
)
from guacamol.common_scoring_functions import (  # noqa: E402
    IsomerScoringFunction,
    TanimotoScoringFunction,
)
from guacamol.scoring_function import ArithmeticMeanScoringFunction  # noqa: E402
from guacamol.utils.chemistry import smiles_to_rdkit_mol  # noqa: E402
from guacamol.utils.fingerprints import get_fingerprint  # noqa: E402

RDLogger.DisableLog("rdApp.*")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_scores.json")

#: GuacaMol benchmark name -> TDC / our name
TASKS = {
    "Celecoxib rediscovery": "celecoxib_rediscovery",
    "Troglitazone rediscovery": "troglitazone_rediscovery",
    "Thiothixene rediscovery": "thiothixene_rediscovery",
    "Aripiprazole similarity": "aripiprazole_similarity",
    "Albuterol similarity": "albuterol_similarity",
    "Mestranol similarity": "mestranol_similarity",
    "C7H8N2O2": "isomers_c7h8n2o2",
    "C9H10N2O2PF2Cl": "isomers_c9h10n2o2pf2cl",
    "C11H24": "isomers_c11h24",
    "Median molecules 1": "median1",
    "Median molecules 2": "median2",
    "Osimertinib MPO": "osimertinib_mpo",
    "Fexofenadine MPO": "fexofenadine_mpo",
    "Ranolazine MPO": "ranolazine_mpo",
    "Perindopril MPO": "perindopril_mpo",
    "Amlodipine MPO": "amlodipine_mpo",
    "Sitagliptin MPO": "sitagliptin_mpo",
    "Zaleplon MPO": "zaleplon_mpo",
    "Valsartan SMARTS": "valsartan_smarts",
    "Deco Hop": "deco_hop",
    "Scaffold Hop": "scaffold_hop",
}

MOLECULES = [
    # every task's target molecule(s)
    "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",  # celecoxib
    "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",  # troglitazone
    "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",  # thiothixene
    "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl",  # aripiprazole
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",  # albuterol
    "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",  # mestranol
    "CC1(C)C2CCC1(C)C(=O)C2",  # camphor
    "CC(C)C1CCC(C)CC1O",  # menthol
    "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C",  # tadalafil
    "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C",  # sildenafil
    "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",  # osimertinib
    "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4",  # fexofenadine
    "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",  # ranolazine
    "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC",  # perindopril
    r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC",  # amlodipine
    "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F",  # sitagliptin (C16H15F6N5O)
    "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1",  # zaleplon
    "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C",  # deco/scaffold hop start
    # isomers of the isomer tasks' formulas
    "Cc1ccc([N+](=O)[O-])cc1N",  # C7H8N2O2
    "CC(N)c1cc(Cl)ccc1C(=O)NOP(F)F",  # C9H10N2O2PF2Cl
    "CC(C)CC(C)(C)CC(C)C",  # C11H24
    "CCCCCCCCCCC",  # C11H24
    # near misses and varied molecules
    "CCCCCCCCCCCC",  # C12H26
    "O=C1C=Cc2ccc(OCCCCN3CCN(c4cccc5sccc45)CC3)cc2N1",  # brexpiprazole
    "CC(C)NCC(O)c1ccc(O)c(O)c1",  # isoproterenol
    "C#C[C@]1(O)CC[C@H]2[C@@H]3CCc4cc(O)ccc4[C@H]3CC[C@@]21C",  # ethinylestradiol
    "CCCCC(=O)N(Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1)[C@@H](C(C)C)C(=O)O",  # valsartan
    "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1C(=O)N(C)C",  # deco changed
    "CCCOc1ccc2c(Nc3ccc4ncsc4c3)ccnc2c1",  # scaffold changed
    "FC(F)(F)c1ccc(cc1)N1CCN(CC1)C(=O)c1ccccc1F",
    "Cn1c(=O)c2c(ncn2C)n(C)c1=O",  # caffeine
    "CCO",
    "c1ccccc1",
    "C[N+](C)(C)C",  # charged
    "[2H]C([2H])([2H])O",  # isotopes
    "CCO.Cl",  # two fragments
    "C/C=C/C(=O)O",
    # invalid
    "not a molecule",
    "C1CC",
]

TARGET = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
FINGERPRINTS = ["ECFP4", "ECFP6", "FCFP4", "FCFP6", "AP", "PHCO", "PATH", "BPF", "BTF"]


def _clean(score):
    return None if score is None or score == -1.0 else float(score)


def guacamol_tasks():
    benchmarks = {b.name: b for b in goal_directed_suite_v2() + goal_directed_suite_trivial()}
    return {
        ours: [_clean(s) for s in benchmarks[name].objective.score_list(MOLECULES)]
        for name, ours in TASKS.items()
    }


def fingerprints():
    """Tanimoto similarity to TARGET for every fingerprint type (None: invalid molecule)."""
    target = smiles_to_rdkit_mol(TARGET)
    mols = [smiles_to_rdkit_mol(s) for s in MOLECULES]
    out = {}
    for kind in FINGERPRINTS:
        ref = get_fingerprint(target, kind)
        out[kind] = [
            None if m is None else DataStructs.TanimotoSimilarity(get_fingerprint(m, kind), ref)
            for m in mols
        ]
    return out


def modifiers():
    x = np.linspace(-2.0, 12.0, 57)
    cases = {
        "gaussian(mu=3, sigma=1.5)": gm.GaussianModifier(mu=3, sigma=1.5),
        "min_gaussian(mu=4, sigma=1)": gm.MinGaussianModifier(mu=4, sigma=1),
        "max_gaussian(mu=7, sigma=2)": gm.MaxGaussianModifier(mu=7, sigma=2),
        "clipped(upper_x=0.75)": gm.ClippedScoreModifier(upper_x=0.75),
        "clipped(upper_x=2, lower_x=8, high_score=0.9, low_score=0.1)": gm.ClippedScoreModifier(
            upper_x=2, lower_x=8, high_score=0.9, low_score=0.1
        ),
        "thresholded_linear(threshold=5)": gm.ThresholdedLinearModifier(threshold=5),
    }
    return {
        "x": x.tolist(),
        **{k: np.asarray(m(x), dtype=float).tolist() for k, m in cases.items()},
    }


def extras():
    """Arithmetic-mean variants, weights, and GuacaMol's trivial MPO (descriptors)."""
    funcs = {
        "isomer_C7H8N2O2_arithmetic": IsomerScoringFunction("C7H8N2O2", mean_function="arithmetic"),
        "median1_arithmetic": sb.median_camphor_menthol(ArithmeticMeanScoringFunction).objective,
        "weighted_arithmetic_ecfp4_fcfp4_1_3": ArithmeticMeanScoringFunction(
            [TanimotoScoringFunction(TARGET, "ECFP4"), TanimotoScoringFunction(TARGET, "FCFP4")],
            weights=[1.0, 3.0],
        ),
        "pioglitazone_mpo": sb.pioglitazone_mpo().objective,
        "logp_target_8": sb.logP_benchmark(8.0).objective,
        "tpsa_target_150": sb.tpsa_benchmark(150.0).objective,
    }
    return {k: [_clean(s) for s in f.score_list(MOLECULES)] for k, f in funcs.items()}


def load_tdc_oracle():
    site = os.path.dirname(os.path.dirname(importlib.util.find_spec("packaging").origin))
    path = os.path.join(site, "tdc", "chem_utils", "oracle", "oracle.py")
    six = types.ModuleType("rdkit.six")
    six.iteritems = lambda d: iter(d.items())
    sys.modules["rdkit.six"] = six
    for name in ("tdc", "tdc.chem_utils", "tdc.chem_utils.oracle"):
        module = types.ModuleType(name)
        module.__path__ = []
        sys.modules[name] = module
    utils = types.ModuleType("tdc.utils")
    utils.oracle_load = utils.print_sys = utils.install = lambda *a, **k: None
    sys.modules["tdc.utils"] = utils
    spec = importlib.util.spec_from_file_location("tdc.chem_utils.oracle.oracle", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tdc_tasks():
    oracle = load_tdc_oracle()
    out = {}
    for ours in TASKS.values():
        fn = getattr(oracle, ours)
        scores = []
        for smi in MOLECULES:
            try:
                scores.append(float(fn(smi)))
            except Exception:  # TDC has no invalid-molecule guard at this level
                scores.append(None)
        out[ours] = scores
    return out


def main():
    import warnings

    warnings.simplefilter("ignore")  # scipy's gmean of zeros, pkg_resources
    data = {
        "about": __doc__.strip().splitlines()[0],
        "versions": {p: version(p) for p in ("guacamol", "pytdc", "rdkit", "numpy", "scipy")},
        "rdkit": rdkit.__version__,
        "molecules": MOLECULES,
        "guacamol": guacamol_tasks(),
        "tdc": tdc_tasks(),
        "fingerprint_target": TARGET,
        "fingerprints": fingerprints(),
        "modifiers": modifiers(),
        "extras": extras(),
    }
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
