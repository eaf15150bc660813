"""The reproduction command: protocol, outputs, and that it runs end to end."""

import json

import numpy as np
import pytest

from skjacnet.experiments import reproduce


def test_protocol_data_is_the_papers():
    X, Xt = reproduce.data(3)
    assert X.shape == (5, 1) and Xt.shape == (100, 1)
    assert np.all(np.abs(X) <= 1) and np.all(np.abs(Xt) <= 2)
    assert reproduce.PAPER["max_iter"] == 50 and reproduce.PAPER["learning_rate_init"] == 0.01
    assert reproduce.PAPER["hidden_layer_sizes"] == (64,) and reproduce.PAPER["loss"] == "absolute_error"
    assert reproduce.PAPER["initial_point"] == 0.0 and reproduce.PAPER["tol_annealing"]


def test_reproduce_writes_figures_and_tables(tmp_path):
    pytest.importorskip("matplotlib")
    messages = []
    result = reproduce.run(1, tmp_path, log=messages.append)
    assert any("[  1/" in m for m in messages)
    for name in ("results.json", "results.md", "fig1_exp.png", "fig2_abs.png", "fig3_training.png", "fig4_peers.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    stored = json.loads((tmp_path / "results.json").read_text())
    exp = stored["summary"]["exp"]
    assert {"paper, faithful", "paper, unconstrained", "skjacnet defaults", "IsotonicRegression"} <= set(exp)
    faithful = exp["paper, faithful"]
    assert faithful["round_trip"]["max"] < 1e-8
    assert np.isfinite(faithful["test_mae"]["median"])
    assert "| paper, faithful |" in (tmp_path / "results.md").read_text()
    assert result["seeds"] == 1
