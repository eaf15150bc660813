"""The optimisation loop: Adam on mini-batches, optional tolerance annealing.

No scikit-learn here: it takes tensors and a module and returns a history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .exceptions import NonFiniteError

LOSSES = ("squared_error", "absolute_error")
ANNEAL_START = 0.1  # the paper's "loose" starting tolerance (standardised units)


@dataclass
class History:
    loss_curve: list[float] = field(default_factory=list)
    tol_curve: list[float] = field(default_factory=list)
    n_iter: int = 0


def _loss(pred: Tensor, y: Tensor, w: Tensor, kind: str) -> Tensor:
    err = pred - y
    per_sample = (err * err).sum(-1) if kind == "squared_error" else err.norm(dim=-1)
    return (w * per_sample).sum() / w.sum()


def train(
    model: nn.Module,
    X: Tensor,
    Y: Tensor,
    w: Tensor,
    *,
    max_iter: int,
    learning_rate: float,
    batch_size: int,
    alpha: float,
    loss: str,
    gen: torch.Generator,
    tol_annealing: bool,
    verbose: bool,
) -> History:
    """Fit ``model`` to (X, Y) with sample weights w; one iteration = one epoch.

    ``alpha`` is an L2 penalty on the weights, alpha / (2 sum(w)) over the
    whole training set (integer weights then equal repeated samples).  With ``tol_annealing`` the integration
    tolerances start at ``ANNEAL_START`` and halve whenever the training loss
    falls below them, down to the requested rtol/atol (the paper's schedule).
    """
    it = model.integration
    target_rtol, target_atol = it.rtol, it.atol
    if tol_annealing:
        it.rtol = it.atol = max(ANNEAL_START, target_rtol, target_atol)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    penalized = [p for name, p in model.named_parameters() if "weights" in name or name.endswith("_raw")]
    n = X.shape[0]
    w_total = float(w.sum())  # weight 2 must equal a repeated sample, so Σw, not n
    hist = History()
    model.train()
    for epoch in range(max_iter):
        order = torch.randperm(n, generator=gen).to(X.device) if batch_size < n else None
        total, seen = 0.0, 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size] if order is not None else slice(None)
            xb, yb, wb = X[idx], Y[idx], w[idx]
            opt.zero_grad(set_to_none=True)
            data_loss = _loss(model(xb), yb, wb, loss)
            penalty = sum((p * p).sum() for p in penalized) * (alpha / (2.0 * w_total))
            (data_loss + penalty).backward()
            opt.step()
            batch_w = float(wb.sum())
            total += float(data_loss.detach()) * batch_w
            seen += batch_w
        epoch_loss = total / seen
        if not torch.isfinite(torch.tensor(epoch_loss)) or not all(torch.isfinite(p).all() for p in model.parameters()):
            raise NonFiniteError(
                f"Training diverged at iteration {epoch + 1} (non-finite loss or weights). "
                "Try a smaller learning_rate_init or a larger alpha."
            )
        hist.loss_curve.append(epoch_loss)
        hist.tol_curve.append(max(it.rtol, it.atol))
        hist.n_iter = epoch + 1
        if verbose:
            msg = f"Iteration {epoch + 1}, loss = {epoch_loss:.8f}"
            print(msg + (f", tol = {max(it.rtol, it.atol):.3g}" if tol_annealing else ""))
        if tol_annealing and epoch_loss < max(it.rtol, it.atol):
            it.rtol = max(target_rtol, it.rtol / 2)
            it.atol = max(target_atol, it.atol / 2)
    it.rtol, it.atol = target_rtol, target_atol
    model.eval()
    return hist
