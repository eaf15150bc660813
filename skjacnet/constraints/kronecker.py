"""Kronecker-factored invertible JacNet: a bijection of R^d with a cheap, exact inverse.

With d = d1 * d2 and x seen as a d1 x d2 matrix (row-major),

    f(x) = y0 + U (G(V x) - G(V x0)),   U = diag(S) (A1 (x) A2),  V = B1 (x) B2,

where A_i = expm(C_i), B_i = expm(D_i) (always invertible) and G acts
coordinate-wise, G_r' = g_r >= eps > 0 (a learned scalar derivative per
coordinate, integrated exactly on the knot mesh).  Its Jacobian

    J(x) = U diag(g(V x)) V

is Kronecker-factored up to the diagonal: every factor is invertible, so f is
a composition of three bijections, with ||f(a) - f(b)|| >= eps s(U) s(V) ||a - b||
(s = smallest singular value; for a Kronecker product, the product of the
factors').  The inverse needs no ODE and no d x d solve:

    x = V^-1 G^-1(U^-1 (y - y0) + G(V x0)),   (A (x) B)^-1 = A^-1 (x) B^-1,

and the Kronecker products are applied as X -> A X B^T, so a point costs
O(d (d1 + d2)) instead of the dense structure's ODE of d x d solves.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .activations import Positive
from .base import SquareBijection, register
from .layer import Composition, Factors, persisted, sigma
from .mlp import MLP
from .ridge import RidgeJacobianNet

DENSE_SVD_MAX = 1024  # certificates: an exact d x d SVD up to this d, the factors' bound above


def kron_shape(d: int) -> tuple[int, int]:
    """(d1, d2) with d1 * d2 = d and d1 the largest divisor <= sqrt(d)."""
    d1 = max(k for k in range(1, math.isqrt(d) + 1) if d % k == 0)
    return d1, d // d1


def kron_apply(A: Tensor, B: Tensor, x: Tensor) -> Tensor:
    """(A (x) B) x for rows x (n, d1 * d2), as A X B^T without forming the product."""
    n = x.shape[0]
    X = x.reshape(n, A.shape[1], B.shape[1])
    return (A @ X @ B.T).reshape(n, -1)


@persisted("kronecker")
class KroneckerJacobianNet(RidgeJacobianNet):
    """See the module docstring; ``eps`` is the smallest derivative of every G_r."""

    def __init__(
        self, field: MLP, d: int, eps: float, sign: Tensor, dtype: torch.dtype, shape: tuple[int, int] | None = None
    ):
        # the parent's generic parts (mesh, field, y0, x0); V and U are the factors' products
        # (methods below), so its matrices are empty placeholders: d x d identities cost
        # O(d^2) memory and pickle size for nothing (268 MB at d = 4096)
        super().__init__(field, Positive(eps), torch.zeros(0, d, dtype=dtype), torch.zeros(d, 0, dtype=dtype),
                         learn_V=False, learn_U=False)  # fmt: skip
        d1, d2 = kron_shape(d) if shape is None else shape  # (1, d): dense A = S e^C, B = e^D
        self.shape = (d1, d2)  # x as a d1 x d2 matrix
        self.C1 = nn.Parameter(torch.zeros(d1, d1, dtype=dtype))
        self.C2 = nn.Parameter(torch.zeros(d2, d2, dtype=dtype))
        self.D1 = nn.Parameter(torch.zeros(d1, d1, dtype=dtype))
        self.D2 = nn.Parameter(torch.zeros(d2, d2, dtype=dtype))
        self.out_sign = nn.Buffer(sign.to(dtype))

    def _factors(self, left: bool, power: float = 1.0) -> tuple[Tensor, Tensor]:
        """expm factors of U (left) or V, or of their inverses (power=-1)."""
        P, Q = (self.C1, self.C2) if left else (self.D1, self.D2)
        return torch.linalg.matrix_exp(power * P), torch.linalg.matrix_exp(power * Q)

    def singular_value_bounds(self) -> tuple[float, float]:
        """Smallest singular values of U and V: s(A (x) B) = s(A) s(B), no d x d SVD."""

        def smin(A: Tensor) -> float:
            return float(torch.linalg.svdvals(A).min())

        with torch.no_grad():
            A1, A2 = self._factors(left=True)
            B1, B2 = self._factors(left=False)
            return smin(A1) * smin(A2), smin(B1) * smin(B2)

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        """Expansion eps s_min(diag(out) U) s_min(V diag(in)): the three bijections f is made of.

        Exact (dense SVD) up to ``DENSE_SVD_MAX`` dimensions; above, the product of the Kronecker factors'
        smallest singular values times the extreme scales, a lower bound in O(d1^3 + d2^3).
        """
        eps = self.structure.eps  # g >= eps
        if self.n_out > DENSE_SVD_MAX:
            smin_u, smin_v = self.singular_value_bounds()
            out = 1.0 if out_scale is None else float(out_scale.min())
            inn = 1.0 if in_scale is None else float(in_scale.min())
            return Factors(expansion=float(eps * smin_u * out * smin_v * inn))
        with torch.no_grad():
            U, V = self.U().cpu().double(), self.V().cpu().double()
            U = U if out_scale is None else out_scale.detach()[:, None] * U
            # zero-padded inputs (deep rectangular fits): only the first len(in_scale) columns are ever used
            V = V if in_scale is None else V[:, : in_scale.shape[0]] * in_scale.detach()[None, :]
        return Factors(expansion=float(eps * sigma(U, "min") * sigma(V, "min")))

    # the dense matrices, for the Jacobian
    def V(self) -> Tensor:
        return torch.kron(*self._factors(left=False))

    def U(self) -> Tensor:
        return self.out_sign.unsqueeze(-1) * torch.kron(*self._factors(left=True))

    def forward(self, x: Tensor) -> Tensor:
        B1, B2 = self._factors(left=False)
        inc = self.increments(kron_apply(B1, B2, x), kron_apply(B1, B2, self.x0.unsqueeze(0))[0])
        return self.y0 + self.out_sign * kron_apply(*self._factors(left=True), inc)

    def solve_jacobian(self, x: Tensor, r: Tensor) -> Tensor:
        """J(x)^-1 r = V^-1 diag(1 / g(V x)) U^-1 r, through the factors: O(d (d1 + d2)) per row."""
        B1, B2 = self._factors(left=False)
        z = kron_apply(B1, B2, x)
        g = self.integrator.derivative(self, z)
        w = kron_apply(*self._factors(left=True, power=-1.0), r * self.out_sign) / g
        return kron_apply(*self._factors(left=False, power=-1.0), w)

    def inverse_is_exact(self, inverse_method: str) -> bool:
        """Whether :meth:`inverse` is the closed form (exact to rounding) rather than an ODE."""
        return inverse_method == "auto" and self.integrator.exact_inverse(self)

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Exact inverse on the frozen mesh; an ODE method name forces the paper's inverse ODE."""
        if not self.inverse_is_exact(inverse_method):
            return super().inverse(y, "dopri5" if inverse_method == "auto" else inverse_method)
        B1, B2 = self._factors(left=False)
        w = kron_apply(*self._factors(left=True, power=-1.0), (y - self.y0) * self.out_sign)
        w = w + self.integrator.antiderivative(self, kron_apply(B1, B2, self.x0.unsqueeze(0)))
        z = self.integrator.inverse_antiderivative(self, w)
        return kron_apply(*self._factors(left=False, power=-1.0), z)

    def state_fields(self) -> dict:
        return {**super().state_fields(), "eps": self.structure.eps, "d": self.n_out, "shape": list(self.shape)}

    @classmethod
    def from_fields(cls, state, tensors, field, dtype):
        shape = state.get("shape")  # states saved before deep models had the default shape
        model = cls(
            field, state["d"], state["eps"], tensors["out_sign"], dtype, None if shape is None else tuple(shape)
        )
        # states saved before the placeholders became empty held d x d identities there
        tensors["V_raw"], tensors["U_raw"] = model.V_raw, model.U_raw
        return model


def mixing_layer(spec, d: int, signs, gen, dense: bool = False, inner: bool = False) -> KroneckerJacobianNet:
    """One Kronecker layer of width d (``dense``: A = S e^C and B = e^D full d x d); signs None: S = +1.

    ``inner``: a layer of a deep stack below its outermost one.  g starts close to 1 (h = 1 + small), so
    that the stack starts as its outer layer (randomly initialised stacks trained worse than one layer; measured:
    docs/measurements.md, "The Kronecker structure"), and its field is tanh: bounded g, so G grows linearly far
    from the data; with softplus (g ~ h^2, G cubic) four layers grew like |x|^81 and predict overflowed at
    |x| ~ 1e3.
    """
    dt = spec.dtype
    field = MLP((1, *spec.hidden, d), "tanh" if inner else spec.activation, gen, dt)
    if inner:
        with torch.no_grad():
            field.weights[-1].mul_(0.1)
            field.biases[-1].mul_(0.1).add_(1.0)
    sign = torch.ones(d, dtype=dt) if signs is None else torch.as_tensor(signs, dtype=dt)
    return KroneckerJacobianNet(field, d, spec.epsilon, sign, dt, (1, d) if dense else None)


@register
class Kronecker(SquareBijection):
    name = "kronecker"

    def build(self, spec, gen, signs):
        layers = [
            mixing_layer(spec, spec.n_in, signs if i == 0 else None, gen, inner=i < spec.n_layers - 1)
            for i in range(spec.n_layers)
        ]
        return layers[0] if spec.n_layers == 1 else Composition(layers)

    def certify(self, spec, cert, factors):
        prop = "bijection of R^d with nowhere-singular Kronecker-factored Jacobian: ||f(a) - f(b)|| >= c ||a - b||"
        return {**cert, "property": prop, "expansion_lower": factors().expansion}
