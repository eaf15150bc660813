"""The layer protocol every Jacobian network satisfies, and a composition of layers satisfies too.

A layer maps standardised inputs (n, n_in) to outputs (n, n_out) and offers

* ``forward(x)`` and ``jacobian(x)`` (n, n_out, n_in), the exact Jacobian of what ``forward`` computes where
  ``jacobian_is_exact()`` (else the learned field, e.g. a path-integrated network's or an ODE's integrand);
* ``inverse(y, inverse_method)``, a first guess of the inverse where the layer is a bijection, and
  ``inverse_is_exact(inverse_method)``, whether that guess is exact to rounding;
* ``factors(in_scale, out_scale)``, its certificate factors (:class:`Factors`) for the map
  ``diag(out_scale) f(diag(in_scale) x)``: a Lipschitz upper bound, an expansion lower bound, and the
  signs of the Jacobian's entries that hold everywhere;
* ``integrators()``, the integrator objects it holds, and ``freeze(X)``, which fixes their rules.

:class:`Composition` chains layers and combines their factors: bounds multiply, signs follow the
sign algebra of a matrix product.  So deep guaranteed models are compositions of guaranteed layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from ..integrate import Integrator, exact_rule, make_integrator, newton_polish


def sigma(A: Tensor, which: str) -> float:
    """The largest ('max') or smallest ('min', of min(shape) values) singular value of A, in float64."""
    s = torch.linalg.svdvals(A.detach().to(torch.float64))
    return float(s.max() if which == "max" else s.min())


@dataclass(frozen=True)
class Factors:
    """What a layer certifies, in the units its ``factors`` call was given.

    ``lipschitz``: L with ||f(a) - f(b)|| <= L ||a - b|| (None: no bound).  ``expansion``: c with
    ||f(a) - f(b)|| >= c ||a - b|| (None).  ``signs`` (n_out, n_in): +1 where the Jacobian's entry
    is >= 0 everywhere, -1 where it is <= 0, 0 where it is exactly 0, NaN where its sign is not known
    (None: nothing known).
    """

    lipschitz: float | None = None
    expansion: float | None = None
    signs: np.ndarray | None = None

    def then(self, outer: Factors) -> Factors:
        """The factors of ``outer`` after ``self`` (outer(self(x)))."""
        lip = None if self.lipschitz is None or outer.lipschitz is None else self.lipschitz * outer.lipschitz
        exp = None if self.expansion is None or outer.expansion is None else self.expansion * outer.expansion
        return Factors(lip, exp, sign_product(outer.signs, self.signs))


def sign_product(A: np.ndarray | None, B: np.ndarray | None) -> np.ndarray | None:
    """Signs of the entries of P Q from the signs of P (A) and Q (B), as in :class:`Factors`.

    A term P_ij Q_jk is 0 if either factor is 0, unknown if either is unknown, else the product of
    the signs; a sum is known when all its nonzero terms agree.
    """
    if A is None or B is None:
        return None
    terms = A[:, :, None] * B[None, :, :]  # (m, j, n): NaN propagates, 0 * NaN is NaN, fixed below
    zero = (A[:, :, None] == 0) | (B[None, :, :] == 0)
    terms = np.where(zero, 0.0, terms)
    unknown = np.isnan(terms).any(axis=1)
    pos = (terms > 0).any(axis=1)
    neg = (terms < 0).any(axis=1)
    out = np.where(pos & neg, np.nan, np.where(pos, 1.0, np.where(neg, -1.0, 0.0)))
    return np.where(unknown, np.nan, out)


class Layer(Protocol):
    n_in: int
    n_out: int
    training: bool

    def forward(self, x: Tensor) -> Tensor: ...

    def jacobian(self, x: Tensor) -> Tensor: ...

    def jacobian_is_exact(self) -> bool: ...

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor: ...

    def inverse_is_exact(self, inverse_method: str) -> bool: ...

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors: ...

    def integrators(self) -> list[Integrator]: ...

    def freeze(self, X: Tensor | None = None) -> None: ...


def newton_inverse(layer: nn.Module, y: Tensor, fallback) -> Tensor:
    """Damped Newton from x0 on one layer; the rows it leaves unsolved go to ``fallback`` (its inverse ODE).

    The step -J^-1 r is a descent direction of ||r||^2 for every nonsingular J, and the step is halved until
    ||r|| decreases, so it cannot diverge; far from the data, where g grows, 100 steps may not reach the root.
    """
    start = layer.x0.expand(y.shape[0], -1).clone()
    solve = getattr(layer, "solve_jacobian", None)
    independent = all(it.rows_independent for it in layer.integrators())
    x, ok = newton_polish(layer, layer.jacobian, start, y, max_iter=100, solve=solve, rows_independent=independent)
    if ok:
        return x
    tol = 1e3 * (1e-13 if y.dtype == torch.float64 else 1e-7)
    bad = (layer(x) - y).norm(dim=-1) > tol * (1 + x.norm(dim=-1) + y.norm(dim=-1))
    if bool(bad.any()):
        x = x.clone()
        x[bad] = fallback(y[bad])
    return x


class JacobianLayer(nn.Module):
    """The defaults of the protocol for a network that holds one integrator."""

    KIND: str  # set by @persisted
    FIELD: type[nn.Module]  # its scalar network's class
    QUADRATURE: type[Integrator]  # what method='quadrature' means for it
    integrator: Integrator
    frozen_rule = None  # what the integrator fixed at the end of fit (the knot mesh, the panel count): predict's rule

    def integrators(self) -> list[Integrator]:
        return [self.integrator]

    def jacobian_is_exact(self) -> bool:
        """Whether ``jacobian`` is the derivative of ``forward``: so where the integrators differentiate exactly."""
        return self.integrator.exact_derivative(self)

    def use_integrator(self, method: str, rtol: float, atol: float, **kwargs) -> None:
        """A fresh integrator of ``method`` ('quadrature' is the layer's own ``QUADRATURE``), nothing frozen yet."""
        self.integrator = make_integrator(method, rtol, atol, self.QUADRATURE, **kwargs)
        self.frozen_rule = None

    def freeze(self, X: Tensor | None = None) -> None:
        """Fix the integration rule at the end of fit (from the training inputs X where it needs them)."""
        self.frozen_rule = self.integrator.freeze(self, X)

    def closed_form_only(self, structure: str, how: str, method: str, rtol: float, atol: float, **kwargs) -> None:
        """``use_integrator`` of a network whose integral is a closed form (``how`` says which): only 'quadrature'."""
        if not exact_rule(method):
            raise ValueError(
                f"constraint={structure!r} integrates {how}: method={method!r} (a numerical integrator) does not "
                "apply. Use method='quadrature' (the default)."
            )
        JacobianLayer.use_integrator(self, method, rtol, atol, **kwargs)  # the layer's own is this method

    def train(self, mode: bool = True):
        for it in self.integrators():
            it.reset()  # the weights are about to change (or just did)
        return super().train(mode)

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        return Factors()

    def inverse_is_exact(self, inverse_method: str) -> bool:
        return False

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not a bijection")


class Composition(nn.Module):
    """layers[-1] o ... o layers[0]: the chain rule for the Jacobian, the inverse layer by layer."""

    def __init__(self, layers: Sequence[nn.Module]):
        super().__init__()
        for inner, outer in zip(layers[:-1], layers[1:]):
            if inner.n_out != outer.n_in:
                raise ValueError(f"layers do not chain: {inner.n_out} outputs feed {outer.n_in} inputs")
        self.layers = nn.ModuleList(layers)

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    @property
    def x0(self) -> Tensor:
        return self.layers[0].x0

    @property
    def y0(self) -> Tensor:
        """f(x0): the value at the first layer's initial point."""
        return self.forward(self.x0.unsqueeze(0))[0]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def jacobian(self, x: Tensor) -> Tensor:
        J = None
        for layer in self.layers:
            Jl = layer.jacobian(x)
            J = Jl if J is None else Jl @ J
            x = layer(x)
        return J

    def inverse_is_exact(self, inverse_method: str) -> bool:
        return all(layer.inverse_is_exact(inverse_method) for layer in self.layers)

    def jacobian_is_exact(self) -> bool:
        return all(layer.jacobian_is_exact() for layer in self.layers)

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        """Layer by layer, last first, each by its own inverse (closed forms, or Newton with the ODE behind it).

        Not an ODE over the whole depth; the caller polishes on the whole map.
        """
        for layer in reversed(self.layers):
            y = layer.inverse(y, inverse_method)
        return y

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        last = len(self.layers) - 1
        out = None
        for i, layer in enumerate(self.layers):
            f = layer.factors(in_scale if i == 0 else None, out_scale if i == last else None)
            out = f if out is None else out.then(f)
        return out

    def integrators(self) -> list[Integrator]:
        return [it for layer in self.layers for it in layer.integrators()]

    def use_integrator(self, method: str, rtol: float, atol: float, **kwargs) -> None:
        for layer in self.layers:
            layer.use_integrator(method, rtol, atol, **kwargs)

    def freeze(self, X: Tensor | None = None) -> None:
        """Each layer fixes its rule on the inputs it sees."""
        with torch.no_grad():
            for layer in self.layers:
                layer.freeze(X)
                X = None if X is None else layer(X)

    # persistence of a layer made of layers (skjacnet._persist calls these with its own functions)
    def to_state(self, child_state) -> dict:
        return {"kind": "composition", "layers": [child_state(layer) for layer in self.layers]}

    @classmethod
    def from_state(cls, state: dict, child_model, device) -> Composition:
        return cls([child_model(layer, device) for layer in state["layers"]])


NETWORKS: dict[str, type[nn.Module]] = {"composition": Composition}


def persisted(kind: str):
    """Class decorator: states of ``kind`` are rebuilt by the class (see ``skjacnet._persist``).

    A network gives ``KIND``, ``FIELD`` (its scalar network's class), ``QUADRATURE``, ``state_fields()``
    (plain values beside its tensors) and ``from_fields(state, tensors, field, dtype)``; a layer made of
    layers gives ``to_state(child_state)`` and ``from_state(state, child_model, device)`` instead.
    """

    def wrap(cls):
        cls.KIND = kind
        NETWORKS[kind] = cls
        return cls

    return wrap


def scale_norm(scale: Tensor | None, which: str) -> float:
    """max or min of a diagonal scaling (1 when absent)."""
    if scale is None:
        return 1.0
    s = scale.detach().abs()
    return float(s.max() if which == "max" else s.min())


__all__ = [
    "NETWORKS",
    "Composition",
    "Factors",
    "JacobianLayer",
    "Layer",
    "persisted",
    "scale_norm",
    "sigma",
    "sign_product",
]
