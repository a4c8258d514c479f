"""Molecules: SELFIES vectoriser, RDKit objectives, GuacaMol / PMO tasks and metrics.

- :class:`SelfiesVectorizer` turns SMILES into flattened one-hot SELFIES arrays
  for ``LRAVAETransformer(likelihood="categorical")`` and decodes arrays (or
  decoder probabilities) back into canonical SMILES.
- Objectives, vectorised over lists of SMILES (``f(smiles, n_jobs=None)``, NaN
  for invalid molecules): :func:`qed`, :func:`logp`, :func:`sa_score`,
  :func:`penalized_logp`, and the GuacaMol goal-directed tasks under their
  TDC / PMO names (``chem.TASKS``: :func:`celecoxib_rediscovery`, ...,
  :func:`scaffold_hop`). :func:`get_objective` finds any of them by name
  (:func:`list_objectives`, ``chem.OBJECTIVES``).
- Building blocks of the tasks, to define new ones: :func:`tanimoto_similarity`,
  :func:`descriptor_score`, :func:`atom_count_score`, :func:`smarts_score`,
  :func:`isomer_score` and the combiner :func:`mpo_score`, with GuacaMol's score
  modifiers (:func:`gaussian_modifier`, :func:`min_gaussian_modifier`,
  :func:`max_gaussian_modifier`, :func:`clipped_modifier`,
  :func:`thresholded_linear_modifier`); :func:`task_scorer` shows a task's definition.
- :class:`Oracle`: PMO's budgeted, caching oracle with top-k and top-k AUC metrics.
- Generation metrics: :func:`validity`, :func:`uniqueness`, :func:`novelty`,
  :func:`internal_diversity`, :func:`generation_metrics`.
- :func:`morgan_fingerprints`: folded ECFP arrays; :func:`molecule_features`:
  Morgan counts with a block of physicochemical counts, the recommended
  features of a molecular surrogate (``search.TanimotoGP(features=molecule_features)``).
- :func:`make_sequence_core`: a GRU decoder core for one-hot sequences, for
  ``LRAVAETransformer(module=make_sequence_core(n_categories))``.
- :func:`make_straight_through_core`: a core whose encoder sees the argmax
  one-hot of its input (straight-through gradients), so the LRE term trains
  the consistency of the *hard* decode.
"""

from .._network import make_sequence_core, make_straight_through_core
from ._fingerprints import FINGERPRINTS, molecule_features, morgan_fingerprints
from ._metrics import generation_metrics, internal_diversity, novelty, uniqueness, validity
from ._modifiers import (
    ScoreModifier,
    clipped_modifier,
    gaussian_modifier,
    max_gaussian_modifier,
    min_gaussian_modifier,
    thresholded_linear_modifier,
)
from ._objectives import logp, penalized_logp, qed, sa_score
from ._oracle import BudgetExhaustedError, Oracle
from ._registry import OBJECTIVES, get_objective, list_objectives
from ._scoring import (
    DESCRIPTORS,
    MoleculeScorer,
    atom_count_score,
    descriptor_score,
    isomer_score,
    mpo_score,
    parse_formula,
    smarts_score,
    tanimoto_similarity,
)
from ._selfies_codec import one_hot
from ._tasks import (
    TASKS,
    albuterol_similarity,
    amlodipine_mpo,
    aripiprazole_similarity,
    celecoxib_rediscovery,
    deco_hop,
    fexofenadine_mpo,
    isomers_c7h8n2o2,
    isomers_c9h10n2o2pf2cl,
    isomers_c11h24,
    median1,
    median2,
    mestranol_similarity,
    osimertinib_mpo,
    perindopril_mpo,
    ranolazine_mpo,
    scaffold_hop,
    sitagliptin_mpo,
    task_scorer,
    thiothixene_rediscovery,
    troglitazone_rediscovery,
    valsartan_smarts,
    zaleplon_mpo,
)
from ._vectorizer import SelfiesVectorizer

__all__ = [
    "DESCRIPTORS",
    "FINGERPRINTS",
    "OBJECTIVES",
    "TASKS",
    "BudgetExhaustedError",
    "MoleculeScorer",
    "Oracle",
    "ScoreModifier",
    "SelfiesVectorizer",
    "albuterol_similarity",
    "amlodipine_mpo",
    "aripiprazole_similarity",
    "atom_count_score",
    "celecoxib_rediscovery",
    "clipped_modifier",
    "deco_hop",
    "descriptor_score",
    "fexofenadine_mpo",
    "gaussian_modifier",
    "generation_metrics",
    "get_objective",
    "internal_diversity",
    "isomer_score",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "isomers_c11h24",
    "list_objectives",
    "logp",
    "make_sequence_core",
    "make_straight_through_core",
    "max_gaussian_modifier",
    "median1",
    "median2",
    "mestranol_similarity",
    "min_gaussian_modifier",
    "molecule_features",
    "morgan_fingerprints",
    "mpo_score",
    "novelty",
    "one_hot",
    "osimertinib_mpo",
    "parse_formula",
    "penalized_logp",
    "perindopril_mpo",
    "qed",
    "ranolazine_mpo",
    "sa_score",
    "scaffold_hop",
    "sitagliptin_mpo",
    "smarts_score",
    "tanimoto_similarity",
    "task_scorer",
    "thiothixene_rediscovery",
    "thresholded_linear_modifier",
    "troglitazone_rediscovery",
    "uniqueness",
    "valsartan_smarts",
    "validity",
    "zaleplon_mpo",
]
