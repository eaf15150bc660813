"""constraint='lipschitz': ridges k tanh(h) between semi-orthogonal maps, a k-Lipschitz map (l2 to l2)."""

from __future__ import annotations

import numpy as np

from .activations import Lipschitz
from .base import Constraint, register, scalar_ridges
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet


@register
class LipschitzConstraint(Constraint):
    name = "lipschitz"
    isotropic = True
    takes_lipschitz_constant = True

    def uses_ridges(self, spec):
        return not self.scalar(spec)

    def build(self, spec, gen, signs):
        if self.scalar(spec):
            return scalar_ridges(spec, Lipschitz(spec.k_std or 1.0), np.ones(spec.n_out), gen)
        dt = spec.dtype
        R = spec.ridges(max(spec.n_in, spec.n_out))
        return RidgeJacobianNet(
            MLP((1, *spec.hidden, R), spec.activation, gen, dt),
            Lipschitz(spec.k_std),
            init_matrix((R, spec.n_in), gen, dt),
            U=init_matrix((spec.n_out, R), gen, dt),
            learn_V=True,
            learn_U=True,
            normalize=True,
        )

    def certify(self, est, cert):
        k = float(est._spec.lipschitz_constant)
        return {**cert, "property": "k-Lipschitz: ||f(a) - f(b)|| <= k ||a - b||", "lipschitz_upper": k}
