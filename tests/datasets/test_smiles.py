"""load_smiles_csv: MOSES / ZINC style files, columns, delimiters and errors."""

import gzip

import numpy as np
import pytest

from sklearn_lravae.datasets import load_smiles_csv


def test_load_smiles_csv_moses_style_gz(tmp_path):
    path = tmp_path / "train.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("SMILES\nCCO\nc1ccccc1\nCC(=O)O\n")
    assert load_smiles_csv(path).tolist() == ["CCO", "c1ccccc1", "CC(=O)O"]
    sub, idx = load_smiles_csv(path, n_samples=2, random_state=0, return_index=True)
    assert sub.tolist() == np.array(["CCO", "c1ccccc1", "CC(=O)O"], dtype=object)[idx].tolist()


def test_load_smiles_csv_zinc_style_strips_quoted_newlines(tmp_path):
    path = tmp_path / "zinc.csv"
    path.write_text('smiles,logP,qed,SAS\n"CCO\n",-0.0014,0.4,1.9\n"c1ccccc1\n",1.68,0.44,1.0\n')
    assert load_smiles_csv(path).tolist() == ["CCO", "c1ccccc1"]
    assert load_smiles_csv(path, column="logP").tolist() == ["-0.0014", "1.68"]


def test_load_smiles_csv_columns_and_errors(tmp_path):
    path = tmp_path / "mols.tsv"
    path.write_text("id\tstructure\n1\tCCN\n2\tCCC\n")
    with pytest.raises(ValueError, match=r"no column named.*columns: \['id', 'structure'\]"):
        load_smiles_csv(path, delimiter="\t")
    assert load_smiles_csv(path, column="structure", delimiter="\t").tolist() == ["CCN", "CCC"]
    with pytest.raises(ValueError, match="column='smi' is not in"):
        load_smiles_csv(path, column="smi", delimiter="\t")
    single = tmp_path / "single.csv"
    single.write_text("mol\nCO\n")
    assert load_smiles_csv(single).tolist() == ["CO"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_smiles_csv(empty)
    with pytest.raises(ValueError, match="not an existing file"):
        load_smiles_csv(tmp_path / "missing.csv")
