"""scikit-learn's common estimator checks, for each estimator and constraint, none skipped."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

ESTIMATORS = [
    JacobianRegressor(constraint="none"),
    JacobianRegressor(constraint="lipschitz"),
    JacobianRegressor(constraint="positive_definite"),
    InvertibleJacobianRegressor(),
    # the L-BFGS path; 20 iterations keep these ~30 s (200 on the checks' noise take minutes)
    JacobianRegressor(solver="lbfgs", max_iter=20),
    InvertibleJacobianRegressor(solver="lbfgs", max_iter=20),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
