"""The inverse of a fitted bijection, shared by the regressors and the calibrator: a first guess, then Newton polish.

``invert_outputs`` reads top to bottom: the range check (no X maps beyond what the fitted map can compute), the
solve batch by batch (an adaptive ODE's failure bisected down to the rows it fails on alone), the preimages'
overflow check, the convergence report.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array

from . import _warn
from .exceptions import NonFiniteError
from .integrate.newton import newton_solve


class square_fits_only:
    """A method that exists before fit and after a square fit (``hasattr`` is False otherwise).

    Like sklearn's ``available_if``, but the AttributeError says why the method is missing.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, est, owner=None):
        if est is None:
            return self.fn
        if hasattr(est, "model_") and est.n_features_in_ != est.n_targets_:
            d, m = est.n_features_in_, est.n_targets_
            kind = "an injection (not onto R^m)" if m > d else "a submersion (many inputs share each output)"
            raise AttributeError(
                f"This {type(est).__name__} has no {self.fn.__name__}: it was fitted on {d} feature(s) and {m} "
                f"target(s), so the map is {kind}, not a bijection. Fit as many targets as features for an inverse."
            )
        return types.MethodType(self.fn, est)


def check_outputs(est, Y) -> np.ndarray:
    """Y validated as outputs of the fitted map: float64, shape (n_samples, n_targets_) (a 1-D Y for one target)."""
    if np.ndim(Y) == 0:
        raise ValueError(
            f"Y must be an array of shape (n_samples,) or (n_samples, {est.n_targets_}), got the scalar {Y!r}; "
            "pass [y] (or [[...]] for several targets)."
        )
    Y = check_array(Y, dtype=np.float64, ensure_2d=False, input_name="Y")
    if Y.ndim == 1:
        if est.n_targets_ != 1:
            raise ValueError(f"Y is 1-D but the model has {est.n_targets_} targets; pass shape (n, {est.n_targets_}).")
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2 or Y.shape[1] != est.n_targets_:
        raise ValueError(
            f"Y has {Y.shape[1] if Y.ndim == 2 else Y.shape} columns but the model has {est.n_targets_} targets."
        )
    return Y


def rows(mask: np.ndarray) -> str:
    """'rows [3, 7] (of 10)': the rows a message is about (the first 20), by index into the caller's Y."""
    idx = np.flatnonzero(mask)
    listed = ", ".join(str(int(i)) for i in idx[:20]) + (f", ... {idx.size - 20} more" if idx.size > 20 else "")
    return f"{'row' if idx.size == 1 else 'rows'} [{listed}] (of {mask.size})"


def invert_outputs(est, Y: np.ndarray, inverse_method: str, name: str) -> np.ndarray:
    """The X with ``est._predict_values(X) == Y`` for a fitted bijection: a first guess, then Newton polish.

    Never passes off a wrong x: rows whose Y lies beyond what the fitted map can compute in its dtype, or
    whose x is not representable, raise a ``NonFiniteError`` (as ``predict`` does for a non-finite
    prediction); rows the polish leaves above its tolerance are named in a ``ConvergenceWarning``.
    """
    dtype = est.model_.x0.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        Ys = (Y - est._y_mean) / est._y_scale
    _check_reachable(est, Ys, dtype, name)
    inversion = _Inversion(est.model_, inverse_method)
    Xs = est._transform_rows(Ys, inversion)
    _check_integrated(inversion.failed, Y.shape[0], name)
    with np.errstate(over="ignore", invalid="ignore"):
        X = est._x_mean + est._x_scale * Xs
    _check_representable(X, dtype, name)
    _report_unconverged(inversion.done, name)
    return X


def _check_reachable(est, Ys: np.ndarray, dtype: torch.dtype, name: str) -> None:
    """Refuse the rows of standardised outputs Ys beyond the largest value the fitted map computes in its dtype."""
    largest = torch.finfo(dtype).max
    # predict returns y_mean + y_scale * f with f a finite value of the model's dtype: nothing else is reached
    beyond = ~np.all(np.abs(Ys) <= largest, axis=1)
    if beyond.any():
        reach = np.abs(est._y_mean) + est._y_scale * largest
        fix = (
            "fit with dtype='float64'"
            if dtype != torch.float64
            else "fit on rescaled targets (y divided by a large constant) to reach them"
        )
        raise NonFiniteError(
            f"{name}: {rows(beyond)} of the input are beyond the largest value the fitted map can compute in "
            f"{_dtype_name(dtype)} (about {np.array2string(reach, precision=2)} per target): no X maps there, the "
            f"answer is not representable. Pass values within that range, or {fix}."
        )


class _Inversion:
    """The solve of one call, batch by batch as ``_transform_rows`` hands them over: the points, and a record.

    ``done`` holds each batch's converged mask, ``failed`` the rows (of the whole call) an adaptive ODE could
    not integrate to, even alone.
    """

    def __init__(self, model, inverse_method: str):
        self.model, self.inverse_method = model, inverse_method
        self.solve = getattr(model, "solve_jacobian", None)  # structured J^-1 r where the model has one
        self.independent = all(it.rows_independent for it in model.integrators())
        self.done: list[np.ndarray] = []
        self.failed: list[int] = []
        self.offset = 0

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        rows = np.arange(self.offset, self.offset + y.shape[0])
        self.offset += y.shape[0]
        x, ok = self.solve_rows(y, rows)
        self.done.append(ok.cpu().numpy())
        return x

    def solve_rows(self, y: torch.Tensor, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The points of rows ``rows`` (standardised outputs y) and whether each converged."""
        model = self.model
        try:
            x = model.inverse(y, self.inverse_method)
            return newton_solve(model, model.jacobian, x, y, solve=self.solve, rows_independent=self.independent)
        except RuntimeError as exc:
            # an adaptive ODE solves the whole batch at once: its failure (a step underflow far out) names
            # no row, so the batch is halved until the rows it fails on alone are found
            if self.independent or not str(exc).startswith("The ODE solver"):
                raise
            if rows.size == 1:
                self.failed.append(int(rows[0]))
                return torch.full_like(y, torch.nan), torch.zeros(1, dtype=torch.bool)
            h = rows.size // 2
            (xa, da), (xb, db) = self.solve_rows(y[:h], rows[:h]), self.solve_rows(y[h:], rows[h:])
            return torch.cat([xa, xb]), torch.cat([da, db])


def _check_integrated(failed: list[int], n_rows: int, name: str) -> None:
    """Refuse the rows an adaptive ODE solver failed on even alone."""
    if failed:
        mask = np.zeros(n_rows, dtype=bool)
        mask[failed] = True
        raise NonFiniteError(
            f"{name}: for {rows(mask)} the adaptive ODE solver failed even on each row alone: their "
            "preimages lie beyond what it can integrate to (its step underflows). Pass values nearer the "
            "training targets, or fit with method='quadrature', which inverts every value the map reaches."
        )


def _check_representable(X: np.ndarray, dtype: torch.dtype, name: str) -> None:
    """Refuse the rows whose preimage X (in the units of X) overflowed."""
    finite = np.all(np.isfinite(X), axis=1)
    if not finite.all():
        fix = ", or fit with dtype='float64'" if dtype != torch.float64 else ""
        raise NonFiniteError(
            f"{name}: for {rows(~finite)} the preimage X overflows (not representable in {_dtype_name(dtype)} or "
            f"in the units of X): the map grows too slowly there. Pass values nearer the training targets{fix}."
        )


def _report_unconverged(done: list[np.ndarray], name: str) -> None:
    """Warn, naming them, about the rows the Newton polish left above its tolerance."""
    unsolved = ~np.concatenate(done) if done else np.zeros(0, dtype=bool)
    if unsolved.any():
        _warn.warn(
            f"Newton polish of {name} did not converge for {rows(unsolved)}: their X are the best found, and "
            "predict(X) differs from the input there by more than rounding. Check those rows (far beyond the "
            "training targets the map may not be solvable in this dtype), or refit with more iterations.",
            ConvergenceWarning,
        )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
