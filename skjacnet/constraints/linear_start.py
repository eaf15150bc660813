"""The least-squares start of a ridge network's linear term: A and y0 at the weighted (sign-bounded, for
monotone features) least-squares fit, so that on small noisy data early stopping begins from the linear model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .mlp import MemberMLP


def bounded_lstsq(design: Tensor, target: Tensor, signs: Tensor) -> Tensor:
    """min ||design coef - target|| per target column with signs_j coef_j >= 0 where signs_j != 0 (scipy)."""
    from scipy.optimize import lsq_linear

    s = signs.numpy()
    lower = np.where(s > 0, 0.0, -np.inf)
    upper = np.where(s < 0, 0.0, np.inf)
    A, b = design.double().numpy(), target.double().numpy()
    cols = [lsq_linear(A, b[:, i], bounds=(lower, upper), method="bvls").x for i in range(b.shape[1])]
    return torch.as_tensor(np.stack(cols, 1), dtype=design.dtype)


@torch.no_grad()
def init_linear(self, X: Tensor, Y: Tensor, w: Tensor) -> None:
    """Start the linear term A and y0 at the weighted least-squares fit of Y on X - x0 (rows with a NaN
    dropped; the minimum-norm solution when features are collinear).

    A method of the networks with a linear term (``RidgeJacobianNet.init_linear``, the potential's): ``self``
    gives ``A``, ``y0``, ``x0``, ``n_out`` and, where it has one, ``monotonic_cst``.  Without it the held-out
    validation stops a random ridge sum, not a linear fit (the tabular fits: docs/measurements.md, Ridge networks).
    """
    keep = ~(torch.isnan(X).any(1) | torch.isnan(Y).any(1)) & (w > 0)
    X, Y, w = X[keep], Y[keep], w[keep]
    if self.A is None or X.shape[0] <= X.shape[1]:
        return
    design = torch.cat([torch.ones_like(X[:, :1]), X - self.x0], 1) * w.sqrt()[:, None]
    target = (Y * w.sqrt()[:, None]).cpu()
    cst = getattr(self, "monotonic_cst", None)
    if cst is None:
        coef = torch.linalg.lstsq(design.cpu(), target, driver="gelsd").solution
    else:  # the signs' bounded least squares; the linear term keeps c_j A[:, j] >= 0 (see linear())
        coef = bounded_lstsq(design.cpu(), target, torch.cat([cst.new_zeros(1), cst]).cpu())
    coef = coef.to(X.device)
    if not bool(torch.isfinite(coef).all()):
        return
    self.y0.copy_(coef[0, : self.n_out])
    A = coef[1:, : self.n_out].T
    if cst is not None:  # |.| has no gradient at 0: a coefficient on its bound starts just off it
        A = torch.where((cst != 0) & (A == 0), 1e-4 * cst, A)
    self.A.copy_(A)


def init_member_linear(model: nn.Module, X: Tensor, Y: Tensor, w: Tensor) -> None:
    """``init_linear`` of each member of ``model`` (one network if its field is not a MemberMLP), each at the least
    squares of its own training rows (Y's NaN mark the rows a member holds out)."""
    k = model.field.k if isinstance(model.field, MemberMLP) else 1
    m = model.n_out // k
    for i in range(k):
        part = slice(i * m, (i + 1) * m)
        init_linear(_Block(model, part, m), X, Y[:, part], w)


class _Block:
    """Member ``part``'s linear term, as ``init_linear`` reads and writes it (views of the ensemble's A, y0)."""

    def __init__(self, model: nn.Module, part: slice, m: int):
        self.A, self.y0, self.x0, self.n_out = model.A.data[part], model.y0.data[part], model.x0, m
        self.monotonic_cst = getattr(model, "monotonic_cst", None)
