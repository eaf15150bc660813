"""The README's example and the demo command stay true to the code."""

import pathlib
import re

import numpy as np

from skjacnet.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_usage_example_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert np.max(np.abs(scope["X_back"] - scope["X"])) < 1e-10


def test_demo_command_prints_the_table(capsys):
    assert main(["demo", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "exp(x)" in out and "|x|" in out and "round trip" in out
