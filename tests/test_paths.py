"""Adaptive anchors (several initial conditions) and custom integration paths for the unconstrained n-D model."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet.constraints.full import FullJacobianNet
from skjacnet.integrate import GaussKronrod, make_integrator

D = torch.float64


def curved(t, a, b):
    """A bent path from a to b (module level: it pickles)."""
    t = t[:, None, None]
    return a + (b - a) * t + t * (1 - t) * 0.5 * (b - a).flip(-1)


def straight(t, a, b):
    return a + (b - a) * t[:, None, None]


class GradientField(nn.Module):
    """The exact Jacobian of F(x) = (sin(x1) x2, x1 x2^2): a conservative field, flattened (m * d)."""

    evaluations = 0

    def forward(self, x):
        x1, x2 = x[..., 0], x[..., 1]
        return torch.stack([torch.cos(x1) * x2, torch.sin(x1), x2 * x2, 2 * x1 * x2], -1)


def F(x):
    return torch.stack([torch.sin(x[:, 0]) * x[:, 1], x[:, 0] * x[:, 1] ** 2], -1)


@pytest.fixture
def exact_net():
    net = FullJacobianNet(GradientField(), 2, 2, D)
    net.integrator = GaussKronrod(1e-12, 1e-12)
    with torch.no_grad():
        net.x0.copy_(torch.tensor([0.3, -0.2], dtype=D))
        net.y0.copy_(F(net.x0[None])[0])
    return net.eval()


def test_any_path_and_any_anchors_integrate_a_conservative_field_exactly(exact_net):
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=D) * 2
    with torch.no_grad():
        torch.testing.assert_close(exact_net(x), F(x), rtol=1e-10, atol=1e-10)
        exact_net.path = curved
        torch.testing.assert_close(exact_net(x), F(x), rtol=1e-10, atol=1e-10)
        exact_net.set_anchors(torch.tensor([[1.0, 1.0], [-1.5, 0.5], [0.0, -2.0]], dtype=D))
        torch.testing.assert_close(exact_net(x), F(x), rtol=1e-10, atol=1e-10)


def test_anchors_shorten_paths_and_save_ode_steps(exact_net):
    """Same field, same tolerance: integrating from the nearest of 16 anchors costs fewer dopri5 evaluations."""
    x = torch.rand(400, 2, generator=torch.Generator().manual_seed(1), dtype=D) * 8 - 4
    exact_net.integrator = make_integrator("dopri5", 1e-6, 1e-8, GaussKronrod)
    counts, errors = [], []
    for anchors in (None, torch.cartesian_prod(*[torch.linspace(-3, 3, 4, dtype=D)] * 2)):
        if anchors is not None:
            exact_net.set_anchors(anchors)
        with torch.no_grad():
            exact_net(x[:1])  # the anchors' values are computed once per fitted model: off the count
            calls: list[int] = []
            handle = exact_net.field.register_forward_hook(lambda m, i, o, calls=calls: calls.append(i[0].numel() // 2))
            errors.append(float((exact_net(x) - F(x)).abs().max()))
        handle.remove()
        counts.append(sum(calls))  # network evaluations (points)
    assert counts[1] < 0.8 * counts[0], counts
    assert max(errors) < 1e-4


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 3))
    return X, np.sin(X[:, 0]) + X[:, 1] * X[:, 2]


def test_estimator_anchors_are_kmeans_centres_and_predictions_start_there():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the path-dependence warning of a short fit
        est = JacobianRegressor(constraint="nonconservative", n_anchors=8, random_state=0, max_iter=20).fit(X, y)
    assert est.anchors_.shape == (8, 3)
    assert np.all(est.anchors_.min(0) >= X.min(0)) and np.all(est.anchors_.max(0) <= X.max(0))
    # at an anchor the path is empty: predict returns the anchor's value y0 + integral from x0
    model = est.model_
    a = torch.as_tensor((est.anchors_ - est._x_mean) / est._x_scale)
    with torch.no_grad():
        values = model.y0 + model.line_integral(model.x0.expand_as(a), a)
    np.testing.assert_allclose(
        est.predict(est.anchors_), est._y_mean + est._y_scale * values.numpy().ravel(), atol=1e-12
    )
    assert est.score(X, y) > 0.9
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(X), est.predict(X)) and np.array_equal(again.anchors_, est.anchors_)


def test_custom_path_in_the_estimator():
    X, y = _data()
    kw = dict(random_state=0, max_iter=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lin = JacobianRegressor(constraint="nonconservative", **kw).fit(X, y)
        same = JacobianRegressor(constraint="nonconservative", path=straight, **kw).fit(X, y)
        bent = JacobianRegressor(constraint="nonconservative", path=curved, **kw).fit(X, y)
    # the straight line written by a user is the built-in one (velocity from forward-mode autograd)
    np.testing.assert_allclose(same.predict(X), lin.predict(X), rtol=1e-9, atol=1e-9)
    assert not np.allclose(bent.predict(X), lin.predict(X), atol=1e-6)  # a non-conservative field: the path matters
    again = pickle.loads(pickle.dumps(bent))
    assert again.model_.path is not None and np.array_equal(again.predict(X), bent.predict(X))


def test_bad_paths_and_inapplicable_options_are_refused():
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="start at a"):
        JacobianRegressor(constraint="nonconservative", path=lambda t, a, b: a + b * t[:, None, None]).fit(X, y)
    with pytest.raises(ValueError, match="must return shape"):
        JacobianRegressor(constraint="nonconservative", path=lambda t, a, b: a).fit(X, y)
    with pytest.raises(ValueError, match="calling it failed"):
        JacobianRegressor(constraint="nonconservative", path=lambda t, a, b: np.zeros(3)).fit(X, y)
    with pytest.raises(ValueError, match="path-independent"):
        JacobianRegressor(constraint="lipschitz", n_anchors=4).fit(X, y)
    with pytest.raises(ValueError, match="path-independent"):
        JacobianRegressor(constraint="nonconservative", path=curved).fit(X[:, :1], y)
    with pytest.raises(ValueError, match="path-independent"):
        JacobianRegressor(constraint="complex", activation="sin", n_anchors=2).fit(X[:, :2], np.c_[y, y])
    with pytest.raises(ValueError, match="initial_point"):
        JacobianRegressor(constraint="nonconservative", n_anchors=3, initial_point=0.0).fit(X, y)
    assert "n_anchors" not in InvertibleJacobianRegressor().get_params()


def test_custom_path_in_float32_and_far_from_the_origin():
    """The path runs in the units of X: its endpoint check allows the rounding of that conversion."""
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = JacobianRegressor(
            constraint="nonconservative", path=straight, dtype="float32", random_state=0, max_iter=5
        ).fit(X, y)
        far = JacobianRegressor(constraint="nonconservative", path=straight, random_state=0, max_iter=5).fit(X + 1e6, y)
    assert np.all(np.isfinite(est.predict(X))) and np.all(np.isfinite(far.predict(X + 1e6)))


def test_anchors_shorten_the_frozen_rule():
    """freeze sizes the fixed Gauss-Kronrod rule on the queries' (shorter) paths only."""
    X, y = _data(n=400)
    kw = dict(random_state=0, max_iter=10, rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        one = JacobianRegressor(constraint="nonconservative", **kw).fit(X * 3, y)
        many = JacobianRegressor(constraint="nonconservative", n_anchors=32, **kw).fit(X * 3, y)
    assert many.model_.frozen_rule <= one.model_.frozen_rule
