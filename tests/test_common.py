"""scikit-learn's common estimator checks, for each estimator and constraint, none skipped."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

ESTIMATORS = [
    JacobianRegressor(constraint="none"),
    JacobianRegressor(constraint="lipschitz"),
    JacobianRegressor(constraint="positive_definite"),
    InvertibleJacobianRegressor(),
    # the defaults take L-BFGS on the checks' small data (solver='auto'), except the
    # unconstrained n-D network (Adam): the other solver of each is checked here
    JacobianRegressor(solver="lbfgs"),
    JacobianRegressor(solver="adam", max_iter=50),  # the 1-D unconstrained model with Adam
    InvertibleJacobianRegressor(solver="adam", max_iter=50),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
