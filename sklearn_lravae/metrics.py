"""Scorers and distances for model selection and sample quality.

- :func:`mean_latent_reconstruction_error` / :func:`make_lre_scorer`: the LRE of
  decoded reference samples, as a function and as a grid-search scorer
  (negated, so higher is better).
"""

import numpy as np
import torch

from .reference import check_reference

__all__ = ["find_lravae", "make_lre_scorer", "mean_latent_reconstruction_error"]


def find_lravae(estimator):
    """Return the LRA-VAE inside ``estimator`` (itself, or the last Pipeline step with LRE).

    Parameters
    ----------
    estimator : estimator
        An :class:`~sklearn_lravae.LRAVAETransformer`, or a Pipeline containing one.

    Returns
    -------
    vae : LRAVAETransformer
        The estimator that provides ``latent_reconstruction_error``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import find_lravae
    >>> pipe = make_pipeline(MinMaxScaler(), LRAVAETransformer())
    >>> type(find_lravae(pipe)).__name__
    'LRAVAETransformer'
    """
    if hasattr(estimator, "latent_reconstruction_error"):
        return estimator
    for _, step in reversed(getattr(estimator, "steps", [])):
        if hasattr(step, "latent_reconstruction_error"):
            return step
    raise TypeError(
        f"{type(estimator).__name__} has no latent_reconstruction_error and is not a "
        "Pipeline containing an LRAVAETransformer."
    )


def mean_latent_reconstruction_error(
    estimator, reference=2.0, n_samples=1000, random_state=0, decode="mean"
):
    """Mean LRE of latent points drawn from ``reference`` (lower is better).

    Parameters
    ----------
    estimator : LRAVAETransformer or Pipeline
        Fitted estimator (see :func:`find_lravae`).
    reference : float or reference object, default=2.0
        Where to draw latent points; a float ``s`` is ``N(0, s^2 I)``.
    n_samples : int, default=1000
        Number of latent points.
    random_state : int, default=0
        Seed of the draws (fixed, so models are compared on the same points).
    decode : {"mean", "mode"}, default="mean"
        Soft or hard decode, see
        :meth:`~sklearn_lravae.LRAVAETransformer.latent_reconstruction_error`.

    Returns
    -------
    lre : float
        Mean latent reconstruction error.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import mean_latent_reconstruction_error
    >>> X = load_digits().data / 16
    >>> vae = LRAVAETransformer(4, likelihood="bernoulli", max_epochs=2, random_state=0)
    >>> mean_latent_reconstruction_error(vae.fit(X), reference=2.0) > 0
    True
    """
    vae = find_lravae(estimator)
    ref = check_reference(reference)
    gen = torch.Generator().manual_seed(int(random_state))
    Z = ref.sample(n_samples, vae.n_components, generator=gen).numpy().astype(np.float64)
    return float(np.mean(vae.latent_reconstruction_error(Z, decode=decode)))


def make_lre_scorer(reference=2.0, n_samples=1000, random_state=0, decode="mean"):
    """Scorer ``(estimator, X, y=None) -> -mean LRE`` for ``GridSearchCV``.

    The LRE does not depend on ``X``; the scorer measures the fitted model's
    latent consistency on samples of ``reference``. It is negated so that higher
    is better, as scikit-learn expects.

    Parameters
    ----------
    reference : float or reference object, default=2.0
        Reference distribution of the latent points.
    n_samples : int, default=1000
        Number of latent points.
    random_state : int, default=0
        Seed of the draws.
    decode : {"mean", "mode"}, default="mean"
        Soft or hard decode.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_lravae import LRAVAETransformer
    >>> from sklearn_lravae.metrics import make_lre_scorer
    >>> X = load_digits().data[:300] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=2, random_state=0)
    >>> gs = GridSearchCV(vae, {"gamma": [0.0, 1.0]}, cv=2, refit="elbo",
    ...                   scoring={"elbo": None, "lre": make_lre_scorer()}).fit(X)
    >>> sorted(gs.cv_results_)[:2]
    ['mean_fit_time', 'mean_score_time']
    """
    check_reference(reference)

    def lre_scorer(estimator, X=None, y=None):
        return -mean_latent_reconstruction_error(
            estimator, reference, n_samples, random_state, decode
        )

    lre_scorer.__name__ = "neg_mean_latent_reconstruction_error"
    return lre_scorer
