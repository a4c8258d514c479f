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

import importlib

from ._version import __version__

# Imported on first use (PEP 562), so that `lravae --help` and light scripts do not
# pay for torch, scikit-learn and RDKit: `from sklearn_lravae import X` works as usual.
_LAZY = {
    "LRAVAETransformer": "._transformer",
    "LatentBayesSearch": ".search",
    "load": "._persistence",
    "save": "._persistence",
}
_SUBPACKAGES = ("chem", "datasets", "metrics", "reference", "search")


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


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
