"""Damped Newton polish of an inverse: the map predict computes, solved to rounding."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


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
