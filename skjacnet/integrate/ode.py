"""torchdiffeq as an integrator: line integrals as ODEs, bounded work, and the inverse ODE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from .._compat import ODE_SOLVERS as SOLVERS
from .._compat import FixedGridODESolver

# torchdiffeq methods usable here (scipy_solver is not differentiable).
ODE_METHODS: tuple[str, ...] = tuple(sorted(m for m in SOLVERS if m != "scipy_solver"))
# fixed-grid solvers take a step size, not tolerances: read from torchdiffeq's own classes, so that
# methods added later (gl4, implicit_euler in newer releases) never silently take a single step
FIXED_STEP_METHODS = tuple(sorted(m for m, cls in SOLVERS.items() if issubclass(cls, FixedGridODESolver)))
MAX_ODE_STEPS = 20_000
MAX_FIXED_STEPS = 4096


def fixed_step_count(method: str, rtol: float, atol: float) -> int:
    """Steps for a fixed-grid solver so that its global error ~ max(rtol, atol)."""
    order = getattr(SOLVERS[method], "order", 4)
    tol = max(min(rtol, 1.0), min(atol, 1.0), 1e-300)
    return int(min(MAX_FIXED_STEPS, max(1, math.ceil(tol ** (-1.0 / order)))))


def _max_norm(tensor: Tensor) -> Tensor:
    return tensor.abs().max()


def ode_options(method: str, rtol: float, atol: float) -> dict:
    if method in FIXED_STEP_METHODS:
        return {"step_size": 1.0 / fixed_step_count(method, rtol, atol)}
    # max norm: the tolerance holds for every entry of the batch, not for the
    # batch's RMS (torchdiffeq's default), which hides one bad path among many
    return {"max_num_steps": MAX_ODE_STEPS, "norm": _max_norm}


class _Field(nn.Module):
    """Wraps a right-hand side so odeint_adjoint can find its parameters."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        return self.fn(t, y)


def solve_ode(
    fn: Callable[[Tensor, Tensor], Tensor],
    y_init: Tensor,
    *,
    method: str,
    rtol: float,
    atol: float,
    adjoint: bool = False,
    params: Sequence[Tensor] = (),
) -> Tensor:
    """State at t = 1 of dy/dt = fn(t, y), y(0) = y_init, with bounded work.

    torchdiffeq signals failure with AssertionError (underflow in dt, step
    limit); those become a RuntimeError that says what to change.
    """
    t = torch.tensor([0.0, 1.0], dtype=y_init.dtype, device=y_init.device)
    kwargs = dict(rtol=rtol, atol=atol, method=method, options=ode_options(method, rtol, atol))
    try:
        if adjoint:
            params = tuple(p for p in params if p.requires_grad)
            out = odeint_adjoint(_Field(fn), y_init, t, adjoint_params=params, **kwargs)
        else:
            out = odeint(fn, y_init, t, **kwargs)
    except AssertionError as exc:
        raise RuntimeError(
            f"The ODE solver '{method}' failed ({exc}). Loosen rtol/atol, or use "
            "method='quadrature', which cannot fail this way."
        ) from None
    return out[-1]


def ode_integral(rate: Callable[[Tensor], Tensor], shape: torch.Size, **kwargs) -> Tensor:
    """Integral over [0, 1] of ``rate(t)`` (scalar t) through torchdiffeq."""
    template = kwargs.pop("template")
    y_init = torch.zeros(shape, dtype=template.dtype, device=template.device)
    return solve_ode(lambda t, y: rate(t), y_init, **kwargs)
