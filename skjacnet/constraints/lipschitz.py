"""constraint='lipschitz': ridges k tanh(h) between semi-orthogonal maps, a k-Lipschitz map (l2 to l2)."""

from __future__ import annotations

import numpy as np
import torch

from .activations import Lipschitz
from .base import Constraint, register, scalar_ridges
from .layer import Composition
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet

# n_ridges='auto' in a deep stack: wider than one layer's max(8, 2 size).  Measured at depth 4 (benchmarks/deep.py
# targets, test R^2, widths max(8, 2d) / 32 / 64): distance to 3 points (d = 2) 0.9978 / 0.9986 / 0.9973,
# min-distance (d = 5) 0.9837 / 0.9941 / 0.9953, max-affine (d = 5) 0.9900 / 0.9974 / 0.9949, ||x|| (d = 5)
# 0.9973 / 0.9985 / 0.9980; at d = 10, 20 against 32 split by the seed (seed 0: ||x|| 0.9964 / 0.9941, max-affine
# 0.9958 / 0.9927; seed 1: 0.9923 / 0.9937, 0.9874 / 0.9891).
DEEP_MIN_WIDTH = 32


def stack_width(spec, size: int) -> int:
    """The width of every layer of a deep stack: ``n_ridges``, or 'auto' ``max(DEEP_MIN_WIDTH, 2 size)``."""
    return max(DEEP_MIN_WIDTH, 2 * size) if spec.n_ridges == "auto" else int(spec.n_ridges)


def lipschitz_stack(spec, n_in: int, n_out: int, k: float, depth: int, width: int, gen: torch.Generator) -> Composition:
    """``depth`` ridge layers z -> G(V z) (V with orthonormal columns or rows), the last one mixed by U.

    Each G acts coordinate-wise with |g| <= k ** (1 / depth), so the bounds multiply to k.  With |g| at its
    bound a layer preserves gradient norms (V is an isometry, U has orthonormal rows), and g = +-k on
    different coordinates gives |z| next to z, so a rotation, (identity, abs) and the inverse rotation is
    MaxMin: these compositions contain GroupSort-2 networks.
    """
    dt = spec.dtype
    k_layer = k ** (1.0 / depth)
    layers = []
    for i in range(depth):
        last = i == depth - 1
        U = init_matrix((n_out, width), gen, dt) if last else torch.eye(width, dtype=dt)
        layer_k = k / k_layer ** (depth - 1) if last else k_layer  # the product is k to rounding
        layers.append(
            RidgeJacobianNet(
                MLP((1, *spec.hidden, width), spec.activation, gen, dt),
                Lipschitz(layer_k),
                init_matrix((width, n_in if i == 0 else width), gen, dt),
                U=U,
                learn_V=True,
                learn_U=last,
                normalize=True,
            )
        )
    return Composition(layers)


@register
class LipschitzConstraint(Constraint):
    name = "lipschitz"
    isotropic = True
    takes_lipschitz_constant = True

    deep = True

    def uses_ridges(self, spec):
        return spec.n_layers > 1 or not self.scalar(spec)

    def build(self, spec, gen, signs):
        if spec.n_layers > 1:
            width = stack_width(spec, max(spec.n_in, spec.n_out))
            return lipschitz_stack(spec, spec.n_in, spec.n_out, spec.k_std, spec.n_layers, width, gen)
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
