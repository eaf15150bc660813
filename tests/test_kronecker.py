"""constraint='kronecker': a bijection of R^d with Kronecker-factored Jacobian and an exact inverse.

Attacked like the other guarantees: round trips far from the data, a gradient search for two
inputs with close outputs (never below the certified constant c), the exact Jacobian's structure.
"""

import pickle

import numpy as np
import pytest
import torch
from attack import adam_search, pair_ratio, pair_starts
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet.constraints.kronecker import kron_apply, kron_shape


def _data(d: int, n: int = 300, seed: int = 0):
    """A target in the model's class: Kronecker mixing of a coordinate-wise increasing map.

    (The class is narrower than 'positive_definite': on a dense mixing A, d = 6, R^2 is 0.75
    against 0.99 — the price of the cheap inverse, documented in the guide.)
    """
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    d1, d2 = kron_shape(d)
    A = np.kron(rng.standard_normal((d1, d1)) + 2 * np.eye(d1), rng.standard_normal((d2, d2)) + 2 * np.eye(d2))
    return X * [1.0 + j for j in range(d)], (np.tanh(X) + 0.5 * X) @ A.T  # columns in different units


@pytest.fixture(scope="module", params=[1, 4, 6, 7], ids=lambda d: f"d{d}")
def kron_fit(request):
    d = request.param
    X, Y = _data(d)
    est = InvertibleJacobianRegressor(constraint="kronecker", random_state=0, max_iter=60, early_stopping=False)
    return est.fit(X, Y.ravel() if d == 1 else Y), X, Y


def test_kron_helpers_match_dense_products():
    assert [kron_shape(d) for d in (1, 4, 6, 7, 12, 64)] == [(1, 1), (2, 2), (2, 3), (1, 7), (3, 4), (8, 8)]
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    B = torch.randn(4, 4, generator=gen, dtype=torch.float64)
    x = torch.randn(5, 12, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(kron_apply(A, B, x), x @ torch.kron(A, B).T, rtol=1e-13, atol=1e-13)


@pytest.mark.filterwarnings("error:Newton polish:sklearn.exceptions.ConvergenceWarning")
def test_fits_and_round_trips_far_from_the_data(kron_fit):
    est, X, Y = kron_fit
    assert est.score(X, Y.ravel() if X.shape[1] == 1 else Y) > 0.9
    rng = np.random.RandomState(1)
    for scale in (1.0, 1e3, 1e6):
        A = rng.standard_normal((500, X.shape[1])) * scale
        P = est.predict(A)
        back = est.inverse_transform(P).reshape(A.shape)
        # relative to the inputs' size: at |x| ~ 1e6 the map (cubic beyond the data) reaches |y| ~ 1e18,
        # whose rounding alone moves x by ~1 (measured 1.5 on |x| up to 3.5e6, i.e. 4e-7 relative)
        assert np.abs(back - A).max() <= 1e-6 * max(1.0, np.abs(A).max()), scale
        # and the round trip lands on the same outputs, to their rounding
        assert np.abs(est.predict(back).reshape(P.shape) - P).max() <= 1e-12 * max(1.0, np.abs(P).max()), scale


def test_inverse_of_arbitrary_targets_is_onto(kron_fit):
    """Any y has a preimage (the map is onto R^d): predict(inverse_transform(y)) == y."""
    est, X, Y = kron_fit
    d = X.shape[1]
    Yq = np.random.RandomState(2).standard_normal((300, d)) * 1e3
    Yq = Yq.ravel() if d == 1 else Yq
    np.testing.assert_allclose(est.predict(est.inverse_transform(Yq)), Yq, rtol=1e-9, atol=1e-6)


def test_exact_inverse_agrees_with_the_inverse_ode(kron_fit):
    est, X, Y = kron_fit
    Yq = est.predict(X[:40])
    exact = est.inverse_transform(Yq)
    ode = est.set_params(inverse_method="dopri5").inverse_transform(Yq)
    est.set_params(inverse_method="auto")
    np.testing.assert_allclose(exact, ode, rtol=1e-8, atol=1e-8)


def test_no_two_inputs_are_closer_in_output_than_c_allows(kron_fit):
    """Random, near and far pairs, then Adam minimising ||f(a) - f(b)|| / ||a - b||."""
    est, X, _ = kron_fit
    d, c = X.shape[1], est.guarantee_["expansion_lower"]
    assert c > 0
    assert est.check_guarantee(X, random_state=0)["holds"]
    worst, _ = adam_search(pair_ratio(est), *pair_starts(d, 32, 5.0), steps=100, maximize=False)
    assert worst >= c * (1 - 1e-9)


def test_jacobian_is_kronecker_factored_and_exact(kron_fit):
    """The autograd Jacobian of predict equals U diag(g) V with U, V Kronecker products."""
    est, X, _ = kron_fit
    model = est.model_
    x = torch.as_tensor((X[:20] - est._x_mean) / est._x_scale).requires_grad_(True)
    out = model(x)
    J = torch.stack([torch.autograd.grad(out[:, k].sum(), x, retain_graph=True)[0] for k in range(out.shape[1])], 1)
    torch.testing.assert_close(J, model.jacobian(x.detach()), rtol=1e-9, atol=1e-12)
    d1, d2 = model.shape
    with torch.no_grad():
        C = torch.kron(torch.linalg.matrix_exp(model.C1), torch.linalg.matrix_exp(model.C2))
        torch.testing.assert_close(model.U(), model.out_sign[:, None] * C)
    assert d1 * d2 == X.shape[1]


def test_decreasing_orientation_is_followed():
    X, Y = _data(4)
    est = InvertibleJacobianRegressor(constraint="kronecker", random_state=0, max_iter=60).fit(X, -Y)
    assert np.all(est.increasing_ == -1) and est.score(X, -Y) > 0.9


def test_non_square_is_refused_and_jacobian_regressor_accepts_it():
    X, Y = _data(4)
    with pytest.raises(ValueError, match="square maps"):
        InvertibleJacobianRegressor(constraint="kronecker").fit(X, Y[:, :2])
    est = JacobianRegressor(constraint="kronecker", random_state=0, max_iter=5).fit(X, Y)
    assert est.guarantee_["expansion_lower"] > 0 and not hasattr(est, "inverse_transform")


def test_pickle_pipeline_and_grid_search_over_invertible_structures():
    X, Y = _data(4, n=120)
    est = InvertibleJacobianRegressor(random_state=0, max_iter=10)
    search = GridSearchCV(est, {"constraint": ["positive_definite", "kronecker"]}, cv=3).fit(X, Y)
    assert set(search.cv_results_["param_constraint"]) == {"positive_definite", "kronecker"}
    pipe = make_pipeline(StandardScaler(), InvertibleJacobianRegressor(constraint="kronecker", random_state=0))
    pipe.set_params(invertiblejacobianregressor__max_iter=10).fit(X, Y)
    np.testing.assert_allclose(pipe.inverse_transform(pipe.predict(X)), X, rtol=1e-9, atol=1e-9)
    loaded = pickle.loads(pickle.dumps(pipe))
    assert np.array_equal(loaded.predict(X), pipe.predict(X))
    assert np.array_equal(loaded.inverse_transform(Y), pipe.inverse_transform(Y))


def test_sample_weights_equal_repetitions():
    X, Y = _data(4, n=40)
    w = np.random.RandomState(3).randint(0, 3, 40)
    kw = dict(constraint="kronecker", random_state=0, max_iter=5, batch_size=1000)
    a = InvertibleJacobianRegressor(**kw).fit(X, Y, sample_weight=w)
    b = InvertibleJacobianRegressor(**kw).fit(np.repeat(X, w, 0), np.repeat(Y, w, 0))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9, atol=1e-9)


def test_certificate_from_the_factors_bounds_the_dense_one(kron_fit, monkeypatch):
    """Above DENSE_SVD_MAX the certificate uses s(A (x) B) = s(A) s(B) and the extreme scales:
    never above the exact constant, and equal to it when the scales are isotropic."""
    import copy

    import skjacnet._certificate as certificate

    est = kron_fit[0]
    dense = certificate.guarantee(est)["expansion_lower"]
    assert dense == est.guarantee_["expansion_lower"]
    monkeypatch.setattr("skjacnet.constraints.kronecker.DENSE_SVD_MAX", 0)
    factored = certificate.guarantee(est)["expansion_lower"]
    assert 0 < factored <= dense * (1 + 1e-12)
    iso = copy.deepcopy(est)
    iso._x_scale, iso._y_scale = np.full_like(est._x_scale, 2.0), np.full_like(est._y_scale, 3.0)
    from_factors = certificate.guarantee(iso)["expansion_lower"]
    monkeypatch.setattr("skjacnet.constraints.kronecker.DENSE_SVD_MAX", 10**6)
    assert from_factors == pytest.approx(certificate.guarantee(iso)["expansion_lower"], rel=1e-10)


def test_no_dense_d_by_d_tensor_is_stored():
    """The network is its factors: O(d1^2 + d2^2 + d) numbers, not O(d^2) (the frozen mesh,
    knots x d, is the rest of a pickle)."""
    d = 64
    X, Y = _data(d, n=80)
    est = InvertibleJacobianRegressor(constraint="kronecker", random_state=0, max_iter=2, hidden_layer_sizes=(8,))
    est.fit(X, Y)
    assert max(t.numel() for t in est.model_.state_dict().values()) < d * d
    np.testing.assert_allclose(est.inverse_transform(est.predict(X)), X, rtol=1e-9, atol=1e-9)
