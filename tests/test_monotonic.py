"""Partial monotonicity (monotonic_cst): guaranteed in the constrained features, free elsewhere."""

import warnings

import numpy as np
import pytest
import torch
from attack import adam_search
from conftest import torch_predict
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

CST = [1, 0, -1]


@pytest.fixture(scope="module", params=[1, 2, 4], ids=lambda depth: f"depth{depth}")
def fitted(request):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (300, 3)) * [1.0, 5.0, 0.1]
    y = X[:, 0] + 0.1 * X[:, 1] ** 2 - 1e3 * X[:, 2] ** 3 + 0.1 * rng.standard_normal(300)
    Y = np.column_stack([y, np.sin(X[:, 1]) + 2 * X[:, 0] - 10 * X[:, 2]])
    est = JacobianRegressor(monotonic_cst=CST, n_layers=request.param, random_state=0).fit(X[:200], Y[:200])
    return est, X, Y


def test_fits_and_stays_free_in_unconstrained_features(fitted):
    est, X, Y = fitted
    hgb = HistGradientBoostingRegressor(monotonic_cst=CST, random_state=0).fit(X[:200], Y[:200, 0])
    if est.n_layers == 1:
        assert est.score(X[200:], Y[200:]) > 0.9
        assert est.score(X[200:], Y[200:]) > hgb.score(X[200:], Y[200:, 0]) - 0.05
    else:  # the deep construction fits this target less well today (0.89 at depth 2 and 4; measured, not tuned)
        assert est.score(X[200:], Y[200:]) > 0.8
    # the free feature is genuinely non-monotone (x1^2)
    grid = np.zeros((41, 3))
    grid[:, 1] = np.linspace(-10, 10, 41)
    d = np.diff(est.predict(grid)[:, 0])
    assert d.min() < 0 < d.max()


def test_monotone_on_random_near_and_far_moves(fitted):
    est, X, _ = fitted
    rng = np.random.RandomState(1)
    Xq = np.vstack([X, rng.standard_normal((500, 3)) * [1e3, 1e3, 1e2]])
    report = est.check_guarantee(Xq, n_pairs=20000, random_state=1)
    assert report["holds"], report
    assert est.guarantee_["monotonic_cst"] == CST


def test_gradient_search_for_a_violation(fitted):
    est, X, _ = fitted
    start = torch.as_tensor(np.random.RandomState(2).standard_normal((64, 3)) * [3, 10, 1])
    c = torch.tensor(CST, dtype=torch.float64)

    def signed_derivatives(x):  # in the constrained features: a violation is a negative one
        (J,) = torch.autograd.grad(torch_predict(est, x)[:, 0].sum(), x, create_graph=True)
        return (c * J)[:, [0, 2]]

    worst, (x,) = adam_search(signed_derivatives, start, steps=100, lr=0.1, maximize=False)
    assert worst >= -1e-12
    xf = x.requires_grad_(True)
    for out in range(2):
        (J,) = torch.autograd.grad(torch_predict(est, xf)[:, out].sum(), xf)
        assert float((c * J)[:, [0, 2]].min()) >= -1e-12


def test_dict_form_and_errors():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(3)
    df = pd.DataFrame(rng.standard_normal((50, 2)), columns=["dose", "age"])
    y = np.tanh(df["dose"]) + df["age"] ** 2
    est = JacobianRegressor(monotonic_cst={"dose": 1}, max_iter=30, random_state=0).fit(df, y)
    assert est.guarantee_["monotonic_cst"] == [1, 0]
    for bad, msg in [({"weight": 1}, "not in feature_names_in_"), ([1, 2], r"\{-1, 0, 1\}"), ([1], "per feature")]:
        with pytest.raises(ValueError, match=msg):
            JacobianRegressor(monotonic_cst=bad, max_iter=2).fit(df, y)
    with pytest.raises(ValueError, match="constraint='none'"):
        JacobianRegressor(monotonic_cst=[1, 0], constraint="lipschitz", max_iter=2).fit(df, y)


def test_linear_term_starts_at_the_signs_least_squares_and_keeps_them():
    """Data that falls in a feature constrained increasing (and rises in one constrained decreasing): the
    one-layer model's linear term starts at the bounded least-squares fit, whose constrained coefficients sit
    on their bounds, and training (which pulls them the wrong way) cannot cross them."""
    from scipy.optimize import lsq_linear

    rng = np.random.RandomState(4)
    X = rng.standard_normal((400, 3))
    y = -3 * X[:, 0] + np.sin(2 * X[:, 1]) + 2 * X[:, 2] + 0.1 * rng.standard_normal(400)
    # one Adam step of 1e-12: the start itself, in standardised units
    start = JacobianRegressor(monotonic_cst=CST, max_iter=1, learning_rate_init=1e-12, early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = start.set_params(random_state=0).fit(X, y).model_
    A = net.linear().detach().numpy()[0]
    Xs = (X - X.mean(0)) / X.std(0)
    ys = (y - y.mean()) / y.std()
    design = np.column_stack([np.ones(len(Xs)), Xs - net.x0.numpy()])
    ref = lsq_linear(design, ys, bounds=([-np.inf, 0, -np.inf, -np.inf], [np.inf, np.inf, np.inf, 0])).x
    np.testing.assert_allclose(A, ref[1:], atol=2e-4)
    assert A[0] > 0 and A[2] < 0 and abs(A[0]) <= 1e-4 and abs(A[2]) <= 1e-4
    fitted = JacobianRegressor(monotonic_cst=CST, random_state=0).fit(X, y)
    A = fitted.model_.linear().detach().numpy()
    assert (A[:, 0] >= 0).all() and (A[:, 2] <= 0).all()
    assert fitted.check_guarantee(np.vstack([X, 100 * X]), n_pairs=5000, random_state=0)["holds"]


def test_classifier_keeps_the_ridge_model_and_lbfgs():
    """Labels are not logits, so no least-squares start: the classifier keeps no linear term and L-BFGS (with the
    linear term at 0 and Adam its breast_cancer log-loss went 0.121 -> 0.164, benchmarks/classification.py)."""
    from skjacnet import JacobianClassifier

    X = np.random.RandomState(5).standard_normal((80, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = JacobianClassifier(monotonic_cst=CST, max_iter=3, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    assert clf.model_.A is None and clf.solver_ == "lbfgs"


def test_one_layer_ridges_saturate_beyond_the_training_range_and_the_linear_term_carries_the_trend():
    """Far out every ridge is constant: the Jacobian there is the linear term alone (the same on every row), and it
    is what predict's finite differences give; partial_fit widens the range to every chunk's."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 3))
    y = np.tanh(3 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2] + 0.05 * rng.standard_normal(300)
    est = JacobianRegressor(monotonic_cst=CST, random_state=0).fit(X, y)
    far = rng.standard_normal((60, 3)) * 50
    m, policy = est.model_, est.model_.extrapolation
    z = torch.as_tensor((far - est._x_mean) / est._x_scale) @ m.V().detach().T
    far = far[((z < policy.z_lo) | (z > policy.z_hi)).all(1).numpy()]  # beyond every ridge's range (not merely far)
    assert len(far) >= 20
    J = est.jacobian(far)
    assert np.allclose(J, J[:1], rtol=1e-12, atol=1e-12)
    linear = est.model_.linear().detach().numpy()[0] * est._y_scale[0] / est._x_scale
    assert np.allclose(J[0], linear, rtol=1e-10)
    h = 1e-4
    fd = np.stack([(est.predict(far + h * e) - est.predict(far - h * e)) / (2 * h) for e in np.eye(3)], -1)
    assert np.allclose(fd, J, rtol=1e-6, atol=1e-8)
    assert not np.allclose(est.jacobian(X[:20]), J[:1])  # inside the data the ridges still bend
    # every row given is inside the range, the rows early stopping held out included (heavy tails: the extreme
    # row of some ridge is held out in most of these fits)
    Xc = np.random.RandomState(3).standard_cauchy((200, 3))
    for seed in range(6):
        one = JacobianRegressor(monotonic_cst=CST, n_members=1, max_iter=5, random_state=seed).fit(Xc, Xc[:, 0])
        z = torch.as_tensor((Xc - one._x_mean) / one._x_scale) @ one.model_.V().detach().T
        assert ((z >= one.model_.extrapolation.z_lo) & (z <= one.model_.extrapolation.z_hi)).all()
    # one distinct row: every ridge is constant, and jacobian() says so (the linear term alone)
    single = JacobianRegressor(monotonic_cst=CST, random_state=0).partial_fit(X[:1], y[:1])
    fd1 = np.stack([(single.predict(X[:1] + h * e) - single.predict(X[:1] - h * e)) / (2 * h) for e in np.eye(3)], -1)
    assert np.allclose(single.jacobian(X[:1]), fd1, rtol=1e-6, atol=1e-8)
    # partial_fit: the range covers every chunk seen, each under the directions V had then
    part = JacobianRegressor(monotonic_cst=CST, random_state=0).partial_fit(X[:150] * 0.5, y[:150])
    lo, hi = part.model_.extrapolation.z_lo.clone(), part.model_.extrapolation.z_hi.clone()
    part.partial_fit(X[150:] * 2, y[150:])
    assert (part.model_.extrapolation.z_lo <= lo).all() and (part.model_.extrapolation.z_hi >= hi).all()
    assert (part.model_.extrapolation.z_lo < part.model_.extrapolation.z_hi).all()


@pytest.mark.parametrize(
    "make",
    [lambda: JacobianRegressor(monotonic_cst=[1], random_state=0), lambda: InvertibleJacobianRegressor(random_state=0)],
    ids=["monotonic_cst", "invertible"],
)
def test_one_feature_exp_derivative_grows_at_most_tenfold_beyond_the_data(make):
    """200 noisy points of log(x + 2.5): this data set's fit once extrapolated with slope 46,587 one unit out (the
    exp(h) trend from a steep edge).  Beyond the training range the derivative stays within 10x of its largest
    value over the range, exactly as jacobian() and predict's finite differences say, and the model stays
    strictly increasing and invertible there."""
    rng = np.random.RandomState(103)
    x = rng.uniform(-1, 1, 200)
    y = np.log(x + 2.5) + 0.1 * rng.normal(size=200)
    est = make().fit(x[:, None], y)
    inside = est.jacobian(np.linspace(x.min(), x.max(), 2001)[:, None]).ravel()
    far = np.r_[np.linspace(-40, x.min() - 1e-3, 500), np.linspace(x.max() + 1e-3, 40, 500)][:, None]
    J = est.jacobian(far).ravel()
    # in range jacobian() reads the frozen mesh's piecewise-linear g (knots within rtol of the network's exp(h),
    # and knots at the held range's ends, where g has a kink: without them the edge read 1.5% low)
    assert np.all(J > 0) and J.max() <= 10 * inside.max() * (1 + 1e-3)
    h = 1e-5
    fd = (est.predict(far + h) - est.predict(far - h)) / (2 * h)
    np.testing.assert_allclose(fd, J, rtol=1e-5, atol=1e-8)
    if hasattr(est, "inverse_transform"):
        np.testing.assert_allclose(est.inverse_transform(est.predict(far)).ravel(), far.ravel(), atol=1e-8)


@pytest.mark.parametrize(
    "make",
    [
        lambda **k: JacobianRegressor(monotonic_cst=[1], random_state=0, **k),
        lambda **k: InvertibleJacobianRegressor(random_state=0, **k),
        lambda **k: JacobianRegressor(random_state=0, **k),
        lambda **k: JacobianRegressor(constraint="nonconservative", random_state=0, **k),
    ],
    ids=["monotonic_cst", "invertible", "paper-1d", "nonconservative-1d"],
)
def test_one_feature_alpha_auto_follows_the_noise(make):
    """alpha='auto' in the 1-D regressions (exp(h) and the paper's free g): a penalty that grows with the noise (the
    pilot's unexplained share of y's variance), 1e-4 on noiseless data, no early stopping; a user's alpha is used as
    given; a warm start keeps the alpha_ it continues."""
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (200, 1))
    clean = np.log(x[:, 0] + 2.5)
    noisy = make().fit(x, clean + 0.1 * rng.normal(size=200))
    share = 0.01 / np.var(clean)  # the noise's share of y's variance, about what the pilot leaves
    assert 0.5 * share < noisy.alpha_ < 2 * share and noisy.validation_scores_ is None
    assert make().fit(x, clean).alpha_ == 1e-4
    assert make(alpha=0.3).fit(x, clean).alpha_ == 0.3
    assert make(early_stopping=True).fit(x, clean + 0.1 * rng.normal(size=200)).validation_scores_ is not None
    warm = make(warm_start=True).fit(x, clean + 0.1 * rng.normal(size=200))
    first = warm.alpha_
    assert warm.fit(x, clean).alpha_ == first  # continued: the penalty of the fit it continues
    noisy_2d = np.c_[x, rng.uniform(-1, 1, 200)]  # other structures: MLPRegressor's, noise or not
    assert JacobianRegressor(random_state=0).fit(noisy_2d, clean + 0.1 * rng.normal(size=200)).alpha_ == 1e-4
    two_layers = JacobianRegressor(n_layers=2, max_iter=20, random_state=0)
    assert two_layers.fit(x, clean + 0.1 * rng.normal(size=200)).alpha_ == 1e-4


def test_one_feature_exp_derivative_rises_beyond_the_data_no_faster_than_its_secant():
    """Beyond each end h = log g stays below its end value plus the outward rise of its secant over the range: on
    noisy log(x + 2.5) (g falls with x) the slope left of the data grows at most like exp(rise * distance), and not
    at all right of it; predict's finite differences agree."""
    rng = np.random.RandomState(5)
    x = rng.uniform(-1, 1, 200)
    est = JacobianRegressor(monotonic_cst=[1], random_state=0).fit(
        x[:, None], np.log(x + 2.5) + 0.1 * rng.normal(size=200)
    )
    lo, hi = x.min(), x.max()
    g_lo, g_hi = est.jacobian(np.array([[lo], [hi]])).ravel()
    rise = (np.log(g_lo) - np.log(g_hi)) / (hi - lo)  # the secant's outward rise on the left, in x's units
    left = np.linspace(lo - 3, lo - 1e-3, 200)[:, None]
    right = np.linspace(hi + 1e-3, hi + 3, 200)[:, None]
    tol = 1 + 1e-3  # jacobian() at the ends reads the frozen mesh (within rtol of exp(h))
    assert np.all(est.jacobian(left).ravel() <= g_lo * np.exp(max(rise, 0) * (lo - left.ravel())) * tol)
    assert np.all(est.jacobian(right).ravel() <= g_hi * tol)
    fd = (est.predict(left + 1e-5) - est.predict(left - 1e-5)) / 2e-5
    np.testing.assert_allclose(fd, est.jacobian(left).ravel(), rtol=1e-5, atol=1e-8)


def test_neighbour_noise_reads_the_noise_not_the_curve():
    from skjacnet._noise import neighbour_noise

    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, 4000)
    curves = np.c_[np.exp(2 * x), np.tanh(3 * x)]
    noise = np.array([0.1, 0.03]) * rng.normal(size=(4000, 2))
    estimate = neighbour_noise(torch.as_tensor(x), torch.as_tensor(curves + noise))
    assert abs(estimate / (0.1**2 + 0.03**2) - 1) < 0.1  # summed over the columns
    assert neighbour_noise(torch.as_tensor(x), torch.as_tensor(curves)) < 1e-6  # dense noiseless curves: ~0
    tied = np.repeat(x[:500], 2)  # repeated x (duplicated rows would read as noiseless): left to the pilot
    assert neighbour_noise(torch.as_tensor(tied), torch.as_tensor(np.exp(tied)[:, None])) is None
    assert neighbour_noise(torch.as_tensor(x[:4]), torch.as_tensor(curves[:4])) is None


@pytest.mark.parametrize("n", [200, 1500])  # the pilot, the neighbours
def test_alpha_auto_on_a_constant_target_stays_at_its_default(n):
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (n, 1))
    for est in (
        JacobianRegressor(max_iter=20, random_state=0),
        JacobianRegressor(monotonic_cst=[1], max_iter=20, random_state=0),
        InvertibleJacobianRegressor(max_iter=20, random_state=0),
    ):
        est.fit(x, np.full(n, 3.0))
        assert est.alpha_ == 1e-4
        np.testing.assert_allclose(est.predict(x), 3.0, atol=1e-2)  # strictly monotone models tilt a little


def test_large_samples_take_alpha_from_neighbours_without_a_pilot(monkeypatch):
    """Above PILOT_ROWS unweighted rows: one fit, alpha_ about the noise's share of y's variance; weighted rows
    keep the pilot (its weighted residuals)."""
    import skjacnet._fitting as base

    calls = []
    real = base.train
    monkeypatch.setattr(base, "train", lambda *a, **k: calls.append(k["alpha"]) or real(*a, **k))
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, (1500, 1))
    clean = np.log(x[:, 0] + 2.5)
    y = clean + 0.1 * rng.normal(size=1500)
    est = JacobianRegressor(monotonic_cst=[1], max_iter=30, random_state=0).fit(x, y)
    share = 0.01 / np.var(y)
    assert len(calls) == 1 and calls[0] == est.alpha_ and 0.8 * share < est.alpha_ < 1.25 * share
    calls.clear()
    assert JacobianRegressor(max_iter=30, random_state=0).fit(x, clean).alpha_ == 1e-4 and len(calls) == 1
    calls.clear()
    w = rng.uniform(0.5, 2, 1500)
    JacobianRegressor(monotonic_cst=[1], max_iter=30, random_state=0).fit(x, y, sample_weight=w)
    assert len(calls) == 2 and calls[0] == 1e-4  # the pilot, then the refit
    calls.clear()  # 750 rows written out twice: the pilot too (the same rows as weights of 2 would be)
    twice = JacobianRegressor(monotonic_cst=[1], max_iter=30, random_state=0).fit(
        np.repeat(x[:750], 2, 0), np.repeat(y[:750], 2)
    )
    assert len(calls) == 2 and 0.5 * share < twice.alpha_ < 2 * share


@pytest.mark.parametrize("constraint", ["auto", "none", "nonconservative"])
def test_paper_1d_derivative_beyond_the_data_stays_within_its_secant_band(constraint):
    """The 1-D free-g regression: beyond each end g stays within its end value +- the |slope| of g's secant over the
    range times the distance out (the band that keeps a noisy edge's trend from running away); predict's finite
    differences agree with jacobian() out there, and the band is what the network would not have kept by itself."""
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, 200)
    y = np.tanh(3 * x) + 0.1 * rng.normal(size=200)
    est = JacobianRegressor(constraint=constraint, random_state=0).fit(x[:, None], y)
    lo, hi = x.min(), x.max()
    g_lo, g_hi = est.jacobian(np.array([[lo], [hi]])).ravel()
    slope = abs(g_hi - g_lo) / (hi - lo)
    tol = 1e-3 * max(abs(g_lo), abs(g_hi), 1e-3)  # jacobian() at the ends reads the frozen mesh
    beyond = ((lo, g_lo, np.linspace(lo - 3, lo - 1e-3, 300)), (hi, g_hi, np.linspace(hi + 1e-3, hi + 3, 300)))
    for end, g_end, out in beyond:
        g = est.jacobian(out[:, None]).ravel()
        assert np.all(np.abs(g - g_end) <= slope * np.abs(out - end) + tol)
        fd = (est.predict(out[:, None] + 1e-5) - est.predict(out[:, None] - 1e-5)) / 2e-5
        np.testing.assert_allclose(fd, g, rtol=1e-5, atol=1e-7)
    net = est.model_
    s = (torch.linspace(lo - 3, hi + 3, 601, dtype=torch.float64) - float(est._x_mean[0])) / float(est._x_scale[0])
    with torch.no_grad():
        free = net.field(s.unsqueeze(-1)).ravel()  # the network itself, unbanded
        banded = net.g_table(s).ravel()
    assert not torch.allclose(free, banded)  # the band acts on this fit


def test_paper_1d_fits_its_data_from_an_initial_point_outside_them():
    """Predictions integrate g from x0: between x0 and the data g is what training saw, not held by the band."""
    rng = np.random.RandomState(0)
    x = rng.uniform(1, 3, (200, 1))
    y = np.log(x[:, 0]) + 0.05 * rng.normal(size=200)
    for point in (0.0, 6.0):
        est = JacobianRegressor(initial_point=point, random_state=0).fit(x, y)
        assert est.score(x, y) > 0.9


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_paper_1d_ode_methods_integrate_the_network_beyond_the_data(method):
    """The band is the mesh's alone: with an ODE method predict integrates the network's smooth g beyond the data,
    and jacobian() is predict's slope there."""
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, (200, 1))
    y = np.tanh(3 * x[:, 0]) + 0.1 * rng.normal(size=200)
    est = JacobianRegressor(method=method, alpha=0.01, max_iter=60, random_state=0).fit(x, y)
    assert not bool(est.model_.extrapolation.s_lo < est.model_.extrapolation.s_hi)  # no band
    out = np.linspace(1.0, 4.0, 25)[:, None]
    fd = (est.predict(out + 1e-4) - est.predict(out - 1e-4)) / 2e-4
    np.testing.assert_allclose(est.jacobian(out).ravel(), fd, rtol=1e-3, atol=1e-4)


def test_the_held_ranges_ends_are_knots_so_the_edge_slope_is_the_networks():
    """The 1-D exp(h) model holds g beyond [s_lo, s_hi]: a kink there. The frozen mesh has knots at both ends, so
    jacobian() at the data's edges is the network's g exactly (it was 1.5% off on the data above)."""
    rng = np.random.RandomState(103)
    x = rng.uniform(-1, 1, 200)
    est = InvertibleJacobianRegressor(random_state=0).fit(x[:, None], np.log(x + 2.5) + 0.1 * rng.normal(size=200))
    net = est.model_
    ends = torch.stack([net.extrapolation.s_lo, net.extrapolation.s_hi])
    assert bool(torch.isin(ends, net.frozen_rule.knots).all())
    with torch.no_grad():
        g = net.g_table(ends).ravel().numpy()
    edge = est.jacobian(np.array([[x.min()], [x.max()]])).ravel()
    np.testing.assert_allclose(edge, g * est._y_scale[0] / est._x_scale[0], rtol=1e-9)
