"""One lookup for every molecular objective of :mod:`sklearn_lravae.chem`, by name."""

import difflib
from types import MappingProxyType

from ._objectives import logp, penalized_logp, qed, sa_score
from ._tasks import TASKS

__all__ = ["OBJECTIVES", "get_objective", "list_objectives"]

#: Name -> vectorised objective ``f(smiles, n_jobs=None)`` (read-only): the RDKit
#: properties (``sa_score``: lower is better) and the GuacaMol / PMO tasks.
OBJECTIVES = MappingProxyType(
    {"qed": qed, "logp": logp, "sa_score": sa_score, "penalized_logp": penalized_logp, **TASKS}
)


def list_objectives():
    """Names accepted by :func:`get_objective`: the four properties, then GuacaMol's order.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sklearn_lravae.chem import list_objectives
    >>> names = list_objectives()
    >>> len(names), names[:5]
    (25, ['qed', 'logp', 'sa_score', 'penalized_logp', 'celecoxib_rediscovery'])
    """
    return list(OBJECTIVES)


def get_objective(name):
    """The objective called ``name`` (case-insensitive; ``-`` or spaces read as ``_``).

    Parameters
    ----------
    name : str
        One of :func:`list_objectives`, e.g. ``"qed"`` or TDC's
        ``"Osimertinib_MPO"``.

    Returns
    -------
    objective : callable
        ``objective(smiles, n_jobs=None)`` -> float64 array, NaN for invalid SMILES.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names and suggests the
        closest.

    Examples
    --------
    >>> from sklearn_lravae.chem import get_objective
    >>> get_objective("Celecoxib_Rediscovery").__name__
    'celecoxib_rediscovery'
    >>> get_objective("median_1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown objective 'median_1' (did you mean 'median1'?); valid names: ...
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'qed', got {type(name).__name__}.")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in OBJECTIVES:
        return OBJECTIVES[key]
    close = difflib.get_close_matches(key, list(OBJECTIVES), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown objective {name!r}{hint}; valid names: {', '.join(OBJECTIVES)}.")
