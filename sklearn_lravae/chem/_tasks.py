"""The GuacaMol goal-directed tasks (the PMO / TDC oracles that need only RDKit).

Definitions follow GuacaMol's ``goal_directed_suite_v2`` (Brown et al. 2019,
``guacamol/standard_benchmarks.py``, MIT licence) to the letter; PMO (Gao et al.
2022) scores the same tasks through TDC's ``tdc/chem_utils/oracle/oracle.py``
(MIT licence), which agrees except where a task's docstring says otherwise. Names
are TDC's. Every task is a function ``task(smiles, n_jobs=None)`` returning
float64 scores in [0, 1], NaN for invalid SMILES (GuacaMol: -1, TDC: 0).
"""

import functools

from ._modifiers import (
    clipped_modifier,
    gaussian_modifier,
    max_gaussian_modifier,
    min_gaussian_modifier,
)
from ._objectives import map_smiles
from ._scoring import (
    DESCRIPTORS,
    atom_count_score,
    descriptor_score,
    isomer_score,
    mpo_score,
    smarts_score,
    tanimoto_similarity,
)
from ._smiles import mol_from_smiles

CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
TROGLITAZONE = "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O"
THIOTHIXENE = "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1"
ARIPIPRAZOLE = "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl"
ALBUTEROL = "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"
MESTRANOL = "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1"
CAMPHOR = "CC1(C)C2CCC1(C)C(=O)C2"
MENTHOL = "CC(C)C1CCC(C)CC1O"
TADALAFIL = "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C"
SILDENAFIL = "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
SITAGLIPTIN_VALSARTAN = "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F"  # same molecule
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
VALSARTAN_SMARTS = "CN(C=O)Cc1ccc(c2ccccc2)cc1"
HOP_START = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
HOP_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"
HOP_DECORATION = "[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1"


def _similarity(target, fp, threshold):
    return tanimoto_similarity(target, fp, clipped_modifier(upper_x=threshold))


def _descriptor_of(name, smiles):
    return DESCRIPTORS[name](mol_from_smiles(smiles))


def _gaussian_at(name, smiles, sigma):
    """A descriptor scored by a Gaussian centred on the value of ``smiles``."""
    return descriptor_score(name, gaussian_modifier(_descriptor_of(name, smiles), sigma))


def _osimertinib():
    return mpo_score(
        [
            _similarity(OSIMERTINIB, "FCFP4", 0.8),
            tanimoto_similarity(OSIMERTINIB, "ECFP6", min_gaussian_modifier(0.85, 0.1)),
            descriptor_score("tpsa", max_gaussian_modifier(100, 10)),
            descriptor_score("logp", min_gaussian_modifier(1, 1)),
        ]
    )


def _fexofenadine():
    return mpo_score(
        [
            _similarity(FEXOFENADINE, "AP", 0.8),
            descriptor_score("tpsa", max_gaussian_modifier(90, 10)),
            descriptor_score("logp", min_gaussian_modifier(4, 1)),
        ]
    )


def _ranolazine():
    return mpo_score(
        [
            _similarity(RANOLAZINE, "AP", 0.7),
            descriptor_score("logp", max_gaussian_modifier(7, 1)),
            atom_count_score("F", gaussian_modifier(1, 1.0)),
            descriptor_score("tpsa", max_gaussian_modifier(95, 20)),
        ]
    )


def _sitagliptin():
    return mpo_score(
        [
            tanimoto_similarity(SITAGLIPTIN, "ECFP4", gaussian_modifier(0, 0.1)),
            _gaussian_at("logp", SITAGLIPTIN, 0.2),
            _gaussian_at("tpsa", SITAGLIPTIN, 5),
            isomer_score("C16H15F6N5O"),
        ]
    )


def _valsartan():
    return mpo_score(
        [
            smarts_score(VALSARTAN_SMARTS),
            _gaussian_at("logp", SITAGLIPTIN_VALSARTAN, 0.2),
            _gaussian_at("tpsa", SITAGLIPTIN_VALSARTAN, 5),
            _gaussian_at("bertz", SITAGLIPTIN_VALSARTAN, 30),
        ]
    )


def _deco_hop():
    return mpo_score(
        [
            tanimoto_similarity(HOP_START, "PHCO", clipped_modifier(upper_x=0.85)),
            smarts_score("CS([#6])(=O)=O", inverse=True),
            smarts_score("[#7]-c1ccc2ncsc2c1", inverse=True),
            smarts_score(HOP_SCAFFOLD),
        ],
        mean_function="arithmetic",
    )


def _scaffold_hop():
    return mpo_score(
        [
            tanimoto_similarity(HOP_START, "PHCO", clipped_modifier(upper_x=0.75)),
            smarts_score(HOP_DECORATION),
            smarts_score(HOP_SCAFFOLD, inverse=True),
        ],
        mean_function="arithmetic",
    )


_P = functools.partial
#: name -> (scorer builder, definition for the docstring, example SMILES)
_SPECS = {
    "celecoxib_rediscovery": (
        _P(_similarity, CELECOXIB, "ECFP4", 1.0),
        f"Rediscover celecoxib: Tanimoto similarity (ECFP4 counts) to ``{CELECOXIB}``.",
        CELECOXIB,
    ),
    "troglitazone_rediscovery": (
        _P(_similarity, TROGLITAZONE, "ECFP4", 1.0),
        f"Rediscover troglitazone: Tanimoto similarity (ECFP4 counts) to ``{TROGLITAZONE}``.",
        TROGLITAZONE,
    ),
    "thiothixene_rediscovery": (
        _P(_similarity, THIOTHIXENE, "ECFP4", 1.0),
        f"Rediscover thiothixene: Tanimoto similarity (ECFP4 counts) to ``{THIOTHIXENE}``.",
        THIOTHIXENE,
    ),
    "aripiprazole_similarity": (
        _P(_similarity, ARIPIPRAZOLE, "ECFP4", 0.75),
        f"Similar to aripiprazole: ECFP4 Tanimoto to ``{ARIPIPRAZOLE}``, "
        "``clipped_modifier(upper_x=0.75)``. TDC (and so PMO) uses FCFP4 here.",
        "O=C1C=Cc2ccc(OCCCCN3CCN(c4cccc5sccc45)CC3)cc2N1",  # brexpiprazole
    ),
    "albuterol_similarity": (
        _P(_similarity, ALBUTEROL, "FCFP4", 0.75),
        f"Similar to albuterol: FCFP4 Tanimoto to ``{ALBUTEROL}``, "
        "``clipped_modifier(upper_x=0.75)``.",
        "CC(C)NCC(O)c1ccc(O)c(O)c1",
    ),
    "mestranol_similarity": (
        _P(_similarity, MESTRANOL, "AP", 0.75),
        f"Similar to mestranol: atom-pair Tanimoto to ``{MESTRANOL}``, "
        "``clipped_modifier(upper_x=0.75)``.",
        "C#C[C@]1(O)CC[C@H]2[C@@H]3CCc4cc(O)ccc4[C@H]3CC[C@@]21C",
    ),
    "isomers_c7h8n2o2": (
        _P(isomer_score, "C7H8N2O2"),
        "``isomer_score('C7H8N2O2')`` (geometric mean).",
        "Cc1ccc([N+](=O)[O-])cc1N",
    ),
    "isomers_c9h10n2o2pf2cl": (
        _P(isomer_score, "C9H10N2O2PF2Cl"),
        "``isomer_score('C9H10N2O2PF2Cl')`` (geometric mean).",
        "CCCCCCCC",
    ),
    "isomers_c11h24": (
        _P(isomer_score, "C11H24"),
        "``isomer_score('C11H24')`` (geometric mean).",
        "CCCCCCCCCCC",
    ),
    "median1": (
        lambda: mpo_score([tanimoto_similarity(MENTHOL), tanimoto_similarity(CAMPHOR)]),
        "Median of camphor and menthol: geometric mean of the ECFP4 Tanimoto "
        f"similarities to menthol ``{MENTHOL}`` and camphor ``{CAMPHOR}``.",
        CAMPHOR,
    ),
    "median2": (
        lambda: mpo_score(
            [tanimoto_similarity(TADALAFIL, "ECFP6"), tanimoto_similarity(SILDENAFIL, "ECFP6")]
        ),
        "Median of tadalafil and sildenafil: geometric mean of the ECFP6 Tanimoto "
        f"similarities to ``{TADALAFIL}`` and ``{SILDENAFIL}``.",
        TADALAFIL,
    ),
    "osimertinib_mpo": (
        _osimertinib,
        "Geometric mean of: FCFP4 Tanimoto to osimertinib with "
        "``clipped_modifier(0.8)``; ECFP6 Tanimoto with ``min_gaussian_modifier(0.85, 0.1)``; "
        "TPSA with ``max_gaussian_modifier(100, 10)``; logP with ``min_gaussian_modifier(1, 1)``.",
        OSIMERTINIB,
    ),
    "fexofenadine_mpo": (
        _fexofenadine,
        "Geometric mean of: atom-pair Tanimoto to fexofenadine with "
        "``clipped_modifier(0.8)``; TPSA with ``max_gaussian_modifier(90, 10)``; logP with "
        "``min_gaussian_modifier(4, 1)``.",
        FEXOFENADINE,
    ),
    "ranolazine_mpo": (
        _ranolazine,
        "Geometric mean of: atom-pair Tanimoto to ranolazine with "
        "``clipped_modifier(0.7)``; logP with ``max_gaussian_modifier(7, 1)``; fluorine count "
        "with ``gaussian_modifier(1, 1)``; TPSA with ``max_gaussian_modifier(95, 20)``.",
        RANOLAZINE,
    ),
    "perindopril_mpo": (
        lambda: mpo_score(
            [
                tanimoto_similarity(PERINDOPRIL),
                descriptor_score("num_aromatic_rings", gaussian_modifier(2, 0.5)),
            ]
        ),
        "Perindopril with two aromatic rings; geometric mean of: ECFP4 Tanimoto to "
        "perindopril; aromatic ring count with ``gaussian_modifier(2, 0.5)``.",
        PERINDOPRIL,
    ),
    "amlodipine_mpo": (
        lambda: mpo_score(
            [
                tanimoto_similarity(AMLODIPINE),
                descriptor_score("num_rings", gaussian_modifier(3, 0.5)),
            ]
        ),
        "Amlodipine with three rings; geometric mean of: ECFP4 Tanimoto to amlodipine; "
        "ring count with ``gaussian_modifier(3, 0.5)``.",
        AMLODIPINE,
    ),
    "sitagliptin_mpo": (
        _sitagliptin,
        "Sitagliptin's properties but not its structure; geometric mean of: ECFP4 Tanimoto "
        "to sitagliptin with ``gaussian_modifier(0, 0.1)``; logP and TPSA with Gaussians "
        "(sigma 0.2 and 5) centred on sitagliptin's; ``isomer_score('C16H15F6N5O')``.",
        SITAGLIPTIN,
    ),
    "zaleplon_mpo": (
        lambda: mpo_score([tanimoto_similarity(ZALEPLON), isomer_score("C19H17N3O2")]),
        "Zaleplon with another formula; geometric mean of: ECFP4 Tanimoto to zaleplon; "
        "``isomer_score('C19H17N3O2')``.",
        ZALEPLON,
    ),
    "valsartan_smarts": (
        _valsartan,
        f"Valsartan's SMARTS with sitagliptin's properties; geometric mean of: "
        f"``smarts_score('{VALSARTAN_SMARTS}')``; logP, TPSA and Bertz complexity with "
        "Gaussians (sigma 0.2, 5, 30) centred on sitagliptin's.",
        "CCCCC(=O)N(Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1)[C@@H](C(C)C)C(=O)O",
    ),
    "deco_hop": (
        _deco_hop,
        "Change the decoration, keep the scaffold; arithmetic mean of: PHCO (Gobbi 2D "
        "pharmacophore) Tanimoto to "
        f"``{HOP_START}`` with ``clipped_modifier(0.85)``; absence of ``CS([#6])(=O)=O`` and "
        f"of ``[#7]-c1ccc2ncsc2c1``; presence of the scaffold ``{HOP_SCAFFOLD}``.",
        HOP_START,
    ),
    "scaffold_hop": (
        _scaffold_hop,
        "Change the scaffold, keep the decoration; arithmetic mean of: PHCO Tanimoto to the "
        "deco-hop start molecule "
        f"with ``clipped_modifier(0.75)``; presence of the decoration ``{HOP_DECORATION}``; "
        f"absence of the scaffold ``{HOP_SCAFFOLD}``.",
        HOP_START,
    ),
}

#: GuacaMol's benchmark names.
_TITLES = {
    "celecoxib_rediscovery": "Celecoxib rediscovery",
    "troglitazone_rediscovery": "Troglitazone rediscovery",
    "thiothixene_rediscovery": "Thiothixene rediscovery",
    "aripiprazole_similarity": "Aripiprazole similarity",
    "albuterol_similarity": "Albuterol similarity",
    "mestranol_similarity": "Mestranol similarity",
    "isomers_c7h8n2o2": "Isomers of C7H8N2O2",
    "isomers_c9h10n2o2pf2cl": "Isomers of C9H10N2O2PF2Cl",
    "isomers_c11h24": "Isomers of C11H24",
    "median1": "Median molecules 1 (camphor, menthol)",
    "median2": "Median molecules 2 (tadalafil, sildenafil)",
    "osimertinib_mpo": "Osimertinib MPO",
    "fexofenadine_mpo": "Fexofenadine MPO",
    "ranolazine_mpo": "Ranolazine MPO",
    "perindopril_mpo": "Perindopril MPO",
    "amlodipine_mpo": "Amlodipine MPO",
    "sitagliptin_mpo": "Sitagliptin MPO",
    "zaleplon_mpo": "Zaleplon MPO",
    "valsartan_smarts": "Valsartan SMARTS",
    "deco_hop": "Decoration hop",
    "scaffold_hop": "Scaffold hop",
}

#: Doctest output of each task on its example molecule (4 decimals).
_EXAMPLE_SCORES = {
    "celecoxib_rediscovery": 1.0,
    "troglitazone_rediscovery": 1.0,
    "thiothixene_rediscovery": 1.0,
    "aripiprazole_similarity": 0.6893,
    "albuterol_similarity": 0.805,
    "mestranol_similarity": 1.0,
    "isomers_c7h8n2o2": 1.0,
    "isomers_c9h10n2o2pf2cl": 0.0071,
    "isomers_c11h24": 1.0,
    "median1": 0.4,
    "median2": 0.3624,
    "osimertinib_mpo": 0.1333,
    "fexofenadine_mpo": 0.5973,
    "ranolazine_mpo": 0.0492,
    "perindopril_mpo": 0.0183,
    "amlodipine_mpo": 0.3679,
    "sitagliptin_mpo": 0.0,
    "zaleplon_mpo": 0.4665,
    "valsartan_smarts": 0.0,
    "deco_hop": 0.5,
    "scaffold_hop": 0.6667,
}

_DOC = """{title}: GuacaMol task, TDC / PMO oracle ``{name}``.

{definition}

Parameters
----------
smiles : list or array-like of str of shape (n_samples,)
    Molecules.
n_jobs : int or None, default=None
    Processes for :class:`joblib.Parallel` (None or 1: serial, -1: all).

Returns
-------
scores : ndarray of shape (n_samples,)
    Scores in [0, 1], NaN for invalid SMILES.

Examples
--------
>>> from sklearn_lravae.chem import {name}
>>> {name}([{example!r}, "not a molecule"]).round(4).tolist()
[{score}, nan]
"""


@functools.cache
def task_scorer(name):
    """The :class:`MoleculeScorer` behind the task ``name`` (built once per process).

    Parameters
    ----------
    name : str
        A task name of ``chem.TASKS``.

    Returns
    -------
    scorer : MoleculeScorer
        Its ``repr`` shows the exact definition.

    Examples
    --------
    >>> from sklearn_lravae.chem import task_scorer
    >>> task_scorer("albuterol_similarity")
    tanimoto_similarity('CC(C)(C)NCC(O)c1ccc(O)c(CO)c1', fingerprint='FCFP4', \
modifier=clipped_modifier(upper_x=0.75, lower_x=0.0, high_score=1.0, low_score=0.0))
    """
    if name not in _SPECS:
        raise ValueError(f"name must be one of {list(_SPECS)}, got {name!r}.")
    return _SPECS[name][0]()


def _score_task(name, mol):
    return task_scorer(name).score_mol(mol)


def _make_task(name):
    definition, example = _SPECS[name][1:]

    def task(smiles, n_jobs=None):
        return map_smiles(functools.partial(_score_task, name), smiles, n_jobs)

    task.__name__ = task.__qualname__ = name
    task.__module__ = __name__
    score = _EXAMPLE_SCORES[name]
    task.__doc__ = _DOC.format(
        title=_TITLES[name], name=name, definition=definition, example=example, score=score
    )
    task.vectorized = True
    return task


#: Task name -> function, in GuacaMol's order.
TASKS = {name: _make_task(name) for name in _SPECS}

celecoxib_rediscovery = TASKS["celecoxib_rediscovery"]
troglitazone_rediscovery = TASKS["troglitazone_rediscovery"]
thiothixene_rediscovery = TASKS["thiothixene_rediscovery"]
aripiprazole_similarity = TASKS["aripiprazole_similarity"]
albuterol_similarity = TASKS["albuterol_similarity"]
mestranol_similarity = TASKS["mestranol_similarity"]
isomers_c7h8n2o2 = TASKS["isomers_c7h8n2o2"]
isomers_c9h10n2o2pf2cl = TASKS["isomers_c9h10n2o2pf2cl"]
isomers_c11h24 = TASKS["isomers_c11h24"]
median1 = TASKS["median1"]
median2 = TASKS["median2"]
osimertinib_mpo = TASKS["osimertinib_mpo"]
fexofenadine_mpo = TASKS["fexofenadine_mpo"]
ranolazine_mpo = TASKS["ranolazine_mpo"]
perindopril_mpo = TASKS["perindopril_mpo"]
amlodipine_mpo = TASKS["amlodipine_mpo"]
sitagliptin_mpo = TASKS["sitagliptin_mpo"]
zaleplon_mpo = TASKS["zaleplon_mpo"]
valsartan_smarts = TASKS["valsartan_smarts"]
deco_hop = TASKS["deco_hop"]
scaffold_hop = TASKS["scaffold_hop"]

__all__ = ["TASKS", "task_scorer", *TASKS]
