"""Training progress: MLPRegressor-style lines and an optional tqdm bar.

verbose 0: silent.  verbose >= 1: one line per epoch on stdout (as
MLPRegressor).  verbose >= 2: also a progress bar on stderr, with tqdm when it
is installed (an optional dependency: without it the lines alone are shown).
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
                # stderr, so that stdout carries only the MLPRegressor-style lines
                self.bar = tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, dynamic_ncols=True)

    def line(self, msg: str) -> None:
        if not self.lines:
            return
        if self.bar is not None:
            self.bar.write(msg, file=sys.stdout)  # printed above the bar, which stays intact
        else:
            print(msg)

    def epoch(self, **postfix: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)
            self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
