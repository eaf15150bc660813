"""The divergence guard: when a training loss has exploded or become non-finite, the weights to go back to,
and the message that says which parameter to change.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._targets import ValueTarget, nan_mean
from .exceptions import NonFiniteError

# A training loss this many times the larger of a constant prediction's and the initial network's has
# diverged (healthy fits stay far below it, and 1e6 let diverged fits through: docs/measurements.md,
# Divergence): training stops there, restores the best weights seen and says which parameter to change.
EXPLOSION = 1e3


def _finite(model: nn.Module, loss: float) -> bool:
    # one check over all weights: a check per tensor costs a few small operations each (docs/measurements.md)
    params = [p.detach().reshape(-1) for p in model.parameters()]
    return math.isfinite(loss) and (not params or bool(torch.cat(params).isfinite().all()))


class Diverged(Exception):
    """A loss exploded or became non-finite (for Adam, raised before the step is taken)."""

    def __init__(self, loss: float):
        super().__init__(loss)
        self.loss = loss


class Guard:
    """Divergence test, and the weights to go back to: those at the start of the best epoch.

    A loss has diverged when it is not finite or exceeds ``EXPLOSION`` times the larger of the first
    loss seen (the initial network's) and the loss of a constant prediction on the same rows, so a
    mini-batch of heavy outliers is judged against its own scale.
    """

    def __init__(self, model: nn.Module, Y: Tensor, w: Tensor, kind: str, target: ValueTarget):
        self.model, self.kind, self.target = model, kind, target
        self.centre = nan_mean(target.values(Y), w)
        self.reference = target.constant_loss(Y, w, kind, self.centre)
        self.first: float | None = None  # the initial network's loss
        self.best, self.best_epoch, self.best_state = math.inf, 0, None
        self.start_state: dict[str, Tensor] | None = None

    def seed(self, loss: float) -> None:
        """Record the initial network's loss (once)."""
        if self.first is None:
            self.first = loss

    def check(self, loss: float, yb: Tensor | None = None, wb: Tensor | None = None) -> None:
        self.seed(loss)
        reference = self.reference if yb is None else self.target.constant_loss(yb, wb, self.kind, self.centre)
        if not loss <= EXPLOSION * max(reference, self.first, 1e-300):  # also NaN
            raise Diverged(loss)

    @property
    def started_finite(self) -> bool:
        return self.first is not None and math.isfinite(self.first)

    def epoch_start(self) -> None:
        self.start_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def epoch_end(self, epoch: int, loss: float) -> None:
        if loss < self.best:
            self.best, self.best_epoch, self.best_state = loss, epoch, self.start_state

    def restore(self) -> None:
        state = self.best_state if self.best_state is not None else self.start_state
        self.model.load_state_dict(state)


def guarded_epoch(
    epoch_fn: Callable[[], tuple[float, bool]], model: nn.Module, guard: Guard
) -> tuple[float, bool] | float:
    """One epoch: (its loss, converged), or the loss that diverged (weights restored) as a bare float."""
    guard.epoch_start()
    try:
        epoch_loss, solver_converged = epoch_fn()
        guard.check(epoch_loss)
        if not _finite(model, epoch_loss):
            raise Diverged(math.nan)
    except (Diverged, NonFiniteError) as exc:  # NonFiniteError: the mesh of diverged weights
        if not guard.started_finite:  # the data or the start is at fault, not the optimisation
            if isinstance(exc, NonFiniteError) and guard.first is None:
                raise
            raise NonFiniteError(
                "Training diverged at iteration 1: the loss of the initial network is not finite. "
                "Keep standardize=True, or rescale y."
            ) from None
        guard.restore()
        return exc.loss if isinstance(exc, Diverged) else math.nan
    return epoch_loss, solver_converged


def divergence_message(loss: float, epoch: int, guard: Guard, solver: str, learning_rate: float) -> str:
    what = (
        "became non-finite"
        if not math.isfinite(loss)
        else f"reached {loss:.3g}, over {EXPLOSION:.0e} times the initial network's or a constant prediction's"
    )
    if guard.best_state is None:
        kept = "the initial weights were restored"
    else:
        kept = (
            f"the weights it started iteration {guard.best_epoch} with were restored (mean training loss "
            f"{guard.best:.3g} over that iteration)"
        )
    fix = (
        f"Lower learning_rate_init (it is {learning_rate:g})."
        if solver == "adam"
        else "Increase alpha (L-BFGS has no learning rate), or set standardize=True if it is off."
    )
    return f"Training diverged at iteration {epoch}: the training loss {what}. Training stopped and {kept}. {fix}"
