"""The source distribution: what a stranger downloads must carry its licence, citation and working tests."""

import os
import pathlib
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_sdist_ships_licence_docs_and_collectable_tests(tmp_path, monkeypatch):
    from setuptools import build_meta

    monkeypatch.chdir(ROOT)
    name = build_meta.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
        tar.extractall(tmp_path, filter="data")
    for needed in (
        "LICENSE", "CHANGELOG.md", "CITATION.cff", "README.md", "tests/conftest.py", "tests/kinds.py",
        "tests/attack.py", "docs/index.md", "docs/conf.py", "examples/plot_calibration_curve.py",
        "benchmarks/deep.py",
    ):  # fmt: skip
        assert needed in members, needed
    assert not any("__pycache__" in m or m.startswith(("docs/_build", "docs/auto_examples")) for m in members)
    # pytest collects the unpacked sdist's tests against the unpacked sdist's package, without errors
    unpacked = tmp_path / name.removesuffix(".tar.gz")
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=unpacked, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "error" not in run.stdout.lower().split("collected")[-1]


def test_the_metadata_names_the_licence_and_the_paper():
    text = (ROOT / "LICENSE").read_text()
    assert "BSD 3-Clause" in text
    cff = (ROOT / "CITATION.cff").read_text()
    assert "JacNet: Learning Functions with Structured Jacobians" in cff and "Lorraine" in cff
    assert "license = BSD-3-Clause" in (ROOT / "setup.cfg").read_text()  # an SPDX expression


def test_the_command_line_has_a_version_and_plain_help(capsys):
    import pytest

    from skjacnet import __main__ as cli
    from skjacnet import __version__

    run = subprocess.run([sys.executable, "-m", "skjacnet", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == f"skjacnet {__version__}"  # the real entry point
    for args in ([], ["demo"], ["reproduce"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main([*args, "--help"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0 and "``" not in out and "help" in out  # no raw RST in the help
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    assert "--seed SEED  seed" in capsys.readouterr().out.replace("\n", " ")


def test_reproduce_without_matplotlib_stops_before_any_fit(monkeypatch, capsys, tmp_path):
    import pytest

    from skjacnet import __main__ as cli
    from skjacnet.experiments import reproduce

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    monkeypatch.setattr(reproduce, "main", lambda *a: pytest.fail("fits started"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "pip install matplotlib" in capsys.readouterr().err
