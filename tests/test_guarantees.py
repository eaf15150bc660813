"""Each advertised guarantee, attacked on the function that ``predict`` computes.

Dense grids far beyond the data, random and near pairs, and gradient ascent
towards the worst pair.  Ratios get only the slack of float64 rounding.
"""

import numpy as np
import pytest
import torch
from attack import adam_search, pair_ratio, pair_starts
from conftest import torch_predict

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

EPS = np.finfo(np.float64).eps


def _ratios(est, A, B):
    """||f(a) - f(b)|| / ||a - b|| and the float64 rounding slack of each ratio."""
    fa, fb = est.predict(A).reshape(len(A), -1), est.predict(B).reshape(len(B), -1)
    num = np.linalg.norm(fa - fb, axis=1)
    den = np.linalg.norm(A - B, axis=1)
    slack = 8 * EPS * (np.linalg.norm(fa, axis=1) + np.linalg.norm(fb, axis=1) + 1) / den
    return num / den, slack


def _pairs(rng, d, n, scale):
    A = rng.standard_normal((n, d)) * scale
    near = A + rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-6, -1, (n, 1))
    far = rng.standard_normal((n, d)) * scale
    return np.vstack([A, A]), np.vstack([near, far])


def _worst_pair_search(est, d, k_sign, starts=32, steps=150, scale=3.0, seed=0):
    """Gradient steps on (a, b) to maximise (k_sign=1) or minimise (-1) the ratio."""
    _, (a, b) = adam_search(pair_ratio(est), *pair_starts(d, starts, scale, seed), steps=steps, maximize=k_sign > 0)
    A, B = a.numpy(), b.numpy()
    keep = np.linalg.norm(A - B, axis=1) > 1e-7
    return _ratios(est, A[keep], B[keep])


# --------------------------------------------------------------------------- lipschitz
# (features, targets, n_layers): every shape at depth 1, and compositions of 2 and 4 layers
LIPSCHITZ_CASES = [(1, 1, 1), (3, 2, 1), (1, 3, 1), (4, 1, 1), (3, 2, 2), (3, 2, 4), (1, 1, 4)]


@pytest.fixture(scope="module", params=LIPSCHITZ_CASES, ids=lambda c: f"{c[0]}to{c[1]}-depth{c[2]}")
def lipschitz_fit(request):
    d, m, depth = request.param
    rng = np.random.RandomState(1)
    X = rng.uniform(-2, 2, (120, d))
    # steeper than k = 0.5 on purpose: the constraint is active
    W = rng.standard_normal((d, m)) * 3
    Y = 10 * (np.abs(X) @ np.abs(W) + np.sin(3 * X) @ W)
    k = 0.5
    est = JacobianRegressor(constraint="lipschitz", lipschitz_constant=k, n_layers=depth, random_state=0, max_iter=150)
    est.fit(X * 7.0, Y.ravel() if m == 1 else Y)  # units with different scales
    return est, d, k


def test_lipschitz_random_near_and_far_pairs(lipschitz_fit):
    est, d, k = lipschitz_fit
    rng = np.random.RandomState(2)
    for scale in (1.0, 30.0, 1e3, 1e6):
        ratio, slack = _ratios(est, *_pairs(rng, d, 2000, scale))
        assert np.all(ratio <= k * (1 + 1e-9) + slack), (scale, ratio.max())


def test_lipschitz_dense_grid_1d_directions(lipschitz_fit):
    est, d, k = lipschitz_fit
    rng = np.random.RandomState(3)
    for span in (20.0, 1e6):
        direction = rng.standard_normal(d)
        direction /= np.linalg.norm(direction)
        t = np.linspace(-span, span, 200_001)
        P = t[:, None] * direction
        ratio, slack = _ratios(est, P[:-1], P[1:])
        assert np.all(ratio <= k * (1 + 1e-9) + slack)


def test_lipschitz_gradient_search_for_the_worst_pair(lipschitz_fit):
    est, d, k = lipschitz_fit
    ratio, slack = _worst_pair_search(est, d, k_sign=1)
    assert np.all(ratio <= k * (1 + 1e-9) + slack)
    # the constraint is active: the search gets close to the bound
    assert ratio.max() > 0.5 * k


def test_lipschitz_jacobian_norm_everywhere_searched(lipschitz_fit):
    est, d, k = lipschitz_fit
    gen = torch.Generator().manual_seed(4)
    X = torch.cat([torch.randn(3000, d, generator=gen, dtype=torch.float64) * s for s in (1.0, 10.0, 1e4)])
    J = torch.autograd.functional.jacobian(lambda x: torch_predict(est, x).sum(0), X).reshape(-1, len(X), d)
    norms = torch.linalg.matrix_norm(J.permute(1, 0, 2), ord=2)
    assert float(norms.max()) <= k * (1 + 1e-9)


# --------------------------------------------------------------------------- invertible, 1-D
@pytest.fixture(scope="module", params=["exp", "decreasing"])
def monotone_fit(request):
    rng = np.random.RandomState(5)
    X = rng.uniform(-1, 1, (40, 1))
    y = np.exp(X).ravel() if request.param == "exp" else 2.0 * np.exp(-X).ravel()
    sign = 1 if request.param == "exp" else -1
    return InvertibleJacobianRegressor(random_state=0).fit(X, y), sign


def test_orientation_is_learned(monotone_fit):
    est, sign = monotone_fit
    assert est.increasing_.tolist() == [sign]


def test_strictly_monotone_on_dense_grids(monotone_fit):
    est, sign = monotone_fit
    for span in (3.0, 1e3, 1e6):
        x = np.linspace(-span, span, 400_001).reshape(-1, 1)
        assert np.all(sign * np.diff(est.predict(x)) > 0), span


@pytest.mark.filterwarnings("error:Newton polish:sklearn.exceptions.ConvergenceWarning")
def test_round_trips_1d_far_outside_the_data(monotone_fit):
    est, _ = monotone_fit
    x = np.concatenate([np.linspace(-3, 3, 2001), np.geomspace(1, 1e6, 200), -np.geomspace(1, 1e6, 200)]).reshape(-1, 1)
    back = est.inverse_transform(est.predict(x))
    assert np.max(np.abs(back - x) / (1 + np.abs(x))) <= 1e-8
    y = np.concatenate([np.linspace(-1e4, 1e4, 2001), np.linspace(0.1, 8, 2001)])
    assert np.max(np.abs(est.predict(est.inverse_transform(y)) - y) / (1 + np.abs(y))) <= 1e-8


# --------------------------------------------------------------------------- invertible, n-D
@pytest.fixture(scope="module", params=[(2, 1), (3, 1), (2, 2), (3, 4)], ids=lambda c: f"d{c[0]}-depth{c[1]}")
def square_fit(request):
    d, depth = request.param
    rng = np.random.RandomState(6)
    X = rng.uniform(-1, 1, (150, d))
    A = np.array([[1.0, 0.4, 0.0], [-0.3, -1.2, 0.2], [0.1, 0.0, 0.8]])[:d, :d]
    Y = X @ A.T + 0.3 * np.tanh(2 * X) @ A.T
    est = InvertibleJacobianRegressor(n_layers=depth, random_state=0, max_iter=150)
    return est.fit(X * 3.0, Y * 5.0), d


@pytest.mark.filterwarnings("error:Newton polish:sklearn.exceptions.ConvergenceWarning")
def test_square_round_trips_far_from_the_data(square_fit):
    est, d = square_fit
    rng = np.random.RandomState(7)
    X = np.vstack([rng.standard_normal((300, d)) * s for s in (1.0, 30.0, 1e3)])
    back = est.inverse_transform(est.predict(X))
    assert np.max(np.linalg.norm(back - X, axis=1) / (1 + np.linalg.norm(X, axis=1))) <= 1e-8
    Y = est.predict(X) + rng.standard_normal(X.shape)  # any target, not just predictions
    assert np.max(np.abs(est.predict(est.inverse_transform(Y)) - Y) / (1 + np.abs(Y))) <= 1e-8


def test_square_no_two_inputs_share_an_output(square_fit):
    est, d = square_fit
    bound = est.guarantee_["expansion_lower"]
    if est.n_layers == 1:  # the certificate, computed independently
        with torch.no_grad():
            M = (est.model_.M() * torch.as_tensor(est._y_scale)[:, None]).numpy()
        # ||f(a) - f(b)|| >= sigma_min(diag(sy) M) * eps * ||a_s - b_s||
        independent = np.linalg.svd(M, compute_uv=False).min() * est._spec.epsilon / est._x_scale.max()
        assert bound == pytest.approx(independent, rel=1e-12)
    rng = np.random.RandomState(8)
    ratio, _ = _ratios(est, *_pairs(rng, d, 2000, 10.0))
    assert ratio.min() >= bound * (1 - 1e-6)
    ratio, _ = _worst_pair_search(est, d, k_sign=-1, scale=10.0)
    assert ratio.min() >= bound * (1 - 1e-6)


# --------------------------------------------------------------------------- integrability diagnostic
def test_path_dependence_is_zero_for_conservative_models(lipschitz_fit):
    est, d, _ = lipschitz_fit
    X = np.random.RandomState(9).standard_normal((20, d)) * 5
    assert np.all(est.path_dependence(X) == 0) and est.path_dependence_ == 0


def test_path_dependence_measures_the_curl_of_the_nonconservative_field(monkeypatch):
    import skjacnet._fitting as base

    rng = np.random.RandomState(10)
    X = rng.standard_normal((150, 3))
    y = np.sin(X[:, 0] * X[:, 1]) + X[:, 2] ** 2
    monkeypatch.setattr(base, "PATH_WARN", 0.0)
    with pytest.warns(UserWarning, match="far from conservative"):
        est = JacobianRegressor(constraint="nonconservative", random_state=0, max_iter=100).fit(X, y)
    assert est.path_dependence_ > 1e-3
    assert est.path_dependence(X).max() > 1e-3
    # a constant field is conservative: the diagnostic vanishes
    with torch.no_grad():
        est.model_.field.weights[0].zero_()
    assert est.path_dependence(X).max() < 1e-12


# --------------------------------------------------------------------------- fewer targets than features
@pytest.fixture(scope="module", params=[(4, 1, 1), (3, 2, 1), (3, 2, 2)], ids=lambda c: f"{c[0]}to{c[1]}-depth{c[2]}")
def submersion_fit(request):
    d, m, depth = request.param
    rng = np.random.RandomState(4)
    X = rng.standard_normal((200, d)) * [1.0 + j for j in range(d)]
    Y = np.sin(X[:, :m]) + 0.1 * X[:, -m:] ** 2
    est = JacobianRegressor(constraint="positive_definite", n_layers=depth, random_state=0, max_iter=60)
    return est.fit(X, Y.ravel() if m == 1 else Y), X


def _smin(est, x: torch.Tensor) -> torch.Tensor:
    """Smallest singular value of the autograd Jacobian of predict at each row of x (differentiable)."""
    out = torch_predict(est, x)
    J = torch.stack([torch.autograd.grad(out[:, k].sum(), x, create_graph=True)[0] for k in range(out.shape[1])], 1)
    return torch.linalg.svdvals(J)[:, -1]


def test_submersion_jacobian_never_loses_rank(submersion_fit):
    """m < d: the first outputs of a bijection. sigma_min(J) >= c at random, far and searched points."""
    est, X = submersion_fit
    c = est.guarantee_["jacobian_lower"]
    assert c > 0 and est.guarantee_["expansion_lower"] is None
    rng = np.random.RandomState(5)
    pts = np.vstack([X, rng.standard_normal((500, X.shape[1])) * 1e3])
    x = torch.as_tensor(pts).requires_grad_(True)
    assert float(_smin(est, x).min()) >= c * (1 - 1e-9)
    start = torch.as_tensor(rng.standard_normal((32, X.shape[1])) * 3)
    worst, _ = adam_search(lambda x: _smin(est, x), start, steps=60, maximize=False)  # toward a critical point
    assert worst >= c * (1 - 1e-9)
    report = est.check_guarantee(pts, random_state=0)
    assert report["holds"] and report["worst_ratio"] >= c
    est.guarantee_ = dict(est.guarantee_, jacobian_lower=10 * report["worst_ratio"])  # the checker can fail
    assert not est.check_guarantee(pts, random_state=0)["holds"]
    est.guarantee_ = dict(est.guarantee_, jacobian_lower=c)
