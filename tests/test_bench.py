"""The benchmark script runs (tiny sizes): it prints ratios, never asserts timings."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benchmark_quick_run(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.md"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| predict 1-D |" in text and "round trip" in text and "Peak RSS" in text


def test_deep_benchmark_runs_every_kind_with_its_peers(tmp_path):
    """benchmarks/deep.py end to end on one task per kind, with tiny budgets (the peers are optional)."""
    for peer in ("deel.torchlip", "monotonenorm", "zuko"):
        pytest.importorskip(peer)
    spec = importlib.util.spec_from_file_location("deep", ROOT / "benchmarks" / "deep.py")
    deep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deep)
    tasks = ["lip-dist3-d2", "mono-interactions-n500", "bij-twist-mild-d2"]
    assert deep.main(["--quick", "--steps", "20", "--depths", "2", "--tasks", *tasks, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "deep.md").read_text()
    for model in ("skjacnet n_layers=2", "deel-torchlip", "LMN", "i-ResNet", "zuko NSF", "round_trip"):
        assert model in text


def test_derivative_benchmark_runs(tmp_path):
    """benchmarks/derivatives.py (Muller-Brown energies and forces) end to end at one tiny size."""
    spec = importlib.util.spec_from_file_location("derivatives", ROOT / "benchmarks" / "derivatives.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    P = mod.sample(5, np.random.RandomState(0))
    E, G = mod.muller_brown(P)
    assert (E < mod.CUTOFF).all()
    h = 1e-6  # the analytic gradient the forces come from, against central differences
    fd = np.stack([(mod.muller_brown(P + h * e)[0] - mod.muller_brown(P - h * e)[0]) / (2 * h) for e in np.eye(2)], 1)
    np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-6)
    assert mod.main(["--quick", "--sizes", "25", "--seeds", "0", "1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "derivatives.md").read_text()
    assert "| 25 |" in text and "Sobolev MLP" in text
    # issue 16's ratios, from the means over both seeds
    rows = json.loads((tmp_path / "derivatives.json").read_text())
    assert {r["seed"] for r in rows} == {0, 1}
    mean = mod._means(rows)
    energies, forces = mean[25, "skjacnet, energies"][0], mean[25, "skjacnet, energies + forces"][0]
    assert f"| skjacnet | 25 | {energies / forces:.1f} |" in text and " of 2 |" in text
    assert mod.main(["--rows", str(tmp_path / "derivatives.json")]) == 0  # the same tables from the saved rows


def test_device_check_script_runs_on_cpu(capsys):
    spec = importlib.util.spec_from_file_location("gpu", ROOT / "benchmarks" / "gpu.py")
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    assert gpu.main(["--device", "cpu", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "pickle reload identical: True" in out and "monotone: True" in out and "training step" in out


def test_scale_benchmark_runs(tmp_path):
    """benchmarks/scale.py end to end on its smallest task (one process per cell), with its page and figure."""
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("scale", ROOT / "benchmarks" / "scale.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    md, js, fig = tmp_path / "scale.md", tmp_path / "scale.json", tmp_path / "scale.png"
    outputs = ["--md", str(md), "--json", str(js), "--figure", str(fig)]
    assert mod.main(["--sizes", "300", "1000", "--tasks", "calibration", *outputs]) == 0
    rows = json.loads(js.read_text())
    assert {r["model"] for r in rows} == {"JacobianCalibrator()", "Platt", "isotonic"}
    assert all(r["status"] == "ok" and 0 < r["score"] < 0.25 for r in rows)
    text = md.read_text()
    assert "x Platt" in text and "| 1 | 1e+03 | JacobianCalibrator() |" in text and fig.stat().st_size > 0


def test_convex_benchmark_runs(tmp_path):
    """benchmarks/convex.py end to end on its synthetic targets: skjacnet's shape model breaks no second
    difference, the unconstrained tree does (the violation measure can tell them apart)."""
    pytest.importorskip("pygam")
    spec = importlib.util.spec_from_file_location("convex", ROOT / "benchmarks" / "convex.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    js, md = tmp_path / "convex.json", tmp_path / "convex.md"
    args = ["--tasks", "synthetic", "--max-rows", "120", "--folds", "2", "--models", "jac_shape,picnn,hgb"]
    assert mod.main([*args, "--json", str(js), "--md", str(md)]) == 0
    rows = json.loads(js.read_text())
    assert {r["model"] for r in rows} == {"jac_shape", "picnn", "hgb"} and len(rows) == 12
    assert all(r["violations"] == 0.0 for r in rows if r["model"] == "jac_shape")
    assert any(r["violations"] > 0.0 for r in rows if r["model"] == "hgb")
    assert "convex_interaction" in md.read_text()
