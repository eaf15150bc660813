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
        return _Newton(f, jacobian, x, y, tol, solve, rows_independent).run(max_iter)


class _Newton:
    """One :func:`newton_solve`: the points x, their residuals r and norms, which are done; the steps that move them.

    Each iteration retires the converged points, then takes the damped step of the others (:meth:`damped_step`),
    backtracks deep for the far ones no halving improved (:meth:`deep_backtrack`), and retires the stalled.
    """

    def __init__(self, f, jacobian, x: Tensor, y: Tensor, tol: float, solve, rows_independent: bool):
        self.f_given, self.jacobian, self.solve = f, jacobian, solve
        self.y, self.tol, self.rows_independent = y, tol, rows_independent
        self.x = x.clone()
        self.r = self.f(self.x) - y
        self.norm = _finite_norm(self.r)
        self.y_norm = safe_norm(y)
        self.done = torch.zeros(x.shape[0], dtype=torch.bool, device=self.x.device)

    def f(self, z: Tensor) -> Tensor:
        """f at the finite rows of z, nan at the others (an overflowed guess or step is no point of the map)."""
        finite = torch.isfinite(z).all(dim=-1)
        if bool(finite.all()):
            return self.f_given(z)
        y = self.y
        out = torch.full((z.shape[0], y.shape[-1]), torch.nan, dtype=y.dtype, device=y.device)
        if bool(finite.any()):
            out[finite] = self.f_given(z[finite])
        return out

    def evaluate(self, rows_x: Tensor, rows: Tensor) -> Tensor:
        """f at the points rows_x of the rows ``rows`` (in their batch, when rows are not independent)."""
        if self.rows_independent:
            return self.f(rows_x)
        full = self.x.clone()
        full[rows] = rows_x
        return self.f(full)[rows]

    def run(self, max_iter: int) -> tuple[Tensor, Tensor]:
        x, norm, tol = self.x, self.norm, self.tol
        active = torch.isfinite(x).all(dim=-1).nonzero()[:, 0]  # a non-finite guess has no step: never done
        for _ in range(max_iter):
            finished = norm[active] <= tol + tol * safe_norm(x[active])  # nan (not finite): not finished
            self.done[active[finished]] = True
            active = active[~finished]
            if active.numel() == 0:
                return x, self.done
            active = self.iterate(active)
        rest = norm[active] <= tol + tol * safe_norm(x[active]) + tol * self.y_norm[active]
        self.done[active] = rest
        return x, self.done

    def iterate(self, active: Tensor) -> Tensor:
        """One damped Newton step of the points ``active``; the points still active after it."""
        xa, ra, na, ya = self.x[active], self.r[active], self.norm[active], self.y[active]
        scale, step = self.newton_step(xa, ra)
        improved = self.damped_step(active, xa, ra, na, ya, scale, step)
        stalled = ~improved  # no step improves these: rounding level, or a step far too long
        if bool(stalled.any()):
            big = 1e3 * self.tol
            bound = big + big * safe_norm(xa) + big * self.y_norm[active]
            far = (stalled & (na > bound)).nonzero()[:, 0]
            if far.numel() and self.rows_independent:  # (a batch-coupled map cannot try steps row by row)
                self.deep_backtrack(far, xa, ra, na, ya, scale[far] * step[far], improved)
                stalled = ~improved
        self.x[active], self.r[active], self.norm[active] = xa, ra, na
        if bool(stalled.any()):
            self.done[active[stalled]] = (na[stalled] <= bound[stalled]) & torch.isfinite(bound[stalled])
            active = active[improved]
        return active

    def newton_step(self, xa: Tensor, ra: Tensor) -> tuple[Tensor, Tensor]:
        """The scale max|r| of each residual and the Newton step for r / max|r|.

        J^-1 of a huge residual overflows where the scaled one does not, and lam * scale shrinks to a
        representable step as the damping halves it.
        """
        scale = ra.abs().amax(dim=-1, keepdim=True)
        scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, 1.0)
        unit = ra / scale
        if self.solve is not None:
            return scale, self.solve(xa, unit)
        return scale, torch.linalg.solve(self.jacobian(xa), unit.unsqueeze(-1))[..., 0]

    def damped_step(self, active, xa: Tensor, ra: Tensor, na: Tensor, ya: Tensor, scale: Tensor, step: Tensor):
        """Halve each point's step (30 times at most) until its residual norm decreases; which points moved.

        xa, ra and na (the points ``active``, their residuals and norms) are updated in place.
        """
        improved = torch.zeros(active.shape[0], dtype=torch.bool, device=self.x.device)
        lam = 1.0
        for _ in range(30):
            pending = (~improved).nonzero()[:, 0]
            cand = xa[pending] - (lam * scale[pending]) * step[pending]
            r_c = self.evaluate(cand, active[pending]) - ya[pending]
            n_c = _finite_norm(r_c)
            better = n_c < na[pending]
            rows = pending[better]
            xa[rows], ra[rows], na[rows] = cand[better], r_c[better], n_c[better]
            improved[rows] = True
            lam *= 0.5
            if bool(improved.all()):
                break
        return improved

    def deep_backtrack(self, far, xa: Tensor, ra: Tensor, na: Tensor, ya: Tensor, step: Tensor, improved: Tensor):
        """:func:`_deep_backtrack` for the stalled points ``far`` (indices into xa): xa, ra, na, improved updated."""
        deep = _deep_backtrack(self.f, xa[far], ya[far], na[far], step, self.tol)
        if deep is not None:
            found, cand, r_c, n_c = deep
            rows = far[found]
            xa[rows], ra[rows], na[rows] = cand, r_c, n_c
            improved[rows] = True


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
