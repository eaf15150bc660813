"""Integrators as objects: how a network's integrals are evaluated.

A network holds one integrator and asks it for integrals of its *rate* along segments a -> b:
for rows a (n or 1, k) and dx = b - a (n, k), ``net.rate(t, a, dx)`` is the integrand at nodes
t (T,), shape (T, n, width), and ``integral(net, a, b, width)`` its integral over t in [0, 1].  The
integrator is the rule: the tolerances (``set_tolerances``: the paper's annealing), the training-time
caps (``capped`` counts the misses), the training cache and its ``snapshot``/``restore``.  What the rule
fixes at the end of fit (``freeze``: the knot mesh or the Gauss-Kronrod panel count, so that predict is one
fixed function) it returns to the network, which holds it (``net.frozen_rule``) and is what predict
integrates with; the integrator reads and writes it for persistence (``frozen_state``/``load_frozen``).

Every ``method`` name is looked up in ``INTEGRATORS``: each torchdiffeq method there is an :class:`ODE`, and
'quadrature' is :class:`NetworkQuadrature`, which stands for each network's own exact rule
(``net.QUADRATURE``: the knot mesh for scalar ridge derivatives, Gauss-Kronrod for path integrals, a closed
form).  A new integrator is one subclass registered with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor

from .. import _warn
from . import mesh as _mesh
from .gauss_kronrod import TRAIN_MAX_PANELS, gauss_kronrod_integral, gauss_kronrod_panels
from .ode import FIXED_STEP_METHODS, ODE_METHODS, ode_integral

NODE_BUDGET = 1 << 18  # network evaluations per batch when predicting with a fixed GK rule
FREEZE_ROWS = 1024  # training rows (farthest from their start) that fix the GK rule


class Integrand(Protocol):
    """What an integrator needs from a network."""

    training: bool

    def rate(self, t: Tensor, a: Tensor, dx: Tensor) -> Tensor: ...

    def parameters(self) -> Iterable[Tensor]: ...


class Integrator:
    """Tolerances, the training-cap counter and the defaults: nothing frozen, nothing cached."""

    name = ""
    exact = False  # a fixed rule: the structure's bounds hold exactly for the computed function
    numerical = True  # integrates numerically, to rtol, atol (not a closed form)
    uses_adjoint = False  # back-propagates through a solver, where adjoint=True changes how

    def __init__(
        self,
        rtol: float,
        atol: float,
        *,
        adjoint: bool = False,
        max_knots: int = 200_000,
        method: str | None = None,
        train_scale: float = 1.0,
    ):
        self.name = method or self.name
        self.rtol, self.atol = float(rtol), float(atol)
        self.adjoint, self.max_knots = bool(adjoint), int(max_knots)
        # training-time tolerances are rtol, atol times this (>= 1; Constraint.train_tolerance_scale); the frozen
        # rule keeps rtol, atol.  Not persisted: a fit sets it afresh, and a fitted model's predictions depend on
        # the frozen rule alone.
        self.train_scale = float(train_scale)
        self.capped = 0

    @classmethod
    def resolve(cls, quadrature: type[Integrator]) -> type[Integrator]:
        """The class that integrates for a network whose own exact rule is ``quadrature``: this one."""
        return cls

    @property
    def method(self) -> str:
        return self.name

    def fresh(self) -> Integrator:
        """The same rule, with nothing cached, counted or frozen (for a network built from a trained one)."""
        return type(self)(self.rtol, self.atol, adjoint=self.adjoint, max_knots=self.max_knots, method=self.name,
                          train_scale=self.train_scale)  # fmt: skip

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """Integrate to these tolerances from now on (the paper's annealing tightens them during training)."""
        self.rtol, self.atol = float(rtol), float(atol)

    def config(self) -> dict[str, Any]:
        return {"method": self.name, "rtol": self.rtol, "atol": self.atol,
                "adjoint": self.adjoint, "max_knots": self.max_knots}  # fmt: skip

    def integral(self, net: Integrand, a: Tensor, b: Tensor, width: int, adaptive: bool = False) -> Tensor:
        """Integral over t in [0, 1] of ``net.rate(t, a, b - a)``, (n, width).

        ``adaptive``: error-controlled for this batch even after ``freeze`` (values computed once and
        cached, such as the anchors' own).
        """
        raise NotImplementedError

    def derivative(self, net, z: Tensor) -> Tensor:
        """The ridge derivatives g(z) of the computed function (ridge networks)."""
        return net.g_diag(z)

    def freeze(self, net, X: Tensor | None) -> Any:
        """The rule fixed at the end of fit, for ``net`` to hold as ``frozen_rule`` (nothing by default)."""
        return None

    def reset(self) -> None:
        """The weights are about to change: drop what was cached for the old ones."""

    def snapshot(self) -> Any:
        """The training cache, so that evaluating (early-stopping scores) leaves training unchanged."""
        return None

    def restore(self, snap: Any) -> None:
        pass

    def frozen_state(self, frozen: Any) -> dict[str, Any]:
        """What ``freeze`` returned, as plain values for persistence."""
        return {}

    def load_frozen(self, state: dict[str, Any], device: torch.device | str) -> Any:
        """The frozen rule saved by ``frozen_state``, for the network to hold again."""
        return None

    def exact_inverse(self, net) -> bool:
        """Whether ``net``'s 1-D antiderivatives can be inverted in closed form."""
        return False

    def exact_derivative(self, net) -> bool:
        """Whether ``derivative`` is the derivative of what ``integral`` computes for ``net`` (else the field's)."""
        return False

    @property
    def rows_independent(self) -> bool:
        """Whether each row's integral is the same whatever rows share its batch (an adaptive ODE's steps are
        chosen for the whole batch: its rows agree only to the tolerance)."""
        return True


class MeshQuadrature(Integrator):
    """Exact integration of the piecewise-linear interpolant of g on an adaptive knot mesh (ridge networks)."""

    name = "quadrature"
    exact = True
    REFINE_EVERY = 10  # training steps between refinements of the knots
    REFINE_MARGIN = 0.25  # the training knots cover the batch's range widened by this share of it, each side

    def __init__(self, rtol: float, atol: float, **kwargs):
        super().__init__(rtol, atol, **kwargs)
        self._cache: list | None = None  # [knots, lo, hi, steps since refined]

    def _refine(self, net, lo: float, hi: float, scale: float = 1.0) -> tuple[Tensor, bool]:
        ref = net.x0
        knots, ok = _mesh.refine_knots(net.g_table, lo, hi, rtol=scale * self.rtol, atol=scale * self.atol,
                                       max_knots=self.max_knots, dtype=ref.dtype, device=ref.device,
                                       breaks=getattr(net, "g_breaks", list)())  # fmt: skip
        if net.training and not ok:
            self.capped += 1
        return knots, ok

    def _training_mesh(self, net, lo: float, hi: float) -> _mesh.Mesh:
        """g changes little per optimiser step: the knots are reused between refinements, g re-evaluated.

        The knots cover the batch's range widened by REFINE_MARGIN of its width on each side: mini-batches,
        validation rows and a moving V shift the range a little every step, and refining on the exact range
        re-refined at 136 of 177 steps (load_diabetes, the default n-D model: 2.3 s of a 4.7 s fit).

        The knots are refined to ``train_scale`` times the tolerances: the function trained is the interpolant on
        these knots, so every bound on g holds for it as for the frozen mesh, which ``freeze`` refines afresh to
        rtol, atol (see Constraint.train_tolerance_scale for what a coarser training mesh costs and saves).
        """
        cache = self._cache
        if cache is None or cache[1] > lo or cache[2] < hi or cache[3] >= self.REFINE_EVERY:
            pad = self.REFINE_MARGIN * (hi - lo)
            cache = [self._refine(net, lo - pad, hi + pad, self.train_scale)[0], lo - pad, hi + pad, 0]
        cache[3] += 1
        self._cache = cache
        return _mesh.build_table(cache[0], net.g_table(cache[0]))

    def integral(self, net, a, b, width, adaptive=False):
        mesh = net.frozen_rule
        if mesh is None or net.training:
            # at least one base cell each side of 0 (a single sample has z == 0)
            lo = min(float(b.detach().min()), float(a.detach().min()), -_mesh.MIN_HALF_WIDTH)
            hi = max(float(b.detach().max()), float(a.detach().max()), _mesh.MIN_HALF_WIDTH)
            mesh = self._training_mesh(net, lo, hi)
        return _mesh.antiderivative(mesh, b) - _mesh.antiderivative(mesh, a)

    def derivative(self, net, z):
        mesh = net.frozen_rule
        return _mesh.derivative(mesh, z) if mesh is not None else net.g_diag(z)

    def freeze(self, net, X):
        """The mesh on the whole line: predictions become a fixed function."""
        with torch.no_grad():
            knots, ok = self._refine(net, -_mesh.FAR, _mesh.FAR)
            mesh = _mesh.build_table(knots, net.g_table(knots), ok)
        if not ok:
            _warn.warn(
                f"The integration mesh reached {knots.numel()} knots without meeting rtol={self.rtol}, "
                f"atol={self.atol}; predictions keep their guarantee but follow the network's integral less "
                "closely. Loosen the tolerances.",
                ConvergenceWarning,
            )
        return mesh

    def reset(self):
        self._cache = None

    def snapshot(self):
        return None if self._cache is None else list(self._cache)

    def restore(self, snap):
        self._cache = snap

    def exact_inverse(self, net):
        return net.frozen_rule is not None

    def exact_derivative(self, net):
        return net.frozen_rule is not None  # the frozen mesh's interpolant is the g whose integral predict computes

    @staticmethod
    def antiderivative(net, z: Tensor) -> Tensor:
        return _mesh.antiderivative(net.frozen_rule, z)

    @staticmethod
    def inverse_antiderivative(net, w: Tensor) -> Tensor:
        """z with G(z) = w for increasing G (the frozen mesh's exact inverse)."""
        ones = torch.ones(w.shape[1], dtype=w.dtype, device=w.device)
        return _mesh.inverse_antiderivative(net.frozen_rule, w, ones)

    def frozen_state(self, mesh):
        if mesh is None:
            return {"mesh": None}
        arrays = {k: getattr(mesh, k).cpu().numpy() for k in ("knots", "values", "cumulative")}
        return {"mesh": {**arrays, "converged": bool(mesh.converged)}}

    def load_frozen(self, state, device):
        m = state.get("mesh")
        if m is None:
            return None
        tensors = (torch.as_tensor(m[k]) for k in ("knots", "values", "cumulative"))
        return _mesh.Mesh(*tensors, m["converged"]).to(device)


class ClosedForm(Integrator):
    """``method='quadrature'`` for networks that integrate their derivative in closed form (piecewise-linear
    derivatives: skjacnet.constraints.coupling): nothing to integrate numerically, nothing to freeze."""

    name = "quadrature"
    exact = True
    numerical = False

    def exact_inverse(self, net):
        return True

    def exact_derivative(self, net):
        return True


def _row_chunks(a: Tensor, dx: Tensor, rows: int) -> list[tuple[Tensor, Tensor]]:
    """(a, dx) in chunks of ``rows`` rows; a single start row (broadcast) goes with every chunk."""
    if a.shape[0] == 1:
        return [(a, d) for d in dx.split(rows)]
    return list(zip(a.split(rows), dx.split(rows)))


class GaussKronrod(Integrator):
    """Composite Gauss-Kronrod 7/15 on [0, 1]: adaptive per batch in training, one fixed panel count after fit."""

    name = "quadrature"
    exact = True

    def _tol(self, like: Tensor) -> dict:
        return dict(rtol=self.rtol, atol=self.atol, dtype=like.dtype, device=like.device)

    def integral(self, net, a, b, width, adaptive=False):
        dx = b - a
        kw, panels = self._tol(dx), net.frozen_rule
        if net.training or panels is None or adaptive:  # in training: bounded by the cap, reported once
            cap = dict(max_panels=TRAIN_MAX_PANELS, report=self) if net.training else {}
            return gauss_kronrod_integral(lambda t: net.rate(t, a, dx), **kw, **cap)
        rows = max(1, NODE_BUDGET // (15 * panels))  # bounded memory: a row costs 15 * panels evaluations
        parts = [
            gauss_kronrod_integral(lambda t, ai=ai, di=di: net.rate(t, ai, di), panels=panels, **kw)
            for ai, di in _row_chunks(a, dx, rows)
        ]
        return torch.cat(parts)

    def freeze(self, net, X):
        """The smallest panel count meeting the tolerance on every training path (``net.paths(X)``).

        A per-batch search would make a prediction depend (at the tolerance level) on the other rows of
        its batch; a fixed rule makes predict a smooth, batch-independent function.
        """
        if X is None:
            return None
        with torch.no_grad():
            a, b = net.paths(X)
            if X.shape[0] > 2 * FREEZE_ROWS:  # the longest paths are the hardest; plus a spread of the rest
                far = torch.topk((b - a).norm(dim=1), FREEZE_ROWS).indices
                spread = torch.arange(0, X.shape[0], X.shape[0] // FREEZE_ROWS, device=X.device)
                keep = torch.cat([far, spread])
                a, b = a[keep], b[keep]
            panels = 1
            for starts, ends in zip(a.split(64), b.split(64)):  # 64 rows x 15 x MAX_PANELS nodes: well under 1 GB
                dx = ends - starts
                found, _ = gauss_kronrod_panels(lambda t, s=starts, d=dx: net.rate(t, s, d), **self._tol(X))
                panels = max(panels, found)
        return panels

    def frozen_state(self, panels):
        return {"panels": panels}

    def load_frozen(self, state, device):
        return state.get("panels")


class ODE(Integrator):
    """A torchdiffeq method: the integral as dy/dt = rate(t), y(0) = 0 (adjoint optional)."""

    exact = False
    uses_adjoint = True

    @property
    def rows_independent(self):
        return self.name in FIXED_STEP_METHODS

    def integral(self, net, a, b, width, adaptive=False):
        dx = b - a
        # the adjoint only differentiates what it is given: inputs included
        return ode_integral(lambda t: net.rate(t.reshape(1), a, dx)[0], torch.Size((dx.shape[0], width)),
                            template=dx, method=self.name, rtol=self.rtol, atol=self.atol, adjoint=self.adjoint,
                            params=(*net.parameters(), a, dx))  # fmt: skip


class NetworkQuadrature(Integrator):
    """``method='quadrature'``: each network's own exact rule (``net.QUADRATURE``), known once the network is."""

    name = "quadrature"
    exact = True

    @classmethod
    def resolve(cls, quadrature):
        return quadrature


INTEGRATORS: dict[str, type[Integrator]] = {}
METHODS: set[str] = set()  # what ``method`` accepts, kept in step (the estimators validate against it)


def register(name: str, cls: type[Integrator]) -> None:
    """Make ``method=name`` build ``cls``."""
    INTEGRATORS[name] = cls
    METHODS.add(name)


register("quadrature", NetworkQuadrature)
for _name in ODE_METHODS:
    register(_name, ODE)


def exact_rule(method: str) -> bool:
    """Whether ``method`` integrates exactly what the structure's bounds are stated for (a fixed rule, not an ODE
    solver's tolerance)."""
    return INTEGRATORS[method].exact


def make_integrator(method: str, rtol: float, atol: float, quadrature: type[Integrator], **kwargs) -> Integrator:
    """The integrator ``method`` names for a network whose own exact rule is ``quadrature``."""
    return INTEGRATORS[method].resolve(quadrature)(rtol, atol, method=method, **kwargs)
