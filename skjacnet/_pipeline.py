"""A fitted JacNet step's guarantee restated in the raw input units of the Pipeline in front of it."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted


def _factors(step, n_features: int) -> tuple[np.ndarray, bool]:
    """Per-feature multipliers a of a fitted affine scaler x -> a * x + b, and whether it also clips."""
    if step is None or step == "passthrough":
        return np.ones(n_features), False
    check_is_fitted(step)
    if isinstance(step, MinMaxScaler):
        return np.asarray(step.scale_, dtype=np.float64), bool(step.clip)
    if isinstance(step, (StandardScaler, MaxAbsScaler, RobustScaler)):
        scale = getattr(step, "scale_", None)
        return (np.ones(n_features) if scale is None else 1.0 / np.asarray(scale, dtype=np.float64)), False
    raise ValueError(
        f"pipeline_guarantee handles the per-feature affine scalers StandardScaler, MinMaxScaler, MaxAbsScaler "
        f"and RobustScaler in front of the JacNet step; got {type(step).__name__}, whose effect on the bound "
        "is not known. Fit the JacNet estimator on raw inputs instead: it standardises inside and its "
        "guarantee_ is already in the units of X and y."
    )


def pipeline_guarantee(pipeline) -> dict:
    """The guarantee of a Pipeline's final JacNet step, in the units of the pipeline's raw inputs.

    ``guarantee_`` of a JacNet estimator holds in the units it was fitted on; behind a scaler those
    are scaled units, so for ``make_pipeline(StandardScaler(), JacobianRegressor(constraint='lipschitz',
    lipschitz_constant=1))`` the raw-unit bound is ``1 / min(scale_)``, not 1.  With per-feature affine
    scalers ``x -> a * x + b`` (a > 0) in front, the composed map keeps its property and its constants
    become: Lipschitz bound ``k * max(a)``; expansion or Jacobian lower bound ``c * min(a)``; monotone
    signs unchanged; holomorphy kept when each (re, im) pair is scaled alike.

    Parameters
    ----------
    pipeline : Pipeline or fitted JacNet estimator
        A fitted Pipeline whose last step is a JacNet estimator and whose other steps are
        StandardScaler, MinMaxScaler (clip=False), MaxAbsScaler, RobustScaler or 'passthrough'.

    Returns
    -------
    guarantee : dict
        The final step's ``guarantee_`` with ``lipschitz_upper``, ``expansion_lower`` and
        ``jacobian_lower`` in raw input units, plus ``input_factors`` (the product of the
        scalers' per-feature multipliers) and ``units``.
    """
    if not isinstance(pipeline, Pipeline):
        check_is_fitted(pipeline, "guarantee_")
        return {**pipeline.guarantee_, "input_factors": None, "units": "the estimator's X and y"}
    est = pipeline.steps[-1][1]
    if not hasattr(est, "guarantee_"):
        check_is_fitted(est)
        raise ValueError(f"The last step of the pipeline ({type(est).__name__}) is not a JacNet estimator.")
    a, clipped = np.ones(est.n_features_in_), False
    for _, step in pipeline.steps[:-1]:
        factors, clips = _factors(step, est.n_features_in_)
        a, clipped = a * factors, clipped or clips
    if not np.all(a > 0):
        raise ValueError("A scaler in the pipeline has a non-positive factor: the composed map is not covered.")
    cert = est._spec.constraint.in_raw_units(est.guarantee_, a, clipped)  # the structure knows what survives
    cert.update(input_factors=a, units="the pipeline's raw X and the estimator's y")
    return cert
