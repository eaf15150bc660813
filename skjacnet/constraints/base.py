"""The base of the constraint registry: what every structure says about itself, and ``register``.

Each ``Constraint`` says how its fits are scaled (one scale for all columns, or one per column), which
activation ``activation='auto'`` takes, which shapes it accepts, how wide its network's input is,
whether it takes orientation signs, which solver ``solver='auto'`` gives it, how to build its network
(a layer: ``skjacnet.constraints.layer``) from a ``ModelSpec`` and what it certifies.  A new
constraint is one module in this package (the class, decorated with :func:`register`, and its network
if new) and one import line in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .checks import Probe, check_pairs
from .mlp import MLP, init_matrix
from .ridge import RidgeJacobianNet

if TYPE_CHECKING:
    from .._build import ModelSpec
    from .layer import Factors

AUTO_BATCH_SIZE = 200  # batch_size='auto': MLPRegressor's mini-batch
AUTO_MAX_ITER = 200  # max_iter='auto': MLPRegressor's
AUTO_TOL = 1e-4  # tol='auto': MLPRegressor's
AUTO_ALPHA = 1e-4  # alpha='auto': MLPRegressor's, where the structure does not set it from the noise
# solver='auto': full-batch L-BFGS for the models whose full batch is cheap (see Constraint.auto_solver)
# ridge/mesh models: rows x max(features, targets), which the full batch's memory grows with (measured per cell:
# docs/measurements.md, "Solvers of the other structures")
LBFGS_CELLS = 1_000_000
COARSE_TRAINING_MESH = 100.0  # deep stacks' training meshes: 100x rtol, atol (Constraint.train_tolerance_scale)
REGISTRY: dict[str, Constraint] = {}
# the names the estimators accept, kept in step with REGISTRY (their _parameter_constraints hold these sets)
NAMES: set[str] = set()
INVERTIBLE: set[str] = set()


def register(cls: type[Constraint]) -> type[Constraint]:
    """Class decorator: ``constraint=cls.name`` builds this structure."""
    REGISTRY[cls.name] = cls()
    NAMES.add(cls.name)
    if cls.invertible:
        INVERTIBLE.add(cls.name)
    return cls


def scalar_ridges(
    cls: type[RidgeJacobianNet],
    spec: ModelSpec,
    structure: nn.Module,
    signs: np.ndarray,
    gen: torch.Generator,
    **options,
) -> RidgeJacobianNet:
    """The paper's 1-D JacNet as a ``cls`` network: one scalar derivative per target, no mixing (``options``:
    ``cls``'s)."""
    dt = spec.dtype
    return cls(
        MLP((1, *spec.hidden, spec.n_out), spec.activation, gen, dt),
        structure,
        torch.ones(spec.n_out, 1, dtype=dt),
        torch.diag(torch.as_tensor(signs, dtype=dt)),
        learn_V=False,
        learn_U=False,
        **options,
    )


def learned_ridges(
    cls: type[RidgeJacobianNet], spec: ModelSpec, structure: nn.Module, gen: torch.Generator, **options
) -> RidgeJacobianNet:
    """``U (G(V x) - G(V x0))`` as a ``cls`` network with ``n_ridges`` ('auto': max(8, 2 size)) ridges, U and V
    learned."""
    dt, R = spec.dtype, spec.ridges(max(spec.n_in, spec.n_out))
    return cls(
        MLP((1, *spec.hidden, R), spec.activation, gen, dt),
        structure,
        init_matrix((R, spec.n_in), gen, dt),
        init_matrix((spec.n_out, R), gen, dt),
        learn_V=True,
        learn_U=True,
        **options,
    )


class Constraint:
    """Defaults shared by the structures; subclasses override what differs."""

    name: str = ""
    isotropic = False  # one scale for all columns of X (and of y): keeps norms / complex linearity
    auto_activation = "tanh"
    invertible = False  # offered by InvertibleJacobianRegressor
    allows_feature_cst = False  # monotonic_cst / convexity_cst may select their structures over this one
    path_dependent = False  # the function depends on the integration path (anchors and paths apply)
    takes_lipschitz_constant = False
    uses_epsilon = False
    auto_epsilon = 1e-4  # epsilon='auto' (standardised units), for the structures that use one
    uses_positive_map = False  # positive_map shapes its derivatives

    def activation_for(self, spec: ModelSpec) -> str:
        """activation='auto' for this spec: the estimator's choice (``spec.activation``) unless the shape decides."""
        return spec.activation

    def auto_positive_map(self, spec: ModelSpec) -> str:
        """positive_map='auto' resolved: exp(h) + eps for the 1-D model, the paper's h**2 + eps otherwise."""
        return "exp" if self.scalar(spec) else "square"

    deep = False  # n_layers > 1 builds a composition of guaranteed layers
    single_layer = "its function is a path integral of one field"  # why n_layers > 1 is refused (deep = False)

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
        """Full-batch L-BFGS while its batch is cheap: there it matched or beat Adam's held-out R^2 in less time.

        Deep ridge stacks take Adam: L-BFGS stalls there long before Adam's fit in the same time
        (measured: docs/measurements.md, "Solver choice")."""
        if spec.n_layers > 1:
            return "adam"
        return "lbfgs" if n_rows * max(spec.n_in, spec.n_out) <= LBFGS_CELLS else "adam"

    def auto_batch_size(self, spec: ModelSpec, n_rows: int) -> int:
        """batch_size='auto' for Adam on ``n_rows`` training rows: MLPRegressor's min(200, n_rows)."""
        return min(AUTO_BATCH_SIZE, n_rows)

    def auto_max_iter(self, spec: ModelSpec, solver: str) -> int:
        """max_iter='auto' resolved: MLPRegressor's 200 epochs (L-BFGS iterations)."""
        return AUTO_MAX_ITER

    def noise_alpha(self, spec: ModelSpec) -> bool:
        """Whether alpha='auto' is set from the noise (a pilot fit's residuals, or neighbour differences on large
        samples: FitSteps._train in skjacnet/_fitting.py)."""
        return False

    def auto_tol(self, spec: ModelSpec, solver: str) -> float:
        """tol='auto' resolved: MLPRegressor's 1e-4."""
        return AUTO_TOL

    def train_tolerance_scale(self, spec: ModelSpec) -> float:
        """How much coarser than rtol, atol the knot mesh is while training (the frozen mesh keeps rtol, atol).

        A deep stack integrates n_layers meshes a step, most of whose cost scales with their knots: on meshes
        refined to 100x the tolerances (fewer knots a layer) deep stacks fit faster at the same test R^2 of the
        frozen model (measured: docs/measurements.md, "The training mesh of deep stacks").  The function trained
        is the interpolant on those knots, so its guarantee is exact too; the frozen mesh's differs from it by
        the coarse tolerance.  One layer keeps 1 (its predictions are unchanged), except the monotone regression
        on several features (Monotone.train_tolerance_scale).
        """
        return COARSE_TRAINING_MESH if spec.n_layers > 1 else 1.0

    # Whether large Adam fits of a float64 model may train in float32 (``_plan.train_dtype``): the network is cast
    # back before it is frozen and certified, so the guarantee is the published float64 model's own; a structure
    # whose training integrates on a mesh or whose bounds are tight in the training dtype keeps its dtype.
    trains_in_float32 = False

    def auto_learning_rate(self, spec: ModelSpec) -> str:
        """learning_rate='auto' resolved: 'constant' (MLPRegressor's default)."""
        return "constant"

    def build(self, spec: ModelSpec, gen: torch.Generator, signs: np.ndarray | None) -> nn.Module:
        raise NotImplementedError

    def initialise(self, model: nn.Module, X: torch.Tensor, Y: torch.Tensor, w: torch.Tensor) -> None:
        """Data-dependent start of a fresh network (standardised training rows; regression fits only)."""

    # --- ensembles trained in lockstep (n_members > 1) --------------------
    def takes_members(self, n_features: int, n_layers: int) -> bool:
        """Whether build_members / merge_members apply to a fit of this shape (k networks, then one)."""
        return False

    def auto_members(self, n_features: int, n_layers: int, method: str) -> int:
        """n_members='auto' resolved for a fit that holds out validation rows and is not L-BFGS's (1 elsewhere)."""
        return 1

    # how a refusal of n_members > 1 points to the structures that take members
    members_alternative = (
        ", constraint='potential' (constraint='auto' on several features without monotonic_cst), or "
        "monotonic_cst with n_layers=1 on several features"
    )

    def describe(self, n_layers: int) -> str:
        """This structure as a user asks for it, for error messages."""
        return f"constraint={self.name!r}"

    def build_members(self, spec: ModelSpec, gen: torch.Generator, k: int) -> nn.Module:
        """k independent networks of ``spec`` as one, its outputs member-major (k * n_out columns)."""
        raise NotImplementedError

    def merge_members(self, model: nn.Module, k: int) -> nn.Module:
        """The network of ``spec`` that predicts the members' mean (exactly, with the mean's Jacobian)."""
        raise NotImplementedError

    def certify(self, spec: ModelSpec, cert: dict, factors: Callable[[], Factors]) -> dict:
        """``cert`` (the shared fields) completed with this structure's property and bounds.

        ``factors()`` gives the fitted network's certificate factors in the units of X and y (computed on demand:
        most structures state their bound from the spec alone).
        """
        return cert

    def check(self, probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
        """The empirical check of this structure's certificate on points drawn from X (``constraints.checks``)."""
        return check_pairs(probe, cert, X, n_pairs, rng)

    def in_raw_units(self, cert: dict, factors: np.ndarray, clipped: bool) -> dict:
        """``cert`` restated for the map x -> f(a * x + b), a = ``factors`` > 0 per feature (scalers in front).

        An upper Lipschitz bound grows by max(a), a lower bound (expansion, Jacobian) by min(a).  ``clipped``: a
        scaler also clips, which is 1-Lipschitz and non-decreasing, so only an upper bound survives it.
        """
        if clipped and not self.survives_clipping(cert):
            raise ValueError(
                f"MinMaxScaler(clip=True) is not affine: the pipeline loses the guarantee of {self.describe(1)} "
                "(its property holds for affine maps in front only); use clip=False."
            )
        cert = dict(cert)
        if cert["lipschitz_upper"] is not None:
            cert["lipschitz_upper"] = float(cert["lipschitz_upper"] * factors.max())
        for key in ("expansion_lower", "jacobian_lower"):
            if cert[key] is not None:  # clipping flattens the map beyond the scaler's range: no lower bound
                cert[key] = None if clipped else float(cert[key] * factors.min())
        return cert

    def survives_clipping(self, cert: dict) -> bool:
        """Whether the property holds with a clipping (1-Lipschitz, non-decreasing) map in front: an upper bound."""
        return cert["lipschitz_upper"] is not None


class SquareBijection(Constraint):
    """A bijection of R^d that takes square maps only (no zero-padding), orientation S on its d outputs."""

    invertible = True
    uses_epsilon = True
    deep = True

    def check_shapes(self, n_features, n_targets):
        if n_features != n_targets:
            raise ValueError(
                f"constraint={self.name!r} fits square maps (a bijection of R^d): got {n_features} feature(s) and "
                f"{n_targets} target(s)."
            )

    def orientation_size(self, spec):
        return spec.n_in
