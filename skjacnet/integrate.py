"""Pure tensor integrators: line integrals, the inverse ODE and Newton polish.

Nothing here knows about scikit-learn.  Line integrals are written as
integrals over t in [0, 1] of a *rate* ``rate(t) = J(c(t)) c'(t)``, which is
what both quadrature and torchdiffeq consume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from . import _warn
from ._compat import ODE_SOLVERS as SOLVERS
from ._compat import FixedGridODESolver

# torchdiffeq methods usable here (scipy_solver is not differentiable).
ODE_METHODS: tuple[str, ...] = tuple(sorted(m for m in SOLVERS if m != "scipy_solver"))
# fixed-grid solvers take a step size, not tolerances: read from torchdiffeq's own classes, so that
# methods added later (gl4, implicit_euler in newer releases) never silently take a single step
FIXED_STEP_METHODS = tuple(sorted(m for m, cls in SOLVERS.items() if issubclass(cls, FixedGridODESolver)))
MAX_ODE_STEPS = 20_000
MAX_FIXED_STEPS = 4096
MAX_PANELS = 1024
# Training-time cap of the adaptive Gauss-Kronrod rule: healthy fits use 1-4 panels (rtol 1e-4 to 1e-8);
# weights that diverge need the cap on every step (341 s for 30 Adam steps of a 2-D fit at 1024 panels), so
# training stops there and reports it once.  (The knot mesh keeps its cap: a capped mesh costs ~0.1 s.)
TRAIN_MAX_PANELS = 16

# Gauss-Kronrod 7/15 nodes and weights on [-1, 1] (QUADPACK's qk15).
_GK_NODES = (
    0.991455371120812639206854697526329,
    0.949107912342758524526189684047851,
    0.864864423359769072789712788640926,
    0.741531185599394439863864773280788,
    0.586087235467691130294144838258730,
    0.405845151377397166906606412076961,
    0.207784955007898467600689403773245,
    0.0,
)
_K15 = (
    0.022935322010529224963732008058970,
    0.063092092629978553290700663189204,
    0.104790010322250183839876322541518,
    0.140653259715525918745189590510238,
    0.169004726639267902826583426598550,
    0.190350578064785409913256402421014,
    0.204432940075298892414161999234649,
    0.209482141084727828012999174891714,
)
_G7 = (
    0.129484966168869693270611432679082,
    0.279705391489276667901467771423780,
    0.381830050505118944950369775488975,
    0.417959183673469387755102040816327,
)


def _gk_rule(dtype: torch.dtype, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor]:
    """Nodes on [0, 1], Kronrod weights and Gauss weights (zero off the Gauss nodes)."""
    half = torch.tensor(_GK_NODES, dtype=torch.float64)
    nodes = torch.cat([-half, half.flip(0)[1:]])
    k = torch.tensor(_K15, dtype=torch.float64)
    kw = torch.cat([k, k.flip(0)[1:]])
    g = torch.zeros(15, dtype=torch.float64)
    g[1::2] = torch.tensor(_G7 + _G7[:3][::-1], dtype=torch.float64)
    to = dict(dtype=dtype, device=device)
    return ((nodes + 1) / 2).to(**to), (kw / 2).to(**to), (g / 2).to(**to)


def _panel_rule(panels: int, dtype: torch.dtype, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor]:
    nodes, kw, gw = _gk_rule(dtype, device)
    starts = torch.arange(panels, dtype=dtype, device=device) / panels
    t = (starts[:, None] + nodes[None, :] / panels).reshape(-1)
    return t, (kw / panels).repeat(panels), (gw / panels).repeat(panels)


def gauss_kronrod_panels(
    rate: Callable[[Tensor], Tensor],
    *,
    rtol: float,
    atol: float,
    dtype: torch.dtype,
    device: torch.device | str,
    max_panels: int | None = None,
    report: Integration | None = None,
) -> tuple[int, Tensor]:
    """Smallest panel count (doubling) at which every entry meets ``|K15 - G7| <= atol + rtol |K15|``.

    Returns it with the K15 value (computed without autograd).  At ``max_panels``
    (default ``MAX_PANELS``) it stops: with a ``report`` the miss is counted there
    (training reports it once), else it warns.
    """
    cap = MAX_PANELS if max_panels is None else max_panels
    panels = 1
    with torch.no_grad():
        while True:
            t, kw, gw = _panel_rule(panels, dtype, device)
            values = rate(t)
            k = torch.tensordot(kw, values, dims=1)
            ok = bool(((torch.tensordot(kw - gw, values, dims=1)).abs() <= atol + rtol * k.abs()).all())
            if ok:
                return panels, k
            if panels >= cap:
                if report is not None:
                    report.capped += 1
                else:
                    _warn.warn(
                        f"Gauss-Kronrod quadrature did not meet rtol={rtol}, atol={atol} with "
                        f"{cap} panels; the result may be inaccurate.",
                        ConvergenceWarning,
                    )
                return panels, k
            panels *= 2


def gauss_kronrod_integral(
    rate: Callable[[Tensor], Tensor],
    *,
    rtol: float,
    atol: float,
    dtype: torch.dtype,
    device: torch.device | str,
    panels: int | None = None,
    max_panels: int | None = None,
    report: Integration | None = None,
) -> Tensor:
    """Integral over [0, 1] of ``rate(t)`` (t of shape (T,) -> (T, ...)) by composite GK15.

    With ``panels`` the rule is fixed (a smooth function of the inputs, the
    same for every batch); otherwise the panel count is searched for this
    batch by :func:`gauss_kronrod_panels` and only the accepted rule is
    differentiated (``max_panels`` and ``report`` as there).
    """
    if panels is None:
        panels, k = gauss_kronrod_panels(
            rate, rtol=rtol, atol=atol, dtype=dtype, device=device, max_panels=max_panels, report=report
        )
        if not torch.is_grad_enabled():
            return k
    t, kw, _ = _panel_rule(panels, dtype, device)
    return torch.tensordot(kw, rate(t), dims=1)


class Integration:
    """How line integrals are evaluated: 'quadrature' or a torchdiffeq method.

    ``capped`` counts the training-time evaluations that stopped at their cap
    (``TRAIN_MAX_PANELS`` panels, ``max_knots`` knots) without meeting the tolerance.
    """

    def __init__(self, method: str, rtol: float, atol: float, adjoint: bool = False, max_knots: int = 200_000):
        self.method, self.rtol, self.atol = method, rtol, atol
        self.adjoint, self.max_knots = adjoint, max_knots
        self.capped = 0

    def __setstate__(self, state: dict) -> None:  # objects pickled before ``capped`` existed
        self.__dict__.update({"capped": 0, **state})

    def ode_kwargs(self, params: Sequence[Tensor]) -> dict:
        return dict(method=self.method, rtol=self.rtol, atol=self.atol, adjoint=self.adjoint, params=tuple(params))


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


def newton_polish(
    residual: Callable[[Tensor], Tensor],
    jacobian: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    max_iter: int = 50,
    tol: float | None = None,
    solve: Callable[[Tensor, Tensor], Tensor] | None = None,
    target: Tensor | None = None,
) -> tuple[Tensor, bool]:
    """Damped Newton on ``residual(x) = 0`` for a batch of points x (n, d).

    Each point halves its step until its residual norm decreases, so the
    iteration cannot diverge; it stops when every residual is below
    ``tol * (1 + |x|)`` (default 1e-13 in float64, 1e-7 in float32) or
    stalls at rounding level.  ``solve(x, r)``, when given, returns
    ``J(x)^-1 r`` directly (structured models) instead of a dense solve.
    ``target``, the y of ``residual = f(x) - y``, widens what a stall may
    leave to ``1e3 * tol * (1 + |x| + |y|)`` (else ``1e3 * tol * (1 + |x|)``):
    where the map is steep, |y| >> |x| and the residual's rounding floor is
    |y|'s (Newton still runs to the stall).
    """
    if tol is None:
        tol = 1e-13 if x.dtype == torch.float64 else 1e-7  # ~ rounding: Newton runs until it stalls
    y_norm = 0.0 if target is None else target.norm(dim=-1)
    with torch.no_grad():
        r = residual(x)
        norm = r.norm(dim=-1)
        for _ in range(max_iter):
            scale = tol * (1.0 + x.norm(dim=-1))
            todo = norm > scale
            if not bool(todo.any()):
                return x, True
            if solve is not None:  # a structured J^-1 r (no dense d x d Jacobian)
                step = solve(x, r)
            else:
                step = torch.linalg.solve(jacobian(x), r.unsqueeze(-1)).squeeze(-1)
            step = torch.where(todo.unsqueeze(-1), step, torch.zeros_like(step))
            improved = torch.zeros_like(todo)
            lam = torch.ones_like(norm)
            for _ in range(30):
                cand = x - lam.unsqueeze(-1) * step
                r_c = residual(cand)
                n_c = r_c.norm(dim=-1)
                ok = (n_c < norm) & todo & ~improved
                x = torch.where(ok.unsqueeze(-1), cand, x)
                r = torch.where(ok.unsqueeze(-1), r_c, r)
                norm = torch.where(ok, n_c, norm)
                improved = improved | ok
                lam = lam * 0.5
                if bool((improved | ~todo).all()):
                    break
            if not bool(improved.any()):
                # no point can improve: rounding level reached
                return x, bool((norm <= 1e3 * (scale + tol * y_norm)).all())
        return x, bool((norm <= tol * (1.0 + x.norm(dim=-1) + y_norm)).all())
