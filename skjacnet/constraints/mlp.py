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


class MemberMLP(MLP):
    """``k`` independent MLPs of the same ``sizes`` side by side, as one wide MLP (an ensemble trained in lockstep).

    Member i owns the i-th block of units in every layer: the first layer stacks the members' weights, every later
    layer is block-diagonal (a fixed mask keeps the off-diagonal blocks at zero, so no member reads another's
    units), and the outputs are member-major: columns [i * m, (i + 1) * m) are member i's.  Each member is drawn
    from ``gen`` as a standalone ``MLP(sizes)``, so its initial weights have the scale of its own fan-in.
    Adam updates each weight from its own gradient, so a summed loss trains the members as independent fits.
    """

    def __init__(self, sizes: Sequence[int], activation: str, gen: torch.Generator, dtype: torch.dtype, k: int):
        nn.Module.__init__(self)
        self.activation, self.evaluations, self.k = activation, 0, k
        members = [MLP(sizes, activation, gen, dtype) for _ in range(k)]
        layers = range(len(sizes) - 1)
        blocks = [[m.weights[i].detach() for m in members] for i in layers]
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.cat(b) if i == 0 else torch.block_diag(*b)) for i, b in enumerate(blocks)]
        )
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.cat([m.biases[i].detach() for m in members])) for i in layers]
        )
        for i in layers[1:]:
            self.register_buffer(f"mask{i}", torch.block_diag(*(torch.ones_like(m.weights[i]) for m in members)))

    def forward(self, x: Tensor) -> Tensor:
        self.evaluations += x.numel() // x.shape[-1]
        act = ACTIVATIONS[self.activation]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = F.linear(x, w if i == 0 else w * getattr(self, f"mask{i}"), b)
            if i < last:
                x = act(x)
        return x

    def merged(self) -> MLP:
        """The members' mean as one plain MLP: the same units, the output layer averaged over the members."""
        return self._plain(average=True)

    def wide(self) -> MLP:
        """The members side by side as one plain MLP (the masks applied): the same units and outputs."""
        return self._plain(average=False)

    def _plain(self, average: bool) -> MLP:
        sizes = [int(self.weights[0].shape[1])] + [int(w.shape[0]) for w in self.weights]
        m = sizes[-1] // self.k if average else sizes[-1]
        out = MLP(sizes[:-1] + [m], self.activation, torch.Generator(), self.weights[0].dtype)
        with torch.no_grad():
            for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                w = w if i == 0 else w * getattr(self, f"mask{i}")
                if average and i == len(self.weights) - 1:  # member i's outputs read only its own units
                    w, b = w.reshape(self.k, m, -1).mean(0), b.reshape(self.k, m).mean(0)
                out.weights[i].copy_(w)
                out.biases[i].copy_(b)
        return out.to(self.weights[0].device)
