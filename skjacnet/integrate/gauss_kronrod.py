"""Composite Gauss-Kronrod 7/15 quadrature over [0, 1] with an error-controlled panel count.

Line integrals are written as integrals over t in [0, 1] of a *rate* ``rate(t) = J(c(t)) c'(t)``
(t of shape (T,) -> (T, ...)).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor

from .. import _warn

MAX_PANELS = 1024
# Training-time cap of the adaptive Gauss-Kronrod rule: healthy fits use a few panels; weights that diverge need
# the cap on every step, which made a diverging fit take minutes, so training stops there and reports it once.
# (The knot mesh keeps its cap: a capped mesh is cheap.)  Measured: docs/measurements.md, "The Gauss-Kronrod cap".
TRAIN_MAX_PANELS = 16


class Report(Protocol):
    capped: int  # evaluations that stopped at their cap without meeting the tolerance


# Gauss-Kronrod 7/15 nodes and weights on [-1, 1] (QUADPACK's qk15).
_GK_NODES = (
    0.991455371120812639206854697526329,
    0.949107912342758524526189684047851,
    0.864864423359769072789712788640926,
    0.741531185599394439863864773280788,
    0.586087235467691130294144838258730,
    0.405845151377397166906606412076961,
    0.207784955007898467600689403773245,
    0.0,
)
_K15 = (
    0.022935322010529224963732008058970,
    0.063092092629978553290700663189204,
    0.104790010322250183839876322541518,
    0.140653259715525918745189590510238,
    0.169004726639267902826583426598550,
    0.190350578064785409913256402421014,
    0.204432940075298892414161999234649,
    0.209482141084727828012999174891714,
)
_G7 = (
    0.129484966168869693270611432679082,
    0.279705391489276667901467771423780,
    0.381830050505118944950369775488975,
    0.417959183673469387755102040816327,
)


def _gk_rule(dtype: torch.dtype, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor]:
    """Nodes on [0, 1], Kronrod weights and Gauss weights (zero off the Gauss nodes)."""
    half = torch.tensor(_GK_NODES, dtype=torch.float64)
    nodes = torch.cat([-half, half.flip(0)[1:]])
    k = torch.tensor(_K15, dtype=torch.float64)
    kw = torch.cat([k, k.flip(0)[1:]])
    g = torch.zeros(15, dtype=torch.float64)
    g[1::2] = torch.tensor(_G7 + _G7[:3][::-1], dtype=torch.float64)
    to = dict(dtype=dtype, device=device)
    return ((nodes + 1) / 2).to(**to), (kw / 2).to(**to), (g / 2).to(**to)


def _panel_rule(panels: int, dtype: torch.dtype, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor]:
    nodes, kw, gw = _gk_rule(dtype, device)
    starts = torch.arange(panels, dtype=dtype, device=device) / panels
    t = (starts[:, None] + nodes[None, :] / panels).reshape(-1)
    return t, (kw / panels).repeat(panels), (gw / panels).repeat(panels)


def gauss_kronrod_panels(
    rate: Callable[[Tensor], Tensor],
    *,
    rtol: float,
    atol: float,
    dtype: torch.dtype,
    device: torch.device | str,
    max_panels: int | None = None,
    report: Report | None = None,
) -> tuple[int, Tensor]:
    """Smallest panel count (doubling) at which every entry meets ``|K15 - G7| <= atol + rtol |K15|``.

    Returns it with the K15 value (computed without autograd).  At ``max_panels``
    (default ``MAX_PANELS``) it stops: with a ``report`` the miss is counted there
    (training reports it once), else it warns.
    """
    cap = MAX_PANELS if max_panels is None else max_panels
    panels = 1
    with torch.no_grad():
        while True:
            t, kw, gw = _panel_rule(panels, dtype, device)
            values = rate(t)
            k = torch.tensordot(kw, values, dims=1)
            ok = bool(((torch.tensordot(kw - gw, values, dims=1)).abs() <= atol + rtol * k.abs()).all())
            if ok:
                return panels, k
            if panels >= cap:
                if report is not None:
                    report.capped += 1
                else:
                    _warn.warn(
                        f"Gauss-Kronrod quadrature did not meet rtol={rtol}, atol={atol} with "
                        f"{cap} panels; the result may be inaccurate.",
                        ConvergenceWarning,
                    )
                return panels, k
            panels *= 2


def gauss_kronrod_integral(
    rate: Callable[[Tensor], Tensor],
    *,
    rtol: float,
    atol: float,
    dtype: torch.dtype,
    device: torch.device | str,
    panels: int | None = None,
    max_panels: int | None = None,
    report: Report | None = None,
) -> Tensor:
    """Integral over [0, 1] of ``rate(t)`` (t of shape (T,) -> (T, ...)) by composite GK15.

    With ``panels`` the rule is fixed (a smooth function of the inputs, the
    same for every batch); otherwise the panel count is searched for this
    batch by :func:`gauss_kronrod_panels` and only the accepted rule is
    differentiated (``max_panels`` and ``report`` as there).
    """
    if panels is None:
        panels, k = gauss_kronrod_panels(
            rate, rtol=rtol, atol=atol, dtype=dtype, device=device, max_panels=max_panels, report=report
        )
        if not torch.is_grad_enabled():
            return k
    t, kw, _ = _panel_rule(panels, dtype, device)
    return torch.tensordot(kw, rate(t), dims=1)
