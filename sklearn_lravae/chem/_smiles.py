"""Shared SMILES helpers: input validation, parsing and canonicalisation."""

import numbers

import numpy as np
from rdkit import Chem, RDLogger, rdBase

__all__ = ["check_smiles_list", "canonical_smiles", "mol_from_smiles", "rdkit_quiet"]


def _log_status():
    """RDKit's log channels and whether each is enabled, e.g. ``{"rdApp.error": True}``."""
    status = {}
    for line in rdBase.LogStatus().splitlines():
        name, _, state = line.partition(":")
        status[name.strip()] = state.strip() == "enabled"
    return status


class rdkit_quiet:
    """Context manager that silences RDKit's log messages, then restores each channel.

    Channels that were disabled before (e.g. ``rdApp.info`` by default) stay
    disabled on exit; nested use is safe.

    Examples
    --------
    >>> from rdkit import RDLogger, rdBase
    >>> from sklearn_lravae.chem._smiles import rdkit_quiet
    >>> RDLogger.DisableLog("rdApp.warning")
    >>> with rdkit_quiet():
    ...     "rdApp.error:disabled" in rdBase.LogStatus()
    True
    >>> "rdApp.warning:disabled" in rdBase.LogStatus()  # not switched on by the exit
    True
    >>> RDLogger.EnableLog("rdApp.warning")
    """

    def __enter__(self):
        self._saved = _log_status()
        RDLogger.DisableLog("rdApp.*")
        return self

    def __exit__(self, *exc):
        for name, enabled in self._saved.items():
            (RDLogger.EnableLog if enabled else RDLogger.DisableLog)(name)
        return False


def check_smiles_list(smiles, name="smiles"):
    """Return ``smiles`` as a list of ``str`` (``None`` kept as ``None``).

    Accepts a list/tuple, a 1-D array, a pandas Series, or a 2-D array /
    DataFrame with exactly one column. A single string is rejected (it would be
    iterated character by character).
    """
    if isinstance(smiles, str | bytes):
        raise TypeError(
            f"{name} must be a list or 1-D array of SMILES strings, got a single string; "
            f"wrap it in a list: [{smiles!r}]."
        )
    if hasattr(smiles, "columns"):  # DataFrame
        if len(smiles.columns) != 1:
            raise ValueError(
                f"{name} must have exactly one column of SMILES, got {len(smiles.columns)} "
                "columns; select the SMILES column first (e.g. df['smiles'])."
            )
        smiles = smiles.iloc[:, 0]
    if hasattr(smiles, "to_numpy"):
        smiles = smiles.to_numpy()
    if isinstance(smiles, np.ndarray):
        if smiles.ndim == 2 and smiles.shape[1] == 1:
            smiles = smiles[:, 0]
        elif smiles.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D (or a single column), got an array of shape {smiles.shape}."
            )
    try:
        out = list(smiles)
    except TypeError:
        raise TypeError(
            f"{name} must be an iterable of SMILES strings, got {type(smiles).__name__}."
        ) from None
    for i, s in enumerate(out):
        if s is None or (isinstance(s, numbers.Real) and np.isnan(s)):
            out[i] = None
        elif isinstance(s, bytes):
            out[i] = s.decode()
        elif not isinstance(s, str):
            raise TypeError(
                f"{name} must contain SMILES strings, got {type(s).__name__} at index {i}."
            )
    return out


def mol_from_smiles(smiles):
    """RDKit molecule of ``smiles`` or None (None/empty/unparseable input)."""
    if not smiles:
        return None
    with rdkit_quiet():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


def canonical_smiles(smiles):
    """RDKit canonical SMILES of ``smiles``, or None when it does not parse."""
    mol = mol_from_smiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def format_indices(indices, limit=20):
    """``"[3, 17, 42]"``, shortened to ``limit`` entries plus a count."""
    indices = list(indices)
    head = ", ".join(str(i) for i in indices[:limit])
    more = f", ... ({len(indices)} in total)" if len(indices) > limit else ""
    return f"[{head}{more}]"
