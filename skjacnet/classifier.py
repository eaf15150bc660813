"""The classifiers' public module: JacobianClassifier and JacobianCalibrator.

They are defined in ``_classifier.py`` and ``_calibrator.py`` (which builds on the first); this module names
both, as it did when it held them, so that ``from skjacnet.classifier import ...`` and the pickles written
then (which name ``skjacnet.classifier.JacobianClassifier`` and ``skjacnet.classifier.JacobianCalibrator``)
still load.
"""

from ._calibrator import JacobianCalibrator
from ._classifier import CLASSIFIER_CONSTRAINTS, JacobianClassifier

__all__ = ["JacobianClassifier", "JacobianCalibrator", "CLASSIFIER_CONSTRAINTS"]
