"""constraint='potential': f = y0 + phi(x) - phi(x0), the Jacobian network D phi, its line integral closed form."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet.constraints.potential import PotentialJacobianNet


def _wells(X):
    """Two Gaussian wells and a slope: an energy (n,) and its gradient (n, 2)."""
    centres = np.array([[-0.5, 0.0], [0.6, 0.3]])
    diff = X[:, None, :] - centres[None]
    terms = np.exp(-4 * (diff**2).sum(-1)) * np.array([-2.0, -1.0])
    E = terms.sum(1) + 0.3 * X[:, 0]
    G = (terms[:, :, None] * (-8 * diff)).sum(1) + np.array([0.3, 0.0])
    return E, G


def test_the_model_is_a_linear_term_plus_phi_minus_phi_at_x0_and_its_jacobian_is_exact():
    X = np.random.RandomState(0).uniform(-1, 1, (80, 3))
    Y = np.c_[np.sin(X[:, 0]) * X[:, 1], X[:, 2] ** 2]
    est = JacobianRegressor(constraint="potential", max_iter=30, random_state=0).fit(X, Y)
    net = est.model_
    assert isinstance(net, PotentialJacobianNet)
    x = torch.as_tensor(np.random.RandomState(1).standard_normal((20, 3)))
    with torch.no_grad():
        expected = net.y0 + (x - net.x0) @ net.A.T + net.field(x) - net.field(net.x0[None])
        assert torch.allclose(net(x), expected, rtol=0, atol=1e-14)
        assert bool((net.A != 0).any())  # started at the least-squares fit, then trained
    auto = torch.func.vmap(torch.func.jacrev(lambda v: net(v[None])[0]))(x)
    assert torch.allclose(net.jacobian(x), auto, rtol=0, atol=1e-13)
    assert est.guarantee_["property"] == "none" and est.path_dependence_ == 0.0
    # the shared pass that training on Jacobians uses gives exactly forward and jacobian, graphs included
    with torch.no_grad():
        value, J = net.value_and_jacobian(x)
    assert torch.equal(value, net(x)) and torch.equal(J, net.jacobian(x))
    value, J = net.value_and_jacobian(x)
    (gv,) = torch.autograd.grad((value**2).sum() + (J**2).sum(), [net.A])
    (ref,) = torch.autograd.grad((net(x) ** 2).sum() + (net.jacobian(x) ** 2).sum(), [net.A])
    assert torch.allclose(gv, ref, rtol=1e-12, atol=1e-12)


def test_forces_make_the_energy_several_times_more_accurate():
    """Learning from derivatives: values and gradients at 60 points against values alone (noiseless)."""
    rng = np.random.RandomState(0)
    X, Xt = rng.uniform(-1, 1, (60, 2)), rng.uniform(-1, 1, (2000, 2))
    (E, G), (Et, _) = _wells(X), _wells(Xt)
    params = dict(constraint="potential", hidden_layer_sizes=(32, 32), max_iter=300, tol=1e-8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone = JacobianRegressor(**params).fit(X, E)
        both = JacobianRegressor(**params).fit(X, E, jacobian=G)
    err = lambda est: np.sqrt(np.mean((est.predict(Xt) - Et) ** 2))  # noqa: E731
    assert err(both) * 3 < err(alone)
    J = both.jacobian(Xt[:200])
    _, Gt = _wells(Xt[:200])
    assert np.sqrt(np.mean((J - Gt) ** 2)) < 0.1 * np.sqrt(np.mean(Gt**2))


def test_refusals_name_the_fix():
    X = np.random.RandomState(0).uniform(-1, 1, (40, 2))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        JacobianRegressor(constraint="potential", n_layers=2).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="method='quadrature'"):
        JacobianRegressor(constraint="potential", method="rk4").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="constraint"):
        InvertibleJacobianRegressor(constraint="potential").fit(X, X)
