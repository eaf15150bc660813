"""The optimisation loop: Adam on mini-batches or full-batch L-BFGS, with
MLPRegressor's stopping rule, early stopping and tolerance annealing.

No scikit-learn here: it takes tensors and a module and returns a history.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ._lbfgs import LBFGS
from ._progress import Progress
from .exceptions import NonFiniteError

LOSSES = ("squared_error", "absolute_error")
SOLVERS = ("adam", "lbfgs")
SCHEDULES = ("constant", "adaptive")  # learning_rate: Adam's schedule (see train)
ADAPTIVE_DIVISOR, ADAPTIVE_MIN_LR = 5.0, 1e-6  # MLPRegressor's 'adaptive' rule (for SGD there)
VALIDATION_CHUNK = 1 << 16  # rows per validation forward pass: bounded memory on any split
ANNEAL_START = 0.1  # the paper's "loose" starting tolerance (standardised units)
Objective = Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]  # (X, Y, w) -> (data loss, + penalty)
EpochFn = Callable[[], tuple[float, bool]]  # one epoch -> (its loss, the solver has converged)
LINE_SEARCH_EVALS = 25  # per L-BFGS iteration, torch's default budget (max_iter=20 -> max_eval=25)
# A training loss this many times the larger of a constant prediction's and the initial network's has
# diverged (healthy fits stay below ~1x; 1e6 let fits that ended at R^2 -35 to -116 through): training
# stops there, restores the best weights seen and says which parameter to change.
EXPLOSION = 1e3


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


@dataclass
class Stopping:
    """MLPRegressor's rule: stop after more than ``n_iter_no_change`` epochs without a ``tol`` improvement."""

    tol: float
    n_iter_no_change: int
    validation: tuple[Tensor, Tensor, Tensor] | None = None  # (X, Y, w) held out: early stopping


def _loss(pred: Tensor, y: Tensor, w: Tensor, kind: str) -> Tensor:
    """Weighted mean over rows of the squared (or Euclidean) error; NaN in y marks an unobserved value."""
    err = pred - y
    missing = torch.isnan(y)  # only y's NaN: a NaN prediction must still reach the divergence guard
    err = torch.where(missing, 0.0, err) if bool(missing.any()) else err
    per_sample = (err * err).sum(-1) if kind == "squared_error" else err.norm(dim=-1)
    return (w * per_sample).sum() / w.sum()


def _nan_mean(Y: Tensor, w: Tensor) -> Tensor:
    """Weighted column means over the observed (non-NaN) entries (0 where a column has none)."""
    seen = ~torch.isnan(Y)
    ww = w.unsqueeze(-1) * seen
    return torch.where(seen, Y, 0.0).mul(ww).sum(0) / ww.sum(0).clamp_min(1e-300)


class ValueTarget:
    """What the network is trained on: the values Y (n, m)."""

    members = 1  # networks trained side by side (skjacnet._members.MemberTarget): the loss is their mean

    def weight_total(self, Y: Tensor, w: Tensor) -> float:
        """The training weight the L2 penalty is divided by (a weight of 2 equals a repeated row)."""
        return float(w.sum())

    def values(self, Y: Tensor) -> Tensor:
        return Y

    def loss(self, model: nn.Module, xb: Tensor, yb: Tensor, wb: Tensor, kind: str) -> Tensor:
        return _loss(model(xb), yb, wb, kind)

    def constant_loss(self, Y: Tensor, w: Tensor, kind: str, centre: Tensor) -> float:
        """The loss of the constant prediction ``centre``: the scale of a bad fit."""
        values = self.values(Y)
        return float(_loss(centre.expand_as(values), values, w, kind))

    def score(self, pred: Tensor, Y: Tensor, w: Tensor) -> float:
        """The validation score of early stopping (higher is better): weighted R^2, as MLPRegressor."""
        return weighted_r2(pred, self.values(Y), w)


@dataclass(frozen=True)
class JacobianTarget(ValueTarget):
    """Values and observed Jacobians packed in one tensor: Y's columns are [values (m), J (m x d, row-major)].

    Packing keeps one target tensor, so mini-batches, the divergence guard and L-BFGS slice it as before.
    The loss adds ``weight`` times the Jacobian error of each row, averaged over its d features (at weight 1
    one target's value and its gradient weigh alike); NaN marks an unobserved value or entry.  The model's
    Jacobian is its own output (``model.jacobian``): no double backpropagation.
    """

    n_targets: int
    n_features: int
    weight: float

    def values(self, Y: Tensor) -> Tensor:
        return Y[:, : self.n_targets]

    def _jacobian_loss(self, J_pred: Tensor, J: Tensor, w: Tensor, kind: str) -> Tensor:
        d = self.n_features
        err = _loss(J_pred.reshape(J.shape[0], -1), J.reshape(J.shape[0], -1), w, kind)
        return err / d if kind == "squared_error" else err / d**0.5

    def loss(self, model, xb, yb, wb, kind):
        if self.weight == 0:
            return super().loss(model, xb, self.values(yb), wb, kind)
        # a network whose values and Jacobian share their forward pass gives both at once (the potential's phi)
        both = getattr(model, "value_and_jacobian", None)
        pred, J_pred = both(xb) if both is not None else (model(xb), model.jacobian(xb))
        J_pred = J_pred[:, : self.n_targets, : self.n_features]
        value_loss = _loss(pred, self.values(yb), wb, kind)
        return value_loss + self.weight * self._jacobian_loss(J_pred, yb[:, self.n_targets :], wb, kind)

    def constant_loss(self, Y, w, kind, centre):
        J = Y[:, self.n_targets :]
        return super().constant_loss(Y, w, kind, centre) + self.weight * float(
            self._jacobian_loss(torch.zeros_like(J), J, w, kind)
        )


@dataclass(frozen=True)
class LogLossTarget(ValueTarget):
    """Classification: Y holds the labels (0/1 in one column for two classes, else one-hot rows) and the
    network's outputs are logits; the loss is the weighted log-loss (cross-entropy), as MLPClassifier."""

    def _per_sample(self, logits: Tensor, Y: Tensor) -> Tensor:
        if Y.shape[1] == 1:
            return nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none")[:, 0]
        return -(Y * torch.log_softmax(logits, dim=-1)).sum(-1)

    curvature: float = 0.0  # one input only: a penalty on the logit's second derivative (JacobianCalibrator)

    def loss(self, model, xb, yb, wb, kind):
        loss = (wb * self._per_sample(model(xb), yb)).sum() / wb.sum()
        if self.curvature == 0:
            return loss
        # f'' by autograd through the network's own derivative f' (model.jacobian): a smoothing spline's
        # penalty, which keeps the logit from running off where a tail holds one class only
        x = xb.detach().requires_grad_(True)
        slope = model.jacobian(x)[:, 0, 0]
        bend = torch.autograd.grad(slope.sum(), x, create_graph=True)[0][:, 0]
        return loss + self.curvature * (wb * bend * bend).sum() / wb.sum()

    def constant_loss(self, Y, w, kind, centre):
        """The log-loss of the class frequencies ``centre`` (the prior): the scale of a bad fit."""
        p = centre.clamp(1e-12, 1 - 1e-12)
        logits = torch.log(p / (1 - p)) if Y.shape[1] == 1 else torch.log(p)
        return float((w * self._per_sample(logits.expand_as(Y), Y)).sum() / w.sum())

    def score(self, pred, Y, w):
        """Weighted accuracy, as MLPClassifier's early stopping."""
        hit = (pred[:, 0] > 0) == (Y[:, 0] > 0.5) if Y.shape[1] == 1 else pred.argmax(-1) == Y.argmax(-1)
        return float((w * hit).sum() / w.sum())


def weighted_r2(pred: Tensor, y: Tensor, w: Tensor) -> float:
    """sklearn's r2_score(y, pred, sample_weight=w): uniform average over outputs, constant y finite."""
    seen = ~torch.isnan(y)  # NaN: an unobserved value (fits with observed Jacobians) scores nothing
    w = w.unsqueeze(-1) * seen
    y = torch.where(seen, y, 0.0)
    num = (w * (y - pred) ** 2).sum(0)
    den = (w * (y - (w * y).sum(0) / w.sum(0).clamp_min(1e-300)) ** 2).sum(0)
    # force_finite: a constant target scores 1 when fitted exactly, else 0
    r2 = torch.where(den > 0, 1 - num / torch.where(den > 0, den, 1.0), (num == 0).to(pred.dtype))
    return float(r2.mean())


class _Tolerance:
    """The tolerances of a network's integrators, annealed together (the paper's schedule)."""

    def __init__(self, integrators: list) -> None:
        self.integrators = integrators
        for it in integrators:
            it.capped = 0  # counted per fit
        self.target = (integrators[0].rtol, integrators[0].atol)  # the fit's rtol, atol: every layer has them

    @property
    def current(self) -> float:
        return max(self.integrators[0].rtol, self.integrators[0].atol)

    @property
    def capped(self) -> int:
        return sum(it.capped for it in self.integrators)

    def set(self, rtol: float, atol: float) -> None:
        for it in self.integrators:
            it.rtol, it.atol = rtol, atol

    def halve(self) -> None:
        it = self.integrators[0]
        self.set(max(self.target[0], it.rtol / 2), max(self.target[1], it.atol / 2))


class _Monitor:
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


def _finite(model: nn.Module, loss: float) -> bool:
    # one check over all weights: per tensor it was 3 small ops each, a tenth of a small L-BFGS iteration
    params = [p.detach().reshape(-1) for p in model.parameters()]
    return math.isfinite(loss) and (not params or bool(torch.cat(params).isfinite().all()))


class _Diverged(Exception):
    """A loss exploded or became non-finite (for Adam, raised before the step is taken)."""

    def __init__(self, loss: float):
        super().__init__(loss)
        self.loss = loss


class _Guard:
    """Divergence test, and the weights to go back to: those at the start of the best epoch.

    A loss has diverged when it is not finite or exceeds ``EXPLOSION`` times the larger of the first
    loss seen (the initial network's) and the loss of a constant prediction on the same rows, so a
    mini-batch of heavy outliers is judged against its own scale.
    """

    def __init__(self, model: nn.Module, Y: Tensor, w: Tensor, kind: str, target: ValueTarget):
        self.model, self.kind, self.target = model, kind, target
        self.centre = _nan_mean(target.values(Y), w)
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
            raise _Diverged(loss)

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

    'adam' takes mini-batch steps; 'lbfgs' one full-batch L-BFGS iteration
    (strong Wolfe line search) per epoch.  ``alpha`` is an L2 penalty on the
    weights, alpha / (2 sum(w)) over the whole training set (integer weights
    then equal repeated samples).  With ``tol_annealing`` the integration
    tolerances start at ``ANNEAL_START`` and halve whenever the training loss
    falls below them, down to the requested rtol/atol (the paper's schedule).
    With ``stopping.validation`` the weights of the best validation epoch are
    restored at the end.  ``schedule`` 'adaptive' (Adam only) is MLPRegressor's rule for SGD: each time the
    stopping rule would stop, the learning rate is divided by 5 and training goes on, until it is 1e-6 or less.
    ``target`` says what Y holds (default: values; :class:`JacobianTarget`: values and observed Jacobians).
    ``optimizer``: an Adam to continue (``partial_fit`` keeps its moments between calls) instead of a fresh one.
    ``label`` names the progress bar (the estimator's fit).
    """
    tolerance = _Tolerance(model.integrators())
    if tol_annealing:
        tolerance.set(max(ANNEAL_START, *tolerance.target), max(ANNEAL_START, *tolerance.target))
    target = target or ValueTarget()
    guard = _Guard(model, Y, w, loss, target)
    objective = _objective(model, guard, target, solver, loss, alpha, target.weight_total(Y, w))
    if solver == "lbfgs":
        epoch_fn = _lbfgs_epochs(model, X, Y, w, objective)
    else:
        optimizer = adam(model, learning_rate) if optimizer is None else optimizer
        epoch_fn = _adam_epochs(model, X, Y, w, objective, batch_size, gen, optimizer)
    monitor = _Monitor(stopping, target)
    adaptive = schedule == "adaptive" and solver == "adam"
    hist = History(validation_scores=[] if monitor.early else None)
    progress = Progress(verbose, max_iter, desc=f"{label} ({solver})")
    model.train()
    try:
        for epoch in range(max_iter):
            outcome = _guarded_epoch(epoch_fn, model, guard)
            if isinstance(outcome, float):  # diverged: the guard restored the best start
                hist.diverged = _divergence_message(outcome, epoch + 1, guard, solver, learning_rate)
                break
            epoch_loss, solver_converged = outcome
            guard.epoch_end(epoch + 1, epoch_loss)
            _record(hist, progress, monitor, model, epoch + 1, epoch_loss, tol_annealing)
            if tol_annealing and epoch_loss < tolerance.current:
                tolerance.halve()
            if monitor.should_stop and adaptive and optimizer.param_groups[0]["lr"] > ADAPTIVE_MIN_LR:
                _cut_learning_rate(optimizer, progress, monitor)
                continue
            if monitor.should_stop or solver_converged:
                progress.final(
                    ("L-BFGS found a vanishing gradient." if solver_converged else monitor.reason()) + " Stopping."
                )
                hist.converged = True
                break
    finally:
        progress.close()
        hist.capped = tolerance.capped
        tolerance.set(*tolerance.target)
        model.eval()  # also after a failure: never left predicting with training-mode integration
    if monitor.early:
        hist.best_validation_score = monitor.best if math.isfinite(monitor.best) else None
        # as MLPRegressor: end with the best validation epoch's weights (not after a divergence: the
        # guard restored the start of the best training epoch, which came before the blow-up)
        if monitor.best_state is not None and hist.diverged is None:
            model.load_state_dict(monitor.best_state)
    else:
        hist.best_loss = monitor.best if math.isfinite(monitor.best) else None
    model.eval()
    return hist


def _cut_learning_rate(optimizer: torch.optim.Optimizer, progress: Progress, monitor: _Monitor) -> None:
    """learning_rate='adaptive': divide the rate by ADAPTIVE_DIVISOR and start the patience count again."""
    for group in optimizer.param_groups:
        group["lr"] /= ADAPTIVE_DIVISOR
    monitor.stall = 0
    progress.line(f"Setting learning rate to {optimizer.param_groups[0]['lr']:f}")


def _objective(
    model: nn.Module, guard: _Guard, target: ValueTarget, solver: str, loss: str, alpha: float, w_total: float
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


def _guarded_epoch(epoch_fn: EpochFn, model: nn.Module, guard: _Guard) -> tuple[float, bool] | float:
    """One epoch: (its loss, converged), or the loss that diverged (weights restored) as a bare float."""
    guard.epoch_start()
    try:
        epoch_loss, solver_converged = epoch_fn()
        guard.check(epoch_loss)
        if not _finite(model, epoch_loss):
            raise _Diverged(math.nan)
    except (_Diverged, NonFiniteError) as exc:  # NonFiniteError: the mesh of diverged weights
        if not guard.started_finite:  # the data or the start is at fault, not the optimisation
            if isinstance(exc, NonFiniteError) and guard.first is None:
                raise
            raise NonFiniteError(
                "Training diverged at iteration 1: the loss of the initial network is not finite. "
                "Keep standardize=True, or rescale y."
            ) from None
        guard.restore()
        return exc.loss if isinstance(exc, _Diverged) else math.nan
    return epoch_loss, solver_converged


def _record(
    hist: History, progress: Progress, monitor: _Monitor, model: nn.Module, n: int, loss: float, annealing: bool
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


def _divergence_message(loss: float, epoch: int, guard: _Guard, solver: str, learning_rate: float) -> str:
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


def adam(model: nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam over the model's parameters, updated as one batch of tensors (``foreach``): torch uses per-tensor
    loops on the CPU by default, and a deep model's step then cost twice as much (4.6 ms against 2.0 ms for a
    four-layer coupling stack of 58 tensors)."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate, foreach=True)


def _adam_epochs(
    model: nn.Module,
    X: Tensor,
    Y: Tensor,
    w: Tensor,
    objective: Objective,
    batch_size: int,
    gen: torch.Generator,
    opt: torch.optim.Optimizer,
) -> EpochFn:
    n = X.shape[0]

    def epoch() -> tuple[float, bool]:
        order = torch.randperm(n, generator=gen).to(X.device) if batch_size < n else None
        total, seen = 0.0, 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size] if order is not None else slice(None)
            xb, yb, wb = X[idx], Y[idx], w[idx]
            opt.zero_grad(set_to_none=True)
            data_loss, objective_value = objective(xb, yb, wb)
            objective_value.backward()
            opt.step()
            batch_w = float(wb.sum())
            total += float(data_loss.detach()) * batch_w
            seen += batch_w
        return total / seen, False

    return epoch


def _lbfgs_epochs(model: nn.Module, X: Tensor, Y: Tensor, w: Tensor, objective: Objective) -> EpochFn:
    # one L-BFGS iteration per call; the optimiser keeps its curvature history between calls.
    # max_eval bounds the line search too (max_ls = max_eval - 1)
    opt = LBFGS(model.parameters(), lr=1.0, max_eval=1 + LINE_SEARCH_EVALS)
    params = opt.params
    first: list[float] = []
    # Each step starts by evaluating the point where the previous line search ended, which that search has
    # just evaluated: the same weights (bit for bit: both are x + t d) and tolerances give the same loss and
    # gradient, so they are reused; this halves the evaluations of a fit (two per iteration -> one).
    last: dict = {}

    def closure() -> Tensor:
        key = [(it.rtol, it.atol) for it in model.integrators()]
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        if last and last["key"] == key and torch.equal(last["flat"], flat):
            for p, g in zip(params, last["grads"]):  # never changed in place: each evaluation makes new ones
                p.grad = g
            first.append(last["data_loss"])
            return last["value"]
        # line-search points can be far apart: refine the training mesh for each (see _training_mesh)
        model.train()
        for p in params:
            p.grad = None
        data_loss, objective_value = objective(X, Y, w)
        objective_value.backward()
        first.append(float(data_loss.detach()))
        grads = [None if p.grad is None else p.grad.detach() for p in params]
        last.update(key=key, flat=flat, grads=grads, data_loss=first[-1], value=objective_value.detach())
        return objective_value

    def epoch() -> tuple[float, bool]:
        first.clear()
        stepped = opt.step(closure)
        return first[0], not stepped  # the loss where the iteration started, as Adam's epoch loss

    return epoch
