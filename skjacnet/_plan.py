"""fit, step one: a frozen plan of what to build and how to train it, computed without touching the estimator.

The plan holds the model's ``ModelSpec`` (everything that shapes the fitted function), the scaling, the
orientation signs of a fresh network and the solver.  A warm start continues the previous network only
when the spec the current parameters give equals the one it was built from; any difference (a constraint,
a bound, a sign, a width, a precision, a scaling option) makes the fit start afresh, so ``guarantee_``
always describes the network that ``predict`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ._build import DTYPES, ModelSpec, auto_orientation
from ._checks import check_depth, check_hidden, check_initial_point, check_orientation, feature_csts
from .constraints import REGISTRY


@dataclass(frozen=True)
class Scaling:
    """Standardisation: the network sees (X - x_mean) / x_scale and predicts (y - y_mean) / y_scale."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray


@dataclass(frozen=True)
class FitPlan:
    spec: ModelSpec
    scaling: Scaling
    warm: bool  # continue the previous network
    restarted: tuple[str, ...]  # parameters whose change made warm_start=True start afresh
    signs: np.ndarray | None  # orientation S of a fresh network (None: it has none, or warm)
    solver: str


def _weighted_moments(
    A: np.ndarray, w: np.ndarray, isotropic: bool, fallback: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted column means and standard deviations; NaN entries (unobserved values) are left out.

    ``fallback``: per-column scales for the columns whose spread is degenerate (one observed value, or none
    apart): the spread the observed Jacobians imply (fits from derivatives).
    """
    seen = ~np.isnan(A)
    if seen.all():
        mean = np.average(A, axis=0, weights=w)
        # std as peak * rms(centred / peak): no overflow for values near the float64 limit
        peak = np.max(np.abs(A - mean), axis=0)
        safe = np.where(peak > 0, peak, 1.0)
        scale = safe * np.sqrt(np.average(((A - mean) / safe) ** 2, axis=0, weights=w))
    else:  # the same over each column's observed entries
        ww = w[:, None] * seen
        total = np.maximum(ww.sum(0), 1e-300)
        A = np.where(seen, A, 0.0)
        mean = (ww * A).sum(0) / total
        peak = np.max(np.abs(A - mean) * seen, axis=0)
        safe = np.where(peak > 0, peak, 1.0)
        scale = safe * np.sqrt((ww * ((A - mean) / safe) ** 2).sum(0) / total)
    if fallback is not None:
        scale = np.where(scale > 1e-12 * (1.0 + np.abs(mean)), scale, fallback)
    if isotropic:
        # one scale for all columns keeps Euclidean norms (Lipschitz); the degenerate-spread
        # test must apply to the pooled scale once, or columns would end up scaled differently
        top = scale.max()
        pooled = np.sqrt(np.mean((scale / top) ** 2)) * top if top > 0 else 0.0
        degenerate = not pooled > 1e-12 * (1.0 + np.abs(mean).max())
        return mean, np.full_like(scale, 1.0 if degenerate else pooled)
    scale[~(scale > 1e-12 * (1.0 + np.abs(mean)))] = 1.0
    return mean, scale


def _jacobian_spread(J: np.ndarray, w: np.ndarray, x_scale: np.ndarray) -> np.ndarray:
    """Per target, the RMS change of y over one standard deviation of each feature: sqrt(mean (J s_x)^2)."""
    D = (J * x_scale[None, None, :]) ** 2
    seen = ~np.isnan(D)
    ww = w[:, None, None] * seen
    ms = (ww * np.where(seen, D, 0.0)).sum((0, 2)) / np.maximum(ww.sum((0, 2)), 1e-300)
    rms = np.sqrt(ms)
    return np.where(rms > 0, rms, 1.0)


def plan_scaling(est, X: np.ndarray, Y: np.ndarray, w: np.ndarray, J: np.ndarray | None = None) -> Scaling:
    """Shift X to the initial point and y to its mean; scale both unless standardize=False."""
    # one scale for all columns keeps Euclidean norms (Lipschitz) and complex linearity (re, im pairs)
    isotropic = REGISTRY[est._structure()].isotropic
    x_mean, x_scale = _weighted_moments(X, w, isotropic=isotropic)
    fallback = None if J is None else _jacobian_spread(J, w, x_scale)
    if est._standardize_targets:
        y_mean, y_scale = _weighted_moments(Y, w, isotropic=isotropic, fallback=fallback)
    else:  # logits: the network's outputs are the model's, unshifted and unscaled
        y_mean, y_scale = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
    if not isinstance(est.initial_point, str):  # the shift of X is the initial point x0
        x_mean = check_initial_point(est, X.shape[1])
    if not est.standardize:
        x_scale, y_scale = np.ones_like(x_scale), np.ones_like(y_scale)
    return Scaling(x_mean, x_scale, y_mean, y_scale)


def _epsilon(value, constraint) -> float:
    """epsilon='auto' resolved: the structure's own floor (``Constraint.auto_epsilon``)."""
    return float(constraint.auto_epsilon if isinstance(value, str) else value)


def plan_spec(est, n_in: int, n_out: int, scaling: Scaling) -> ModelSpec:
    """The spec the estimator's current parameters give for these shapes and scales."""
    k = est._lipschitz_k()
    csts = {option: None if c is None else tuple(float(v) for v in c) for option, c in feature_csts(est, n_in).items()}
    point = est.initial_point
    spec = ModelSpec(
        structure=est._structure(),
        n_in=n_in,
        n_out=n_out,
        hidden=check_hidden(est),
        activation=est._resolved_activation(),
        epsilon=None,  # resolved below, by the structure ('auto')
        k_std=None if k is None else k * float(scaling.x_scale[0] / scaling.y_scale[0]),
        n_ridges=est.n_ridges,
        **csts,
        dtype=DTYPES[est.dtype],
        lipschitz_constant=k,
        standardize=bool(est.standardize),
        initial_point=point if isinstance(point, str) else tuple(np.atleast_1d(np.asarray(point, float)).tolist()),
        n_anchors=int(getattr(est, "n_anchors", 1)),
        n_layers=check_depth(est, n_in, n_out),
        least_squares_start=bool(est._least_squares_start),
    )
    if est.activation == "auto":
        spec = replace(spec, activation=spec.constraint.activation_for(spec))
    positive_map = getattr(est, "positive_map", "square")  # the calibrator keeps the paper's h**2 + eps
    # options this structure does not use are blanked, so that changing them never rebuilds a warm start
    c = spec.constraint
    spec = replace(
        spec,
        epsilon=_epsilon(getattr(est, "epsilon", "auto"), c) if c.uses_epsilon else None,
        n_ridges=spec.n_ridges if c.uses_ridges(spec) else None,
        n_anchors=spec.n_anchors if c.path_dependent and n_in > 1 else 1,  # a per-feature structure is not
        positive_map=(c.auto_positive_map(spec) if positive_map == "auto" else positive_map)
        if c.uses_positive_map
        else None,
    )
    size = spec.orientation_size
    option = "auto" if size is None else check_orientation(est, size, n_out)
    return replace(spec, orientation=option if isinstance(option, str) else tuple(option.tolist()))


LARGE_FIT_ROWS = 10_000  # beyond this many training rows batch_size='auto' grows with n (early stopping's limit)
AUTO_STEPS_PER_EPOCH = 50  # ... to n / 50 rows
AUTO_MAX_BATCH = 4096  # ... up to this many


def auto_solver(est, spec: ModelSpec, n_rows: int) -> str:
    """The solver: the user's, Adam for mini-batches, else the structure's choice (``Constraint.auto_solver``)."""
    if est.solver != "auto":
        return est.solver
    if est.batch_size != "auto":  # mini-batches asked for: L-BFGS would ignore them
        return "adam"
    return spec.constraint.auto_solver(spec, n_rows)


def large_fit(est, n_train: int) -> bool:
    """Whether the 'auto' batch grows with n: more than LARGE_FIT_ROWS training rows and batch_size='auto'."""
    return est.batch_size == "auto" and n_train > LARGE_FIT_ROWS


def batch_size(est, spec: ModelSpec, n_train: int) -> int:
    """Adam's mini-batch on ``n_train`` rows: the user's (at most n_train), else the structure's choice, grown on
    large training sets to hold at most AUTO_STEPS_PER_EPOCH steps an epoch (up to AUTO_MAX_BATCH rows)."""
    if est.batch_size != "auto":
        return min(int(est.batch_size), n_train)
    own = spec.constraint.auto_batch_size(spec, n_train)
    if not large_fit(est, n_train):
        return own
    # a step's cost is mostly fixed overhead (Python, autograd, the optimiser) below a few thousand rows: a batch
    # that grows with n keeps the rows seen per second up where 200 rows a step would take n / 200 steps an epoch
    # (measured: docs/measurements.md, "Cost at scale")
    return max(own, min(AUTO_MAX_BATCH, n_train // AUTO_STEPS_PER_EPOCH))


def train_dtype(est, spec: ModelSpec, solver: str, n_train: int, *, fresh: bool, values_only: bool) -> torch.dtype:
    """The dtype training runs in: the model's, or float32 for a fresh float64 Adam fit of one network to values
    whose 'auto' batch grew with n (``large_fit``) where the structure allows it (``Constraint.trains_in_float32``);
    the network is cast back to the model's dtype before it is frozen."""
    large = large_fit(est, n_train) and solver == "adam"
    if fresh and values_only and large and spec.dtype == torch.float64 and spec.constraint.trains_in_float32:
        return torch.float32
    return spec.dtype


def max_iter(est, spec: ModelSpec, solver: str) -> int:
    """The epoch (L-BFGS iteration) cap: the user's, else the structure's for this solver (``auto_max_iter``)."""
    return spec.constraint.auto_max_iter(spec, solver) if est.max_iter == "auto" else int(est.max_iter)


def tol(est, spec: ModelSpec, solver: str) -> float:
    """The stopping rule's tolerance: the user's, else the structure's for this solver (``auto_tol``)."""
    return spec.constraint.auto_tol(spec, solver) if est.tol == "auto" else float(est.tol)


def learning_rate(est, spec: ModelSpec) -> str:
    """Adam's schedule, 'constant' or 'adaptive': the user's, else the structure's (``auto_learning_rate``)."""
    return spec.constraint.auto_learning_rate(spec) if est.learning_rate == "auto" else est.learning_rate


def plan_fit(
    est, X: np.ndarray, Y: np.ndarray, w: np.ndarray, *, warm: bool, n_rows: int, J: np.ndarray | None = None
) -> FitPlan:
    """What this fit builds (or continues) and how it trains; reads the estimator, writes nothing.

    ``warm``: warm_start is on and there is a previous network (of the same feature and target
    counts, checked before).  It is continued only if its saved spec equals the new one, computed in
    the previous fit's units (a warm start keeps them); otherwise the fit starts afresh and
    ``restarted`` names the parameters that changed.
    """
    n_in, n_out = X.shape[1], Y.shape[1]
    restarted: tuple[str, ...] = ()
    if warm:
        kept = est._scaling
        spec = plan_spec(est, n_in, n_out, kept)
        previous = getattr(est, "_spec", None)
        if spec == previous:
            return FitPlan(spec, kept, True, (), None, auto_solver(est, spec, n_rows))
        # a network saved before specs existed cannot be compared: start afresh as well
        restarted = tuple(spec.changes(previous)) if previous is not None else ("a state saved by an older version",)
    scaling = plan_scaling(est, X, Y, w, J)
    spec = plan_spec(est, n_in, n_out, scaling)
    signs = None
    if spec.orientation_size is not None:
        if spec.orientation == "auto":
            Xs = (X - scaling.x_mean) / scaling.x_scale
            Ys = (Y - scaling.y_mean) / scaling.y_scale
            Js = None if J is None else J * scaling.x_scale[None, None, :] / scaling.y_scale[None, :, None]
            signs = auto_orientation(Xs, Ys, w, spec.orientation_size, Js)
        else:
            signs = np.asarray(spec.orientation, dtype=np.float64)
    return FitPlan(spec, scaling, False, restarted, signs, auto_solver(est, spec, n_rows))
