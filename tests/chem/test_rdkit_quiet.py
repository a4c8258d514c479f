"""``rdkit_quiet`` silences RDKit and restores each log channel as it was."""

import pytest
from rdkit import RDLogger, rdBase

from sklearn_lravae.chem._smiles import mol_from_smiles, rdkit_quiet


@pytest.fixture
def restore_log():
    before = rdBase.LogStatus()
    yield
    for line in before.splitlines():
        name, _, state = line.partition(":")
        (RDLogger.EnableLog if state == "enabled" else RDLogger.DisableLog)(name)


@pytest.mark.parametrize("warning_enabled", [True, False])
def test_restores_each_channel(restore_log, warning_enabled):
    (RDLogger.EnableLog if warning_enabled else RDLogger.DisableLog)("rdApp.warning")
    RDLogger.EnableLog("rdApp.error")
    RDLogger.DisableLog("rdApp.info")
    before = rdBase.LogStatus()
    with rdkit_quiet():
        assert "rdApp.error:disabled" in rdBase.LogStatus()
        assert mol_from_smiles("C1CC") is None  # an unclosed ring, silently
        with rdkit_quiet():  # nested
            pass
        assert "rdApp.error:disabled" in rdBase.LogStatus()
    assert rdBase.LogStatus() == before
