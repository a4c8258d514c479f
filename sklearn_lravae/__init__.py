"""sklearn-lravae: Latent Reconstruction-Aware VAEs and latent-space Bayesian optimisation.

Public API
----------
LRAVAETransformer
    scikit-learn transformer training an LRA-VAE through skorch.
reference
    Latent reference distributions of the LRE term.
metrics
    Scorers (LRE), Frechet distance, CNN feature extractor.
LatentBayesSearch
    Latent-space Bayesian optimisation with LRA-VAE retraining (scikit-optimize).
chem
    SELFIES vectoriser, RDKit objectives and generation metrics.
datasets
    Bundled data (QM9) and file readers (SMILES CSV, MNIST IDX).
save, load
    Pickle-free persistence of fitted estimators and pipelines.
"""

from . import chem, datasets, metrics, reference, search
from ._persistence import load, save
from ._transformer import LRAVAETransformer
from ._version import __version__
from .search import LatentBayesSearch

__all__ = [
    "LRAVAETransformer",
    "LatentBayesSearch",
    "__version__",
    "chem",
    "datasets",
    "load",
    "metrics",
    "reference",
    "save",
    "search",
]
