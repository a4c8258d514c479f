"""The fingerprints of GuacaMol's similarity scores, built with RDKit's current APIs.

Every type gives exactly the fingerprint of GuacaMol's ``guacamol/utils/fingerprints.py``
(MIT licence): the count-based Morgan and atom-pair fingerprints come from
:mod:`rdkit.Chem.rdFingerprintGenerator` (the same features as the deprecated
``AllChem.GetMorganFingerprint`` / ``GetAtomPairFingerprint``: the tests compare
every type's Tanimoto similarities with GuacaMol's own).
"""

import functools

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from ._smiles import check_smiles_list, rdkit_quiet

__all__ = [
    "FINGERPRINTS",
    "check_fingerprint",
    "fingerprint",
    "morgan_fingerprints",
    "tanimoto",
]

#: Fingerprint types and what they are (GuacaMol's names).
FINGERPRINTS = {
    "ECFP4": "Morgan counts, radius 2 (AllChem.GetMorganFingerprint(mol, 2))",
    "ECFP6": "Morgan counts, radius 3",
    "FCFP4": "feature-invariant Morgan counts, radius 2 (useFeatures=True)",
    "FCFP6": "feature-invariant Morgan counts, radius 3",
    "AP": "atom-pair counts, maximum distance 10",
    "PHCO": "2D pharmacophore bits, Gobbi-Poppinger factory (Pharm2D)",
    "PATH": "RDKit path bits (Chem.RDKFingerprint defaults)",
    "BPF": "Sheridan binding-property pairs",
    "BTF": "Sheridan donor-acceptor triplets",
}


@functools.cache
def _generator(kind):
    if kind == "AP":
        return rdFingerprintGenerator.GetAtomPairGenerator(maxDistance=10)
    radius = 2 if kind.endswith("4") else 3
    if kind.startswith("FCFP"):
        invariants = rdFingerprintGenerator.GetMorganFeatureAtomInvGen()
        return rdFingerprintGenerator.GetMorganGenerator(
            radius=radius, atomInvariantsGenerator=invariants
        )
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius)


def _pharmacophore(mol):
    from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

    return Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)


def _sheridan(mol, kind):
    from rdkit.Chem.AtomPairs import Sheridan

    return Sheridan.GetBPFingerprint(mol) if kind == "BPF" else Sheridan.GetBTFingerprint(mol)


def check_fingerprint(kind):
    """Return ``kind`` if it names a fingerprint type, else raise ValueError."""
    if not isinstance(kind, str) or kind not in FINGERPRINTS:
        raise ValueError(f"fingerprint must be one of {list(FINGERPRINTS)}, got {kind!r}.")
    return kind


def fingerprint(mol, kind):
    """The ``kind`` fingerprint (see ``chem.FINGERPRINTS``) of the RDKit molecule ``mol``."""
    if kind == "PHCO":
        return _pharmacophore(mol)
    if kind == "PATH":
        return Chem.RDKFingerprint(mol)
    if kind in ("BPF", "BTF"):
        return _sheridan(mol, kind)
    return _generator(kind).GetSparseCountFingerprint(mol)


def tanimoto(fp_a, fp_b):
    """Tanimoto similarity of two fingerprints (counts: sum of minima over sum of maxima)."""
    return DataStructs.TanimotoSimilarity(fp_a, fp_b)


@functools.cache
def _folded_generator(radius, n_bits):
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def morgan_fingerprints(smiles, *, radius=2, n_bits=2048, counts=False):
    """Folded Morgan fingerprints (ECFP) of SMILES strings as a NumPy array.

    The features of a molecular surrogate, e.g.
    ``LatentBayesSearch(surrogate=TanimotoGP(features=morgan_fingerprints))``.

    Parameters
    ----------
    smiles : sequence of str
        Molecules.
    radius : int, default=2
        Morgan radius (2: ECFP4).
    n_bits : int, default=2048
        Length of the folded fingerprint.
    counts : bool, default=False
        Count fingerprints instead of bits.

    Returns
    -------
    fingerprints : ndarray of shape (n_molecules, n_bits)
        One ``uint8`` row per molecule; rows of zeros for strings RDKit
        cannot parse.

    Examples
    --------
    >>> from sklearn_lravae.chem import morgan_fingerprints
    >>> fp = morgan_fingerprints(["CCO", "c1ccccc1", "not a molecule"])
    >>> fp.shape, fp.sum(axis=1).tolist()
    ((3, 2048), [6, 3, 0])
    """
    smiles = check_smiles_list(smiles)
    gen = _folded_generator(int(radius), int(n_bits))
    out = np.zeros((len(smiles), int(n_bits)), dtype=np.uint8)
    with rdkit_quiet():
        mols = [Chem.MolFromSmiles(smi) if smi else None for smi in smiles]
    for i, mol in enumerate(mols):
        if mol is None:
            continue
        fp = gen.GetCountFingerprintAsNumPy(mol) if counts else gen.GetFingerprintAsNumPy(mol)
        out[i] = np.minimum(fp, 255)
    return out
