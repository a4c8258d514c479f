"""The GuacaMol / PMO tasks against GuacaMol's and TDC's own scores, and the name lookup."""

import pickle

import numpy as np
import pytest

from sklearn_lravae import chem
from sklearn_lravae._cli_commands import resolve_objective as _objective
from sklearn_lravae._cli_io import CLIError

from ._reference import as_array, reference

MOLECULES = reference()["molecules"]
TASK_NAMES = list(reference()["guacamol"])

REDISCOVERY_TARGETS = {
    "celecoxib_rediscovery": "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
    "troglitazone_rediscovery": "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
    "thiothixene_rediscovery": "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",
}
ISOMERS = {
    "isomers_c7h8n2o2": ["Cc1ccc([N+](=O)[O-])cc1N", "Nc1ccc(cc1)C(=O)NO"],
    "isomers_c9h10n2o2pf2cl": ["CC(N)c1cc(Cl)ccc1C(=O)NOP(F)F"],
    "isomers_c11h24": ["CCCCCCCCCCC", "CC(C)CC(C)(C)CC(C)C"],
}


def test_every_task_is_public_and_listed():
    assert TASK_NAMES == list(chem.TASKS)  # all 21, in GuacaMol's order
    assert len(TASK_NAMES) == 21
    for name in TASK_NAMES:
        assert getattr(chem, name) is chem.TASKS[name] is chem.get_objective(name)
        assert name in chem.__all__
        assert getattr(chem, name).__name__ == name


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_matches_guacamol(name):
    ref = as_array(reference()["guacamol"][name])
    ours = chem.get_objective(name)(MOLECULES)
    assert np.isnan(ref).sum() == 2  # the two invalid SMILES
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert np.nanmax(ours) <= 1.0 and np.nanmin(ours) >= 0.0


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_matches_tdc_except_aripiprazole(name):
    tdc = as_array(reference()["tdc"][name])
    ours = chem.get_objective(name)(MOLECULES)
    close = np.isclose(ours, tdc, rtol=0, atol=1e-6)[:-2]  # TDC raises on invalid SMILES
    if name == "aripiprazole_similarity":  # TDC takes FCFP4 where GuacaMol takes ECFP4
        assert not close.all()
    else:
        assert close.all()


def test_aripiprazole_with_fcfp4_is_tdcs_variant():
    target = "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl"
    tdc_variant = chem.tanimoto_similarity(target, "FCFP4", chem.clipped_modifier(0.75))
    tdc = as_array(reference()["tdc"]["aripiprazole_similarity"])
    np.testing.assert_allclose(tdc_variant(MOLECULES)[:-2], tdc[:-2], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REDISCOVERY_TARGETS))
def test_rediscovery_target_scores_exactly_one(name):
    target = REDISCOVERY_TARGETS[name]
    scores = chem.get_objective(name)([target, "c1ccccc1"])
    assert scores[0] == 1.0
    assert scores[1] < 0.2


@pytest.mark.parametrize("name", sorted(ISOMERS))
def test_isomers_of_the_exact_formula_score_one(name):
    scores = chem.get_objective(name)([*ISOMERS[name], "CCO"])
    assert scores[:-1].tolist() == [1.0] * len(ISOMERS[name])
    assert scores[-1] < 0.01


def test_target_based_mpos():
    # sitagliptin itself has the right properties but is penalised for being itself
    sitagliptin = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
    parts = chem.task_scorer("sitagliptin_mpo").scorers
    from rdkit import Chem

    mol = Chem.MolFromSmiles(sitagliptin)
    assert [p.score_mol(mol) for p in parts[1:]] == [1.0, 1.0, 1.0]
    assert chem.sitagliptin_mpo([sitagliptin])[0] == pytest.approx(np.exp(-50) ** 0.25)
    # deco hop start molecule: keeps its scaffold but also both decorations -> (1 + 0 + 0 + 1) / 4
    start = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
    assert chem.deco_hop([start])[0] == 0.5


@pytest.mark.parametrize("bad", ["not a molecule", "C1CC", "", None, float("nan")])
def test_invalid_smiles_score_nan(bad):
    for name in ["median1", "osimertinib_mpo", "isomers_c11h24", "valsartan_smarts"]:
        scores = chem.get_objective(name)(["CCO", bad])
        assert np.isfinite(scores[0]) and np.isnan(scores[1])


def test_n_jobs_gives_the_same_scores():
    some = MOLECULES[:12]
    for name in ["deco_hop", "sitagliptin_mpo", "mestranol_similarity"]:
        fn = chem.get_objective(name)
        np.testing.assert_array_equal(fn(some, n_jobs=2), fn(some, n_jobs=1))


def test_tasks_pickle_by_reference():
    for name in ["median2", "scaffold_hop"]:
        fn = chem.get_objective(name)
        assert pickle.loads(pickle.dumps(fn)) is fn


def test_task_scorer_shows_the_definition():
    scorer = chem.task_scorer("aripiprazole_similarity")
    assert scorer.fingerprint == "ECFP4"
    assert scorer.modifier == chem.clipped_modifier(upper_x=0.75)
    assert chem.task_scorer("deco_hop").mean_function == "arithmetic"
    assert chem.task_scorer("ranolazine_mpo").mean_function == "geometric"
    with pytest.raises(ValueError, match="name must be one of"):
        chem.task_scorer("qed")


def test_lookup_lists_every_objective():
    names = chem.list_objectives()
    assert names[:4] == ["qed", "logp", "sa_score", "penalized_logp"]
    assert names[4:] == TASK_NAMES
    assert list(chem.OBJECTIVES) == names
    assert chem.get_objective("qed") is chem.qed
    assert chem.get_objective(" Osimertinib_MPO ") is chem.osimertinib_mpo
    assert chem.get_objective("deco-hop") is chem.deco_hop
    with pytest.raises(TypeError):
        chem.OBJECTIVES["mine"] = len  # read-only


def test_lookup_unknown_name_suggests_and_lists():
    with pytest.raises(ValueError, match="did you mean 'albuterol_similarity'") as info:
        chem.get_objective("albuterol_similarty")
    assert all(name in str(info.value) for name in chem.list_objectives())
    with pytest.raises(ValueError, match="unknown objective 'zzz'; valid names: qed"):
        chem.get_objective("zzz")
    with pytest.raises(TypeError, match="name must be a string"):
        chem.get_objective(chem.qed)


def test_cli_accepts_every_name():
    for name in chem.list_objectives():
        fn, vectorized = _objective(name, True, False)
        assert vectorized is True
    fn, _ = _objective("zaleplon_mpo", True, False)
    zaleplon = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
    np.testing.assert_allclose(fn([zaleplon]), chem.zaleplon_mpo([zaleplon]))
    fn, _ = _objective("sa_score", True, False)  # lower is better: maximise its negative
    assert fn(["CCO"])[0] == -chem.sa_score(["CCO"])[0]
    with pytest.raises(CLIError, match="needs a molecule model"):
        _objective("median1", False, False)
    with pytest.raises(CLIError, match="did you mean 'median1'.*or module:function"):
        _objective("median_1", True, False)
