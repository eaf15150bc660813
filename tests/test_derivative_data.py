"""fit(X, y, jacobian=J): observed Jacobians in the loss (Sobolev training), derivative-only fits, routing."""

import numpy as np
import pytest
import sklearn
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _energy(X):
    return np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.3 * X[:, 0] ** 2


def _gradient(X):
    return np.c_[np.cos(X[:, 0]) * np.cos(X[:, 1]) + 0.6 * X[:, 0], -np.sin(X[:, 0]) * np.sin(X[:, 1])]


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X, Xt = rng.uniform(-2, 2, (40, 2)), rng.uniform(-2, 2, (2000, 2))
    return X, _energy(X), _gradient(X), Xt, _energy(Xt)


@pytest.mark.parametrize(
    "params", [dict(), dict(constraint="lipschitz", lipschitz_constant=3.0, max_iter=100)], ids=["none", "lipschitz"]
)
def test_gradients_make_a_small_sample_fit_several_times_better(data, params):
    X, y, G, Xt, yt = data
    values = JacobianRegressor(random_state=0, **params).fit(X, y)
    both = JacobianRegressor(random_state=0, **params).fit(X, y, jacobian=G)
    err_values = np.mean((values.predict(Xt) - yt) ** 2)
    err_both = np.mean((both.predict(Xt) - yt) ** 2)
    # measured 3.4x (none: 5.7e-4 -> 1.7e-4; the former full field, worse on values alone, 10x) and 9x (lipschitz)
    assert err_both < err_values / 3, (err_values, err_both)
    assert both.guarantee_["property"] == values.guarantee_["property"]


def test_derivatives_and_one_reference_value_determine_the_function(data):
    """An energy known at one configuration, forces everywhere: the rest of the values are NaN."""
    X, y, G, Xt, yt = data
    y_one = np.full_like(y, np.nan)
    y_one[0] = y[0]
    est = JacobianRegressor(random_state=0).fit(X, y_one, jacobian=G)
    assert r2_score(yt, est.predict(Xt)) > 0.98
    assert abs(est.predict(X[:1])[0] - y[0]) < 0.05 * np.std(y)


def test_partly_observed_jacobians_use_what_is_there(data):
    X, y, G, Xt, yt = data
    G_half = G.copy()
    G_half[::2, 1] = np.nan  # d/dx1 unobserved on every other row
    half = JacobianRegressor(random_state=0).fit(X, y, jacobian=G_half)
    values = JacobianRegressor(random_state=0).fit(X, y)
    assert np.mean((half.predict(Xt) - yt) ** 2) < np.mean((values.predict(Xt) - yt) ** 2)


def test_weight_zero_is_the_values_only_fit(data):
    X, y, G, Xt, _ = data
    est = JacobianRegressor(constraint="lipschitz", lipschitz_constant=3.0, random_state=0, max_iter=20)
    values = est.fit(X, y).predict(Xt)
    garbage = np.random.RandomState(1).standard_normal(G.shape) * 100
    ignored = est.set_params(jacobian_weight=0.0).fit(X, y, jacobian=garbage).predict(Xt)
    np.testing.assert_array_equal(ignored, values)


def test_jacobians_are_in_the_units_of_x_and_y(data):
    """X in cm instead of m and y in mJ instead of J: J scales by 1000 / 100, and the fit is the same map."""
    X, y, G, Xt, _ = data
    a = JacobianRegressor(random_state=0, max_iter=30).fit(X, y, jacobian=G)
    b = JacobianRegressor(random_state=0, max_iter=30).fit(100 * X, 1000 * y, jacobian=G * 1000 / 100)
    np.testing.assert_allclose(b.predict(100 * Xt), 1000 * a.predict(Xt), rtol=1e-7, atol=1e-7 * 1000)


@pytest.mark.parametrize(
    "est",
    [
        InvertibleJacobianRegressor(random_state=0, max_iter=30),
        InvertibleJacobianRegressor(n_layers=2, random_state=0, max_iter=30),
        JacobianRegressor(monotonic_cst=[1, -1], random_state=0, max_iter=30),
        JacobianRegressor(constraint="lipschitz", lipschitz_constant=0.5, n_layers=2, random_state=0, max_iter=30),
    ],
    ids=["invertible", "invertible-deep", "monotone", "lipschitz-deep"],
)
def test_the_guarantee_holds_whatever_the_jacobians_say(est):
    """Observed Jacobians that contradict the structure (a fold, a wrong sign, slopes of 5): it still holds."""
    rng = np.random.RandomState(2)
    X = rng.uniform(-2, 2, (60, 2))
    Y = np.c_[np.abs(X[:, 0]) - X[:, 1] ** 2, X[:, 0] * X[:, 1]]
    J = rng.standard_normal((60, 2, 2)) * 5
    if isinstance(est, JacobianRegressor) and est.monotonic_cst is not None:
        Y, J = Y[:, 0], J[:, 0]
    est.fit(X, Y, jacobian=J)
    A = np.vstack([X, 5 * rng.standard_normal((200, 2))])
    assert est.check_guarantee(A, random_state=0)["holds"] is True
    Jm = est.jacobian(A).reshape(len(A), -1, 2)
    s = np.linalg.svd(Jm, compute_uv=False)
    g = est.guarantee_
    if g["lipschitz_upper"] is not None:
        assert s.max() <= g["lipschitz_upper"] * (1 + 1e-9)
    if g["expansion_lower"] is not None:
        assert s.min() >= g["expansion_lower"] * (1 - 1e-9)
    for j, c in enumerate(g.get("monotonic_cst", [])):
        assert (c * Jm[:, :, j]).min() >= -1e-12 * np.abs(Jm).max()


def test_bad_jacobians_name_the_problem(data):
    X, y, G, _, _ = data
    est = JacobianRegressor(max_iter=2)
    with pytest.raises(ValueError, match="shape"):
        est.fit(X, y, jacobian=G[:, :1])
    with pytest.raises(ValueError, match="shape"):
        est.fit(X, np.c_[y, y], jacobian=G)  # two targets need (n, 2, 2)
    with pytest.raises(ValueError, match="infinite"):
        est.fit(X, y, jacobian=np.where(G > 1, np.inf, G))
    with pytest.raises(ValueError, match="no observed value"):
        est.fit(X, np.full_like(y, np.nan), jacobian=G)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X, np.where(y > 0, np.nan, y))  # NaN values only mean 'unobserved' beside Jacobians


def test_metadata_routing_slices_jacobians_per_fold(data):
    X, y, G, Xt, yt = data
    with sklearn.config_context(enable_metadata_routing=True):
        est = JacobianRegressor(random_state=0, max_iter=30).set_fit_request(jacobian=True, sample_weight=False)
        search = GridSearchCV(est, {"jacobian_weight": [0.0, 1.0]}, cv=3).fit(X, y, jacobian=G)
        assert search.best_params_ == {"jacobian_weight": 1.0}
        pipe = make_pipeline(FunctionTransformer(), est).fit(X, y, jacobian=G)
        direct = JacobianRegressor(random_state=0, max_iter=30).fit(X, y, jacobian=G)
        np.testing.assert_array_equal(pipe.predict(Xt), direct.predict(Xt))
