"""The optimisation loop: Adam on mini-batches or full-batch L-BFGS, with MLPRegressor's stopping rule, early
stopping and tolerance annealing.

The loop's parts have a module each: what is fitted (``_targets``), each solver's epoch (``_solvers``), when
to stop (``_stopping``) and the divergence guard (``_divergence``).  No scikit-learn here: it takes tensors and
a module and returns a history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ._divergence import Guard, divergence_message, guarded_epoch
from ._progress import Progress
from ._solvers import EpochFn, Objective, adam, adam_epochs, lbfgs_epochs
from ._stopping import Monitor, Stopping, stops
from ._targets import LogLossTarget as LogLossTarget  # re-exported: classifier.py imports it from here
from ._targets import ValueTarget

LOSSES = ("squared_error", "absolute_error")
SOLVERS = ("adam", "lbfgs")
SCHEDULES = ("constant", "adaptive")  # learning_rate: Adam's schedule (see train)
ANNEAL_START = 0.1  # the paper's "loose" starting tolerance (standardised units)


@dataclass
class History:
    loss_curve: list[float] = field(default_factory=list)
    tol_curve: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False  # the stopping rule fired (or L-BFGS found a zero gradient)
    best_loss: float | None = None  # None with early stopping, as MLPRegressor
    validation_scores: list[float] | None = None
    best_validation_score: float | None = None
    diverged: str | None = None  # why training stopped early on a divergence (the weights were restored)
    capped: int = 0  # training-time integrations stopped at the caps (integrate.TRAIN_MAX_*)


class _Tolerance:
    """The tolerances of a network's integrators, annealed together (the paper's schedule)."""

    def __init__(self, integrators: list, annealing: bool) -> None:
        self.integrators = integrators
        self._capped_before = sum(it.capped for it in integrators)  # counted per fit
        self.target = (integrators[0].rtol, integrators[0].atol)  # the fit's rtol, atol: every layer has them
        self.annealing = annealing
        if annealing:
            self.set(max(ANNEAL_START, *self.target), max(ANNEAL_START, *self.target))

    @property
    def current(self) -> float:
        return max(self.integrators[0].rtol, self.integrators[0].atol)

    @property
    def capped(self) -> int:
        return sum(it.capped for it in self.integrators) - self._capped_before

    def set(self, rtol: float, atol: float) -> None:
        for it in self.integrators:
            it.set_tolerances(rtol, atol)

    def follow(self, epoch_loss: float) -> None:
        """Annealing: halve the tolerances (down to the fit's) once the training loss falls below them."""
        if self.annealing and epoch_loss < self.current:
            it = self.integrators[0]
            self.set(max(self.target[0], it.rtol / 2), max(self.target[1], it.atol / 2))


def train(
    model: nn.Module,
    X: Tensor,
    Y: Tensor,
    w: Tensor,
    *,
    solver: str,
    max_iter: int,
    learning_rate: float,
    batch_size: int,
    alpha: float,
    loss: str,
    gen: torch.Generator,
    tol_annealing: bool,
    schedule: str = "constant",
    stopping: Stopping,
    verbose: int,
    target: ValueTarget | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    label: str = "fit",
) -> History:
    """Fit ``model`` to (X, Y) with sample weights w; one iteration = one epoch.

    'adam' takes mini-batch steps; 'lbfgs' one full-batch L-BFGS iteration (strong Wolfe line search) per epoch.
    ``alpha`` is an L2 penalty on the weights, alpha / (2 sum(w)) over the whole training set (integer weights
    then equal repeated samples).  With ``tol_annealing`` the integration tolerances start at ``ANNEAL_START`` and
    halve whenever the training loss falls below them, down to the requested rtol/atol (the paper's schedule).
    With ``stopping.validation`` the weights of the best validation epoch are restored at the end.  ``schedule``
    'adaptive' (Adam only) is MLPRegressor's rule for SGD: each time the stopping rule would stop, the learning
    rate is divided by 5 and training goes on, until it is 1e-6 or less.
    ``target`` says what Y holds (default: values; :class:`JacobianTarget`: values and observed Jacobians).
    ``optimizer``: an Adam to continue (``partial_fit`` keeps its moments between calls) instead of a fresh one.
    ``label`` names the progress bar (the estimator's fit).
    """
    tolerance = _Tolerance(model.integrators(), tol_annealing)
    target = target or ValueTarget()
    guard = Guard(model, Y, w, loss, target)
    objective = _objective(model, guard, target, solver, loss, alpha, target.weight_total(Y, w))
    if solver == "lbfgs":
        epoch_fn = lbfgs_epochs(model, X, Y, w, objective)
    else:
        optimizer = adam(model, learning_rate) if optimizer is None else optimizer
        epoch_fn = adam_epochs(model, X, Y, w, objective, batch_size, gen, optimizer)
    monitor = Monitor(stopping, target)
    adaptive = optimizer if schedule == "adaptive" and solver == "adam" else None
    hist = History(validation_scores=[] if monitor.early else None)
    progress = Progress(verbose, max_iter, desc=f"{label} ({solver})")
    model.train()
    try:
        _epochs(epoch_fn, model, guard, monitor, tolerance, adaptive, progress, hist, max_iter, solver, learning_rate)
    finally:
        progress.close()
        hist.capped = tolerance.capped
        tolerance.set(*tolerance.target)
        model.eval()  # also after a failure: never left predicting with training-mode integration
    _keep_best(hist, monitor, model)
    model.eval()
    return hist


def _epochs(
    epoch_fn: EpochFn,
    model: nn.Module,
    guard: Guard,
    monitor: Monitor,
    tolerance: _Tolerance,
    adaptive: torch.optim.Optimizer | None,
    progress: Progress,
    hist: History,
    max_iter: int,
    solver: str,
    learning_rate: float,
) -> None:
    """Up to ``max_iter`` epochs, recorded in ``hist``, until the stopping rule fires or training diverges."""
    for epoch in range(max_iter):
        outcome = guarded_epoch(epoch_fn, model, guard)
        if isinstance(outcome, float):  # diverged: the guard restored the best start
            hist.diverged = divergence_message(outcome, epoch + 1, guard, solver, learning_rate)
            return
        epoch_loss, solver_converged = outcome
        guard.epoch_end(epoch + 1, epoch_loss)
        _record(hist, progress, monitor, model, epoch + 1, epoch_loss, tolerance.annealing)
        tolerance.follow(epoch_loss)
        if stops(monitor, adaptive, progress, solver_converged):
            hist.converged = True
            return


def _keep_best(hist: History, monitor: Monitor, model: nn.Module) -> None:
    """The best value into ``hist``; with early stopping, the best validation epoch's weights into ``model``."""
    if monitor.early:
        hist.best_validation_score = monitor.best if math.isfinite(monitor.best) else None
        # as MLPRegressor: end with the best validation epoch's weights (not after a divergence: the
        # guard restored the start of the best training epoch, which came before the blow-up)
        if monitor.best_state is not None and hist.diverged is None:
            model.load_state_dict(monitor.best_state)
    else:
        hist.best_loss = monitor.best if math.isfinite(monitor.best) else None


def _objective(
    model: nn.Module, guard: Guard, target: ValueTarget, solver: str, loss: str, alpha: float, w_total: float
) -> Objective:
    """(X, Y, w) -> (data loss, penalised loss), with the divergence guard watching each evaluation."""
    # weight 2 must equal a repeated sample, so the penalty is divided by sum(w), not n
    penalized = [p for name, p in model.named_parameters() if "weights" in name or name.endswith("_raw")]

    def objective(xb: Tensor, yb: Tensor, wb: Tensor) -> tuple[Tensor, Tensor]:
        data_loss = target.loss(model, xb, yb, wb, loss)
        if solver == "adam":  # each step is judged before it is taken
            guard.check(float(data_loss.detach()), yb, wb)
        else:  # L-BFGS's line search tries wild points on purpose: judged per iteration, seeded by the first
            guard.seed(float(data_loss.detach()))
        # members: their mean loss plus 1/k of the penalty on all their weights, so each keeps its own alpha
        penalty = sum((p * p).sum() for p in penalized) * (alpha / (2.0 * w_total * target.members))
        return data_loss, data_loss + penalty

    return objective


def _record(
    hist: History, progress: Progress, monitor: Monitor, model: nn.Module, n: int, loss: float, annealing: bool
) -> None:
    """Log epoch n: the curves, the verbose lines and the stopping monitor (validation score)."""
    it = model.integrators()[0]
    tol = max(it.rtol, it.atol)
    hist.loss_curve.append(loss)
    hist.tol_curve.append(tol)
    hist.n_iter = n
    progress.line(f"Iteration {n}, loss = {loss:.8f}" + (f", tol = {tol:.3g}" if annealing else ""))
    score = monitor.update(model, loss)
    if score is not None:
        hist.validation_scores.append(score)
        progress.line(f"Validation score: {score:f}")
    progress.epoch(loss=loss, **({} if score is None else {"val_score": score}))
