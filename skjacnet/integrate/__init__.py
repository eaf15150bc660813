"""Integrators: objects a network holds (``integrators``), and the pure tensor rules they use.

``mesh`` (exact knot-mesh quadrature of scalar derivatives), ``gauss_kronrod`` (composite GK15 on
[0, 1]), ``ode`` (torchdiffeq with bounded work) and ``newton`` (the damped Newton polish of an
inverse).  Nothing here knows about scikit-learn.
"""

from .gauss_kronrod import TRAIN_MAX_PANELS, gauss_kronrod_integral, gauss_kronrod_panels
from .integrators import (
    INTEGRATORS,
    METHODS,
    ClosedForm,
    GaussKronrod,
    Integrator,
    MeshQuadrature,
    NetworkQuadrature,
    exact_rule,
    make_integrator,
    register,
)
from .newton import newton_polish
from .ode import FIXED_STEP_METHODS, ODE_METHODS, ode_integral, ode_options, solve_ode

__all__ = [
    "ClosedForm", "FIXED_STEP_METHODS", "GaussKronrod", "INTEGRATORS", "Integrator", "METHODS", "MeshQuadrature",
    "NetworkQuadrature", "ODE_METHODS", "TRAIN_MAX_PANELS", "exact_rule", "gauss_kronrod_integral",
    "gauss_kronrod_panels", "make_integrator", "newton_polish", "ode_integral", "ode_options", "register", "solve_ode",
]  # fmt: skip
