"""constraint='positive_definite': M grad(phi) with phi strongly convex, a bijection (1-D: the paper's J^2 + eps)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .activations import POSITIVE_MAPS, ExpPositive
from .base import Constraint, register, scalar_ridges
from .checks import check_jacobian_rank, check_pairs
from .extrapolation import Extrapolation, TrendCap
from .layer import Composition, Factors, persisted, scale_norm, sigma
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet


@persisted("ridge_gradient")
class GradientRidges(RidgeJacobianNet):
    """``M (eps (x - x0) + V^T (G(V x) - G(V x0)))`` with g >= 0 and M = S expm(B): M times the gradient of an
    eps-strongly convex potential, a bijection of R^d (its Jacobian M (eps I + V^T diag(g) V) is nowhere singular).
    """

    def __init__(
        self, field: MLP, structure: nn.Module, V: Tensor, *, eps_linear: float, sign: Tensor, n_out: int | None = None
    ):
        self.eps_linear, self._sign = eps_linear, sign
        super().__init__(field, structure, V, None, learn_V=True, learn_U=False, n_out=n_out)

    def _init_output_map(self, d, dtype):
        self.sign = nn.Buffer(self._sign.to(dtype))  # M = diag(sign) expm(B), always invertible
        self.B = nn.Parameter(torch.zeros(d, d, dtype=dtype))
        del self._sign

    def U(self):
        return self.V().T  # a symmetric Jacobian: the gradient of a potential

    def M(self) -> Tensor:
        return self.sign.unsqueeze(-1) * torch.linalg.matrix_exp(self.B)

    def output_map(self, x, out):
        if self.eps_linear:
            out = out + self.eps_linear * (x - self.x0)
        return out @ self.M().T

    def output_jacobian(self, J):
        if self.eps_linear:
            J = J + self.eps_linear * torch.eye(J.shape[-1], dtype=J.dtype, device=J.device)
        return self.M() @ J

    def _scalar_map(self):
        return False

    def factors(self, in_scale=None, out_scale=None):
        """Expansion eps sigma_min(diag(out) M) min(in)."""
        if not self.eps_linear:
            return Factors()
        with torch.no_grad():
            M = self.M().detach().cpu().double()[: self.n_out]
        Mo = M if out_scale is None else out_scale.detach()[:, None] * M
        return Factors(expansion=self.eps_linear * sigma(Mo, "min") * scale_norm(in_scale, "min"))

    def state_fields(self):
        return {**super().state_fields(), "eps_linear": self.eps_linear}

    @classmethod
    def from_fields(cls, state, tensors, field, dtype):
        core = cls.core_fields(state, tensors, field)
        return cls(field, core["structure"], core["V"], eps_linear=state["eps_linear"], sign=tensors["sign"],
                   n_out=core["n_out"])  # fmt: skip


@persisted("ridge_scalar_bijection")
class ScalarBijection(RidgeJacobianNet):
    """The paper's 1-D JacNet u G(v x) with g >= eps (one target: strictly monotone, |slope| >= eps |u v|)."""

    def factors(self, in_scale=None, out_scale=None):
        eps = self.structure.eps
        if not (eps and self.V_raw.shape == (1, 1)):
            return Factors()
        uv = float(self.U()[0, 0] * self.V()[0, 0])
        scale = scale_norm(out_scale, "max") * scale_norm(in_scale, "max")
        return Factors(expansion=eps * abs(uv) * scale, signs=np.array([[np.sign(uv)]]))


@register
class PositiveDefinite(Constraint):
    name = "positive_definite"
    invertible = True
    uses_epsilon = True
    uses_positive_map = True

    deep = True

    def uses_ridges(self, spec):
        return not self.scalar(spec)

    def noise_alpha(self, spec):
        # the 1-D exp(h) regression, as monotonic_cst's (FitSteps._train)
        return self.scalar(spec) and spec.positive_map == "exp" and spec.least_squares_start

    def model_in(self, spec):
        return spec.n_in if self.scalar(spec) else max(spec.n_in, spec.n_out)

    def orientation_size(self, spec):
        return 1 if self.scalar(spec) else self.model_in(spec)

    def build(self, spec, gen, signs):
        if spec.n_layers > 1:
            from .kronecker import mixing_layer  # imported here: 'kronecker' registers after this structure

            # n_layers - 1 dense bijections S e^C G(e^D x) (closed-form inverses), then the one-layer model, which
            # holds the orientation and drops the padded outputs
            D = self.model_in(spec)
            mixing = [mixing_layer(spec, D, None, gen, dense=True, inner=True) for _ in range(spec.n_layers - 1)]
            return Composition([*mixing, self._layer(spec, gen, signs)])
        return self._layer(spec, gen, signs)

    def _layer(self, spec, gen, signs):
        positive = POSITIVE_MAPS[spec.positive_map]
        if self.scalar(spec):
            # exp(h): its growth beyond the data is capped (extrapolation.TrendCap)
            policy = TrendCap if positive is ExpPositive else Extrapolation
            return scalar_ridges(ScalarBijection, spec, positive(spec.epsilon), signs, gen, extrapolation=policy)
        # square of size D (zero-padded when n_in != n_out)
        dt, D = spec.dtype, self.model_in(spec)
        R = spec.ridges(D)
        return GradientRidges(
            MLP((1, *spec.hidden, R), spec.activation, gen, dt),
            positive(0.0),
            init_matrix((R, D), gen, dt),
            eps_linear=spec.epsilon,
            sign=torch.as_tensor(signs, dtype=dt),
            n_out=spec.n_out,
        )

    def check(self, probe, cert, X, n_pairs, rng):
        if cert["jacobian_lower"] is not None:  # a submersion: no pair bound, a bound on the Jacobian's rank
            return check_jacobian_rank(probe, cert, X, n_pairs, rng)
        return check_pairs(probe, cert, X, n_pairs, rng)

    def certify(self, spec, cert, factors):
        d, m = cert["n_features"], cert["n_targets"]
        factors = factors()
        lower = {"value": factors.expansion, "sign": 1.0 if factors.signs is None else float(factors.signs[0, 0])}
        if m < d:
            # the first m outputs of a bijection F of R^d: J_f = rows of J_F (nonsingular) have full row rank,
            # with sigma_m(J_f) >= sigma_m(diag(s_y) P M) * eps / max(s_x) -- the same constant c
            prop = (
                "submersion onto R^m (the first outputs of a bijection): the Jacobian has full row rank "
                "everywhere, smallest singular value >= c (one target: the gradient never vanishes, no local extrema)"
            )
            return {**cert, "property": prop, "jacobian_lower": lower["value"]}
        if m > d:
            prop = "injective (restriction of a bijection to the zero-padded inputs): ||f(a) - f(b)|| >= c ||a - b||"
        elif d == 1:
            prop = f"strictly {'increasing' if lower['sign'] > 0 else 'decreasing'}, |slope| >= c, onto R"
        else:
            prop = "bijection of R^d with nowhere-singular Jacobian: ||f(a) - f(b)|| >= c ||a - b||"
        return {**cert, "property": prop, "expansion_lower": lower["value"]}
