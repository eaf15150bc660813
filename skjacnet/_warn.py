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


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the first frame outside skjacnet and the libraries above."""
    frame, level = sys._getframe(1), 1  # level 1: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)  # + 1: this function's own frame
