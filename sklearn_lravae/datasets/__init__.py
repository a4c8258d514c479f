"""Data loaders: bundled data sets and readers for user-supplied files."""

from ._idx import load_idx, load_mnist

__all__ = ["load_idx", "load_mnist"]
