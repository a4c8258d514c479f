"""Data loaders: bundled data sets and readers for user-supplied files."""

from ._idx import load_idx, load_mnist
from ._qm9 import load_qm9
from ._smiles import load_smiles_csv

__all__ = ["load_idx", "load_mnist", "load_qm9", "load_smiles_csv"]
