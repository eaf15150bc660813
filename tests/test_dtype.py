"""dtype='float32': every model kind trains and predicts in single precision, keeps its guarantee up to
float32 rounding, inverts to rounding level, and persists; outputs stay float64 numpy arrays."""

import pickle
import warnings

import numpy as np
import pytest
import torch

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

F32 = float(np.finfo(np.float32).eps)

CASES = {
    "none-1d": (dict(), 1, 1),
    "none-nd": (dict(), 3, 2),
    "lipschitz": (dict(constraint="lipschitz", lipschitz_constant=0.5), 3, 2),
    "positive-1d": (dict(constraint="positive_definite"), 1, 1),
    "positive-nd": (dict(constraint="positive_definite"), 2, 2),
    "kronecker": (dict(constraint="kronecker"), 4, 4),
    "complex": (dict(constraint="complex", activation="sin"), 2, 2),
    "monotonic": (dict(monotonic_cst=[1, -1, 0]), 3, 1),
}


def _data(d, m, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (200, d))
    W = rng.standard_normal((d, m))
    Y = np.tanh(X @ W) + 0.3 * X @ W
    return X, Y.ravel() if m == 1 else Y


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_fits_like_float64_and_keeps_its_guarantee(case):
    params, d, m = CASES[case]
    X, Y = _data(d, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # path dependence of the short unconstrained fit
        fits = {
            dt: JacobianRegressor(dtype=dt, random_state=0, max_iter=40, **params).fit(X, Y)
            for dt in ("float64", "float32")
        }
    e32 = fits["float32"]
    assert all(p.dtype == torch.float32 for p in e32.model_.parameters())
    pred = e32.predict(X)
    assert pred.dtype == np.float64 and np.all(np.isfinite(pred))
    # the same random_state draws the same initial network: the fits end close to each other
    assert abs(e32.score(X, Y) - fits["float64"].score(X, Y)) < 0.02
    report = e32.check_guarantee(X, random_state=0)
    assert report["holds"] is (None if case.startswith("none") else True), report  # 'none' claims nothing
    again = pickle.loads(pickle.dumps(e32))
    assert np.array_equal(again.predict(X), pred) and again.model_.x0.dtype == torch.float32


def test_float32_monotone_on_a_dense_grid_up_to_rounding():
    X, y = _data(1, 1)
    est = InvertibleJacobianRegressor(dtype="float32", random_state=0, max_iter=60).fit(X, np.exp(X).ravel())
    grid = np.linspace(-1e3, 1e3, 400_001).reshape(-1, 1)
    f = est.predict(grid)
    assert np.all(np.diff(f) >= -8 * F32 * (np.abs(f[1:]) + 1))
    assert est.guarantee_["holds"] == "exactly, up to float32 rounding"


@pytest.mark.parametrize("d", [1, 2])
def test_float32_inverse_reaches_rounding_level(d):
    X, _ = _data(d, d)
    Y = X + 0.5 * np.tanh(X)[:, ::-1] if d == 2 else np.exp(X)
    est = InvertibleJacobianRegressor(dtype="float32", random_state=0, max_iter=60).fit(X, Y.ravel() if d == 1 else Y)
    Yq = est.predict(np.random.RandomState(1).uniform(-3, 3, (2000, d)))
    back = est.inverse_transform(Yq)
    # the residual in y is at float32 rounding; the error in x is that over the local slope
    assert np.abs(est.predict(back) - Yq).max() <= 1e-5 * (1 + np.abs(Yq).max())
