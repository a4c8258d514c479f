"""Reader for user-supplied SMILES files (MOSES / ZINC-style CSV, optionally gzipped)."""

import csv
import gzip
import io
import numbers
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["load_smiles_csv"]

DEFAULT_COLUMNS = ("smiles", "SMILES", "Smiles")


def subset_smiles(smiles, n_samples, random_state):
    """All rows (file order), or ``n_samples`` random rows in random order."""
    index = np.arange(len(smiles))
    if n_samples is not None:
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}.")
        if n_samples > len(smiles):
            raise ValueError(
                f"n_samples={n_samples} is larger than the {len(smiles)} molecules available; "
                "pass n_samples=None to load all of them."
            )
        index = check_random_state(random_state).choice(len(smiles), n_samples, replace=False)
    return np.asarray(smiles, dtype=object)[index], index


def _read_column(fh, column, delimiter, source):
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{source} is empty; expected a CSV file with a header row.") from None
    header = [h.strip() for h in header]
    if column is None:
        found = [c for c in DEFAULT_COLUMNS if c in header]
        if found:
            column = found[0]
        elif len(header) == 1:
            column = header[0]
        else:
            raise ValueError(
                f"{source} has no column named one of {list(DEFAULT_COLUMNS)} (columns: "
                f"{header}); pass column=<name of the SMILES column>."
            )
    if column not in header:
        raise ValueError(
            f"column={column!r} is not in {source} (columns: {header}); pass one of them."
        )
    j = header.index(column)
    return [row[j].strip() for row in reader if row]


def load_smiles_csv(
    path, column=None, *, n_samples=None, random_state=None, delimiter=",", return_index=False
):
    """Read the SMILES column of a CSV file (plain or ``.gz``).

    Reads MOSES files (``train.csv.gz``, column ``SMILES``), ZINC250k
    (``250k_rndm_zinc_drugs_clean_3.csv``, column ``smiles``, whose quoted
    SMILES end in a newline: surrounding whitespace is stripped) and any CSV
    with a header row.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file; gzip-compressed when the name ends in ``.gz``.
    column : str or None, default=None
        Name of the SMILES column. None picks the first of ``"smiles"``,
        ``"SMILES"``, ``"Smiles"`` that exists, or the only column.
    n_samples : int or None, default=None
        None returns all rows in file order; an int returns that many rows
        drawn at random without replacement, in random order.
    random_state : int, RandomState instance or None, default=None
        Seed of the random subset.
    delimiter : str, default=","
        Field separator (e.g. ``"\\t"``; ``" "`` for ``.smi`` files with a header).
    return_index : bool, default=False
        Also return the row numbers (0-based, header excluded) of the molecules.

    Returns
    -------
    smiles : ndarray of str of shape (n_samples,)
        SMILES strings (object dtype), as written in the file (not validated).
    index : ndarray of int of shape (n_samples,)
        Row numbers; only when ``return_index=True``.

    Raises
    ------
    ValueError
        If the column is missing, the file is empty or ``n_samples`` is too large.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_lravae.datasets import load_smiles_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "mols.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("SMILES,SPLIT\\nCCO,train\\nc1ccccc1,test\\n")
    >>> load_smiles_csv(path).tolist()
    ['CCO', 'c1ccccc1']
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} is not an existing file.")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", newline="") as fh:
            smiles = _read_column(fh, column, delimiter, path)
    else:
        with open(path, newline="") as fh:
            smiles = _read_column(fh, column, delimiter, path)
    smiles, index = subset_smiles(smiles, n_samples, random_state)
    return (smiles, index) if return_index else smiles


def read_smiles_bytes(data, source, **kwargs):
    """Parse a gzipped CSV given as bytes (used for the bundled data)."""
    with gzip.open(io.BytesIO(data), "rt", newline="") as fh:
        return _read_column(fh, kwargs.get("column"), ",", source)
