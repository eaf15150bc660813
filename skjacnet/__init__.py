"""skjacnet: JacNet (learning functions through structured Jacobians) for scikit-learn."""

from .exceptions import NonFiniteError
from .regressor import InvertibleJacobianRegressor, JacobianRegressor

__all__ = ["JacobianRegressor", "InvertibleJacobianRegressor", "NonFiniteError", "__version__"]
__version__ = "0.1.0"
