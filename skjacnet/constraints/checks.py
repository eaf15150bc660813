"""The empirical checks of a certificate, on points drawn from data: each structure names the one it runs.

A check sees the fitted model only through a ``Probe`` (its predictions and exact Jacobian in the units of X and y,
and the unit roundoff they are computed in), so it runs on arrays and knows nothing of estimators.  Every check
returns ``pairs``, ``property``, ``bound``, ``worst_ratio`` and ``holds``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Probe:
    """What a check may ask of a fitted model."""

    predict: Callable[[np.ndarray], np.ndarray]  # (n, d) -> (n, m), in the units of y
    jacobian: Callable[[np.ndarray], np.ndarray]  # (n, d) -> (n, m, d), the exact Jacobian of predict
    eps: float  # unit roundoff of the precision predict computes in
    x_scale: np.ndarray  # the spread the model standardises X by (a finite-difference step's unit)
    # (n, d) -> (n, m): the size of the terms predict sums at each row, in the units of y (its rounding is relative
    # to them, not to their sum, which can cancel); None: the prediction's own size
    magnitude: Callable[[np.ndarray], np.ndarray] | None = None


def _report(n: int, cert: dict, bound, worst, holds) -> dict:
    return {"pairs": int(n), "property": cert["property"], "bound": bound, "worst_ratio": worst, "holds": holds}


def check_pairs(probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Worst ratio ||f(a) - f(b)|| / ||a - b|| over random and near pairs of X, against k or c (none: no claim)."""
    if cert["lipschitz_upper"] is None and cert["expansion_lower"] is None:  # constraint='none' claims nothing
        return _report(0, cert, None, None, None)
    i, j = rng.randint(len(X), size=(2, n_pairs))
    A = X[i]
    spread = X.std(axis=0)
    unit = np.where(spread > 0, spread, np.maximum(np.abs(X).max(axis=0), 1.0))  # a column may be constant
    near = rng.standard_normal(A[n_pairs // 2 :].shape) * 1e-3 * unit  # in X's units
    B = np.vstack([X[j[: n_pairs // 2]], A[n_pairs // 2 :] + near])
    keep = np.linalg.norm(A - B, axis=1) > 0
    A, B = A[keep], B[keep]  # the near pairs (relative steps of 1e-3) are always kept
    fa, fb = probe.predict(A), probe.predict(B)
    ratio = np.linalg.norm(fa - fb, axis=1) / np.linalg.norm(A - B, axis=1)
    rel = max(1e-9, 16 * probe.eps)  # the bound itself is computed in the model's precision
    slack = 8 * probe.eps * (np.linalg.norm(fa, axis=1) + np.linalg.norm(fb, axis=1) + 1)
    slack = slack / np.linalg.norm(A - B, axis=1)
    if cert["lipschitz_upper"] is not None:
        k = cert["lipschitz_upper"]
        return _report(len(A), cert, k, float(ratio.max()), bool(np.all(ratio <= k * (1 + rel) + slack)))
    c = cert["expansion_lower"]
    return _report(len(A), cert, c, float(ratio.min()), bool(np.all(ratio >= c * (1 - rel) - slack)))


def check_monotone(probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Move one constrained feature of a random point by a random step of its allowed sign."""
    cst = np.asarray(cert["monotonic_cst"], dtype=float)
    features = np.flatnonzero(cst)
    A = X[rng.randint(len(X), size=n_pairs)]
    j = features[rng.randint(len(features), size=n_pairs)]
    step = 10.0 ** rng.uniform(-6, 3, n_pairs)
    B = A.copy()
    B[np.arange(n_pairs), j] += step
    fa, fb = probe.predict(A), probe.predict(B)
    change = cst[j][:, None] * (fb - fa)  # must be >= 0 for every target
    slack = 8 * probe.eps * (np.abs(fa) + np.abs(fb) + 1)
    worst = float((change / step[:, None]).min())
    return _report(n_pairs, cert, 0.0, worst, bool(np.all(change >= -slack)))


def check_convexity(probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Second differences f(a + h e_j) + f(a - h e_j) - 2 f(a) along one shape-constrained feature j, of the
    stated sign; a at random points of X, half of them moved far beyond the data, h from 1e-4 to 1e3 units."""
    cvx = np.asarray(cert["convexity_cst"], dtype=float)
    features = np.flatnonzero(cvx)
    A = X[rng.randint(len(X), size=n_pairs)].astype(float)
    half = n_pairs // 2
    A[half:] += rng.standard_normal(A[half:].shape) * 10.0 ** rng.uniform(0, 3, (n_pairs - half, 1)) * probe.x_scale
    j = features[rng.randint(len(features), size=n_pairs)]
    step = 10.0 ** rng.uniform(-3, 3, n_pairs) * probe.x_scale[j]
    rows = np.arange(n_pairs)
    up, down = A.copy(), A.copy()
    up[rows, j] += step
    down[rows, j] -= step
    f0, fu, fd = probe.predict(A), probe.predict(up), probe.predict(down)
    second = cvx[j][:, None] * (fu + fd - 2 * f0)  # must be >= 0 for every target
    # a second difference where the curvature is 0 (a linear stretch) is rounding alone, relative to the terms
    # predict sums at each point (far from the data a ridge sum and the linear term can nearly cancel)
    # predict = y_mean + y_scale * (network terms): the network rounds in its precision relative to its terms, the
    # shift by y_mean in float64 relative to the prediction
    if probe.magnitude is None:
        size = np.abs(fu) + np.abs(fd) + 2 * np.abs(f0)
        slack = 64 * probe.eps * size
    else:
        terms = probe.magnitude(up) + probe.magnitude(down) + 2 * probe.magnitude(A)
        shift = np.abs(fu) + np.abs(fd) + 2 * np.abs(f0)
        slack = 64 * (probe.eps * terms + np.finfo(np.float64).eps * shift)
    # the worst second difference beyond the slack, per unit step squared (<= 0 where every one is within it)
    worst = float(np.minimum((second + slack) / step[:, None] ** 2, 0.0).min())
    return _report(n_pairs, cert, 0.0, worst, bool(np.all(second >= -slack)))


def check_cauchy_riemann(probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Central finite differences of predict at points of X: the Cauchy-Riemann residual.

    Per (input, output) pair: |du/da - dv/db| + |du/db + dv/da|, relative to the largest partial derivative; 0
    for a holomorphic map, O(h^2) here.
    """
    A = X[rng.randint(len(X), size=n_pairs)]
    h = probe.eps ** (1 / 3) * float(np.max(probe.x_scale))  # balances truncation (h^2) and rounding (eps / h)
    limit = 1e-6 if probe.eps < 1e-12 else 1e-3
    n, d = A.shape
    columns = []
    for j in range(d):
        step = np.zeros(d)
        step[j] = h
        columns.append((probe.predict(A + step) - probe.predict(A - step)) / (2 * h))
    grads = np.stack(columns, axis=-1)  # (n, m, d)
    G = grads.reshape(n, -1, 2, d // 2, 2)  # (n, q, re/im output, p, re/im input)
    residual = np.abs(G[:, :, 0, :, 0] - G[:, :, 1, :, 1]) + np.abs(G[:, :, 0, :, 1] + G[:, :, 1, :, 0])
    worst = float((residual.max(axis=(1, 2)) / (np.abs(grads).max(axis=(1, 2)) + 1e-300)).max())
    return _report(n, cert, 0.0, worst, bool(worst <= limit))


def check_jacobian_rank(probe: Probe, cert: dict, X: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Smallest singular value of the exact Jacobian of predict at points of X, against c."""
    A = X[rng.randint(len(X), size=n_pairs)]
    smin = np.linalg.svd(probe.jacobian(A), compute_uv=False).min(axis=1)
    c = cert["jacobian_lower"]
    rel = max(1e-9, 16 * probe.eps)
    return _report(n_pairs, cert, c, float(smin.min()), bool(np.all(smin >= c * (1 - rel))))
