"""The fingerprints of GuacaMol's similarity scores, built with RDKit's current APIs.

Every type gives exactly the fingerprint of GuacaMol's ``guacamol/utils/fingerprints.py``
(MIT licence): the count-based Morgan and atom-pair fingerprints come from
:mod:`rdkit.Chem.rdFingerprintGenerator` (the same features as the deprecated
``AllChem.GetMorganFingerprint`` / ``GetAtomPairFingerprint``: the tests compare
every type's Tanimoto similarities with GuacaMol's own).
"""

import functools

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

__all__ = ["FINGERPRINTS", "check_fingerprint", "fingerprint", "tanimoto"]

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
