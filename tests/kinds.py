"""The model kinds every contract test runs over: one table, shared by the test modules."""

import numpy as np

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor

# name -> (estimator class, parameters, n_features, n_targets)
KINDS = {
    "none-1d": (JacobianRegressor, dict(), 1, 1),
    "none-nd": (JacobianRegressor, dict(), 3, 2),
    "lipschitz-1d": (JacobianRegressor, dict(constraint="lipschitz"), 1, 1),
    "lipschitz-nd": (JacobianRegressor, dict(constraint="lipschitz"), 3, 2),
    "positive-1d": (JacobianRegressor, dict(constraint="positive_definite"), 1, 1),
    "positive-rect": (JacobianRegressor, dict(constraint="positive_definite"), 3, 1),
    "invertible-1d": (InvertibleJacobianRegressor, dict(), 1, 1),
    "invertible-nd": (InvertibleJacobianRegressor, dict(), 2, 2),
    "invertible-rk4": (InvertibleJacobianRegressor, dict(method="rk4"), 2, 2),
    "kronecker": (InvertibleJacobianRegressor, dict(constraint="kronecker"), 4, 4),
    "monotonic": (JacobianRegressor, dict(monotonic_cst=[1, 0, -1]), 3, 2),
    "complex": (JacobianRegressor, dict(constraint="complex"), 4, 2),
    "coupling-1d": (InvertibleJacobianRegressor, dict(constraint="coupling"), 1, 1),
    "coupling": (InvertibleJacobianRegressor, dict(constraint="coupling"), 3, 3),
    "potential": (JacobianRegressor, dict(constraint="potential"), 3, 2),
    "convexity": (JacobianRegressor, dict(convexity_cst=[1, 0, -1]), 3, 2),
    "convex-monotone-1d": (JacobianRegressor, dict(convexity_cst=[-1], monotonic_cst=[1]), 1, 1),
    # compositions of guaranteed layers (n_layers > 1); 'none': a conservative stack of unconstrained ridge layers
    "none-deep": (JacobianRegressor, dict(n_layers=2), 3, 2),
    "lipschitz-deep": (JacobianRegressor, dict(constraint="lipschitz", n_layers=2), 3, 2),
    "lipschitz-deep4-1d": (JacobianRegressor, dict(constraint="lipschitz", n_layers=4), 1, 1),
    "invertible-deep": (InvertibleJacobianRegressor, dict(n_layers=2), 2, 2),
    "positive-rect-deep": (JacobianRegressor, dict(constraint="positive_definite", n_layers=2), 3, 1),
    "kronecker-deep4": (InvertibleJacobianRegressor, dict(constraint="kronecker", n_layers=4), 4, 4),
    "monotonic-deep": (JacobianRegressor, dict(monotonic_cst=[1, 0, -1], n_layers=2), 3, 2),
    "coupling-deep": (InvertibleJacobianRegressor, dict(constraint="coupling", n_layers=2), 4, 4),
}
# kinds whose network defines the function through a path integral of a field (not a closed form)
PATH_INTEGRATED = {"none-nd", "complex"}


def kind_data(d: int, m: int, n: int = 120, seed: int = 0):
    """A smooth, mixing target; 1-D y when m == 1."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, d))
    W = rng.standard_normal((d, m)) + np.eye(d, m) * 2
    Y = np.tanh(X) @ W + 0.3 * X @ W
    return X, Y.ravel() if m == 1 else Y


def fit_kind(name: str, **params):
    cls, kind_params, d, m = KINDS[name]
    X, Y = kind_data(d, m)
    est = cls(**{"random_state": 0, "max_iter": 10, **kind_params, **params})
    return est.fit(X, Y), X, Y
