"""Damped Newton polish of an inverse: the map predict computes, solved to rounding."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def safe_norm(v: Tensor) -> Tensor:
    """The root mean square of each row of v (n, d): ``||v|| / sqrt(d)``, never above ``max |v_i|``.

    A plain norm squares its entries, so every row with an entry beyond the square root of the largest
    float (about 1.3e154 in float64, 1.8e19 in float32) would read as inf, and the norm of a row of
    entries near the largest float is itself beyond it; this one is finite for every finite row (its
    entries are divided by the largest before squaring) and inf or nan for the others.
    """
    scale = v.abs().amax(dim=-1)
    safe = torch.where(scale > 0, scale, 1.0)[..., None]  # an all-zero row: 0 / 1, not 0 / 0
    return scale * ((v / safe).norm(dim=-1) / v.shape[-1] ** 0.5)  # at most 1 times the largest entry


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
    """Damped Newton on ``f(x) = y`` from the first guess ``x``: the points and whether every one converged.

    See :func:`newton_solve`, which says which rows converged.
    """
    x, done = newton_solve(
        f, jacobian, x, y, max_iter=max_iter, tol=tol, solve=solve, rows_independent=rows_independent
    )
    return x, bool(done.all())


def newton_solve(
    f: Callable[[Tensor], Tensor],
    jacobian: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    *,
    max_iter: int = 50,
    tol: float | None = None,
    solve: Callable[[Tensor, Tensor], Tensor] | None = None,
    rows_independent: bool = True,
) -> tuple[Tensor, Tensor]:
    """Damped Newton on ``f(x) = y`` for a batch of points x (n, d), from the first guess ``x``.

    Each point halves its step until its residual norm decreases, so the iteration cannot diverge (the
    Newton step is a descent direction of ||f(x) - y||^2 wherever J is nonsingular).  Norms here are root
    mean squares (:func:`safe_norm`, which cannot overflow).  A point is done when
    its residual is below ``tol * (1 + |x|)`` (default 1e-13 in float64, 1e-7 in float32), or when no step
    improves it (rounding level): then ``1e3 * tol * (1 + |x| + |y|)`` is what it may leave, since where
    the map is steep |y| >> |x| and the residual's rounding floor is |y|'s.  Only the points not yet done
    are evaluated (most converge in a few steps; the slowest set the iteration count).  ``solve(x, r)``,
    when given, returns ``J(x)^-1 r`` directly (structured models) instead of a dense solve.
    ``rows_independent=False`` (an adaptive ODE, whose steps serve the whole batch): f is evaluated on the
    whole batch every time, so the root is the one ``predict`` on that batch computes.

    The Newton step is solved for the residual divided by its largest entry and scaled back with the
    damping factor, and the bounds are sums of products with tol (never inf for finite points), so that
    targets up to the float limit are solved like any other; a point whose residual is not finite is never
    done.

    Returns
    -------
    x : Tensor of shape (n, d)
        The points.
    done : Tensor of bool, shape (n,)
        Whether each point reached its bound.
    """
    if tol is None:
        tol = 1e-13 if x.dtype == torch.float64 else 1e-7  # ~ rounding: Newton runs until it stalls
    with torch.no_grad():
        x = x.clone()

        f_given = f

        def f(z: Tensor) -> Tensor:
            """f at the finite rows of z, nan at the others (an overflowed guess or step is no point of the map)."""
            finite = torch.isfinite(z).all(dim=-1)
            if bool(finite.all()):
                return f_given(z)
            out = torch.full((z.shape[0], y.shape[-1]), torch.nan, dtype=y.dtype, device=y.device)
            if bool(finite.any()):
                out[finite] = f_given(z[finite])
            return out

        def evaluate(rows_x: Tensor, rows: Tensor) -> Tensor:
            """f at the points rows_x of the rows ``rows`` (in their batch, when rows are not independent)."""
            if rows_independent:
                return f(rows_x)
            full = x.clone()
            full[rows] = rows_x
            return f(full)[rows]

        r = f(x) - y
        norm = _finite_norm(r)
        y_norm = safe_norm(y)
        done = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        active = torch.isfinite(x).all(dim=-1).nonzero()[:, 0]  # a non-finite guess has no step: never done
        for _ in range(max_iter):
            xa = x[active]
            finished = norm[active] <= tol + tol * safe_norm(xa)  # nan (not finite): not finished
            done[active[finished]] = True
            active, xa = active[~finished], xa[~finished]
            if active.numel() == 0:
                return x, done
            ra, na, ya = r[active], norm[active], y[active]
            # the step for r / max|r|: J^-1 of a huge residual overflows where the scaled one does not,
            # and lam * scale shrinks to a representable step as the damping halves it
            scale = ra.abs().amax(dim=-1, keepdim=True)
            scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, 1.0)
            unit = ra / scale
            step = (
                solve(xa, unit) if solve is not None else torch.linalg.solve(jacobian(xa), unit.unsqueeze(-1))[..., 0]
            )
            improved = torch.zeros(active.shape[0], dtype=torch.bool, device=x.device)
            lam = 1.0
            for _ in range(30):
                pending = (~improved).nonzero()[:, 0]
                cand = xa[pending] - (lam * scale[pending]) * step[pending]
                r_c = evaluate(cand, active[pending]) - ya[pending]
                n_c = _finite_norm(r_c)
                better = n_c < na[pending]
                rows = pending[better]
                xa[rows], ra[rows], na[rows] = cand[better], r_c[better], n_c[better]
                improved[rows] = True
                lam *= 0.5
                if bool(improved.all()):
                    break
            stalled = ~improved  # no step improves these: rounding level, or a step far too long
            if bool(stalled.any()):
                big = 1e3 * tol
                bound = big + big * safe_norm(xa) + big * y_norm[active]
                far = (stalled & (na > bound)).nonzero()[:, 0]
                if far.numel() and rows_independent:  # (a batch-coupled map cannot try steps row by row)
                    deep = _deep_backtrack(f, xa[far], ya[far], na[far], scale[far] * step[far], tol)
                    if deep is not None:
                        found, cand, r_c, n_c = deep
                        rows = far[found]
                        xa[rows], ra[rows], na[rows] = cand, r_c, n_c
                        improved[rows] = True
                        stalled = ~improved
            x[active], r[active], norm[active] = xa, ra, na
            if bool(stalled.any()):
                done[active[stalled]] = (na[stalled] <= bound[stalled]) & torch.isfinite(bound[stalled])
                active = active[improved]
        rest = norm[active] <= tol + tol * safe_norm(x[active]) + tol * y_norm[active]
        done[active] = rest
        return x, done


def _deep_backtrack(f, x: Tensor, y: Tensor, norm: Tensor, step: Tensor, tol: float, chunk: int = 64):
    """The longest step ``2^-k step`` (k = 31, 33, ..., 1099) that lowers each point's residual by 0.1%.

    Where the map grows faster than linearly (beyond the data, for the n-D positive-definite structure),
    the Newton step from a point far below a huge target overshoots by many orders of magnitude, beyond
    what 30 halvings recover, and the steps that improve lie in a narrow band of exponents (shorter ones
    change the residual by less than its rounding).  So every exponent is tried at once, one batch of
    candidates per point (points in chunks), and only the points that would otherwise fail pay it.  The
    sufficient decrease keeps a step that wins by rounding alone from counting, and steps shorter than the
    convergence tolerance (``tol * (1 + |x|)``) are not tried: they could not matter.  Returns the mask of the
    points that found one and, for those, the new points, residuals and their norms.
    """
    k = torch.arange(31.0, 1100.0, 2.0, dtype=torch.float64, device=x.device)
    lam = torch.exp2(-k).to(x.dtype)  # 2^-1099 is subnormal but not 0 in float64; 0 in float32 (no step)
    found = torch.zeros(norm.shape, dtype=torch.bool, device=x.device)
    out_x, out_r, out_n = x.clone(), torch.zeros_like(y), norm.clone()
    for start in range(0, x.shape[0], chunk):
        sl = slice(start, start + chunk)
        # the exponents whose step is still longer than the tolerance, for some point of the chunk
        shortest = tol + tol * safe_norm(x[sl])
        useful = (lam[None, :] * safe_norm(step[sl])[:, None]).to(torch.float64) > shortest[:, None]
        tries = int(useful.any(dim=0).sum())  # useful is a prefix of the exponents: the step shrinks with k
        if tries == 0:
            continue
        cand = x[sl, None, :] - lam[None, :tries, None] * step[sl, None, :]  # (rows, tries, d)
        r_c = f(cand.reshape(-1, x.shape[1])).reshape(cand.shape) - y[sl, None, :]
        n_c = _finite_norm(r_c)
        ok = (n_c <= 0.999 * norm[sl, None]) & useful[:, :tries]
        first = torch.where(ok.any(dim=1), ok.float().argmax(dim=1), -1)  # the smallest k: the longest step
        hit = (first >= 0).nonzero()[:, 0]
        rows = hit + start
        found[rows] = True
        out_x[rows], out_r[rows], out_n[rows] = cand[hit, first[hit]], r_c[hit, first[hit]], n_c[hit, first[hit]]
    if not bool(found.any()):
        return None
    return found, out_x[found], out_r[found], out_n[found]


def _finite_norm(r: Tensor) -> Tensor:
    """:func:`safe_norm` per row, nan where r is not finite (nan compares False: never an improvement)."""
    return torch.where(torch.isfinite(r).all(dim=-1), safe_norm(r), torch.nan)
