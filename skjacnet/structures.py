"""Output activations that give the learned derivative its structure.

Each maps the raw network output ``h`` to the derivative ``g`` of one ridge
(see :mod:`skjacnet.nn`).  The bound each one guarantees is exact for ``g``,
and :mod:`skjacnet._mesh` carries it exactly to the computed function.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Activation = Callable[[Tensor], Tensor]


def unconstrained() -> Activation:
    return lambda h: h


def lipschitz(k: float) -> Activation:
    """``k tanh(h)``: |g| <= k (the paper's k-Lipschitz activation)."""
    return lambda h: k * torch.tanh(h)


def positive(eps: float) -> Activation:
    """``h**2 + eps``: g >= eps (the 1-D form of the paper's J J^T + eps I)."""
    return lambda h: h * h + eps


STRUCTURES: dict[str, Callable[..., Activation]] = {
    "none": lambda k, eps: unconstrained(),
    "lipschitz": lambda k, eps: lipschitz(k),
    "positive_definite": lambda k, eps: positive(eps),
}


def output_activation(name: str, *, k: float = 1.0, eps: float = 0.0) -> Activation:
    return STRUCTURES[name](k, eps)
