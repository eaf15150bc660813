"""Full-batch L-BFGS, one iteration per call: torch's algorithm with its two-loop recursion in BLAS.

``torch.optim.LBFGS`` spends most of a small model's iteration on the two-loop recursion: with its history of
100 pairs that is ~400 tensor operations (dots and in-place axpys) on vectors of a few thousand weights, each
paying torch's dispatch cost (~4 us) and, for its step sizes kept as 0-d tensors, a few more. The same
recursion through BLAS ``dot``/``axpy`` on NumPy views of the same memory costs ~1 us an operation: a Müller-Brown
potential fit with forces ((64, 64) units, n = 50, 500 iterations) went from 4.4 to about 2 ms an iteration (2.2 s
to 1.0 s a fit); what is left is the evaluation (~1 ms) and the recursion's passes over the 100 stored pairs.

Everything else is torch's, constant for constant: the curvature pairs kept (``y.s > 1e-10``), the initial
Hessian scale ``y.s / y.y``, the first step ``min(1, 1 / |g|_1)``, the strong Wolfe line search
(``torch.optim.lbfgs._strong_wolfe``) and the gradient tolerance. Iterates match torch's up to the rounding of
the dot products (BLAS sums in another order), which L-BFGS amplifies after a few hundred iterations as any
change of rounding would. Off the CPU (or for dtypes BLAS lacks) the recursion runs in torch ops.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from scipy.linalg import blas
from torch import Tensor

from ._compat import _strong_wolfe

TOLERANCE_GRAD = 1e-7  # torch.optim.LBFGS's defaults
TOLERANCE_CHANGE = 1e-9
HISTORY_SIZE = 100
CURVATURE_MIN = 1e-10  # a pair with y.s at or below this is not kept (torch's rule)


def _blas(like: Tensor):
    """BLAS (dot, axpy) for vectors like ``like``, or None where BLAS cannot take them (off the CPU)."""
    if like.device.type == "cpu" and like.dtype in (torch.float32, torch.float64):
        return blas.get_blas_funcs(("dot", "axpy"), (like.numpy(),))
    return None


def _two_loop(pairs: list[tuple], g: Tensor, h_diag: float, fns) -> Tensor:
    """-H g by the two-loop recursion over the pairs (s, y, 1 / y.s), oldest first, in torch's order of
    operations; with ``fns`` (BLAS dot, axpy) on the NumPy views kept with the pairs (same memory)."""
    q = g.neg()
    al = [0.0] * len(pairs)
    if fns is not None:
        dot, axpy = fns
        qv = q.numpy()
        for i in range(len(pairs) - 1, -1, -1):
            s, y, ro = pairs[i][3]
            al[i] = a = float(dot(s, qv)) * ro
            axpy(y, qv, a=-a)  # qv -= a y, in place
        qv *= h_diag
        for pair, a in zip(pairs, al):
            s, y, ro = pair[3]
            axpy(s, qv, a=a - float(dot(y, qv)) * ro)
        return q
    for i in range(len(pairs) - 1, -1, -1):
        s, y, ro = pairs[i][:3]
        al[i] = float(s.dot(q)) * ro
        q.add_(y, alpha=-al[i])
    q.mul_(h_diag)
    for (s, y, ro, _), a in zip(pairs, al):
        q.add_(s, alpha=a - float(y.dot(q)) * ro)
    return q


class LBFGS:
    """L-BFGS over ``params`` with a strong Wolfe line search; :meth:`step` takes one iteration.

    ``max_eval`` bounds the closure's evaluations in an iteration (the start point included), as torch's.
    """

    def __init__(self, params, lr: float = 1.0, max_eval: int = 25, history_size: int = HISTORY_SIZE):
        self.params: list[Tensor] = [p for p in params if p.requires_grad]
        self.lr, self.max_eval, self.history_size = lr, max_eval, history_size
        self.n_iter = 0
        # (s, y, 1 / y.s, and the same as NumPy views for BLAS), oldest first
        self.pairs: list[tuple] = []
        self.fns = None  # BLAS's (dot, axpy) for these weights, or None
        self.h_diag = 1.0
        self.d: Tensor | None = None
        self.t = 0.0
        self.prev_grad: Tensor | None = None

    def _flat_grad(self) -> Tensor:
        return torch.cat([p.new_zeros(p.numel()) if p.grad is None else p.grad.reshape(-1) for p in self.params])

    def _add(self, t: float, d: Tensor) -> None:
        offset = 0
        for p in self.params:
            n = p.numel()
            p.add_(d[offset : offset + n].view_as(p), alpha=t)
            offset += n

    def _evaluate(self, closure: Callable[[], Tensor], x: list[Tensor], t: float, d: Tensor) -> tuple[float, Tensor]:
        self._add(t, d)
        with torch.enable_grad():
            loss = float(closure().detach())
        grad = self._flat_grad()
        for p, v in zip(self.params, x):
            p.copy_(v)
        return loss, grad

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor]) -> bool:
        """One iteration from the current weights; False where there is none to take: the gradient is below
        torch's ``tolerance_grad`` (L-BFGS has converged). Where the direction is no descent direction, as torch,
        the iteration counts but takes no step (the next call, after a change of tolerances, may)."""
        with torch.enable_grad():
            loss = float(closure().detach())
        g = self._flat_grad()
        if self.n_iter == 0:
            self.fns = _blas(g)
        if float(g.abs().max()) <= TOLERANCE_GRAD:
            return False
        if self.n_iter == 0:
            d = g.neg()
        else:
            y = g.sub(self.prev_grad)
            s = self.d.mul(self.t)
            ys = float(y.dot(s))
            if ys > CURVATURE_MIN:
                if len(self.pairs) == self.history_size:
                    self.pairs.pop(0)
                views = (s.numpy(), y.numpy(), 1.0 / ys) if self.fns is not None else None
                self.pairs.append((s, y, 1.0 / ys, views))
                self.h_diag = ys / float(y.dot(y))
            d = _two_loop(self.pairs, g, self.h_diag, self.fns)
        t = min(1.0, 1.0 / float(g.abs().sum())) * self.lr if self.n_iter == 0 else self.lr
        # as torch: the iteration counts (and the point is the one the next pair starts from) before the test
        self.n_iter += 1
        self.prev_grad, self.d, self.t = g, d, t
        gtd = g.dot(d)
        if gtd > -TOLERANCE_CHANGE:  # not a descent direction: torch's LBFGS takes no step, and neither do we
            return True
        x = [p.clone(memory_format=torch.contiguous_format) for p in self.params]
        _, _, t, _ = _strong_wolfe(
            lambda x_, t_, d_: self._evaluate(closure, x_, t_, d_), x, t, d, loss, g, gtd, max_ls=self.max_eval - 1
        )
        self._add(t, d)
        self.t = t
        return True
