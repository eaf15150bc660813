"""JacobianClassifier and JacobianCalibrator: sklearn behaviour, guarantees of the logits, certified radii attacked."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import torch_predict
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import JacobianCalibrator, JacobianClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _two_moons_ish(rng, n=300):
    X = rng.uniform(-2, 2, (n, 2))
    y = (np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def lipschitz_fits():
    """Lipschitz classifiers at depths 1, 2 and 4: binary and 3 classes (the attack tests share them)."""
    rng = np.random.RandomState(1)
    fits = {}
    Xb, yb = _two_moons_ish(rng)
    Xm, ym = make_blobs(300, centers=3, cluster_std=1.5, random_state=0)
    for depth in (1, 2, 4):
        for name, (X, y) in {"binary": (Xb, yb), "multiclass": (Xm, ym)}.items():
            clf = JacobianClassifier(
                constraint="lipschitz", lipschitz_constant=2.0, n_layers=depth, max_iter=60, random_state=0
            )
            fits[depth, name] = (clf.fit(X, y), X, y)
    return fits


def _pgd_flips(clf, X: np.ndarray, radius: np.ndarray, steps: int = 40) -> int:
    """Projected gradient ascent on the runner-up margin inside the ball of 0.999 * radius, plus random
    directions on its sphere: how many predictions of ``clf.predict`` change (the certificate says none)."""
    r = torch.as_tensor(0.999 * radius)[:, None]
    x = torch.as_tensor(X)
    pred = torch.as_tensor(np.searchsorted(clf.classes_, clf.predict(X)))
    gen = torch.Generator().manual_seed(0)
    delta = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    delta = r * delta / delta.norm(dim=1, keepdim=True)
    for _ in range(steps):
        delta.requires_grad_(True)
        z = torch_predict(clf, x + delta)
        if z.shape[1] == 1:  # binary: push the logit towards the other sign
            attack = torch.where(pred == 1, -z[:, 0], z[:, 0])
        else:
            own = z.gather(1, pred[:, None])[:, 0]
            others = z.masked_fill(torch.nn.functional.one_hot(pred, z.shape[1]).bool(), -torch.inf)
            attack = others.max(1).values - own
        (grad,) = torch.autograd.grad(attack.sum(), delta)
        with torch.no_grad():
            step = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-300)
            delta = delta + 0.25 * r * step
            delta = delta * torch.clamp(r / delta.norm(dim=1, keepdim=True).clamp_min(1e-300), max=1.0)
    flips = int((clf.predict(X + delta.numpy()) != clf.predict(X)).sum())
    for _ in range(5):
        d = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        d = (r * d / d.norm(dim=1, keepdim=True)).numpy()
        flips += int((clf.predict(X + d) != clf.predict(X)).sum())
    return flips


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_no_attack_flips_a_prediction_inside_the_certified_radius(lipschitz_fits, depth, kind):
    clf, X, y = lipschitz_fits[depth, kind]
    assert clf.score(X, y) > 0.75  # a fit that learned something: its margins are real
    rng = np.random.RandomState(2)
    points = np.vstack([X[:150], rng.uniform(X.min(0) - 1, X.max(0) + 1, (50, X.shape[1]))])
    radius = clf.certified_radius(points)
    assert np.median(radius) > 0.02  # not a vacuous certificate
    assert _pgd_flips(clf, points, radius) == 0
    # the same attack does flip predictions well outside the radius: it is an attack, not a no-op
    assert _pgd_flips(clf, points, 5 * radius + 0.5) > 0


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_the_logits_are_k_lipschitz(lipschitz_fits, depth):
    clf, X, _ = lipschitz_fits[depth, "multiclass"]
    report = clf.check_guarantee(X)
    assert report["holds"] and report["bound"] == pytest.approx(2.0)
    J = clf.jacobian(X[:100])  # (n, 3, 2): the spectral norm of the logit map's Jacobian
    assert np.linalg.norm(J, ord=2, axis=(1, 2)).max() <= 2.0 * (1 + 1e-9)


def test_certified_radius_formula(lipschitz_fits):
    clf, X, _ = lipschitz_fits[1, "multiclass"]
    Z = clf.decision_function(X)
    top = np.sort(Z, axis=1)
    expected = (top[:, -1] - top[:, -2]) / (np.sqrt(2) * 2.0)
    np.testing.assert_allclose(clf.certified_radius(X), expected, rtol=1e-9, atol=1e-12)
    clf, X, _ = lipschitz_fits[1, "binary"]
    np.testing.assert_allclose(clf.certified_radius(X), np.abs(clf.decision_function(X)) / 2.0, atol=1e-12)


def test_certified_radius_needs_a_lipschitz_model(rng):
    X, y = _two_moons_ish(rng, 80)
    clf = JacobianClassifier(monotonic_cst=[1, 0], max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="constraint='lipschitz'"):
        clf.certified_radius(X)


def test_monotone_classifier_probability_is_monotone(rng):
    X = rng.uniform(-1, 1, (400, 3))
    logit = 2 * X[:, 0] - X[:, 1] + np.sin(3 * X[:, 2]) * X[:, 0]
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-2 * logit))).astype(int)
    for depth in (1, 2):
        clf = JacobianClassifier(monotonic_cst=[1, -1, 0], n_layers=depth, max_iter=60, random_state=0).fit(X, y)
        assert clf.check_guarantee(X)["holds"]
        A = rng.uniform(-3, 3, (2000, 3))
        for j, sign in ((0, 1), (1, -1)):
            B = A.copy()
            B[:, j] += rng.uniform(0, 2, 2000)
            change = sign * (clf.predict_proba(B)[:, 1] - clf.predict_proba(A)[:, 1])
            assert change.min() >= -1e-12
        assert log_loss(y, clf.predict_proba(X)) < 0.5


def test_monotone_multiclass_is_refused(rng):
    X, y = make_blobs(60, centers=3, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="binary classifier"):
        JacobianClassifier(monotonic_cst=[1, 0]).fit(X, y)


def test_probabilities_labels_and_weights(rng):
    X, y = make_blobs(200, centers=3, random_state=0)
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = JacobianClassifier(constraint="lipschitz", max_iter=40, random_state=0).fit(X, labels)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[P.argmax(1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P)
    assert clf.score(X, labels) > 0.9
    # class_weight='balanced' on an imbalanced sample raises the minority class's probability
    keep = (y != 2) | (np.arange(200) % 8 == 0)
    fixed = dict(max_iter=40, random_state=0, early_stopping=False)  # the same epochs for both
    plain = JacobianClassifier(**fixed).fit(X[keep], y[keep])
    balanced = JacobianClassifier(class_weight="balanced", **fixed).fit(X[keep], y[keep])
    assert balanced.predict_proba(X[y == 2])[:, 2].mean() > plain.predict_proba(X[y == 2])[:, 2].mean()


def test_one_class_is_refused(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="at least 2 classes"):
        JacobianClassifier().fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="at least 2 classes"):
        JacobianClassifier().fit(X, np.r_[np.zeros(10), np.ones(10)], sample_weight=np.r_[np.ones(10), np.zeros(10)])


def test_pipeline_grid_search_and_pickle(rng):
    X, y = _two_moons_ish(rng, 200)
    pipe = make_pipeline(StandardScaler(), JacobianClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(pipe, {"jacobianclassifier__constraint": ["none", "lipschitz"]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.7
    clf = grid.best_estimator_
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_refits_after_set_params_keep_the_certificate(rng):
    X, y = _two_moons_ish(rng, 150)
    clf = JacobianClassifier(
        constraint="lipschitz", lipschitz_constant=0.5, max_iter=20, random_state=0, warm_start=True
    )
    clf.fit(X, y)
    for params in ({"lipschitz_constant": 3.0}, {"constraint": "none"}, {"constraint": "lipschitz", "n_layers": 2}):
        clf.set_params(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
    assert clf.guarantee_["lipschitz_upper"] == pytest.approx(3.0)
    assert clf.check_guarantee(X)["holds"]
    with pytest.raises(ValueError, match="classes of the previous fit"):
        clf.fit(X, y + 1)


def test_early_stopping_scores_accuracy(rng):
    X, y = _two_moons_ish(rng, 300)
    clf = JacobianClassifier(early_stopping=True, solver="adam", max_iter=30, random_state=0).fit(X, y)
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


# --- the calibrator ------------------------------------------------------------------------------------------


def _scores(rng, n):
    s = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * s + 1.5 * np.sin(3 * s))))).astype(int)
    return s, y


def test_calibrator_is_strictly_increasing_and_inverts(rng):
    s, y = _scores(rng, 400)
    cal = JacobianCalibrator(random_state=0).fit(s, y)
    grid = np.linspace(s.min(), s.max(), 10_000)
    assert np.all(np.diff(cal.predict_proba(grid)[:, 1]) > 0)  # no ties (IsotonicRegression: thousands)
    wide = np.linspace(-1e3, 1e3, 10_001)
    slope = np.diff(cal.decision_function(wide)) / np.diff(wide)
    assert slope.min() >= cal.guarantee_["expansion_lower"] * (1 - 1e-9) > 0
    assert cal.guarantee_["property"].startswith("strictly increasing")
    p = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 1 - 1e-6])
    np.testing.assert_allclose(cal.predict_proba(cal.inverse_proba(p))[:, 1], p, rtol=1e-10)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        cal.inverse_proba([0.0, 0.5])


def test_calibrator_beats_platt_on_a_non_logistic_truth(rng):
    from sklearn.linear_model import LogisticRegression

    s, y = _scores(rng, 1000)
    st, yt = _scores(rng, 20_000)
    cal = JacobianCalibrator(random_state=0).fit(s.reshape(-1, 1), y)
    platt = LogisticRegression().fit(s.reshape(-1, 1), y)
    assert log_loss(yt, cal.predict_proba(st)) < log_loss(yt, platt.predict_proba(st.reshape(-1, 1))) - 0.01


def test_calibrator_decreasing_and_errors(rng):
    s, y = _scores(rng, 300)
    cal = JacobianCalibrator(increasing="auto", max_iter=30, random_state=0).fit(-s, y)
    assert cal.increasing_[0] == -1 and cal.guarantee_["property"].startswith("strictly decreasing")
    with pytest.raises(ValueError, match="calibrates one score"):
        JacobianCalibrator().fit(np.c_[s, s], y)
    with pytest.raises(ValueError, match="one-vs-rest"):
        JacobianCalibrator().fit(s, np.arange(300) % 3)


def test_no_convergence_warning_leaks_from_a_default_calibrator(rng):
    s, y = _scores(rng, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        JacobianCalibrator(random_state=0).fit(s, y)
