"""The demo behind ``lravae demo``, in process (the CLI test runs it as a subprocess)."""

import numpy as np

from sklearn_lravae._demo import run_demo


def test_quick_demo_results_table_and_figure(tmp_path, capsys):
    out = tmp_path / "demo.png"
    res = run_demo(output=out, gamma=0.5, quick=True, random_state=0)
    assert list(res) == ["gamma=0", "gamma=0.5", "PCA"]
    for name in ("gamma=0", "gamma=0.5"):
        row = res[name]
        assert row["epochs"] == 3  # quick: three epochs
        assert np.isfinite(row["elbo_test"]) and row["elbo_test"] < 0
        assert row["lre_scale1"] >= 0 and row["lre_scale2"] >= 0
        assert 0.1 < row["accuracy"] <= 1.0 and row["fit_seconds"] > 0
    assert set(res["PCA"]) == {"accuracy"} and res["PCA"]["accuracy"] > 0.5
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "1347 train / 450 test images, latent dim 8, max_epochs 3" in printed
    assert "LRE N(0,4I)" in printed and f"wrote {out}" in printed
    table = [line.split() for line in printed.splitlines() if line.startswith("gamma=")]
    assert [row[0] for row in table] == ["gamma=0", "gamma=0.5"]
    assert float(table[0][2]) == round(res["gamma=0"]["elbo_test"], 2)


def test_demo_without_figure_or_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_demo(output=None, quick=True, verbose=False, random_state=1)
    assert sorted(res) == ["PCA", "gamma=0", "gamma=0.1"]
    assert capsys.readouterr().out == "" and list(tmp_path.iterdir()) == []
