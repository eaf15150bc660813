"""Parallel searches: the torch thread policy, joblib's loky and threading backends, dask."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skjacnet import JacobianRegressor
from skjacnet._runtime import SMALL_FIT, thread_policy, torch_threads


@pytest.fixture
def data(rng):
    X = rng.uniform(-2, 2, (60, 1))
    return X, np.tanh(X).ravel() + 0.1 * rng.standard_normal(60)


def _threads_in_a_fit(n_rows: int) -> int:
    with torch_threads(thread_policy(n_rows)):
        return torch.get_num_threads()


def test_thread_policy_gives_each_loky_worker_its_share():
    share = max(1, joblib.cpu_count() // 2)  # loky sets OMP_NUM_THREADS in its workers; torch reads it
    small, large = 100, 10 * SMALL_FIT
    got = joblib.Parallel(n_jobs=2)(joblib.delayed(_threads_in_a_fit)(n) for n in (small, large, small, large))
    assert got == [1, share, 1, share]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:  # in the caller's process: its own setting for large fits
        assert (_threads_in_a_fit(small), _threads_in_a_fit(large)) == (1, 2)
    finally:
        torch.set_num_threads(before)


def test_overlapping_fits_restore_the_callers_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first, second = torch_threads(1), torch_threads(1)
        first.__enter__()
        second.__enter__()  # a second fit starts in another thread while the first runs
        first.__exit__(None, None, None)  # the first finishes first
        assert torch.get_num_threads() == 1  # the second still runs on one thread
        second.__exit__(None, None, None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


SEARCH = dict(param_grid={"alpha": [1e-3, 1.0], "constraint": ["none", "lipschitz"]}, cv=2)
SEARCH_EST = JacobianRegressor(max_iter=20, hidden_layer_sizes=(8,), lipschitz_constant=2.0, random_state=0)


def _search(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(SEARCH_EST, **SEARCH, **kw).fit(X, y).cv_results_["mean_test_score"]


def test_grid_search_n_jobs_2_equals_serial(data):
    X, y = data
    assert np.array_equal(_search(X, y, n_jobs=2), _search(X, y, n_jobs=1))


def test_concurrent_fits_in_threads_keep_the_callers_thread_count(data):
    X, y = data
    serial = _search(X, y, n_jobs=1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with joblib.parallel_backend("threading", n_jobs=2):
            threaded = _search(X, y)
        assert torch.get_num_threads() == 2  # the last fit to finish restores the caller's count
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(threaded, serial)


def test_grid_search_on_a_dask_cluster_equals_serial(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    serial = _search(X, y, n_jobs=1)
    # in-process workers start in a fraction of a second; the code path is the one of a real cluster
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask = _search(X, y, n_jobs=-1)
    assert np.array_equal(on_dask, serial)
