"""Building blocks (modifiers, fingerprints, scorers, MPO) against GuacaMol's values."""

import pickle

import numpy as np
import pytest

from sklearn_lravae import chem

from ._reference import as_array, reference

MOLECULES = reference()["molecules"]
TARGET = reference()["fingerprint_target"]

MODIFIERS = {
    "gaussian(mu=3, sigma=1.5)": chem.gaussian_modifier(3, 1.5),
    "min_gaussian(mu=4, sigma=1)": chem.min_gaussian_modifier(4, 1),
    "max_gaussian(mu=7, sigma=2)": chem.max_gaussian_modifier(7, 2),
    "clipped(upper_x=0.75)": chem.clipped_modifier(upper_x=0.75),
    "clipped(upper_x=2, lower_x=8, high_score=0.9, low_score=0.1)": chem.clipped_modifier(
        upper_x=2, lower_x=8, high_score=0.9, low_score=0.1
    ),
    "thresholded_linear(threshold=5)": chem.thresholded_linear_modifier(5),
}


@pytest.mark.parametrize("case", sorted(MODIFIERS))
def test_modifiers_match_guacamol(case):
    ref = reference()["modifiers"]
    np.testing.assert_allclose(MODIFIERS[case](ref["x"]), ref[case], rtol=0, atol=1e-12)


def test_modifier_shapes():
    assert chem.min_gaussian_modifier(4, 1)(3.0) == 1.0  # below mu: fine
    assert chem.max_gaussian_modifier(4, 1)(5.0) == 1.0  # above mu: fine
    assert chem.gaussian_modifier(4, 2)(6.0) == pytest.approx(np.exp(-0.5))
    assert isinstance(chem.gaussian_modifier(0, 1)(0.5), float)
    down = chem.clipped_modifier(upper_x=0.0, lower_x=1.0)  # upper_x < lower_x: decreasing
    assert down([-1.0, 0.25, 2.0]).tolist() == [1.0, 0.75, 0.0]
    assert pickle.loads(pickle.dumps(down)) == down
    assert repr(chem.thresholded_linear_modifier(2)) == "thresholded_linear_modifier(threshold=2.0)"


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: chem.gaussian_modifier(0, 0), ValueError, "sigma must be > 0"),
        (lambda: chem.min_gaussian_modifier("a", 1), TypeError, "mu must be a finite real"),
        (lambda: chem.clipped_modifier(1.0, lower_x=1.0), ValueError, "must differ"),
        (lambda: chem.clipped_modifier(1.0, high_score=0, low_score=1), ValueError, "low_score"),
        (lambda: chem.thresholded_linear_modifier(0), ValueError, "threshold must not be 0"),
        (lambda: chem.ScoreModifier("cubic", a=1), ValueError, "kind must be one of"),
    ],
)
def test_modifier_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("kind", sorted(chem.FINGERPRINTS))
def test_fingerprint_similarities_match_guacamol(kind):
    ours = chem.tanimoto_similarity(TARGET, fingerprint=kind)(MOLECULES)
    ref = as_array(reference()["fingerprints"][kind])
    assert np.isnan(ref).sum() == 2
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def _extras(name):
    return as_array(reference()["extras"][name])


def test_arithmetic_means_and_weights_match_guacamol():
    np.testing.assert_allclose(
        chem.isomer_score("C7H8N2O2", mean_function="arithmetic")(MOLECULES),
        _extras("isomer_C7H8N2O2_arithmetic"),
        rtol=0,
        atol=1e-6,
    )
    median = chem.mpo_score(
        [
            chem.tanimoto_similarity("CC(C)C1CCC(C)CC1O"),
            chem.tanimoto_similarity("CC1(C)C2CCC1(C)C(=O)C2"),
        ],
        mean_function="arithmetic",
    )
    np.testing.assert_allclose(median(MOLECULES), _extras("median1_arithmetic"), atol=1e-6)
    weighted = chem.mpo_score(
        [chem.tanimoto_similarity(TARGET, "ECFP4"), chem.tanimoto_similarity(TARGET, "FCFP4")],
        mean_function="arithmetic",
        weights=[1, 3],
    )
    expected = _extras("weighted_arithmetic_ecfp4_fcfp4_1_3")
    np.testing.assert_allclose(weighted(MOLECULES), expected, rtol=0, atol=1e-6)


def test_descriptor_scores_match_guacamol_trivial_tasks():
    pioglitazone = "O=C1NC(=O)SC1Cc3ccc(OCCc2ncc(cc2)CC)cc3"
    target_mw = chem.descriptor_score("mol_weight")([pioglitazone])[0]
    mpo = chem.mpo_score(
        [
            chem.tanimoto_similarity(pioglitazone, modifier=chem.gaussian_modifier(0, 0.1)),
            chem.descriptor_score("mol_weight", chem.gaussian_modifier(target_mw, 10)),
            chem.descriptor_score("num_rotatable_bonds", chem.gaussian_modifier(2, 0.5)),
        ]
    )
    np.testing.assert_allclose(mpo(MOLECULES), _extras("pioglitazone_mpo"), rtol=0, atol=1e-6)
    logp8 = chem.descriptor_score("logp", chem.gaussian_modifier(8.0, 1))
    np.testing.assert_allclose(logp8(MOLECULES), _extras("logp_target_8"), rtol=0, atol=1e-6)
    tpsa = chem.descriptor_score("tpsa", chem.gaussian_modifier(150.0, 20.0))
    np.testing.assert_allclose(tpsa(MOLECULES), _extras("tpsa_target_150"), rtol=0, atol=1e-6)


def test_isomer_score_counts_hydrogens_and_total():
    score = chem.isomer_score("C2H6O")
    assert score(["CCO", "COC", "OCC"]).tolist() == [1.0, 1.0, 1.0]
    # C3H8O: C off by 1, H off by 2, O exact, 12 atoms instead of 9 (sigma 2)
    expected = (np.exp(-0.5) * np.exp(-2.0) * 1.0 * np.exp(-0.5 * 1.5**2)) ** 0.25
    assert score(["CCCO"])[0] == pytest.approx(expected, abs=1e-12)
    # an extra element only costs through the total: CH3Cl vs CH4 -> H 3/4, total 5/5
    assert chem.isomer_score("CH4")(["CCl"])[0] == pytest.approx(
        (1.0 * np.exp(-0.5) * 1.0) ** (1 / 3), abs=1e-12
    )


def test_parse_formula():
    assert chem.parse_formula("C11H24") == [("C", 11), ("H", 24)]
    assert chem.parse_formula("CHClBr") == [("C", 1), ("H", 1), ("Cl", 1), ("Br", 1)]
    for bad in ["", "c7h8", "C7H8-", "CH3CH3", "Xx2", 42]:
        with pytest.raises(ValueError, match="formula|element"):
            chem.parse_formula(bad)


def test_smarts_and_atom_count_scores():
    assert chem.smarts_score("[#9]")(["CF", "CC", "x"]).tolist()[:2] == [1.0, 0.0]
    assert chem.smarts_score("[#9]", inverse=True)(["CF", "CC"]).tolist() == [0.0, 1.0]
    counts = chem.atom_count_score("F")(["FC(F)(F)c1ccccc1", "CCO"])
    assert counts.tolist() == [3.0, 0.0]
    assert chem.atom_count_score("H")(["C"]).tolist() == [4.0]


def test_mpo_geometric_mean_and_nan():
    ones = chem.smarts_score("C")
    half = chem.descriptor_score(lambda mol: 0.25)
    score = chem.mpo_score([ones, half])
    assert score(["CC"])[0] == pytest.approx(0.5)
    assert chem.mpo_score([ones, half], weights=[1, 3])(["CC"])[0] == pytest.approx(0.25**0.75)
    assert chem.mpo_score([ones, half], mean_function="arithmetic")(["CC"])[0] == 0.625
    assert np.isnan(score(["C1CC", None, ""])).all()


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: chem.tanimoto_similarity("CCO", fingerprint="MACCS"), ValueError, "fingerprint"),
        (lambda: chem.tanimoto_similarity("C1CC"), ValueError, "target 'C1CC' is not a valid"),
        (lambda: chem.tanimoto_similarity(None), TypeError, "target must be a SMILES"),
        (lambda: chem.tanimoto_similarity("C", modifier=abs), TypeError, "modifier must be"),
        (lambda: chem.descriptor_score("logP"), ValueError, "descriptor must be one of"),
        (lambda: chem.descriptor_score(3), TypeError, "descriptor must be a name"),
        (lambda: chem.smarts_score("[C"), ValueError, "smarts must be a valid"),
        (lambda: chem.smarts_score("C", inverse="yes"), TypeError, "inverse must be"),
        (lambda: chem.atom_count_score("Q"), ValueError, "element 'Q'"),
        (lambda: chem.isomer_score("C2H6O", mean_function="median"), ValueError, "mean_fun"),
        (lambda: chem.mpo_score([]), TypeError, "scorers must be a non-empty list"),
        (lambda: chem.mpo_score([chem.qed]), TypeError, "MoleculeScorer"),
        (
            lambda: chem.mpo_score([chem.smarts_score("C")], weights=[1, 2]),
            ValueError,
            "one entry per scorer",
        ),
        (lambda: chem.mpo_score([chem.smarts_score("C")], weights=[0]), ValueError, "positive"),
    ],
)
def test_scorer_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_scorers_pickle_and_repr():
    scorer = chem.mpo_score(
        [
            chem.tanimoto_similarity(TARGET, "PHCO", chem.clipped_modifier(0.85)),
            chem.smarts_score("[#7]-c1ccc2ncsc2c1", inverse=True),
            chem.isomer_score("C9H10N2O2PF2Cl"),
        ],
        mean_function="arithmetic",
    )
    clone = pickle.loads(pickle.dumps(scorer))
    some = MOLECULES[15:20] + ["C1CC"]
    np.testing.assert_array_equal(clone(some), scorer(some))
    assert np.isfinite(scorer(some)[:-1]).all()
    assert repr(clone) == repr(scorer)
    assert repr(scorer).startswith("mpo_score([tanimoto_similarity(")
    assert "smarts_score('[#7]-c1ccc2ncsc2c1', inverse=True)" in repr(scorer)
