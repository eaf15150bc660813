"""The public ``jacobian(X)`` beyond the contract over every kind (tests/test_contract.py)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore:The learned Jacobian field:UserWarning"
)


def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 2))
    return X, np.c_[np.tanh(X[:, 0]) + X[:, 1], X[:, 0] - 0.5 * np.sin(X[:, 1])]


def _central(est, A, h):
    cols = []
    for j in range(A.shape[1]):
        step = np.eye(A.shape[1])[j] * h
        cols.append(((est.predict(A + step) - est.predict(A - step)) / (2 * h)).reshape(len(A), -1))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize(
    "est",
    [
        InvertibleJacobianRegressor(method="dopri5", max_iter=5, random_state=0),
        JacobianRegressor(constraint="lipschitz", method="dopri5", max_iter=5, random_state=0),
        JacobianRegressor(method="dopri5", max_iter=5, random_state=0),
    ],
    ids=["invertible", "lipschitz", "none"],
)
def test_adaptive_ode_methods_agree_to_the_solver_tolerance(est):
    """Autograd through the solver holds its (detached) step sizes fixed: equal to predict's slope to ~rtol."""
    X, Y = _data()
    est.fit(X, Y)
    assert not est.model_.jacobian_is_exact()
    A = X[:15]
    fd = _central(est, A, 1e-5)
    np.testing.assert_allclose(est.jacobian(A), fd, rtol=0, atol=1e-2 * np.abs(fd).max())


def test_the_closed_form_and_autograd_give_the_same_jacobian():
    """An exact layer's jacobian() against autograd through the same predict (no finite differences)."""
    X, Y = _data()
    est = InvertibleJacobianRegressor(n_layers=2, max_iter=5, random_state=0).fit(X, Y)
    assert est.model_.jacobian_is_exact()
    closed = est.jacobian(X)
    est.model_.jacobian_is_exact = lambda: False  # the same model, the autograd path
    np.testing.assert_allclose(est.jacobian(X), closed, rtol=1e-10, atol=1e-12)


def test_units_follow_the_scaling_of_x_and_y():
    """Fit y and 1000 y on X and X / 10: the Jacobian scales by 1000 * 10, as the map does."""
    X, Y = _data()
    a = JacobianRegressor(constraint="positive_definite", max_iter=5, random_state=0).fit(X, Y)
    b = JacobianRegressor(constraint="positive_definite", max_iter=5, random_state=0).fit(X / 10, 1000 * Y)
    np.testing.assert_allclose(b.jacobian(X[:10] / 10), 1e4 * a.jacobian(X[:10]), rtol=1e-6)


def test_one_target_gives_the_gradient():
    X, Y = _data()
    est = JacobianRegressor(max_iter=5, random_state=0).fit(X, Y[:, 0])
    assert est.jacobian(X[:7]).shape == (7, 2)
    est.fit(X, Y[:, :1])  # a 2-D y of one column keeps the target axis
    assert est.jacobian(X[:7]).shape == (7, 1, 2)


def test_bad_calls_name_the_problem():
    X, Y = _data()
    with pytest.raises(NotFittedError):
        JacobianRegressor().jacobian(X)
    est = JacobianRegressor(max_iter=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        est.jacobian(X[:, :1])


def test_inside_a_pipeline_the_chain_rule_gives_the_pipeline_jacobian():
    """The last step's jacobian is in its own inputs' units; times the scaler's diagonal it is the pipeline's."""
    X, Y = _data()
    pipe = make_pipeline(StandardScaler(), JacobianRegressor(constraint="lipschitz", max_iter=5, random_state=0))
    pipe.fit(X, Y)
    J = pipe[-1].jacobian(pipe[:-1].transform(X[:5])) / pipe[0].scale_[None, None, :]
    np.testing.assert_allclose(J, _central(pipe, X[:5], 1e-6), rtol=1e-6, atol=1e-8)


def test_plot_derivative_draws_the_jacobian_also_through_a_pipeline():
    pytest.importorskip("matplotlib")
    from sklearn.preprocessing import StandardScaler

    from skjacnet.plotting import plot_derivative

    X = np.random.RandomState(0).uniform(-2, 2, (50, 1))
    y = np.exp(X).ravel()
    est = InvertibleJacobianRegressor(max_iter=20, random_state=0).fit(X, y)
    pipe = make_pipeline(StandardScaler(), InvertibleJacobianRegressor(max_iter=20, random_state=0)).fit(X, y)
    for model in (est, pipe):
        line = plot_derivative(model, xlim=(-3, 3)).axes[0].lines[0]
        xs, slope = line.get_xdata(), line.get_ydata()
        fd = _central(model, xs[::100].reshape(-1, 1), 1e-6)[:, 0, 0]
        np.testing.assert_allclose(slope[::100], fd, rtol=1e-6, atol=1e-8)
    with pytest.raises(TypeError, match="skjacnet estimator"):
        plot_derivative(StandardScaler().fit(X))
