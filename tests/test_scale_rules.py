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
    assert run.batch == max(200, min(4096, n_train // 50))
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
    few = _run(JacobianRegressor(early_stopping=False), 1_000)  # 5 steps an epoch: 10 epochs = 50 steps
    assert few.patience == 10
    one = _run(JacobianRegressor(early_stopping=False), 150)  # one step an epoch: 50 epochs
    assert one.patience == 50
    assert _run(JacobianRegressor(n_iter_no_change=7), 100_000).patience == 7


def test_lbfgs_epochs_are_single_steps():
    run = _run(JacobianRegressor(solver="lbfgs", early_stopping=False), 20_000)
    assert run.plan.solver == "lbfgs" and run.patience == 50
