"""The training settings that follow the size of the data (issue 40), resolved on shapes without training."""

import numpy as np
import pytest

from skjacnet import JacobianClassifier, JacobianRegressor
from skjacnet._resolve import resolve


def _run(est, n, d=4):
    X = np.random.RandomState(0).uniform(-1, 1, (n, d))
    y = X.sum(1)
    if isinstance(est, JacobianClassifier):
        y = (y > 0).astype(float)
    X, Y, w, J, _, warm = est._validate_fit_data(X, y, None, None, None)
    return resolve(est, X, Y, w, J, warm=warm, partial=False)


@pytest.mark.parametrize("n", [2_000, 10_000, 20_000, 100_000, 1_000_000])
def test_auto_batch_grows_past_fifty_steps_an_epoch(n):
    run = _run(JacobianRegressor(), n)
    n_train = run.X.shape[0]
    assert run.batch == (max(200, min(4096, n_train // 50)) if n_train > 10_000 else 200)
    assert -(-n_train // run.batch) <= max(50, -(-n_train // 4096))  # at most 50 steps, unless capped


def test_a_batch_asked_for_is_kept_at_any_size():
    assert _run(JacobianRegressor(batch_size=64), 100_000).batch == 64
    assert _run(JacobianRegressor(batch_size=10**6), 1_000).batch == 1_000


def test_structures_keep_their_own_batch_on_small_data():
    assert _run(JacobianRegressor(monotonic_cst=[1, 0, 0, 0]), 2_000).batch == 400
    assert _run(JacobianRegressor(monotonic_cst=[1, 0, 0, 0]), 100_000).batch == 2_000


def test_patience_counts_steps_on_the_training_loss_epochs_on_the_validation_score():
    assert _run(JacobianRegressor(), 5_000).patience == 20  # members, scored on their validation rows
    assert _run(JacobianRegressor(n_members=1), 5_000).patience == 50  # one network's validation score
    big = _run(JacobianRegressor(), 100_000)  # no early stopping: the training loss of 50 steps an epoch
    assert big.held_out is None and big.patience == 10
    few = _run(JacobianRegressor(early_stopping=False), 1_000)  # the batch did not grow: 50 epochs, as before
    assert few.batch == 200 and few.patience == 50
    one = _run(JacobianRegressor(early_stopping=False), 150)
    assert one.patience == 50
    assert _run(JacobianRegressor(n_iter_no_change=7), 100_000).patience == 7


def test_small_fits_keep_their_batch_and_patience_without_early_stopping():
    """Below LARGE_FIT_ROWS nothing moves: deep Lipschitz stacks' batch of 100, bounded logits' patience."""
    deep = _run(JacobianRegressor(constraint="lipschitz", n_layers=2), 9_000)
    assert deep.batch == 100
    clf = _run(JacobianClassifier(constraint="lipschitz", n_layers=2), 3_000)
    assert clf.held_out is None and clf.patience == 50
    assert _run(JacobianRegressor(constraint="lipschitz", n_layers=2), 100_000).batch == 2_000


def test_lbfgs_epochs_are_single_steps():
    run = _run(JacobianRegressor(solver="lbfgs", early_stopping=False), 20_000)
    assert run.plan.solver == "lbfgs" and run.patience == 50


def test_large_potential_fits_train_in_float32_and_publish_in_their_dtype():
    import torch

    assert _run(JacobianRegressor(), 100_000).train_dtype == torch.float32
    assert _run(JacobianRegressor(), 5_000).train_dtype == torch.float64  # the batch did not grow
    assert _run(JacobianRegressor(batch_size=2000), 100_000).train_dtype == torch.float64  # the user's batch
    assert _run(JacobianRegressor(monotonic_cst=[1, 0, 0, 0]), 100_000).train_dtype == torch.float64  # a mesh
    assert _run(JacobianRegressor(dtype="float32"), 100_000).train_dtype == torch.float32
    five = _run(JacobianRegressor(early_stopping=True), 20_000)  # members: trained in the model's dtype
    assert five.members == 5 and five.train_dtype == torch.float64
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (12_000, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    est = JacobianRegressor(max_iter=3, random_state=0)
    with pytest.warns(Warning):  # max_iter=3 does not converge
        est.fit(X, y)
    assert all(t.dtype == torch.float64 for t in est.model_.state_dict().values() if t.is_floating_point())
    assert est.score(X, y) > 0.5
    h = 1e-6  # jacobian is the derivative of what predict computes, in float64
    fd = (est.predict(X[:5] + [h, 0, 0]) - est.predict(X[:5] - [h, 0, 0])) / (2 * h)
    np.testing.assert_allclose(est.jacobian(X[:5])[:, 0], fd, rtol=1e-6, atol=1e-8)  # one target: (n, d)
    warm = est.set_params(warm_start=True)
    with pytest.warns(Warning):
        warm.fit(X, y)
    assert all(t.dtype == torch.float64 for t in warm.model_.state_dict().values() if t.is_floating_point())
