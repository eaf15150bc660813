"""The paper's unconstrained n-D JacNet: a network for the whole Jacobian, integrated along paths.

    f(x) = y_a + integral_0^1 J(c(t)) c'(t) dt,   c(0) = x_a, c(1) = x,

where (x_a, y_a) is the initial condition (the paper's x0 and y0, or the
nearest of several anchors) and c the straight segment or a user path.  J need
not be curl-free, so the result depends on the path and carries no guarantee;
``path_dependence`` measures it.

Anchors (the paper's "adaptively select initial conditions near the target"):
k anchors x_a in the data, y_a = y0 + the integral from x0 to x_a along the
same kind of path, and each query starts from its nearest anchor.  Shorter
paths need fewer quadrature panels (or ODE steps) for the same tolerance.  For
a conservative field the function is unchanged; for a non-conservative one it
jumps across the boundaries between anchors' cells by about the path
dependence, which is why anchors are offered only for this model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..integrate import GaussKronrod, Integrator, gauss_kronrod_integral
from .layer import JacobianLayer, persisted
from .mlp import MLP

Path = Callable[[Tensor, Tensor, Tensor], Tensor]  # (t (T,), a (n, d), b (n, d)) -> points (T, n, d)


def path_and_velocity(path: Path, t: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """c(t) and c'(t) by forward-mode autograd (one pass, composable with backward)."""
    with warnings.catch_warnings():  # torch's own jvp decompositions use torch.jit.script on first import
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated", category=DeprecationWarning)
        return torch.func.jvp(lambda s: path(s, a, b), (t,), (torch.ones_like(t),))


class UserPath:
    """A path c(t, a, b) given in the units of X, used on standardised coordinates."""

    def __init__(self, fn: Path, mean: Tensor, scale: Tensor):
        self.fn, self.mean, self.scale = fn, mean, scale

    def __call__(self, t: Tensor, a: Tensor, b: Tensor) -> Tensor:
        m, s = self.mean.to(a), self.scale.to(a)
        return (self.fn(t, a * s + m, b * s + m) - m) / s


def check_path(path: Path, A: Tensor, B: Tensor) -> None:
    """A user path must map (t, a, b) to points (T, n, d), differentiably, with c(0) = a and c(1) = b."""
    t = torch.tensor([0.0, 0.5, 1.0], dtype=A.dtype, device=A.device)
    try:
        pts, vel = path_and_velocity(path, t, A, B)
    except Exception as exc:  # the user's code: any failure means it is not a usable path
        msg = f"path must be a differentiable torch function path(t, a, b); calling it failed: {exc}"
        raise ValueError(msg) from exc
    if pts.shape != (3, *A.shape):
        raise ValueError(f"path(t, a, b) must return shape (len(t), n, d) = {(3, *A.shape)}, got {tuple(pts.shape)}.")
    # the path runs in the units of X (UserPath converts back and forth): allow that rounding
    units = float((path.mean.abs().max() / path.scale.min()).clamp_min(1.0)) if isinstance(path, UserPath) else 1.0
    tol = 64 * torch.finfo(A.dtype).eps * (1.0 + A.abs().max() + B.abs().max()) * units
    if (pts[0] - A).abs().max() > tol or (pts[-1] - B).abs().max() > tol:
        raise ValueError("path(t, a, b) must start at a (t = 0) and end at b (t = 1).")
    if not (torch.isfinite(pts).all() and torch.isfinite(vel).all()):
        raise ValueError("path(t, a, b) or its derivative in t is not finite.")


@persisted("full")
class FullJacobianNet(JacobianLayer):
    """The paper's unconstrained n-D JacNet: J(x) = MLP(x) reshaped to (m, d)."""

    FIELD = MLP

    def __init__(self, field: nn.Module, n_in: int, n_out: int, dtype: torch.dtype):
        super().__init__()
        self.field, self.n_in, self.n_out = field, n_in, n_out
        self.x0 = nn.Buffer(torch.zeros(n_in, dtype=dtype))
        self.y0 = nn.Parameter(torch.zeros(n_out, dtype=dtype))
        self.register_buffer("anchors", None)  # (k, d) once set by set_anchors
        self._anchor_values: Tensor | None = None  # cache of y0 + integral x0 -> anchor, eval mode only
        self.path: Path | None = None  # None: straight segments; not saved (the estimator re-attaches it)
        self.integrator: Integrator = GaussKronrod(1e-6, 1e-8)

    QUADRATURE = GaussKronrod  # method='quadrature': composite Gauss-Kronrod, its panel count fixed after fit

    def set_anchors(self, anchors: Tensor) -> None:
        self.anchors = anchors.to(self.x0)
        self._anchor_values = None

    def train(self, mode: bool = True) -> FullJacobianNet:
        self._anchor_values = None  # the weights are about to change (or just did)
        return super().train(mode)

    def _apply(self, fn, recurse=True):  # .to(device) and friends: recompute on the new device
        self._anchor_values = None
        return super()._apply(fn, recurse)

    def J(self, x: Tensor) -> Tensor:
        return self.field(x).reshape(*x.shape[:-1], self.n_out, self.n_in)

    # --- paths ----------------------------------------------------------
    def _straight_rate(self, t: Tensor, a: Tensor, dx: Tensor) -> Tensor:
        """J(a + t dx) dx: the rate of a straight segment."""
        return (self.J(a + t[:, None, None] * dx) @ dx.unsqueeze(-1)).squeeze(-1)

    def rate(self, t: Tensor, a: Tensor, dx: Tensor) -> Tensor:
        """J(c(t)) c'(t) at nodes t (T,) on the path from rows a to a + dx (n, d) -> (T, n, m)."""
        if self.path is None:
            return self._straight_rate(t, a, dx)
        b = a + dx
        pts, vel = path_and_velocity(self.path, t, a, b)
        return (self.J(pts) @ vel.unsqueeze(-1)).squeeze(-1)

    def _starts(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Start point and start value of each row's path: x0 and y0, or the nearest anchor."""
        if self.anchors is None:
            return self.x0.expand_as(x), self.y0.expand(x.shape[0], -1)
        values = self._anchor_values
        if values is None or self.training:
            values = self.y0 + self.integrator.integral(
                self, self.x0.expand_as(self.anchors), self.anchors, self.n_out, adaptive=True
            )
            if not self.training:  # fixed once trained: computed once per fitted (or loaded) model
                self._anchor_values = values.detach()
        idx = torch.cdist(x.detach(), self.anchors).argmin(dim=1)
        return self.anchors[idx], values[idx]

    # --- integration ----------------------------------------------------
    def line_integral(self, a: Tensor, b: Tensor) -> Tensor:
        """Integral of J along the path from each row of a to the same row of b (n, d) -> (n, m)."""
        return self.integrator.integral(self, a, b, self.n_out)

    def paths(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """The paths the training inputs X integrate along: from x0 or their anchor to X.

        The anchors' own values are integrated adaptively (and cached): only the queries' paths count.
        """
        return self._starts(X)[0], X

    # freeze (JacobianLayer's) fixes one Gauss-Kronrod panel count from the training inputs X; far outside
    # them the fixed rule is less accurate, and the factors are empty: this model carries no guarantee

    def forward(self, x: Tensor) -> Tensor:
        a, ya = self._starts(x)
        return ya + self.line_integral(a, x)

    def jacobian(self, x: Tensor) -> Tensor:
        """The network's J(x): NOT the Jacobian of the computed map unless J is curl-free."""
        return self.J(x)

    def jacobian_is_exact(self) -> bool:
        return False  # a path integral of a field that need not be curl-free

    def segment_integral(self, a: Tensor, b: Tensor) -> Tensor:
        """Integral of J along the straight segment a -> b, for rows a, b (n, d), adaptive GK15."""
        it, dx = self.integrator, b - a
        return gauss_kronrod_integral(
            lambda t: self._straight_rate(t, a, dx),
            rtol=it.rtol, atol=it.atol, dtype=a.dtype, device=a.device,
        )  # fmt: skip

    def path_dependence(self, x: Tensor) -> Tensor:
        """|f along start -> x minus f along start -> corner -> x| per row (n, m), start = x0 or the anchor.

        The start is the row's initial point (x0 or its anchor); the corner
        moves the first half of the coordinates first (an L-shaped path of
        straight segments).  Zero for a conservative field; its size measures
        how much predictions depend on the chosen path.
        """
        a, _ = self._starts(x)
        corner = a.clone()
        half = max(1, x.shape[1] // 2)
        corner[:, :half] = x[:, :half]
        straight = self.segment_integral(a, x)
        bent = self.segment_integral(a, corner) + self.segment_integral(corner, x)
        return (straight - bent).abs()

    # --- persistence (skjacnet._persist) ---------------------------------
    def state_fields(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out}

    @classmethod
    def from_fields(cls, state: dict, tensors: dict, field: nn.Module, dtype: torch.dtype) -> FullJacobianNet:
        return cls(field, state["n_in"], state["n_out"], dtype)
