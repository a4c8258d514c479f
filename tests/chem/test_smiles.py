"""SMILES helpers: input checks, parsing, canonical form, RDKit log silencing."""

import numpy as np
import pytest
from rdkit import Chem

from sklearn_lravae.chem._smiles import (
    canonical_smiles,
    check_smiles_list,
    format_indices,
    mol_from_smiles,
    rdkit_quiet,
)


def test_check_smiles_list_accepts_sequences_arrays_and_one_column():
    assert check_smiles_list(["CCO", None, b"CN"]) == ["CCO", None, "CN"]
    assert check_smiles_list(("C",)) == ["C"]
    assert check_smiles_list(np.array(["CCO", "CN"], dtype=object)) == ["CCO", "CN"]
    assert check_smiles_list(np.array([["CCO"], ["CN"]], dtype=object)) == ["CCO", "CN"]
    assert check_smiles_list(np.array(["C", np.nan], dtype=object)) == ["C", None]
    assert check_smiles_list(iter(["C", "N"])) == ["C", "N"]


def test_check_smiles_list_accepts_pandas():
    pd = pytest.importorskip("pandas")
    assert check_smiles_list(pd.Series(["CCO", None])) == ["CCO", None]
    assert check_smiles_list(pd.DataFrame({"smiles": ["CN"]})) == ["CN"]
    with pytest.raises(ValueError, match="exactly one column of SMILES, got 2 columns"):
        check_smiles_list(pd.DataFrame({"a": ["C"], "b": ["N"]}))


@pytest.mark.parametrize(
    "smiles, error, match",
    [
        ("CCO", TypeError, r"got a single string; wrap it in a list: \['CCO'\]"),
        (b"CCO", TypeError, "single string"),
        (np.array([["C", "N"]]), ValueError, r"1-D \(or a single column\).*shape \(1, 2\)"),
        (np.zeros((1, 1, 1)), ValueError, "1-D"),
        (5, TypeError, "iterable of SMILES strings, got int"),
        (["C", 3], TypeError, "got int at index 1"),
    ],
)
def test_check_smiles_list_errors(smiles, error, match):
    with pytest.raises(error, match=match):
        check_smiles_list(smiles)


def test_check_smiles_list_names_the_argument():
    with pytest.raises(TypeError, match="training_smiles must be"):
        check_smiles_list("C", name="training_smiles")


def test_mol_from_smiles_and_canonical_smiles():
    mol = mol_from_smiles("OCC")
    assert mol.GetNumAtoms() == 3
    assert canonical_smiles("OCC") == "CCO" == Chem.MolToSmiles(mol)
    assert canonical_smiles("C1=CC=CC=C1") == "c1ccccc1"
    for bad in (None, "", "C1CC", "not a smiles"):
        assert mol_from_smiles(bad) is None and canonical_smiles(bad) is None


def test_unparsable_smiles_are_silent(capfd):
    assert mol_from_smiles("C1CC") is None
    assert "SMILES Parse Error" not in capfd.readouterr().err
    # the logger is enabled again afterwards
    with rdkit_quiet():
        Chem.MolFromSmiles("C1CC")
    assert "SMILES Parse Error" not in capfd.readouterr().err
    Chem.MolFromSmiles("C1CC")
    assert "SMILES Parse Error" in capfd.readouterr().err


def test_format_indices():
    assert format_indices([3, 17, 42]) == "[3, 17, 42]"
    assert format_indices([]) == "[]"
    assert format_indices(range(25), limit=3) == "[0, 1, 2, ... (25 in total)]"
