"""The broad benchmark (issue 41): its catalogue loads offline with sound priors and split, and its runner runs."""

import json
import pathlib
import sys
from collections import Counter

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # broad.py imports broad_data from its own directory

import broad_data as bd  # noqa: E402

MIN_TABLES = {"regression": 30, "classification": 10, "calibration": 6, "curves": 6}


def test_catalogue_counts_and_split():
    counts = Counter(e.task for e in bd.CATALOGUE.values())
    for task, n in MIN_TABLES.items():
        assert counts[task] >= n, (task, counts[task])
    assert set(bd.HALF) == set(bd.CATALOGUE)
    assert set(bd.HALF.values()) == {"choose", "confirm"}
    for task in bd.TASKS:
        halves = Counter(bd.HALF[n] for n in bd.names(task))
        assert halves["choose"] > 0 and halves["confirm"] > 0, (task, halves)
        assert abs(halves["choose"] - halves["confirm"]) <= 1, (task, halves)  # halves, as drawn


@pytest.mark.parametrize("name", sorted(bd.CATALOGUE))
def test_entry_loads_with_its_priors(name):
    e = bd.CATALOGUE[name]
    X, y, names, mono, cvx = bd.load(name)
    d = len(e.features)
    assert X.dtype == np.float64 and X.shape == (e.n_rows, d) and y.shape == (e.n_rows,)
    assert np.isfinite(X).all() and np.isfinite(y).all()
    assert names == list(e.features) and len(mono) == d and len(cvx) == d
    assert set(mono) <= {-1, 0, 1} and set(cvx) <= {-1, 0, 1}
    assert set(e.monotone) | set(e.convexity) <= set(e.features)  # priors name real features
    for f in e.features:  # every constrained feature says why
        if e.monotone.get(f, 0) or e.convexity.get(f, 0):
            assert e.reasons.get(f, "").strip(), (name, f)
    assert 98 <= e.n_rows <= bd.MAX_ROWS and e.source and e.target and e.cleaning
    assert np.ptp(X, axis=0).max() > 0
    if e.task == "regression":
        assert any(mono), name  # every regression table carries a monotone prior
    if e.task in ("classification", "calibration"):
        assert set(np.unique(y)) == {0, 1}
    if e.task in ("calibration", "curves"):
        assert d == 1 and (any(mono) or any(cvx))


def _broad():
    import broad  # benchmarks/ is on sys.path (above); imported here so that collecting costs no torch start

    return broad


def test_runner_end_to_end(tmp_path):
    broad = _broad()
    out = {k: tmp_path / f"r.{k}" for k in ("json", "md", "png")}
    argv = ["--task", "regression", "--tables", "cpus", "--max-rows", "120", "--folds", "2", "--models", "ridge,hgb",
            "--json", str(out["json"]), "--md", str(out["md"]), "--figure", str(out["png"])]  # fmt: skip
    assert broad.main(argv) == 0
    records = json.loads(out["json"].read_text())["records"]
    assert sorted((r["model"], r["split"]) for r in records) == [
        (m, f"fold{i}") for m in ("hgb", "ridge") for i in (0, 1)
    ]
    for r in records:
        assert r["n_train"] + r["n_test"] == 120 and "error" not in r
        assert np.isfinite([r["r2"], r["rmse"], r["fit_s"], r["predict_s"]]).all() and r["n_warnings"] >= 0
    text = out["md"].read_text()
    assert "## Half: choose" in text and "| cpus | 120 |" in text and "mean rank" in text
    assert out["png"].stat().st_size > 0
    with pytest.raises(SystemExit):  # an existing file is continued only on request
        broad.main(argv)
    assert broad.main([*argv, "--resume"]) == 0  # nothing left to fit: the same records
    assert len(json.loads(out["json"].read_text())["records"]) == len(records)


def test_metrics_of_the_runner():
    broad = _broad()
    y, p = np.array([0, 0, 1, 1.0]), np.array([0.1, 0.4, 0.6, 0.9])
    assert broad.ece(y, p) == pytest.approx(0.25)  # four bins, each off by its probability's distance
    m = broad.metrics("calibration", y, p)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2)) and np.isfinite(m["log_loss"])
    Xtr, Xte = np.array([[0.0], [1.0]]), np.array([[0.5], [2.0]])
    c = broad.metrics("curves", np.array([1.0, 2.0]), np.array([1.0, 5.0]), Xtr, Xte)
    assert c["max_abs_err"] == 3.0 and c["max_err_beyond"] == 3.0 and c["n_beyond"] == 1
    names = [s[0] for s in broad.splits("curves", np.arange(20.0)[:, None], np.arange(20.0), 2)]
    assert names == ["x_above", "x_below", "random0", "random1"]
