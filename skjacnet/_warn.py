"""Warnings attributed to the user's line of code.

A fixed ``stacklevel`` is wrong as soon as the same warning can be reached
through different call depths (fit directly, through a Pipeline, inside
GridSearchCV, from an integrator deep in predict).  Here the level is found
by walking out of skjacnet's, scikit-learn's and joblib's own frames (scikit-learn's
searches and cross-validation call fit through joblib even when sequential).
"""

from __future__ import annotations

import os
import sys
import warnings

import joblib
import sklearn

_INTERNAL = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sys.modules[__package__], sklearn, joblib)
)


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the first frame outside skjacnet, scikit-learn and joblib."""
    frame, level = sys._getframe(1), 1  # level 1: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)  # + 1: this function's own frame
