"""The integrators on their own: accuracy, agreement of the two paths, exact gradients."""

import math

import pytest
import torch
from torch.autograd import gradcheck

from skjacnet.constraints.activations import Lipschitz, Positive
from skjacnet.constraints.full import FullJacobianNet
from skjacnet.constraints.lipschitz import LipschitzRidges
from skjacnet.constraints.mlp import MLP
from skjacnet.constraints.ridge import RidgeJacobianNet
from skjacnet.integrate import ODE_METHODS, gauss_kronrod_integral, newton_polish, ode_integral, solve_ode
from skjacnet.integrate import mesh as _mesh

D = torch.float64


def mesh_for(g, lo=-40.0, hi=40.0, rtol=1e-8, atol=1e-10):
    knots, ok = _mesh.refine_knots(g, lo, hi, rtol=rtol, atol=atol, max_knots=10**6, dtype=D, device="cpu")
    assert ok
    return _mesh.build_table(knots, g(knots).reshape(len(knots), -1), ok)


def test_mesh_integrates_known_functions_to_tolerance():
    g = lambda s: torch.stack([torch.cos(s), 1 / (1 + s * s), torch.exp(-s * s)], dim=-1)
    mesh = mesh_for(g)
    z = torch.linspace(-30, 30, 1001, dtype=D).unsqueeze(-1).expand(-1, 3).contiguous()
    exact = torch.stack([torch.sin(z[:, 0]), torch.atan(z[:, 1]), math.sqrt(math.pi) / 2 * torch.erf(z[:, 2])], -1)
    err = (_mesh.antiderivative(mesh, z) - exact).abs()
    # error bound: atol per unit length plus rtol of the integral of |g|
    assert float(err.max()) < 1e-10 * 30 + 1e-8 * 30


def test_mesh_error_shrinks_with_tolerance():
    g = lambda s: torch.tanh(3 * s).unsqueeze(-1)
    z = torch.linspace(-5, 5, 101, dtype=D).unsqueeze(-1)
    exact = torch.log(torch.cosh(3 * z)) / 3
    errs = []
    for tol in (1e-3, 1e-5, 1e-7):
        mesh = mesh_for(g, rtol=tol, atol=tol)
        errs.append(float((_mesh.antiderivative(mesh, z) - exact).abs().max()))
        assert errs[-1] <= 10 * tol
    assert errs[0] > errs[1] > errs[2]


def test_mesh_derivative_is_interpolant_and_keeps_bounds():
    g = lambda s: (0.5 + 0.4 * torch.sin(7 * s)).unsqueeze(-1)  # in [0.1, 0.9]
    mesh = mesh_for(g, rtol=1e-3, atol=1e-3)
    z = torch.linspace(-1e7, 1e7, 20001, dtype=D).unsqueeze(-1)
    z = torch.cat([z, torch.linspace(-3, 3, 20001, dtype=D).unsqueeze(-1)]).requires_grad_(True)
    F = _mesh.antiderivative(mesh, z)
    (dF,) = torch.autograd.grad(F.sum(), z)
    assert torch.allclose(dF, _mesh.derivative(mesh, z.detach()), rtol=1e-12, atol=1e-12)
    assert float(dF.min()) >= 0.1 - 1e-12 and float(dF.max()) <= 0.9 + 1e-12


def test_mesh_inverse_is_exact():
    g = lambda s: (0.01 + torch.exp(-s * s) + torch.sigmoid(s)).unsqueeze(-1)
    mesh = mesh_for(g, lo=-1e3, hi=1e3, rtol=1e-4, atol=1e-4)
    z = torch.cat([torch.linspace(-2e3, 2e3, 5001, dtype=D), torch.tensor([0.0, 1e-9, -1e-9], dtype=D)]).unsqueeze(-1)
    w = _mesh.antiderivative(mesh, z)
    back = _mesh.inverse_antiderivative(mesh, w, torch.ones(1, dtype=D))
    assert float(((back - z).abs() / (1 + z.abs())).max()) < 1e-12


def test_gauss_kronrod_line_integral():
    x = torch.linspace(-3, 3, 13, dtype=D)
    rate = lambda t: torch.cos(t[:, None] * x) * x  # integral = sin(x)
    val = gauss_kronrod_integral(rate, rtol=1e-12, atol=1e-14, dtype=D, device="cpu")
    assert torch.allclose(val, torch.sin(x), atol=1e-12)


def _ridge(structure, d=1, m=1, seed=0, x0=0.7):
    gen = torch.Generator().manual_seed(seed)
    R = 3 if d > 1 or m > 1 else 1
    V = torch.rand(R, d, generator=gen, dtype=D) - 0.5 if R > 1 else torch.ones(1, 1, dtype=D)
    U = torch.rand(m, R, generator=gen, dtype=D) - 0.5 if R > 1 else torch.ones(1, 1, dtype=D)
    cls = LipschitzRidges if isinstance(structure, Lipschitz) else RidgeJacobianNet  # |g| <= k: U, V normalised
    net = cls(MLP((1, 8, R), "tanh", gen, D), structure, V, U, learn_V=R > 1, learn_U=R > 1)
    net.x0.fill_(x0)  # x0 != 0: the classic place for a wrong backward pass
    with torch.no_grad():
        net.y0.fill_(0.3)
    return net


def _full(d=2, m=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    net = FullJacobianNet(MLP((d, 8, m * d), "tanh", gen, D), d, m, D)
    net.x0.copy_(torch.tensor([0.4, -0.9], dtype=D)[:d])
    return net


@pytest.mark.parametrize("method", ["dopri5", "rk4"])
@pytest.mark.parametrize("kind", ["ridge-1d", "ridge-nd", "full"])
def test_quadrature_and_ode_paths_agree(method, kind):
    net = _full() if kind == "full" else _ridge(Positive(0.1), *((1, 1) if kind == "ridge-1d" else (2, 2)))
    x = torch.linspace(-2, 2, 20 * net.x0.numel(), dtype=D).reshape(20, -1)
    tol = 1e-8
    net.use_integrator("quadrature", tol, tol)
    net.eval()
    net.freeze()
    quad = net(x)
    net.use_integrator(method, tol, tol)
    net.freeze()
    ode = net(x)
    scale = 1 + quad.abs()
    # rk4 at tol 1e-8 takes ceil(1e8 ** (1/4)) = 100 steps: error ~ 1e-8 as well
    assert float(((quad - ode).abs() / scale).max()) < 100 * tol


@pytest.mark.parametrize("method", sorted(ODE_METHODS))
def test_every_ode_method_gives_the_same_function(method):
    """Every solver integrates the same field; low-order and local-error-controlled ones
    are looser (torchdiffeq's dopri8 does not track its tolerance closely, euler is
    capped at MAX_FIXED_STEPS steps)."""
    net = _ridge(Lipschitz(1.5))
    x = torch.linspace(-2, 2, 9, dtype=D).reshape(-1, 1)
    net.use_integrator("quadrature", 1e-6, 1e-6)
    net.eval()
    net.freeze()
    quad = net(x)
    net.use_integrator(method, 1e-6, 1e-6)
    net.freeze()
    assert torch.allclose(net(x), quad, atol=1e-3 if method == "euler" else 1e-4)


def test_gradcheck_mesh_path_wrt_inputs_anchor_and_weights():
    net = _ridge(Lipschitz(2.0), d=2, m=2)
    knots, _ = _mesh.refine_knots(net.g_table, -4, 4, rtol=1e-5, atol=1e-7, max_knots=10**5, dtype=D, device="cpu")
    z = torch.tensor([[0.3, -1.2], [2.5, 0.1], [-3.0, 1.7]], dtype=D, requires_grad=True)
    z0 = torch.tensor([0.7, -0.4], dtype=D, requires_grad=True)
    w1, b1 = net.field.weights[0].detach(), net.field.biases[0].detach()
    w2, b2 = net.field.weights[1].detach(), net.field.biases[1].detach()

    def f(z, z0, w1):
        # the field written out, so gradcheck can perturb its first-layer weights
        g = net.structure(torch.tanh(knots[:, None] @ w1.T + b1) @ w2.T + b2)
        mesh = _mesh.build_table(knots, g)
        return _mesh.antiderivative(mesh, z) - _mesh.antiderivative(mesh, z0.unsqueeze(0))

    assert gradcheck(f, (z, z0, w1.clone().requires_grad_(True)), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "method, adjoint", [("quadrature", False), ("rk4", False), ("dopri5", False), ("rk4", True), ("dopri5", True)]
)
def test_gradcheck_full_model_with_nonzero_x0(method, adjoint):
    net = _full()
    net.use_integrator(method, 1e-10, 1e-12, adjoint=adjoint)
    x = torch.tensor([[0.5, 1.5], [-1.0, 0.2]], dtype=D, requires_grad=True)
    b = net.field.biases[1]
    assert gradcheck(lambda x: net(x), (x,), eps=1e-6, atol=1e-5)
    # parameters: compare autograd with central differences on one weight vector
    loss = net(x.detach()).pow(2).sum()
    (grad,) = torch.autograd.grad(loss, [b])
    num = torch.zeros_like(b)
    with torch.no_grad():
        for i in range(b.numel()):
            b[i] += 1e-6
            up = net(x.detach()).pow(2).sum()
            b[i] -= 2e-6
            down = net(x.detach()).pow(2).sum()
            b[i] += 1e-6
            num[i] = (up - down) / 2e-6
    assert torch.allclose(grad, num, rtol=1e-5, atol=1e-6)


# at rtol 1e-10 the whole-line mesh hits its knot limit (a ConvergenceWarning); the gradient of
# the computed function is what is checked here, and it is exact at any tolerance
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", ["quadrature", "rk4", "dopri5"])
def test_gradcheck_ridge_model_with_nonzero_x0(method):
    net = _ridge(Positive(0.05), d=2, m=2)
    net.use_integrator(method, 1e-10, 1e-12)
    net.eval()
    net.freeze()  # fixed mesh: the function predict computes
    x = torch.tensor([[0.5, 1.5], [-1.0, 0.2], [3.0, -2.0]], dtype=D, requires_grad=True)
    assert gradcheck(lambda x: net(x), (x,), eps=1e-6, atol=1e-6)
    # and the closed-form Jacobian used by Newton is the true one
    J_auto = torch.autograd.functional.jacobian(lambda x: net(x).sum(0), x.detach()).permute(1, 0, 2)
    assert torch.allclose(net.jacobian(x.detach()), J_auto, rtol=1e-6, atol=1e-8)


def test_ode_failure_is_a_clear_error():
    # a right-hand side that blows up in finite time: dopri5 underflows or hits its step limit
    fn = lambda t, y: y * y
    with pytest.raises(RuntimeError, match="ODE solver 'dopri5' failed"):
        solve_ode(fn, torch.full((1,), 10.0, dtype=D), method="dopri5", rtol=1e-10, atol=1e-12)


def test_ode_integral_fixed_step_counts_follow_tolerance():
    rate = lambda t: torch.exp(t).reshape(1)
    errs = [
        abs(
            float(
                ode_integral(
                    rate, torch.Size((1,)), template=torch.zeros(1, dtype=D), method="euler", rtol=tol, atol=tol
                )
            )
            - (math.e - 1)
        )
        for tol in (1e-1, 1e-2, 1e-3)
    ]
    assert errs[0] > errs[1] > errs[2]


def test_newton_polish_solves_a_monotone_system():
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=D)
    f = lambda x: x @ A.T + 0.1 * torch.tanh(x) ** 3 * 0 + torch.sinh(x) * 0.01
    y = torch.tensor([[1.0, -2.0], [30.0, 4.0]], dtype=D)

    def jac(x):
        return A.expand(x.shape[0], 2, 2) + torch.diag_embed(0.01 * torch.cosh(x))

    x, ok = newton_polish(f, jac, torch.zeros_like(y), y)
    assert ok
    assert float((f(x) - y).abs().max()) < 1e-12


def test_fixed_step_methods_come_from_torchdiffeq_classes():
    """A hand-written list missed newer fixed-grid methods, which then took one step of size 1."""
    from skjacnet._compat import ODE_SOLVERS, FixedGridODESolver
    from skjacnet.integrate import FIXED_STEP_METHODS, ode_options

    for method in ODE_METHODS:
        fixed = issubclass(ODE_SOLVERS[method], FixedGridODESolver)
        assert (method in FIXED_STEP_METHODS) == fixed
        assert ("step_size" in ode_options(method, 1e-4, 1e-6)) == fixed
    assert {"euler", "midpoint", "rk4", "explicit_adams", "implicit_adams"} <= set(FIXED_STEP_METHODS)


def test_a_kink_is_a_knot_so_the_interpolant_is_exact_there():
    """g with a kink at an odd point (as a 1-D held g at the end of its range): without it as a knot the
    trapezoid/Simpson test can pass a cell across it; given as a break, the interpolant equals g there."""
    kink = 0.3137
    g = lambda s: torch.where(s < kink, torch.exp(4 * (kink - s)), 1.0 + 0.05 * (s - kink)).unsqueeze(-1)
    knots, ok = _mesh.refine_knots(g, -8, 8, rtol=1e-4, atol=1e-8, max_knots=10**5, dtype=D, device="cpu",
                                   breaks=[kink, 99.0])  # fmt: skip
    assert ok and bool((knots == kink).any()) and float(knots.max()) == 8.0  # a break outside [lo, hi] is left out
    mesh = _mesh.build_table(knots, g(knots))
    at = torch.tensor([kink], dtype=D)
    assert float(_mesh.derivative(mesh, at.unsqueeze(-1))[0, 0]) == float(g(at)[0, 0])
