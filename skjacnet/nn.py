"""Jacobian networks and the functions they define by integration.

Two families, both in standardised coordinates:

* :class:`RidgeJacobianNet`, conservative by construction::

      f(x) = y0 + M [ eps (x - x0) + U (G(V x) - G(V x0)) ],   G_r' = g_r

  with a structured scalar derivative g_r per ridge r.  Its exact Jacobian is
  ``M (eps I + U diag(g(Vx)) V)``, so bounds on g become guarantees on f:
  |g| <= k with semi-orthogonal U, V (||U|| = ||V|| = 1) gives a k-Lipschitz map (spectral norm);
  g >= 0, U = V^T and eps > 0 give the gradient of a strongly convex
  potential (a bijection of R^d), M = S expm(B) keeps it invertible.  With
  one input and one output it is exactly the paper's 1-D JacNet.

* :class:`skjacnet._full.FullJacobianNet`, the paper's unconstrained n-D
  model: a network for the whole matrix J(x), integrated along paths from
  x0.  Such a field need not be curl-free, so it carries no guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor, nn

from . import _mesh, _warn
from .integrate import Integration, ode_integral, solve_ode

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda h: h,
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "silu": F.silu,
    "sin": torch.sin,
}


def _uniform(shape: Sequence[int], bound: float, gen: torch.Generator, dtype: torch.dtype) -> nn.Parameter:
    """U(-bound, bound) drawn from ``gen``, never from torch's global RNG."""
    return nn.Parameter((torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound).to(dtype))


class MLP(nn.Module):
    """Fully connected network, initialised like ``nn.Linear`` from a generator."""

    def __init__(self, sizes: Sequence[int], activation: str, gen: torch.Generator, dtype: torch.dtype):
        super().__init__()
        self.activation = activation
        self.evaluations = 0  # points evaluated: the cost measure of an integrator
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(_uniform((fan_out, fan_in), bound, gen, dtype))
            self.biases.append(_uniform((fan_out,), bound, gen, dtype))

    def forward(self, x: Tensor) -> Tensor:
        self.evaluations += x.numel() // x.shape[-1]
        act = ACTIVATIONS[self.activation]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = F.linear(x, w, b)
            if i < last:
                x = act(x)
        return x


class RidgeJacobianNet(nn.Module):
    """Sum of integrated ridge derivatives; see the module docstring."""

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
        self.integration = Integration("quadrature", 1e-6, 1e-8)
        self.mesh: _mesh.Mesh | None = None  # frozen after fit
        self._knot_cache: list | None = None

    REFINE_EVERY = 10

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

    def g_table(self, s: Tensor) -> Tensor:
        """Derivatives of every ridge at scalar points s (K,) -> (K, R)."""
        return self.structure(self.field(s.unsqueeze(-1)))

    def g_diag(self, z: Tensor) -> Tensor:
        """g_r(z[:, r]) for ridge coordinates z (n, R)."""
        n, R = z.shape
        full = self.g_table(z.reshape(-1)).reshape(n, R, R)
        return torch.diagonal(full, dim1=1, dim2=2)

    # --- integration ---------------------------------------------------
    def _refine(self, lo: float, hi: float) -> tuple[Tensor, bool]:
        it = self.integration
        knots, ok = _mesh.refine_knots(
            self.g_table, lo, hi, rtol=it.rtol, atol=it.atol, max_knots=it.max_knots,
            dtype=self.V_raw.dtype, device=self.V_raw.device,
        )  # fmt: skip
        if self.training and not ok:
            it.capped += 1
        return knots, ok

    def build_mesh(self, lo: float, hi: float) -> _mesh.Mesh:
        knots, ok = self._refine(lo, hi)
        return _mesh.build_table(knots, self.g_table(knots), ok)

    def _training_mesh(self, lo: float, hi: float) -> _mesh.Mesh:
        """Mesh for a training step; knots are re-refined every few steps.

        g changes little per optimiser step, so between refinements the
        knots are reused and only g is re-evaluated (with autograd).  The
        final mesh is refined afresh by :meth:`freeze`.
        """
        cache = self._knot_cache
        if cache is None or cache[1] > lo or cache[2] < hi or cache[3] >= self.REFINE_EVERY:
            cache = [self._refine(lo, hi)[0], lo, hi, 0]
        cache[3] += 1
        self._knot_cache = cache
        return _mesh.build_table(cache[0], self.g_table(cache[0]))

    def train(self, mode: bool = True) -> RidgeJacobianNet:
        self._knot_cache = None
        return super().train(mode)

    def freeze(self, X: Tensor | None = None) -> None:
        """Fix the mesh on the whole line: predictions become a fixed function."""
        if self.integration.method == "quadrature":
            with torch.no_grad():
                self.mesh = self.build_mesh(-_mesh.FAR, _mesh.FAR)
            if not self.mesh.converged:
                _warn.warn(
                    f"The integration mesh reached {self.mesh.knots.numel()} knots without meeting "
                    f"rtol={self.integration.rtol}, atol={self.integration.atol}; predictions keep their "
                    "guarantee but follow the network's integral less closely. Loosen the tolerances.",
                    ConvergenceWarning,
                )
        else:
            self.mesh = None

    def increments(self, z: Tensor, z0: Tensor) -> Tensor:
        """G(z) - G(z0) per ridge, for z (n, R) and z0 (R,)."""
        it = self.integration
        if it.method == "quadrature":
            mesh = self.mesh
            if mesh is None or self.training:
                # at least one base cell each side of 0 (a single sample has z == 0)
                lo = min(float(z.detach().min()), float(z0.detach().min()), -_mesh.MIN_HALF_WIDTH)
                hi = max(float(z.detach().max()), float(z0.detach().max()), _mesh.MIN_HALF_WIDTH)
                mesh = self._training_mesh(lo, hi)
            return _mesh.antiderivative(mesh, z) - _mesh.antiderivative(mesh, z0.unsqueeze(0))
        dz = z - z0

        def rate(t: Tensor) -> Tensor:
            return self.g_diag(z0 + t * dz) * dz

        # the adjoint only differentiates what it is given: inputs included
        return ode_integral(rate, z.shape, template=z, **it.ode_kwargs((*self.parameters(), z0, dz)))

    def forward(self, x: Tensor) -> Tensor:
        V = self.V()
        out = self.increments(x @ V.T, self.x0 @ V.T) @ self.U().T
        if self.eps_linear:
            out = out + self.eps_linear * (x - self.x0)
        M = self.M()
        if M is not None:
            out = out @ M.T
        return self.y0 + out[:, : self.n_out]

    def jacobian(self, x: Tensor) -> Tensor:
        """Exact Jacobian of the computed map at x (n, d) -> (n, m, d)."""
        V = self.V()
        z = x @ V.T
        g = _mesh.derivative(self.mesh, z) if self.mesh is not None else self.g_diag(z)
        J = torch.einsum("mr,nr,rd->nmd", self.U(), g, V)
        if self.eps_linear:
            J = J + self.eps_linear * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        M = self.M()
        if M is not None:
            J = M @ J
        return J[:, : self.n_out]

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Initial inverse of a square map: exact on the 1-D mesh, else the ODE.

        The ODE is the paper's: dx/dt = J(x)^-1 (y - y0), x(0) = x0.
        """
        scalar = self.V_raw.shape == (1, 1) and self.U_raw is not None and self.B is None and not self.eps_linear
        if inverse_method == "auto" and scalar and self.mesh is not None:
            u, v = self.U_raw[0, 0], self.V_raw[0, 0]
            w = (y - self.y0) / u + _mesh.antiderivative(self.mesh, (self.x0 * v).reshape(1, 1))
            return _mesh.inverse_antiderivative(self.mesh, w, torch.ones(1, dtype=y.dtype, device=y.device)) / v
        method = "dopri5" if inverse_method == "auto" else inverse_method
        dy = y - self.y0

        def fn(t: Tensor, x: Tensor) -> Tensor:
            return torch.linalg.solve(self.jacobian(x), dy.unsqueeze(-1)).squeeze(-1)

        x_init = self.x0.expand(y.shape[0], -1).clone()
        it = self.integration
        return solve_ode(fn, x_init, method=method, rtol=max(it.rtol, 1e-9), atol=max(it.atol, 1e-9))
