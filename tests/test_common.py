"""scikit-learn's common estimator checks, for each estimator and constraint, none skipped."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skjacnet import InvertibleJacobianRegressor, JacobianClassifier, JacobianRegressor

# The checks fit hundreds of times on small data: the structured models run them with a small network
# and few iterations (each config went from ~250 s at the defaults to ~55 s at max_iter=50, (16,), and to
# ~20 s here, every check still passing); the defaults are checked as users get them on the unconstrained model.
CHEAP = dict(max_iter=20, hidden_layer_sizes=(8,))

ESTIMATORS = [
    JacobianRegressor(),
    JacobianRegressor(constraint="lipschitz", **CHEAP),
    JacobianRegressor(constraint="positive_definite", **CHEAP),
    InvertibleJacobianRegressor(**CHEAP),
    # the defaults take L-BFGS on the checks' small data (solver='auto'), except the
    # unconstrained n-D network (Adam): the other solver of each is checked here
    JacobianRegressor(solver="lbfgs", **CHEAP),
    JacobianRegressor(solver="adam", max_iter=50),  # the 1-D unconstrained model with Adam
    InvertibleJacobianRegressor(solver="adam", **CHEAP),
    # the classifier: its unconstrained default network at fewer epochs (47 s at the defaults, every check
    # passing), and the Lipschitz logit map
    JacobianClassifier(max_iter=50, hidden_layer_sizes=(16,)),
    JacobianClassifier(constraint="lipschitz", **CHEAP),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
