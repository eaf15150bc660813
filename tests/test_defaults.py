"""The defaults (issue 15): a conservative unconstrained n-D model that starts at least squares (constraint='auto':
the potential), the paper's field as an explicit option, early_stopping='auto' and max_iter='auto'."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import torch_predict
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from skjacnet import InvertibleJacobianRegressor, JacobianClassifier, JacobianRegressor
from skjacnet.constraints.full import FullJacobianNet
from skjacnet.constraints.layer import Composition
from skjacnet.constraints.potential import PotentialJacobianNet
from skjacnet.constraints.ridge import RidgeJacobianNet


def _data(n=200, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, d))
    return X, np.sin(X[:, 0] * X[:, 1]) + X[:, 2] ** 2 - X[:, 3] + 0.1 * rng.normal(size=n)


def test_the_default_n_d_model_is_conservative_and_fits_without_warnings():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "far from conservative" nor max_iter's ConvergenceWarning
        est = JacobianRegressor(random_state=0).fit(X, y)
    assert isinstance(est.model_, PotentialJacobianNet) and est.constraint_ == "potential"
    assert est.path_dependence_ == 0.0 and est.model_.jacobian_is_exact()
    assert est.guarantee_["property"] == "none" and est.guarantee_["lipschitz_upper"] is None
    assert est.score(X, y) > 0.8


def test_the_default_jacobian_is_the_derivative_of_predict_everywhere():
    """jacobian(X) against autograd through what predict computes, inside the data and far outside it."""
    X, y = _data()
    est = JacobianRegressor(random_state=0, max_iter=40).fit(X, y)
    rng = np.random.RandomState(1)
    for scale in (1.0, 10.0, 1e3):
        Q = rng.standard_normal((25, 4)) * scale
        x = torch.as_tensor(Q, dtype=torch.float64).requires_grad_(True)
        auto = torch.autograd.functional.jacobian(lambda t: torch_predict(est, t).sum(0), x)
        auto = auto.reshape(-1, 25, 4).permute(1, 0, 2).numpy()
        np.testing.assert_allclose(est.jacobian(Q).reshape(25, -1, 4), auto, rtol=1e-9, atol=1e-9 * scale)
        np.testing.assert_allclose(torch_predict(est, x).detach().numpy().ravel(), est.predict(Q), rtol=1e-12)


def test_the_linear_term_starts_at_the_least_squares_fit():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((150, 3)) * [1.0, 10.0, 0.1] + 5.0
    w = rng.uniform(0.5, 2.0, 150)
    y = X @ [1.0, -0.2, 3.0] + 0.3 * np.sin(X[:, 0]) + 0.1 * rng.normal(size=150)
    # one epoch of a vanishing step: the network is (to 1e-9) where it started
    est = JacobianRegressor(learning_rate_init=1e-12, max_iter=1, early_stopping=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, sample_weight=w)
    ols = LinearRegression().fit(X, y, sample_weight=w)
    A = est.model_.A.detach().numpy().ravel() * est._y_scale / est._x_scale  # back to the units of X and y
    np.testing.assert_allclose(A, ols.coef_, rtol=1e-8)
    # collinear features: the minimum-norm solution, not a failure
    Xc = np.c_[X, X[:, :1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Xc, y)
    assert np.isfinite(est.model_.A.detach().numpy()).all()


def test_the_linear_term_travels_with_the_model_and_multi_output():
    X, y = _data(n=120)
    Y = np.c_[y, X[:, 0] - X[:, 1]]
    est = JacobianRegressor(random_state=0, max_iter=30).fit(X, Y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    np.testing.assert_array_equal(again.jacobian(X[:5]), est.jacobian(X[:5]))
    assert est.predict(X).shape == (120, 2)


def test_the_papers_field_is_an_explicit_option():
    X, y = _data(n=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = JacobianRegressor(constraint="nonconservative", n_anchors=4, random_state=0, max_iter=20).fit(X, y)
    assert isinstance(est.model_, FullJacobianNet) and est.anchors_.shape == (4, 4)
    assert est.path_dependence_ > 0
    with pytest.raises(ValueError, match="constraint='nonconservative'"):
        JacobianRegressor(n_anchors=4).fit(X, y)  # 'none' is path-independent: anchors would change nothing
    with pytest.raises(ValueError, match="composes guaranteed layers"):
        JacobianRegressor(constraint="nonconservative", n_layers=2).fit(X, y)
    with pytest.raises(ValueError, match="monotonic_cst is its own structure: it requires constraint='none'"):
        JacobianRegressor(constraint="nonconservative", monotonic_cst=[1, 0, 0, 0]).fit(X, y)
    # 1-D: the same exact antiderivative as 'none'
    one = dict(random_state=0, max_iter=20)
    a = JacobianRegressor(constraint="nonconservative", **one).fit(X[:, :1], y)
    b = JacobianRegressor(**one).fit(X[:, :1], y)
    np.testing.assert_array_equal(a.predict(X[:, :1]), b.predict(X[:, :1]))


@pytest.mark.parametrize(
    "n, d, kwargs, on",
    [
        (99, 2, {}, False),  # a 9-row split is too small to stop on
        (100, 2, {}, True),
        (100, 2, {"validation_fraction": 0.05}, False),
        (10_001, 2, {}, False),
        (100, 1, {"alpha": 1e-4}, True),
        (100, 1, {}, False),  # the 1-D regression's alpha='auto' is set from the noise instead
    ],
)
def test_early_stopping_auto_follows_the_number_of_rows(n, d, kwargs, on):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (n, d))
    est = JacobianRegressor(max_iter=2, hidden_layer_sizes=(4,), random_state=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, X[:, 0] ** 2)
    assert (est.validation_scores_ is not None) is on
    assert est.get_params()["early_stopping"] == "auto"


def test_early_stopping_auto_is_off_for_observed_jacobians_and_true_forces_it():
    X, y = _data(n=150)
    J = np.zeros((150, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = JacobianRegressor(max_iter=2, random_state=0).fit(X, y, jacobian=J)
        assert est.validation_scores_ is None
        forced = JacobianRegressor(max_iter=2, random_state=0, early_stopping=True).fit(X, y, jacobian=J)
        assert forced.validation_scores_ is not None
        off = JacobianRegressor(max_iter=2, random_state=0, early_stopping=False).fit(X, y)
        assert off.validation_scores_ is None
    assert InvertibleJacobianRegressor().early_stopping == "auto" == JacobianClassifier().early_stopping


def test_diabetes_defaults_generalise():
    """load_diabetes, one split: the defaults early-stop near the linear fit instead of interpolating the noise.

    Measured on this split: 0.44 and 0.53 (monotone); the former defaults 0.26 (the full field, no early
    stopping) and 0.34 (monotone, no early stopping: 0.09 before the training mesh's margin, so chaotic is an
    interpolating fit); least squares 0.52.
    """
    X, y = load_diabetes(return_X_y=True)
    tr, te = np.arange(442) % 5 != 0, np.arange(442) % 5 == 0
    cst = [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        free = JacobianRegressor(random_state=0).fit(X[tr], y[tr])
        mono = JacobianRegressor(monotonic_cst=cst, random_state=0).fit(X[tr], y[tr])
    assert free.score(X[te], y[te]) > 0.4 and mono.score(X[te], y[te]) > 0.48
    assert free.validation_scores_ is not None and free.n_iter_ < 1000  # stopped by the split, not the cap


@pytest.mark.parametrize(
    "X_cols, kwargs, chosen, model",
    [
        (4, {}, "potential", PotentialJacobianNet),
        (1, {}, "none", RidgeJacobianNet),  # 1-D: the paper's model, an exact antiderivative
        (4, {"monotonic_cst": [1, 0, -1, 0]}, "none", RidgeJacobianNet),  # monotone ridges
        (4, {"n_layers": 2}, "none", Composition),  # the potential is one layer
        (4, {"method": "rk4"}, "none", RidgeJacobianNet),  # and has no ODE
        (4, {"constraint": "none"}, "none", RidgeJacobianNet),
    ],
)
def test_constraint_auto_picks_the_potential_where_it_applies(X_cols, kwargs, chosen, model):
    X, y = _data(n=120)
    X = X[:, :X_cols]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = JacobianRegressor(max_iter=3, random_state=0, **kwargs).fit(X, y)
    assert est.constraint_ == chosen == est.guarantee_["constraint"] and isinstance(est.model_, model)
    assert est.get_params()["constraint"] == kwargs.get("constraint", "auto")
    # the choice follows the parameters of each fit: a warm start after set_params rebuilds, and says so
    if chosen == "potential":
        est.set_params(warm_start=True, n_layers=2)
        with pytest.warns(UserWarning, match="rebuilt"):
            est.fit(X, y)
        assert est.constraint_ == "none" and isinstance(est.model_, Composition)
        est.set_params(warm_start=False, n_layers=1).fit(X[:, :1], y)  # one feature: the 1-D model
        assert est.constraint_ == "none"


def test_max_iter_auto_caps_the_potentials_adam_at_1000_and_the_rest_at_200():
    X, y = _data(n=60)
    never = dict(tol=0.0, n_iter_no_change=5000, early_stopping=False, hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        potential = JacobianRegressor(**never).fit(X, y)
        ridges = JacobianRegressor(constraint="none", n_ridges=2, **never).fit(X, y)
        lbfgs = JacobianRegressor(solver="lbfgs", **never).fit(X, y)
    assert (potential.n_iter_, ridges.n_iter_) == (1000, 200) and lbfgs.n_iter_ <= 200
    assert any("Maximum iterations (1000)" in str(w.message) for w in caught)
    assert JacobianRegressor(max_iter=7, **never).fit(X, y).n_iter_ == 7


def test_the_1d_invertible_default_continues_the_derivatives_trend():
    """positive_map='exp': a saturating curve stays flat beyond the data, where h**2 + eps rebounds."""
    from skjacnet.constraints.activations import ExpPositive, Positive

    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (400, 1))
    y = np.tanh(3 * x.ravel()) + 0.1 * rng.normal(size=400)
    grid = np.linspace(-2, 2, 801)[:, None]
    exp = InvertibleJacobianRegressor(random_state=0).fit(x, y)
    square = InvertibleJacobianRegressor(random_state=0, positive_map="square").fit(x, y)
    assert isinstance(exp.model_.structure, ExpPositive) and isinstance(square.model_.structure, Positive)
    err = {m: np.abs(m.predict(grid) - np.tanh(3 * grid.ravel())).mean() for m in (exp, square)}
    assert err[exp] < 0.05 and err[exp] < err[square]
    # the guarantee on the whole line: slope >= c, finite, exactly invertible, far beyond the data too
    far = np.array([[-1e6], [-1e3], [-3.0], [3.0], [1e3], [1e6]])
    p = exp.predict(far)
    assert np.isfinite(p).all() and np.all(np.diff(p) > 0)
    c = exp.guarantee_["expansion_lower"]
    assert np.all(np.diff(p) / np.diff(far.ravel()) >= c * (1 - 1e-9))
    np.testing.assert_allclose(exp.inverse_transform(p[1:-1]).ravel(), far[1:-1].ravel(), rtol=1e-9)
    assert exp.check_guarantee(far)["holds"]


def test_exp_growth_is_held_linear_far_away_and_positive_map_is_a_structure_parameter():
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, (200, 1))
    est = InvertibleJacobianRegressor(random_state=0, dtype="float32").fit(x, np.exp(2 * x.ravel()))
    assert np.isfinite(est.predict([[-1e6], [1e6]])).all()
    est.set_params(warm_start=True, positive_map="square", dtype="float32")
    with pytest.warns(UserWarning, match="positive_map"):
        est.fit(x, np.exp(2 * x.ravel()))
    # n-D 'exp' builds too (its ridges' derivatives exp(h) >= 0 beside the eps I of the potential)
    X = rng.uniform(-1, 1, (100, 2))
    nd = InvertibleJacobianRegressor(random_state=0, positive_map="exp", max_iter=20).fit(
        X, np.c_[X[:, 0] + X[:, 1] ** 3, X[:, 1]]
    )
    assert nd.check_guarantee(rng.uniform(-5, 5, (50, 2)))["holds"]
    # not a parameter the calibrator takes (it keeps the paper's h**2 + eps)
    from skjacnet import JacobianCalibrator

    assert "positive_map" not in JacobianCalibrator().get_params()


@pytest.mark.parametrize("sign", [1, -1])
def test_a_one_feature_monotone_fit_is_the_1d_jacnet_with_an_exp_derivative(sign):
    rng = np.random.RandomState(2)
    x = rng.uniform(-1, 1, (400, 1))
    y = sign * np.tanh(3 * x.ravel()) + 0.1 * rng.normal(size=400)
    est = JacobianRegressor(monotonic_cst=[sign], random_state=0).fit(x, y)
    assert est._spec.activation == "softplus" and est.guarantee_["monotonic_cst"] == [sign]
    grid = np.linspace(-2, 2, 801)[:, None]
    assert np.abs(est.predict(grid) - sign * np.tanh(3 * grid.ravel())).mean() < 0.05
    far = np.linspace(-1e4, 1e4, 101)[:, None]
    assert np.all(sign * np.diff(est.predict(far)) >= 0) and est.check_guarantee(far)["holds"]
    assert np.all(sign * est.jacobian(far).ravel() >= 0)
    # an explicit activation is kept; a free single feature is the ridge model
    assert JacobianRegressor(monotonic_cst=[1], activation="tanh", max_iter=5).fit(x, y)._spec.activation == "tanh"


def test_tol_auto_is_1e5_for_the_couplings_lbfgs_and_mlpregressors_1e4_elsewhere():
    """tol='auto' resolves per structure and solver; the same fit as the explicit value, bit for bit."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (80, 2))
    Y = X + 0.3 * np.tanh(X[:, ::-1])
    kw = dict(constraint="coupling", n_layers=2, hidden_layer_sizes=(8,), random_state=0)
    auto = InvertibleJacobianRegressor(**kw).fit(X, Y)
    assert auto.solver_ == "lbfgs"
    explicit = InvertibleJacobianRegressor(tol=1e-5, max_iter=1000, **kw).fit(X, Y)
    old = InvertibleJacobianRegressor(tol=1e-4, max_iter=200, **kw).fit(X, Y)
    assert auto.n_iter_ == explicit.n_iter_ > old.n_iter_
    np.testing.assert_array_equal(auto.predict(X), explicit.predict(X))
    adam = InvertibleJacobianRegressor(solver="adam", max_iter=30, **kw)
    np.testing.assert_array_equal(
        adam.fit(X, Y).predict(X), clone(adam).set_params(tol=1e-4).fit(X, Y).predict(X)
    )  # Adam: MLPRegressor's 1e-4
    X1, y1 = _data(n=60)
    pot = JacobianRegressor(max_iter=40, random_state=0)
    np.testing.assert_array_equal(pot.fit(X1, y1).predict(X1), clone(pot).set_params(tol=1e-4).fit(X1, y1).predict(X1))
    with pytest.raises(ValueError, match="tol"):
        JacobianRegressor(tol="loose").fit(X1, y1)


def test_batch_size_auto_is_400_for_the_one_layer_monotone_regression_only():
    from skjacnet._plan import batch_size

    X, y = _data(n=60)
    cst = [1, 0, -1, 0]
    fits = {
        "monotone": JacobianRegressor(monotonic_cst=cst, max_iter=2, random_state=0).fit(X, y),
        "deep monotone": JacobianRegressor(monotonic_cst=cst, n_layers=2, max_iter=2, random_state=0).fit(X, y),
        "classifier": JacobianClassifier(monotonic_cst=cst, solver="adam", max_iter=2, random_state=0).fit(X, y > 0),
        "default": JacobianRegressor(max_iter=2, random_state=0).fit(X, y),
        "deep lipschitz": JacobianRegressor(constraint="lipschitz", n_layers=2, max_iter=2, random_state=0).fit(X, y),
    }
    sizes = {name: [batch_size(est, est._spec, n) for n in (50, 1000)] for name, est in fits.items()}
    assert sizes == {"monotone": [50, 400], "deep monotone": [50, 200], "classifier": [50, 200],
                     "default": [50, 200], "deep lipschitz": [50, 100]}  # fmt: skip
    assert batch_size(fits["monotone"].set_params(batch_size=64), fits["monotone"]._spec, 1000) == 64
