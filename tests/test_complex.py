"""constraint='complex': predict is holomorphic (Cauchy-Riemann), attacked by finite differences,
exact autograd Jacobians and a search for the worst point; it fits exp(z) + z^2."""

import pickle

import numpy as np
import pytest
import torch
from attack import adam_search
from conftest import torch_predict

from skjacnet import JacobianRegressor
from skjacnet.exceptions import NonFiniteError


def _target(Z: np.ndarray) -> np.ndarray:
    z = Z[:, 0] + 1j * Z[:, 1]
    w = np.exp(z) + z**2
    return np.c_[w.real, w.imag]


@pytest.fixture(scope="module")
def exp_fit():
    rng = np.random.RandomState(0)
    Z = rng.uniform(-1, 1, (200, 2))
    est = JacobianRegressor(constraint="complex", activation="sin", random_state=0, max_iter=100)
    return est.fit(Z, _target(Z))


def _cr_residual_fd(est, A: np.ndarray, h: float) -> np.ndarray:
    """|u_a - v_b| + |u_b + v_a| per point by central differences, relative to the largest partial."""
    fa = (est.predict(A + [h, 0]) - est.predict(A - [h, 0])) / (2 * h)
    fb = (est.predict(A + [0, h]) - est.predict(A - [0, h])) / (2 * h)
    res = np.abs(fa[:, 0] - fb[:, 1]) + np.abs(fb[:, 0] + fa[:, 1])
    return res / np.max(np.abs(np.c_[fa, fb]), axis=1)


def _jacobians(est, A: np.ndarray) -> torch.Tensor:
    """Exact (autograd) Jacobians of what predict computes, (n, m, d)."""
    x = torch.as_tensor(A, dtype=torch.float64)
    out_dim = est.n_targets_
    rows = []
    for k in range(out_dim):
        xk = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(torch_predict(est, xk)[:, k].sum(), xk)
        rows.append(g)
    return torch.stack(rows, 1)


def test_fits_exp_plus_square_well(exp_fit):
    rng = np.random.RandomState(1)
    Zt = rng.uniform(-1, 1, (300, 2))
    assert exp_fit.score(Zt, _target(Zt)) > 0.999


def test_cauchy_riemann_by_finite_differences_on_a_dense_grid(exp_fit):
    g = np.linspace(-6, 6, 61)  # 6x beyond the data in every direction
    A = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    assert _cr_residual_fd(exp_fit, A, 1e-5).max() <= 1e-6
    report = exp_fit.check_guarantee(A, random_state=0)
    assert report["holds"] and report["worst_ratio"] <= 1e-6


def test_cauchy_riemann_exact_by_autograd(exp_fit):
    rng = np.random.RandomState(2)
    A = np.vstack([rng.uniform(-1, 1, (200, 2)), rng.standard_normal((200, 2)) * 20])
    J = _jacobians(exp_fit, A).numpy()
    scale = np.abs(J).max(axis=(1, 2))
    np.testing.assert_array_less(np.abs(J[:, 0, 0] - J[:, 1, 1]) / scale, 1e-12)
    np.testing.assert_array_less(np.abs(J[:, 0, 1] + J[:, 1, 0]) / scale, 1e-12)


def test_search_for_the_worst_cauchy_riemann_point(exp_fit):
    """Adam on z to maximise the relative CR residual of the exact Jacobian: it stays at rounding level."""
    start = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3

    def residual(z):
        out = torch_predict(exp_fit, z)
        J = torch.stack([torch.autograd.grad(out[:, k].sum(), z, create_graph=True)[0] for k in range(2)], 1)
        return ((J[:, 0, 0] - J[:, 1, 1]).abs() + (J[:, 0, 1] + J[:, 1, 0]).abs()) / J.abs().amax((1, 2))

    worst, _ = adam_search(residual, start, steps=40, lr=0.1)
    assert worst <= 1e-12


def test_several_complex_variables():
    """C^2 -> C^1 (4 real features, 2 real targets): holomorphic in each variable, fits z1 z2 + exp(z1)."""
    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, (300, 4))
    z1, z2 = X[:, 0] + 1j * X[:, 1], X[:, 2] + 1j * X[:, 3]
    w = z1 * z2 + np.exp(z1)
    est = JacobianRegressor(constraint="complex", activation="sin", random_state=0, max_iter=150)
    est.fit(X, np.c_[w.real, w.imag])
    assert est.score(X, np.c_[w.real, w.imag]) > 0.99
    J = _jacobians(est, rng.standard_normal((100, 4)) * 3).numpy()
    for j in range(2):  # each complex input variable
        a, b = J[:, :, 2 * j], J[:, :, 2 * j + 1]
        scale = np.abs(J).max()
        assert np.abs(a[:, 0] - b[:, 1]).max() / scale < 1e-12
        assert np.abs(b[:, 0] + a[:, 1]).max() / scale < 1e-12
    assert est.guarantee_["domain"] == "C^2"


def test_fixed_step_ode_method_is_exactly_holomorphic():
    """rk4 takes a fixed number of steps: a fixed rule, so predict is holomorphic exactly."""
    rng = np.random.RandomState(4)
    Z = rng.uniform(-1, 1, (60, 2))
    est = JacobianRegressor(constraint="complex", activation="sin", method="rk4", random_state=0, max_iter=10)
    est.fit(Z, _target(Z))
    assert _cr_residual_fd(est, rng.uniform(-2, 2, (100, 2)), 1e-5).max() <= 1e-8


def test_adaptive_ode_method_is_holomorphic_up_to_its_tolerance():
    """dopri5 chooses steps per batch: its values are within tolerance of the exactly holomorphic
    integral of the same network (evaluated here by a tight fixed Gauss-Kronrod rule)."""
    rng = np.random.RandomState(4)
    Z = rng.uniform(-1, 1, (60, 2))
    est = JacobianRegressor(constraint="complex", activation="sin", method="dopri5", random_state=0, max_iter=10)
    est.fit(Z, _target(Z))
    A = rng.uniform(-2, 2, (100, 2))
    ode = est.predict(A)
    model = est.model_
    model.use_integrator("quadrature", 1e-12, 1e-12)
    model.freeze(torch.as_tensor((A - est._x_mean) / est._x_scale))
    exact = est.predict(A)
    assert _cr_residual_fd(est, A, 1e-5).max() <= 1e-8  # the reference is holomorphic
    assert np.abs(ode - exact).max() <= 10 * est.rtol * np.abs(exact).max()


def test_identity_activation_gives_a_holomorphic_polynomial():
    """activation='identity': h is affine in z, so f is a quadratic polynomial; z^2 is fitted exactly."""
    rng = np.random.RandomState(5)
    Z = rng.uniform(-1, 1, (100, 2))
    z = Z[:, 0] + 1j * Z[:, 1]
    W = np.c_[(z**2).real, (z**2).imag]
    est = JacobianRegressor(constraint="complex", activation="identity", random_state=0, max_iter=300, alpha=0.0)
    assert est.fit(Z, W).score(Z, W) > 0.9999


def test_bad_shapes_and_activations_are_refused():
    X4, X3 = np.zeros((10, 4)), np.zeros((10, 3))
    est = JacobianRegressor(constraint="complex", activation="sin")
    with pytest.raises(ValueError, match="even number of columns"):
        est.fit(X3, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="1-D y is one target"):
        est.fit(X4, np.zeros(10))
    with pytest.raises(ValueError, match="entire activation"):
        JacobianRegressor(constraint="complex", activation="tanh").fit(X4, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="monotonic_cst is its own structure"):
        JacobianRegressor(constraint="complex", activation="sin", monotonic_cst=[1, 0, 0, 0]).fit(X4, X4[:, :2])


def test_far_inputs_raise_instead_of_returning_nan(exp_fit):
    """An entire non-polynomial map grows exponentially somewhere: overflow is an error, never NaN."""
    with pytest.raises(NonFiniteError):
        exp_fit.predict([[1e4, 1e4]])


def test_pickle_round_trip_is_bit_identical(exp_fit):
    A = np.random.RandomState(6).uniform(-2, 2, (50, 2))
    assert np.array_equal(pickle.loads(pickle.dumps(exp_fit)).predict(A), exp_fit.predict(A))


def test_sample_weights_equal_repetitions():
    rng = np.random.RandomState(7)
    Z = rng.uniform(-1, 1, (40, 2))
    W = _target(Z)
    w = rng.randint(0, 3, 40)
    kw = dict(constraint="complex", activation="sin", random_state=0, max_iter=5, batch_size=1000)
    a = JacobianRegressor(**kw).fit(Z, W, sample_weight=w)
    b = JacobianRegressor(**kw).fit(np.repeat(Z, w, 0), np.repeat(W, w, 0))
    np.testing.assert_allclose(a.predict(Z), b.predict(Z), rtol=1e-9, atol=1e-9)
