"""monotonic_cst: a sum of increasing ridges, monotone in the constrained features, free in the others."""

from __future__ import annotations

import numpy as np
import torch

from .activations import Positive
from .base import Constraint
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet


class Monotone(Constraint):
    """``monotonic_cst``: a sum of increasing ridges u_r G_r(v_r . x), u_r >= 0, G_r' >= 0, c_j v_rj >= 0."""

    name = "monotone"

    def uses_ridges(self, spec):
        return True

    def build(self, spec, gen, signs):
        dt = spec.dtype
        cst = torch.as_tensor(spec.monotonic_cst, dtype=dt)
        R = spec.ridges(max(spec.n_in, spec.n_out))
        return RidgeJacobianNet(
            MLP((1, *spec.hidden, R), spec.activation, gen, dt),
            Positive(0.0),
            init_matrix((R, spec.n_in), gen, dt),
            U=init_matrix((spec.n_out, R), gen, dt),
            learn_V=True,
            learn_U=True,
            normalize=False,
            monotonic_cst=cst,
        )

    def certify(self, est, cert):
        cst = np.asarray(est._spec.monotonic_cst)
        inc = [int(j) for j in np.flatnonzero(cst > 0)]
        dec = [int(j) for j in np.flatnonzero(cst < 0)]
        prop = f"monotone: every target non-decreasing in features {inc}, non-increasing in {dec}"
        return {**cert, "property": prop, "monotonic_cst": [int(c) for c in cst]}
