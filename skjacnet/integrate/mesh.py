"""Exact integration of scalar derivative fields on an adaptive knot mesh.

A structured 1-D derivative ``g`` (one column per ridge) is sampled on a
shared, sorted set of knots and replaced by its piecewise-linear interpolant.
The antiderivative of that interpolant is integrated *exactly* (it is
piecewise quadratic), so the function the estimator computes has derivative
``interp(g)`` everywhere.  An interpolant between two samples stays between
them, hence every bound imposed on ``g`` (``g >= eps``, ``|g| <= k``) holds
*exactly* for the computed function, not just up to quadrature error.

Accuracy against the exact integral of ``g`` is controlled by ``rtol`` and
``atol``: a cell is split until the trapezoid-vs-Simpson estimate of its error
is below ``width * (atol + rtol * max|g|)`` (``atol`` is an absolute error per
unit of standardised length).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..exceptions import NonFiniteError

# Base knots: 0 and +-2**j.  Geometric spacing lets one mesh cover both the
# data (|z| ~ 1) and far extrapolation (|z| up to 2**50) with few cells; the
# refinement then resolves wherever g actually varies.
_BASE_EXPONENTS = range(-4, 51)
FAR = 2.0**50
MIN_HALF_WIDTH = 2.0**-4
_MAX_ROUNDS = 60


@dataclass
class Mesh:
    """Knots, derivative samples and the antiderivative at the knots.

    ``values`` and ``cumulative`` have shape (n_knots, n_ridges);
    ``cumulative`` is zero at the knot 0 (the anchor of the table).
    """

    knots: Tensor
    values: Tensor
    cumulative: Tensor
    converged: bool = True

    def to(self, device: torch.device | str) -> Mesh:
        return Mesh(
            self.knots.to(device),
            self.values.to(device),
            self.cumulative.to(device),
            self.converged,
        )


def base_knots(lo: float, hi: float, dtype: torch.dtype, breaks: Sequence[float] = ()) -> Tensor:
    """Sorted knots 0, +-2**j restricted to [lo, hi], plus lo, hi and the ``breaks`` inside."""
    powers = [2.0**j for j in _BASE_EXPONENTS]
    pts = {0.0, float(lo), float(hi)}
    pts.update(float(b) for b in breaks if lo < b < hi)
    pts.update(p for p in powers if p < hi)
    pts.update(-p for p in powers if -p > lo)
    return torch.tensor(sorted(pts), dtype=dtype)


@torch.no_grad()
def refine_knots(
    g: Callable[[Tensor], Tensor],
    lo: float,
    hi: float,
    *,
    rtol: float,
    atol: float,
    max_knots: int,
    dtype: torch.dtype,
    device: torch.device | str,
    breaks: Sequence[float] = (),
) -> tuple[Tensor, bool]:
    """Adaptively refine the base knots on [lo, hi] until every cell passes.

    ``breaks``: points where g has a kink (always knots): the error test compares a cell's trapezoid with
    its Simpson estimate, which a kink inside the cell can pass while the interpolant misses g by far more
    than rtol near the kink, as at the end of a 1-D growth cap's range, where g switches to its held value
    (measured: docs/measurements.md, "Ridge extrapolation").

    Returns the sorted knots and whether the error test was met everywhere
    (False when ``max_knots`` or the floating-point resolution stopped it).
    """
    knots = base_knots(lo, hi, dtype, breaks).to(device)
    vals = _finite(g(knots))
    active = torch.ones(knots.numel() - 1, dtype=torch.bool, device=device)
    converged = False
    for _ in range(_MAX_ROUNDS):
        a, b = knots[:-1][active], knots[1:][active]
        ga, gb = vals[:-1][active], vals[1:][active]
        mid = 0.5 * (a + b)
        gm = _finite(g(mid))
        width = (b - a).unsqueeze(-1)
        # trapezoid minus Simpson on the cell: the trapezoid's leading error
        err = width * (ga + gb - 2.0 * gm).abs() / 3.0
        scale = torch.maximum(torch.maximum(ga.abs(), gb.abs()), gm.abs())
        bad = (err > width * (atol + rtol * scale)).any(-1)
        # cells below floating-point resolution cannot be split further
        resolvable = (b - a) > 64 * torch.finfo(dtype).eps * (1.0 + mid.abs())
        split = bad & resolvable
        if not split.any():
            converged = not bool(bad.any())
            break
        if knots.numel() + int(split.sum()) > max_knots:
            break
        new = torch.cat([torch.zeros_like(knots, dtype=torch.bool), torch.ones_like(mid[split], dtype=torch.bool)])
        knots = torch.cat([knots, mid[split]])
        vals = torch.cat([vals, gm[split]])
        order = torch.argsort(knots)
        knots, vals, new = knots[order], vals[order], new[order]
        active = new[:-1] | new[1:]
    return knots, converged


def build_table(knots: Tensor, values: Tensor, converged: bool = True) -> Mesh:
    """Antiderivative of the linear interpolant at the knots, zero at 0.

    Summed outward from 0 on each side so that the huge far cells never
    swamp the precision of the values near the data.
    """
    widths = (knots[1:] - knots[:-1]).unsqueeze(-1)
    cells = widths * 0.5 * (values[1:] + values[:-1])
    i0 = int(torch.searchsorted(knots, torch.zeros((), dtype=knots.dtype, device=knots.device)))
    right = torch.cumsum(cells[i0:], dim=0)
    left = -torch.flip(torch.cumsum(torch.flip(cells[:i0], [0]), dim=0), [0])
    zero = torch.zeros_like(values[:1])
    return Mesh(knots, values, torch.cat([left, zero, right]), converged)


def _locate(mesh: Mesh, z: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Cell index, offset, width and end samples for each entry of z (n, R)."""
    k = mesh.knots
    idx = (torch.searchsorted(k, z.detach().contiguous(), right=True) - 1).clamp(0, k.numel() - 2)
    left = k[idx]
    width = k[idx + 1] - left
    ga = torch.gather(mesh.values, 0, idx)
    gb = torch.gather(mesh.values, 0, idx + 1)
    return idx, z - left, width, ga, gb


def antiderivative(mesh: Mesh, z: Tensor) -> Tensor:
    """F(z) for z of shape (n, R): exact integral of the interpolant from 0.

    Beyond the outer knots the derivative is held at its last sample, so the
    bounds on g hold on the whole real line.
    """
    idx, u, width, ga, gb = _locate(mesh, z)
    inside = torch.minimum(torch.clamp(u, min=0.0), width)
    outside = u - inside  # < 0 left of the mesh, > 0 right of it
    base = torch.gather(mesh.cumulative, 0, idx)
    quad = inside * ga + inside * inside * (gb - ga) / (2.0 * width)
    return base + quad + torch.where(outside > 0, outside * gb, outside * ga)


def derivative(mesh: Mesh, z: Tensor) -> Tensor:
    """F'(z): the linear interpolant of g (held constant outside the mesh)."""
    _, u, width, ga, gb = _locate(mesh, z)
    frac = torch.clamp(u / width, 0.0, 1.0)
    return ga + frac * (gb - ga)


def inverse_antiderivative(mesh: Mesh, w: Tensor, sign: Tensor) -> Tensor:
    """Solve F(z) = w column-wise where sign * F is strictly increasing.

    Exact up to rounding: locate the cell by bisection on the knot table,
    then take the stable root of the cell's quadratic.
    """
    table = mesh.cumulative * sign
    target = w * sign
    cols = []
    k = mesh.knots
    for r in range(table.shape[1]):
        col, vals = table[:, r].contiguous(), mesh.values[:, r] * sign[r]
        t = target[:, r].contiguous()
        idx = (torch.searchsorted(col, t, right=True) - 1).clamp(0, k.numel() - 2)
        left, width = k[idx], k[idx + 1] - k[idx]
        ga, gb = vals[idx], vals[idx + 1]
        delta = t - col[idx]
        c2 = (gb - ga) / (2.0 * width)
        disc = torch.clamp(ga * ga + 4.0 * c2 * delta, min=0.0)
        u = 2.0 * delta / (ga + torch.sqrt(disc))
        below, above = t < col[0], t > col[-1]
        z = left + u
        z = torch.where(below, k[0] + (t - col[0]) / vals[0], z)
        z = torch.where(above, k[-1] + (t - col[-1]) / vals[-1], z)
        cols.append(z)
    return torch.stack(cols, dim=1)


def _finite(values: Tensor) -> Tensor:
    if not torch.isfinite(values).all():
        raise NonFiniteError(
            "The Jacobian network produced non-finite values while building the "
            "integration mesh; the weights have probably diverged (try a smaller "
            "learning_rate_init)."
        )
    return values if values.ndim == 2 else values.unsqueeze(-1)
