"""Integration options the fitted structure cannot use are said once per fit (issue 38), never ignored in silence.

'potential' (the default on several features) and 'coupling' are integrated in closed form: rtol, atol,
tol_annealing and adjoint cannot change them, and a search over them scores every value alike.  adjoint acts only
through an ODE method.  The warning fires exactly there, and never at the defaults or where the option acts.
"""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skjacnet import InertOptionWarning, InvertibleJacobianRegressor, JacobianClassifier, JacobianRegressor

FAST = dict(max_iter=10, hidden_layer_sizes=(8,), random_state=0)


def data(d: int, m: int, n: int = 100, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, d))
    W = rng.standard_normal((d, m)) + np.eye(d, m) * 2
    Y = np.tanh(X) @ W + 0.3 * X @ W
    return X, Y.ravel() if m == 1 else Y


# name -> (estimator class, parameters, n_features, n_targets)
CLOSED_FORM = {
    "auto on 3 features (potential)": (JacobianRegressor, dict(), 3, 1),
    "potential": (JacobianRegressor, dict(constraint="potential"), 3, 2),
    "coupling": (InvertibleJacobianRegressor, dict(constraint="coupling"), 3, 3),
    "coupling deep": (InvertibleJacobianRegressor, dict(constraint="coupling", n_layers=2), 2, 2),
    "coupling in JacobianRegressor": (JacobianRegressor, dict(constraint="coupling"), 2, 2),
}
NUMERICAL = {
    "none 1-D (mesh)": (JacobianRegressor, dict(), 1, 1),
    "none n-D (mesh)": (JacobianRegressor, dict(constraint="none"), 3, 2),
    "lipschitz deep (mesh)": (JacobianRegressor, dict(constraint="lipschitz", n_layers=2), 2, 1),
    "kronecker (mesh)": (InvertibleJacobianRegressor, dict(constraint="kronecker"), 4, 4),
    "positive_definite (mesh)": (InvertibleJacobianRegressor, dict(), 2, 2),
    "nonconservative (Gauss-Kronrod)": (JacobianRegressor, dict(constraint="nonconservative"), 3, 2),
    "complex (Gauss-Kronrod)": (JacobianRegressor, dict(constraint="complex"), 4, 2),
    "monotonic_cst (mesh)": (JacobianRegressor, dict(monotonic_cst=[1, 0]), 2, 1),
    "auto on 3 features, rk4 (none)": (JacobianRegressor, dict(method="rk4"), 3, 1),
}


def fit_recording(cls, params: dict, d: int, m: int, **extra):
    """The fitted estimator and the InertOptionWarnings its fit raised."""
    X, Y = data(d, m)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = cls(**{**FAST, **params, **extra}).fit(X, Y)
    return est, [w for w in caught if issubclass(w.category, InertOptionWarning)]


@pytest.mark.parametrize("option", [dict(rtol=1e-3), dict(atol=1e-9), dict(tol_annealing=True), dict(adjoint=True)])
@pytest.mark.parametrize("kind", list(CLOSED_FORM))
def test_closed_form_structures_say_once_that_the_option_cannot_act(kind, option):
    cls, params, d, m = CLOSED_FORM[kind]
    est, caught = fit_recording(cls, params, d, m, **option)
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    ((name, value),) = option.items()
    assert f"{name}={value!r} has no effect" in message
    assert f"constraint_={est.constraint_!r}" in message and "closed form" in message
    assert "Remove it from the search" in message and "integrated numerically, such as constraint=" in message
    assert issubclass(caught[0].category, UserWarning)
    assert caught[0].filename == __file__  # attributed to the line that called fit


def test_the_warning_names_every_inert_option_of_the_fit_at_once():
    _, caught = fit_recording(JacobianRegressor, {}, 3, 1, rtol=1e-3, atol=1e-9)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "rtol=0.001, atol=1e-09 have no effect" in message
    assert "constraint='auto' on several features" in message and "Remove them" in message


@pytest.mark.parametrize("kind", list(CLOSED_FORM))
def test_closed_form_fits_are_identical_whatever_the_tolerances(kind):
    # what the warning claims: the predictions cannot differ
    cls, params, d, m = CLOSED_FORM[kind]
    X, _ = data(d, m)
    loose = fit_recording(cls, params, d, m, rtol=1e-3, atol=1e-3)[0]
    tight = fit_recording(cls, params, d, m, rtol=1e-10, atol=1e-12, tol_annealing=True)[0]
    assert np.array_equal(loose.predict(X), tight.predict(X))


@pytest.mark.parametrize("kind", [*CLOSED_FORM, *NUMERICAL])
def test_silent_at_the_defaults(kind):
    cls, params, d, m = {**CLOSED_FORM, **NUMERICAL}[kind]
    assert fit_recording(cls, params, d, m)[1] == []


def test_silent_when_the_default_is_given_explicitly():
    assert fit_recording(JacobianRegressor, {}, 3, 1, rtol=1e-4, atol=1e-6, tol_annealing=False, adjoint=False)[1] == []


@pytest.mark.parametrize("kind", list(NUMERICAL))
def test_silent_where_the_tolerances_act(kind):
    cls, params, d, m = NUMERICAL[kind]
    est, caught = fit_recording(cls, params, d, m, rtol=1e-3, atol=1e-8, tol_annealing=True)
    assert caught == [], [str(w.message) for w in caught]
    assert est.constraint_ not in ("potential", "coupling")


def test_tolerances_change_a_mesh_fit():
    # the counterpart of the closed-form identity: on the knot mesh the same search does move the fit
    X, _ = data(1, 1)
    loose = fit_recording(JacobianRegressor, {}, 1, 1, rtol=1e-3)[0]
    tight = fit_recording(JacobianRegressor, {}, 1, 1, rtol=1e-8)[0]
    assert not np.array_equal(loose.predict(X), tight.predict(X))


def test_adjoint_without_an_ode_method_warns_and_with_one_is_silent():
    est, caught = fit_recording(JacobianRegressor, dict(constraint="none"), 2, 1, adjoint=True)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "adjoint=True has no effect" in message and "method='quadrature'" in message
    assert "constraint_='none'" in message and "ODE method such as method='dopri5'" in message
    est, caught = fit_recording(JacobianRegressor, dict(constraint="none", method="rk4"), 2, 1, adjoint=True)
    assert caught == []
    # the classifier shares the fit: the same rule
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (100, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JacobianClassifier(adjoint=True, **FAST).fit(X, X[:, 0] > 0)
    assert [w.category for w in caught if issubclass(w.category, InertOptionWarning)] == [InertOptionWarning]


def test_an_ode_method_on_a_closed_form_structure_is_a_value_error():
    X, Y = data(3, 2)
    with pytest.raises(ValueError, match="closed form.*method='rk4'.*Use method='quadrature'"):
        JacobianRegressor(constraint="potential", method="rk4", **FAST).fit(X, Y)


def test_once_per_fit_with_members_and_once_per_partial_fit_sequence():
    X, Y = data(3, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JacobianRegressor(n_members=3, early_stopping=True, rtol=1e-3, **FAST).fit(X, Y)
    assert sum(issubclass(w.category, InertOptionWarning) for w in caught) == 1
    est = JacobianRegressor(rtol=1e-3, **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            est.partial_fit(X, Y)
    assert sum(issubclass(w.category, InertOptionWarning) for w in caught) == 1


def test_grid_search_over_rtol_shows_the_warning():
    # the user's case: GridSearchCV over tolerances on the default model of 3 features (sequential, n_jobs=None)
    X, y = data(3, 1)
    search = GridSearchCV(JacobianRegressor(**FAST), {"rtol": [1e-3, 1e-6]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    messages = {str(w.message) for w in caught if issubclass(w.category, InertOptionWarning)}
    assert any("rtol=0.001 has no effect" in m for m in messages)
    assert any("rtol=1e-06 has no effect" in m for m in messages)
    # and it is true: every candidate scores alike
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == scores[1]
