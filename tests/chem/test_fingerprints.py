"""``morgan_fingerprints``: folded ECFP arrays, the features of a molecular surrogate."""

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from sklearn_lravae.chem import morgan_fingerprints


def test_bits_match_rdkit_and_tanimoto_is_rdkits():
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    fp = morgan_fingerprints(smiles, radius=2, n_bits=1024)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    ref = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    for row, bv in zip(fp, ref, strict=True):
        assert set(np.flatnonzero(row)) == set(bv.GetOnBits())
    a, b = fp[1].astype(bool), fp[2].astype(bool)
    assert np.sum(a & b) / np.sum(a | b) == pytest.approx(
        DataStructs.TanimotoSimilarity(ref[1], ref[2])
    )


def test_counts_invalid_rows_and_bad_input():
    fp = morgan_fingerprints(["CCCCCC", "not a molecule", None], counts=True)
    assert fp.dtype == np.uint8 and fp.shape == (3, 2048)
    assert fp[0].max() > 1  # repeated CH2 environments are counted
    assert fp[1:].sum() == 0  # unparseable and missing molecules: zero rows
    with pytest.raises(TypeError, match="single string"):
        morgan_fingerprints("CCO")
