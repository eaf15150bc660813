"""JacobianCalibrator at the extremes (issue 38): never exactly 0 or 1, monotone as far as floats resolve, oriented.

A calibrator that returns exactly 0 or 1 states certainty: its log-loss is infinite the first time it is wrong.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skjacnet import JacobianCalibrator, JacobianClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TINY = np.finfo(np.float64).tiny  # the documented floor of predict_proba: 2**-1022
TOP = np.nextafter(1.0, 0.0)  # the documented ceiling: 1 - 2**-53, the largest float64 below 1
HUGE = np.array([-1e300, -1e200, -1e30, -1e10, -1e3, -40.0, 0.0, 40.0, 1e3, 1e10, 1e30, 1e200, 1e300])


def _issue_scores(seed=0, n=400, sign=1.0):
    """The issue's setting: scores in [-3, 2.7], labels logistic in the score (sign -1: inversely related)."""
    rng = np.random.RandomState(seed)
    s = rng.uniform(-3, 2.7, n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * sign * s))).astype(int)
    return s, y


@pytest.fixture(scope="module", params=["float64", "float32"])
def fitted(request):
    s, y = _issue_scores()
    return JacobianCalibrator(random_state=0, dtype=request.param).fit(s, y)


def test_never_exactly_zero_or_one_beyond_the_scores_seen(fitted):
    # the finding: fitted on [-3, 2.7], 1.0 for almost every score in [5, 200]
    far = np.linspace(5, 200, 400)
    for q in (far, -far):
        P = fitted.predict_proba(q)
        assert np.all((P > 0) & (P < 1)), "a probability of exactly 0 or 1 states certainty"


def test_open_interval_and_finite_logs_for_every_finite_score(fitted):
    P = fitted.predict_proba(HUGE)
    L = fitted.predict_log_proba(HUGE)
    assert P.dtype == L.dtype == np.float64
    assert np.all((P >= TINY) & (P <= TOP)), "predict_proba outside its documented [2**-1022, 1 - 2**-53]"
    assert np.all(np.isfinite(L)) and np.all(L < 0), "a log-probability of 0 is a probability of 1"
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=4e-16)
    # the quantities a user derives from them stay finite too: log-loss terms, odds, inverse-propensity weights
    with np.errstate(all="raise"):
        np.log(P), 1 / P, 1 / (1 - P), P / (1 - P)
    z = fitted.decision_function(HUGE)
    assert np.all(np.isfinite(z)) and np.all(np.diff(z) > 0)
    # the two columns agree with the logit in log space, where it is exact
    np.testing.assert_allclose(L[:, 1] - L[:, 0], z, rtol=1e-12)


def test_monotone_everywhere_and_strict_wherever_representable(fitted):
    tail = np.geomspace(1e3, 1e300, 300)[1:]
    grid = np.concatenate([-tail[::-1], np.linspace(-1e3, 1e3, 40_001), tail])  # steps of 0.05 near the data
    z = fitted.decision_function(grid)
    P, L = fitted.predict_proba(grid), fitted.predict_log_proba(grid)
    assert np.all(np.diff(P[:, 1]) >= 0) and np.all(np.diff(P[:, 0]) <= 0)
    assert np.all(np.diff(L[:, 1]) >= 0) and np.all(np.diff(L[:, 0]) <= 0)
    strict = np.diff(z) > 0  # the network's own ties (float32: a coarse logit far out) are not the probability's
    # neighbours' probabilities differ by more than float64's spacing while 1 - p is a few 2**-53 (a logit
    # below about 33 at this step) and p is normal (a logit above about -708)
    inside = strict & (z[1:] < 33) & (z[:-1] > -700)
    assert inside.sum() > 1000 and np.all(np.diff(P[:, 1])[inside] > 0)
    # its log is representable (log p <= -2**-1022) up to a logit of about 708, and down to any finite one
    inside_log = strict & (z[1:] < 700)
    assert np.all(np.diff(L[:, 1])[inside_log] > 0)
    inside_log0 = strict & (z[:-1] > -700)
    assert np.all(np.diff(L[:, 0])[inside_log0] < 0)


def test_the_logit_continues_linearly_beyond_the_scores_seen(fitted):
    slope = fitted.jacobian(np.array([-1e300, -1e20, -1e4, 1e4, 1e20, 1e300])).ravel()
    # the slope of the logit settles to a constant on each side (a saturating tanh network): Platt's tails
    np.testing.assert_allclose(slope[:3], slope[0], rtol=1e-4)
    np.testing.assert_allclose(slope[3:], slope[-1], rtol=1e-4)
    assert np.all(slope >= fitted.guarantee_["expansion_lower"] * (1 - 1e-6))
    z = fitted.decision_function(np.array([1e20, 1e300]))
    np.testing.assert_allclose((z[1] - z[0]) / (1e300 - 1e20), slope[-1], rtol=1e-6)


def test_the_logit_is_continuous_where_the_network_hands_over_to_its_straight_tails(fitted):
    from skjacnet.integrate.mesh import FAR  # beyond FAR standardised units the logit is computed as a line

    for side in (-1.0, 1.0):
        ends = fitted._x_mean[0] + fitted._x_scale[0] * side * FAR * np.array([1 - 1e-6, 1.0, 1 + 1e-6])
        ends = np.sort(ends)  # inside, at and beyond the last knot
        z = fitted.decision_function(ends)
        assert np.all(np.diff(z) > 0)
        slope = fitted.jacobian(ends[1:2]).item()
        expect = slope * np.diff(ends)
        # continuous up to the rounding of the network's own value at the seam, in its dtype
        eps = np.finfo(np.float64 if fitted.dtype == "float64" else np.float32).eps
        np.testing.assert_allclose(np.diff(z), expect, rtol=1e-6, atol=4 * eps * np.abs(z).max())


def test_inverse_proba_at_the_extremes(fitted):
    p = np.array([TINY, 1e-300, 1e-20, 1e-6, 0.5, 1 - 1e-12, TOP])
    s = fitted.inverse_proba(p)
    assert np.all(np.isfinite(s)) and np.all(np.diff(s) > 0)
    # exact in log space (the probability itself is exact to rounding)
    rtol = 1e-10 if fitted.dtype == "float64" else 1e-5
    L = fitted.predict_log_proba(s)
    np.testing.assert_allclose(L[:, 1], np.log(p), rtol=rtol)
    np.testing.assert_allclose(L[:, 0], np.log1p(-p), rtol=rtol, atol=1e-300)
    # p itself: the logit's relative rounding times |logit| (up to 708), as a relative error of p
    np.testing.assert_allclose(fitted.predict_proba(s)[:, 1], p, rtol=1e3 * rtol)
    for bad in (0.0, 1.0, np.nan, -0.1, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            fitted.inverse_proba([0.5, bad])


def test_non_finite_scores_are_refused_by_name(fitted):
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(ValueError, match="(?i)infinity|NaN"):
            fitted.predict_proba(np.array([0.0, bad]))


# --- orientation ---------------------------------------------------------------------------------------------


def test_default_orientation_is_auto_and_fits_inversely_related_scores():
    assert JacobianCalibrator().get_params()["increasing"] == "auto"
    s, y = _issue_scores(sign=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: the default follows the data
        cal = JacobianCalibrator(random_state=0).fit(s, y)
    assert cal.increasing_[0] == -1 and cal.guarantee_["property"].startswith("strictly decreasing")
    p = cal.predict_proba(np.array([-3.0, 0.0, 2.7]))[:, 1]
    assert p[0] > 0.9 and p[2] < 0.1  # not the issue's constant 0.517


def test_forced_increasing_on_inversely_related_scores_warns_with_the_fix():
    s, y = _issue_scores(sign=-1.0)
    with pytest.warns(UserWarning, match=r"(?s)increasing=True.*increasing='auto'.*False") as record:
        cal = JacobianCalibrator(increasing=True, random_state=0).fit(s, y)
    assert not any(issubclass(r.category, ConvergenceWarning) for r in record if "increasing" in str(r.message))
    assert cal.increasing_[0] == 1  # it does what it was told, and says so
    s, y = _issue_scores(sign=1.0)
    with pytest.warns(UserWarning, match=r"(?s)increasing=False.*increasing='auto'.*True"):
        JacobianCalibrator(increasing=False, random_state=0).fit(s, y)


def test_forced_orientation_that_agrees_or_a_pure_noise_score_fits_quietly():
    rng = np.random.RandomState(3)
    noise, labels = rng.normal(size=400), rng.randint(0, 2, 400)
    s, y = _issue_scores(sign=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        JacobianCalibrator(increasing=True, random_state=0).fit(s, y)
        JacobianCalibrator(increasing=False, random_state=0).fit(-s, y)
        JacobianCalibrator(increasing=True, max_iter=30, random_state=0).fit(noise, labels)


# --- the classifier shares predict_proba and had the same defect ----------------------------------------------


def test_classifier_probabilities_are_never_exactly_zero_or_one():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 1))
    y = (X[:, 0] > 0).astype(int)  # separable: the logits grow without bound far out
    clf = JacobianClassifier(max_iter=50, random_state=0).fit(X, y)
    Xf = np.array([[-1e6], [-1e3], [0.0], [1e3], [1e6]])
    P, L = clf.predict_proba(Xf), clf.predict_log_proba(Xf)
    assert np.all((P >= TINY) & (P <= TOP)) and np.all(np.isfinite(L) & (L < 0))
    X3 = np.c_[rng.uniform(-1, 1, 300), rng.uniform(-1, 1, 300)]
    y3 = np.digitize(X3[:, 0], [-0.3, 0.3])
    clf3 = JacobianClassifier(max_iter=50, random_state=0).fit(X3, y3)
    P3 = clf3.predict_proba(np.array([[-1e6, 0.0], [0.0, 0.0], [1e6, 0.0]]))
    assert np.all((P3 >= TINY) & (P3 <= TOP))
    np.testing.assert_allclose(P3.sum(axis=1), 1.0, rtol=0, atol=4e-16)
