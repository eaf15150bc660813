"""Jacobian networks and the functions they define by integration.

Two families, both in standardised coordinates:

* :class:`RidgeJacobianNet`, conservative by construction::

      f(x) = y0 + M [ eps (x - x0) + A (x - x0) + U (G(V x) - G(V x0)) ],   G_r' = g_r

  with a structured scalar derivative g_r per ridge r.  Its exact Jacobian is
  ``M (eps I + U diag(g(Vx)) V)``, so bounds on g become guarantees on f:
  |g| <= k with semi-orthogonal U, V (||U|| = ||V|| = 1) gives a k-Lipschitz map (spectral norm);
  g >= 0, U = V^T and eps > 0 give the gradient of a strongly convex
  potential (a bijection of R^d), M = S expm(B) keeps it invertible.  With
  one input and one output it is exactly the paper's 1-D JacNet.  The learned
  linear term A (``linear=True``: unconstrained ridges, and monotone ones with
  c_j A[:, j] >= 0) starts at the (sign-bounded) least-squares fit
  (:meth:`RidgeJacobianNet.init_linear`), so that on small noisy data early
  stopping begins from the linear model.

* :class:`skjacnet.constraints.full.FullJacobianNet`, the paper's unconstrained n-D
  model: a network for the whole matrix J(x), integrated along paths from
  x0.  Such a field need not be curl-free, so it carries no guarantee.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ..integrate import Integrator, MeshQuadrature, solve_ode
from . import activations
from .layer import Factors, JacobianLayer, newton_inverse, persisted, scale_norm, sigma
from .mlp import MLP, MemberMLP


def bounded_lstsq(design: Tensor, target: Tensor, signs: Tensor) -> Tensor:
    """min ||design coef - target|| per target column with signs_j coef_j >= 0 where signs_j != 0 (scipy)."""
    from scipy.optimize import lsq_linear

    s = signs.numpy()
    lower = np.where(s > 0, 0.0, -np.inf)
    upper = np.where(s < 0, 0.0, np.inf)
    A, b = design.double().numpy(), target.double().numpy()
    cols = [lsq_linear(A, b[:, i], bounds=(lower, upper), method="bvls").x for i in range(b.shape[1])]
    return torch.as_tensor(np.stack(cols, 1), dtype=design.dtype)


GROWTH_CAP = 10.0  # growth_cap: g beyond the training range at most this times its largest value over the range
GROWTH_GRID = 257  # points of the range where that largest value is taken
SATURATION_MARGIN = 0.01  # saturate: the range of each ridge coordinate on the training inputs, widened by this share


def init_member_linear(model: nn.Module, X: Tensor, Y: Tensor, w: Tensor) -> None:
    """``init_linear`` of each member of ``model`` (one network if its field is not a MemberMLP), each at the least
    squares of its own training rows (Y's NaN mark the rows a member holds out)."""
    k = model.field.k if isinstance(model.field, MemberMLP) else 1
    m = model.n_out // k
    for i in range(k):
        part = slice(i * m, (i + 1) * m)
        RidgeJacobianNet.init_linear(_Block(model, part, m), X, Y[:, part], w)


class _Block:
    """Member ``part``'s linear term, as ``init_linear`` reads and writes it (views of the ensemble's A, y0)."""

    def __init__(self, model: nn.Module, part: slice, m: int):
        self.A, self.y0, self.x0, self.n_out = model.A.data[part], model.y0.data[part], model.x0, m
        self.monotonic_cst = getattr(model, "monotonic_cst", None)


@persisted("ridge")
class RidgeJacobianNet(JacobianLayer):
    """Sum of integrated ridge derivatives; see the module docstring."""

    FIELD = MLP

    def __init__(
        self,
        field: MLP,
        structure: nn.Module,
        V: Tensor,
        *,
        U: Tensor | None,
        learn_V: bool,
        learn_U: bool,
        normalize: bool,
        eps_linear: float = 0.0,
        sign: Tensor | None = None,
        n_out: int | None = None,
        monotonic_cst: Tensor | None = None,
        linear: bool = False,
        saturate: bool = False,
        growth_cap: bool = False,
        trend_cap: bool = False,
        trend_band: bool = False,
    ):
        super().__init__()
        self.field, self.structure = field, structure
        self.normalize, self.eps_linear = normalize, eps_linear
        dtype = V.dtype
        self.V_raw = nn.Parameter(V) if learn_V else nn.Buffer(V)
        if U is None:  # U = V^T: symmetric Jacobian (gradient of a potential)
            self.U_raw = None
        else:
            self.U_raw = nn.Parameter(U) if learn_U else nn.Buffer(U)
        d = V.shape[1]
        if sign is not None:  # M = diag(sign) expm(B), always invertible
            self.sign = nn.Buffer(sign.to(dtype))
            self.B = nn.Parameter(torch.zeros(d, d, dtype=dtype))
        else:
            self.sign, self.B = None, None
        m = n_out if n_out is not None else (d if self.U_raw is None else self.U_raw.shape[0])
        self.n_out = m
        self.x0 = nn.Buffer(torch.zeros(d, dtype=dtype))
        self.y0 = nn.Parameter(torch.zeros(m, dtype=dtype))
        # partial monotonicity: c_j V[:, j] >= 0 for constrained features, U >= 0, g >= 0
        self.monotonic_cst = None if monotonic_cst is None else nn.Buffer(monotonic_cst.to(dtype))
        # a linear term: free (factors() then claims nothing), or with the signs of monotonic_cst (see linear())
        self.A = nn.Parameter(torch.zeros(m, d, dtype=dtype)) if linear else None
        if linear and monotonic_cst is not None:  # |A| has no gradient at 0: constrained entries start just off it
            with torch.no_grad():
                self.A.copy_((1e-4 * self.monotonic_cst).expand(m, d))
        # saturate: each ridge constant beyond the range its coordinate took on the training inputs (set by freeze;
        # lo > hi until then), so the linear term alone carries the trend out there; see freeze
        self.z_lo = nn.Buffer(torch.full((V.shape[0],), torch.inf, dtype=dtype)) if saturate else None
        self.z_hi = nn.Buffer(torch.full((V.shape[0],), -torch.inf, dtype=dtype)) if saturate else None
        # growth_cap (one input, g = exp(h)): the training range of the ridge coordinate (set by freeze; lo > hi
        # until then), beyond which h is held below h_cap, GROWTH_CAP times g's largest value over the range
        # (_set_growth_cap)
        ranged = growth_cap or trend_band
        self.s_lo = nn.Buffer(torch.tensor(torch.inf, dtype=dtype)) if ranged else None
        self.s_hi = nn.Buffer(torch.tensor(-torch.inf, dtype=dtype)) if ranged else None
        self.h_cap = nn.Buffer(torch.full((V.shape[0],), torch.inf, dtype=dtype)) if growth_cap else None
        # trend_cap (with growth_cap): beyond each end h also stays below its value at that end plus the outward
        # rise of its secant over the range (rows: low end, high end); trend_band (one input, g = h of any sign):
        # beyond each end h stays within its value there +- the secant's |slope| times the distance out; see
        # _set_growth_cap
        trend = trend_cap or trend_band
        self.trend_band = trend_band
        self.h_end = nn.Buffer(torch.full((2, V.shape[0]), torch.inf, dtype=dtype)) if trend else None
        self.h_rise = nn.Buffer(torch.zeros(2, V.shape[0], dtype=dtype)) if trend else None
        self.integrator: Integrator = MeshQuadrature(1e-6, 1e-8)

    QUADRATURE = MeshQuadrature  # method='quadrature': exact integration of the knot mesh

    # --- structure -----------------------------------------------------
    def _normalized(self, A: Tensor) -> Tensor:
        """Semi-orthogonal factor of A (QR), whose spectral norm is exactly 1.

        Dividing by the SVD spectral norm was tried first: its gradient is
        ill-conditioned once several singular values sit at the bound, and
        training became chaotic (weighted and repeated fits diverged).
        """
        if not self.normalize:
            return A
        if A.shape[0] < A.shape[1]:
            return self._normalized(A.T).T
        # the QR with a positive diagonal in R is unique and continuous in A; LAPACK's
        # sign convention is not (a column flips when a pivot crosses 0), which made
        # training chaotic
        Q, R = torch.linalg.qr(A)
        signs = torch.where(torch.diagonal(R) < 0, -1.0, 1.0).to(A.dtype)
        return Q * signs

    def V(self) -> Tensor:
        if self.monotonic_cst is not None:
            c = self.monotonic_cst
            return torch.where(c != 0, c * self.V_raw.abs(), self.V_raw)
        return self._normalized(self.V_raw)

    def U(self) -> Tensor:
        if self.monotonic_cst is not None:
            return self.U_raw.abs()
        return self.V().T if self.U_raw is None else self._normalized(self.U_raw)

    def M(self) -> Tensor | None:
        if self.B is None:
            return None
        return self.sign.unsqueeze(-1) * torch.linalg.matrix_exp(self.B)

    def linear(self) -> Tensor:
        """The linear term: free, or with c_j A[:, j] >= 0 in the constrained features (as V)."""
        if self.monotonic_cst is None:
            return self.A
        c = self.monotonic_cst
        return torch.where(c != 0, c * self.A.abs(), self.A)

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
        only through the network): the refinement meets those as any curvature (measured 6e-5 relative error
        at one, s = -18.9, against 1.5e-4 over [-5, 5])."""
        if self.s_lo is None or self.training or not bool(self.s_lo < self.s_hi):
            return []
        return [float(self.s_lo), float(self.s_hi)]

    @torch.no_grad()
    def _set_growth_cap(self) -> None:
        """h beyond the training range [s_lo, s_hi] is held below log(GROWTH_CAP) plus its largest value over it.

        Why (growth_cap, the 1-D g = exp(h) models): beyond the data exp(h) follows h's tangent at the edge, where
        a few noisy points can make it steep; 200 noisy points of log(x + 2.5) on [-1, 1] once gave a slope of
        46,587 one unit out (test MAE on [-2, 2] 39; UMNN 0.05).  The cap leaves every fit whose extrapolated
        derivative stays within 10x of its largest value on the data as it was (exp(x) grows 2.7x from x = 1 to 2,
        exp(2x) 7.4x).  MAE on [-2, 2], 4 data seeds, InvertibleJacobianRegressor() at n = 200 / 500 / 2000, without
        -> with: log(x + 2.5) 9.78 -> 0.213 / 0.077 -> 0.077 / 0.049 -> 0.049, x^3 + x 3.08 -> 2.64 / 2.89 -> 2.49 /
        3.78 -> 3.11, tanh(3x), exp(x), exp(2x), a logistic and 2x unchanged (JacobianRegressor(monotonic_cst=[1])
        alike: log 0.166 -> 0.149 at n = 200); the reproduction's 5-point prior suite: only x^3 + x moves, 0.513 ->
        0.319.

        trend_cap: beyond each end h also rises no faster than its secant over the whole range rises outward (not
        at all where h falls outward): a noisy edge's tangent is steep by chance, the secant is pinned by all the
        data, and exp(x), exp(2x) and log(x + 2.5) have secants that match their trends; h falling (saturating
        curves) is left to the network.  MAE on [-2, 2], 8 data seeds, n noisy points (noise 0.1) on [-1, 1],
        JacobianRegressor(monotonic_cst=[1]) with alpha from the noise (_base) at n = 200, without -> with:
        log(x + 2.5) 0.064 -> 0.044, sqrt(x + 2.5) 0.054 -> 0.036, 2x 0.016 -> 0.016.

        trend_band (the paper's free g, no cap): beyond each end g stays within its value there +- the |slope| of
        its secant over the range times the distance out; the network's own g followed the tangent of a noisy edge.
        JacobianRegressor() in 1-D, same protocol, alpha from the noise alone -> with the band, n = 200 / 2000:
        tanh(3x) 0.224 -> 0.124 / 0.109 -> 0.051, exp(x) 0.165 -> 0.186 / 0.071 -> 0.119, the logistic 0.135 ->
        0.087 / 0.062 -> 0.033, log(x + 2.5) 0.061 -> 0.060 / 0.041 -> 0.041, arctan(3x) 0.216 -> 0.125 / 0.144 ->
        0.089, 2x 0.074 -> 0.047 / 0.057 -> 0.027 (g held constant instead: exp(x) 0.22 / 0.17).
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

    def g_diag(self, z: Tensor) -> Tensor:
        """g_r(z[:, r]) for ridge coordinates z (n, R)."""
        n, R = z.shape
        full = self.g_table(z.reshape(-1)).reshape(n, R, R)
        return torch.diagonal(full, dim1=1, dim2=2)

    @torch.no_grad()
    def init_linear(self, X: Tensor, Y: Tensor, w: Tensor) -> None:
        """Start the linear term A and y0 at the weighted least-squares fit of Y on X - x0 (rows with a NaN
        dropped; the minimum-norm solution when features are collinear).

        Measured at the defaults with early stopping (5-fold R^2, benchmarks/tabular.py data): diabetes 0.44 ->
        0.49, cars 0.83 -> 0.86, without it the held-out validation stops a random ridge sum, not a linear fit.
        """
        keep = ~(torch.isnan(X).any(1) | torch.isnan(Y).any(1)) & (w > 0)
        X, Y, w = X[keep], Y[keep], w[keep]
        if self.A is None or X.shape[0] <= X.shape[1]:
            return
        design = torch.cat([torch.ones_like(X[:, :1]), X - self.x0], 1) * w.sqrt()[:, None]
        target = (Y * w.sqrt()[:, None]).cpu()
        cst = getattr(self, "monotonic_cst", None)
        if cst is None:
            coef = torch.linalg.lstsq(design.cpu(), target, driver="gelsd").solution
        else:  # the signs' bounded least squares; the linear term keeps c_j A[:, j] >= 0 (see linear())
            coef = bounded_lstsq(design.cpu(), target, torch.cat([cst.new_zeros(1), cst]).cpu())
        coef = coef.to(X.device)
        if not bool(torch.isfinite(coef).all()):
            return
        self.y0.copy_(coef[0, : self.n_out])
        A = coef[1:, : self.n_out].T
        if cst is not None:  # |.| has no gradient at 0: a coefficient on its bound starts just off it
            A = torch.where((cst != 0) & (A == 0), 1e-4 * cst, A)
        self.A.copy_(A)

    # --- integration ---------------------------------------------------
    @property
    def n_in(self) -> int:
        return self.x0.shape[0]

    def rate(self, t: Tensor, a: Tensor, dx: Tensor) -> Tensor:
        """g(a + t dx) dx in ridge coordinates: (T,) x (n, R) -> (T, n, R)."""
        z = a + t[:, None, None] * dx
        return self.g_diag(z.reshape(-1, z.shape[-1])).reshape(z.shape) * dx

    def paths(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """The ridge-coordinate segments the training inputs X integrate along."""
        V = self.V()
        return (self.x0 @ V.T).expand(X.shape[0], -1), X @ V.T

    def increments(self, z: Tensor, z0: Tensor) -> Tensor:
        """G(z) - G(z0) per ridge, for z (n, R) and z0 (R,)."""
        return self.integrator.integral(self, z0.unsqueeze(0), z, z.shape[1])

    def freeze(self, X: Tensor | None = None) -> None:
        """The integration rule, and (saturate) the ridge coordinates' range on X, widened to what earlier fits saw
        (warm starts, partial_fit: their ranges under the directions V had then).

        Why saturate: a ridge continues beyond the data with the slope g has at its edge, steep where few points
        pinned it; constant there, the model extrapolates with its linear term (as the potential's saturating
        tanh network does).  The monotone one-layer default, 5-fold R^2 (benchmarks/tabular.py), mean of
        random_state 0-4, without -> with: diabetes 0.476 -> 0.478, cars 0.864 -> 0.864, star98 0.690 -> 0.701
        (seeds' spread 0.643-0.763 -> 0.693-0.706: test districts 20-30 standard deviations out in one
        feature), fair -0.231 -> -0.227, friedman1 0.936 -> 0.937.
        """
        if self.s_lo is not None and X is not None:  # before the mesh, which integrates the capped g
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
        super().freeze(X)
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

    def forward(self, x: Tensor) -> Tensor:
        V = self.V()
        z, zone = x @ V.T, self._range()
        if zone is not None:
            z = torch.minimum(torch.maximum(z, zone[0]), zone[1])
        out = self.increments(z, self.x0 @ V.T) @ self.U().T
        if self.A is not None:
            out = out + (x - self.x0) @ self.linear().T
        if self.eps_linear:
            out = out + self.eps_linear * (x - self.x0)
        M = self.M()
        if M is not None:
            out = out @ M.T
        return self.y0 + out[:, : self.n_out]

    def jacobian(self, x: Tensor) -> Tensor:
        """Exact Jacobian of the computed map at x (n, d) -> (n, m, d)."""
        V = self.V()
        z, zone = x @ V.T, self._range()
        if zone is None:
            g = self.integrator.derivative(self, z)
        else:  # beyond its range a saturated ridge is constant
            outside = (z < zone[0]) | (z > zone[1]) | (zone[0] == zone[1])  # one distinct row: constant
            g = torch.where(
                outside, 0.0, self.integrator.derivative(self, torch.minimum(torch.maximum(z, zone[0]), zone[1]))
            )
        J = torch.einsum("mr,nr,rd->nmd", self.U(), g, V)
        if self.A is not None:
            J = J + self.linear()
        if self.eps_linear:
            J = J + self.eps_linear * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        M = self.M()
        if M is not None:
            J = M @ J
        return J[:, : self.n_out]

    # --- the layer protocol (skjacnet.constraints.layer) ---------------
    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        """What g's structure proves for ``diag(out_scale) f(diag(in_scale) x)``.

        |g| <= k with U, V of norm 1: Lipschitz k ||diag(out) U|| ||V diag(in)||.  The gradient of an
        eps-strongly convex potential times M: expansion eps sigma_min(diag(out) M) min(in).  The 1-D
        JacNet u G(v x) with g >= eps: expansion eps |u v| out in, of the sign of u v.  Monotone ridges:
        each output moves with c_j in the constrained features.
        """
        out = None if out_scale is None else out_scale.detach()
        with torch.no_grad():
            U, V, M = (None if A is None else A.detach().cpu().double() for A in (self.U(), self.V(), self.M()))
        k, eps_g = getattr(self.structure, "k", None), getattr(self.structure, "eps", None)
        if self.monotonic_cst is not None:  # a linear term has the signs of V (see linear())
            c = self.monotonic_cst.detach().cpu().numpy()
            signs = np.where(c != 0, np.sign(c), np.nan)[None, :].repeat(self.n_out, 0)
            return Factors(signs=signs)
        if self.A is not None:  # an unconstrained linear term: no bound, no sign
            return Factors()
        if k is not None and M is None and not self.eps_linear:
            Ue = U if out is None else out[:, None] * U
            Vi = V if in_scale is None else V * in_scale.detach()[None, :]
            return Factors(lipschitz=k * sigma(Ue, "max") * sigma(Vi, "max"))
        if M is not None and self.eps_linear:
            Mo = M[: self.n_out] if out is None else out[:, None] * M[: self.n_out]
            return Factors(expansion=self.eps_linear * sigma(Mo, "min") * scale_norm(in_scale, "min"))
        if eps_g and self.V_raw.shape == (1, 1) and self.U_raw is not None:
            uv = float(self.U_raw[0, 0] * self.V_raw[0, 0])
            scale = scale_norm(out_scale, "max") * scale_norm(in_scale, "max")
            return Factors(expansion=eps_g * abs(uv) * scale, signs=np.array([[np.sign(uv)]]))
        return Factors()

    def inverse_is_exact(self, inverse_method: str) -> bool:
        """Whether :meth:`inverse` is the closed form (the 1-D mesh) rather than an ODE."""
        scalar = self.V_raw.shape == (1, 1) and self.U_raw is not None and self.B is None and not self.eps_linear
        scalar = scalar and self.A is None
        return inverse_method == "auto" and scalar and self.integrator.exact_inverse

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Initial inverse of a square map: exact on the 1-D mesh; else ('auto') damped Newton from x0, with the
        paper's inverse ODE for the rows it leaves unsolved; an ODE method name runs that ODE for every row.

        Newton replaced the ODE as the first guess: the same inverse after the polish, in a tenth of the time
        or less (sRGB -> Lab, 4000 points: the ODE took 180x predict).
        """
        it = self.integrator
        if self.inverse_is_exact(inverse_method):
            u, v = self.U_raw[0, 0], self.V_raw[0, 0]
            w = (y - self.y0) / u + it.antiderivative((self.x0 * v).reshape(1, 1))
            return it.inverse_antiderivative(w) / v
        if inverse_method == "auto":
            return newton_inverse(self, y, lambda rows: self._ode_inverse(rows, "dopri5"))
        return self._ode_inverse(y, inverse_method)

    def _ode_inverse(self, y: Tensor, method: str) -> Tensor:
        """The paper's inverse: dx/dt = J(x)^-1 (y - y0), x(0) = x0."""
        it = self.integrator
        dy = y - self.y0

        def fn(t: Tensor, x: Tensor) -> Tensor:
            return torch.linalg.solve(self.jacobian(x), dy.unsqueeze(-1)).squeeze(-1)

        x_init = self.x0.expand(y.shape[0], -1).clone()
        return solve_ode(fn, x_init, method=method, rtol=max(it.rtol, 1e-9), atol=max(it.atol, 1e-9))

    # --- persistence (skjacnet._persist) --------------------------------
    def state_fields(self) -> dict:
        params = dict(self.named_parameters())
        return {
            "structure": activations.to_state(self.structure),
            "learn_V": "V_raw" in params,
            "U": "transpose" if self.U_raw is None else ("learned" if "U_raw" in params else "fixed"),
            "normalize": self.normalize,
            "eps_linear": self.eps_linear,
            "has_sign": self.sign is not None,
            "has_monotonic_cst": self.monotonic_cst is not None,
            "n_out": self.n_out,
            "linear": self.A is not None,
            "saturate": self.z_lo is not None,
            "growth_cap": self.h_cap is not None,
            "trend_cap": self.h_end is not None and not self.trend_band,
            "trend_band": self.trend_band,
        }

    @classmethod
    def from_fields(cls, state: dict, tensors: dict, field: MLP, dtype: torch.dtype) -> RidgeJacobianNet:
        return cls(
            field,
            activations.from_state(state["structure"]),
            torch.zeros_like(tensors["V_raw"]),
            U=None if state["U"] == "transpose" else torch.zeros_like(tensors["U_raw"]),
            learn_V=state["learn_V"],
            learn_U=state["U"] == "learned",
            normalize=state["normalize"],
            eps_linear=state["eps_linear"],
            sign=tensors["sign"] if state["has_sign"] else None,
            n_out=state["n_out"],
            monotonic_cst=tensors["monotonic_cst"] if state.get("has_monotonic_cst") else None,
            linear=state.get("linear", False),
            saturate=state.get("saturate", False),
            growth_cap=state.get("growth_cap", False),
            trend_cap=state.get("trend_cap", False),
            trend_band=state.get("trend_band", False),
        )
