"""constraint='none' (unconstrained, conservative) and 'nonconservative' (the paper's full Jacobian field).

'none' in n-D is a ridge sum with a linear term, f = y0 + A (x - x0) + U (G(V x) - G(V x0)): the gradient
of nothing in particular, but a function with an exact Jacobian (A + U diag(g(Vx)) V), so ``predict``,
``jacobian`` and every path agree.  'nonconservative' is the paper's n-D JacNet: a network for the whole
matrix J(x), integrated along straight paths (or the user's) from x0 or the nearest anchor; such a field
need not be curl-free, and the function it defines depends on the path.
"""

from __future__ import annotations

import numpy as np
import torch

from .activations import Unconstrained
from .base import Constraint, learned_ridges, register, scalar_ridges
from .extrapolation import Extrapolation, TrendBand
from .full import FullJacobianNet
from .layer import Composition
from .lipschitz import stack_width
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet


def unconstrained_stack(spec, depth: int, width: int, gen: torch.Generator) -> Composition:
    """``depth`` ridge layers z -> G(V z), the last mixed by U: conservative (a composition of gradients of
    ridge sums is a map with an exact Jacobian), an MLP whose every unit has its own learned activation G_r.

    Inner layers start near the identity on their ridges (g = 1 + small), so the stack starts as its last layer.
    """
    dt = spec.dtype
    layers = []
    for i in range(depth):
        last = i == depth - 1
        field = MLP((1, *spec.hidden, width), spec.activation, gen, dt)
        if not last:
            with torch.no_grad():
                field.weights[-1].mul_(0.1)
                field.biases[-1].mul_(0.1).add_(1.0)
        layers.append(
            RidgeJacobianNet(
                field,
                Unconstrained(),
                init_matrix((width, spec.n_in if i == 0 else width), gen, dt),
                init_matrix((spec.n_out, width), gen, dt) if last else torch.eye(width, dtype=dt),
                learn_V=True,
                learn_U=last,
            )
        )
    return Composition(layers)


def paper_scalar(spec, gen: torch.Generator) -> RidgeJacobianNet:
    """The paper's 1-D JacNet, g free; a regression's g beyond the data stays within its value at the end +- the
    |slope| of its secant over the range times the distance out (extrapolation.TrendBand)."""
    policy = TrendBand if spec.least_squares_start else Extrapolation
    return scalar_ridges(RidgeJacobianNet, spec, Unconstrained(), np.ones(spec.n_out), gen, extrapolation=policy)


@register
class NoConstraint(Constraint):
    name = "none"
    allows_feature_cst = True
    deep = True

    def scalar(self, spec):
        return spec.n_in == 1  # one output per target, no mixing: exact antiderivatives

    def auto_solver(self, spec, n_rows):
        # n-D: Adam, whose early-stopped path from the least-squares start generalises; L-BFGS runs to the
        # interpolating end of it (measured: docs/measurements.md, "Solvers of the other structures")
        return super().auto_solver(spec, n_rows) if spec.n_in == 1 else "adam"

    def uses_ridges(self, spec):
        return spec.n_layers > 1 or spec.n_in > 1

    def noise_alpha(self, spec):
        # the paper's 1-D regression, as monotonic_cst's (FitSteps._train; docs/measurements.md)
        return self.scalar(spec) and spec.n_layers == 1 and spec.least_squares_start

    def build(self, spec, gen, signs):
        n_in, n_out = spec.n_in, spec.n_out
        if spec.n_layers > 1:
            return unconstrained_stack(spec, spec.n_layers, stack_width(spec, max(n_in, n_out)), gen)
        if n_in > 1:
            # y0 + A (x - x0) + U (G(V x) - G(V x0)): free ridges beside a linear term (see initialise)
            return learned_ridges(RidgeJacobianNet, spec, Unconstrained(), gen, linear=True)
        return paper_scalar(spec, gen)

    def initialise(self, model, X, Y, w):
        if isinstance(model, RidgeJacobianNet):
            model.init_linear(X, Y, w)


@register
class NonConservative(NoConstraint):
    """The paper's n-D JacNet: an MLP for the whole Jacobian (d x m outputs), integrated along paths."""

    name = "nonconservative"
    allows_feature_cst = False
    deep = False
    path_dependent = True  # n-D only: the 1-D model is an exact antiderivative

    def uses_ridges(self, spec):
        return False

    def build(self, spec, gen, signs):
        n_in, n_out, dt = spec.n_in, spec.n_out, spec.dtype
        if n_in > 1:
            field = MLP((n_in, *spec.hidden, n_out * n_in), spec.activation, gen, dt)
            return FullJacobianNet(field, n_in, n_out, dt)
        return paper_scalar(spec, gen)

    def initialise(self, model, X, Y, w):
        pass
