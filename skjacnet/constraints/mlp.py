"""The scalar networks every structure is built from, initialised from a generator (never torch's global RNG)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda h: h,
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "silu": F.silu,
    "sin": torch.sin,
}
# a bound on each activation's slope: an MLP's Lipschitz constant is at most their product times the weights' norms
ACTIVATION_LIPSCHITZ: dict[str, float] = {
    "identity": 1.0, "logistic": 0.25, "tanh": 1.0, "relu": 1.0, "softplus": 1.0, "silu": 1.1, "sin": 1.0,
}  # fmt: skip


def _uniform(shape: Sequence[int], bound: float, gen: torch.Generator, dtype: torch.dtype) -> nn.Parameter:
    """U(-bound, bound) drawn from ``gen``, never from torch's global RNG."""
    return nn.Parameter((torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound).to(dtype))


class MLP(nn.Module):
    """Fully connected network, initialised like ``nn.Linear`` from a generator."""

    def __init__(self, sizes: Sequence[int], activation: str, gen: torch.Generator, dtype: torch.dtype):
        super().__init__()
        self.activation = activation
        self.evaluations = 0  # points evaluated: the cost measure of an integrator
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(_uniform((fan_out, fan_in), bound, gen, dtype))
            self.biases.append(_uniform((fan_out,), bound, gen, dtype))

    def forward(self, x: Tensor) -> Tensor:
        self.evaluations += x.numel() // x.shape[-1]
        act = ACTIVATIONS[self.activation]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = F.linear(x, w, b)
            if i < last:
                x = act(x)
        return x


def init_matrix(shape: tuple[int, int], gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    # drawn in float64 whatever the dtype: the same random_state gives the same initial network
    return _uniform(shape, 1.0 / math.sqrt(shape[1]), gen, dtype).detach()
