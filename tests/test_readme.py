"""The README's usage snippet runs and does what it says."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # the snippet's grid search fits 10 VAEs x 30 epochs: 2.4 min on the busy box
def test_readme_snippet_runs():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    assert len(code.strip().splitlines()) <= 16
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["search"].best_params_["lravae__gamma"] in (0.0, 0.1, 1.0)
    assert ns["Z"].shape == (1797, 8)
    assert ns["X_new"].shape == (1797, 64)
    assert set(ns["search"].cv_results_) >= {"mean_test_elbo", "mean_test_lre"}
