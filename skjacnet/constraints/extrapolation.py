"""How a ridge network extrapolates beyond its training range: one policy object per network.

A :class:`~skjacnet.constraints.ridge.RidgeJacobianNet` holds one of these as ``extrapolation``; each is fixed by
the network's ``freeze`` on the training inputs and inert while training (its buffers are the network's, so a
saved network keeps its ranges):

* :class:`Unbounded`: the network's g everywhere (the default);
* :class:`Saturate`: each ridge is constant beyond the range its coordinate took on the training inputs (widened
  by ``SATURATION_MARGIN``), so the linear term alone carries the trend out there;
* :class:`GrowthCap` (one input, g = exp(h)): beyond the range of the ridge coordinate h stays below
  log(``GROWTH_CAP``) plus its largest value over the range;
* :class:`TrendCap` (a growth cap that also follows the trend): beyond each end h also rises no faster than its
  secant over the range rises outward;
* :class:`TrendBand` (one input, g = h of any sign): beyond each end h stays within its value there +- the
  secant's |slope| times the distance out;
* :class:`HoldEdges`: beyond each end of each ridge's own range h is held at its value there (the shape
  structure's ridges continue linearly, so their curvature keeps its sign).

Why each exists is said where it is fixed (measured: docs/measurements.md, "Ridge extrapolation").  A policy reads
its network's ``field``, ``x0``, ``V()`` and integrator when it is fixed; nothing else reaches into it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

GROWTH_CAP = 10.0  # GrowthCap: g beyond the training range at most this times its largest value over the range
GROWTH_GRID = 257  # points of the range where that largest value is taken
SATURATION_MARGIN = 0.01  # Saturate: the range of each ridge coordinate on the training inputs, widened by this share

POLICIES: dict[str, type[Extrapolation]] = {}


def _policy(name: str):
    def wrap(cls):
        cls.name = name
        POLICIES[name] = cls
        return cls

    return wrap


@_policy("unbounded")
class Extrapolation(nn.Module):
    """The network's g everywhere; the hooks the other policies fill in.  ``n_ridges`` and ``dtype`` size the
    buffers a policy keeps."""

    name = ""

    def __init__(self, n_ridges: int, dtype: torch.dtype):
        super().__init__()

    def hold(self, h: Tensor, s: Tensor) -> Tensor:
        """The pre-activation h (K, R) at scalar points s (K,), as the frozen function uses it."""
        return h

    def breaks(self) -> list[float]:
        """Where ``hold`` switches from the network's h to a held value: kinks the mesh takes as knots."""
        return []

    def clip(self, z: Tensor) -> Tensor:
        """Ridge coordinates (n, R) as the frozen function reads them."""
        return z

    def derivative(self, z: Tensor, g) -> Tensor:
        """The ridges' derivatives at z (n, R) given ``g(z)``, the computed function's (the integrator's)."""
        return g(z)

    def fix_before_mesh(self, net, X: Tensor | None) -> None:
        """Fix what the frozen mesh integrates (the held g) on the training inputs X."""

    def fix_after_mesh(self, net, X: Tensor | None) -> None:
        """Fix what acts on the integrated ridges (their range) on the training inputs X."""


Unbounded = Extrapolation


@_policy("saturate")
class Saturate(Extrapolation):
    """Each ridge constant beyond the range its coordinate took on the training inputs.

    Why: a ridge continues beyond the data with the slope g has at its edge, steep where few points pinned it;
    constant there, the model extrapolates with its linear term (as the potential's saturating tanh network does)
    (measured: docs/measurements.md, "Ridge extrapolation").
    """

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        # lo > hi until freeze: no range yet
        self.z_lo = nn.Buffer(torch.full((n_ridges,), torch.inf, dtype=dtype))
        self.z_hi = nn.Buffer(torch.full((n_ridges,), -torch.inf, dtype=dtype))

    def _range(self) -> tuple[Tensor, Tensor] | None:
        """The saturation range once frozen (predictions only: training sees its mesh as it is)."""
        if self.training or not bool((self.z_lo <= self.z_hi).all()):
            return None
        return self.z_lo, self.z_hi

    def clip(self, z):
        zone = self._range()
        return z if zone is None else torch.minimum(torch.maximum(z, zone[0]), zone[1])

    def derivative(self, z, g):
        zone = self._range()
        if zone is None:
            return g(z)
        # beyond its range a saturated ridge is constant; one distinct row: constant everywhere
        outside = (z < zone[0]) | (z > zone[1]) | (zone[0] == zone[1])
        return torch.where(outside, 0.0, g(torch.minimum(torch.maximum(z, zone[0]), zone[1])))

    def fix_after_mesh(self, net, X):
        """The ridge coordinates' range on X, widened to what earlier fits saw (warm starts, partial_fit: their
        ranges under the directions V had then)."""
        if X is None:
            return
        with torch.no_grad():
            z = X @ net.V().T
            lo, hi = z.min(0).values, z.max(0).values
            pad = SATURATION_MARGIN * (hi - lo)  # the kink off the training points, where jacobian() is asked
            torch.minimum(self.z_lo, lo - pad, out=self.z_lo)
            torch.maximum(self.z_hi, hi + pad, out=self.z_hi)


class _Held(Extrapolation):
    """A policy that holds h beyond the training range [s_lo, s_hi] of a one-input network's ridge coordinate."""

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        self.s_lo = nn.Buffer(torch.tensor(torch.inf, dtype=dtype))  # lo > hi until freeze: no range yet
        self.s_hi = nn.Buffer(torch.tensor(-torch.inf, dtype=dtype))

    def _active(self) -> bool:
        return not self.training and bool(self.s_lo < self.s_hi)

    def _outward(self, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Masks below / above the range and the distance out, (K, 1) each."""
        s = s.unsqueeze(-1)
        below, above = s < self.s_lo, s > self.s_hi
        return below, above, torch.where(below, self.s_lo - s, s - self.s_hi)

    def held(self, h: Tensor, below: Tensor, out: Tensor) -> Tensor:
        raise NotImplementedError

    def hold(self, h, s):
        if not self._active():
            return h
        below, above, out = self._outward(s)
        return torch.where(below | above, self.held(h, below, out), h)

    def breaks(self):
        # further out h may cross its bound again (another kink, at a point known only through the network): the
        # refinement meets those as any curvature (measured: docs/measurements.md, "Ridge extrapolation")
        return [float(self.s_lo), float(self.s_hi)] if self._active() else []

    def _widen(self, net, X: Tensor) -> bool:
        """The range on X and x0, widened to what earlier fits saw; whether there is one."""
        with torch.no_grad():
            # x0 too: predictions integrate g from it, and training saw g unheld between it and the data
            z = torch.cat([X, net.x0.unsqueeze(0)]) @ net.V().T
            torch.minimum(self.s_lo, z.min(), out=self.s_lo)
            torch.maximum(self.s_hi, z.max(), out=self.s_hi)
        return bool(self.s_lo < self.s_hi)

    def fix_before_mesh(self, net, X):
        if X is not None and self._widen(net, X):
            with torch.no_grad():  # once, for the weights being frozen (hold reads it)
                lo, hi = self.s_lo, self.s_hi
                inner = torch.linspace(0.0, 1.0, GROWTH_GRID, dtype=lo.dtype, device=lo.device) * (hi - lo) + lo
                self.fix_held(net.field(inner.unsqueeze(-1)))

    def fix_held(self, h: Tensor) -> None:
        """The held values from h (GROWTH_GRID, R) over the range."""
        raise NotImplementedError


@_policy("growth_cap")
class GrowthCap(_Held):
    """h beyond the training range held below log(GROWTH_CAP) plus its largest value over it.

    Why (the 1-D g = exp(h) models): beyond the data exp(h) follows h's tangent at the edge, where a few noisy
    points can make it steep.  The cap leaves every fit whose extrapolated derivative stays within 10x of its
    largest value on the data as it was (exp(x) grows 2.7x from x = 1 to 2, exp(2x) 7.4x).
    """

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        self.h_cap = nn.Buffer(torch.full((n_ridges,), torch.inf, dtype=dtype))

    def held(self, h, below, out):
        return torch.minimum(h, self.h_cap)

    def fix_held(self, h):
        self.h_cap.copy_(h.max(0).values + math.log(GROWTH_CAP))


class _Trend:
    """The value at each end of the range and the rise of the secant outward (rows: low end, high end)."""

    def _init_trend(self, n_ridges, dtype):
        self.h_end = nn.Buffer(torch.full((2, n_ridges), torch.inf, dtype=dtype))
        self.h_rise = nn.Buffer(torch.zeros(2, n_ridges, dtype=dtype))

    def _end_and_reach(self, below, out):
        end = torch.where(below, self.h_end[0], self.h_end[1])
        return end, torch.where(below, self.h_rise[0], self.h_rise[1]) * out

    def _fix_ends(self, h, rise_of_secant):
        lo, hi = self.s_lo, self.s_hi
        secant = (h[-1] - h[0]) / (hi - lo)
        self.h_end.copy_(torch.stack([h[0], h[-1]]))
        self.h_rise.copy_(rise_of_secant(secant))


@_policy("trend_cap")
class TrendCap(_Trend, GrowthCap):
    """The growth cap, and beyond each end h rises no faster than its secant over the whole range rises outward
    (not at all where h falls outward).

    Why: a noisy edge's tangent is steep by chance, the secant is pinned by all the data, and exp(x), exp(2x) and
    log(x + 2.5) have secants that match their trends; h falling (saturating curves) is left to the network.
    """

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        self._init_trend(n_ridges, dtype)

    def held(self, h, below, out):
        end, reach = self._end_and_reach(below, out)
        return torch.minimum(h, torch.minimum(self.h_cap, end + reach))

    def fix_held(self, h):
        super().fix_held(h)
        self._fix_ends(h, lambda secant: torch.stack([(-secant).clamp_min(0.0), secant.clamp_min(0.0)]))


@_policy("trend_band")
class TrendBand(_Trend, _Held):
    """The paper's free g, no cap: beyond each end g stays within its value there +- the |slope| of its secant
    over the range times the distance out.  Why: the network's own g followed the tangent of a noisy edge."""

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        self._init_trend(n_ridges, dtype)

    def held(self, h, below, out):
        end, reach = self._end_and_reach(below, out)
        return torch.minimum(torch.maximum(h, end - reach), end + reach)

    def fix_held(self, h):
        self._fix_ends(h, lambda secant: secant.abs().expand(2, -1))

    def fix_before_mesh(self, net, X):
        if X is not None and not net.integrator.exact:
            # the band is the mesh's alone: the ODE methods step across its kinks inexactly (predict then misses
            # its tolerance beyond the data, and jacobian() predict's slope), so they integrate g as given
            with torch.no_grad():
                self.s_lo.fill_(torch.inf)
                self.s_hi.fill_(-torch.inf)
            return
        super().fix_before_mesh(net, X)


@_policy("hold_edges")
class HoldEdges(Extrapolation):
    """Each ridge's h held at its value at the ends of the range that ridge's coordinate took on the training
    inputs (and x0), beyond it: each ridge continues linearly past its own data.

    Why (the shape structure): a monotone g stays monotone held at its ends, so a convex (concave) ridge stays
    convex (concave) on the whole line, and beyond the data its slope never exceeds the slope at the edge (a
    concave curve never steepens, a convex one never flattens)."""

    def __init__(self, n_ridges, dtype):
        super().__init__(n_ridges, dtype)
        self.z_lo = nn.Buffer(torch.full((n_ridges,), torch.inf, dtype=dtype))  # lo > hi: no range yet
        self.z_hi = nn.Buffer(torch.full((n_ridges,), -torch.inf, dtype=dtype))
        self.h_end = nn.Buffer(torch.zeros(2, n_ridges, dtype=dtype))  # h at (lo, hi) of each ridge

    def _ranged(self) -> Tensor | None:
        """The ridges that have a range, once frozen (None while training or before any range)."""
        ranged = self.z_lo <= self.z_hi
        return None if self.training or not bool(ranged.any()) else ranged

    def hold(self, h, s):
        ranged = self._ranged()
        if ranged is None:
            return h
        s = s.unsqueeze(-1)
        below, above = ranged & (s < self.z_lo), ranged & (s > self.z_hi)
        return torch.where(below, self.h_end[0], torch.where(above, self.h_end[1], h))

    def breaks(self):
        ranged = self._ranged()
        if ranged is None:
            return []
        return sorted(set(torch.cat([self.z_lo[ranged], self.z_hi[ranged]]).tolist()))

    def fix_before_mesh(self, net, X):
        """The ranges on X and x0, widened to what earlier fits saw, and h at their ends."""
        if X is None:
            return
        with torch.no_grad():
            z = torch.cat([X, net.x0.unsqueeze(0)]) @ net.V().T
            torch.minimum(self.z_lo, z.min(0).values, out=self.z_lo)
            torch.maximum(self.z_hi, z.max(0).values, out=self.z_hi)
            ends = torch.stack([self.z_lo, self.z_hi])
            ends = torch.where(torch.isfinite(ends), ends, 0.0)  # a ridge without a range: its ends are unused
            for i in range(2):
                self.h_end[i].copy_(torch.diagonal(net.field(ends[i].unsqueeze(-1))))
