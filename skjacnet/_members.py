"""n_members: k networks trained side by side, each early-stopped on its own validation rows, then merged into one.

On small tables the random validation split decides much of an early-stopped fit (the same network scored 0.46 to
0.49 R^2 on diabetes across splits); the mean of k members, each holding out its own rows, averages that away and
every row trains all but ~validation_fraction of the members.  The members are one wide network whose outputs are
member-major (``Constraint.build_members``): the loss sums the members' own losses, so Adam (elementwise) trains them
as independent fits, on the same mini-batches, at about the cost of one.  After training the structure merges them
into one network of its kind that predicts their mean exactly (``Constraint.merge_members``): predict, jacobian and
persistence see an ordinary fitted model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split
from torch import Tensor

from ._training import ValueTarget


AUTO_PATIENCE = 50  # n_iter_no_change='auto' (see its docs)
MEMBERS_PATIENCE = 20  # ... for several members: their mean validation score is much less noisy


def patience(value: int | str, members: int) -> int:
    """n_iter_no_change resolved."""
    if value != "auto":
        return int(value)
    return MEMBERS_PATIENCE if members > 1 else AUTO_PATIENCE


def resolve_members(est, constraint, early: bool, observed_jacobian: bool, continuing: bool) -> int:
    """n_members resolved for this fit: 'auto' is the structure's choice where validation rows are held out."""
    value = getattr(est, "n_members", 1)
    if value == "auto":
        # not with L-BFGS asked for: Adam updates each weight from its own gradient, so the members train as
        # independent fits; L-BFGS's shared line search and curvature would couple them ('auto' members are
        # Adam's: the structure says where, Potential.auto_members)
        auto = early and constraint.members and not observed_jacobian and not continuing and est.solver != "lbfgs"
        return constraint.auto_members(est.n_features_in_) if auto else 1
    k = int(value)
    if k > 1 and not constraint.members:
        raise ValueError(
            f"n_members={k} trains {k} networks and merges them into one, which constraint={constraint.name!r} "
            "cannot do (its networks do not average into one of its kind). Use n_members=1, or "
            "constraint='potential' (constraint='auto' on several features without monotonic_cst)."
        )
    if k > 1 and observed_jacobian:
        raise ValueError(
            f"n_members={k} does not take observed Jacobians (fit(..., jacobian=...)); use n_members=1 there."
        )
    return 1 if continuing else k


def member_splits(n_rows: int, k: int, fraction: float, rng: np.random.RandomState) -> list[np.ndarray]:
    """Each member's validation rows: its own shuffled ``fraction`` of the rows (no stratification)."""
    splits = [train_test_split(np.arange(n_rows), test_size=fraction, random_state=rng)[1] for _ in range(k)]
    if splits[0].size < 2:
        raise ValueError(
            f"The validation set is too small ({splits[0].size} rows of {n_rows} with early_stopping=True). "
            "Increase 'validation_fraction' or the size of your dataset."
        )
    return splits


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
    """The k members' values side by side: the loss is their mean (``loss_curve_`` in one member's units); the
    validation score, R^2 averaged over the columns on their observed rows, is the members' mean score."""

    k: int

    def loss(self, model, xb: Tensor, yb: Tensor, wb: Tensor, kind: str) -> Tensor:
        return super().loss(model, xb, yb, wb, kind) / self.k

    def constant_loss(self, Y: Tensor, w: Tensor, kind: str, centre: Tensor) -> float:
        return super().constant_loss(Y, w, kind, centre) / self.k
