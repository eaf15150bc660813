"""The constraint registry: one object per structure, the only place that knows constraints by name.

Each ``Constraint`` says how its fits are scaled (one scale for all columns, or one per column), which
activation ``activation='auto'`` takes, which shapes it accepts, how wide its network's input is,
whether it takes orientation signs, which solver ``solver='auto'`` gives it, how to build its network
from a ``ModelSpec`` and what it certifies.  A new constraint is one class here (its network in its
own module) and one entry in ``REGISTRY``.

``monotonic_cst`` is a structure of its own (``Monotone``), selected by the spec whatever the name.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._build import ModelSpec, init_matrix
from ._complex import ComplexMLP, HolomorphicJacobianNet
from ._full import FullJacobianNet
from ._kronecker import KroneckerJacobianNet
from .nn import MLP, RidgeJacobianNet
from .structures import Lipschitz, Positive, Unconstrained

# solver='auto': full-batch L-BFGS for the models whose full batch is cheap (see Constraint.auto_solver)
LBFGS_CELLS = 1_000_000  # ridge/mesh models: rows x max(features, targets); the fit adds ~1.2 KB a cell
LBFGS_ROWS = 1000  # 'complex' (a path-integrated network: memory per row grows with its panels)


def _scalar(spec: ModelSpec, structure: nn.Module, signs: np.ndarray, gen: torch.Generator) -> RidgeJacobianNet:
    """The paper's 1-D JacNet: one scalar derivative per target, no mixing."""
    dt = spec.dtype
    return RidgeJacobianNet(
        MLP((1, *spec.hidden, spec.n_out), spec.activation, gen, dt),
        structure,
        torch.ones(spec.n_out, 1, dtype=dt),
        U=torch.diag(torch.as_tensor(signs, dtype=dt)),
        learn_V=False,
        learn_U=False,
        normalize=False,
    )


class Constraint:
    """Defaults shared by the structures; subclasses override what differs."""

    name: str = ""
    isotropic = False  # one scale for all columns of X (and of y): keeps norms / complex linearity
    auto_activation = "tanh"
    invertible = False  # offered by InvertibleJacobianRegressor
    allows_monotonic_cst = False
    path_dependent = False  # the function depends on the integration path (anchors and paths apply)
    takes_lipschitz_constant = False
    uses_epsilon = False

    def uses_ridges(self, spec: ModelSpec) -> bool:
        """Whether n_ridges shapes the network (a warm start ignores it otherwise)."""
        return False

    def check_shapes(self, n_features: int, n_targets: int) -> None:
        """Raise a ValueError naming the problem when the structure cannot map these shapes."""

    def scalar(self, spec: ModelSpec) -> bool:
        """One input and one output: the paper's 1-D JacNet."""
        return spec.n_in == 1 and spec.n_out == 1

    def model_in(self, spec: ModelSpec) -> int:
        """Input width of the network (square maps zero-pad their inputs)."""
        return spec.n_in

    def orientation_size(self, spec: ModelSpec) -> int | None:
        """How many orientation signs S the network takes (None: it has no orientation)."""
        return None

    def auto_solver(self, spec: ModelSpec, n_rows: int) -> str:
        """Full-batch L-BFGS while its batch is cheap: equal or better R^2, 3-20x faster than Adam up to 1e5 rows
        (Friedman #1 Lipschitz at 10 000 rows: 5.5 s vs 29 s, R^2 0.957 both; 1-D at 100 000: 2.4 s vs 45-56 s)."""
        return "lbfgs" if n_rows * max(spec.n_in, spec.n_out) <= LBFGS_CELLS else "adam"

    def build(self, spec: ModelSpec, gen: torch.Generator, signs: np.ndarray | None) -> nn.Module:
        raise NotImplementedError

    def certify(self, est, cert: dict) -> dict:
        """``cert`` (the shared fields) completed with this structure's property and bounds."""
        return cert


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
        return _scalar(spec, Unconstrained(), np.ones(n_out), gen)


class LipschitzConstraint(Constraint):
    name = "lipschitz"
    isotropic = True
    takes_lipschitz_constant = True

    def uses_ridges(self, spec):
        return not self.scalar(spec)

    def build(self, spec, gen, signs):
        if self.scalar(spec):
            return _scalar(spec, Lipschitz(spec.k_std or 1.0), np.ones(spec.n_out), gen)
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


class PositiveDefinite(Constraint):
    name = "positive_definite"
    invertible = True
    uses_epsilon = True

    def uses_ridges(self, spec):
        return not self.scalar(spec)

    def model_in(self, spec):
        return spec.n_in if self.scalar(spec) else max(spec.n_in, spec.n_out)

    def orientation_size(self, spec):
        return 1 if self.scalar(spec) else self.model_in(spec)

    def build(self, spec, gen, signs):
        if self.scalar(spec):
            return _scalar(spec, Positive(spec.epsilon), signs, gen)
        # square of size D (zero-padded when n_in != n_out)
        dt, D = spec.dtype, self.model_in(spec)
        R = spec.ridges(D)
        return RidgeJacobianNet(
            MLP((1, *spec.hidden, R), spec.activation, gen, dt),
            Positive(0.0),
            init_matrix((R, D), gen, dt),
            U=None,
            learn_V=True,
            learn_U=False,
            normalize=False,
            eps_linear=spec.epsilon,
            sign=torch.as_tensor(signs, dtype=dt),
            n_out=spec.n_out,
        )

    def certify(self, est, cert):
        from ._certificate import expansion_lower_bound

        d, m = cert["n_features"], cert["n_targets"]
        lower = expansion_lower_bound(est)
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


class Kronecker(Constraint):
    name = "kronecker"
    invertible = True
    uses_epsilon = True

    def check_shapes(self, n_features, n_targets):
        if n_features != n_targets:
            raise ValueError(
                f"constraint='kronecker' fits square maps (a bijection of R^d): got {n_features} feature(s) and "
                f"{n_targets} target(s)."
            )

    def orientation_size(self, spec):
        return spec.n_in

    def build(self, spec, gen, signs):
        dt = spec.dtype
        field = MLP((1, *spec.hidden, spec.n_in), spec.activation, gen, dt)
        return KroneckerJacobianNet(field, spec.n_in, spec.epsilon, torch.as_tensor(signs, dtype=dt), dt)

    def certify(self, est, cert):
        from ._certificate import kronecker_lower_bound

        prop = "bijection of R^d with nowhere-singular Kronecker-factored Jacobian: ||f(a) - f(b)|| >= c ||a - b||"
        return {**cert, "property": prop, "expansion_lower": kronecker_lower_bound(est)}


class Complex(Constraint):
    name = "complex"
    isotropic = True
    auto_activation = "sin"  # an entire activation: tanh and logistic have poles

    def check_shapes(self, n_features, n_targets):
        if n_features % 2 or n_targets % 2:
            raise ValueError(
                "constraint='complex' maps C^p to C^q given as (real, imaginary) column pairs: X and y need an "
                f"even number of columns, got {n_features} feature(s) and {n_targets} target(s) "
                "(a 1-D y is one target; pass y of shape (n_samples, 2) for one complex output)."
            )

    def auto_solver(self, spec, n_rows):
        # a path-integrated network: L-BFGS took 12 / 46 / 175 s against Adam's 9 / 21 / 59 s at 1e3 / 3e3 / 1e4 rows
        return "lbfgs" if n_rows <= LBFGS_ROWS else "adam"

    def build(self, spec, gen, signs):
        p, q, dt = spec.n_in // 2, spec.n_out // 2, spec.dtype
        return HolomorphicJacobianNet(ComplexMLP((p, *spec.hidden, q * p), spec.activation, gen, dt), p, q, dt)

    def certify(self, est, cert):
        return {
            **cert,
            "property": "holomorphic: f(z) is complex differentiable in z_j = x[2j] + i x[2j+1] (outputs "
            "w_k = y[2k] + i y[2k+1]); the Cauchy-Riemann equations hold everywhere",
            "domain": f"C^{cert['n_features'] // 2}",
            "norm": "none (an identity of derivatives)",
        }


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


REGISTRY: dict[str, Constraint] = {
    c.name: c for c in (NoConstraint(), LipschitzConstraint(), PositiveDefinite(), Complex(), Kronecker())
}
MONOTONE = Monotone()
INVERTIBLE = tuple(name for name, c in REGISTRY.items() if c.invertible)


def constraint_for(spec: ModelSpec) -> Constraint:
    """The structure a spec builds: its constraint's, or the monotone one when monotonic_cst is set."""
    return MONOTONE if spec.monotonic_cst is not None else REGISTRY[spec.structure]
