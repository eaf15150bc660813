"""constraint='coupling': monotone couplings between invertible linear maps, exact inverse, certified expansion."""

import warnings

import numpy as np
import pytest
import torch
from attack import adam_search
from conftest import torch_predict
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet.constraints.coupling import CouplingJacobianNet

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _twist(X, strength=1.0):
    """Each coordinate pair turned by an angle that grows with the radius: no single PD layer follows it."""
    r = np.linalg.norm(X, axis=1)
    Y = X.copy()
    for j in range(0, X.shape[1] - 1, 2):
        c, s = np.cos(strength * r), np.sin(strength * r)
        Y[:, j], Y[:, j + 1] = c * X[:, j] - s * X[:, j + 1], s * X[:, j] + c * X[:, j + 1]
    return Y if X.shape[1] > 1 else X + 0.5 * np.tanh(3 * X)


def _layers(est):
    model = est.model_
    return list(model.layers) if hasattr(model, "layers") else [model]


@pytest.fixture(scope="module", params=[(1, 1), (2, 1), (3, 2), (5, 4)], ids=lambda c: f"d{c[0]}-depth{c[1]}")
def coupling_fit(request):
    d, depth = request.param
    rng = np.random.RandomState(0)
    X = rng.uniform(-1.5, 1.5, (300, d))
    est = InvertibleJacobianRegressor(constraint="coupling", n_layers=depth, random_state=0, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X * 2.0, 3.0 * _twist(X) + 1.0)
    return est, d


@pytest.mark.filterwarnings("error:Newton polish:sklearn.exceptions.ConvergenceWarning")
def test_round_trips_far_from_the_data(coupling_fit):
    est, d = coupling_fit
    rng = np.random.RandomState(1)
    X = np.vstack([rng.standard_normal((200, d)) * s for s in (1.0, 30.0, 1e3)])
    back = est.inverse_transform(est.predict(X)).reshape(X.shape)
    assert np.max(np.linalg.norm(back - X, axis=1) / (1 + np.linalg.norm(X, axis=1))) <= 1e-8
    Y = est.predict(X).reshape(X.shape) + rng.standard_normal(X.shape)  # any target, not just predictions
    again = est.predict(est.inverse_transform(Y)).reshape(X.shape)
    assert np.max(np.abs(again - Y) / (1 + np.abs(Y))) <= 1e-8


def test_the_closed_form_inverse_needs_no_newton(coupling_fit):
    est, d = coupling_fit
    Y = torch.as_tensor(np.random.RandomState(2).standard_normal((500, d)) * 5)
    with torch.no_grad():
        X = est.model_.inverse(Y, "auto")
        residual = (est.model_(X) - Y).norm(dim=1) / (1 + Y.norm(dim=1))
    assert float(residual.max()) <= 1e-12


def _block(layer: CouplingJacobianNet, split: int):
    """(a, s) -> dT/da of one coupling, per row (n, moved, kept): the block its bound L must dominate."""
    keep, move, net = layer._splits()[split]

    def T(a, s):
        spline, t = layer._spline(net, a, move.numel())
        return t + spline.value_and_slope(s)[0]

    def block(a, s):
        a = a if a.requires_grad else a.requires_grad_()
        out = T(a, s)
        rows = [torch.autograd.grad(out[:, r].sum(), a, create_graph=True)[0] for r in range(move.numel())]
        return torch.stack(rows, 1)

    return keep, move, block


def test_the_coupling_bound_survives_an_attack(coupling_fit):
    """Adam over (a, s), near the data and far beyond the knots, maximising ||dT/da||: never above L."""
    est, d = coupling_fit
    if d == 1:
        pytest.skip("a 1-D coupling conditions on nothing: dT/da is empty")
    checked = 0
    for layer in _layers(est):
        for split, (keep, move, net) in enumerate(layer._splits()):
            L = layer.coupling_bound(net, move.numel())
            keep, move, block = _block(layer, split)
            for scale in (0.5, 2.0, 10.0):
                gen = torch.Generator().manual_seed(checked)
                a0 = torch.randn(64, keep.numel(), generator=gen, dtype=torch.float64) * scale
                s0 = torch.randn(64, move.numel(), generator=gen, dtype=torch.float64) * scale

                def norm(a, s, block=block):
                    return torch.linalg.matrix_norm(block(a, s), ord=2)

                worst, _ = adam_search(norm, a0, s0, steps=60, lr=0.1)
                assert 0 < worst <= L * (1 + 1e-9), (worst, L)
                checked += 1
    assert checked >= 3


def test_the_smallest_singular_value_never_goes_below_the_certificate(coupling_fit):
    est, d = coupling_fit
    c = est.guarantee_["expansion_lower"]
    assert c > 0
    gen = torch.Generator().manual_seed(3)
    start = torch.randn(48, d, generator=gen, dtype=torch.float64) * 4

    def smin(x):
        x = x if x.requires_grad else x.requires_grad_()
        out = torch_predict(est, x).reshape(len(x), d)
        J = torch.stack([torch.autograd.grad(out[:, i].sum(), x, create_graph=True)[0] for i in range(d)], 1)
        return torch.linalg.svdvals(J)[:, -1]

    worst, _ = adam_search(smin, start, steps=60, lr=0.1, maximize=False)
    assert worst >= c * (1 - 1e-9)
    assert est.check_guarantee(np.random.RandomState(4).standard_normal((300, d)) * 5, random_state=0)["holds"]


@quiet
def test_fits_a_twist_that_one_positive_definite_layer_cannot():
    """A radius-dependent rotation: one PD layer's Jacobian (constant x symmetric PD) cannot follow it."""
    rng = np.random.RandomState(5)
    X, Xt = rng.uniform(-1.5, 1.5, (600, 2)), rng.uniform(-1.5, 1.5, (2000, 2))
    Y, Yt = _twist(X), _twist(Xt)
    coupling = InvertibleJacobianRegressor(constraint="coupling", n_layers=2, random_state=0, max_iter=150)
    pd = InvertibleJacobianRegressor(random_state=0, max_iter=150)
    r2_coupling = r2_score(Yt, coupling.fit(X, Y).predict(Xt))
    r2_pd = r2_score(Yt, pd.fit(X, Y).predict(Xt))
    assert r2_coupling > 0.99 and r2_coupling > r2_pd + 0.02, (r2_coupling, r2_pd)


@quiet
def test_one_feature_follows_the_data_orientation():
    X = np.linspace(-2, 2, 80).reshape(-1, 1)
    est = InvertibleJacobianRegressor(constraint="coupling", random_state=0, max_iter=40).fit(X, -np.tanh(2 * X))
    assert est.increasing_.tolist() == [-1.0]
    assert est.guarantee_["property"].startswith("strictly decreasing")
    grid = np.linspace(-1e3, 1e3, 20001).reshape(-1, 1)
    assert np.all(np.diff(est.predict(grid)) < 0)


def test_refusals_name_the_fix():
    X = np.random.RandomState(6).standard_normal((30, 3))
    with pytest.raises(ValueError, match="square maps"):
        JacobianRegressor(constraint="coupling", max_iter=2).fit(X, X[:, :2])
    with pytest.raises(ValueError, match="method='quadrature'"):
        InvertibleJacobianRegressor(constraint="coupling", method="rk4", max_iter=2).fit(X, X)
    est = InvertibleJacobianRegressor(constraint="coupling", max_iter=2).fit(X, X)
    est.set_params(inverse_method="dopri5")
    with pytest.raises(ValueError, match="inverse_method='auto'"):
        est.inverse_transform(X)


@quiet
def test_learns_from_observed_jacobians_and_keeps_the_guarantee():
    rng = np.random.RandomState(7)
    X = rng.uniform(-1, 1, (80, 2))
    A = np.array([[1.0, 0.5], [-0.5, 1.0]])
    Y = X @ A.T + 0.2 * np.tanh(X)
    J = np.repeat(A[None], len(X), 0) + 0.2 * np.einsum("ij,jk->ijk", 1 / np.cosh(X) ** 2, np.eye(2))
    est = InvertibleJacobianRegressor(constraint="coupling", random_state=0, max_iter=30).fit(X, Y, jacobian=J)
    err = np.abs(est.jacobian(X) - J).mean()
    assert err < 0.1, err
    assert est.check_guarantee(X * 3, random_state=0)["holds"]


@quiet
def test_grid_search_over_the_invertible_constraints_in_a_pipeline():
    rng = np.random.RandomState(8)
    X = rng.uniform(-1.5, 1.5, (90, 2))
    pipe = make_pipeline(StandardScaler(), InvertibleJacobianRegressor(random_state=0, max_iter=10))
    grid = {"invertiblejacobianregressor__constraint": ["positive_definite", "kronecker", "coupling"]}
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, _twist(X))
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@quiet
@pytest.mark.parametrize("epsilon", [1e-4, 0.5, 3.0])
def test_every_epsilon_keeps_the_slope_floor(epsilon):
    """Heights eps + softplus(...) >= eps for any eps (a (1 - eps) factor once made them fall for eps > 1)."""
    X = np.linspace(-2, 2, 60).reshape(-1, 1)
    est = InvertibleJacobianRegressor(constraint="coupling", epsilon=epsilon, random_state=0, max_iter=30)
    est.fit(X, np.tanh(3 * X).ravel())
    grid = np.linspace(-50, 50, 20001).reshape(-1, 1)
    slopes = est.jacobian(grid).ravel()
    c = est.guarantee_["expansion_lower"]
    assert c > 0 and slopes.min() >= c * (1 - 1e-9)
    model = est.model_
    keep, move, net = model._splits()[0]
    a = torch.linspace(-100, 100, 401, dtype=torch.float64).reshape(-1, 1)
    spline, _ = model._spline(net, a[:, :0], move.numel())
    assert float(spline.H.min()) >= min(1.0, epsilon) * (1 - 1e-12)
    X2 = np.random.RandomState(9).uniform(-1.5, 1.5, (120, 2))
    est2 = InvertibleJacobianRegressor(constraint="coupling", epsilon=epsilon, random_state=0, max_iter=20)
    est2.fit(X2, _twist(X2))
    assert est2.check_guarantee(X2 * 4, random_state=0)["holds"]


def test_epsilon_auto_is_the_structures_floor():
    X = np.random.RandomState(10).standard_normal((40, 2))
    coupling = InvertibleJacobianRegressor(constraint="coupling", max_iter=2).fit(X, X)
    assert coupling.get_params()["epsilon"] == "auto" and coupling._spec.epsilon == 1e-2
    assert InvertibleJacobianRegressor(max_iter=2).fit(X, X)._spec.epsilon == 1e-4
    assert InvertibleJacobianRegressor(constraint="coupling", epsilon=0.3, max_iter=2).fit(X, X)._spec.epsilon == 0.3
