"""Telling the user about failed evaluations.

A failed evaluation is recorded, never fatal; but a run whose evaluations all
fail is nearly always a mistake (a batch objective without ``vectorized=True``,
a wrong object type), so the search warns after a streak of failures and, at
the end of a run in which nothing succeeded, raises or warns as the user chose
with ``on_all_failed``.
"""

import warnings

__all__ = ["WARN_AFTER_FAILURES", "check_all_failed", "failure_hint", "warn_streak"]

WARN_AFTER_FAILURES = 5  # consecutive failed evaluations before the search warns


def failure_hint(vectorized):
    """The most likely fix, depending on how the objective is called."""
    if vectorized:
        return "Check the objective on a few decoded objects (search.decode(search.ask()))."
    return (
        "If the objective takes a list of objects (as sklearn_lravae.chem.qed does), pass "
        "vectorized=True."
    )


def _describe(row):
    return f"the first with {row['status']!r}: {row['message'] or '(no message)'}"


def warn_streak(history, n_consecutive, *, vectorized, policy):
    """Warn once when the last ``WARN_AFTER_FAILURES`` evaluations all failed.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_lravae.search._failures import warn_streak
    >>> rows = [{"status": "failed", "message": "TypeError: boom"}] * 5
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_streak(rows, 5, vectorized=False, policy="raise")
    >>> "TypeError: boom" in str(w[0].message)
    True
    """
    if n_consecutive != WARN_AFTER_FAILURES or policy == "ignore":
        return
    warnings.warn(
        f"the last {WARN_AFTER_FAILURES} evaluations failed; "
        f"{_describe(history[-WARN_AFTER_FAILURES])}. {failure_hint(vectorized)}",
        UserWarning,
        stacklevel=4,
    )


def check_all_failed(new_rows, *, vectorized, policy):
    """Raise (``policy="raise"``) or warn when every row of a run failed.

    Examples
    --------
    >>> from sklearn_lravae.search._failures import check_all_failed
    >>> check_all_failed([{"status": "ok", "message": ""}], vectorized=False, policy="raise")
    >>> check_all_failed([{"status": "failed", "message": "x"}], vectorized=True, policy="raise")
    Traceback (most recent call last):
    ...
    RuntimeError: all 1 evaluations of this run failed; the first with 'failed': x. ...
    """
    if not new_rows or any(h["status"] == "ok" for h in new_rows) or policy == "ignore":
        return
    message = (
        f"all {len(new_rows)} evaluations of this run failed; {_describe(new_rows[0])}. "
        f"{failure_hint(vectorized)} Pass on_all_failed='ignore' if failures are expected."
    )
    if policy == "raise":
        raise RuntimeError(message)
    warnings.warn(message, UserWarning, stacklevel=4)
