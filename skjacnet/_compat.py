"""Every private import from scikit-learn and torchdiffeq, in one place.

Checked against scikit-learn 1.6-1.9 and torchdiffeq 0.2.3-0.2.5.  If one of these moves, this is
the only module to change.
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight
from torchdiffeq._impl.odeint import SOLVERS as ODE_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

__all__ = ["Interval", "StrOptions", "_fit_context", "_check_sample_weight", "ODE_SOLVERS", "FixedGridODESolver"]
