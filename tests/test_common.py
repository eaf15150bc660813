"""scikit-learn's common estimator checks, for each estimator and constraint, none skipped."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

ESTIMATORS = [
    JacobianRegressor(constraint="none"),
    JacobianRegressor(constraint="lipschitz"),
    JacobianRegressor(constraint="positive_definite"),
    InvertibleJacobianRegressor(),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
