"""Molecules: SELFIES vectoriser, RDKit objectives and generation metrics.

- :class:`SelfiesVectorizer` turns SMILES into flattened one-hot SELFIES arrays
  for ``LRAVAETransformer(likelihood="categorical")`` and decodes arrays (or
  decoder probabilities) back into canonical SMILES.
- Objectives, vectorised over lists of SMILES (NaN for invalid molecules):
  :func:`qed`, :func:`logp`, :func:`sa_score`, :func:`penalized_logp`.
- Generation metrics: :func:`validity`, :func:`uniqueness`, :func:`novelty`,
  :func:`internal_diversity`, :func:`generation_metrics`.
- :func:`make_sequence_core`: a GRU decoder core for one-hot sequences, for
  ``LRAVAETransformer(module=make_sequence_core(n_categories))``.
- :func:`make_straight_through_core`: a core whose encoder sees the argmax
  one-hot of its input (straight-through gradients), so the LRE term trains
  the consistency of the *hard* decode.
"""

from .._network import make_sequence_core, make_straight_through_core
from ._metrics import generation_metrics, internal_diversity, novelty, uniqueness, validity
from ._objectives import logp, penalized_logp, qed, sa_score
from ._vectorizer import SelfiesVectorizer

__all__ = [
    "SelfiesVectorizer",
    "generation_metrics",
    "internal_diversity",
    "logp",
    "make_sequence_core",
    "make_straight_through_core",
    "novelty",
    "penalized_logp",
    "qed",
    "sa_score",
    "uniqueness",
    "validity",
]
