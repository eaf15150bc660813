"""Integration options the fitted network cannot use: said once per fit, never ignored in silence.

A search over ``rtol`` on a structure integrated in closed form ('potential', the default on several
features, and 'coupling') scores every value alike; so does one over ``adjoint`` without an ODE method.
Whether an option can act is read from the fitted network's integrators (not from the parameter names),
so that a structure or integrator added later is judged by what it holds.
"""

from __future__ import annotations

import inspect

import torch

from . import _warn
from .constraints import numerical_alternative
from .exceptions import InertOptionWarning

# the options the integrators read; tol_annealing only moves their rtol, atol during training
TOLERANCES = ("rtol", "atol", "tol_annealing")


def _changed(est, names: tuple[str, ...]) -> list[str]:
    """The names among ``names`` whose value differs from the estimator's own default (its ``__init__``)."""
    params = inspect.signature(type(est).__init__).parameters
    return [n for n in names if n in params and getattr(est, n) != params[n].default]


def _numerical_choice(est) -> str:
    """A structure this estimator accepts whose integral is numerical, for the warning's fix."""
    accepted = {o for c in est._parameter_constraints.get("constraint", []) for o in getattr(c, "options", ())}
    return numerical_alternative(accepted)


def _closed_form(model: torch.nn.Module) -> bool:
    """Whether nothing in ``model`` is integrated numerically: no integrator ``numerical`` (a network without
    integrators integrates nothing either)."""
    return not any(it.numerical for it in model.integrators())


def inert_options(est, model: torch.nn.Module) -> list[str]:
    """The integration options set off their defaults that ``model``'s integrators cannot use.

    In closed form (:func:`_closed_form`) none of ``rtol``, ``atol``, ``tol_annealing``, ``adjoint`` can act;
    otherwise ``adjoint`` acts only where some integrator ``uses_adjoint`` (the torchdiffeq methods, the only
    ones that back-propagate through a solver).
    """
    if _closed_form(model):
        return _changed(est, (*TOLERANCES, "adjoint"))
    if not any(it.uses_adjoint for it in model.integrators()):
        return _changed(est, ("adjoint",))
    return []


def warn_inert_options(est, model: torch.nn.Module, structure: str) -> None:
    """One :class:`InertOptionWarning` for the options of :func:`inert_options`, naming why and the fix.

    Called once per fit, with the network built for it (``structure``: its ``constraint_``).
    """
    inert = inert_options(est, model)
    if not inert:
        return
    given = ", ".join(f"{n}={getattr(est, n)!r}" for n in inert)
    them, has, default = ("it", "has", "default") if len(inert) == 1 else ("them", "have", "defaults")
    if _closed_form(model):
        chosen = " (constraint='auto' on several features)" if getattr(est, "constraint", None) == "auto" else ""
        why = (
            f"constraint_={structure!r}{chosen} is integrated in closed form (no mesh, no quadrature, no ODE), so "
            f"no integration option can change what it computes. Remove {them} from the search (or leave {them} at "
            f"the {default}), or choose a structure integrated numerically, such as {_numerical_choice(est)}"
        )
    else:
        why = (
            f"adjoint acts only with an ODE method, and this fit integrates with method={est.method!r} "
            f"(constraint_={structure!r}). Leave adjoint=False, or choose an ODE method such as method='dopri5'"
        )
    _warn.warn(
        f"{given} {has} no effect on this fit: {why}. A search over {them} scores every value alike.",
        InertOptionWarning,
    )
