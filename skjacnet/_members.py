"""n_members: k networks trained side by side, each scored on its own validation rows, then merged into one.

On small tables the random validation split decides much of an early-stopped fit (measured: docs/measurements.md,
"The members"); the mean of k members, each holding out its own rows, averages that away and
every row trains all but ~validation_fraction of the members.  The members are one wide network whose outputs are
member-major (``Constraint.build_members``): the objective is the mean of the members' own objectives, so Adam
(elementwise, invariant to that 1/k) trains them as independent fits (ridge sums: up to their shared training mesh's
interpolation error), on the same mini-batches, at about the cost of
one; they stop together, at the epoch where their mean validation R^2 was best.  The scaling (x and y means and
spreads) comes from all rows, the held-out ones included, as the members share it.  After training the structure
merges them into one network of its kind that predicts their mean exactly (``Constraint.merge_members``): predict,
jacobian and persistence see an ordinary fitted model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import Tensor

from ._targets import ValueTarget

AUTO_PATIENCE = 50  # n_iter_no_change='auto' (see its docs)
MEMBERS_PATIENCE = 20  # ... for several members: their mean validation score is much less noisy
MLP_PATIENCE = 10  # MLPRegressor's n_iter_no_change: the least patience on the training loss


def patience(value: int | str, members: int, *, early: bool, steps_per_epoch: int) -> int:
    """n_iter_no_change resolved: epochs of patience.

    On the validation score, 50 epochs (20 for several members). On the training loss (no early stopping), 50
    optimiser steps (``steps_per_epoch`` is 1 except for large fits, whose batch grew), but never fewer than
    MLPRegressor's 10 epochs: the loss of an epoch of many steps is an average, as smooth as MLPRegressor's, and
    50 epochs of it on a large training set ran 4x past the convergence (measured: docs/measurements.md, "Cost
    at scale").
    """
    if value != "auto":
        return int(value)
    if early:
        return MEMBERS_PATIENCE if members > 1 else AUTO_PATIENCE
    return max(MLP_PATIENCE, math.ceil(AUTO_PATIENCE / steps_per_epoch))


def resolve_members(est, constraint, n_features: int, early: bool, observed_jacobian: bool, partial: bool) -> int:
    """n_members resolved for this fit: 'auto' is the structure's choice where validation rows are held out."""
    value = getattr(est, "n_members", 1)
    if value == "auto":
        # not with L-BFGS asked for: Adam updates each weight from its own gradient, so the members train as
        # independent fits; L-BFGS's shared line search and curvature would couple them ('auto' members are
        # Adam's: the structure says where, Constraint.auto_members)
        auto = early and not observed_jacobian and not partial and est.solver != "lbfgs"
        auto = auto and constraint.takes_members(n_features, est.n_layers)
        return constraint.auto_members(n_features, est.n_layers, est.method) if auto else 1
    k = int(value)
    if k > 1 and not constraint.takes_members(n_features, est.n_layers):
        raise ValueError(
            f"n_members={k} trains {k} networks and merges them into one, which {constraint.describe(est.n_layers)} "
            f"cannot do (its networks do not average into one of its kind). Use n_members=1"
            f"{constraint.members_alternative}."
        )
    if k > 1 and observed_jacobian:
        raise ValueError(
            f"n_members={k} does not take observed Jacobians (fit(..., jacobian=...)); use n_members=1 there."
        )
    return 1 if partial else k


def member_splits(n_rows: int, k: int, fraction: float, rng: np.random.RandomState) -> list[np.ndarray]:
    """Each member's validation rows: its own shuffled ``fraction`` of the rows (no stratification)."""
    splits = [train_test_split(np.arange(n_rows), test_size=fraction, random_state=rng)[1] for _ in range(k)]
    check_validation_size(splits[0].size, n_rows)
    return splits


def check_validation_size(n_val: int, n_rows: int) -> None:
    """Early stopping needs at least 2 held-out rows (one split, or each member's)."""
    if n_val < 2:
        raise ValueError(
            f"The validation set is too small ({n_val} rows of {n_rows} with early_stopping=True). "
            "Increase 'validation_fraction' or the size of your dataset."
        )


def replicate(Y: np.ndarray, splits: list[np.ndarray] | None, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Member-major copies of Y (n, m): for training (NaN on each member's validation rows: unobserved) and for
    validation (NaN everywhere else), or None without early stopping."""
    train = np.tile(Y, (1, k))
    if splits is None:
        return train, None
    m = Y.shape[1]
    val = np.full_like(train, np.nan)
    for i, rows in enumerate(splits):
        block = slice(i * m, (i + 1) * m)
        val[rows, block] = Y[rows]
        train[rows, block] = np.nan
    return train, val


@dataclass(frozen=True)
class MemberTarget(ValueTarget):
    """The members' values side by side (member-major, NaN where a member does not train).

    The loss is the mean of the members' own losses, each a weighted mean over the rows it trains on (as one
    fit on those rows), and the training objective adds 1/k of the weight penalty (``_objective``): k times one
    member's objective summed, so Adam, invariant to that scale, trains each as its own fit.  The validation
    score (R^2 averaged over the columns on their observed rows) is the members' mean score.
    """

    members: int

    def loss(self, model, xb: Tensor, yb: Tensor, wb: Tensor, kind: str) -> Tensor:
        pred = model(xb)
        n, k = xb.shape[0], self.members
        seen = ~torch.isnan(yb)
        err = torch.where(seen, pred - torch.where(seen, yb, 0.0), 0.0).reshape(n, k, -1)
        per_sample = (err * err).sum(-1) if kind == "squared_error" else err.norm(dim=-1)  # (n, k)
        rows = seen.reshape(n, k, -1).any(-1).to(wb.dtype) * wb.unsqueeze(-1)  # each member's rows and weights
        return ((per_sample * rows).sum(0) / rows.sum(0).clamp_min(1e-300)).mean()

    def constant_loss(self, Y: Tensor, w: Tensor, kind: str, centre: Tensor) -> float:
        return super().constant_loss(Y, w, kind, centre) / self.members

    def weight_total(self, Y: Tensor, w: Tensor) -> float:
        """The mean of the members' training weights: each member's penalty is then alpha / (2 W) on its own
        weights, as a fit on its training rows (exactly so when their held-out rows weigh alike)."""
        n, k = Y.shape[0], self.members
        rows = (~torch.isnan(Y)).reshape(n, k, -1).any(-1).to(w.dtype)
        return float((rows * w.unsqueeze(-1)).sum(0).mean())
