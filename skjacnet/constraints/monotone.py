"""monotonic_cst: monotone in the constrained features, free in the others.

One layer: a sum of increasing ridges.  Deeper (``n_layers > 1``), the residual construction of
Lipschitz monotonic networks (Kitouni et al., LMN) with a learned scale per feature:

    f_i(x) = y0_i + lam_i (sum_j c_j a_j (x_j - x0_j) + h_i(a * x) - h_i(a * x0)),

h a deep 1-Lipschitz map (``lipschitz_stack``), lam_i, a_j > 0, so that for a constrained feature j
(c_j = +-1)

    c_j df_i/dx_j = lam_i a_j (1 + c_j dh_i/dz_j) >= lam_i a_j (1 - ||J_h||) >= 0,

exactly, for every weight; the free features enter h without restriction of sign, so they interact
freely with the constrained ones.  The per-feature a_j let one feature be steep and another flat (with
one scale for all, ||grad h|| <= 1 made a steep free feature and a flat constrained one incompatible).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ..integrate import exact_rule
from .activations import ExpPositive, Positive
from .base import COARSE_TRAINING_MESH, Constraint, learned_ridges, scalar_ridges
from .checks import check_monotone
from .extrapolation import Extrapolation, Saturate, TrendCap
from .layer import Composition, Factors, JacobianLayer, persisted
from .linear_start import init_member_linear
from .lipschitz import lipschitz_stack, stack_width
from .mlp import MemberMLP, init_matrix
from .ridge import RidgeJacobianNet

MONOTONE_BATCH_SIZE = 400  # batch_size='auto' of the one-layer regression on several features


def signed(W: Tensor, cst: Tensor | None) -> Tensor:
    """W with c_j W[:, j] >= 0 in the constrained features (c_j |W[:, j]|), free columns as they are."""
    return W if cst is None else torch.where(cst != 0, cst * W.abs(), W)


def monotone_factors(cst: Tensor, n_out: int) -> Factors:
    """Every output moves with c_j in the constrained features (sign unknown elsewhere), whatever the scales."""
    c = cst.detach().cpu().numpy()
    return Factors(signs=np.where(c != 0, np.sign(c), np.nan)[None, :].repeat(n_out, 0))


@persisted("ridge_monotone")
class MonotoneRidges(RidgeJacobianNet):
    """Partial monotonicity: c_j V[:, j] >= 0 in the constrained features, U >= 0, g >= 0, and a linear term with
    c_j A[:, j] >= 0, so every output moves with c_j in feature j; the free features enter V and A as they like."""

    def __init__(self, field, structure, V, U, *, monotonic_cst: Tensor, **core):
        super().__init__(field, structure, V, U, **core)
        self.monotonic_cst = nn.Buffer(monotonic_cst.to(V.dtype))
        if self.A is not None:  # |A| has no gradient at 0: constrained entries start just off it
            with torch.no_grad():
                self.A.copy_((1e-4 * self.monotonic_cst).expand(self.n_out, -1))

    def V(self):
        return signed(self.V_raw, self.monotonic_cst)

    def U(self):
        return self.U_raw.abs()

    def linear(self):
        return signed(self.A, self.monotonic_cst)

    def factors(self, in_scale=None, out_scale=None):
        return monotone_factors(self.monotonic_cst, self.n_out)

    @classmethod
    def from_fields(cls, state, tensors, field, dtype):
        return cls(**cls.core_fields(state, tensors, field), monotonic_cst=tensors["monotonic_cst"])


@persisted("lipschitz_monotone")
class LipschitzMonotone(JacobianLayer):
    """See the module docstring: lam (c . (a x) + h(a x)) with h 1-Lipschitz."""

    def __init__(self, inner: Composition, cst: Tensor):
        super().__init__()
        dtype = cst.dtype
        self.inner = inner
        self.cst = nn.Buffer(torch.where(cst != 0, torch.sign(cst), 0.0))
        self.n_in, self.n_out = inner.n_in, inner.n_out
        self.x0 = nn.Buffer(torch.zeros(self.n_in, dtype=dtype))
        self.y0 = nn.Parameter(torch.zeros(self.n_out, dtype=dtype))
        self.log_lam = nn.Parameter(torch.zeros(self.n_out, dtype=dtype))
        self.log_a = nn.Parameter(torch.zeros(self.n_in, dtype=dtype))

    def integrators(self):
        return self.inner.integrators()

    def use_integrator(self, method, rtol, atol, **kwargs):
        self.inner.use_integrator(method, rtol, atol, **kwargs)

    def freeze(self, X=None):
        self.inner.freeze(X)

    def jacobian_is_exact(self):
        return self.inner.jacobian_is_exact()

    def forward(self, x: Tensor) -> Tensor:
        a = self.log_a.exp()
        h = self.inner(torch.cat([x, self.x0.unsqueeze(0)]) * a)
        linear = (x - self.x0) @ (self.cst * a)
        return self.y0 + self.log_lam.exp() * (linear.unsqueeze(-1) + h[:-1] - h[-1])

    def jacobian(self, x: Tensor) -> Tensor:
        a = self.log_a.exp()
        J = (self.cst + self.inner.jacobian(x * a)) * a  # (n, m, d)
        return self.log_lam.exp()[:, None] * J

    def factors(self, in_scale=None, out_scale=None) -> Factors:
        return monotone_factors(self.cst, self.n_out)

    def to_state(self, child_state) -> dict:
        tensors = {k: v.detach().cpu().numpy().copy() for k, v in self.named_buffers(recurse=False) if v is not None}
        tensors.update({k: v.detach().cpu().numpy().copy() for k, v in self.named_parameters(recurse=False)})
        return {"kind": self.KIND, "inner": child_state(self.inner), "tensors": tensors}

    @classmethod
    def from_state(cls, state, child_model, device):
        tensors = {k: torch.as_tensor(v) for k, v in state["tensors"].items()}
        model = cls(child_model(state["inner"], device), tensors["cst"])
        with torch.no_grad():
            for name, value in tensors.items():
                getattr(model, name).copy_(value)
        return model.to(device).eval()


class Monotone(Constraint):
    """``monotonic_cst``: a sum of increasing ridges u_r G_r(v_r . x), u_r >= 0, G_r' >= 0, c_j v_rj >= 0."""

    name = "monotone"
    deep = True  # n_layers > 1: the LMN construction

    def uses_ridges(self, spec):
        return not self._scalar(spec)

    @staticmethod
    def _scalar(spec) -> bool:
        """One constrained feature, one layer: the 1-D JacNet with a derivative exp(h) >= 0."""
        return spec.n_in == 1 and spec.n_layers == 1 and spec.monotonic_cst[0] != 0

    def auto_solver(self, spec, n_rows):
        # n-D: Adam, as for 'none' (deep stacks take it anyway): one layer of ridges early-stopped from the bounded
        # least-squares start, which L-BFGS runs past on noisy tables; classifiers, whose linear term starts at 0,
        # keep L-BFGS and no linear term, which scored better and fitted faster for them (measured:
        # docs/measurements.md, "The monotone structure")
        return "adam" if self._linear(spec) else super().auto_solver(spec, n_rows)

    def noise_alpha(self, spec):
        # the 1-D regression: see FitSteps._train; early stopping on a few validation rows picked epochs by chance
        # (measured: docs/measurements.md, "`positive_map`")
        return self._scalar(spec) and spec.least_squares_start

    def auto_batch_size(self, spec, n_rows):
        # the one-layer regression on several features: batches of 400 (the whole training split up to 400 rows),
        # not MLPRegressor's 200, whose last small batch of the epoch jolts Adam on a small table; faster too (the
        # potential, 'auto', lost R^2 with it) (measured: docs/measurements.md, "The monotone structure")
        if self._linear(spec):
            return min(MONOTONE_BATCH_SIZE, n_rows)
        return super().auto_batch_size(spec, n_rows)

    def train_tolerance_scale(self, spec):
        # the one-layer regression on several features too (its frozen mesh keeps rtol, atol): the coarse training
        # mesh kept the R^2 in a fraction of the fit time (measured: docs/measurements.md, "The monotone structure")
        return COARSE_TRAINING_MESH if self._linear(spec) else super().train_tolerance_scale(spec)

    @staticmethod
    def _linear(spec) -> bool:
        """One layer of ridges on several features in a regression: a linear term beside the ridges."""
        return spec.n_in > 1 and spec.n_layers == 1 and spec.least_squares_start

    def activation_for(self, spec):
        # softplus units make h linear beyond the data, so exp(h) continues the derivative's log-linear trend
        return "softplus" if self._scalar(spec) else spec.activation

    def build(self, spec, gen, signs):
        dt = spec.dtype
        cst = torch.as_tensor(spec.monotonic_cst, dtype=dt)
        if self._scalar(spec):
            # f_i = y0_i + G_i(c x) - G_i(c x0), G_i' = exp(h_i): the 8-ridge sum below extrapolated saturating
            # curves poorly (measured: docs/measurements.md, "The monotone structure")
            return scalar_ridges(
                MonotoneRidges, spec, ExpPositive(0.0), np.ones(spec.n_out), gen, monotonic_cst=cst,
                extrapolation=TrendCap,
            )  # fmt: skip
        if spec.n_layers > 1:
            width = stack_width(spec, max(spec.n_in, spec.n_out))
            return LipschitzMonotone(lipschitz_stack(spec, spec.n_in, spec.n_out, 1.0, spec.n_layers, width, gen), cst)
        linear = self._linear(spec)
        policy = Saturate if linear else Extrapolation
        return learned_ridges(MonotoneRidges, spec, Positive(0.0), gen, monotonic_cst=cst, linear=linear,
                              extrapolation=policy)  # fmt: skip

    def initialise(self, model, X, Y, w):
        if isinstance(model, MonotoneRidges) and model.A is not None:
            init_member_linear(model, X, Y, w)

    # the one-layer regression on several features: the mean of k monotone ridge sums is one, with k times the
    # ridges.  3 members scored above one network on the small noisy tables and as well as 5; 3 members with the
    # single network's ridges each took about twice the time (measured: docs/measurements.md, "The monotone structure")
    AUTO_MEMBERS = 3

    members_alternative = ", or n_layers=1 with monotonic_cst on several features"

    def describe(self, n_layers):
        return f"monotonic_cst with n_layers={n_layers}" if n_layers > 1 else "monotonic_cst on one feature"

    def takes_members(self, n_features, n_layers):
        return n_features > 1 and n_layers == 1

    def auto_members(self, n_features, n_layers, method):
        # the mesh rule only: an ODE integrates every ridge coordinate against every ridge's derivative (k^2)
        return self.AUTO_MEMBERS if self.takes_members(n_features, n_layers) and exact_rule(method) else 1

    def build_members(self, spec, gen, k):
        # each member a learned_ridges network: the fields side by side (MemberMLP), V stacked, U block-diagonal.
        # U's off-diagonal blocks start at 0 and stay there: U = |U_raw| has a zero gradient at 0 (the weight
        # penalty's too), so Adam never moves them and no member reads another's ridges.  The members share the
        # training mesh, whose knots are refined for all their ridges together: they are independent fits up to its
        # interpolation error, which shrinks with rtol (measured: docs/measurements.md, "The monotone structure")
        # n_ridges='auto': the members share the single network's max(8, 2 size) ridges, at least 8 each
        size = max(spec.n_in, spec.n_out)
        R = max(8, math.ceil(2 * size / k)) if spec.n_ridges == "auto" else spec.ridges(size)
        dt, m = spec.dtype, spec.n_out
        field = MemberMLP((1, *spec.hidden, R), spec.activation, gen, dt, k)
        V = torch.cat([init_matrix((R, spec.n_in), gen, dt) for _ in range(k)])
        U = torch.block_diag(*(init_matrix((m, R), gen, dt) for _ in range(k)))
        cst = torch.as_tensor(spec.monotonic_cst, dtype=dt)
        return MonotoneRidges(
            field, Positive(0.0), V, U, learn_V=True, learn_U=True, n_out=k * m, monotonic_cst=cst, linear=True,
            extrapolation=Saturate,
        )  # fmt: skip

    @torch.no_grad()
    def merge_members(self, model, k):
        # one ridge sum with all k R ridges: U's blocks side by side over k, the linear terms and y0 averaged
        m, kR = model.n_out // k, model.V_raw.shape[0]
        R = kR // k
        U = model.U()
        U = torch.cat([U[i * m : (i + 1) * m, i * R : (i + 1) * R] for i in range(k)], 1) / k
        merged = MonotoneRidges(
            model.field.wide(), model.structure, model.V_raw.detach().clone(), U, learn_V=True, learn_U=True,
            n_out=m, monotonic_cst=model.monotonic_cst.clone(), linear=True, extrapolation=Saturate,
        ).to(model.x0.device)  # fmt: skip
        merged.x0.copy_(model.x0)
        merged.y0.copy_(model.y0.reshape(k, m).mean(0))
        merged.A.copy_(model.linear().reshape(k, m, -1).mean(0))  # linear() of the mean: its signs hold
        merged.integrator = model.integrator.fresh()  # the fit's rule (method, rtol, atol, train_scale), not its knots
        return merged

    def check(self, probe, cert, X, n_pairs, rng):
        return check_monotone(probe, cert, X, n_pairs, rng)

    def survives_clipping(self, cert):
        return True  # a non-decreasing map in front keeps every sign of monotonicity

    def certify(self, spec, cert, factors):
        cst = np.asarray(spec.monotonic_cst)
        inc = [int(j) for j in np.flatnonzero(cst > 0)]
        dec = [int(j) for j in np.flatnonzero(cst < 0)]
        prop = f"monotone: every target non-decreasing in features {inc}, non-increasing in {dec}"
        return {**cert, "property": prop, "monotonic_cst": [int(c) for c in cst]}
