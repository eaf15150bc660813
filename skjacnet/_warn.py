"""Warnings attributed to the user's line of code.

A fixed ``stacklevel`` is wrong as soon as the same warning can be reached
through different call depths (fit directly, through a Pipeline, inside
GridSearchCV, from an integrator deep in predict).  Here the level is found
by walking out of the frames of skjacnet and of the libraries it calls back
through: scikit-learn and joblib (searches and cross-validation call fit through
joblib even when sequential), torch (``nn.Module.__call__``, ``no_grad``) and
torchdiffeq (ODE right-hand sides).  In a joblib worker process or thread there
is no user frame: the warning lands on the worker's entry point.
"""

from __future__ import annotations

import os
import sys
import warnings

import joblib
import sklearn
import torch
import torchdiffeq

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep
    for m in (sys.modules[__package__], sklearn, joblib, torch, torchdiffeq)
)


_OWN = _INTERNAL[0]  # skjacnet itself
_EXPERIMENTS = os.path.join(_OWN, "experiments") + os.sep  # skjacnet's own callers of the estimators


def _launcher(filename: str) -> bool:
    """The interpreter's own entry frames (``python -m``: runpy), where no user code is."""
    return filename.startswith("<frozen") or os.path.basename(filename) == "runpy.py"


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the first frame outside skjacnet and the libraries above.

    When that frame is the interpreter's launcher (``python -m skjacnet reproduce`` calls fit from skjacnet's
    own command line), the experiment's line that called the estimator is named instead of ``<frozen runpy>``.
    """
    frame, level = sys._getframe(1), 1  # level 1: the caller of this function
    own = None  # the experiment line that called in (else the outermost skjacnet frame)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        name = frame.f_code.co_filename
        if name.startswith(_EXPERIMENTS) and (own is None or not own[1]):
            own = (level, True)
        elif name.startswith(_OWN) and (own is None or not own[1]):
            own = (level, False)
        frame, level = frame.f_back, level + 1
    if frame is not None and own is not None and _launcher(frame.f_code.co_filename):
        level = own[0]
    warnings.warn(message, category, stacklevel=level + 1)  # + 1: this function's own frame
