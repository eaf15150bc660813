"""When training stops: MLPRegressor's rule on the training loss or, with early stopping, on the validation
score (keeping the best validation epoch's weights), and the 'adaptive' learning-rate schedule that divides
Adam's rate where that rule would stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._progress import Progress
from ._targets import ValueTarget

ADAPTIVE_DIVISOR, ADAPTIVE_MIN_LR = 5.0, 1e-6  # MLPRegressor's 'adaptive' rule (for SGD there)
VALIDATION_CHUNK = 1 << 16  # rows per validation forward pass: bounded memory on any split


@dataclass
class Stopping:
    """MLPRegressor's rule: stop after more than ``n_iter_no_change`` epochs without a ``tol`` improvement."""

    tol: float
    n_iter_no_change: int
    validation: tuple[Tensor, Tensor, Tensor] | None = None  # (X, Y, w) held out: early stopping


class Monitor:
    """MLPRegressor's bookkeeping: the best value, the epochs since a ``tol`` improvement, the best weights."""

    def __init__(self, stopping: Stopping, target: ValueTarget) -> None:
        self.stopping = stopping
        self.target = target
        self.early = stopping.validation is not None
        self.best = -math.inf if self.early else math.inf  # validation score, or training loss
        self.best_state: dict[str, Tensor] | None = None
        self.stall = 0

    def update(self, model: nn.Module, epoch_loss: float) -> float | None:
        """Record one epoch; returns the validation score with early stopping."""
        tol = self.stopping.tol
        if not self.early:
            self.stall = self.stall + 1 if epoch_loss > self.best - tol else 0
            self.best = min(self.best, epoch_loss)
            return None
        Xv, Yv, wv = self.stopping.validation
        # scoring must not advance the training mesh's refinement schedule (RidgeJacobianNet):
        # early stopping then trains exactly as a fit on the same rows without it
        integrators = model.integrators()
        saved = [it.snapshot() for it in integrators]
        with torch.no_grad():
            pred = torch.cat([model(Xv[i : i + VALIDATION_CHUNK]) for i in range(0, Xv.shape[0], VALIDATION_CHUNK)])
            score = self.target.score(pred, Yv, wv)
        for it, snap in zip(integrators, saved):
            it.restore(snap)
        self.stall = self.stall + 1 if score < self.best + tol else 0
        if score > self.best:
            self.best = score
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return score

    @property
    def should_stop(self) -> bool:
        return self.stall > self.stopping.n_iter_no_change

    def reason(self) -> str:
        what = "Validation score" if self.early else "Training loss"
        return (
            f"{what} did not improve more than tol={self.stopping.tol:f} "
            f"for {self.stopping.n_iter_no_change} consecutive epochs."
        )


def stops(monitor: Monitor, adaptive: torch.optim.Optimizer | None, progress: Progress, solver_converged: bool) -> bool:
    """Whether training stops after this epoch: the rule fired, or L-BFGS found a zero gradient.

    ``adaptive``: the Adam of learning_rate='adaptive' (else None), whose rate is cut where the rule would stop,
    until it is ADAPTIVE_MIN_LR or less.
    """
    if monitor.should_stop and adaptive is not None and adaptive.param_groups[0]["lr"] > ADAPTIVE_MIN_LR:
        _cut_learning_rate(adaptive, progress, monitor)
        return False
    if monitor.should_stop or solver_converged:
        progress.final(("L-BFGS found a vanishing gradient." if solver_converged else monitor.reason()) + " Stopping.")
        return True
    return False


def _cut_learning_rate(optimizer: torch.optim.Optimizer, progress: Progress, monitor: Monitor) -> None:
    """learning_rate='adaptive': divide the rate by ADAPTIVE_DIVISOR and start the patience count again."""
    for group in optimizer.param_groups:
        group["lr"] /= ADAPTIVE_DIVISOR
    monitor.stall = 0
    progress.line(f"Setting learning rate to {optimizer.param_groups[0]['lr']:f}")
