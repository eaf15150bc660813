"""n_members: networks trained side by side on their own validation splits, merged into one that predicts their mean."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skjacnet import JacobianRegressor
from skjacnet._build import ModelSpec
from skjacnet._members import replicate
from skjacnet.constraints import REGISTRY
from skjacnet.constraints.potential import PotentialJacobianNet


def _table(n=300, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * X[:, 3] + 0.1 * rng.standard_normal(n)
    return X, y


def _members(k, hidden, n_out=2, d=3):
    spec = ModelSpec("potential", d, n_out, hidden, "tanh", None, None, None, None)
    model = REGISTRY["potential"].build_members(spec, torch.Generator().manual_seed(0), k)
    with torch.no_grad():  # every parameter off its start, the linear terms included
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
    return model


@pytest.mark.parametrize("hidden", [(), (8,), (8, 6)])
def test_the_merged_network_predicts_the_members_mean_and_its_jacobian_is_their_mean(hidden):
    k, m, d = 4, 2, 3
    model = _members(k, hidden, m, d)
    merged = REGISTRY["potential"].merge_members(model, k)
    assert isinstance(merged, PotentialJacobianNet) and merged.n_out == m
    x = torch.randn(50, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mean = model(x).reshape(50, k, m).mean(1)
        assert torch.allclose(merged(x), mean, rtol=0, atol=1e-13)
    J_mean = model.jacobian(x).reshape(50, k, m, d).mean(1)
    assert torch.allclose(merged.jacobian(x), J_mean, rtol=0, atol=1e-13)


def test_no_member_reads_another_members_units():
    k, m = 3, 2
    model = _members(k, (8, 6), m)
    x = torch.randn(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = model(x)
        for w in model.field.weights:  # member 1's rows of every layer, off-diagonal blocks included
            rows = w.shape[0] // k
            w[rows : 2 * rows] += 1.0
        after = model(x)
    changed = (before - after).abs().reshape(20, k, m).amax(dim=(0, 2))
    assert changed[0] == 0 and changed[2] == 0 and changed[1] > 0


def test_each_member_trains_without_its_own_validation_rows_and_is_scored_on_them():
    Y = np.arange(20.0).reshape(10, 2)
    splits = [np.array([0, 3]), np.array([3, 7])]
    train, val = replicate(Y, splits, 2)
    for i, rows in enumerate(splits):
        block = slice(2 * i, 2 * i + 2)
        assert np.isnan(train[rows, block]).all() and np.isnan(val[np.setdiff1d(np.arange(10), rows), block]).all()
        others = np.setdiff1d(np.arange(10), rows)
        assert np.array_equal(train[others, block], Y[others]) and np.array_equal(val[rows, block], Y[rows])


def test_the_default_on_a_table_is_five_members_merged_into_one_network():
    X, y = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at the defaults
        est = JacobianRegressor(random_state=0).fit(X, y)
    assert est.constraint_ == "potential" and est.n_members_ == 5
    assert est.model_.field.weights[0].shape == (5 * 64, 5) and est.model_.n_out == 1
    single = JacobianRegressor(n_members=1, random_state=0).fit(X, y)
    assert single.n_members_ == 1 and single.model_.field.weights[0].shape == (64, 5)
    X_test, y_test = _table(seed=1)
    assert est.score(X_test, y_test) > 0.9
    # the exact Jacobian of what predict computes, as for one network
    h = 1e-6
    x = X_test[:5]
    fd = np.stack([(est.predict(x + h * e) - est.predict(x - h * e)) / (2 * h) for e in np.eye(5)], -1)
    assert np.allclose(est.jacobian(x), fd, rtol=1e-6, atol=1e-7)  # 1-D y: (n_samples, n_features)
    # persisted as the one merged network
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(X_test), est.predict(X_test))


def test_auto_is_one_network_where_members_would_not_be_independent_fits_or_nothing_is_held_out():
    X, y = _table()
    assert JacobianRegressor(solver="lbfgs", max_iter=20, random_state=0).fit(X, y).n_members_ == 1
    assert JacobianRegressor(early_stopping=False, max_iter=20, random_state=0).fit(X, y).n_members_ == 1
    J = np.zeros((len(X), 1, X.shape[1]))
    assert JacobianRegressor(max_iter=20, random_state=0).fit(X, y, jacobian=J).n_members_ == 1
    # monotone: the one-layer ridge sum on several features averages into one (3 members); deeper or 1-D does not
    mono = JacobianRegressor(monotonic_cst=[1, 0, 0, 0, 0], max_iter=20, random_state=0)
    assert mono.fit(X, y).n_members_ == 3
    assert mono.set_params(n_layers=2).fit(X, y).n_members_ == 1
    assert mono.set_params(n_layers=1, monotonic_cst=[1]).fit(X[:, :1], y).n_members_ == 1
    assert mono.set_params(monotonic_cst=[1, 0, 0, 0, 0], method="rk4").fit(X, y).n_members_ == 1
    # asked for: L-BFGS on the summed losses is still a fit of each member (coupled steps)
    est = JacobianRegressor(n_members=3, solver="lbfgs", max_iter=30, random_state=0).fit(X, y)
    assert est.n_members_ == 3 and est.model_.field.weights[0].shape[0] == 3 * 64


def test_partial_fit_and_warm_start_continue_one_network():
    X, y = _table()
    est = JacobianRegressor(warm_start=True, random_state=0).fit(X, y)
    width = est.model_.field.weights[0].shape[0]
    model = est.model_
    est.set_params(max_iter=5).fit(X, y)
    assert est.n_members_ == 1 and est.model_ is model and est.model_.field.weights[0].shape[0] == width
    part = JacobianRegressor(random_state=0).partial_fit(X, y)
    assert part.n_members_ == 1


def test_refusals_name_the_parameter_and_the_fix():
    X, y = _table(100)
    with pytest.raises(ValueError, match="n_members=3.*constraint='lipschitz'"):
        JacobianRegressor(constraint="lipschitz", n_members=3).fit(X, y)
    with pytest.raises(ValueError, match="n_members=2.*monotonic_cst with n_layers=2 cannot.*n_layers=1"):
        JacobianRegressor(monotonic_cst=[1, 0, 0, 0, 0], n_layers=2, n_members=2).fit(X, y)
    with pytest.raises(ValueError, match="n_members=2 does not take observed Jacobians"):
        JacobianRegressor(n_members=2).fit(X, y, jacobian=np.zeros((100, 1, 5)))


def test_the_resolved_patience_is_the_one_reported():
    X, y = _table()
    with pytest.warns(ConvergenceWarning, match="n_iter_no_change=20"):
        JacobianRegressor(max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="n_iter_no_change=50"):
        JacobianRegressor(n_members=1, max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="n_iter_no_change=7"):
        JacobianRegressor(n_iter_no_change=7, max_iter=3, random_state=0).fit(X, y)


def test_each_member_is_trained_on_its_own_objective_alpha_included():
    """The gradient the members' objective gives one member is 1/k times that of one network fitted to that
    member's training rows with the same alpha (Adam is invariant to the 1/k)."""
    from skjacnet._divergence import Guard as _Guard
    from skjacnet._members import MemberTarget
    from skjacnet._training import ValueTarget, _objective

    k, d, alpha = 2, 3, 5.0
    model = _members(k, (8,), 1, d)
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.standard_normal((40, d)))
    y = torch.as_tensor(rng.standard_normal((40, 1)))
    w = torch.as_tensor(rng.uniform(0.5, 2, 40))
    w[8:16] = w[0:8]  # the held-out rows weigh alike: each member trains on the same total weight
    held = [np.arange(0, 8), np.arange(8, 16)]
    Y_train, _ = replicate(y.numpy(), held, k)
    Y_train = torch.as_tensor(Y_train)
    target = MemberTarget(k)
    guard = _Guard(model, Y_train, w, "squared_error", target)
    obj = _objective(model, guard, target, "adam", "squared_error", alpha, target.weight_total(Y_train, w))
    obj(X, Y_train, w)[1].backward()
    # member 0 alone: one network with its units, on the rows it trains on
    spec = ModelSpec("potential", d, 1, (8,), "tanh", None, None, None, None)
    single = REGISTRY["potential"].build(spec, torch.Generator(), None)
    with torch.no_grad():
        single.field.weights[0].copy_(model.field.weights[0][:8])
        single.field.biases[0].copy_(model.field.biases[0][:8])
        single.field.weights[1].copy_(model.field.weights[1][:1, :8])
        single.field.biases[1].copy_(model.field.biases[1][:1])
        single.A.copy_(model.A[:1]), single.y0.copy_(model.y0[:1]), single.x0.copy_(model.x0)
    rows = np.setdiff1d(np.arange(40), held[0])
    Xr, yr, wr = X[rows], y[rows], w[rows]
    one = _objective(single, _Guard(single, yr, wr, "squared_error", ValueTarget()), ValueTarget(), "adam",
                     "squared_error", alpha, float(wr.sum()))  # fmt: skip
    one(Xr, yr, wr)[1].backward()
    pairs = [(model.field.weights[0].grad[:8], single.field.weights[0].grad),
             (model.field.weights[1].grad[:1, :8], single.field.weights[1].grad),
             (model.A.grad[:1], single.A.grad)]  # fmt: skip
    for member, alone in pairs:
        assert torch.allclose(k * member, alone, rtol=1e-10, atol=1e-13)


def test_a_warm_start_that_rebuilds_trains_members_again():
    X, y = _table()
    est = JacobianRegressor(warm_start=True, n_members=3, max_iter=30, random_state=0).fit(X, y)
    assert est.n_members_ == 3
    with pytest.warns(UserWarning, match="rebuilt"):
        est.set_params(hidden_layer_sizes=(32,)).fit(X, y)
    assert est.n_members_ == 3 and est.model_.field.weights[0].shape == (3 * 32, 5)


def _ridge_members(k, d=4, m=2, hidden=(8,)):
    from skjacnet.constraints import MONOTONE

    spec = ModelSpec("none", d, m, hidden, "tanh", None, None, "auto", (1, 0, -1, 0), least_squares_start=True)
    model = MONOTONE.build_members(spec, torch.Generator().manual_seed(0), k)
    block = torch.block_diag(*[torch.ones(m, model.V_raw.shape[0] // k, dtype=torch.float64)] * k)
    with torch.no_grad():  # every parameter off its start; U's off-diagonal blocks stay 0 (as training keeps them)
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
        model.U_raw.mul_(block)
    return MONOTONE, model.eval()


@pytest.mark.parametrize("k", [2, 3])
def test_monotone_members_merge_into_one_ridge_sum_that_predicts_their_mean(k):
    from skjacnet.constraints.ridge import RidgeJacobianNet

    d, m = 4, 2
    structure, model = _ridge_members(k, d, m)
    merged = structure.merge_members(model, k).eval()
    assert isinstance(merged, RidgeJacobianNet) and merged.n_out == m and merged.V_raw.shape[0] == model.V_raw.shape[0]
    x = torch.randn(60, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        mean = model(x).reshape(60, k, m).mean(1)
        assert torch.allclose(merged(x), mean, rtol=1e-12, atol=1e-12)
    J = model.jacobian(x).reshape(60, k, m, d).mean(1)
    assert torch.allclose(merged.jacobian(x), J, rtol=1e-12, atol=1e-12)
    # the merged linear term keeps the signs of monotonic_cst, so the guarantee's factors hold
    assert (merged.linear()[:, 0] >= 0).all() and (merged.linear()[:, 2] <= 0).all()


def test_monotone_members_at_the_defaults_keep_the_guarantee_and_training_keeps_them_apart():
    from skjacnet.constraints import MONOTONE

    X, y = _table()
    y = y + X[:, 0] - 0.5 * X[:, 2]
    seen = {}
    merge = MONOTONE.merge_members

    def spy(model, k):
        seen["U"] = model.U().detach().clone()
        return merge(model, k)

    MONOTONE.merge_members = spy
    try:
        est = JacobianRegressor(monotonic_cst=[1, 0, -1, 0, 0], random_state=0).fit(X, y)
    finally:
        MONOTONE.merge_members = merge
    assert est.n_members_ == 3 and est.guarantee_["monotonic_cst"] == [1, 0, -1, 0, 0]
    # no member read another's ridges: U's off-diagonal blocks are still exactly 0 after training
    U, R = seen["U"], seen["U"].shape[1] // 3
    mask = torch.block_diag(*[torch.ones(1, R, dtype=U.dtype)] * 3)
    assert torch.equal(U * (1 - mask), torch.zeros_like(U)) and (U * mask).abs().sum() > 0
    # monotone in the constrained features everywhere, far outside the data too
    rng = np.random.RandomState(1)
    A = rng.standard_normal((200, 5)) * 10
    for j, sign in ((0, 1), (2, -1)):
        B = A.copy()
        B[:, j] += rng.uniform(0, 5, 200)
        assert np.all(sign * (est.predict(B) - est.predict(A)) >= -1e-9)
