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

import numpy as np
import torch
from torch import Tensor, nn

from ..integrate import Integrator, MeshQuadrature, solve_ode
from . import activations
from .extrapolation import RidgeExtrapolation
from .layer import Factors, JacobianLayer, newton_inverse, persisted, scale_norm, sigma
from .linear_start import init_linear as least_squares_start
from .mlp import MLP


@persisted("ridge")
class RidgeJacobianNet(RidgeExtrapolation, JacobianLayer):
    """Sum of integrated ridge derivatives; see the module docstring.  How it extrapolates beyond the training
    range (``saturate``, ``growth_cap``, ``trend_cap``, ``trend_band``) is :class:`RidgeExtrapolation`'s."""

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
        self._init_extrapolation(V.shape[0], dtype, saturate, growth_cap, trend_cap, trend_band)
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

    def g_diag(self, z: Tensor) -> Tensor:
        """g_r(z[:, r]) for ridge coordinates z (n, R)."""
        n, R = z.shape
        full = self.g_table(z.reshape(-1)).reshape(n, R, R)
        return torch.diagonal(full, dim1=1, dim2=2)

    init_linear = least_squares_start  # A and y0 at the weighted least-squares fit (constraints.linear_start)

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
        """The integration rule, and the extrapolation policy's ranges on X (see :class:`RidgeExtrapolation`)."""
        self._fix_held_range(X)  # before the mesh, which integrates the held g
        super().freeze(X)
        self._fix_saturation(X)

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

        Newton replaced the ODE as the first guess: the same inverse after the polish, in far less time
        (docs/measurements.md, Ridge networks).
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
            **self.extrapolation_fields(),
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
