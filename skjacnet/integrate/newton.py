"""Damped Newton polish of an inverse: the map predict computes, solved to rounding."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def newton_polish(
    f: Callable[[Tensor], Tensor],
    jacobian: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    max_iter: int = 50,
    tol: float | None = None,
    solve: Callable[[Tensor, Tensor], Tensor] | None = None,
    rows_independent: bool = True,
) -> tuple[Tensor, bool]:
    """Damped Newton on ``f(x) = y`` for a batch of points x (n, d), from the first guess ``x``.

    Each point halves its step until its residual norm decreases, so the iteration cannot diverge (the
    Newton step is a descent direction of ||f(x) - y||^2 wherever J is nonsingular).  A point is done when
    its residual is below ``tol * (1 + |x|)`` (default 1e-13 in float64, 1e-7 in float32), or when no step
    improves it (rounding level): then ``1e3 * tol * (1 + |x| + |y|)`` is what it may leave, since where
    the map is steep |y| >> |x| and the residual's rounding floor is |y|'s.  Only the points not yet done
    are evaluated (most converge in a few steps; the slowest set the iteration count).  ``solve(x, r)``,
    when given, returns ``J(x)^-1 r`` directly (structured models) instead of a dense solve.
    ``rows_independent=False`` (an adaptive ODE, whose steps serve the whole batch): f is evaluated on the
    whole batch every time, so the root is the one ``predict`` on that batch computes.  Returns the points
    and whether every one reached its bound.
    """
    if tol is None:
        tol = 1e-13 if x.dtype == torch.float64 else 1e-7  # ~ rounding: Newton runs until it stalls
    with torch.no_grad():
        x = x.clone()

        def evaluate(rows_x: Tensor, rows: Tensor) -> Tensor:
            """f at the points rows_x of the rows ``rows`` (in their batch, when rows are not independent)."""
            if rows_independent:
                return f(rows_x)
            full = x.clone()
            full[rows] = rows_x
            return f(full)[rows]

        r = f(x) - y
        norm = r.norm(dim=-1)
        y_norm = y.norm(dim=-1)
        active = torch.arange(x.shape[0], device=x.device)
        ok = True
        for _ in range(max_iter):
            xa = x[active]
            todo = norm[active] > tol * (1.0 + xa.norm(dim=-1))
            active, xa = active[todo], xa[todo]
            if active.numel() == 0:
                return x, ok
            ra, na, ya = r[active], norm[active], y[active]
            step = solve(xa, ra) if solve is not None else torch.linalg.solve(jacobian(xa), ra.unsqueeze(-1))[..., 0]
            improved = torch.zeros_like(todo[todo])
            lam = 1.0
            for _ in range(30):
                pending = (~improved).nonzero()[:, 0]
                cand = xa[pending] - lam * step[pending]
                r_c = evaluate(cand, active[pending]) - ya[pending]
                n_c = r_c.norm(dim=-1)
                better = n_c < na[pending]
                rows = pending[better]
                xa[rows], ra[rows], na[rows] = cand[better], r_c[better], n_c[better]
                improved[rows] = True
                lam *= 0.5
                if bool(improved.all()):
                    break
            x[active], r[active], norm[active] = xa, ra, na
            stalled = ~improved  # no step improves these: rounding level
            if bool(stalled.any()):
                bound = 1e3 * tol * (1.0 + xa[stalled].norm(dim=-1) + y_norm[active[stalled]])
                ok &= bool((na[stalled] <= bound).all())
                active = active[improved]
        rest = norm[active] <= tol * (1.0 + x[active].norm(dim=-1) + y_norm[active])
        return x, ok and bool(rest.all())
