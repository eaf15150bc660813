"""The estimators as scikit-learn users meet them: pipelines, search, persistence, errors."""

import io
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

FAST = dict(max_iter=60, random_state=0)


@pytest.fixture
def data_1d(rng):
    X = rng.uniform(-2, 2, (60, 1))
    return X, np.exp(X).ravel() + 0.01 * rng.standard_normal(60)


@pytest.fixture
def data_nd(rng):
    X = rng.standard_normal((80, 3))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1] - 0.2 * X[:, 2] ** 2


ALL = [
    JacobianRegressor(constraint="none"),
    JacobianRegressor(constraint="lipschitz"),
    JacobianRegressor(constraint="positive_definite"),
    InvertibleJacobianRegressor(),
]
IDS = ["none", "lipschitz", "positive_definite", "invertible"]


# ---------------------------------------------------------------- defaults fit real problems
@pytest.mark.parametrize("est", ALL, ids=IDS)
def test_defaults_fit_1d_and_multifeature(est, data_1d, data_nd):
    X, y = data_1d
    if "lipschitz" in repr(est):
        # exp' reaches 7.4 on [-2, 2]; full-batch Adam at lr 0.01 oscillates in its first epochs
        # here, and MLPRegressor's patience of 10 epochs would stop it at a transient dip
        est = clone(est).set_params(lipschitz_constant=10.0, n_iter_no_change=50)
    assert clone(est).set_params(random_state=0).fit(X, y).score(X, y) > 0.99
    X, y = data_nd
    score = clone(est).set_params(random_state=0).fit(X[:60], y[:60]).score(X[60:], y[60:])
    # the invertible structure is a restriction (a monotone gradient map) but must still learn
    assert score > (0.6 if "positive" in repr(est) or isinstance(est, InvertibleJacobianRegressor) else 0.9)


def test_paper_toy_problems_are_learned(rng):
    # the paper's setting: 5 points in [-1, 1]; judged between the outer points
    X = np.array([[-0.9], [-0.4], [0.1], [0.5], [0.95]])
    Xt = np.linspace(-0.9, 0.95, 50).reshape(-1, 1)
    lip = JacobianRegressor(constraint="lipschitz", random_state=0).fit(X, np.abs(X).ravel())
    assert np.mean(np.abs(lip.predict(Xt) - np.abs(Xt).ravel())) < 0.05
    inv = InvertibleJacobianRegressor(random_state=0).fit(X, np.exp(X).ravel())
    assert np.mean(np.abs(inv.predict(Xt) - np.exp(Xt).ravel())) < 0.05


# ---------------------------------------------------------------- pipelines and search
@pytest.mark.parametrize("est", ALL, ids=IDS)
def test_pipeline_step(est, data_nd):
    X, y = data_nd
    pipe = make_pipeline(StandardScaler(), clone(est).set_params(**FAST)).fit(X, y)
    assert pipe.predict(X).shape == (80,)


def test_pipeline_inverse_transform_maps_back_to_original_x(rng):
    X = rng.uniform(0, 10, (80, 2)) * [1.0, 100.0]
    Y = np.column_stack([X[:, 0] + 0.01 * X[:, 1], 0.02 * X[:, 1] - 0.1 * X[:, 0]])
    pipe = make_pipeline(StandardScaler(), InvertibleJacobianRegressor(**FAST)).fit(X, Y)
    assert np.allclose(pipe.inverse_transform(pipe.predict(X)), X, rtol=1e-9, atol=1e-8)


def test_grid_search_over_constraints_and_tolerances(data_1d):
    X, y = data_1d
    grid = {"constraint": ["none", "lipschitz", "positive_definite"], "rtol": [1e-3, 1e-5], "atol": [1e-4, 1e-6]}
    search = GridSearchCV(JacobianRegressor(lipschitz_constant=10.0, **FAST), grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 12
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(X).shape == y.shape


def test_tolerances_change_the_integration_not_the_meaning(data_1d):
    X, y = data_1d
    loose = JacobianRegressor(rtol=1e-2, atol=1e-2, **FAST).fit(X, y)
    tight = JacobianRegressor(rtol=1e-8, atol=1e-10, **FAST).fit(X, y)
    assert loose.model_.frozen_rule.knots.numel() < tight.model_.frozen_rule.knots.numel()
    # two different integrations train to two fits of the same data (L-BFGS follows each exactly)
    assert np.abs(loose.predict(X) - tight.predict(X)).max() <= 0.02 * np.ptp(y)
    assert min(loose.score(X, y), tight.score(X, y)) > 0.999


# ---------------------------------------------------------------- clone, persistence, determinism
@pytest.mark.parametrize("est", ALL, ids=IDS)
def test_clone_and_pickle_round_trips(est, data_nd):
    X, y = data_nd
    fitted = clone(est).set_params(**FAST).fit(X, y)
    assert clone(fitted).get_params() == fitted.get_params()
    assert not hasattr(clone(fitted), "model_")
    expected = fitted.predict(X)
    assert np.array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), expected)
    buf = io.BytesIO()
    joblib.dump(fitted, buf)
    buf.seek(0)
    assert np.array_equal(joblib.load(buf).predict(X), expected)


@pytest.mark.parametrize("est", ALL, ids=IDS)
def test_random_state_determinism_independent_of_torch_global_seed(est, data_nd):
    X, y = data_nd
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = clone(est).set_params(**FAST).fit(X, y).predict(X)
    assert torch.equal(torch.get_rng_state(), state), "fit must not draw from torch's global generator"
    torch.manual_seed(12345)
    b = clone(est).set_params(**FAST).fit(X, y).predict(X)
    assert np.array_equal(a, b)
    c = clone(est).set_params(max_iter=60, random_state=1).fit(X, y).predict(X)
    assert not np.array_equal(a, c)


def test_threads_are_restored_after_fit_and_predict(data_1d):
    X, y = data_1d
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        est = JacobianRegressor(**FAST).fit(X, y)
        est.predict(X)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_sample_weight_zero_is_removal_and_integer_is_repetition(data_nd, rng):
    X, y = data_nd
    w = rng.randint(0, 3, len(y)).astype(float)
    weighted = JacobianRegressor(**FAST).fit(X, y, sample_weight=w)
    repeated = JacobianRegressor(**FAST).fit(np.repeat(X, w.astype(int), 0), np.repeat(y, w.astype(int)))
    assert np.allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="[Nn]egative"):
        JacobianRegressor(**FAST).fit(X, y, sample_weight=-w)


# ---------------------------------------------------------------- shapes and attributes
def test_multi_output_shapes_and_fitted_attributes(rng):
    X = rng.standard_normal((50, 2))
    Y = np.column_stack([X[:, 0], X.sum(1), X[:, 1] ** 2])
    est = JacobianRegressor(**FAST).fit(X, Y)
    assert est.predict(X).shape == (50, 3)
    assert est.n_targets_ == 3 and est.n_iter_ == 60 and len(est.loss_curve_) == 60
    assert np.allclose(est.predict(est.x0_[None]), est.y0_)
    est1 = JacobianRegressor(**FAST).fit(X, Y[:, :1])
    assert est1.predict(X).shape == (50, 1)


def test_inverse_transform_only_for_square_fits(rng):
    X = rng.standard_normal((40, 2))
    assert hasattr(InvertibleJacobianRegressor(), "inverse_transform")
    sq = InvertibleJacobianRegressor(**FAST).fit(X, X[:, ::-1] * [1, -1])
    assert hasattr(sq, "inverse_transform")
    rect = InvertibleJacobianRegressor(**FAST).fit(X, X.sum(1))
    assert not hasattr(rect, "inverse_transform")
    assert rect.predict(X).shape == (40,)
    assert not hasattr(JacobianRegressor(constraint="positive_definite"), "inverse_transform")


def test_pandas_feature_names(rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.standard_normal((30, 2)), columns=["a", "b"])
    est = JacobianRegressor(**FAST).fit(df, df["a"] * 2)
    assert list(est.feature_names_in_) == ["a", "b"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):  # sklearn's, as expected
        assert np.array_equal(est.predict(df), est.predict(df.to_numpy()))
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[["b", "a"]])
    # early stopping splits the rows, never the columns: names survive it and L-BFGS
    est = JacobianRegressor(early_stopping=True, solver="lbfgs", **FAST).fit(df, df["a"] * 2)
    assert list(est.feature_names_in_) == ["a", "b"]
    assert not hasattr(JacobianRegressor(**FAST).fit(df.to_numpy(), df["a"]), "feature_names_in_")


# ---------------------------------------------------------------- ODE paths and annealing
def test_ode_method_with_tolerance_annealing_and_verbose(data_1d, capsys):
    X, y = data_1d
    est = InvertibleJacobianRegressor(
        method="dopri5",
        tol_annealing=True,
        verbose=True,
        adjoint=True,
        max_iter=40,
        rtol=1e-6,
        atol=1e-6,
        random_state=0,
    ).fit(X[:20], y[:20])
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "tol = 0.1" in out
    assert est.tol_curve_[0] == 0.1 and min(est.tol_curve_) < 0.1
    assert all(b <= a for a, b in zip(est.tol_curve_, est.tol_curve_[1:]))
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    xs = np.linspace(-2, 2, 50).reshape(-1, 1)
    assert np.all(np.diff(est.predict(xs)) > 0)
    assert np.allclose(est.inverse_transform(est.predict(xs)), xs, atol=1e-8)


def test_quadrature_fit_predicts_the_same_with_an_ode_solver(data_nd):
    X, y = data_nd
    for est in (
        JacobianRegressor(constraint="none", rtol=1e-8, atol=1e-10, **FAST),
        JacobianRegressor(constraint="lipschitz", rtol=1e-8, atol=1e-10, **FAST),
    ):
        est.fit(X, y)
        quad = est.predict(X)
        est.model_.use_integrator("dopri5", est.rtol, est.atol)
        est.model_.freeze()
        assert np.allclose(est.predict(X), quad, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- bad input
BAD_X = {
    "nan": (np.array([[np.nan], [1.0], [2.0]]), "NaN"),
    "inf": (np.array([[np.inf], [1.0], [2.0]]), "infinity"),
    "1-D": (np.array([1.0, 2.0, 3.0]), "2D array"),
    "3-D": (np.ones((3, 1, 1)), "dim 3"),
    "strings": (np.array([["a"], ["b"], ["c"]]), "could not convert|dtype"),
    "complex": (np.array([[1 + 1j], [2.0], [3.0]]), "[Cc]omplex"),
    "empty": (np.empty((0, 1)), "0 sample"),
}


@pytest.mark.parametrize("case", sorted(BAD_X))
def test_bad_x_raises_value_error_naming_the_problem(case):
    X, msg = BAD_X[case]
    y = np.arange(len(X), dtype=float)
    with pytest.raises(ValueError, match=msg):
        JacobianRegressor(**FAST).fit(X, y)


def test_bad_y_and_predict_inputs(data_1d):
    X, y = data_1d
    with pytest.raises(ValueError, match="NaN"):
        JacobianRegressor(**FAST).fit(X, np.where(y > 2, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        JacobianRegressor(**FAST).fit(X, y[:-1])
    with pytest.raises(TypeError, match="[Ss]parse"):
        JacobianRegressor(**FAST).fit(sp.csr_matrix(X), y)
    est = InvertibleJacobianRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        est.inverse_transform(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="targets"):
        est.inverse_transform(np.ones((3, 2)))
    X_copy = X.copy()
    est.inverse_transform(est.predict(X))
    assert np.array_equal(X, X_copy)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        JacobianRegressor().predict(np.ones((2, 1)))
    with pytest.raises(NotFittedError):
        InvertibleJacobianRegressor().inverse_transform(np.ones(2))


BAD_PARAMS = [
    ("constraint", "monotone"),
    ("lipschitz_constant", -1.0),
    ("lipschitz_constant", np.nan),
    ("epsilon", 0.0),
    ("hidden_layer_sizes", (0,)),
    ("hidden_layer_sizes", ()),
    ("hidden_layer_sizes", (8, -2)),
    ("activation", "gelu2"),
    ("n_ridges", 0),
    ("method", "leapfrog"),
    ("rtol", 0.0),
    ("atol", -1e-6),
    ("rtol", np.nan),
    ("loss", "huber"),
    ("max_iter", 0),
    ("learning_rate_init", -0.1),
    ("learning_rate_init", np.nan),
    ("batch_size", 0),
    ("alpha", -1.0),
    ("device", "tpu"),
    ("tol_annealing", "yes"),
]


@pytest.mark.parametrize("name, value", BAD_PARAMS, ids=[f"{n}={v}" for n, v in BAD_PARAMS])
def test_invalid_hyper_parameters_raise_naming_the_parameter(name, value, data_1d):
    X, y = data_1d
    with pytest.raises(ValueError, match=name if name != "device" else "device"):
        JacobianRegressor(**{name: value}).fit(X, y)


def test_invalid_invertible_parameters(data_1d):
    X, y = data_1d
    for name, value in [("increasing", "up"), ("inverse_method", "newton"), ("constraint", "lipschitz")]:
        with pytest.raises(ValueError, match=name):
            InvertibleJacobianRegressor(**{name: value}).fit(X, y)


def test_cuda_request_without_cuda_is_a_clear_error(data_1d):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = data_1d
    with pytest.raises(ValueError, match="CUDA is not available"):
        JacobianRegressor(device="cuda").fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_fit_predicts_like_cpu(data_1d):
    X, y = data_1d
    gpu = InvertibleJacobianRegressor(device="cuda", **FAST).fit(X, y)
    cpu = InvertibleJacobianRegressor(device="cpu", **FAST).fit(X, y)
    assert np.allclose(gpu.predict(X), cpu.predict(X), atol=1e-6)
    assert np.allclose(gpu.inverse_transform(gpu.predict(X)), X, atol=1e-8)


def test_initial_point_and_standardize(data_1d):
    X, y = data_1d
    est = InvertibleJacobianRegressor(initial_point=0.0, standardize=False, **FAST).fit(X, y)
    assert est.x0_.tolist() == [0.0]
    assert np.allclose(est.predict([[0.0]]), est.y0_)
    assert np.allclose(est.inverse_transform(est.predict(X)), X, atol=1e-9)
    lip = JacobianRegressor(
        constraint="lipschitz", lipschitz_constant=2.0, initial_point=[0.5], standardize=False, **FAST
    )
    lip.fit(X, y)
    xs = np.linspace(-5, 5, 10001).reshape(-1, 1)
    assert np.max(np.abs(np.diff(lip.predict(xs))) / np.diff(xs.ravel())) <= 2.0 * (1 + 1e-9)
    for bad in ([0.0, 1.0], np.nan, "median"):
        with pytest.raises(ValueError, match="initial_point"):
            JacobianRegressor(initial_point=bad, **FAST).fit(X, y)


@pytest.mark.parametrize("inverse_method", ["dopri5", "rk4"])
def test_inverse_through_the_paper_ode_then_newton(inverse_method, data_1d):
    X, y = data_1d
    est = InvertibleJacobianRegressor(inverse_method=inverse_method, **FAST).fit(X, y)
    xs = np.linspace(-4, 4, 101).reshape(-1, 1)
    assert np.allclose(est.inverse_transform(est.predict(xs)), xs, rtol=0, atol=1e-9)


def test_results_do_not_depend_on_the_callers_thread_count(data_nd):
    X, y = data_nd
    before = torch.get_num_threads()
    try:
        preds = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            preds.append(JacobianRegressor(constraint="lipschitz", **FAST).fit(X, y).predict(X))
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(preds[0], preds[1])


def test_more_bad_input_classes(data_1d):
    X, y = data_1d
    with pytest.raises(ValueError, match="could not convert|dtype"):
        JacobianRegressor(**FAST).fit(np.array([[1.0], ["a"], [None]], dtype=object), y[:3])
    with pytest.raises(ValueError, match="zero|Sample weights"):
        JacobianRegressor(**FAST).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="epsilon"):
        InvertibleJacobianRegressor(epsilon=-1e-4).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        JacobianRegressor(**FAST).fit(X, np.column_stack([y, np.full_like(y, np.nan)]))
    est = InvertibleJacobianRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="infinity"):
        est.inverse_transform(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="[Cc]omplex"):
        est.inverse_transform(np.array([1.0 + 1j, 2.0]))
    with pytest.raises(ValueError, match="features"):
        est.predict(np.ones((2, 3)))
    X_before, y_before = X.copy(), y.copy()
    JacobianRegressor(**FAST).fit(X, y).predict(X)
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)


def test_divergent_training_is_a_clear_error():
    from skjacnet import NonFiniteError

    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    with pytest.raises(NonFiniteError, match="diverged"):
        JacobianRegressor(standardize=False, max_iter=5).fit(X, 1e200 * np.exp(X).ravel())
    assert issubclass(NonFiniteError, ValueError)


def test_an_ode_solver_that_cannot_meet_its_tolerance_fails_fast_and_clearly(data_1d, monkeypatch):
    X, y = data_1d
    # below the working precision: refused before any step
    with pytest.raises(ValueError, match="below what float64 can resolve.*quadrature"):
        JacobianRegressor(method="dopri5", rtol=1e-300, atol=1e-300, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="below what float32 can resolve"):
        JacobianRegressor(method="rk4", rtol=1e-9, atol=1e-9, dtype="float32").fit(X, y)
    # a tolerance it cannot meet within its step budget: a clear RuntimeError, never a hang
    monkeypatch.setattr("skjacnet.integrate.ode.MAX_ODE_STEPS", 20)
    with pytest.raises(RuntimeError, match="ODE solver 'dopri5' failed.*quadrature"):
        JacobianRegressor(method="dopri5", rtol=1e-12, atol=1e-12, max_iter=2).fit(X, y)


@pytest.mark.parametrize("est", ALL, ids=IDS)
def test_a_prediction_does_not_depend_on_the_rest_of_its_batch(est, data_nd):
    X, y = data_nd
    fitted = clone(est).set_params(**FAST).fit(X, y)
    far = np.vstack([X, X * 50.0])
    whole = fitted.predict(far)
    alone = np.concatenate([fitted.predict(far[i : i + 1]) for i in range(0, len(far), 7)])
    assert np.allclose(whole[::7], alone, rtol=1e-12, atol=1e-12)


def test_a_failed_refit_leaves_the_previous_fit_intact(data_1d):
    X, y = data_1d
    est = JacobianRegressor(**FAST).fit(X, y)
    expected, n_iter = est.predict(X), est.n_iter_
    with pytest.raises(ValueError):
        est.set_params(standardize=False, max_iter=5).fit(X, 1e200 * np.exp(X).ravel())
    assert est.n_iter_ == n_iter and np.array_equal(est.predict(X), expected)
    fresh = JacobianRegressor(standardize=False, max_iter=5)
    with pytest.raises(ValueError):
        fresh.fit(X, 1e200 * np.exp(X).ravel())
    assert not hasattr(fresh, "model_") and not hasattr(fresh, "n_features_in_")


def test_lipschitz_scales_stay_isotropic_for_degenerate_columns(rng):
    X = np.column_stack([1e6 + 1e-7 * rng.standard_normal(100), 1e-6 * rng.standard_normal(100)])
    est = JacobianRegressor(constraint="lipschitz", max_iter=20).fit(X, 1e6 * X[:, 1])
    assert est._x_scale[0] == est._x_scale[1]
    assert est.check_guarantee(X, random_state=np.random.RandomState(0))["holds"]


def test_warm_start_continues_training(data_1d, rng):
    X, y = data_1d
    est = JacobianRegressor(warm_start=True, max_iter=30, n_iter_no_change=30, random_state=0).fit(X, y)
    scale, first_loss = est._x_scale.copy(), est.loss_curve_[-1]
    est.fit(X * 3.0, y)  # different data: the first fit's scaling is kept
    assert est.n_iter_ == 60 and len(est.loss_curve_) == 60
    assert np.array_equal(est._x_scale, scale)
    cold = JacobianRegressor(max_iter=30, n_iter_no_change=30, random_state=0).fit(X, y)
    assert cold.loss_curve_[-1] == first_loss  # the first warm fit is an ordinary fit
    with pytest.raises(ValueError, match="features"):
        est.fit(np.hstack([X, X]), y)
    with pytest.raises(ValueError, match="same number of targets"):
        est.fit(X, np.column_stack([y, y]))
    assert est.n_iter_ == 60  # failed warm fits leave it intact


def test_a_failed_warm_fit_leaves_the_fitted_network_untouched(data_nd, monkeypatch):
    """A warm fit trains the network in place: a failure after training must restore it."""
    X, y = data_nd
    est = JacobianRegressor(warm_start=True, max_iter=5, random_state=0).fit(X, y)
    before = est.predict(X)

    def boom(self, X=None):
        raise RuntimeError("injected failure after training")

    monkeypatch.setattr(type(est.model_), "freeze", boom)
    with pytest.raises(RuntimeError, match="injected"):
        est.fit(X, y)
    monkeypatch.undo()
    assert np.array_equal(est.predict(X), before) and not est.model_.training


def test_bounded_target_through_its_logit(rng):
    """The guide's recipe for a probability-like target: bounded predictions, exact inverse."""
    from scipy.special import expit, logit
    from sklearn.compose import TransformedTargetRegressor

    x = rng.uniform(-4, 4, (120, 1))
    y = np.clip(expit(1.5 * x[:, 0]) + rng.normal(0, 0.03, 120), 1e-3, 1 - 1e-3)
    est = TransformedTargetRegressor(InvertibleJacobianRegressor(random_state=0), func=logit, inverse_func=expit)
    far = np.array([[-40.0], [-8.0], [8.0], [40.0]])
    assert np.all(np.diff(est.fit(x, y).regressor_.predict(far)) > 0)  # monotone in logit space
    q = est.predict(x)
    assert 0.5 < q[x[:, 0] > 2].min() and q[x[:, 0] < -2].max() < 0.5
    np.testing.assert_allclose(est.regressor_.inverse_transform(logit(q)), x, atol=1e-9)
