"""constraint='coupling': invertible linear maps between monotone couplings, a bijection of R^d with an exact inverse.

A layer is z = e^C x + b followed by two couplings, one per half of the coordinates (the second half given
the first, then the first given the second); the outermost layer ends with y = y0 + diag(S) e^E z.  A
coupling moves each coordinate z_j of one half by a strictly increasing map of z_j whose *derivative* is
what a network learns, conditioned on the other half a (a conditioned 1-D JacNet, UMNN's idea):

    T_j(s; a) = t_j(a) + integral_0^s g_j(u; a) du,   g_j >= min(1, eps) > 0,

with g_j piecewise linear between knots on [-B, B] (heights eps + softplus(network(a) + c) >= eps, 1 at +-B
and beyond), so the integral is exact (piecewise quadratic), the inverse is a quadratic root per
coordinate (no ODE, no Newton), and T_j is linear with slope 1 outside [-B, B].  The Jacobian of a coupling
is triangular, [[I, 0], [dT/da, diag(g)]]: it is nowhere singular, and since the tails do not depend on a,
||dT/da|| <= L (a bound read from the conditioner's weight norms), so ||f(a) - f(b)|| >= c ||a - b|| with
c = min(1, eps) / (1 + L) per coupling, multiplied through the layers (valid, and small: it is a worst case).

Why this structure (issue 14): one positive-definite layer has a Jacobian M (symmetric positive definite),
which cannot follow maps that rotate by different amounts in different places (a radius-dependent twist);
the couplings' triangular Jacobians compose into any orientation-preserving local behaviour, as neural
spline flows do, while every piece stays an exact JacNet integral.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..integrate import ClosedForm
from .base import SquareBijection, register
from .layer import Composition, Factors, JacobianLayer, persisted, sigma
from .mlp import ACTIVATION_LIPSCHITZ, MLP

BINS = 16  # pieces of each learned derivative on [-BOUND, BOUND] (even: 0 is a knot)
BOUND = 3.0  # in the layer's (standardised) units: the data of a standardised fit lie well inside
LBFGS_MAX_ROWS = 2000  # solver='auto': see Coupling.auto_solver
LBFGS_TOL, LBFGS_MAX_ITER = 1e-5, 1000  # tol='auto', max_iter='auto' with L-BFGS: see Coupling.auto_tol
MIN_START = 1e-3  # eps >= 1: the heights start at eps + 1e-3 (no smaller slope than eps is reachable)


def _pick(T: Tensor, i: Tensor) -> Tensor:
    """T[..., i] per entry: T (n, m, K + 1), i (n, m)."""
    return T.gather(-1, i.unsqueeze(-1)).squeeze(-1)


class MonotoneSpline:
    """Strictly increasing maps s -> integral_0^s g, g piecewise linear between uniform knots, 1 beyond them.

    ``heights`` (n, m, K + 1): g at the knots (positive; the first and last are 1).  All rules are closed forms.
    """

    def __init__(self, heights: Tensor, bound: float):
        self.H, self.bound = heights, bound
        K = heights.shape[-1] - 1
        self.K, self.delta = K, 2.0 * bound / K
        area = self.delta * (heights[..., 1:] + heights[..., :-1]) / 2
        cum = torch.cat([torch.zeros_like(heights[..., :1]), torch.cumsum(area, -1)], -1)
        self.cum = cum - cum[..., K // 2 : K // 2 + 1]  # integral from 0 (the middle knot) to each knot

    def _bin(self, s: Tensor) -> tuple[Tensor, Tensor]:
        i = torch.floor((s + self.bound) / self.delta).clamp(0, self.K - 1).long()
        return i, s - (-self.bound + self.delta * i)

    def value_and_slope(self, s: Tensor) -> tuple[Tensor, Tensor]:
        inside = s.clamp(-self.bound, self.bound)
        i, tau = self._bin(inside)
        hi, hj = _pick(self.H, i), _pick(self.H, i + 1)
        value = _pick(self.cum, i) + hi * tau + (hj - hi) * tau * tau / (2 * self.delta) + (s - inside)
        slope = torch.where(s == inside, hi + (hj - hi) * tau / self.delta, torch.ones_like(s))
        return value, slope

    def inverse(self, w: Tensor) -> Tensor:
        lo, hi_ = self.cum[..., 0], self.cum[..., -1]
        inside = torch.minimum(torch.maximum(w, lo), hi_)
        i = torch.searchsorted(self.cum.contiguous(), inside.unsqueeze(-1).contiguous(), right=True).squeeze(-1)
        i = (i - 1).clamp(0, self.K - 1)
        hi, hj = _pick(self.H, i), _pick(self.H, i + 1)
        c = inside - _pick(self.cum, i)
        a = (hj - hi) / (2 * self.delta)
        tau = 2 * c / (hi + torch.sqrt((hi * hi + 4 * a * c).clamp_min(0)))  # the stable root of a tau^2 + hi tau = c
        return -self.bound + self.delta * i + tau + (w - inside)


@persisted("coupling")
class CouplingJacobianNet(JacobianLayer):
    """One layer: z = e^C x + b, then the two half couplings; ``sign`` given: the outermost, y = y0 + S e^E z."""

    QUADRATURE = ClosedForm

    def __init__(
        self,
        d: int,
        hidden: tuple[int, ...],
        activation: str,
        eps: float,
        gen: torch.Generator,
        dtype: torch.dtype,
        *,
        sign: Tensor | None = None,
        bins: int | None = None,
        bound: float | None = None,
    ):
        super().__init__()
        self.n_in = self.n_out = d
        self.hidden, self.activation, self.eps = tuple(hidden), activation, float(eps)
        self.bins, self.bound = int(bins or BINS), float(bound or BOUND)
        # eps + softplus(h + shift) >= eps for any eps, and = 1 at h = 0 when eps < 1 (the identity start)
        self.shift = math.log(math.expm1(max(1.0 - self.eps, MIN_START)))
        self.x0 = nn.Buffer(torch.zeros(d, dtype=dtype))
        self.C = nn.Parameter(torch.zeros(d, d, dtype=dtype))
        self.b = nn.Parameter(torch.zeros(d, dtype=dtype))
        half = (d + 1) // 2
        first, second = list(range(half)), list(range(half, d))
        splits = [(keep, move) for keep, move in ((first, second), (second, first)) if move]
        for i, (keep, move) in enumerate(splits):  # index buffers: they follow .to(device)
            self.register_buffer(f"keep{i}", torch.tensor(keep, dtype=torch.long))
            self.register_buffer(f"move{i}", torch.tensor(move, dtype=torch.long))
        # conditioners: (kept coordinates, or one zero column when none) -> per moved coordinate, K - 1 interior
        # heights and the shift t; the last layer starts at 0, so every coupling starts as the identity
        self.conditioners = nn.ModuleList()
        for keep, move in splits:
            net = MLP((max(len(keep), 1), *self.hidden, len(move) * self.bins), activation, gen, dtype)
            with torch.no_grad():
                net.weights[-1].zero_()
                net.biases[-1].zero_()
            self.conditioners.append(net)
        self.outer = sign is not None
        if self.outer:
            self.sign = nn.Buffer(sign.to(dtype))
            self.E = nn.Parameter(torch.zeros(d, d, dtype=dtype))
            self.y_shift = nn.Parameter(torch.zeros(d, dtype=dtype))
        self.integrator = ClosedForm(0.0, 0.0)

    def _splits(self):
        return [(getattr(self, f"keep{i}"), getattr(self, f"move{i}"), net) for i, net in enumerate(self.conditioners)]

    @property
    def y0(self) -> Tensor:
        return self.forward(self.x0.unsqueeze(0))[0]

    def use_integrator(self, method: str, rtol: float, atol: float, **kwargs) -> None:
        how = "its piecewise-linear derivatives exactly, in closed form"
        self.closed_form_only("coupling", how, method, rtol, atol, **kwargs)

    def _spline(self, net: MLP, a: Tensor, n_move: int) -> tuple[MonotoneSpline, Tensor]:
        if a.shape[1] == 0:
            a = torch.zeros(a.shape[0], 1, dtype=a.dtype, device=a.device)
        raw = net(a).view(a.shape[0], n_move, self.bins)
        inner = self.eps + F.softplus(raw[..., :-1] + self.shift)
        one = torch.ones_like(raw[..., :1])
        return MonotoneSpline(torch.cat([one, inner, one], -1), self.bound), raw[..., -1]

    def _moved(self, net: MLP, a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """T(s; a) and dT/ds for the moved coordinates s given the kept ones a."""
        spline, t = self._spline(net, a, s.shape[1])
        value, slope = spline.value_and_slope(s)
        return t + value, slope

    def _outer(self, z: Tensor) -> Tensor:
        return self.y_shift + self.sign * (z @ torch.linalg.matrix_exp(self.E).T)

    def forward(self, x: Tensor) -> Tensor:
        z = x @ torch.linalg.matrix_exp(self.C).T + self.b
        for keep, move, net in self._splits():
            z = z.index_copy(1, move, self._moved(net, z[:, keep], z[:, move])[0])
        return self._outer(z) if self.outer else z

    def jacobian(self, x: Tensor) -> Tensor:
        """The exact Jacobian: e^C, then each coupling's [[I, 0], [dT/da, diag(g)]] (dT/da by autograd), then S e^E."""
        graph = torch.is_grad_enabled()  # inside training (Jacobian data): keep the graph to the weights
        n, d = x.shape
        W = torch.linalg.matrix_exp(self.C)
        J = W.expand(n, d, d)
        with torch.enable_grad():
            z = x @ W.T + self.b
            for keep, move, net in self._splits():
                a = z[:, keep]
                if not a.requires_grad:
                    a = a.detach().requires_grad_()
                new, slope = self._moved(net, a, z[:, move])
                step = torch.eye(d, dtype=x.dtype, device=x.device).repeat(n, 1, 1)
                step[:, move, move] = slope
                for r, j in enumerate(move.tolist() if keep.numel() else []):  # rows are independent: grad of a sum
                    (da,) = torch.autograd.grad(new[:, r].sum(), a, create_graph=graph, retain_graph=True)
                    step[:, j, keep] = da
                J = step @ J
                z = z.index_copy(1, move, new)
                if not graph:
                    z, J = z.detach(), J.detach()
        if self.outer:
            J = (self.sign[:, None] * torch.linalg.matrix_exp(self.E)) @ J
        return J if graph else J.detach()

    def inverse_is_exact(self, inverse_method: str) -> bool:
        return True

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Closed form, last piece first: the outer map, each coupling's quadratic roots, the linear map."""
        if inverse_method != "auto":
            raise ValueError(
                f"constraint='coupling' inverts in closed form: inverse_method={inverse_method!r} (the inverse ODE) "
                "does not apply. Use inverse_method='auto'."
            )
        z = y
        if self.outer:
            z = ((z - self.y_shift) * self.sign) @ torch.linalg.matrix_exp(-self.E).T
        for keep, move, net in reversed(self._splits()):
            spline, t = self._spline(net, z[:, keep], move.numel())
            z = z.index_copy(1, move, spline.inverse(z[:, move] - t))
        return (z - self.b) @ torch.linalg.matrix_exp(-self.C).T

    def coupling_bound(self, net: MLP, n_move: int) -> float:
        """L >= ||dT/da|| everywhere: the hidden layers' spectral norms times each output row's norm, summed
        over the heights (each moves T by at most the bin width) and the shift, Frobenius over the moved rows."""
        with torch.no_grad():
            lip = ACTIVATION_LIPSCHITZ[self.activation] ** (len(net.weights) - 1)
            for w in net.weights[:-1]:
                lip *= sigma(w, "max")
            rows = net.weights[-1].detach().double().norm(dim=1).view(n_move, self.bins)
            per_row = rows[:, -1] + (2 * self.bound / self.bins) * rows[:, :-1].sum(1)  # softplus' slope <= 1
            return float(lip * per_row.norm())

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        floor = min(1.0, self.eps)  # the smallest slope of every T_j
        c = sigma(torch.linalg.matrix_exp(self.C.detach().double()), "min")
        for keep, move, net in self._splits():
            bound = self.coupling_bound(net, move.numel()) if keep.numel() else 0.0
            c *= floor / (1.0 + bound)
        if self.outer:
            c *= sigma(torch.linalg.matrix_exp(self.E.detach().double()), "min")
        c *= 1.0 if in_scale is None else float(in_scale.detach().abs().min())
        c *= 1.0 if out_scale is None else float(out_scale.detach().abs().min())
        signs = None
        if self.n_in == 1:  # every piece is increasing but the orientation
            signs = np.array([[float(self.sign[0]) if self.outer else 1.0]])
        return Factors(expansion=c, signs=signs)

    # persistence (skjacnet._persist): plain values and numpy arrays
    def to_state(self, child_state) -> dict:
        return {
            "kind": self.KIND,
            "config": {
                "d": self.n_in,
                "hidden": list(self.hidden),
                "activation": self.activation,
                "eps": self.eps,
                "bins": self.bins,
                "bound": self.bound,
                "outer": self.outer,
            },  # fmt: skip
            "integration": self.integrator.config(),
            "tensors": {k: v.detach().cpu().numpy().copy() for k, v in self.state_dict().items()},
        }

    @classmethod
    def from_state(cls, state: dict, child_model, device) -> CouplingJacobianNet:
        cfg, tensors = state["config"], {k: torch.as_tensor(v) for k, v in state["tensors"].items()}
        dtype = tensors["x0"].dtype
        sign = tensors["sign"] if cfg["outer"] else None
        model = cls(cfg["d"], tuple(cfg["hidden"]), cfg["activation"], cfg["eps"], torch.Generator().manual_seed(0),
                    dtype, sign=sign, bins=cfg["bins"], bound=cfg["bound"])  # fmt: skip
        model.load_state_dict(tensors, strict=True)
        it = state["integration"]
        model.integrator = ClosedForm(it["rtol"], it["atol"])
        return model.eval().to(device)


@register
class Coupling(SquareBijection):
    name = "coupling"
    # epsilon='auto': each coupling's slopes stay >= 1e-2, so fitted maps stay well conditioned.  With 1e-4 a
    # benchmark map fitted near-singular slopes at the corners of its box and its round trip lost precision, for
    # little R^2 (measured: docs/measurements.md, "The coupling structure")
    auto_epsilon = 1e-2

    def activation_for(self, spec):
        """tanh conditioners: 1-Lipschitz and bounded, so the certificate's bound L stays moderate."""
        return "tanh"

    def auto_solver(self, spec, n_rows):
        """L-BFGS up to ``LBFGS_MAX_ROWS`` rows (where Adam's epochs are a few steps each), Adam above, at every depth.

        On the deep benchmark's smaller maps L-BFGS fitted as well as Adam or better, in less time; on a larger one
        its iterations were too few (measured: docs/measurements.md, "Solver choice").
        """
        return "lbfgs" if n_rows <= LBFGS_MAX_ROWS else "adam"

    def auto_tol(self, spec, solver):
        """1e-5 with L-BFGS: MLPRegressor's 1e-4 stops it while its validation R^2 still climbs, and the finer
        tol buys accuracy at a moderate cost (measured: docs/measurements.md, "Solver choice").  Adam's epochs
        are noisier: MLPRegressor's 1e-4 stays.
        """
        return LBFGS_TOL if solver == "lbfgs" else super().auto_tol(spec, solver)

    def auto_max_iter(self, spec, solver):
        """1000 L-BFGS iterations with ``auto_tol``'s 1e-5: the stopping rule, not the cap, ends the fit."""
        return LBFGS_MAX_ITER if solver == "lbfgs" else super().auto_max_iter(spec, solver)

    def build(self, spec, gen, signs):
        d, dt = spec.n_in, spec.dtype
        sign = torch.ones(d, dtype=dt) if signs is None else torch.as_tensor(signs, dtype=dt)
        layers = [
            CouplingJacobianNet(
                d, spec.hidden, spec.activation, spec.epsilon, gen, dt, sign=sign if i == spec.n_layers - 1 else None
            )  # fmt: skip
            for i in range(spec.n_layers)
        ]
        return layers[0] if len(layers) == 1 else Composition(layers)

    def certify(self, spec, cert, factors):
        factors = factors()
        if cert["n_features"] == 1:
            prop = f"strictly {'increasing' if factors.signs[0, 0] > 0 else 'decreasing'}, |slope| >= c, onto R"
        else:
            prop = (
                "bijection of R^d (invertible linear maps and monotone triangular couplings), nowhere-singular "
                "Jacobian: ||f(a) - f(b)|| >= c ||a - b||"
            )
        return {**cert, "property": prop, "expansion_lower": factors.expansion}
