"""Every private import from scikit-learn, torchdiffeq and torch, in one place.

Checked against scikit-learn 1.6-1.9, torchdiffeq 0.2.3-0.2.5 and torch 2.5-2.13 (``_strong_wolfe``, the line
search of ``torch.optim.LBFGS``, unchanged since torch 1.4).  If one of these moves, this is the only module to
change.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight
from torch.optim.lbfgs import _strong_wolfe
from torchdiffeq._impl.odeint import SOLVERS as ODE_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

__all__ = [
    "Interval",
    "StrOptions",
    "_fit_context",
    "_check_sample_weight",
    "ODE_SOLVERS",
    "FixedGridODESolver",
    "_strong_wolfe",
]
