"""partial_fit: MLPRegressor's semantics (one Adam epoch per call), chunked and distributed training."""

import pickle

import numpy as np
import pytest
from sklearn.metrics import r2_score

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore:The learned Jacobian field:UserWarning"
)


def _data(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 3))
    return X, np.sin(X[:, 0]) + 0.3 * X[:, 1] * X[:, 2] + 0.5 * X[:, 2]


def _epochs(est, X, y, epochs, chunk):
    for _ in range(epochs):
        for i in range(0, len(X), chunk):
            est.partial_fit(X[i : i + chunk], y[i : i + chunk])
    return est


def test_chunks_reach_the_in_memory_fit():
    X, y = _data(1600, 0)
    Xt, yt = _data(2000, 1)
    params = dict(constraint="lipschitz", lipschitz_constant=3.0, solver="adam", max_iter=15, random_state=0)
    full = JacobianRegressor(**params).fit(X, y)
    chunked = _epochs(JacobianRegressor(**params), X, y, epochs=15, chunk=400)
    assert chunked.n_iter_ == 60  # one per call
    assert r2_score(yt, chunked.predict(Xt)) >= r2_score(yt, full.predict(Xt)) - 0.01
    assert chunked.check_guarantee(np.vstack([Xt, 5 * Xt[:50]]), random_state=0)["holds"] is True


def test_later_calls_continue_the_same_network_and_moments():
    X, y = _data(400, 0)
    est = JacobianRegressor(random_state=0).partial_fit(X[:200], y[:200])
    model, state = est.model_, est._partial
    scale = est._x_scale.copy()
    est.partial_fit(X[200:], y[200:])  # the scales stay those of the first chunk
    assert est.model_ is model and est._partial.optimizer is state.optimizer
    np.testing.assert_array_equal(est._x_scale, scale)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2


def test_partial_fit_after_fit_continues_it():
    X, y = _data(300, 0)
    est = JacobianRegressor(max_iter=5, random_state=0).fit(X, y)
    before = est.predict(X)
    est.partial_fit(X, y)
    assert est.n_iter_ == 6
    assert not np.array_equal(est.predict(X), before)


def test_a_changed_structure_is_refused_by_name():
    X, y = _data(200, 0)
    est = JacobianRegressor(constraint="lipschitz", random_state=0).partial_fit(X, y)
    est.set_params(lipschitz_constant=2.0)
    with pytest.raises(ValueError, match="lipschitz_constant"):
        est.partial_fit(X, y)


def test_lbfgs_has_no_partial_fit():
    assert not hasattr(JacobianRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(JacobianRegressor(), "partial_fit")


def test_a_pickled_estimator_continues_with_fresh_moments():
    X, y = _data(400, 0)
    est = InvertibleJacobianRegressor(random_state=0)
    Y = np.c_[X[:, :2].sum(1), X[:, 1] - 0.2 * X[:, 0] ** 3]
    est.partial_fit(X[:200, :2], Y[:200])
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded._partial is None
    loaded.partial_fit(X[200:, :2], Y[200:])
    back = loaded.inverse_transform(loaded.predict(X[:50, :2]))
    np.testing.assert_allclose(back, X[:50, :2], atol=1e-8)


def test_dask_ml_incremental_trains_over_a_dask_array():
    """dask-ml's Incremental drives partial_fit block by block on a LocalCluster: within 0.01 of fit."""
    da = pytest.importorskip("dask.array")
    pytest.importorskip("dask_ml")
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster

    X, y = _data(1600, 0)
    Xt, yt = _data(2000, 1)
    params = dict(constraint="lipschitz", lipschitz_constant=3.0, solver="adam", max_iter=15, random_state=0)
    full = r2_score(yt, JacobianRegressor(**params).fit(X, y).predict(Xt))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster):
            Xd, yd = da.from_array(X, chunks=(400, 3)), da.from_array(y, chunks=400)
            inc = Incremental(JacobianRegressor(**params), shuffle_blocks=True, random_state=0)
            for _ in range(15):
                inc.partial_fit(Xd, yd)
            chunked = r2_score(yt, inc.estimator_.predict(Xt))
    assert inc.estimator_.n_iter_ == 60
    assert chunked >= full - 0.01, (chunked, full)
