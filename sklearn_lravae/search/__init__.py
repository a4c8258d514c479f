"""Latent-space Bayesian optimisation on scikit-optimize, with LRA-VAE retraining.

- :class:`LatentBayesSearch`: ask -> decode -> evaluate -> tell loop over an
  LRA-VAE's latent space, with retraining around the queries, consistency
  filter, parallel evaluation and resumable checkpoints.
- :func:`rank_weights`: the rank weighting of Tripp et al. (2020).
- :class:`FastGaussianProcessRegressor`: skopt's GP with a cheaper predictive
  variance (the default surrogate's regressor; usable with any skopt optimiser).
- :class:`TanimotoGP` (with :func:`tanimoto_kernel`): a GP on features of the
  decoded objects (e.g. molecular fingerprints), the surrogate that lets the
  trust region's decodes be judged by what they are.
- :func:`break_lock`: remove the lock a dead run left in a checkpoint folder
  (:class:`CheckpointLockedError` is raised while another run uses the folder).
"""

from ._lock import CheckpointLockedError, break_lock
from ._object_gp import TanimotoGP, tanimoto_kernel
from ._search import LatentBayesSearch, rank_weights
from ._surrogate import FastGaussianProcessRegressor

__all__ = [
    "CheckpointLockedError",
    "FastGaussianProcessRegressor",
    "LatentBayesSearch",
    "TanimotoGP",
    "break_lock",
    "rank_weights",
    "tanimoto_kernel",
]
