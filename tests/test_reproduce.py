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


def test_reproduce_reports_warnings_per_configuration(tmp_path):
    """No raw ConvergenceWarning escapes a run: each fit's warnings are recorded and reported once per table row."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    task = reproduce.TASKS[1]  # |x|: its 'MLPRegressor Adam 50 it' fit stops at its 50 iterations (0.1 s)
    X, Xt = reproduce.data(0)
    model = dict(reproduce.configurations(task, 0, include_umnn=False))["MLPRegressor Adam 50 it"]
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        row = reproduce.evaluate(task, model, X, Xt)
    assert not [w for w in escaped if issubclass(w.category, ConvergenceWarning)]
    assert row["warnings"] and row["warnings"][0].startswith("ConvergenceWarning: ")
    caught = [
        {"table": "|x|", "config": "MLPRegressor Adam 50 it", "target": None, "seed": s, "warning": row["warnings"][0]}
        for s in (0, 1, 2, 4)
    ] + [
        {"table": "prior suite", "config": "tanh", "target": t, "seed": s, "warning": "ConvergenceWarning: m"}
        for t, s in (("exp(x)", 1), ("2x-1", 0), ("2x-1", 3))
    ]
    lines = reproduce.warning_notes(caught)
    assert len(lines) == 2  # one per table row
    assert lines[0].startswith("|x| table, row 'MLPRegressor Adam 50 it', seeds 0-2, 4: ConvergenceWarning: ")
    assert "(expected: 50 Adam iterations" in lines[0]
    assert lines[1] == "prior suite table, row 'tanh', exp(x) seed 1; 2x-1 seeds 0, 3: ConvergenceWarning: m"
    text = reproduce.markdown({}, 1, [], [], {"p": {n: 0.0 for n in [*reproduce.SUITE, "mean"]}}, lines)
    assert "## Warnings raised by the fits" in text and f"- {lines[0]}" in text


def test_demo_labels_every_figure(capsys):
    """Each figure the demo prints says what it measures, over which range, and in-range vs extrapolated."""
    from skjacnet.__main__ import main

    assert main(["demo", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "mean |prediction - truth|" in out and "fit time in seconds" in out
    assert "inside (" in out and "extrapolated (" in out  # the test error split at the training x range
    inverse = [line for line in out.splitlines() if " for y in [" in line]
    assert len(inverse) == 2  # the inverse error over the training targets and over the test targets, labelled
    assert "the training targets (inverting inside the data)" in inverse[0]
    assert float(inverse[0].split()[0]) < 0.1  # where inverting is meaningful the inverse is close to log
    assert "the test targets (mostly extrapolated)" in inverse[1]
    assert "worst at y = " in out and "tails are a guess" in out  # the large figure is explained on the spot
    assert "round trip, max |inverse(predict(x)) - x| over the 100 test x" in out
    assert "smallest slope" in out and "largest |slope|" in out and "x in [-1000, 1000]" in out
