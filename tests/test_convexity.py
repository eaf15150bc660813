"""convexity_cst: convex / concave along chosen features, exactly, everywhere, after any sequence of fits."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from skjacnet import JacobianRegressor
from skjacnet.integrate.mesh import build_table


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 3))
    # convex in x0, concave in x1, an interaction of x0 with the free x2
    y = X[:, 0] ** 2 - np.log1p(np.exp(2 * X[:, 1])) + np.sin(2 * X[:, 2]) + 0.5 * X[:, 0] * X[:, 2]
    return X, y + 0.05 * rng.standard_normal(n)


def _second_differences(est, A, j, h):
    """sign-free second differences of predict along feature j, (n, m)."""
    up, down = A.copy(), A.copy()
    up[:, j] += h
    down[:, j] -= h
    f = lambda Z: est.predict(Z).reshape(len(Z), -1)  # noqa: E731
    return f(up) + f(down) - 2 * f(A)


def _lines(rng, d, n_lines=20, reach=1e4, n=401):
    """Points along random lines parallel to each axis, far beyond the data (reach) and through it."""
    base = rng.uniform(-reach, reach, (n_lines, d)) * rng.choice([1e-3, 1.0], (n_lines, 1))
    t = np.linspace(-reach, reach, n)
    return base, t


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_shape_holds_along_every_constrained_feature_far_beyond_the_data(dtype, seed):
    X, y = _data(seed=seed)
    cst = [1, -1, 0]
    est = JacobianRegressor(convexity_cst=cst, dtype=dtype, random_state=seed).fit(X, y)
    assert est.score(X, y) > 0.97
    eps = np.finfo(np.float32 if dtype == "float32" else np.float64).eps
    rng = np.random.RandomState(seed)
    for reach in (3.0, 1e2, 1e5):
        base, t = _lines(rng, 3, reach=reach)
        for j, c in enumerate(cst):
            if c == 0:
                continue
            for b in base:
                P = np.repeat(b[None], len(t), 0)
                P[:, j] = t
                f = est.predict(P).astype(np.float64)
                second = c * (f[2:] + f[:-2] - 2 * f[1:-1])
                assert second.min() >= -64 * eps * (np.abs(f).max() + np.abs(y).max()), (reach, j)
    assert est.check_guarantee(np.vstack([X, X * 1e3]), random_state=seed)["holds"] is True


def test_increasing_and_concave_never_steepens_beyond_the_data():
    rng = np.random.RandomState(3)
    x = rng.uniform(0, 4, 150)
    y = np.log1p(3 * x) + 0.05 * rng.standard_normal(150)  # diminishing returns
    est = JacobianRegressor(convexity_cst=[-1], monotonic_cst=[1], random_state=0).fit(x[:, None], y)
    edge = est.jacobian(np.array([[x.max()]])).ravel()[0]
    beyond = est.jacobian(np.linspace(x.max(), 1e6, 200)[:, None]).ravel()
    assert np.all(beyond >= 0) and np.all(beyond <= edge * (1 + 1e-12))
    slopes = est.jacobian(np.linspace(-1e6, 1e6, 2001)[:, None]).ravel()
    assert np.all(np.diff(slopes) <= 1e-12 * np.abs(slopes).max())  # the slope never rises: concave
    assert "concave in features [0]" in est.guarantee_["property"]
    assert "non-decreasing in features [0]" in est.guarantee_["property"]


def test_free_features_interact_with_the_constrained_ones():
    X, y = _data(n=600)
    est = JacobianRegressor(convexity_cst=[1, 0, 0], random_state=0).fit(X, y)
    J = est.jacobian(X)
    # d f / d x0 moves with the free x2 (the 0.5 x0 x2 term): the interaction is there
    slope = np.polyfit(X[:, 2], J[:, 0, 0] if J.ndim == 3 else J[:, 0], 1)[0]
    assert 0.3 < slope < 0.7
    assert est.score(X, y) > 0.97


def test_several_targets_and_monotone_features_together():
    X, y = _data()
    Y = np.c_[y, X[:, 0] ** 2 + X[:, 1]]
    est = JacobianRegressor(convexity_cst=[1, 0, 0], monotonic_cst=[0, 1, 0], random_state=0).fit(X, Y)
    assert est.check_guarantee(np.vstack([X, 50 * X]), random_state=0)["holds"] is True
    A = np.random.RandomState(0).uniform(-100, 100, (300, 3))
    assert (_second_differences(est, A, 0, 3.0) >= -1e-9).all()
    B = A.copy()
    B[:, 1] += 7.0
    assert (est.predict(B) - est.predict(A) >= -1e-9).all()


def test_by_feature_name_and_behind_a_column_transformer_name():
    X, y = _data()
    df = pd.DataFrame(X, columns=["ads", "price", "season"])
    est = JacobianRegressor(convexity_cst={"price": -1}, max_iter=20, random_state=0).fit(df, y)
    assert est.guarantee_["convexity_cst"] == [0, -1, 0]


def test_persistence_keeps_the_frozen_function_and_its_guarantee():
    X, y = _data()
    est = JacobianRegressor(convexity_cst=[1, -1, 0], monotonic_cst=[0, 0, 1], max_iter=30, random_state=0)
    est.fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    far = np.random.RandomState(1).uniform(-1e3, 1e3, (100, 3))
    np.testing.assert_array_equal(loaded.predict(far), est.predict(far))
    assert loaded.check_guarantee(far, random_state=0)["holds"] is True


def test_set_params_that_change_the_shape_rebuild_and_keep_the_guarantee():
    X, y = _data()
    est = JacobianRegressor(convexity_cst=[1, 0, 0], warm_start=True, max_iter=10, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="convexity_cst"):
        est.set_params(convexity_cst=[-1, 0, 1]).fit(X, y)
    assert est.guarantee_["convexity_cst"] == [-1, 0, 1]
    assert est.check_guarantee(np.vstack([X, 20 * X]), random_state=0)["holds"] is True
    est.set_params(convexity_cst=None).fit(X, y)  # back to the default structure
    assert "convexity_cst" not in est.guarantee_
    with pytest.raises(ValueError, match="convexity_cst"):  # partial_fit continues only the same structure
        est.set_params(convexity_cst=[0, 1, 0]).partial_fit(X, y)
    est.fit(X, y)
    est.partial_fit(X[:50], y[:50])
    assert est.check_guarantee(np.vstack([X, 20 * X]), random_state=0)["holds"] is True


def test_the_check_fails_on_a_model_whose_table_is_out_of_order():
    """check_guarantee is a real test: a frozen derivative table made non-monotone in a convex ridge is caught."""
    X, y = _data()
    est = JacobianRegressor(convexity_cst=[1, 0, 0], max_iter=20, random_state=0).fit(X, y)
    m = est.model_
    mesh = m.frozen_rule
    values = mesh.values.clone()
    convex = (m.structure.orient > 0).nonzero().ravel()
    knots = mesh.knots
    near = (knots.abs() < 3).nonzero().ravel()
    with torch.no_grad():
        values[near[:, None], convex[None, :]] = -(knots[near, None] ** 2) * 5  # g falls then rises: not convex
    m.frozen_rule = build_table(knots, values, mesh.converged)
    assert est.check_guarantee(X, random_state=0)["holds"] is False


@pytest.mark.parametrize(
    "params, match",
    [
        ({"convexity_cst": [1, 0]}, "one entry in"),
        ({"convexity_cst": [2, 0, 0]}, "one entry in"),
        ({"convexity_cst": [1, 0, 0], "method": "rk4"}, "knot mesh"),
        ({"convexity_cst": [1, 0, 0], "constraint": "lipschitz"}, "its own structure"),
        ({"convexity_cst": [1, 0, 0], "n_layers": 2}, "n_layers=2"),
    ],
)
def test_bad_shapes_are_refused_with_the_fix(params, match):
    X, y = _data(n=60)
    with pytest.raises(ValueError, match=match):
        JacobianRegressor(**params, max_iter=2).fit(X, y)


def test_all_free_constrains_nothing():
    X, y = _data(n=80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = JacobianRegressor(convexity_cst=[0, 0, 0], max_iter=3, random_state=0).fit(X, y)
    assert "convexity_cst" not in est.guarantee_ and type(est.model_).__name__ != "ShapeRidges"


def test_a_classifier_logit_with_a_shape():
    from skjacnet import JacobianClassifier

    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (400, 2))
    logit = -(X[:, 0] ** 2) + 1.5 + X[:, 1]  # concave in x0: a middle band of x0 is most likely positive
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-2 * logit))).astype(int)
    clf = JacobianClassifier(convexity_cst=[-1, 0], monotonic_cst=[0, 1], random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.75
    far = np.vstack([X, rng.uniform(-1e3, 1e3, (200, 2))])
    assert clf.check_guarantee(far, random_state=0)["holds"] is True
    d = clf.decision_function(np.c_[np.linspace(-1e3, 1e3, 2001), np.zeros(2001)])
    assert np.all(d[2:] + d[:-2] - 2 * d[1:-1] <= 1e-9 * np.abs(d).max())
    with pytest.raises(ValueError, match="binary"):
        JacobianClassifier(convexity_cst=[1, 0], max_iter=2).fit(X, rng.randint(0, 3, 400))
