"""One contract, every model kind (tests/kinds.py): what any fitted JacNet model must satisfy."""

import pickle

import numpy as np
import pytest
import torch
from conftest import torch_predict
from kinds import KINDS, PATH_INTEGRATED, fit_kind

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore:The learned Jacobian field:UserWarning"
)


@pytest.fixture(scope="module", params=sorted(KINDS))
def fitted(request):
    est, X, Y = fit_kind(request.param)
    return request.param, est, X, Y


def test_the_exact_jacobian_is_the_derivative_of_predict(fitted):
    name, est, X, _ = fitted
    if name in PATH_INTEGRATED:
        pytest.skip("the network's field is the Jacobian only where it is curl-free")
    A = torch.as_tensor(np.vstack([X[:5], 3 * X[:3]]))
    scale_x = torch.as_tensor(est._x_scale)
    scale_y = torch.as_tensor(est._y_scale)
    xs = (A - torch.as_tensor(est._x_mean)) / scale_x
    with torch.no_grad():
        exact = est.model_.jacobian(est._pad(xs))[:, : est.n_targets_, : X.shape[1]]
    exact = scale_y[None, :, None] * exact / scale_x[None, None, :]  # in the units of X and y
    auto = torch.stack([torch.autograd.functional.jacobian(lambda a: torch_predict(est, a[None])[0], a) for a in A])
    torch.testing.assert_close(exact, auto.reshape(exact.shape), rtol=1e-7, atol=1e-9)


def _central_differences(est, A, h=1e-6):
    """d predict / dX by central differences, (n, n_targets, n_features)."""
    cols = []
    for j in range(A.shape[1]):
        step = np.zeros(A.shape[1])
        step[j] = h
        diff = (est.predict(A + step) - est.predict(A - step)) / (2 * h)
        cols.append(diff.reshape(len(A), -1))
    return np.stack(cols, axis=-1)


def test_public_jacobian_is_the_derivative_of_predict(fitted):
    """est.jacobian(X), in the units of X and y, for every kind: path-integrated ones by autograd."""
    _, est, X, Y = fitted
    A = np.vstack([X[:6], 3 * X[:3], -2.5 * X[3:5]])
    J = est.jacobian(A)
    expected_shape = (len(A), X.shape[1]) if np.ndim(Y) == 1 else (len(A), Y.shape[1], X.shape[1])
    assert J.shape == expected_shape and J.dtype == np.float64
    fd = _central_differences(est, A)
    np.testing.assert_allclose(J.reshape(fd.shape), fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())


def test_public_jacobian_obeys_the_certificate(fitted):
    """What guarantee_ states about the Jacobian, read off est.jacobian at data, far and random points."""
    _, est, X, _ = fitted
    rng = np.random.RandomState(3)
    A = np.vstack([X, 10 * X[:10], rng.standard_normal((200, X.shape[1])) * 4 * np.abs(X).max()])
    J = est.jacobian(A).reshape(len(A), est.n_targets_, X.shape[1])
    s = np.linalg.svd(J, compute_uv=False)
    g = est.guarantee_
    if g["lipschitz_upper"] is not None:
        assert s.max() <= g["lipschitz_upper"] * (1 + 1e-9)
    for key in ("expansion_lower", "jacobian_lower"):
        if g[key] is not None:
            assert s.min() >= g[key] * (1 - 1e-9)
    for j, c in enumerate(g.get("monotonic_cst", [])):
        if c:
            assert (c * J[:, :, j]).min() >= -1e-12 * np.abs(J).max()


def test_inverse_round_trip(fitted):
    name, est, X, _ = fitted
    if not hasattr(est, "inverse_transform") or est.n_features_in_ != est.n_targets_:
        pytest.skip("no inverse for this kind")
    A = np.vstack([X, 5 * X[:10]])
    back = est.inverse_transform(est.predict(A)).reshape(A.shape)
    assert np.abs(back - A).max() <= 1e-8 * (1 + np.abs(A).max())


def test_pickle_is_an_identity(fitted):
    _, est, X, _ = fitted
    loaded = pickle.loads(pickle.dumps(est))
    A = np.vstack([X, 4 * X[:10]])
    np.testing.assert_array_equal(loaded.predict(A), est.predict(A))
    assert loaded.guarantee_ == est.guarantee_


def test_a_prediction_does_not_depend_on_its_batch(fitted):
    _, est, X, _ = fitted
    A = np.vstack([X, 20 * X[:10]])
    whole = est.predict(A)
    alone = np.concatenate([est.predict(A[i : i + 1]) for i in range(0, len(A), 9)])
    np.testing.assert_allclose(whole[::9], alone, rtol=1e-12, atol=1e-12)


def test_float32_keeps_the_guarantee(fitted):
    name, _, X, _ = fitted
    est, X, _ = fit_kind(name, dtype="float32", max_iter=5)
    assert est.model_.x0.dtype == torch.float32
    report = est.check_guarantee(np.vstack([X, 3 * X]), random_state=0)
    assert report["holds"] is (None if est.guarantee_["property"] == "none" else True), report
    # the Jacobian in float32: float64 out, the derivative of the float32 predict to its rounding
    A = X[:8]
    J = est.jacobian(A)
    assert J.dtype == np.float64
    # float32 rounding needs steps of 1e-3 or more; a deep Lipschitz stack's MaxMin kinks may lie within such a
    # step, so each entry must match the differences at one of three steps (a wrong J matches none of them)
    fds = np.stack([_central_differences(est, A, h=h) for h in (1e-2, 3e-3, 1e-3)])
    J = J.reshape(fds.shape[1:])
    tol = 1e-2 * np.abs(J) + 1e-3 * np.abs(fds[0]).max()
    miss = (np.abs(fds - J) > tol).all(0)
    assert not miss.any(), (J[miss], fds[:, miss])
