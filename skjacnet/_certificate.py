"""What a fitted estimator guarantees, and an empirical check of it on given points.

The statements are in the units of X and y.  With ``method='quadrature'`` they
hold exactly for what ``predict`` computes (up to float64 rounding); with a
torchdiffeq method they hold up to the solver's tolerance.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state


def _rounding(est) -> float:
    """Unit roundoff of the precision predict computes in (float64 or float32)."""
    return float(torch.finfo(est.model_.x0.dtype).eps)


def guarantee(est) -> dict:
    """The certificate of a fitted estimator (also stored as ``guarantee_``).

    Read from the spec the network was built from (``est._spec``) and its integration, never from the
    estimator's parameters, which ``set_params`` may have changed since; the spec's constraint
    (``skjacnet.constraints``) fills in its property and bounds.
    """
    spec = est._spec
    d, m = est.n_features_in_, spec.n_out
    integrators = est.model_.integrators()
    exact = all(it.exact for it in integrators)
    method = ", ".join(sorted({it.method for it in integrators if not it.exact}))
    cert = {
        "constraint": spec.structure,
        "n_features": d,
        "n_targets": m,
        "domain": f"R^{d}",
        "norm": "euclidean (l2) on X and on y",
        "exact": exact,
        "holds": f"exactly, up to {str(est.model_.x0.dtype).removeprefix('torch.')} rounding"
        if exact
        else f"up to the {method} tolerance",
        "property": "none",
        "lipschitz_upper": None,
        "expansion_lower": None,
        "jacobian_lower": None,
    }
    return spec.constraint.certify(spec, cert, lambda: scaled_factors(est))


def scaled_factors(est):
    """The network's certificate factors (``skjacnet.constraints.layer``) in the units of X and y.

    The network maps standardised x = (X - mean) / s_x to y = (Y - mean) / s_y, so the map from X
    to Y is diag(s_y) f(diag(1 / s_x) X): those are the scales its ``factors`` are given.
    """
    to = dict(dtype=torch.float64)
    return est.model_.factors(
        in_scale=1.0 / torch.as_tensor(est._x_scale, **to), out_scale=torch.as_tensor(est._y_scale, **to)
    )


def _check_jacobian_rank(est, X: np.ndarray, n_points: int, rng: np.random.RandomState) -> dict:
    """Smallest singular value of the exact Jacobian of predict at points of X, against c."""
    A = X[rng.randint(len(X), size=n_points)]
    model = est.model_
    to = dict(dtype=model.x0.dtype, device=model.x0.device)
    with torch.no_grad():
        Xs = torch.as_tensor((A - est._x_mean) / est._x_scale, **to)
        J = model.jacobian(est._pad(Xs))[:, :, : A.shape[1]].cpu().numpy()
    J = est._y_scale[None, :, None] * J / est._x_scale[None, None, :]  # in the units of X and y
    smin = np.linalg.svd(J, compute_uv=False).min(axis=1)
    c = est.guarantee_["jacobian_lower"]
    rel = max(1e-9, 16 * _rounding(est))
    return {
        "pairs": int(n_points),
        "property": est.guarantee_["property"],
        "bound": c,
        "worst_ratio": float(smin.min()),
        "holds": bool(np.all(smin >= c * (1 - rel))),
    }


def _check_cauchy_riemann(est, X: np.ndarray, n_points: int, rng: np.random.RandomState) -> dict:
    """Central finite differences of predict at points of X: the Cauchy-Riemann residual.

    Per (input, output) pair: |du/da - dv/db| + |du/db + dv/da|, relative to
    the largest partial derivative; 0 for a holomorphic map, O(h^2) here.
    """
    A = X[rng.randint(len(X), size=n_points)]
    eps = _rounding(est)
    h = eps ** (1 / 3) * float(np.max(est._x_scale))  # balances truncation (h^2) and rounding (eps / h)
    limit = 1e-6 if eps < 1e-12 else 1e-3
    n, d = A.shape
    grads = np.empty((n, est.n_targets_, d))
    for j in range(d):
        step = np.zeros(d)
        step[j] = h
        grads[:, :, j] = (est._predict_values(A + step) - est._predict_values(A - step)) / (2 * h)
    G = grads.reshape(n, -1, 2, d // 2, 2)  # (n, q, re/im output, p, re/im input)
    residual = np.abs(G[:, :, 0, :, 0] - G[:, :, 1, :, 1]) + np.abs(G[:, :, 0, :, 1] + G[:, :, 1, :, 0])
    worst = float((residual.max(axis=(1, 2)) / (np.abs(grads).max(axis=(1, 2)) + 1e-300)).max())
    return {
        "pairs": int(n),
        "property": est.guarantee_["property"],
        "bound": 0.0,
        "worst_ratio": worst,
        "holds": bool(worst <= limit),
    }


def check_guarantee(est, X, *, n_pairs: int = 2000, random_state=None) -> dict:
    """Worst ratio ||f(a) - f(b)|| / ||a - b|| over pairs drawn from X (random and near pairs).

    Returns the certificate's bound, the worst observed ratio, the float64
    rounding slack allowed, and ``holds``.
    """
    cert = est.guarantee_
    X = np.asarray(X, dtype=np.float64)
    rng = check_random_state(random_state)
    if "monotonic_cst" in cert:
        return _check_monotone(est, X, np.asarray(cert["monotonic_cst"], dtype=float), n_pairs, rng)
    if cert["norm"].startswith("none"):  # an identity of derivatives (holomorphic fits), not a bound
        return _check_cauchy_riemann(est, X, n_pairs, rng)
    if cert["jacobian_lower"] is not None:
        return _check_jacobian_rank(est, X, n_pairs, rng)
    if cert["lipschitz_upper"] is None and cert["expansion_lower"] is None:  # constraint='none' claims nothing
        return {"pairs": 0, "property": cert["property"], "bound": None, "worst_ratio": None, "holds": None}
    i, j = rng.randint(len(X), size=(2, n_pairs))
    A = X[i]
    spread = X.std(axis=0)
    unit = np.where(spread > 0, spread, np.maximum(np.abs(X).max(axis=0), 1.0))  # a column may be constant
    near = rng.standard_normal(A[n_pairs // 2 :].shape) * 1e-3 * unit  # in X's units
    B = np.vstack([X[j[: n_pairs // 2]], A[n_pairs // 2 :] + near])
    keep = np.linalg.norm(A - B, axis=1) > 0
    A, B = A[keep], B[keep]  # the near pairs (relative steps of 1e-3) are always kept
    fa, fb = est._predict_values(A), est._predict_values(B)
    ratio = np.linalg.norm(fa - fb, axis=1) / np.linalg.norm(A - B, axis=1)
    eps = _rounding(est)
    rel = max(1e-9, 16 * eps)  # the bound itself is computed in the model's precision
    slack = 8 * eps * (np.linalg.norm(fa, axis=1) + np.linalg.norm(fb, axis=1) + 1)
    slack = slack / np.linalg.norm(A - B, axis=1)
    out = {"pairs": int(len(A)), "property": cert["property"]}
    if cert["lipschitz_upper"] is not None:
        k = cert["lipschitz_upper"]
        out.update(bound=k, worst_ratio=float(ratio.max()), holds=bool(np.all(ratio <= k * (1 + rel) + slack)))
    else:
        c = cert["expansion_lower"]
        out.update(bound=c, worst_ratio=float(ratio.min()), holds=bool(np.all(ratio >= c * (1 - rel) - slack)))
    return out


def _check_monotone(est, X: np.ndarray, cst: np.ndarray, n_pairs: int, rng: np.random.RandomState) -> dict:
    """Move one constrained feature of a random point by a random step of its allowed sign."""
    features = np.flatnonzero(cst)
    A = X[rng.randint(len(X), size=n_pairs)]
    j = features[rng.randint(len(features), size=n_pairs)]
    step = 10.0 ** rng.uniform(-6, 3, n_pairs)
    B = A.copy()
    B[np.arange(n_pairs), j] += step
    fa, fb = est._predict_values(A), est._predict_values(B)
    change = cst[j][:, None] * (fb - fa)  # must be >= 0 for every target
    slack = 8 * _rounding(est) * (np.abs(fa) + np.abs(fb) + 1)
    worst = float((change / step[:, None]).min())
    return {
        "pairs": n_pairs,
        "property": est.guarantee_["property"],
        "bound": 0.0,
        "worst_ratio": worst,
        "holds": bool(np.all(change >= -slack)),
    }


def certified_radius(est, X) -> np.ndarray:
    """The l2 radius around each row of X within which the class ``est.predict`` computes cannot change.

    The exact logit map f is k-Lipschitz (``guarantee_['lipschitz_upper']``), so a margin m between the
    top two logits holds for ``||delta|| < m / (factor k)`` (factor 1 for one logit, sqrt(2) for a
    difference of two).  What ``predict`` computes is f up to two roundings, both subtracted:

    - the logits' own rounding, a few ulps of the largest logit at x and at the perturbed point;
    - rounding that grows with the input rather than with the logits: standardising X (in float64), casting
      it to the model's dtype, and every matrix product of the network (``fan_in`` ulps of the entries it
      sums, the classical bound).  Far from the data the logits can be near 0 while those entries are huge,
      so this term is what keeps the radius true there.  It acts like a perturbation of the input of
      ``c |u|`` (u the standardised point), at x and at every point within the radius.
    """
    k = est.guarantee_["lipschitz_upper"]
    Z = est._predict_values(X)
    Xs = est._standardized_inputs(X)
    model = est.model_
    eps = float(torch.finfo(model.x0.dtype).eps)
    if Z.shape[1] == 1:
        margin, factor = np.abs(Z[:, 0]), 1.0
    else:
        top = np.sort(Z, axis=1)
        margin, factor = top[:, -1] - top[:, -2], np.sqrt(2.0)
    logit_slack = 128 * eps * (np.abs(Z).max(axis=1) + 1.0)  # at x, and at a point whose logits are <= 2x
    radius = np.maximum(margin - logit_slack, 0.0) / (factor * k)
    # A conservative count of the entries summed between the input and the logits (4 ulps per entry summed).
    fan_in = Xs.shape[1] + sum(t.shape[-1] for t in (*model.parameters(), *model.buffers()) if t.ndim == 2)
    per_unit = 4 * eps * fan_in * float(np.max(est._x_scale))  # X units per unit of |u| (and of 1)
    size = np.linalg.norm(Xs, axis=1) + 1.0
    reach = radius / float(np.min(est._x_scale))  # how much larger |u| can be at a point within the radius
    return np.maximum(radius - per_unit * (2 * size + reach), 0.0)
