"""Generation metrics of chem: validity, uniqueness, novelty, internal diversity."""

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from sklearn_lravae.chem import (
    generation_metrics,
    internal_diversity,
    novelty,
    uniqueness,
    validity,
)


def test_generation_metrics_values():
    gen = ["CCO", "OCC", "c1ccccc1", "C1CC", "", "CCN"]
    assert validity(gen) == pytest.approx(4 / 6)
    assert uniqueness(gen) == pytest.approx(3 / 4)
    assert novelty(gen, training_smiles=["C(C)O", "CCCC"]) == pytest.approx(2 / 3)
    gen_fp = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen_fp.GetFingerprint(Chem.MolFromSmiles(s)) for s in ["CCO", "OCC", "c1ccccc1", "CCN"]]
    sims = [
        DataStructs.TanimotoSimilarity(fps[i], fps[j]) for i in range(4) for j in range(i + 1, 4)
    ]
    assert internal_diversity(gen) == pytest.approx(1 - np.mean(sims))
    m = generation_metrics(gen, training_smiles=["CCCC"])
    assert m["novelty"] == 1.0 and m["validity"] == pytest.approx(4 / 6)
    assert np.isnan(generation_metrics(gen)["novelty"])
    assert np.isnan(validity([])) and np.isnan(uniqueness(["xx"]))
    sub = internal_diversity(gen * 10, max_samples=5, random_state=0)
    assert sub == internal_diversity(gen * 10, max_samples=5, random_state=0)
    with pytest.raises(ValueError, match="radius"):
        internal_diversity(gen, radius=0)
