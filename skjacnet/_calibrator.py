"""JacobianCalibrator: a strictly monotone probability calibration of a score, a 1-D JacNet logit trained by log-loss.

A JacobianClassifier with a fixed structure (the invertible 1-D 'positive_definite' map of one score), straight
logit tails beyond its mesh, and ``inverse_proba`` (the score of a probability) through the inverse of a fitted
bijection that the regressors share (``_inverse.py``).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import _warn
from ._base import BaseJacobianEstimator
from ._classifier import _FLOAT_MAX, JacobianClassifier
from ._compat import Interval, StrOptions
from ._docs import _NETWORK_DOC
from ._inverse import invert_outputs
from ._training import LogLossTarget
from .exceptions import NonFiniteError
from .integrate.mesh import FAR

_AUTO_CALIBRATOR = (
    "'tanh' (a bounded derivative that saturates: beyond the scores seen the logit's slope settles to a constant, "
    "so its tails are asymptotically straight, as Platt's)"
)


class JacobianCalibrator(JacobianClassifier):
    __doc__ = f"""Strictly monotone probability calibration of a score: a 1-D JacNet logit trained by log-loss.

    ``P(y = classes_[1] | s) = sigmoid(f(s))`` with ``f(s) = y0 + S integral
    from s0 to s of (J(t)**2 + epsilon) dt`` (the paper's invertible 1-D
    JacNet; S = ``increasing_``, +1 for a classifier's score), so the
    calibrated probability is strictly monotone in the score (slope of the
    logit >= ``guarantee_['expansion_lower']`` > 0: no ties, unlike
    IsotonicRegression's steps), smooth, and more flexible than Platt's
    single sigmoid.  :meth:`inverse_proba` gives the score of a probability
    (a decision threshold for a target precision or rate), exactly.

    What holds for every finite score s (stated for ``increasing_ = [1]``;
    mirrored for -1):

    - ``decision_function`` (the logit) is finite and strictly increasing,
      up to the rounding of ``dtype``.  Beyond the scores seen, with the
      default ``activation`` ('tanh': bounded units that saturate), its
      slope settles to a constant on each side, so its tails are
      asymptotically straight, as Platt's are; with any activation,
      beyond 2**50 standard deviations of the scores from their mean the
      logit is exactly straight, with the slope it has there, evaluated in
      float64 whatever ``dtype`` (the logit saturates at +-1.8e308 where
      that slope times the standardised score overflows float64: only for
      scores within a few orders of magnitude of the float64 limit).
    - ``predict_log_proba`` is computed in log space: finite, negative,
      and strictly increasing (classes_[1]) wherever its value is
      representable, for logits below about 708.
    - ``predict_proba`` never returns exactly 0 or 1: it lies in
      ``[2**-1022, 1 - 2**-53]`` (see JacobianClassifier.predict_proba); the
      probability of classes_[1] is non-decreasing in s and strictly
      increasing as far as float64 resolves it, for logits in about
      (-708, 36.7); beyond, it stays at its floor or ceiling.
    - :meth:`inverse_proba` inverts the logit exactly for every p in the
      open interval (0, 1): ``predict_log_proba(inverse_proba(p))[:, 1]``
      is ``log(p)`` up to rounding.

    Use it as the second stage of a calibration: fit a classifier on one
    part of the data, then this on its scores for another part (the
    ``decision_function``, or the log-odds of ``predict_proba``), and
    predict with both::

        base = HistGradientBoostingClassifier().fit(X_train, y_train)
        score = lambda X: base.decision_function(X)
        cal = JacobianCalibrator().fit(score(X_cal), y_cal)
        proba = cal.predict_proba(score(X_test))[:, 1]

    Two classes (one-vs-rest per class for more, as CalibratedClassifierCV
    does).  The score may be given as shape (n_samples,) or (n_samples, 1).

    Parameters
    ----------
    increasing : bool or 'auto', default='auto'
        Orientation of the probability of ``classes_[1]`` in the score:
        True increasing, False decreasing, 'auto' from the data: the sign
        of the weighted least-squares slope of the labels on the score, as
        IsotonicRegression's (one least-squares solve before training).
        A classifier's ``decision_function`` rises with ``classes_[1]``, and
        'auto' finds that whenever the score carries information; where it
        carries none either orientation fits a nearly constant probability.
        A forced orientation that the data contradict (the weighted
        correlation of score and label of the other sign, more than two
        standard errors from 0) warns: such a map can only fit a nearly
        constant probability.  The orientation used is ``increasing_``.
    epsilon : float, default=1e-4
        The smallest slope of the logit, in standardised units (scores
        divided by their standard deviation).
    smoothing : float, default=1e-3
        Weight of a penalty on the curvature of the logit, the mean of
        ``f''(s)**2`` over the scores (standardised units), added to the
        log-loss as in a smoothing spline.  Without it (0) the logit runs
        off towards +-inf wherever a tail of the scores holds one class only;
        as it grows the fit tends to Platt's sigmoid (a straight logit).
        1e-3 was the best of 1e-3 .. 1 on three truths (logistic,
        saturating, oscillating) at two sample sizes.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the log-loss, multiplying ``sample_weight``.
{_NETWORK_DOC.format(hidden="(32, 32)", auto=_AUTO_CALIBRATOR, why="")}
    method : str, default='quadrature'
        How the line integral is evaluated (see JacobianRegressor).
    solver : {{'auto', 'adam', 'lbfgs'}}, default='auto'
        'auto': full-batch L-BFGS up to 1e6 samples, else Adam.
    max_iter : int or 'auto', default='auto'
        Maximum number of training epochs (L-BFGS iterations); 'auto' is 200.
    tol : float or 'auto', default='auto'
        Tolerance of the stopping rule (as in MLPClassifier); 'auto' is 1e-4.
    n_iter_no_change : int or 'auto', default='auto'
        Epochs without a ``tol`` improvement before stopping; 'auto' is 50.
    learning_rate : {{'auto', 'constant', 'adaptive'}}, default='auto'
        Adam's schedule (see JacobianRegressor); 'auto' is 'constant' here.
    learning_rate_init : float, default=0.01
        Adam's (initial) step size.
    batch_size : int or 'auto', default='auto'
        Mini-batch size of Adam; 'auto' is ``min(200, n_samples)``.
    alpha : float or 'auto', default=1e-4
        L2 penalty on the network weights; 'auto' is 1e-4.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the batch order.
    device : str, default='cpu'
        Torch device.
    dtype : {{'float64', 'float32'}}, default='float64'
        Precision of the network and the integration.
    verbose : bool or int, default=False
        Print the loss every epoch (2: a progress bar).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The class labels.
    increasing_ : ndarray of shape (1,)
        The orientation used (1 increasing, -1 decreasing).
    guarantee_ : dict
        ``property`` (strictly increasing or decreasing logit) and
        ``expansion_lower``: the smallest ``|slope|`` of the logit per unit of
        score, on the whole real line; ``applies_to`` says what it means for
        the probabilities.
    model_ : torch.nn.Module
        The fitted network (standardised units).
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training log-loss at each epoch.

    See Also
    --------
    sklearn.isotonic.IsotonicRegression : non-decreasing step calibration.
    sklearn.calibration.CalibratedClassifierCV : Platt ('sigmoid') and isotonic calibration.

    Examples
    --------
    >>> import numpy as np
    >>> from skjacnet import JacobianCalibrator
    >>> rng = np.random.RandomState(0)
    >>> s = rng.normal(size=500)
    >>> y = (rng.uniform(size=500) < 1 / (1 + np.exp(-3 * s))).astype(int)
    >>> cal = JacobianCalibrator(random_state=0).fit(s, y)
    >>> p = cal.predict_proba([[-1.0], [0.0], [1.0]])[:, 1]
    >>> bool(np.all(np.diff(p) > 0))
    True
    >>> float(np.round(cal.predict_proba(cal.inverse_proba([0.9]).reshape(-1, 1))[0, 1], 6))
    0.9
    """

    # the fixed structure: not parameters (get_params reads __init__), read by the shared fit
    constraint = "positive_definite"
    monotonic_cst = None
    convexity_cst = None
    n_ridges = "auto"
    n_layers = 1
    initial_point = "mean"
    tol_annealing = False
    adjoint = False
    rtol, atol = 1e-4, 1e-6
    early_stopping = False
    validation_fraction = 0.1
    standardize = True
    warm_start = False

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseJacobianEstimator._parameter_constraints.items()
            if k
            in (
                "epsilon",
                "hidden_layer_sizes",
                "activation",
                "method",
                "solver",
                "max_iter",
                "tol",
                "n_iter_no_change",
                "learning_rate",
                "learning_rate_init",
                "batch_size",
                "alpha",
                "random_state",
                "device",
                "dtype",
                "verbose",
            )
        },  # fmt: skip
        "increasing": ["boolean", StrOptions({"auto"})],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        increasing="auto",
        epsilon=1e-4,
        smoothing=1e-3,
        class_weight=None,
        hidden_layer_sizes=(32, 32),
        activation="auto",
        method="quadrature",
        solver="auto",
        max_iter="auto",
        tol="auto",
        n_iter_no_change="auto",
        learning_rate="auto",
        learning_rate_init=0.01,
        batch_size="auto",
        alpha=1e-4,
        random_state=None,
        device="cpu",
        dtype="float64",
        verbose=False,
    ):
        self.increasing = increasing
        self.epsilon = epsilon
        self.smoothing = smoothing
        self.class_weight = class_weight
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.method = method
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.alpha = alpha
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _structure(self) -> str:
        return "positive_definite"

    def _lipschitz_k(self) -> None:
        return None

    def _auto_activation(self) -> str:
        return "tanh"

    @staticmethod
    def _scores(S):
        """A score vector as the one-column X the network takes: (n,) or (n, 1)."""
        if hasattr(S, "ndim") and S.ndim == 2 or np.ndim(S) == 2:
            return S
        return np.asarray(S, dtype=np.float64).reshape(-1, 1)

    def _validate_fit_data(self, X, y, sample_weight, jacobian=None, continuing=None):
        X = self._scores(X)
        if np.shape(X)[1] != 1:
            raise ValueError(
                f"{type(self).__name__} calibrates one score, but X has {np.shape(X)[1]} columns: pass the "
                "base classifier's decision_function (or the log-odds of predict_proba[:, 1]), shape (n,) or (n, 1)."
            )
        out = super()._validate_fit_data(X, y, sample_weight, jacobian, continuing)
        if self.classes_.size != 2:
            raise ValueError(
                f"{type(self).__name__} calibrates a binary classifier's score, but y has {self.classes_.size} "
                "classes: calibrate one-vs-rest (one calibrator per class, on that class's score)."
            )
        return out

    def _standardized_inputs(self, X) -> np.ndarray:
        # the network sees at most +-FAR (where its mesh ends and the logit is straight): a float32 network
        # would overflow on a score beyond float32's range; _predict_values continues the line in float64
        return np.clip(super()._standardized_inputs(self._scores(X)), -FAR, FAR)

    def _predict_values(self, X) -> np.ndarray:
        """The logit at every finite score: the network within +-FAR standardised units, its straight tails beyond."""
        z = super()._standardized_inputs(self._scores(X))
        near = np.clip(z, -FAR, FAR)
        Z = self._y_mean + self._y_scale * self._transform_rows(near, self._predict_std)
        past = z - near  # standardised units beyond the mesh (+-inf where z overflowed float64)
        if np.any(past):
            slope = self._y_scale * self._transform_rows(np.array([[-FAR], [FAR]]), self._slope_std)
            with np.errstate(over="ignore"):
                Z = Z + np.where(past < 0, slope[0], slope[1]) * past
        if np.isnan(Z).any():
            raise NonFiniteError("The prediction is not finite; inputs may be too extreme for this model.")
        # only a score whose standardised value overflows float64 reaches +-inf: the logit saturates there
        return np.clip(Z, -_FLOAT_MAX, _FLOAT_MAX)

    def _slope_std(self, zs: torch.Tensor) -> torch.Tensor:
        """d logit / d z at standardised scores zs (n, 1), as ``jacobian`` computes it: (n, 1)."""
        model = self.model_
        if model.jacobian_is_exact():
            return model.jacobian(self._pad(zs))[:, :1, 0]
        with torch.enable_grad():  # an ODE's integrand is not its derivative: differentiate what predict computes
            zs = zs.clone().requires_grad_(True)
            return torch.autograd.grad(self._predict_std(zs)[:, 0].sum(), zs)[0]

    def _training_target(self, Ys, J, sc):
        return Ys, LogLossTarget(curvature=float(self.smoothing))

    def _finish_fit(self, model, Xt, Yt, wt) -> None:
        super()._finish_fit(model, Xt, Yt, wt)
        sign = int(self.increasing_[0])
        self.guarantee_ = {
            **self.guarantee_,
            "applies_to": f"decision_function (the logit); predict_proba is its sigmoid within [2**-1022, 1 - 2**-53], "
            "non-decreasing in the logit, strictly as far as float64 resolves it (logits in about (-708, 36.7)), "
            f"so the probability of classes_[1] is {'non-decreasing' if sign > 0 else 'non-increasing'} in the "
            "score everywhere",
        }
        if not isinstance(self.increasing, str):
            self._check_forced_orientation(Xt, Yt, wt)

    def _check_forced_orientation(self, Xt, Yt, wt) -> None:
        """Warn when the labels run against a forced orientation, beyond chance: the fit is then nearly flat."""
        x = Xt[:, 0].double().cpu().numpy()
        y = Yt[:, 0].double().cpu().numpy()
        w = wt.double().cpu().numpy().reshape(-1)
        W = w.sum()
        xc, yc = x - (w @ x) / W, y - (w @ y) / W
        vx, vy = w @ (xc * xc), w @ (yc * yc)
        if W <= 0 or vx <= 0 or vy <= 0:
            return  # one score or one class: no relation to contradict
        r = (w @ (xc * yc)) / math.sqrt(vx * vy)
        n_eff = W * W / (w @ w)  # Kish's effective sample size: weights that are not counts
        t = r * math.sqrt(max(n_eff - 2.0, 0.0) / max(1.0 - r * r, 1e-300))
        forced = bool(self.increasing)
        if (t < -2.0) if forced else (t > 2.0):
            _warn.warn(
                f"increasing={forced} forced {'an increasing' if forced else 'a decreasing'} calibration, but the "
                f"labels {'fall' if forced else 'rise'} as the score rises in these data (weighted correlation "
                f"{r:.2f}, {abs(t):.1f} standard errors from 0): a map of the forced orientation can only fit a "
                f"nearly constant probability. Pass increasing='auto' (the orientation from the data) or "
                f"increasing={not forced}, or check which class the score favours (a decision_function scores "
                "classes_[1]).",
                UserWarning,
            )

    def fit(self, X, y, sample_weight=None):
        """Fit the calibration map of the score X to the labels y by log-loss.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Scores of a base classifier.
        y : array-like of shape (n_samples,)
            Binary labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
            Fitted calibrator.
        """
        return super().fit(X, y, sample_weight)

    def inverse_proba(self, proba):
        """The score whose calibrated probability of ``classes_[1]`` is ``proba``: the exact inverse map.

        Parameters
        ----------
        proba : array-like of shape (n_samples,)
            Probabilities in the open interval (0, 1).

        Returns
        -------
        score : ndarray of shape (n_samples,)
            Scores s with ``predict_log_proba(s)[:, 1] == log(proba)`` (to
            rounding); ``predict_proba(s)[:, 1] == proba`` for proba within
            ``predict_proba``'s range ``[2**-1022, 1 - 2**-53]``.
        """
        check_is_fitted(self)
        p = np.asarray(proba, dtype=np.float64).reshape(-1)
        if not np.all((p > 0) & (p < 1)):
            raise ValueError(
                "proba must lie strictly between 0 and 1 (the calibrated probability reaches 0 and 1 only at "
                f"scores of -inf and +inf); got values in [{p.min():g}, {p.max():g}]."
            )
        logits = (np.log(p) - np.log1p(-p)).reshape(-1, 1)
        return invert_outputs(self, logits, "auto", "inverse_proba")[:, 0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        return tags
