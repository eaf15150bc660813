"""The noise variance of 1-D data from differences of neighbours, without fitting anything.

Gasser, Sroka & Jennen-Steinmetz (1986): sorted by x, each inner point's deviation from the straight line through its
two neighbours is pure noise up to the curve's second difference, which vanishes as the points get dense:
e_i = a y_{i-1} + b y_{i+1} - y_i with a = (x_{i+1} - x_i) / (x_{i+1} - x_{i-1}), b = 1 - a, and
E[e_i^2] = (a^2 + b^2 + 1) sigma^2.  On a few points curvature reads as noise (5 noiseless points of tanh(2x): an
alpha that flattened the fit), so skjacnet uses it only on large samples, where a pilot fit costs a whole fit.
"""

from __future__ import annotations

import torch
from torch import Tensor


def neighbour_noise(x: Tensor, Y: Tensor) -> float | None:
    """Noise variance of Y (n, m) against 1-D x (n,), summed over the m columns (as a squared-error loss sums them);
    None for fewer than 5 points or where two x are equal: repeated rows (often duplicates, y and all) would read
    as noiseless, and the caller's pilot fit measures them instead."""
    order = torch.argsort(x)
    x, Y = x[order], Y[order]
    if x.shape[0] < 5 or bool((x[1:] == x[:-1]).any()):
        return None
    a = ((x[2:] - x[1:-1]) / (x[2:] - x[:-2])).unsqueeze(-1)
    b = 1.0 - a
    e = a * Y[:-2] + b * Y[2:] - Y[1:-1]
    return float((e * e / (a * a + b * b + 1.0)).sum(-1).mean())
