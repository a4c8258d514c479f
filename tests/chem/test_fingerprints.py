"""``morgan_fingerprints`` and ``molecule_features``: the features of a molecular surrogate."""

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from sklearn_lravae.chem import molecule_features, morgan_fingerprints
from sklearn_lravae.search import TanimotoGP


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


def test_molecule_features_are_counts_plus_weighted_descriptors():
    smiles = ["c1ccc2ccccc2c1O", "CCCCNC(=O)C1CC1", "not a molecule"]
    X = molecule_features(smiles, n_bits=512, descriptor_weight=2.0)
    assert X.dtype == np.float32 and X.shape == (3, 512 + 6)
    np.testing.assert_array_equal(X[:, :512], morgan_fingerprints(smiles, n_bits=512, counts=True))
    # naphthol: 2 rings, both aromatic, 11 heavy atoms, 1 donor, 1 acceptor, 0 rotatable bonds
    np.testing.assert_allclose(X[0, 512:], 2.0 * np.array([2, 2, 11 / 5, 1, 1, 0]), rtol=1e-6)
    assert X[1, 512] == 2.0 and X[1, 513] == 0.0  # cyclopropane: one ring, not aromatic
    assert X[2].sum() == 0  # unparseable: a zero row
    X0 = molecule_features(smiles, n_bits=512, descriptor_weight=0.0)
    assert X0[:, 512:].sum() == 0
    np.testing.assert_allclose(molecule_features(smiles, n_bits=512)[:, 512:], 1.5 * X[:, 512:])
    np.testing.assert_array_equal(
        molecule_features(smiles, n_bits=512, descriptor_weight=np.float32(2.0)), X
    )


@pytest.mark.parametrize(
    "weight, err, match",
    [
        (-1.0, ValueError, "descriptor_weight"),
        (np.nan, ValueError, "finite"),
        ("3", TypeError, "descriptor_weight"),
        (True, TypeError, "number"),
    ],
)
def test_molecule_features_bad_weight(weight, err, match):
    with pytest.raises(err, match=match):
        molecule_features(["CCO"], descriptor_weight=weight)


def test_descriptor_block_lets_the_gp_learn_a_ring_count_objective():
    """A property a folded fingerprint conveys poorly is learnt with the descriptor block."""
    from sklearn_lravae.datasets import load_qm9

    smiles = list(load_qm9(600, random_state=0))
    y = np.array([Chem.rdMolDescriptors.CalcNumRings(Chem.MolFromSmiles(s)) for s in smiles])
    y = -((y - 2.0) ** 2)  # an MPO-like modifier: best at two rings
    corr = {}
    for w in (0.0, 3.0):
        X = molecule_features(smiles, n_bits=1024, descriptor_weight=w)
        pred = TanimotoGP().fit(X[:300], y[:300]).predict(X[300:])
        corr[w] = np.corrcoef(pred, y[300:])[0, 1]
    assert corr[3.0] > 0.9 and corr[3.0] > corr[0.0] + 0.1, corr
