"""chem objectives (qed, logp, sa_score, penalized_logp) against RDKit and known values."""

import importlib.util
import os

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import QED, Crippen, RDConfig

from sklearn_lravae.chem import logp, penalized_logp, qed, sa_score

KNOWN = [
    "CCO",
    "c1ccccc1",
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine
    "C1CCCCCCCCC1",  # 10-ring: cycle penalty 4
    "O=C(O)C[C@@H](N)C(=O)O",  # stereo
    "C[N+](C)(C)C",  # charged
]


@pytest.fixture(scope="module")
def sascorer():
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("sascorer_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_objectives_equal_rdkit(sascorer):
    mols = [Chem.MolFromSmiles(s) for s in KNOWN]
    np.testing.assert_allclose(qed(KNOWN), [QED.qed(m) for m in mols], rtol=1e-12)
    np.testing.assert_allclose(logp(KNOWN), [Crippen.MolLogP(m) for m in mols], rtol=1e-12)
    sa = [sascorer.calculateScore(m) for m in mols]
    np.testing.assert_allclose(sa_score(KNOWN), sa, rtol=1e-12)
    rings = [max([len(r) for r in m.GetRingInfo().AtomRings()] or [0]) for m in mols]
    penalty = [max(r - 6, 0) for r in rings]
    assert penalty == [0, 0, 0, 0, 4, 0, 0]
    raw = np.array([Crippen.MolLogP(m) for m in mols]) - np.array(sa) - np.array(penalty)
    np.testing.assert_allclose(penalized_logp(KNOWN), raw, rtol=1e-12)
    std = (
        (np.array([Crippen.MolLogP(m) for m in mols]) - 2.4570953396190123) / 1.434324401111988
        + (-np.array(sa) + 3.0525811293166134) / 0.8335207024513095
        + (-np.array(penalty) + 0.0485696876403053) / 0.2860212110245455
    )
    np.testing.assert_allclose(penalized_logp(KNOWN, standardize=True), std, rtol=1e-12)


def test_objectives_known_values():
    # published / hand-checked values
    np.testing.assert_allclose(logp(["c1ccccc1"]), [1.6866], atol=1e-4)
    np.testing.assert_allclose(qed(["CC(=O)Oc1ccccc1C(=O)O"]), [0.5501], atol=1e-4)
    assert sa_score(["c1ccccc1"])[0] == pytest.approx(1.0)


def test_objectives_nan_for_invalid_and_bad_arguments():
    smiles = ["CCO", "C1CC", "", None, "c1ccccc1"]
    for fn in (qed, logp, sa_score, penalized_logp):
        out = fn(smiles)
        assert out.shape == (5,) and out.dtype == np.float64
        np.testing.assert_array_equal(np.isnan(out), [False, True, True, True, False])
    with pytest.raises(TypeError, match="single string"):
        qed("CCO")
    with pytest.raises(TypeError, match="standardize"):
        penalized_logp(["CCO"], standardize="yes")


@pytest.mark.slow  # a process pool importing RDKit: 55 s on the busy shared 2-core box
def test_objectives_n_jobs_gives_the_same_values():
    np.testing.assert_array_equal(qed(KNOWN * 3, n_jobs=2), qed(KNOWN * 3))
