"""One epoch of each solver: Adam's mini-batch steps, or one full-batch L-BFGS iteration.

Each returns an ``EpochFn`` (no arguments -> (the epoch's loss, the solver has converged)) over an
``Objective`` (X, Y, w) -> (data loss, penalised loss); ``skjacnet._training.train`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._lbfgs import LBFGS

EpochFn = Callable[[], tuple[float, bool]]  # one epoch -> (its loss, the solver has converged)
Objective = Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]  # (X, Y, w) -> (data loss, + penalty)
LINE_SEARCH_EVALS = 25  # per L-BFGS iteration, torch's default budget (max_iter=20 -> max_eval=25)


def adam(model: nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam over the model's parameters, updated as one batch of tensors (``foreach``): torch uses per-tensor
    loops on the CPU by default, which made a deep model's step about twice as costly (docs/measurements.md)."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate, foreach=True)


def adam_epochs(
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


def lbfgs_epochs(model: nn.Module, X: Tensor, Y: Tensor, w: Tensor, objective: Objective) -> EpochFn:
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
