"""The regressors' shared half: fit with observed Jacobians, partial_fit, predict and the exact Jacobian."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, validate_data

from ._base import BaseJacobianEstimator
from ._checks import check_jacobian_data, check_target, explain_infinite_y, warn_if_labels
from ._compat import _check_sample_weight, _fit_context
from ._plan import Scaling
from ._targets import JacobianTarget, ValueTarget
from .constraints import INVERTIBLE


def _stochastic_solver(est) -> bool:
    """partial_fit exists unless solver='lbfgs' (MLPRegressor's rule: a full-batch method has no epochs of chunks)."""
    if est.solver == "lbfgs":
        raise AttributeError(
            "partial_fit takes one Adam epoch per call, but solver='lbfgs' is a full-batch method; use "
            "solver='auto' or 'adam' for partial_fit, or fit on all the data."
        )
    return True


class BaseJacobianRegressor(RegressorMixin, BaseJacobianEstimator):
    """The JacNet regressors' fit (values and observed Jacobians), partial_fit, predict and jacobian (not public)."""

    # --- fit ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, jacobian=None):
        """Fit the Jacobian network to data, and to observed Jacobians if given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.  With ``jacobian``, NaN marks an unobserved value (each
            target needs one observed value: derivatives fix the function up
            to a constant).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; samples with weight 0 are ignored.
        jacobian : array-like of shape (n_samples, n_targets, n_features), default=None
            Observed Jacobians dy/dX at the rows of X, in the units of X and y
            ((n_samples, n_features) gradients when y is 1-D); NaN marks an
            unobserved entry.  They enter the loss with weight
            ``jacobian_weight`` (Sobolev training); for JacNet the Jacobian is
            the network's own output, so no double backpropagation.  Every
            constraint keeps its guarantee.  Routed by metadata routing
            (``set_fit_request(jacobian=True)``); a scaler in front of this
            step would change X's units but not the Jacobian's, so fit on raw
            X (the estimator standardises inside).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._guarded(self._fit, X, y, sample_weight, jacobian)

    @available_if(_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, *, jacobian=None):
        """One epoch of Adam over (X, y): MLPRegressor's ``partial_fit``, for data that arrives in chunks.

        The first call (on an unfitted estimator) builds the network, and fixes the standardisation (means
        and scales of X and y) and the orientation from that first chunk: make it representative (shuffle
        the rows, or fit a first chunk of a few hundred rows).  Every later call continues the same network
        and the same Adam moments (kept until pickling: a loaded estimator continues with fresh moments);
        after ``fit`` it continues the fitted network.  Mini-batches of ``batch_size``; ``max_iter``,
        ``early_stopping`` and the stopping rule do not apply (the caller decides when to stop, e.g.
        dask-ml's ``Incremental``); ``n_iter_`` counts the calls.  Not available with ``solver='lbfgs'``
        (a full-batch method), as in MLPRegressor.  Parameters that shape the network must
        not change between calls (an error names them; ``fit`` starts afresh).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs of this chunk.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets of this chunk.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.
        jacobian : array-like of shape (n_samples, n_targets, n_features), default=None
            Observed Jacobians of this chunk, as in :meth:`fit`.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._guarded(self._fit, X, y, sample_weight, jacobian, True, partial=True)

    def _validate_fit_data(self, X, y, sample_weight, jacobian=None, continuing=None):
        warm = bool(self.warm_start) and hasattr(self, "model_") if continuing is None else continuing
        missing = None
        check_target(y, allow_nan=jacobian is not None)
        if jacobian is not None:  # NaN marks an unobserved value: validated as 0, restored below
            y = check_array(y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan", input_name="y")
            missing = np.isnan(y)
            y = np.where(missing, 0.0, y)
        # reset=False on a warm start: the feature count (and names) must match the previous fit
        try:
            X, y = validate_data(self, X, y, reset=not warm, multi_output=True, y_numeric=True, dtype=np.float64)
        except ValueError as exc:
            raise explain_infinite_y(exc, y) from None
        if missing is not None:
            y = np.where(missing, np.nan, y)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if Y.shape[1] == 0:
            raise ValueError("y has 0 targets; at least one target is required.")
        if warm and Y.shape[1] != self.n_targets_:
            how = "partial_fit" if continuing else "warm_start=True"
            raise ValueError(
                f"{how} needs the same number of targets as the previous fit ({self.n_targets_}), got {Y.shape[1]}."
            )
        if self._structure() in INVERTIBLE and not continuing:  # a stream's chunks are not judged one by one
            warn_if_labels(Y[w > 0], type(self).__name__)
        J = None if jacobian is None else check_jacobian_data(jacobian, Y, X.shape[1], y.ndim == 1)
        keep = w > 0
        return X[keep], Y[keep], w[keep], None if J is None else J[keep], y.ndim == 1, warm

    def _training_target(self, Ys, J, sc: Scaling) -> tuple[np.ndarray, ValueTarget]:
        if J is None:
            return Ys, ValueTarget()
        # observed Jacobians packed beside the values, in standardised units
        Js = J * sc.x_scale[None, None, :] / sc.y_scale[None, :, None]
        packed = np.concatenate([Ys, Js.reshape(len(Ys), -1)], axis=1)
        return packed, JacobianTarget(Ys.shape[1], J.shape[2], float(self.jacobian_weight))

    def predict(self, X):
        """Predict with the fitted line integral.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions; 1-D when ``y`` was 1-D in ``fit``.
        """
        Y = self._predict_values(X)
        return Y.ravel() if self._y_1d else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
