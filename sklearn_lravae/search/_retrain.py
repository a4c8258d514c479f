"""Retraining the VAE during a search: reference centred on the queries, rank weights.

Step 5 of the LSBO loop (user guide, "LSBO"; Tripp et al. 2020 for the weights): the
VAE continues training on the known objects with its LRE reference centred on
the points the acquisition function queried (mixed with a broad component),
optionally with the rank weights of Tripp et al. (2020); the caller then
re-encodes every observation, since the old coordinates are stale.
"""

import numpy as np
from scipy.stats import rankdata

from ..reference import GaussianMixtureReference, MixtureReference, NormalReference

__all__ = [
    "AUTO_RETRAIN_EVERY",
    "rank_weights",
    "retrain",
    "retrain_schedule",
    "retrain_search",
    "retraining_reference",
]

#: ``retrain_every="auto"`` with ``train_objects``: Tripp et al. (2020) retrain every 50.
AUTO_RETRAIN_EVERY = 50


def retrain_schedule(retrain_every, retrain_on_best, has_train_objects):
    """The retraining triggers of a search: ``(every, on_best)`` with "auto" resolved.

    ``retrain_every="auto"`` is :data:`AUTO_RETRAIN_EVERY` when the search has
    ``train_objects`` (the VAE keeps its training data in view and can be
    retrained without forgetting it) and None (never) without them;
    ``retrain_on_best="auto"`` is True exactly when ``retrain_every`` is
    "auto" and there are ``train_objects``, so that an explicit
    ``retrain_every`` means that schedule alone.

    Examples
    --------
    >>> from sklearn_lravae.search._retrain import retrain_schedule
    >>> retrain_schedule("auto", "auto", True), retrain_schedule("auto", "auto", False)
    ((50, True), (None, False))
    >>> retrain_schedule(20, "auto", True), retrain_schedule(None, True, False)
    ((20, False), (None, True))
    """
    auto_every = isinstance(retrain_every, str)
    every = (AUTO_RETRAIN_EVERY if has_train_objects else None) if auto_every else retrain_every
    if isinstance(retrain_on_best, str):
        retrain_on_best = auto_every and has_train_objects
    return every, bool(retrain_on_best)


def rank_weights(values, k):
    """Rank-based weights of Tripp et al. (2020): ``w_i ∝ 1 / (k N + rank_i)``.

    Tied values share one rank (the number of strictly better values), so the
    weights do not depend on the order of the list; NaN (failed or unlabelled
    objects) counts as the worst value and all NaN rows share the worst rank.

    Parameters
    ----------
    values : array-like of shape (n,)
        Objective values (higher is better); NaN counts as the worst.
    k : float
        Sharpness; small ``k`` concentrates the weight on the best objects.

    Returns
    -------
    weights : ndarray of shape (n,)
        Positive weights with mean 1 (rank 0 = best value).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search import rank_weights
    >>> w = rank_weights([0.1, 0.9, 0.5, np.nan, np.nan], k=1e-3)
    >>> bool(w[1] > w[2] > w[0] > w[3]), bool(w[3] == w[4]), round(float(w.mean()), 6)
    (True, True, 1.0)
    """
    v = np.asarray(values, dtype=float)
    v = np.where(np.isnan(v), -np.inf, v)
    ranks = rankdata(-v, method="min") - 1.0
    w = 1.0 / (k * len(v) + ranks)
    return w / w.mean()


def retraining_reference(queried, *, reference_scale, broad_scale, broad_weight):
    """The LRE reference for a retraining: normals on the queries mixed with ``N(0, s^2 I)``.

    Parameters
    ----------
    queried : ndarray of shape (n_queries, n_components)
        Queried latent points in current coordinates (may be empty).
    reference_scale : float
        Scale of the normals centred on the queries.
    broad_scale : float
        Scale of the broad component.
    broad_weight : float in [0, 1]
        Weight of the broad component (all of it when there are no queries).

    Returns
    -------
    reference : MixtureReference

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lravae.search._retrain import retraining_reference
    >>> ref = retraining_reference(np.zeros((3, 2)), reference_scale=0.3,
    ...                            broad_scale=2.0, broad_weight=0.5)
    >>> [type(c).__name__ for c in ref.components]
    ['GaussianMixtureReference', 'NormalReference']
    """
    components, mix = [], []
    if len(queried) and broad_weight < 1:
        components.append(GaussianMixtureReference(queried, scale=reference_scale))
        mix.append(1 - broad_weight)
    if broad_weight > 0 or not components:
        components.append(NormalReference(scale=broad_scale))
        mix.append(max(broad_weight, 1e-12))
    return MixtureReference(components, mix)


def retrain(codec, objects, values, *, reference, epochs, weight_k=None):
    """Continue training the codec's VAE on ``objects`` with ``reference`` as LRE reference.

    Parameters
    ----------
    codec : LatentCodec
        The search's estimator.
    objects : list
        Observed objects followed by unlabelled training objects; empty or
        missing objects and objects the upstream steps reject are skipped.
    values : ndarray of shape (len(objects),)
        Their objective values (NaN: failed or unlabelled), used for rank
        weights when ``weight_k`` is set.
    reference : reference distribution
        Set as the VAE's ``reference`` before training (it stays set).
    epochs : int
        Epochs of ``partial_fit``.
    weight_k : float or None, default=None
        Rank-weight sharpness; None weighs all objects equally.
    """
    data, keep = codec.training_data(objects)
    weights = None
    if weight_k is not None:
        weights = rank_weights(values, weight_k)[keep]
    codec.vae.set_params(reference=reference)
    codec.vae.partial_fit(data, sample_weight=weights, epochs=epochs)


def retrain_search(codec, state, train_objects, *, n_recent, epochs, weight_k, **reference_kw):
    """One retraining round of a search: retrain, then move every observation to the new space.

    Parameters
    ----------
    codec : LatentCodec
        The search's estimator (retrained in place).
    state : SearchState
        Observations; their latents are replaced by the re-encoded ones
        (objects that cannot be encoded keep their old coordinates) and the
        retraining counters are updated.
    train_objects : list
        Unlabelled objects included in the training data.
    n_recent : int or None
        Centre the reference on the last ``n_recent`` queries (all when None).
    epochs : int
        Epochs of the retraining.
    weight_k : float or None
        Rank-weight sharpness (None: unweighted).
    **reference_kw
        ``reference_scale``, ``broad_scale``, ``broad_weight`` of
        :func:`retraining_reference`.
    """
    observed = state.objects()
    reference = retraining_reference(state.queried_latents(n_recent), **reference_kw)
    values = np.concatenate([state.values, np.full(len(train_objects), np.nan)])
    retrain(
        codec,
        observed + list(train_objects),
        values,
        reference=reference,
        epochs=epochs,
        weight_k=weight_k,
    )
    state.n_retrain_rounds += 1
    state.since_retrain = 0
    state.trigger_hit = False
    new = codec.encode(observed)  # the old coordinates are stale
    stale = ~np.all(np.isfinite(new), axis=1)
    new[stale] = state.latents[stale]
    state.latents = new
