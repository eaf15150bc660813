"""How a ridge network extrapolates beyond its training range: the policy :class:`RidgeJacobianNet` mixes in.

Four options, each off by default, fixed by ``freeze`` on the training inputs and inert while training:

* ``saturate``: each ridge is constant beyond the range its coordinate took on the training inputs (widened by
  ``SATURATION_MARGIN``), so the linear term alone carries the trend out there;
* ``growth_cap`` (one input, g = exp(h)): beyond the range of the ridge coordinate h stays below
  log(``GROWTH_CAP``) plus its largest value over the range;
* ``trend_cap`` (with ``growth_cap``): beyond each end h also rises no faster than its secant over the range
  rises outward;
* ``trend_band`` (one input, g = h of any sign): beyond each end h stays within its value there +- the secant's
  |slope| times the distance out.

Why each exists is said where it is set (``_set_growth_cap``, ``_fix_saturation``; measured: docs/measurements.md,
"Ridge extrapolation").
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..integrate import MeshQuadrature

GROWTH_CAP = 10.0  # growth_cap: g beyond the training range at most this times its largest value over the range
GROWTH_GRID = 257  # points of the range where that largest value is taken
SATURATION_MARGIN = 0.01  # saturate: the range of each ridge coordinate on the training inputs, widened by this share


class RidgeExtrapolation:
    """The extrapolation policy of a ridge network (a mixin of :class:`~skjacnet.constraints.ridge.RidgeJacobianNet`,
    which gives ``field``, ``structure``, ``integrator``, ``x0`` and ``V()``); its state is buffers of the network,
    so a saved network keeps its ranges."""

    def _init_extrapolation(
        self, n_ridges: int, dtype: torch.dtype, saturate: bool, growth_cap: bool, trend_cap: bool, trend_band: bool
    ) -> None:
        # saturate: each ridge constant beyond the range its coordinate took on the training inputs (set by freeze;
        # lo > hi until then), so the linear term alone carries the trend out there; see _fix_saturation
        self.z_lo = nn.Buffer(torch.full((n_ridges,), torch.inf, dtype=dtype)) if saturate else None
        self.z_hi = nn.Buffer(torch.full((n_ridges,), -torch.inf, dtype=dtype)) if saturate else None
        # growth_cap (one input, g = exp(h)): the training range of the ridge coordinate (set by freeze; lo > hi
        # until then), beyond which h is held below h_cap, GROWTH_CAP times g's largest value over the range
        # (_set_growth_cap)
        ranged = growth_cap or trend_band
        self.s_lo = nn.Buffer(torch.tensor(torch.inf, dtype=dtype)) if ranged else None
        self.s_hi = nn.Buffer(torch.tensor(-torch.inf, dtype=dtype)) if ranged else None
        self.h_cap = nn.Buffer(torch.full((n_ridges,), torch.inf, dtype=dtype)) if growth_cap else None
        # trend_cap (with growth_cap): beyond each end h also stays below its value at that end plus the outward
        # rise of its secant over the range (rows: low end, high end); trend_band (one input, g = h of any sign):
        # beyond each end h stays within its value there +- the secant's |slope| times the distance out; see
        # _set_growth_cap
        trend = trend_cap or trend_band
        self.trend_band = trend_band
        self.h_end = nn.Buffer(torch.full((2, n_ridges), torch.inf, dtype=dtype)) if trend else None
        self.h_rise = nn.Buffer(torch.zeros(2, n_ridges, dtype=dtype)) if trend else None

    def extrapolation_fields(self) -> dict:
        """The policy's options, for persistence (``from_fields`` passes them back to the constructor)."""
        return {
            "saturate": self.z_lo is not None,
            "growth_cap": self.h_cap is not None,
            "trend_cap": self.h_end is not None and not self.trend_band,
            "trend_band": self.trend_band,
        }

    def g_table(self, s: Tensor) -> Tensor:
        """Derivatives of every ridge at scalar points s (K,) -> (K, R)."""
        if self.s_lo is None or self.training or not bool(self.s_lo < self.s_hi):
            return self.structure(self.field(s.unsqueeze(-1)))
        h = self.field(s.unsqueeze(-1))
        below, above = (s < self.s_lo).unsqueeze(-1), (s > self.s_hi).unsqueeze(-1)
        if self.h_end is not None:  # the end's value, the secant's rise times the distance out
            out = torch.where(below, self.s_lo - s.unsqueeze(-1), s.unsqueeze(-1) - self.s_hi)
            end = torch.where(below, self.h_end[0], self.h_end[1])
            reach = torch.where(below, self.h_rise[0], self.h_rise[1]) * out
        if self.trend_band:
            held = torch.minimum(torch.maximum(h, end - reach), end + reach)
        else:
            held = torch.minimum(h, self.h_cap if self.h_end is None else torch.minimum(self.h_cap, end + reach))
        return self.structure(torch.where(below | above, held, h))

    def g_breaks(self) -> list[float]:
        """Where g_table switches from the network's g to its held value (the ends of the held range): kinks,
        which the mesh takes as knots. Further out h may cross its bound again (another kink, at a point known
        only through the network): the refinement meets those as any curvature (measured:
        docs/measurements.md, "Ridge extrapolation")."""
        if self.s_lo is None or self.training or not bool(self.s_lo < self.s_hi):
            return []
        return [float(self.s_lo), float(self.s_hi)]

    @torch.no_grad()
    def _set_growth_cap(self) -> None:
        """h beyond the training range [s_lo, s_hi] is held below log(GROWTH_CAP) plus its largest value over it.

        Why (growth_cap, the 1-D g = exp(h) models): beyond the data exp(h) follows h's tangent at the edge, where
        a few noisy points can make it steep.  The cap leaves every fit whose extrapolated derivative stays within
        10x of its largest value on the data as it was (exp(x) grows 2.7x from x = 1 to 2, exp(2x) 7.4x).

        trend_cap: beyond each end h also rises no faster than its secant over the whole range rises outward (not
        at all where h falls outward): a noisy edge's tangent is steep by chance, the secant is pinned by all the
        data, and exp(x), exp(2x) and log(x + 2.5) have secants that match their trends; h falling (saturating
        curves) is left to the network.

        trend_band (the paper's free g, no cap): beyond each end g stays within its value there +- the |slope| of
        its secant over the range times the distance out; the network's own g followed the tangent of a noisy edge
        (each measured: docs/measurements.md, "Ridge extrapolation").
        """
        lo, hi = self.s_lo, self.s_hi
        inner = torch.linspace(0.0, 1.0, GROWTH_GRID, dtype=lo.dtype, device=lo.device) * (hi - lo) + lo
        h = self.field(inner.unsqueeze(-1))
        if self.h_cap is not None:
            self.h_cap.copy_(h.max(0).values + math.log(GROWTH_CAP))
        if self.h_end is not None:
            secant = (h[-1] - h[0]) / (hi - lo)
            self.h_end.copy_(torch.stack([h[0], h[-1]]))
            if self.trend_band:
                self.h_rise.copy_(secant.abs().expand(2, -1))
            else:
                self.h_rise.copy_(torch.stack([(-secant).clamp_min(0.0), secant.clamp_min(0.0)]))

    def _fix_held_range(self, X: Tensor | None) -> None:
        """growth_cap / trend_band: the ridge coordinate's range on X (and x0), widened to what earlier fits saw,
        and the held values beyond it; before the mesh, which integrates the held g."""
        if self.s_lo is not None and X is not None:
            with torch.no_grad():
                if self.trend_band and not isinstance(self.integrator, MeshQuadrature):
                    # the band is the mesh's alone: the ODE methods step across its kinks inexactly (predict then
                    # misses its tolerance beyond the data, and jacobian() predict's slope), so they integrate g as
                    # the network gives it
                    self.s_lo.fill_(torch.inf)
                    self.s_hi.fill_(-torch.inf)
                else:
                    # x0 too: predictions integrate g from it, and training saw g unheld between it and the data
                    z = torch.cat([X, self.x0.unsqueeze(0)]) @ self.V().T
                    torch.minimum(self.s_lo, z.min(), out=self.s_lo)
                    torch.maximum(self.s_hi, z.max(), out=self.s_hi)
            if bool(self.s_lo < self.s_hi):
                self._set_growth_cap()  # once, for the weights being frozen (g_table reads it)

    def _fix_saturation(self, X: Tensor | None) -> None:
        """saturate: the ridge coordinates' range on X, widened to what earlier fits saw (warm starts, partial_fit:
        their ranges under the directions V had then).

        Why: a ridge continues beyond the data with the slope g has at its edge, steep where few points pinned it;
        constant there, the model extrapolates with its linear term (as the potential's saturating tanh network
        does) (measured: docs/measurements.md, "Ridge extrapolation").
        """
        if self.z_lo is not None and X is not None:
            with torch.no_grad():
                z = X @ self.V().T
                lo, hi = z.min(0).values, z.max(0).values
                pad = SATURATION_MARGIN * (hi - lo)  # the kink off the training points, where jacobian() is asked
                torch.minimum(self.z_lo, lo - pad, out=self.z_lo)
                torch.maximum(self.z_hi, hi + pad, out=self.z_hi)

    def _range(self) -> tuple[Tensor, Tensor] | None:
        """The ridges' saturation range once frozen (predictions only: training sees its mesh as it is)."""
        if self.z_lo is None or self.training or not bool((self.z_lo <= self.z_hi).all()):
            return None
        return self.z_lo, self.z_hi
