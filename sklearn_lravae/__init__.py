"""sklearn-lravae: Latent Reconstruction-Aware VAEs and latent-space Bayesian optimisation.

Public API
----------
LRAVAETransformer
    scikit-learn transformer training an LRA-VAE through skorch.
reference
    Latent reference distributions of the LRE term.
metrics
    Scorers (LRE) for grid search.
datasets
    Bundled data and file readers.
"""

from . import datasets, metrics, reference
from ._transformer import LRAVAETransformer
from ._version import __version__

__all__ = ["LRAVAETransformer", "__version__", "datasets", "metrics", "reference"]
