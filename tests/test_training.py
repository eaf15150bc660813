"""Training: MLPRegressor's stopping rule, early stopping, L-BFGS, progress output."""

import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet._targets import weighted_r2

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def data_1d(rng):
    X = rng.uniform(-2, 2, (300, 1))
    return X, np.tanh(X).ravel() + 0.1 * rng.standard_normal(300)


def _mlp_stop(curve, tol, n_iter_no_change, higher_is_better):
    """The epoch (1-based) at which MLPRegressor's rule stops on this curve, or None."""
    best, stall = -np.inf if higher_is_better else np.inf, 0
    for epoch, value in enumerate(curve, 1):
        v = value if higher_is_better else -value
        b = best if higher_is_better else -best
        stall = stall + 1 if v < b + tol else 0
        best = max(best, value) if higher_is_better else min(best, value)
        if stall > n_iter_no_change:
            return epoch
    return None


# ---------------------------------------------------------------- the stopping rule
def test_weighted_r2_is_sklearns(rng):
    y = rng.standard_normal((30, 3))
    y[:, 2] = 0.0  # a constant target (exact zero spread): sklearn's force_finite convention
    pred, w = y + 0.3 * rng.standard_normal((30, 3)), rng.uniform(0, 2, 30)
    t = [torch.as_tensor(a) for a in (pred, y, w)]
    assert weighted_r2(*t) == pytest.approx(r2_score(y, pred, sample_weight=w), rel=1e-12)
    assert weighted_r2(t[1], t[1], t[2]) == 1.0


def test_training_loss_rule_stops_before_max_iter(data_1d):
    X, y = data_1d
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        est = JacobianRegressor(tol=1e-3, n_iter_no_change=5, max_iter=300, random_state=0, early_stopping=False)
        est.fit(X, y)
    assert est.n_iter_ < 300
    assert est.n_iter_ == _mlp_stop(est.loss_curve_, 1e-3, 5, higher_is_better=False)
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.validation_scores_ is None and est.best_validation_score_ is None


def test_max_iter_without_convergence_warns(data_1d):
    X, y = data_1d
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\).*n_iter_no_change=50"):
        est = JacobianRegressor(max_iter=3, random_state=0).fit(X, y)
    assert est.n_iter_ == 3


@quiet
def test_early_stopping_stops_and_keeps_the_best_epochs_weights(data_1d):
    X, y = data_1d
    params = dict(early_stopping=True, n_iter_no_change=5, max_iter=300, random_state=0)
    est = JacobianRegressor(**params).fit(X, y)
    scores = est.validation_scores_
    assert est.n_iter_ < 300 and len(scores) == est.n_iter_ == len(est.loss_curve_)
    assert est.n_iter_ == _mlp_stop(scores, 1e-4, 5, higher_is_better=True)  # tol="auto": 1e-4 here
    assert est.best_loss_ is None and est.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores)) + 1
    assert best_epoch < est.n_iter_  # training went on past the best epoch...
    # ...yet predicts with the best epoch's weights: those of the same run stopped there
    stopped = JacobianRegressor(**{**params, "max_iter": best_epoch}).fit(X, y)
    assert stopped.validation_scores_ == scores[:best_epoch]
    assert np.array_equal(est.predict(X), stopped.predict(X))


@quiet
def test_validation_split_is_seeded_unstratified_and_weighted(data_1d, rng):
    X, y = data_1d
    w = rng.uniform(0.1, 5.0, len(y))
    est = JacobianRegressor(early_stopping=True, validation_fraction=0.2, max_iter=15, random_state=3)
    a = est.fit(X, y, sample_weight=w).validation_scores_
    assert est.fit(X, y, sample_weight=w).validation_scores_ == a
    assert est.set_params(random_state=4).fit(X, y, sample_weight=w).validation_scores_ != a
    # the split is train_test_split's, from random_state's stream after the weights' seed
    seeds = np.random.RandomState(4)
    seeds.randint(np.iinfo(np.int32).max)
    _, val = train_test_split(np.arange(len(y)), test_size=0.2, random_state=seeds)
    # the restored weights score best_validation_score_: weighted R^2 on exactly those rows
    # (up to the integration tolerance: training and prediction meshes differ)
    weighted = r2_score(y[val], est.predict(X[val]), sample_weight=w[val])
    assert est.best_validation_score_ == pytest.approx(weighted, abs=1e-5)
    assert abs(r2_score(y[val], est.predict(X[val])) - weighted) > 1e-4  # the weights matter
    with pytest.raises(ValueError, match="validation set is too small"):
        JacobianRegressor(early_stopping=True).fit(X[:10], y[:10])


@quiet
@pytest.mark.parametrize("d", [1, 3])
def test_validation_is_scored_in_chunks(d, rng, monkeypatch):
    """Bounded memory on any validation split: chunked scores equal the one-pass scores
    (to the training mesh's tolerance: each chunk refines over its own range)."""
    import skjacnet._stopping as training

    X = rng.uniform(-2, 2, (200, d))
    y = np.tanh(X).sum(axis=1) + 0.1 * rng.standard_normal(200)
    est = JacobianRegressor(early_stopping=True, validation_fraction=0.3, max_iter=6, random_state=0)
    whole = est.fit(X, y)
    scores, losses = whole.validation_scores_, whole.loss_curve_
    monkeypatch.setattr(training, "VALIDATION_CHUNK", 7)
    chunked = est.fit(X, y)
    np.testing.assert_allclose(chunked.validation_scores_, scores, rtol=0, atol=1e-5)
    assert chunked.loss_curve_ == losses  # scoring never perturbs training


@quiet
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_early_stopping_trains_exactly_as_a_fit_on_the_training_rows(solver, rng):
    """Scoring the validation rows must not advance the training mesh's refinement schedule."""
    X = rng.uniform(-2, 2, (200, 1))
    y = np.tanh(X).ravel() + 0.1 * rng.standard_normal(200)
    fit = dict(max_iter=30, random_state=0, solver=solver, alpha=1e-4)  # one fit, no pilot for the noise
    early = JacobianRegressor(early_stopping=True, validation_fraction=0.3, n_iter_no_change=100, **fit).fit(X, y)
    seeds = np.random.RandomState(0)
    seeds.randint(np.iinfo(np.int32).max)  # the network's seed comes first
    train, _ = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seeds)
    plain = JacobianRegressor(early_stopping=False, **fit).fit(X[train], y[train])
    assert early.loss_curve_ == plain.loss_curve_


# ---------------------------------------------------------------- L-BFGS
@quiet
def test_lbfgs_reaches_a_lower_loss_than_adam_in_a_few_iterations(rng):
    X = rng.uniform(-2, 2, (40, 1))
    y = np.sin(2 * X).ravel()
    runs = {s: JacobianRegressor(solver=s, max_iter=15, random_state=0).fit(X, y) for s in ("adam", "lbfgs")}
    assert runs["lbfgs"].loss_curve_[-1] < 0.1 * runs["adam"].loss_curve_[-1]


@pytest.mark.parametrize(
    ("est", "d", "expected"),
    [
        (JacobianRegressor(), 1, "lbfgs"),
        (JacobianRegressor(), 3, "adam"),  # the full Jacobian network interpolates noise under L-BFGS
        (JacobianRegressor(monotonic_cst=[1]), 1, "lbfgs"),
        (JacobianRegressor(monotonic_cst=[1, 0, 0]), 3, "adam"),  # one layer of ridges with a linear term, as 'none'
        (JacobianRegressor(constraint="lipschitz"), 3, "lbfgs"),
        (InvertibleJacobianRegressor(), 3, "lbfgs"),
        (JacobianRegressor(solver="lbfgs"), 3, "lbfgs"),
        (JacobianRegressor(constraint="complex", activation="sin"), 2, "lbfgs"),
        (InvertibleJacobianRegressor(batch_size=8), 3, "adam"),  # mini-batches asked for
    ],
)
def test_auto_solver_resolution(est, d, expected, rng, monkeypatch):
    import skjacnet.constraints.base as base
    import skjacnet.constraints.complex as complex_

    X = rng.uniform(-1, 1, (30, d))
    Y = np.c_[X.sum(axis=1), X[:, 0]] if d == 2 else X.sum(axis=1)
    est = est.set_params(max_iter=2, hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
        assert est.solver_ == expected
        # above the full batch's memory budget (rows x width), or 'complex' above LBFGS_ROWS: Adam
        monkeypatch.setattr(base, "LBFGS_CELLS", 30 * d - 1)
        monkeypatch.setattr(complex_, "LBFGS_ROWS", 29)
        est.fit(X, Y)
    assert est.solver_ == ("lbfgs" if est.solver == "lbfgs" else "adam")
    monkeypatch.setattr(base, "LBFGS_CELLS", 30 * d)  # the budget is inclusive
    monkeypatch.setattr(complex_, "LBFGS_ROWS", 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert est.fit(X, Y).solver_ == expected


@quiet
def test_default_unconstrained_fit_does_not_interpolate_noise(rng):
    """On noisy n-D data the default must generalise (L-BFGS here scored held-out R^2 -1.5)."""
    X = rng.standard_normal((300, 3))
    y = np.tanh(X @ [1.0, -2.0, 0.5]) + 0.3 * X[:, 0] ** 2 + rng.normal(0, 1.0, 300)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    est = JacobianRegressor(random_state=0).fit(Xtr, ytr)
    assert est.solver_ == "adam"
    assert r2_score(yte, est.predict(Xte)) > 0.15


LBFGS_CASES = {
    "none 1-D dopri5 annealed adjoint": (
        JacobianRegressor(method="dopri5", tol_annealing=True, adjoint=True, rtol=1e-5, atol=1e-5),
        1,
    ),
    "none n-D quadrature": (JacobianRegressor(), 2),
    "none n-D rk4": (JacobianRegressor(method="rk4", rtol=1e-3, atol=1e-3), 2),
    "lipschitz n-D dopri5": (JacobianRegressor(constraint="lipschitz", method="dopri5"), 2),
    "monotonic quadrature": (JacobianRegressor(monotonic_cst=[1, -1]), 2),
    "positive_definite 1-D rk4": (JacobianRegressor(constraint="positive_definite", method="rk4"), 1),
    "invertible n-D quadrature": (InvertibleJacobianRegressor(), 2),
    "invertible 1-D dopri5 adjoint": (InvertibleJacobianRegressor(method="dopri5", adjoint=True), 1),
}


@quiet
@pytest.mark.parametrize("case", LBFGS_CASES)
def test_lbfgs_trains_every_structure_and_integrator(case, rng):
    est, d = LBFGS_CASES[case]
    X = rng.uniform(-1, 1, (30, d))
    y = X @ np.linspace(1, 2, d) + 0.3 * np.tanh(X[:, 0])
    if "monotonic" in case:
        y = X[:, 0] - X[:, 1] + 0.3 * np.tanh(X[:, 0])
    est = est.set_params(solver="lbfgs", max_iter=8, hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    assert est.loss_curve_[-1] < 0.5 * est.loss_curve_[0]
    assert np.all(np.isfinite(est.predict(X)))


# ---------------------------------------------------------------- progress output
def test_verbose_levels(data_1d, capsys, monkeypatch):
    X, y = data_1d[0][:60], data_1d[1][:60]
    fit = dict(max_iter=4, random_state=0, alpha=1e-4)  # one fit (alpha='auto' adds a pilot fit in 1-D)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        JacobianRegressor(**fit).fit(X, y)
        out = capsys.readouterr()
        assert out.out == "" and out.err == ""  # silent by default
        JacobianRegressor(verbose=1, **fit).fit(X, y)
        out = capsys.readouterr()
        assert out.out.count("Iteration ") == 4 and out.err == ""
        JacobianRegressor(verbose=2, **fit).fit(X, y)
        out = capsys.readouterr()
        assert out.out == "" and "4/4" in out.err and "epoch" in out.err  # the bar alone: no interleaved lines
        assert "JacobianRegressor.fit (" in out.err and "loss=" in out.err
        JacobianRegressor(verbose=1, early_stopping=True, n_iter_no_change=1, max_iter=50, random_state=0).fit(X, y)
        out = capsys.readouterr().out
        assert "Validation score: " in out and "Validation score did not improve more than tol" in out
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm not installed: the lines alone
        with pytest.warns(UserWarning, match="tqdm"):
            JacobianRegressor(verbose=2, **fit).fit(X, y)
        out = capsys.readouterr()
        assert out.out.count("Iteration ") == 4 and out.err == ""
    with pytest.raises(ValueError, match="verbose"):
        JacobianRegressor(verbose=-1).fit(X, y)


# ---------------------------------------------------------------- warnings
@pytest.mark.parametrize("how", ["fit", "pipeline", "cross_val_score", "verbose bar"])
def test_warnings_point_at_the_callers_line(how, monkeypatch):
    """Whatever the depth inside skjacnet and scikit-learn, a warning names the user's file."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X = np.linspace(-1, 1, 40).reshape(-1, 1)
    y = np.sin(3 * X).ravel()
    est = JacobianRegressor(max_iter=2, random_state=0, hidden_layer_sizes=(4,))
    if how == "verbose bar":
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # not installed: a UserWarning
        est.set_params(verbose=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if how == "cross_val_score":
            cross_val_score(est, X, y, cv=2)
        elif how == "pipeline":
            make_pipeline(est).fit(X, y)
        else:
            est.fit(X, y)
    ours = [w for w in caught if issubclass(w.category, (ConvergenceWarning, UserWarning))]
    assert ours and all(w.filename == __file__ for w in ours), [(w.filename, str(w.message)[:40]) for w in ours]


# ---------------------------------------------------------------- conditioning of the constraints
@quiet
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_looser_lipschitz_bound_never_fits_worse(solver, rng):
    """k tanh(h) started loose bounds with slopes of order k (R^2 -52 at k = 1e4, -5e5 at 1e6)."""
    X = rng.uniform(-2, 2, (300, 1))
    y = np.sin(2 * X).ravel()
    scores = {
        k: JacobianRegressor(constraint="lipschitz", lipschitz_constant=k, solver=solver, random_state=0)
        .fit(X, y)
        .score(X, y)
        for k in (3.0, 1e2, 1e4, 1e6)
    }
    assert min(scores.values()) > 0.99, scores


def test_a_warning_raised_inside_a_forward_pass_points_at_the_caller(monkeypatch):
    """Through torch's Module.__call__ (the Gauss-Kronrod rule running out of panels in training)."""
    monkeypatch.setattr("skjacnet.integrate.gauss_kronrod.MAX_PANELS", 1)
    X = np.random.RandomState(0).uniform(-2, 2, (40, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JacobianRegressor(constraint="none", max_iter=2, random_state=0, rtol=1e-12, atol=1e-14).fit(
            X, np.sin(3 * X).sum(axis=1)
        )
    gk = [w for w in caught if "Gauss-Kronrod" in str(w.message)]
    assert gk and all(w.filename == __file__ for w in gk), {w.filename for w in gk}
