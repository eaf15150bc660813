"""The adversary every guarantee test uses: Adam on the inputs, pushing a per-point score to its extreme."""

from collections.abc import Callable

import torch
from conftest import torch_predict


def adam_search(
    score: Callable[..., torch.Tensor],
    *starts: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
    maximize: bool = True,
) -> tuple[float, tuple[torch.Tensor, ...]]:
    """Adam on ``starts`` to maximise (or minimise) ``score(*points)``, a tensor with one value per point.

    Returns the most extreme value seen on the way (the search may step past its best point) and the
    final points.
    """
    points = [s.detach().clone().requires_grad_(True) for s in starts]
    opt = torch.optim.Adam(points, lr=lr)
    worst = -float("inf") if maximize else float("inf")
    for _ in range(steps):
        opt.zero_grad()
        values = score(*points)
        worst = max(worst, float(values.max())) if maximize else min(worst, float(values.min()))
        (-values.sum() if maximize else values.sum()).backward()
        opt.step()
    return worst, tuple(p.detach() for p in points)


def pair_ratio(est) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """||f(a) - f(b)|| / ||a - b|| per pair of rows, for what ``est.predict`` computes."""

    def ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        n = a.shape[0]
        diff = (torch_predict(est, a) - torch_predict(est, b)).reshape(n, -1).norm(dim=1)
        return diff / (a - b).norm(dim=1).clamp_min(1e-9)

    return ratio


def pair_starts(d: int, n: int = 32, scale: float = 3.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n random pairs in R^d, each b near its a (the search then moves both)."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=gen, dtype=torch.float64) * scale
    return a, a + 0.3 * torch.randn(n, d, generator=gen, dtype=torch.float64)
