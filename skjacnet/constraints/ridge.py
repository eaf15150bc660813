"""The ridge core: the Jacobian network most structures are made of, and the function it defines.

In standardised coordinates::

      f(x) = y0 + A (x - x0) + U (G(V x) - G(V x0)),   G_r' = g_r

with a scalar derivative g_r per ridge r (one small network, ``field``, for all of them, through the structure's
map ``structure``).  Its exact Jacobian is ``A + U diag(g(Vx)) V``, so bounds on g and on the parameterisation of
U, V, A become guarantees on f.  Each structure is a subclass in its own module that says how U, V and A are
parameterised and what that proves:

* :class:`RidgeJacobianNet` itself: g of any sign, A free (constraint='none'; with one input and one output it is
  exactly the paper's 1-D JacNet);
* ``LipschitzRidges``: |g| <= k between semi-orthogonal U, V, a k-Lipschitz map;
* ``GradientRidges``: g >= 0, U = V^T, eps (x - x0) beside, then M = S expm(B): M times the gradient of a strongly
  convex potential, a bijection of R^d; ``ScalarBijection``, its 1-D case u G(v x) with g >= eps;
* ``MonotoneRidges``: g >= 0, U >= 0, c_j V[:, j] >= 0 and c_j A[:, j] >= 0, monotone in the constrained features;
* ``KroneckerJacobianNet``: U, V as Kronecker products, for d in the thousands.

The linear term A starts at the (sign-bounded) least-squares fit (:meth:`RidgeJacobianNet.init_linear`), so that on
small noisy data early stopping begins from the linear model.  How the network extrapolates beyond its training
range is one policy object (``extrapolation``: constraints.extrapolation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..integrate import Integrator, MeshQuadrature, solve_ode
from . import activations
from .extrapolation import POLICIES, Extrapolation
from .layer import Factors, JacobianLayer, newton_inverse, persisted
from .linear_start import init_linear as least_squares_start
from .mlp import MLP


@persisted("ridge")
class RidgeJacobianNet(JacobianLayer):
    """The ridge core, free: g of any sign, A free (see the module docstring for the structures built on it)."""

    FIELD = MLP
    QUADRATURE = MeshQuadrature  # method='quadrature': exact integration of the knot mesh

    def __init__(
        self,
        field: MLP,
        structure: nn.Module,
        V: Tensor,
        U: Tensor | None,
        *,
        learn_V: bool,
        learn_U: bool,
        n_out: int | None = None,
        linear: bool = False,
        extrapolation: type[Extrapolation] = Extrapolation,
    ):
        super().__init__()
        self.field, self.structure = field, structure
        dtype, d = V.dtype, V.shape[1]
        self.V_raw = nn.Parameter(V) if learn_V else nn.Buffer(V)
        self.U_raw = None if U is None else (nn.Parameter(U) if learn_U else nn.Buffer(U))
        self._init_output_map(d, dtype)  # before y0: the order L-BFGS flattens the parameters in
        m = n_out if n_out is not None else (d if self.U_raw is None else self.U_raw.shape[0])
        self.n_out = m
        self.x0 = nn.Buffer(torch.zeros(d, dtype=dtype))
        self.y0 = nn.Parameter(torch.zeros(m, dtype=dtype))
        self.A = nn.Parameter(torch.zeros(m, d, dtype=dtype)) if linear else None  # free here: factors() says nothing
        self.extrapolation = extrapolation(V.shape[0], dtype)
        self.integrator: Integrator = MeshQuadrature(1e-6, 1e-8)

    def _init_output_map(self, d: int, dtype: torch.dtype) -> None:
        """Parameters of a map after the ridges (none here; ``GradientRidges``: M = S expm(B))."""

    # --- structure (what the subclasses redefine) ----------------------
    def V(self) -> Tensor:
        return self.V_raw

    def U(self) -> Tensor:
        return self.U_raw

    def linear(self) -> Tensor:
        """The linear term A."""
        return self.A

    def output_map(self, x: Tensor, out: Tensor) -> Tensor:
        """The map after the ridges and the linear term, on the outputs (identity here)."""
        return out

    def output_jacobian(self, J: Tensor) -> Tensor:
        """``output_map``'s effect on the Jacobian."""
        return J

    def g_table(self, s: Tensor) -> Tensor:
        """Derivatives of every ridge at scalar points s (K,) -> (K, R), as the extrapolation policy holds them."""
        return self.structure(self.extrapolation.hold(self.field(s.unsqueeze(-1)), s))

    def g_breaks(self) -> list[float]:
        """Kinks of g_table, which the mesh takes as knots."""
        return self.extrapolation.breaks()

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
        """The integration rule, and the extrapolation policy on X: what the mesh integrates before it, the ranges
        the integrated ridges are read in after it."""
        self.extrapolation.fix_before_mesh(self, X)
        super().freeze(X)
        self.extrapolation.fix_after_mesh(self, X)

    def forward(self, x: Tensor) -> Tensor:
        V = self.V()
        out = self.increments(self.extrapolation.clip(x @ V.T), self.x0 @ V.T) @ self.U().T
        if self.A is not None:
            out = out + (x - self.x0) @ self.linear().T
        return self.y0 + self.output_map(x, out)[:, : self.n_out]

    def jacobian(self, x: Tensor) -> Tensor:
        """Exact Jacobian of the computed map at x (n, d) -> (n, m, d)."""
        V = self.V()
        g = self.extrapolation.derivative(x @ V.T, lambda z: self.integrator.derivative(self, z))
        J = torch.einsum("mr,nr,rd->nmd", self.U(), g, V)
        if self.A is not None:
            J = J + self.linear()
        return self.output_jacobian(J)[:, : self.n_out]

    # --- the layer protocol (skjacnet.constraints.layer) ---------------
    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        """Free ridges prove nothing; each guaranteed structure's subclass says what its parameterisation proves
        for ``diag(out_scale) f(diag(in_scale) x)``."""
        return Factors()

    def _scalar_map(self) -> bool:
        """One input, one ridge, nothing beside it: a 1-D antiderivative u G(v x), invertible in closed form."""
        return self.V_raw.shape == (1, 1) and self.U_raw is not None and self.A is None

    def inverse_is_exact(self, inverse_method: str) -> bool:
        """Whether :meth:`inverse` is the closed form (the 1-D mesh) rather than an ODE."""
        return inverse_method == "auto" and self._scalar_map() and self.integrator.exact_inverse(self)

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Initial inverse of a square map: exact on the 1-D mesh; else ('auto') damped Newton from x0, with the
        paper's inverse ODE for the rows it leaves unsolved; an ODE method name runs that ODE for every row.

        Newton replaced the ODE as the first guess: the same inverse after the polish, in far less time
        (docs/measurements.md, Ridge networks).
        """
        it = self.integrator
        if self.inverse_is_exact(inverse_method):
            u, v = self.U()[0, 0], self.V()[0, 0]
            w = (y - self.y0) / u + it.antiderivative(self, (self.x0 * v).reshape(1, 1))
            return it.inverse_antiderivative(self, w) / v
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
        """Plain values beside the tensors; a subclass adds its own and reads them back in ``from_fields``."""
        params = dict(self.named_parameters())
        return {
            "structure": activations.to_state(self.structure),
            "learn_V": "V_raw" in params,
            "U": "transpose" if self.U_raw is None else ("learned" if "U_raw" in params else "fixed"),
            "n_out": self.n_out,
            "linear": self.A is not None,
            "extrapolation": self.extrapolation.name,
        }

    @staticmethod
    def core_fields(state: dict, tensors: dict, field: MLP) -> dict:
        """The core's constructor arguments from a saved state (placeholders for the tensors loaded after)."""
        return dict(
            field=field,
            structure=activations.from_state(state["structure"]),
            V=torch.zeros_like(tensors["V_raw"]),
            U=None if state["U"] == "transpose" else torch.zeros_like(tensors["U_raw"]),
            learn_V=state["learn_V"],
            learn_U=state["U"] == "learned",
            n_out=state["n_out"],
            linear=state["linear"],
            extrapolation=POLICIES[state["extrapolation"]],
        )

    @classmethod
    def from_fields(cls, state: dict, tensors: dict, field: MLP, dtype: torch.dtype) -> RidgeJacobianNet:
        return cls(**cls.core_fields(state, tensors, field))
