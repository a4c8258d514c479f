"""Reference scores computed by GuacaMol 0.5.5 and PyTDC 1.1.15 (see data/)."""

import functools
import json
from pathlib import Path

import numpy as np

PATH = Path(__file__).parent / "data" / "reference_scores.json"


@functools.cache
def reference():
    """The contents of ``data/reference_scores.json`` (made by make_reference_scores.py)."""
    return json.loads(PATH.read_text())


def as_array(values):
    """A JSON list with nulls as a float array with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)
