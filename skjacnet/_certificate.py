"""What a fitted estimator guarantees, and an empirical check of it on given points.

The statements are in the units of X and y.  With ``method='quadrature'`` they
hold exactly for what ``predict`` computes (up to float64 rounding); with a
torchdiffeq method they hold up to the solver's tolerance.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state

from .constraints.checks import Probe


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


def _jacobian(est, A: np.ndarray) -> np.ndarray:
    """The exact Jacobian of predict at A, (n, m, d) whatever the shape of y in fit."""
    J = est.jacobian(A)
    return J[:, None, :] if J.ndim == 2 else J


def _magnitude(est):
    """The size of the terms predict sums at rows A, in the units of y, where the network reports it
    (``term_magnitude``), else None."""
    size = getattr(est.model_, "term_magnitude", None)
    if size is None:
        return None
    return lambda A: est._transform_rows(est._standardized_inputs(A), size) * np.abs(est._y_scale)


def check_guarantee(est, X, *, n_pairs: int = 2000, random_state=None) -> dict:
    """The fitted structure's own check of ``guarantee_`` on points drawn from X (``Constraint.check``).

    Returns the certificate's bound, the worst observed ratio, the pairs checked and ``holds``.
    """
    probe = Probe(
        predict=est._predict_values, jacobian=lambda A: _jacobian(est, A), eps=_rounding(est), x_scale=est._x_scale,
        magnitude=_magnitude(est),
    )  # fmt: skip
    X = np.asarray(X, dtype=np.float64)
    return est._spec.constraint.check(probe, est.guarantee_, X, n_pairs, check_random_state(random_state))


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
