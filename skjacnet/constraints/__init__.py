"""The constraint registry: one object per structure, the only place that knows constraints by name.

Layout: ``base`` (the ``Constraint`` defaults and ``register``), one module per structure
(``unconstrained``: 'none' and 'nonconservative'; ``lipschitz``, ``positive_definite``, ``complex``,
``kronecker``, ``coupling``, ``potential``, ``monotone``), the networks they build (``ridge``, ``full``, ``mlp``,
``activations``)
and the layer protocol they all satisfy (``layer``: forward, exact Jacobian, inverse, certificate factors, composition).

``monotonic_cst`` is a structure of its own (``Monotone``), selected by the spec whatever the name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..integrate import exact_rule

# one import per structure: each registers itself, in this order (the order of the docs and error messages)
# isort: off
from . import unconstrained, lipschitz, positive_definite, complex, kronecker, coupling, potential  # noqa: F401

# isort: on
from .base import INVERTIBLE, LBFGS_CELLS, NAMES, REGISTRY, Constraint, register
from .complex import LBFGS_ROWS
from .convex import Shape
from .monotone import Monotone

if TYPE_CHECKING:
    from .._build import ModelSpec

MONOTONE = Monotone()
SHAPE = Shape()
# the structures a per-feature option selects, whatever constraint names (the first whose option is set): the shape
# structure reads monotonic_cst too
FEATURE_STRUCTURES: dict[str, Constraint] = {"convexity_cst": SHAPE, "monotonic_cst": MONOTONE}


def numerical_alternative(accepted: set[str]) -> str:
    """Among the structure names ``accepted``, one whose integral is numerical, as a warning's fix says it."""
    if "none" in accepted:
        return "constraint='none' (ridges on a knot mesh refined to rtol, atol)"
    return "constraint='positive_definite' or 'kronecker' (a knot mesh refined to rtol, atol)"


def auto_structure(n_features: int, per_feature: bool, n_layers: int, method: str) -> str:
    """``constraint='auto'`` resolved for a regression of this shape and these options.

    The potential on several features (one closed-form layer, so depth, monotone ridges and ODE methods are
    'none''s); 'none' elsewhere (one feature: the paper's 1-D model).
    """
    several = n_features > 1 and not per_feature  # monotonic_cst, convexity_cst: ridges of their own
    return "potential" if several and n_layers == 1 and exact_rule(method) else "none"


def feature_structure(options: dict[str, object], structure: str) -> Constraint:
    """The structure the per-feature ``options`` (name -> validated value or None) select, else ``structure``'s."""
    for option, constraint in FEATURE_STRUCTURES.items():
        if options.get(option) is not None:
            return constraint
    return REGISTRY[structure]


def constraint_for(spec: ModelSpec) -> Constraint:
    """The structure a spec builds: its constraint's, or the one its per-feature constraints select."""
    return feature_structure({o: getattr(spec, o) for o in FEATURE_STRUCTURES}, spec.structure)


__all__ = [
    "FEATURE_STRUCTURES", "INVERTIBLE", "LBFGS_CELLS", "LBFGS_ROWS", "MONOTONE", "NAMES", "REGISTRY", "SHAPE",
    "Constraint", "auto_structure", "constraint_for", "feature_structure", "numerical_alternative", "register",
]  # fmt: skip
