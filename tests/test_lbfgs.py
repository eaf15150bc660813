"""skjacnet._lbfgs.LBFGS: torch's L-BFGS (one iteration per step) with its two-loop recursion in BLAS."""

import pytest
import torch

from skjacnet._lbfgs import LBFGS


def _problem(dtype=torch.float64):
    """A small tanh network's squared error: curved, not quadratic, a few hundred weights."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=gen, dtype=dtype)
    y = torch.sin(X.sum(1, keepdim=True))
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.5)

    def closure():
        for p in net.parameters():
            p.grad = None
        loss = ((net(X) - y) ** 2).mean()
        loss.backward()
        return loss

    return net, closure


def _flat(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def test_iterates_are_torchs():
    """Same pairs, scales, first step and line search: the same iterates up to the dot products' rounding."""
    ours, ours_closure = _problem()
    ref, ref_closure = _problem()
    opt = LBFGS(ours.parameters(), max_eval=26)
    torch_opt = torch.optim.LBFGS(ref.parameters(), lr=1.0, max_iter=1, max_eval=26, line_search_fn="strong_wolfe")
    for _ in range(25):
        assert opt.step(ours_closure)
        torch_opt.step(ref_closure)
        assert torch.allclose(_flat(ours), _flat(ref), rtol=1e-9, atol=1e-11)
    assert float(ours_closure()) < 0.05 * float(_problem()[1]())  # and it optimises


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_blas_and_torch_recursions_agree(dtype, monkeypatch):
    """The BLAS path (NumPy views) and the torch-ops path (off the CPU) compute the same direction."""
    runs = []
    for use_blas in (True, False):
        if not use_blas:
            monkeypatch.setattr("skjacnet._lbfgs._blas", lambda like: None)
        net, closure = _problem(dtype)
        opt = LBFGS(net.parameters())
        for _ in range(15):
            opt.step(closure)
        assert (opt.fns is not None) == use_blas
        runs.append(_flat(net))
    tol = 1e-9 if dtype == torch.float64 else 1e-3
    assert torch.allclose(runs[0], runs[1], rtol=tol, atol=tol)


def test_history_is_bounded_and_a_stationary_point_is_no_step():
    net, closure = _problem()
    opt = LBFGS(net.parameters(), history_size=5)
    for _ in range(12):
        opt.step(closure)
    assert len(opt.pairs) == 5
    # a zero gradient (all weights at a stationary point of a constant loss): no iteration, weights untouched
    zero = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))

    def flat_closure():
        zero.grad = None
        loss = (zero * 0).sum()
        loss.backward()
        return loss

    still = LBFGS([zero])
    assert not still.step(flat_closure)
    assert still.n_iter == 0 and torch.equal(zero.detach(), torch.zeros(3, dtype=torch.float64))


def test_no_descent_direction_counts_an_iteration_but_takes_no_step(monkeypatch):
    """As torch: the iteration counts, the weights stay, and the next call does not store that pair twice."""
    net, closure = _problem()
    opt = LBFGS(net.parameters())
    for _ in range(3):
        opt.step(closure)
    before, pairs = _flat(net), len(opt.pairs)
    monkeypatch.setattr("skjacnet._lbfgs._two_loop", lambda pairs, g, h, fns: g.clone())  # uphill
    assert opt.step(closure)
    assert torch.equal(_flat(net), before) and opt.n_iter == 4 and len(opt.pairs) == pairs + 1
    assert opt.step(closure)  # same point, same gradient: y = 0, no pair stored
    assert len(opt.pairs) == pairs + 1
