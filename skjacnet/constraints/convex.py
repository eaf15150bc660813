"""convexity_cst: convex or concave in chosen features, free in the others (and monotone where monotonic_cst says).

A sum of ridges with a linear term, f = y0 + A (x - x0) + U (G(V x) - G(V x0)), whose ridges come in groups:

* convex ridges touch the convex features and the free ones (never a concave feature), with u_r >= 0 and a
  non-decreasing derivative g_r (G_r convex);
* concave ridges touch the concave features and the free ones, with u_r >= 0 and a non-increasing g_r;
* free ridges touch the free features only, with any g_r.

Along a constrained feature j, the others fixed, d^2 f / dx_j^2 = sum_r u_r g_r'(v_r . x) v_rj^2 sums only the
ridges of j's group, whose terms all have the stated sign: the property holds for every target and every weight.
g_r comes from a monotone network (non-negative weights, tanh units), so its values at the knots of the frozen
mesh are ordered, and the mesh's piecewise-linear interpolant of an ordered table is monotone: exact for what
``predict`` computes (the 1-D monotone structure's argument, one derivative up).  Beyond the range of the ridge
coordinates on the training data each g_r is held at its edge value (``HoldEdges``): the ridges continue linearly,
so a concave curve never steepens beyond the data and a convex one never flattens.

A free feature enters the convex and concave ridges too, so it interacts with the constrained ones in both
directions; the class cannot represent an interaction whose curvature along a constrained feature changes sign
with a free one (x_j^2 sin(x_k) is not convex in x_j) — no convex-in-x_j function can.  What it loses against a
general convex-in-x_j function: each group is jointly convex (concave) in its features, so an interaction such as
x_j sin(x_k) is represented only over the range of the data, by a free part that offsets its curvature along x_k.

With ``monotonic_cst`` every ridge also has g_r >= 0 (softplus of the monotone network in the shape groups, h^2 in
the free one) and c_j v_rj >= 0, c_j A[:, j] >= 0, as in the monotone structure: increasing and concave, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..integrate import exact_rule
from ..integrate.mesh import build_table
from .base import Constraint
from .checks import check_convexity, check_monotone
from .extrapolation import HoldEdges
from .layer import Factors, persisted
from .linear_start import init_member_linear
from .mlp import ACTIVATIONS, MLP, init_matrix
from .monotone import monotone_factors, signed
from .ridge import RidgeJacobianNet

SHAPE_ACTIVATION = "tanh"  # the monotone block's units: non-decreasing, bounded (its g is a sum of smooth steps)


class ShapeMLP(MLP):
    """Two MLPs of the same depth side by side, as one: a monotone block (non-negative weights, tanh units) for
    the first ``n_shape`` outputs and a free block (``activation``) for the other ``n_free``.

    Each output of the monotone block is non-decreasing in the input (its weights are |W|, its units
    non-decreasing); evaluated in batches it can round neighbours an ulp out of order, which the frozen table
    removes (``ShapeRidges.freeze``).  A fixed mask keeps the blocks apart.
    """

    def __init__(
        self, hidden: Sequence[int], activation: str, gen: torch.Generator, dtype: torch.dtype, n_shape: int,
        n_free: int,
    ):  # fmt: skip
        nn.Module.__init__(self)
        self.activation, self.evaluations = activation, 0
        self.hidden, self.n_shape, self.n_free = tuple(int(h) for h in hidden), int(n_shape), int(n_free)
        kinds = ((n_shape, SHAPE_ACTIVATION), (n_free, activation))
        blocks = [MLP((1, *hidden, n), act, gen, dtype) for n, act in kinds if n]
        depth = len(hidden) + 1
        stack = [[b.weights[i].detach() for b in blocks] for i in range(depth)]
        self.weights = nn.ParameterList([nn.Parameter(torch.cat(w) if i == 0 else torch.block_diag(*w))
                                         for i, w in enumerate(stack)])  # fmt: skip
        self.biases = nn.ParameterList([nn.Parameter(torch.cat([b.biases[i].detach() for b in blocks]))
                                        for i in range(depth)])  # fmt: skip
        for i in range(depth):  # 1: the monotone block's weight (used as |w|); 2: the free block's; 0: off both
            rows = [(w.shape[0], w.shape[1]) for w in stack[i]]
            parts = [torch.full(r, 1.0 if k == 0 and n_shape else 2.0, dtype=dtype) for k, r in enumerate(rows)]
            self.register_buffer(f"mask{i}", torch.cat(parts) if i == 0 else torch.block_diag(*parts))
        units = [torch.full((h,), n_shape > 0, dtype=torch.bool) for h in hidden]
        if n_shape and n_free:
            units = [torch.cat([torch.ones(h, dtype=torch.bool), torch.zeros(h, dtype=torch.bool)]) for h in hidden]
        for i, u in enumerate(units):
            self.register_buffer(f"monotone_units{i}", u)

    def forward(self, x: Tensor) -> Tensor:
        self.evaluations += x.numel() // x.shape[-1]
        act, last = ACTIVATIONS[self.activation], len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            mask = getattr(self, f"mask{i}")
            x = F.linear(x, torch.where(mask == 1.0, w.abs(), w * (mask != 0)), b)
            if i < last:
                x = torch.where(getattr(self, f"monotone_units{i}"), torch.tanh(x), act(x))
        return x


class ShapeMap(nn.Module):
    """h -> g per ridge: ``orient`` +1 (convex group: g = h, non-decreasing), -1 (concave: g = -h), 0 (free: g = h);
    ``positive`` (monotonic_cst): g >= 0 as well, softplus(+-h) in the shape groups, h^2 in the free one."""

    def __init__(self, orient: Tensor, positive: bool):
        super().__init__()
        self.orient = nn.Buffer(orient)
        self.positive = bool(positive)

    def forward(self, h: Tensor) -> Tensor:
        signed = torch.where(self.orient < 0, -h, h)
        if not self.positive:
            return signed
        return torch.where(self.orient != 0, F.softplus(signed), h * h)


@persisted("ridge_shape")
class ShapeRidges(RidgeJacobianNet):
    """See the module docstring: grouped ridges whose derivatives are monotone where a feature's shape is set."""

    def __init__(self, field: ShapeMLP, structure: ShapeMap, V: Tensor, U: Tensor, *, mask: Tensor,
                 monotonic_cst: Tensor | None, n_out: int | None = None):  # fmt: skip
        super().__init__(field, structure, V, U, learn_V=True, learn_U=True, n_out=n_out, linear=True,
                         extrapolation=HoldEdges)  # fmt: skip
        self.mask = nn.Buffer(mask.to(V.dtype))
        self.monotonic_cst = None if monotonic_cst is None else nn.Buffer(monotonic_cst.to(V.dtype))
        if self.monotonic_cst is not None:  # |A| has no gradient at 0: constrained entries start just off it
            with torch.no_grad():
                self.A.copy_((1e-4 * self.monotonic_cst).expand(self.n_out, -1))

    def V(self):
        return signed(self.V_raw, self.monotonic_cst) * self.mask

    def U(self):
        bounded = (self.structure.orient != 0) | (self.monotonic_cst is not None)
        return torch.where(bounded, self.U_raw.abs(), self.U_raw)

    def linear(self):
        return signed(self.A, self.monotonic_cst)

    def use_integrator(self, method, rtol, atol, **kwargs):
        if not exact_rule(method):
            raise ValueError(
                f"convexity_cst is exact on the knot mesh, which method={method!r} (a rule accurate to its tolerance "
                "only) does not integrate on: use method='quadrature' (the default)."
            )
        super().use_integrator(method, rtol, atol, **kwargs)

    def freeze(self, X=None):
        """The frozen mesh, its derivative table made exactly ordered in the shape groups.

        The monotone block orders g in exact arithmetic; evaluated for a batch of knots, its matrix products may
        round two neighbours out of order by an ulp (1.8e-15 seen), which the running max (min) removes, so the
        interpolant is exactly monotone and the ridge exactly convex (concave).
        """
        super().freeze(X)
        mesh = self.frozen_rule
        if mesh is None:
            return
        v, orient = mesh.values, self.structure.orient
        ordered = torch.where(
            orient > 0, torch.cummax(v, 0).values, torch.where(orient < 0, torch.cummin(v, 0).values, v)
        )
        self.frozen_rule = build_table(mesh.knots, ordered, mesh.converged)

    def term_magnitude(self, x: Tensor) -> Tensor:
        """The size of the terms ``forward`` sums at x (n, m): |U| |G(V x) - G(V x0)| + |A| |x - x0|, which its
        rounding is relative to (check_convexity's slack)."""
        V = self.V()
        inc = self.increments(self.extrapolation.clip(x @ V.T), self.x0 @ V.T)
        return inc.abs() @ self.U().abs().T + (x - self.x0).abs() @ self.linear().abs().T + self.y0.abs()

    def factors(self, in_scale=None, out_scale=None):
        """Signs where monotonic_cst sets them (the curvature's signs are the spec's: Shape.certify)."""
        return Factors() if self.monotonic_cst is None else monotone_factors(self.monotonic_cst, self.n_out)

    def state_fields(self):
        f = self.field
        return {**super().state_fields(), "shape_field": [list(f.hidden), f.n_shape, f.n_free],
                "positive": self.structure.positive, "monotone": self.monotonic_cst is not None}  # fmt: skip

    @classmethod
    def from_fields(cls, state, tensors, field, dtype):
        hidden, n_shape, n_free = state["shape_field"]
        shape_field = ShapeMLP(hidden, field.activation, torch.Generator(), dtype, n_shape, n_free)
        structure = ShapeMap(torch.zeros_like(tensors["structure.orient"]), state["positive"])
        cst = tensors["monotonic_cst"] if state["monotone"] else None
        return cls(shape_field, structure, torch.zeros_like(tensors["V_raw"]), torch.zeros_like(tensors["U_raw"]),
                   mask=tensors["mask"], monotonic_cst=cst, n_out=state["n_out"])  # fmt: skip


def ridge_groups(convexity: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(orientation, features each ridge of the group touches) for the groups this convexity_cst needs."""
    free = convexity == 0
    groups = [(float(o), (convexity == o) | free) for o in (1.0, -1.0) if np.any(convexity == o)]
    return groups + ([(0.0, free)] if free.any() else [])


class Shape(Constraint):
    """``convexity_cst`` (with or without ``monotonic_cst``): grouped ridges; see the module docstring."""

    name = "shape"
    single_layer = "per-feature curvature is not kept by a composition of layers"

    def uses_ridges(self, spec):
        return True

    def describe(self, n_layers):
        return "convexity_cst"

    def build(self, spec, gen, signs):
        dt, m = spec.dtype, spec.n_out
        groups = ridge_groups(np.asarray(spec.convexity_cst))
        sizes = [spec.ridges(max(int(feats.sum()), m)) for _, feats in groups]
        orient = torch.cat([torch.full((R,), o, dtype=dt) for (o, _), R in zip(groups, sizes)])
        mask = torch.cat([torch.as_tensor(feats, dtype=dt).expand(R, -1) for (_, feats), R in zip(groups, sizes)])
        n_free = sizes[-1] if groups[-1][0] == 0.0 else 0
        field = ShapeMLP(spec.hidden, spec.activation, gen, dt, sum(sizes) - n_free, n_free)
        V = init_matrix((sum(sizes), spec.n_in), gen, dt) * mask
        U = init_matrix((m, sum(sizes)), gen, dt)
        cst = None if spec.monotonic_cst is None else torch.as_tensor(spec.monotonic_cst, dtype=dt)
        return ShapeRidges(field, ShapeMap(orient, positive=cst is not None), V, U, mask=mask, monotonic_cst=cst)

    def initialise(self, model, X, Y, w):
        init_member_linear(model, X, Y, w)  # A and y0 at the (sign-bounded) least-squares fit

    def auto_solver(self, spec, n_rows):
        # Adam, early-stopped from the least-squares start, as the monotone regression (classifiers: L-BFGS)
        return "adam" if spec.least_squares_start else super().auto_solver(spec, n_rows)

    def check(self, probe, cert, X, n_pairs, rng):
        curvature = check_convexity(probe, cert, X, n_pairs, rng)
        if cert.get("monotonic_cst") is None:
            return curvature
        monotone = check_monotone(probe, cert, X, n_pairs, rng)
        worst = min(curvature["worst_ratio"], monotone["worst_ratio"])
        return {**curvature, "pairs": curvature["pairs"] + monotone["pairs"], "worst_ratio": worst,
                "holds": bool(curvature["holds"] and monotone["holds"])}  # fmt: skip

    def survives_clipping(self, cert):
        return False  # a clipped feature is piecewise linear in front: convexity does not survive it

    def certify(self, spec, cert, factors):
        cvx = np.asarray(spec.convexity_cst)
        parts = []
        for sign, word in ((1, "convex"), (-1, "concave")):
            feats = [int(j) for j in np.flatnonzero(cvx == sign)]
            if feats:
                parts.append(f"{word} in features {feats}")
        cert = {**cert, "convexity_cst": [int(c) for c in cvx]}
        if spec.monotonic_cst is not None:
            cst = np.asarray(spec.monotonic_cst)
            for sign, word in ((1, "non-decreasing"), (-1, "non-increasing")):
                feats = [int(j) for j in np.flatnonzero(cst == sign)]
                if feats:
                    parts.append(f"{word} in features {feats}")
            cert["monotonic_cst"] = [int(c) for c in cst]
        prop = "shape: every target " + "; ".join(parts) + " (along each feature, the others fixed)"
        return {**cert, "property": prop}
