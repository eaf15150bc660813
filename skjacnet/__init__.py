"""skjacnet: JacNet (learning functions through structured Jacobians) for scikit-learn."""

from ._pipeline import pipeline_guarantee
from .classifier import JacobianCalibrator, JacobianClassifier
from .exceptions import InertOptionWarning, NonFiniteError
from .regressor import InvertibleJacobianRegressor, JacobianRegressor

__all__ = [
    "JacobianRegressor",
    "InvertibleJacobianRegressor",
    "JacobianClassifier",
    "JacobianCalibrator",
    "InertOptionWarning",
    "NonFiniteError",
    "pipeline_guarantee",
    "__version__",
]
__version__ = "0.1.0"
