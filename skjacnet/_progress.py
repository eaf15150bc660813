"""Training progress: MLPRegressor-style lines and an optional tqdm bar.

verbose 0: silent.  verbose 1: one line per epoch on stdout (as MLPRegressor).
verbose >= 2: a progress bar on stderr instead, with the loss (and validation
score) beside it and the stopping reason below, drawn by tqdm when it is
installed (an optional dependency: without it the per-epoch lines are shown).
Lines and a bar at once interleaved on a terminal, so the bar replaces them.
"""

from __future__ import annotations

import sys
from typing import Any

from . import _warn


class Progress:
    """Report per-epoch training progress at the requested verbosity."""

    def __init__(self, verbose: int, total: int, desc: str) -> None:
        self.lines = verbose >= 1
        self.bar: Any = None
        if verbose >= 2:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                _warn.warn(
                    "verbose >= 2 shows a progress bar with tqdm, which is not installed "
                    "(pip install tqdm); printing the per-epoch lines only.",
                    UserWarning,
                )
            else:
                self.bar = tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, dynamic_ncols=True)

    def line(self, msg: str) -> None:
        """A per-epoch line (verbose 1, or 2 without tqdm)."""
        if self.lines and self.bar is None:
            print(msg)

    def final(self, msg: str) -> None:
        """The stopping reason: a line at verbose 1, below the bar at 2."""
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        elif self.lines:
            print(msg)

    def epoch(self, **postfix: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)
            self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
