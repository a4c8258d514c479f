"""A budgeted, caching oracle around a molecular objective, as in PMO (Gao et al. 2022).

The metrics follow PMO's ``main/optimizer.py`` (``mol_opt``, MIT licence): the
mean of the top-k scores, and the area under the top-k curve against the
number of oracle calls (``top_auc``), sampled every ``freq_log`` calls.
"""

import numbers

import numpy as np

from ._registry import get_objective
from ._smiles import canonical_smiles, check_smiles_list, rdkit_quiet

__all__ = ["BudgetExhaustedError", "Oracle"]

_ON_EXHAUSTED = ("raise", "nan")


class BudgetExhaustedError(RuntimeError):
    """Raised by :class:`Oracle` when a call needs more new evaluations than remain."""


def _top_k_mean(scores, k):
    scores = np.asarray(scores, dtype=float)
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return np.nan
    return float(np.mean(np.sort(scores)[::-1][:k]))


def _check_positive_int(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{name} must be a positive integer{' or None' * allow_none}, got {value!r}."
        )
    return int(value)


class Oracle:
    """Budgeted, caching wrapper of a vectorised molecular objective (PMO's oracle).

    Molecules are keyed by RDKit canonical SMILES: a molecule is evaluated once,
    however often and in whichever spelling it is asked for, and only these
    unique evaluations count against ``budget``. Invalid SMILES score NaN and
    cost nothing. The order of first evaluation is kept for :meth:`top_k` and
    :meth:`auc_top_k`. Picklable when the objective is (every named objective is).

    Parameters
    ----------
    objective : str or callable
        A name of :func:`list_objectives` or a vectorised ``f(smiles) -> scores``
        (called with ``n_jobs`` too when the call passes one).
    budget : int or None, default=None
        Most unique molecules to evaluate. None: unlimited.
    on_exhausted : {"raise", "nan"}, default="raise"
        What a call that needs more new evaluations than remain does:
        ``"raise"`` raises :class:`BudgetExhaustedError` and evaluates nothing
        (the oracle is unchanged; molecules already scored stay free);
        ``"nan"`` evaluates new molecules in order of appearance while budget
        remains and returns NaN for the others.

    Attributes
    ----------
    n_evaluations : int
        Unique molecules evaluated so far (also ``len(oracle)``).
    remaining : int or None
        Evaluations left (None without a budget).
    history : list of tuple
        ``(canonical SMILES, score)`` pairs in order of first evaluation.

    Examples
    --------
    >>> from sklearn_lravae.chem import Oracle
    >>> oracle = Oracle("qed", budget=2)
    >>> oracle(["CCO", "OCC", "c1ccccc1", "bad"]).round(3).tolist()
    [0.407, 0.407, 0.443, nan]
    >>> oracle.n_evaluations, oracle.remaining
    (2, 0)
    >>> oracle(["C(O)C"]).round(3).tolist()  # cached: free
    [0.407]
    >>> round(oracle.top_k(1), 3)
    0.443
    """

    vectorized = True

    def __init__(self, objective, budget=None, on_exhausted="raise"):
        if isinstance(objective, str):
            objective = get_objective(objective)
        elif not callable(objective):
            raise TypeError(
                "objective must be an objective name (see chem.list_objectives()) or a "
                f"callable smiles -> scores, got {type(objective).__name__}."
            )
        if on_exhausted not in _ON_EXHAUSTED:
            raise ValueError(f"on_exhausted must be one of {_ON_EXHAUSTED}, got {on_exhausted!r}.")
        self.objective = objective
        self.budget = _check_positive_int(budget, "budget")
        self.on_exhausted = on_exhausted
        self._scores = {}  # canonical SMILES -> score, in order of first evaluation

    def __len__(self):
        return len(self._scores)

    def __repr__(self):
        name = getattr(self.objective, "__name__", repr(self.objective))
        return f"Oracle({name!r}, budget={self.budget}, n_evaluations={self.n_evaluations})"

    @property
    def n_evaluations(self):
        return len(self._scores)

    @property
    def remaining(self):
        return None if self.budget is None else self.budget - len(self._scores)

    @property
    def exhausted(self):
        """True once the budget is used up (never without a budget)."""
        return self.budget is not None and len(self._scores) >= self.budget

    @property
    def history(self):
        return list(self._scores.items())

    def __call__(self, smiles, n_jobs=None):
        """Scores of ``smiles`` (float64 array, NaN for invalid SMILES).

        Parameters
        ----------
        smiles : list or array-like of str of shape (n_samples,)
            Molecules.
        n_jobs : int or None, default=None
            Passed on to the objective for the new molecules.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        smiles = check_smiles_list(smiles)
        with rdkit_quiet():
            keys = [canonical_smiles(s) for s in smiles]
        new = list(dict.fromkeys(k for k in keys if k is not None and k not in self._scores))
        remaining = self.remaining
        if remaining is not None and len(new) > remaining:
            if self.on_exhausted == "raise":
                raise BudgetExhaustedError(
                    f"this call needs {len(new)} new evaluations but only {remaining} of the "
                    f"budget of {self.budget} remain; pass fewer molecules, or "
                    "on_exhausted='nan' to score what fits and get NaN for the rest."
                )
            new = new[:remaining]
        if new:
            self._evaluate(new, n_jobs)
        return np.array([np.nan if k is None else self._scores.get(k, np.nan) for k in keys])

    def _evaluate(self, new, n_jobs):
        kwargs = {} if n_jobs is None else {"n_jobs": n_jobs}
        scores = np.asarray(self.objective(new, **kwargs), dtype=float).ravel()
        if scores.shape != (len(new),):
            raise ValueError(
                f"the objective returned {scores.size} scores for {len(new)} molecules; it "
                "must be vectorised: a list of SMILES in, one score per molecule out."
            )
        self._scores.update(zip(new, scores.tolist()))

    def _history_scores(self, n_evaluations):
        scores = np.fromiter(self._scores.values(), dtype=float, count=len(self._scores))
        if n_evaluations is not None:
            scores = scores[: _check_positive_int(n_evaluations, "n_evaluations")]
        return scores

    def top_k(self, k=10, n_evaluations=None):
        """Mean of the ``k`` best scores (PMO's ``avg_top{k}``).

        Parameters
        ----------
        k : int, default=10
            How many of the best scores to average (fewer if fewer were scored).
        n_evaluations : int or None, default=None
            Look only at the first ``n_evaluations`` molecules evaluated.

        Returns
        -------
        score : float
            NaN before any molecule is scored. NaN scores are left out.
        """
        k = _check_positive_int(k, "k", allow_none=False)
        return _top_k_mean(self._history_scores(n_evaluations), k)

    def auc_top_k(self, k=10, freq_log=100, max_evaluations=None, finish=True):
        """Area under the top-k-mean curve over oracle calls, divided by the budget (PMO AUC).

        PMO's ``top_auc``: the top-``k`` mean is read after every ``freq_log``
        evaluations and at the end, joined by the trapezoid rule from 0 at no
        calls, and divided by ``max_evaluations``. With ``finish=True`` a run that
        stopped early is credited its last top-k mean up to ``max_evaluations``.

        Parameters
        ----------
        k : int, default=10
            Top-k (PMO reports 1, 10 and 100).
        freq_log : int, default=100
            Evaluations between two readings (PMO: 100).
        max_evaluations : int or None, default=None
            The budget the area is divided by; None: ``budget``, or the number
            of evaluations without one. Later evaluations are ignored.
        finish : bool, default=True
            Credit the unused budget with the final top-k mean (PMO's ``finish``).

        Returns
        -------
        auc : float
            In the units of the scores; in [0, 1] for the GuacaMol tasks.

        Examples
        --------
        >>> from sklearn_lravae.chem import Oracle
        >>> oracle = Oracle(lambda smiles: [float(len(s)) for s in smiles])
        >>> _ = oracle(["C", "CC", "CCC", "CCCC"])
        >>> oracle.auc_top_k(k=1, freq_log=2)  # (2*(0+2)/2 + 2*(2+4)/2) / 4
        2.0
        """
        k = _check_positive_int(k, "k", allow_none=False)
        freq_log = _check_positive_int(freq_log, "freq_log", allow_none=False)
        max_calls = max_evaluations if max_evaluations is not None else self.budget
        if max_calls is None:
            max_calls = max(len(self._scores), 1)
        scores = self._history_scores(max_calls)
        n = len(scores)
        if n == 0:
            return np.nan
        total, previous, called = 0.0, 0.0, 0
        for idx in range(freq_log, min(n, max_calls), freq_log):
            current = _top_k_mean(scores[:idx], k)
            total += freq_log * (current + previous) / 2
            previous, called = current, idx
        current = _top_k_mean(scores, k)
        total += (n - called) * (current + previous) / 2
        if finish and n < max_calls:
            total += (max_calls - n) * current
        return float(total / max_calls)
