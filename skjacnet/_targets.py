"""What the network is trained on: the losses of values, of observed Jacobians and of labels, the loss of a
constant prediction (the divergence guard's scale) and the validation scores of early stopping.

No scikit-learn here: tensors in, tensors or floats out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


def _loss(pred: Tensor, y: Tensor, w: Tensor, kind: str) -> Tensor:
    """Weighted mean over rows of the squared (or Euclidean) error; NaN in y marks an unobserved value."""
    err = pred - y
    missing = torch.isnan(y)  # only y's NaN: a NaN prediction must still reach the divergence guard
    err = torch.where(missing, 0.0, err) if bool(missing.any()) else err
    per_sample = (err * err).sum(-1) if kind == "squared_error" else err.norm(dim=-1)
    return (w * per_sample).sum() / w.sum()


def nan_mean(Y: Tensor, w: Tensor) -> Tensor:
    """Weighted column means over the observed (non-NaN) entries (0 where a column has none)."""
    seen = ~torch.isnan(Y)
    ww = w.unsqueeze(-1) * seen
    return torch.where(seen, Y, 0.0).mul(ww).sum(0) / ww.sum(0).clamp_min(1e-300)


class ValueTarget:
    """What the network is trained on: the values Y (n, m)."""

    members = 1  # networks trained side by side (skjacnet._members.MemberTarget): the loss is their mean

    def weight_total(self, Y: Tensor, w: Tensor) -> float:
        """The training weight the L2 penalty is divided by (a weight of 2 equals a repeated row)."""
        return float(w.sum())

    def values(self, Y: Tensor) -> Tensor:
        return Y

    def loss(self, model: nn.Module, xb: Tensor, yb: Tensor, wb: Tensor, kind: str) -> Tensor:
        return _loss(model(xb), yb, wb, kind)

    def constant_loss(self, Y: Tensor, w: Tensor, kind: str, centre: Tensor) -> float:
        """The loss of the constant prediction ``centre``: the scale of a bad fit."""
        values = self.values(Y)
        return float(_loss(centre.expand_as(values), values, w, kind))

    def score(self, pred: Tensor, Y: Tensor, w: Tensor) -> float:
        """The validation score of early stopping (higher is better): weighted R^2, as MLPRegressor."""
        return weighted_r2(pred, self.values(Y), w)


@dataclass(frozen=True)
class JacobianTarget(ValueTarget):
    """Values and observed Jacobians packed in one tensor: Y's columns are [values (m), J (m x d, row-major)].

    Packing keeps one target tensor, so mini-batches, the divergence guard and L-BFGS slice it as before.
    The loss adds ``weight`` times the Jacobian error of each row, averaged over its d features (at weight 1
    one target's value and its gradient weigh alike); NaN marks an unobserved value or entry.  The model's
    Jacobian is its own output (``model.jacobian``): no double backpropagation.
    """

    n_targets: int
    n_features: int
    weight: float

    def values(self, Y: Tensor) -> Tensor:
        return Y[:, : self.n_targets]

    def _jacobian_loss(self, J_pred: Tensor, J: Tensor, w: Tensor, kind: str) -> Tensor:
        d = self.n_features
        err = _loss(J_pred.reshape(J.shape[0], -1), J.reshape(J.shape[0], -1), w, kind)
        return err / d if kind == "squared_error" else err / d**0.5

    def loss(self, model, xb, yb, wb, kind):
        if self.weight == 0:
            return super().loss(model, xb, self.values(yb), wb, kind)
        # a network whose values and Jacobian share their forward pass gives both at once (the potential's phi)
        both = getattr(model, "value_and_jacobian", None)
        pred, J_pred = both(xb) if both is not None else (model(xb), model.jacobian(xb))
        J_pred = J_pred[:, : self.n_targets, : self.n_features]
        value_loss = _loss(pred, self.values(yb), wb, kind)
        return value_loss + self.weight * self._jacobian_loss(J_pred, yb[:, self.n_targets :], wb, kind)

    def constant_loss(self, Y, w, kind, centre):
        J = Y[:, self.n_targets :]
        return super().constant_loss(Y, w, kind, centre) + self.weight * float(
            self._jacobian_loss(torch.zeros_like(J), J, w, kind)
        )


@dataclass(frozen=True)
class LogLossTarget(ValueTarget):
    """Classification: Y holds the labels (0/1 in one column for two classes, else one-hot rows) and the
    network's outputs are logits; the loss is the weighted log-loss (cross-entropy), as MLPClassifier."""

    def _per_sample(self, logits: Tensor, Y: Tensor) -> Tensor:
        if Y.shape[1] == 1:
            return nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none")[:, 0]
        return -(Y * torch.log_softmax(logits, dim=-1)).sum(-1)

    curvature: float = 0.0  # one input only: a penalty on the logit's second derivative (JacobianCalibrator)

    def loss(self, model, xb, yb, wb, kind):
        loss = (wb * self._per_sample(model(xb), yb)).sum() / wb.sum()
        if self.curvature == 0:
            return loss
        # f'' by autograd through the network's own derivative f' (model.jacobian): a smoothing spline's
        # penalty, which keeps the logit from running off where a tail holds one class only
        x, wx = penalty_points(xb.detach(), wb)
        x.requires_grad_(True)
        slope = model.jacobian(x)[:, 0, 0]
        bend = torch.autograd.grad(slope.sum(), x, create_graph=True)[0][:, 0]
        return loss + self.curvature * (wx * bend * bend).sum() / wx.sum()

    def constant_loss(self, Y, w, kind, centre):
        """The log-loss of the class frequencies ``centre`` (the prior): the scale of a bad fit."""
        p = centre.clamp(1e-12, 1 - 1e-12)
        logits = torch.log(p / (1 - p)) if Y.shape[1] == 1 else torch.log(p)
        return float((w * self._per_sample(logits.expand_as(Y), Y)).sum() / w.sum())

    def score(self, pred, Y, w):
        """Weighted accuracy, as MLPClassifier's early stopping."""
        hit = (pred[:, 0] > 0) == (Y[:, 0] > 0.5) if Y.shape[1] == 1 else pred.argmax(-1) == Y.argmax(-1)
        return float((w * hit).sum() / w.sum())


PENALTY_POINTS = 512  # the curvature penalty's points: the rows themselves up to this many, else their quantiles


def penalty_points(x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """Where the curvature penalty is evaluated: the rows (x, w) of one input, or on more than PENALTY_POINTS rows
    their weighted quantiles at levels (i + 1/2) / PENALTY_POINTS, equally weighted.

    The penalty is a mean of f''(x)^2 over the weighted rows; the quantiles are a quadrature of that mean whose
    cost does not grow with n (the penalty differentiates the network twice at each point: on every row it was
    most of a large fit's time).  The same rows give the same points, so L-BFGS still sees one objective.
    """
    if x.shape[0] <= PENALTY_POINTS:
        return x, w
    order = torch.argsort(x[:, 0])
    cum = torch.cumsum(w[order], 0)
    levels = (torch.arange(PENALTY_POINTS, dtype=cum.dtype, device=cum.device) + 0.5) / PENALTY_POINTS * cum[-1]
    picked = order[torch.searchsorted(cum, levels).clamp_max(x.shape[0] - 1)]
    return x[picked], torch.ones(PENALTY_POINTS, dtype=w.dtype, device=w.device)


def weighted_r2(pred: Tensor, y: Tensor, w: Tensor) -> float:
    """sklearn's r2_score(y, pred, sample_weight=w): uniform average over outputs, constant y finite."""
    seen = ~torch.isnan(y)  # NaN: an unobserved value (fits with observed Jacobians) scores nothing
    w = w.unsqueeze(-1) * seen
    y = torch.where(seen, y, 0.0)
    num = (w * (y - pred) ** 2).sum(0)
    den = (w * (y - (w * y).sum(0) / w.sum(0).clamp_min(1e-300)) ** 2).sum(0)
    # force_finite: a constant target scores 1 when fitted exactly, else 0
    r2 = torch.where(den > 0, 1 - num / torch.where(den > 0, den, 1.0), (num == 0).to(pred.dtype))
    return float(r2.mean())
