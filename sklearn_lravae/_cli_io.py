"""File input and output of the ``lravae`` command: data files, molecules, results.

Only the standard library is imported at module level; NumPy is imported by the
functions that need it, so ``lravae --help`` stays instant.
"""

import csv
import sys
from pathlib import Path

__all__ = [
    "CLIError",
    "NUMERIC_OUTPUTS",
    "SMILES_OUTPUTS",
    "check_output",
    "info",
    "read_data",
    "read_smiles",
    "write_output",
]


class CLIError(Exception):
    """A user error: printed as one line, exit status 1."""


def info(message):
    """A progress message for the user, on stderr (stdout may be a data pipe)."""
    print(message, file=sys.stderr)


NUMERIC_OUTPUTS = (".npy", ".csv", ".txt")
SMILES_OUTPUTS = (".smi", ".smiles", ".txt", ".csv")


def check_output(path, suffixes, what="output"):
    """Refuse an output file that could not be written, before the work starts."""
    if path is None:
        return
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise CLIError(
            f"{path}: unknown {what} type {path.suffix or '(none)'!r}; use {', '.join(suffixes)}."
        )
    if not path.parent.is_dir():
        raise CLIError(f"{path}: the folder {path.parent} does not exist; create it first.")


# ----------------------------------------------------------------- files
def smiles_column(path):
    """Index of the SMILES column of a CSV file's header, or None."""
    from .datasets._smiles import DEFAULT_COLUMNS

    opener = open_text(path)
    with opener as fh:
        header = next(csv.reader(fh), [])
    header = [h.strip() for h in header]
    return next((i for i, h in enumerate(header) if h in DEFAULT_COLUMNS), None)


def open_text(path):
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def file_kind(path):
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".smi", ".smiles")):
        return "smiles"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".csv"):
        return "smiles" if smiles_column(path) is not None else "csv"
    if name.endswith(".txt"):  # numbers (CSV) or one SMILES per line: look at a data line
        with open_text(path) as fh:
            lines = [line for _, line in zip(range(2), filter(str.strip, fh))]
        token = lines[-1].replace(",", " ").split()[0] if lines else "0"
        return "csv" if is_number(token) else "smiles"
    raise CLIError(f"{path}: unknown file type; use .csv, .npy, or .smi for molecules.")


def read_smiles(path):
    if Path(path).name.lower().removesuffix(".gz").endswith(".csv"):
        from .datasets import load_smiles_csv

        return [str(s) for s in load_smiles_csv(path)]
    with open_text(path) as fh:
        first = [line.split()[0] for line in fh if line.strip()]
    if first and first[0].lower() == "smiles":
        first = first[1:]  # header
    return first


def read_numeric(path, kind):
    import numpy as np

    if kind == "npy":
        X = np.load(path, allow_pickle=False)
    else:
        with open_text(path) as fh:
            rows = [r for r in csv.reader(fh) if r]
        if rows and not all(is_number(v) for v in rows[0]):
            rows = rows[1:]  # header
        try:
            X = np.array([[float(v) for v in r] for r in rows], dtype=float)
        except ValueError as exc:
            raise CLIError(f"{path}: not numeric CSV data ({exc}).") from None
    if X.ndim != 2 or len(X) == 0:
        raise CLIError(f"{path}: expected a non-empty 2-D table, got shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}.")
    return X.astype(float)


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_data(path):
    """SMILES list or 2-D float array from ``path``."""
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such file.")
    kind = file_kind(path)
    data = read_smiles(path) if kind == "smiles" else read_numeric(path, kind)
    if len(data) == 0:
        raise CLIError(f"{path}: no data.")
    return data


def write_output(out, data):
    import numpy as np

    out = Path(out)
    if isinstance(data, list) and data and isinstance(data[0], str):
        if out.suffix == ".npy":
            raise CLIError(f"{out}: SMILES are written as text; use .smi (or .txt).")
        out.write_text("\n".join(data) + "\n")
    elif out.suffix == ".npy":
        np.save(out, np.asarray(data))
    elif out.suffix in (".csv", ".txt"):
        np.savetxt(out, np.asarray(data), delimiter=",", fmt="%.8g")
    else:
        raise CLIError(f"{out}: unknown output type; use .npy or .csv (.smi for molecules).")
    info(f"wrote {out} ({len(data)} rows)")
