"""Inverses at the extremes: for |Y| up to the float limit, never a wrong or non-finite x without a word.

Every invertible structure, in float64 and float32, is asked for the preimage of values from 1e3 to
+-1.7e308, alone and mixed with ordinary rows.  Each answer must either satisfy ``predict(x) ~= Y``
(checked here, to the relative tolerance ``RTOL`` of the kind) or come with a ``NonFiniteError`` or a
``ConvergenceWarning`` that names the failing rows by index ("rows [3, 7] (of 10)"), and never with a
row of an ordinary value among them.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor, NonFiniteError

MAGNITUDES = (1e3, 1e10, 1e40, 1e155, 1e300, 1.7e308)

# name: (estimator parameters, number of features)
KINDS = {
    "1d": ({}, 1),
    "1d-square": ({"positive_map": "square"}, 1),
    "positive_definite": ({}, 2),
    "kronecker": ({"constraint": "kronecker"}, 2),
    "coupling": ({"constraint": "coupling"}, 2),
    "positive_definite-rk4": ({"method": "rk4"}, 2),
    "positive_definite-dopri5": ({"method": "dopri5"}, 2),
}
# predict(x) ~= Y to this relative tolerance, per row: |predict(x) - Y| <= RTOL * max(1, max |Y|);
# an adaptive ODE's predictions depend on the batch (its steps serve all rows), to about its rtol
RTOL = {"float64": 1e-8, "float32": 1e-3}
RTOL_ADAPTIVE = 1e-3


def _data(d: int, n: int = 200):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n, d))
    if d == 1:
        return X, np.exp(X[:, 0] / 2)
    return X, X @ np.array([[1.0, 0.3], [0.2, 1.0]]) + 0.1 * np.tanh(X)


_FITS = {}


def _fit(kind: str, dtype: str):
    """A small fit of each kind, shared by the tests (a fit is a fraction of a second)."""
    if (kind, dtype) not in _FITS:
        params, d = KINDS[kind]
        X, y = _data(d)
        est = InvertibleJacobianRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0, dtype=dtype, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 5 iterations: the fit need not converge
            _FITS[kind, dtype] = (est.fit(X, y), X)
    return _FITS[kind, dtype]


_ROWS = re.compile(r"rows? \[([0-9, ]*)\] \(of (\d+)\)")


def _named_rows(message: str, n: int) -> set[int]:
    """The row indices a message names, in the form 'rows [3, 7] (of 10)'."""
    found = _ROWS.findall(message)
    assert found, f"the message names no rows: {message!r}"
    rows = set()
    for listed, total in found:
        assert int(total) == n, message
        rows |= {int(r) for r in listed.split(",") if r.strip()}
    assert rows and max(rows) < n, message
    return rows


def _check_inverse(est, Y: np.ndarray, kind: str, dtype: str, ordinary: set[int] = frozenset()):
    """The contract: the rows not named in an error or a warning invert to predict(x) ~= Y.

    Returns what happened: 'raised', 'warned' or 'solved'.  ``ordinary`` rows are never named.
    """
    n = Y.shape[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            X = est.inverse_transform(Y)
        except NonFiniteError as exc:
            rows = _named_rows(str(exc), n)
            assert not rows & ordinary, (str(exc), ordinary)
            assert re.search(r"overflow|not representable|beyond", str(exc)), str(exc)
            return "raised"
    named = set()
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            named |= _named_rows(str(w.message), n)
            assert re.search(r"not converge|overflow|not representable", str(w.message)), str(w.message)
    assert not named & ordinary, (named, ordinary)
    assert X.shape == (n, est.n_features_in_)
    assert np.all(np.isfinite(X)), "a non-finite x returned without an error"
    good = np.array([i for i in range(n) if i not in named], dtype=int)
    if good.size:
        adaptive = "dopri5" in kind
        P = est.predict(X if adaptive and not named else X[good]).reshape(-1, est.n_targets_)
        if adaptive and not named:
            P = P[good]
        Yg = Y.reshape(n, -1)[good]
        scale = np.maximum(1.0, np.abs(Yg).max(axis=1))
        err = np.abs(P - Yg).max(axis=1) / scale
        rtol = RTOL_ADAPTIVE if adaptive else RTOL[dtype]
        bad = good[err > rtol]
        assert bad.size == 0, (
            f"rows {bad.tolist()} returned a wrong x without a warning: relative error {err.max():.3g}"
        )
    return "warned" if named else "solved"


def _extreme(d: int, value: float) -> np.ndarray:
    """One row of size |value|: (value,) in 1-D, (value, -value) in n-D (a direction off the diagonal)."""
    if d == 1:
        return np.array([value])
    return np.array([[value, -value]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_inverse_is_right_or_names_its_rows(kind, dtype):
    est, _ = _fit(kind, dtype)
    d = est.n_targets_
    outcomes = {}
    for value in MAGNITUDES:
        for sign in (1.0, -1.0):
            outcomes[sign * value] = _check_inverse(est, _extreme(d, sign * value), kind, dtype)
    # ordinary magnitudes are solved, not explained away
    assert outcomes[1e3] == outcomes[-1e3] == "solved", outcomes
    if dtype == "float64" and "dopri5" not in kind:
        assert outcomes[1e10] == outcomes[-1e10] == outcomes[1e40] == outcomes[-1e40] == "solved", outcomes


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_mixed_rows_name_only_the_extreme_ones(kind, dtype):
    est, X = _fit(kind, dtype)
    d = est.n_targets_
    P = est.predict(X[:6]).reshape(6, -1)
    huge = [_extreme(d, v).reshape(1, -1) for v in (1e155, -1.7e308, 1.7e308, 1e40)]
    Y = np.vstack([P[:2], huge[0], P[2:4], huge[1], huge[2], P[4:], huge[3]])  # ordinary: 0, 1, 3, 4, 7, 8
    ordinary = {0, 1, 3, 4, 7, 8}
    _check_inverse(est, Y.ravel() if d == 1 else Y, kind, dtype, ordinary)
    # the ordinary rows alone are solved exactly as in any batch
    assert _check_inverse(est, Y[sorted(ordinary)].reshape(-1) if d == 1 else Y[sorted(ordinary)], kind, dtype) == (
        "solved"
    )


def test_huge_targets_in_several_dimensions_are_solved_not_passed_off_as_x_mean():
    """The reported case: |Y| ~ 1e155 made the polish's norms overflow and returned x_mean as 'converged'."""
    est, X = _fit("positive_definite", "float64")
    Y = np.array([[1e155, -1e155], [1e300, 1e300]])
    assert _check_inverse(est, Y, "positive_definite", "float64") == "solved"
    assert np.all(np.abs(est.inverse_transform(Y) - X.mean(axis=0)) > 1.0)


def test_1d_beyond_the_reachable_range_raises_like_predict():
    """The reported case: 1-D ``inverse_transform([1e307, 1.7e308])`` returned inf without a word."""
    est, _ = _fit("1d", "float64")
    with pytest.raises(NonFiniteError, match=r"rows? \[1\] \(of 2\)"):
        est.inverse_transform([1e307, 1.7e308])


@pytest.mark.parametrize("constraint", ["kronecker", "coupling", "positive_definite", "lipschitz", "auto"])
def test_jacobian_regressor_names_the_invertible_estimator(constraint):
    X, Y = _data(2, n=60)
    est = JacobianRegressor(constraint=constraint, hidden_layer_sizes=(16,), max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert not hasattr(est, "inverse_transform") and not hasattr(JacobianRegressor(), "inverse_transform")
    wanted = constraint if constraint in ("kronecker", "coupling", "positive_definite") else "positive_definite"
    with pytest.raises(AttributeError, match=rf"InvertibleJacobianRegressor\(constraint='{wanted}'\)"):
        est.inverse_transform(Y)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        est.no_such_thing  # noqa: B018  (every other missing attribute is the ordinary error)
