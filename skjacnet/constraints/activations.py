"""Output activations that give the learned derivative its structure.

Each maps the raw network output ``h`` to the derivative ``g`` of one ridge
(see :mod:`skjacnet.constraints.ridge`).  The bound each one guarantees is exact for ``g``,
and :mod:`skjacnet.integrate.mesh` carries it exactly to the computed function.
They are small modules (not closures) so fitted estimators pickle.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Unconstrained(nn.Module):
    """``g = h``: no structure."""

    def forward(self, h: Tensor) -> Tensor:
        return h


class Lipschitz(nn.Module):
    """``g = k tanh(h / max(k, 1))``, so |g| <= k (the paper's k tanh(h) for k <= 1).

    For k > 1 the paper's form starts training with slopes of order k
    (the network's h is O(1)): a loose bound (k = 1e4 where the data's slope
    is 1) began at a loss of order k^2 and never recovered (measured:
    docs/measurements.md, "Lipschitz scaling for k above 1").
    Dividing h by k is a reparametrisation of the same class, with an
    initial slope of order 1 whatever the bound.
    """

    def __init__(self, k: float, h_scale: float | None = None):
        super().__init__()
        self.k = float(k)
        self.h_scale = max(self.k, 1.0) if h_scale is None else float(h_scale)

    def forward(self, h: Tensor) -> Tensor:
        return self.k * torch.tanh(h / self.h_scale)


class Positive(nn.Module):
    """``g = h**2 + eps``, so g >= eps (1-D form of the paper's J J^T + eps I)."""

    def __init__(self, eps: float):
        super().__init__()
        self.eps = float(eps)

    def forward(self, h: Tensor) -> Tensor:
        return h * h + self.eps


# ExpPositive: log g is held above this (e^30 ~ 1e13 standardised slope), so that g's exponential growth beyond the
# data turns linear far away and predictions stay finite on the whole line (the mesh reaches 2**50)
EXP_LOG_MAX = 30.0


class ExpPositive(nn.Module):
    """``g = exp(min(h, EXP_LOG_MAX)) + eps``, so g >= eps, and log(g - eps) is the network.

    With softplus units h is linear beyond the data, so the derivative continues its log-linear trend: it
    decays exponentially where it was falling toward the edge of the data (a saturating curve stays flat) and
    grows exponentially where it was rising (exp(x) is exactly representable).  ``h**2 + eps`` instead makes
    the derivative of a saturating fit rebound quadratically (h crosses zero at the edge), so saturating curves
    extrapolated far worse with it (measured: docs/measurements.md, "`positive_map`").
    """

    def __init__(self, eps: float):
        super().__init__()
        self.eps = float(eps)

    def forward(self, h: Tensor) -> Tensor:
        return torch.exp(torch.clamp(h, max=EXP_LOG_MAX)) + self.eps


OUTPUT_MAPS: dict[str, type[nn.Module]] = {
    "Unconstrained": Unconstrained, "Lipschitz": Lipschitz, "Positive": Positive, "ExpPositive": ExpPositive,
}  # fmt: skip
POSITIVE_MAPS: dict[str, type[nn.Module]] = {"square": Positive, "exp": ExpPositive}


def to_state(structure: nn.Module) -> dict:
    return {
        "name": type(structure).__name__,
        "k": getattr(structure, "k", None),
        "eps": getattr(structure, "eps", None),
        "h_scale": getattr(structure, "h_scale", None),
    }


def from_state(spec: dict) -> nn.Module:
    cls = OUTPUT_MAPS[spec["name"]]
    if cls is Lipschitz:  # states saved before h_scale existed computed k tanh(h)
        return Lipschitz(spec["k"], h_scale=spec.get("h_scale") or 1.0)
    return cls() if cls is Unconstrained else cls(spec["eps"])
