"""constraint='positive_definite': M grad(phi) with phi strongly convex, a bijection (1-D: the paper's J^2 + eps)."""

from __future__ import annotations

import torch

from .activations import POSITIVE_MAPS, ExpPositive
from .base import Constraint, register, scalar_ridges
from .checks import check_jacobian_rank, check_pairs
from .layer import Composition
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet


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
            # exp(h): its growth beyond the data is capped (RidgeJacobianNet._set_growth_cap)
            exp = positive is ExpPositive
            return scalar_ridges(spec, positive(spec.epsilon), signs, gen, growth_cap=exp, trend_cap=exp)
        # square of size D (zero-padded when n_in != n_out)
        dt, D = spec.dtype, self.model_in(spec)
        R = spec.ridges(D)
        return RidgeJacobianNet(
            MLP((1, *spec.hidden, R), spec.activation, gen, dt),
            positive(0.0),
            init_matrix((R, D), gen, dt),
            U=None,
            learn_V=True,
            learn_U=False,
            normalize=False,
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
