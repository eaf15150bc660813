"""constraint='none': the paper's unconstrained JacNet (n-D: a network for the whole Jacobian, no guarantee)."""

from __future__ import annotations

import numpy as np

from .activations import Unconstrained
from .base import Constraint, register, scalar_ridges
from .full import FullJacobianNet
from .mlp import MLP


@register
class NoConstraint(Constraint):
    name = "none"
    allows_monotonic_cst = True
    path_dependent = True  # n-D only: the 1-D model is an exact antiderivative

    def scalar(self, spec):
        return spec.n_in == 1  # one output per target, no mixing: exact antiderivatives

    def auto_solver(self, spec, n_rows):
        # the full Jacobian network (d * m outputs, integrated along paths) interpolates noise when optimised
        # to convergence: L-BFGS scored R^2 -1.5 on load_diabetes (Adam 0.16), -1.5 on a noisy 3-D target (0.30)
        return super().auto_solver(spec, n_rows) if spec.n_in == 1 else "adam"

    def build(self, spec, gen, signs):
        n_in, n_out, dt = spec.n_in, spec.n_out, spec.dtype
        if n_in > 1:
            field = MLP((n_in, *spec.hidden, n_out * n_in), spec.activation, gen, dt)
            return FullJacobianNet(field, n_in, n_out, dt)
        return scalar_ridges(spec, Unconstrained(), np.ones(n_out), gen)
