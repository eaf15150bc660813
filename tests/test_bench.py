"""The benchmark script runs (tiny sizes): it prints ratios, never asserts timings."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_benchmark_quick_run(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.md"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| predict 1-D |" in text and "round trip" in text and "Peak RSS" in text


def test_device_check_script_runs_on_cpu(capsys):
    spec = importlib.util.spec_from_file_location("gpu", ROOT / "benchmarks" / "gpu.py")
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    assert gpu.main(["--device", "cpu", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "pickle reload identical: True" in out and "monotone: True" in out and "training step" in out
