"""The training loop the benchmarks' torch peers share (deep.py's GroupSort, NSF, ...; tabular.py's LMN)."""

from __future__ import annotations

import torch


def train_mse(net: torch.nn.Module, X, Y, lr: float, steps: int, batch: int = 256, seed: int = 0) -> torch.nn.Module:
    """Adam on the mean squared error of net(X) against Y (n, m), mini-batches drawn with replacement, the
    learning rate cut to 0.3x at 1/2 and 3/4 of the steps."""
    gen = torch.Generator().manual_seed(seed)
    X, Y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Y, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [steps // 2, 3 * steps // 4], 0.3)
    for _ in range(steps):
        idx = torch.randint(0, len(X), (min(batch, len(X)),), generator=gen)
        opt.zero_grad()
        ((net(X[idx]) - Y[idx]) ** 2).mean().backward()
        opt.step()
        sched.step()
    return net
