"""fit, step two: every 'auto' and every parameter check of one fit, resolved once, in one order.

``resolve`` reads the estimator's parameters, the validated data and the previous fit (a warm start, the state
``partial_fit`` carries) and returns a frozen ``FitRun``: the plan of the network (``_plan.plan_fit``), the rows it
trains on and the ones it holds out, the members, whether alpha comes from the noise, and the training settings
(solver, batch, epochs, tolerance, schedule, patience, alpha).  It writes nothing, so the steps after it (build,
train, publish) only carry it out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._checks import check_ode_tolerances, check_path_options, check_shapes, structure_of
from ._members import member_splits, patience, resolve_members
from ._plan import FitPlan, batch_size, large_fit, learning_rate, max_iter, plan_fit, plan_spec, tol, train_dtype
from ._runtime import resolve_device


@dataclass(frozen=True)
class FitRun:
    """One fit, resolved: what to build, which rows train it, and how."""

    plan: FitPlan
    X: np.ndarray  # the training rows (after the validation split)
    Y: np.ndarray
    w: np.ndarray
    J: np.ndarray | None
    held_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # one network's validation rows (X, Y, w)
    splits: list[np.ndarray] | None  # each member's validation rows (n_members > 1 with early stopping)
    members: int
    noise: bool  # alpha='auto' set from the noise (a pilot fit, or neighbour differences)
    alpha: float  # before any pilot fit
    partial: bool
    device: torch.device
    rng: np.random.RandomState  # what is left of random_state's stream (the anchors draw from it)
    gen: torch.Generator  # initial weights and shuffles
    batch: int
    epochs: int
    tol: float
    schedule: str
    patience: int
    train_scale: float  # the training mesh's tolerances over rtol, atol (the fitted model's are rtol, atol)
    train_dtype: torch.dtype  # the network's dtype while it trains (cast to the model's before it is frozen)


def resolve(est, X, Y, w, J, *, warm: bool, partial: bool) -> FitRun:
    """Resolve this fit of ``est`` on validated data; raises the first parameter error, writes nothing.

    The random stream is drawn in a fixed order (the weights' generator first, then the validation split), so
    fits without early stopping do not depend on the split's draws.
    """
    n_rows = X.shape[0]  # before the validation split: 'auto' looks at the data given
    device = resolve_device(est.device)
    rng = check_random_state(est.random_state)
    gen = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
    continues = warm and _continues(est, X.shape[1], Y.shape[1])
    noise = est._noise_alpha(X, Y, w, J, continues, partial)
    early = not partial and est._early_stopping_on(n_rows, J is not None, noise)
    structure = structure_of(est, X.shape[1])
    members = resolve_members(est, structure, X.shape[1], early, J is not None, partial)
    if members > 1 and continues:
        members = 1  # a warm start continues the fitted (merged) network as one; a rebuild trains members
    splits = member_splits(n_rows, members, est.validation_fraction, rng) if early and members > 1 else None
    held_out = None
    if early and members == 1:
        X, Y, w, J, held_out = est._validation_split(X, Y, w, J, rng)
    check_shapes(est, X.shape[1], Y.shape[1])
    check_ode_tolerances(est)
    check_path_options(est, X.shape[1], Y.shape[1])
    plan = plan_fit(est, X, Y, w, warm=warm, n_rows=n_rows, J=J)
    if partial:
        plan, gen = _continue(est, plan, gen)
    spec = plan.spec
    batch = batch_size(est, spec, X.shape[0])
    # patience on the training loss counted in optimiser steps where the batch grew (else 50 epochs, as before)
    steps = -(-X.shape[0] // batch) if plan.solver == "adam" and large_fit(est, X.shape[0]) else 1
    members_scored = members if splits is not None else 1
    fresh, values_only = not (plan.warm or partial), J is None and members == 1
    return FitRun(
        plan=plan, X=X, Y=Y, w=w, J=J, held_out=held_out, splits=splits, members=members, noise=noise,
        alpha=est._alpha(warm=plan.warm or partial), partial=partial, device=device, rng=rng, gen=gen,
        batch=batch, epochs=max_iter(est, spec, plan.solver),
        tol=tol(est, spec, plan.solver), schedule=learning_rate(est, spec),
        patience=patience(est.n_iter_no_change, members_scored, early=early, steps_per_epoch=steps),
        # tol_annealing is the user's own training schedule, down to rtol, atol themselves
        train_scale=1.0 if est.tol_annealing else spec.constraint.train_tolerance_scale(spec),
        train_dtype=train_dtype(est, spec, plan.solver, X.shape[0], fresh=fresh, values_only=values_only),
    )  # fmt: skip


def _continues(est, n_in: int, n_out: int) -> bool:
    """Whether a warm start trains the previous network on: the spec its parameters give, in the previous fit's
    units, is the saved one (``_plan.plan_fit``'s test, without planning the rest)."""
    try:
        return plan_spec(est, n_in, n_out, est._scaling) == getattr(est, "_spec", None)
    except ValueError:  # a bad parameter or shape: the checks below report it, in their order
        return False


def _continue(est, plan: FitPlan, gen: torch.Generator) -> tuple[FitPlan, torch.Generator]:
    """partial_fit: Adam on the same network, its shuffles continuing from the previous call's."""
    if plan.restarted:
        raise ValueError(
            f"partial_fit continues the fitted network, but {', '.join(plan.restarted)} changed since it "
            "was built; call fit to start afresh with the new parameters."
        )
    state = est.__dict__.get("_partial")
    if state is not None and state.model is est.model_:
        gen = state.gen
    return replace(plan, solver="adam"), gen
