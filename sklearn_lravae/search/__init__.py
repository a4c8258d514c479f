"""Latent-space Bayesian optimisation on scikit-optimize, with LRA-VAE retraining.

- :class:`LatentBayesSearch`: ask -> decode -> evaluate -> tell loop over an
  LRA-VAE's latent space, with retraining around the queries, consistency
  filter, parallel evaluation and resumable checkpoints.
- :func:`rank_weights`: the rank weighting of Tripp et al. (2020).
- :class:`FastGaussianProcessRegressor`: skopt's GP with a cheaper predictive
  variance (the default surrogate's regressor; usable with any skopt optimiser).
- :func:`break_lock`: remove the lock a dead run left in a checkpoint folder
  (:class:`CheckpointLockedError` is raised while another run uses the folder).
"""

from ._lock import CheckpointLockedError, break_lock
from ._search import LatentBayesSearch, rank_weights
from ._surrogate import FastGaussianProcessRegressor

__all__ = [
    "CheckpointLockedError",
    "FastGaussianProcessRegressor",
    "LatentBayesSearch",
    "break_lock",
    "rank_weights",
]
