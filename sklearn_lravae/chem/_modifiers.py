"""Score modifiers of GuacaMol: map a raw property value onto a desirability in [0, 1].

The definitions follow ``guacamol/score_modifier.py`` of GuacaMol (Brown et al.
2019, MIT licence) to the letter; TDC's ``tdc/chem_utils/oracle/oracle.py``
uses the same ones.
"""

import numbers

import numpy as np

__all__ = [
    "ScoreModifier",
    "clipped_modifier",
    "gaussian_modifier",
    "max_gaussian_modifier",
    "min_gaussian_modifier",
    "thresholded_linear_modifier",
]


def _gaussian(x, mu, sigma):
    return np.exp(-0.5 * np.power((x - mu) / sigma, 2.0))


def _min_gaussian(x, mu, sigma):
    return _gaussian(np.maximum(x, mu), mu, sigma)


def _max_gaussian(x, mu, sigma):
    return _gaussian(np.minimum(x, mu), mu, sigma)


def _clipped(x, upper_x, lower_x, high_score, low_score):
    slope = (high_score - low_score) / (upper_x - lower_x)
    intercept = high_score - slope * upper_x
    return np.clip(slope * x + intercept, low_score, high_score)


def _thresholded_linear(x, threshold):
    return np.minimum(x, threshold) / threshold


_KINDS = {
    "gaussian": _gaussian,
    "min_gaussian": _min_gaussian,
    "max_gaussian": _max_gaussian,
    "clipped": _clipped,
    "thresholded_linear": _thresholded_linear,
}


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}.")
    return float(value)


class ScoreModifier:
    """A picklable score modifier (build it with one of the ``*_modifier`` factories).

    Parameters
    ----------
    kind : {"gaussian", "min_gaussian", "max_gaussian", "clipped", "thresholded_linear"}
        Shape of the modifier.
    **params : float
        Its parameters (see the factories).

    Examples
    --------
    >>> from sklearn_lravae.chem import gaussian_modifier
    >>> m = gaussian_modifier(mu=2.0, sigma=0.5)
    >>> m
    gaussian_modifier(mu=2.0, sigma=0.5)
    >>> round(m(2.5), 4)
    0.6065
    """

    def __init__(self, kind, **params):
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}.")
        self.kind = kind
        self.params = {k: _check_real(v, k) for k, v in params.items()}

    def __call__(self, x):
        """Modified score(s) of ``x``: a float for a scalar, else an array."""
        out = _KINDS[self.kind](np.asarray(x, dtype=float), **self.params)
        return float(out) if np.ndim(out) == 0 else out

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.kind}_modifier({args})"

    def __eq__(self, other):
        return (
            isinstance(other, ScoreModifier)
            and other.kind == self.kind
            and other.params == self.params
        )

    def __hash__(self):
        return hash((self.kind, tuple(sorted(self.params.items()))))


def _check_sigma(sigma):
    sigma = _check_real(sigma, "sigma")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}.")
    return sigma


def gaussian_modifier(mu, sigma):
    """Gaussian bell ``exp(-((x - mu) / sigma)**2 / 2)``, 1 at ``mu`` (``GaussianModifier``).

    Parameters
    ----------
    mu : float
        Target value.
    sigma : float
        Width, > 0.

    Returns
    -------
    modifier : ScoreModifier

    Examples
    --------
    >>> from sklearn_lravae.chem import gaussian_modifier
    >>> gaussian_modifier(0.0, 1.0)([0.0, 1.0]).round(4).tolist()
    [1.0, 0.6065]
    """
    return ScoreModifier("gaussian", mu=mu, sigma=_check_sigma(sigma))


def min_gaussian_modifier(mu, sigma):
    """Half Gaussian for values to keep *below* ``mu``: 1 for ``x <= mu``, decaying above.

    GuacaMol's ``MinGaussianModifier`` (``MinMaxGaussianModifier(minimize=True)``).

    Parameters
    ----------
    mu : float
        Largest value that still scores 1.
    sigma : float
        Width of the decay, > 0.

    Returns
    -------
    modifier : ScoreModifier

    Examples
    --------
    >>> from sklearn_lravae.chem import min_gaussian_modifier
    >>> min_gaussian_modifier(4.0, 1.0)([3.0, 4.0, 5.0]).round(4).tolist()
    [1.0, 1.0, 0.6065]
    """
    return ScoreModifier("min_gaussian", mu=mu, sigma=_check_sigma(sigma))


def max_gaussian_modifier(mu, sigma):
    """Half Gaussian for values to keep *above* ``mu``: 1 for ``x >= mu``, decaying below.

    GuacaMol's ``MaxGaussianModifier`` (``MinMaxGaussianModifier(minimize=False)``).

    Parameters
    ----------
    mu : float
        Smallest value that still scores 1.
    sigma : float
        Width of the decay, > 0.

    Returns
    -------
    modifier : ScoreModifier

    Examples
    --------
    >>> from sklearn_lravae.chem import max_gaussian_modifier
    >>> max_gaussian_modifier(100.0, 10.0)([90.0, 100.0, 120.0]).round(4).tolist()
    [0.6065, 1.0, 1.0]
    """
    return ScoreModifier("max_gaussian", mu=mu, sigma=_check_sigma(sigma))


def clipped_modifier(upper_x, lower_x=0.0, high_score=1.0, low_score=0.0):
    """Linear ramp from ``(lower_x, low_score)`` to ``(upper_x, high_score)``, clipped.

    GuacaMol's ``ClippedScoreModifier``; with ``upper_x < lower_x`` the ramp goes down.

    Parameters
    ----------
    upper_x : float
        Value from which the score is ``high_score``.
    lower_x : float, default=0.0
        Value up to which the score is ``low_score``; must differ from ``upper_x``.
    high_score : float, default=1.0
        Largest score.
    low_score : float, default=0.0
        Smallest score, below ``high_score``.

    Returns
    -------
    modifier : ScoreModifier

    Examples
    --------
    >>> from sklearn_lravae.chem import clipped_modifier
    >>> clipped_modifier(upper_x=0.75)([0.3, 0.75, 0.9]).round(4).tolist()
    [0.4, 1.0, 1.0]
    """
    upper_x, lower_x = _check_real(upper_x, "upper_x"), _check_real(lower_x, "lower_x")
    high, low = _check_real(high_score, "high_score"), _check_real(low_score, "low_score")
    if upper_x == lower_x:
        raise ValueError(f"upper_x and lower_x must differ, both are {upper_x}.")
    if not low < high:
        raise ValueError(f"low_score must be < high_score, got {low} and {high}.")
    return ScoreModifier(
        "clipped", upper_x=upper_x, lower_x=lower_x, high_score=high, low_score=low
    )


def thresholded_linear_modifier(threshold):
    """``min(x, threshold) / threshold`` (GuacaMol ``ThresholdedLinearModifier``).

    Parameters
    ----------
    threshold : float
        Value from which the score is 1; must not be 0.

    Returns
    -------
    modifier : ScoreModifier

    Examples
    --------
    >>> from sklearn_lravae.chem import thresholded_linear_modifier
    >>> thresholded_linear_modifier(0.5)([0.25, 0.8]).tolist()
    [0.5, 1.0]
    """
    threshold = _check_real(threshold, "threshold")
    if threshold == 0:
        raise ValueError("threshold must not be 0.")
    return ScoreModifier("thresholded_linear", threshold=threshold)
