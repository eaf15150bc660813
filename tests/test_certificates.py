"""Certificates: what a fit reports it guarantees, checked on random networks (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _data(seed, d, m, n=30):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10)
    Y = np.tanh(X @ rng.standard_normal((d, m))) * rng.uniform(0.1, 100) + rng.standard_normal((n, m))
    return X, (Y.ravel() if m == 1 else Y), rng


def _at_init():
    """Next to untrained: one Adam step of size 1e-12."""
    return dict(max_iter=1, learning_rate_init=1e-12)


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    d=st.integers(1, 4),
    m=st.integers(1, 3),
    k=st.floats(1e-3, 1e3),
    hidden=st.lists(st.integers(1, 16), min_size=1, max_size=2),
    activation=st.sampled_from(["tanh", "relu", "softplus", "silu", "logistic"]),
    trained=st.booleans(),
)
def test_lipschitz_certificate_holds_for_random_networks(seed, d, m, k, hidden, activation, trained):
    X, Y, rng = _data(seed, d, m)
    kw = dict(max_iter=20) if trained else _at_init()
    est = JacobianRegressor(
        constraint="lipschitz",
        lipschitz_constant=k,
        hidden_layer_sizes=hidden,
        activation=activation,
        random_state=seed,
        **kw,
    ).fit(X, Y)
    assert est.guarantee_["lipschitz_upper"] == k and est.guarantee_["exact"]
    Xq = np.vstack([X, rng.standard_normal((200, d)) * 1e3])
    report = est.check_guarantee(Xq, random_state=seed)
    assert report["holds"], report


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    d=st.integers(1, 3),
    eps=st.floats(1e-6, 1.0),
    hidden=st.lists(st.integers(1, 16), min_size=1, max_size=2),
    activation=st.sampled_from(["tanh", "relu", "softplus", "silu"]),
    trained=st.booleans(),
)
def test_invertible_certificate_holds_for_random_networks(seed, d, eps, hidden, activation, trained):
    X, Y, rng = _data(seed, d, d)
    kw = dict(max_iter=20) if trained else _at_init()
    est = InvertibleJacobianRegressor(
        epsilon=eps, hidden_layer_sizes=hidden, activation=activation, random_state=seed, **kw
    ).fit(X, Y)
    assert est.guarantee_["expansion_lower"] > 0
    Xq = np.vstack([X, rng.standard_normal((200, d)) * 1e2])
    report = est.check_guarantee(Xq, random_state=seed)
    assert report["holds"], report
    Yq = est.predict(Xq[:50]).reshape(50, -1)
    back = est.inverse_transform(Yq)
    assert np.max(np.linalg.norm(back - Xq[:50], axis=1) / (1 + np.linalg.norm(Xq[:50], axis=1))) < 1e-6


def test_certificate_contents():
    X, Y, _ = _data(0, 2, 1)
    lip = JacobianRegressor(constraint="lipschitz", lipschitz_constant=2.0, max_iter=5).fit(X, Y)
    assert lip.guarantee_["norm"].startswith("euclidean") and lip.guarantee_["domain"] == "R^2"
    none = JacobianRegressor(max_iter=5).fit(X, Y)
    assert none.guarantee_["property"] == "none" and none.check_guarantee(X)["holds"] is None  # claims nothing
    assert none.check_guarantee(np.zeros((3, 2)))["pairs"] == 0  # and checks nothing
    rect = InvertibleJacobianRegressor(max_iter=5).fit(X, Y)  # 2 -> 1: a submersion, not injective
    assert rect.guarantee_["expansion_lower"] is None and rect.guarantee_["jacobian_lower"] > 0
    assert rect.check_guarantee(X)["holds"]
    ode = JacobianRegressor(constraint="lipschitz", method="rk4", max_iter=2).fit(X, Y)
    assert not ode.guarantee_["exact"] and "rk4" in ode.guarantee_["holds"]


def test_check_guarantee_refuses_what_it_cannot_check():
    X, Y, _ = _data(0, 2, 1)
    lip = JacobianRegressor(constraint="lipschitz", max_iter=3).fit(X, Y)
    for n_pairs in (0, -1, 2.5, True):
        with pytest.raises((ValueError, TypeError), match="n_pairs"):
            lip.check_guarantee(X, n_pairs=n_pairs)
    # a single distinct point: the near pairs around it are still checked (was "0 sample(s)")
    assert lip.check_guarantee(np.zeros((5, 2)))["pairs"] == 1000
    assert lip.check_guarantee(np.c_[np.zeros(5), np.arange(5.0)])["holds"]  # one constant column is fine


def test_check_guarantee_detects_a_violation():
    """The checker is not vacuous: a tampered certificate is reported as violated."""
    X, Y, _ = _data(1, 1, 1)
    est = JacobianRegressor(constraint="lipschitz", lipschitz_constant=50.0, max_iter=30, random_state=0).fit(X, Y)
    est.guarantee_ = dict(est.guarantee_, lipschitz_upper=1e-6)
    assert not est.check_guarantee(X, random_state=0)["holds"]
