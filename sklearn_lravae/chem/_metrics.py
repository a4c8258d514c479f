"""Generation metrics: validity, uniqueness, novelty and internal diversity."""

import numbers

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator
from sklearn.utils import check_random_state

from ._smiles import canonical_smiles, check_smiles_list, mol_from_smiles, rdkit_quiet

__all__ = [
    "generation_metrics",
    "internal_diversity",
    "novelty",
    "uniqueness",
    "validity",
]


def _canonical(smiles, name="smiles"):
    smiles = check_smiles_list(smiles, name=name)
    with rdkit_quiet():
        return [canonical_smiles(s) for s in smiles]


def _valid(smiles, name="smiles"):
    return [c for c in _canonical(smiles, name) if c is not None]


def validity(smiles):
    """Fraction of SMILES that RDKit parses into a non-empty molecule.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Generated molecules; None and ``""`` count as invalid.

    Returns
    -------
    validity : float
        In [0, 1]; NaN for an empty input.

    Examples
    --------
    >>> from sklearn_lravae.chem import validity
    >>> validity(["CCO", "C1CC", "", "c1ccccc1"])
    0.5
    """
    canon = _canonical(smiles)
    if not canon:
        return float("nan")
    return sum(c is not None for c in canon) / len(canon)


def uniqueness(smiles):
    """Fraction of distinct molecules among the valid ones (canonical SMILES).

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Generated molecules; invalid ones are ignored.

    Returns
    -------
    uniqueness : float
        ``n_unique_valid / n_valid``; NaN when nothing is valid.

    Examples
    --------
    >>> from sklearn_lravae.chem import uniqueness
    >>> uniqueness(["CCO", "OCC", "CCN", "CCN", "not a molecule"])
    0.5
    """
    valid = _valid(smiles)
    return len(set(valid)) / len(valid) if valid else float("nan")


def novelty(smiles, training_smiles):
    """Fraction of the unique valid molecules that are not in the training set.

    Both sets are compared as RDKit canonical SMILES.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Generated molecules.
    training_smiles : list or array-like of str
        Molecules the model was trained on (invalid ones are ignored).

    Returns
    -------
    novelty : float
        ``|unique valid \\ training| / |unique valid|``; NaN when nothing is valid.

    Examples
    --------
    >>> from sklearn_lravae.chem import novelty
    >>> novelty(["CCO", "CCN", "CCN"], training_smiles=["OCC"])
    0.5
    """
    unique = set(_valid(smiles))
    if not unique:
        return float("nan")
    train = set(_valid(training_smiles, name="training_smiles"))
    return len(unique - train) / len(unique)


def internal_diversity(smiles, radius=2, n_bits=2048, max_samples=None, random_state=None):
    """Mean pairwise Tanimoto distance of Morgan fingerprints (IntDiv).

    ``1 - mean_{i < j} Tanimoto(fp_i, fp_j)`` over the valid molecules
    (duplicates kept, as MOSES' ``IntDiv1``), with bit-vector Morgan
    fingerprints of the given radius and size.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Generated molecules; invalid ones are ignored.
    radius : int, default=2
        Morgan radius (2 ~ ECFP4).
    n_bits : int, default=2048
        Fingerprint length.
    max_samples : int or None, default=None
        Use a random subset of at most this many valid molecules (the cost is
        quadratic: 10,000 molecules take a few seconds).
    random_state : int, RandomState instance or None, default=None
        Seed of the subset.

    Returns
    -------
    diversity : float
        In [0, 1]; NaN with fewer than two valid molecules.

    Examples
    --------
    >>> from sklearn_lravae.chem import internal_diversity
    >>> internal_diversity(["CCO", "CCO"])
    0.0
    >>> round(internal_diversity(["CCO", "c1ccccc1", "CC(=O)O"]), 3)
    0.902
    """
    for name, value in (("radius", radius), ("n_bits", n_bits)):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    smiles = check_smiles_list(smiles)
    with rdkit_quiet():
        mols = [m for m in (mol_from_smiles(s) for s in smiles) if m is not None]
    if max_samples is not None and len(mols) > max_samples:
        rng = check_random_state(random_state)
        mols = [mols[i] for i in rng.choice(len(mols), max_samples, replace=False)]
    if len(mols) < 2:
        return float("nan")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    fps = [gen.GetFingerprint(m) for m in mols]
    total = 0.0
    for i in range(1, len(fps)):
        total += float(np.sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])))
    n_pairs = len(fps) * (len(fps) - 1) / 2
    return 1.0 - total / n_pairs


def generation_metrics(smiles, training_smiles=None, max_samples=None, random_state=None):
    """Validity, uniqueness, novelty and internal diversity in one dict.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Generated molecules.
    training_smiles : list or array-like of str or None, default=None
        Training molecules for :func:`novelty` (NaN when None).
    max_samples : int or None, default=None
        Subset size for :func:`internal_diversity`.
    random_state : int, RandomState instance or None, default=None
        Seed of that subset.

    Returns
    -------
    metrics : dict
        Keys ``"validity"``, ``"uniqueness"``, ``"novelty"``, ``"diversity"``.

    Examples
    --------
    >>> from sklearn_lravae.chem import generation_metrics
    >>> m = generation_metrics(["CCO", "CCN", "CCN", "C1CC"], training_smiles=["OCC"])
    >>> {k: round(v, 3) for k, v in m.items()}
    {'validity': 0.75, 'uniqueness': 0.667, 'novelty': 0.5, 'diversity': 0.444}
    """
    smiles = check_smiles_list(smiles)
    return {
        "validity": validity(smiles),
        "uniqueness": uniqueness(smiles),
        "novelty": float("nan") if training_smiles is None else novelty(smiles, training_smiles),
        "diversity": internal_diversity(smiles, max_samples=max_samples, random_state=random_state),
    }
