"""JacobianClassifier: JacNet logits with guarantees (monotone, k-Lipschitz with certified radii), log-loss trained.

The network maps X to logits exactly as a regressor maps X to y (the same constraints, depths and
certificates, with the logits in their own units: no output standardisation), and it is fitted by the
log-loss instead of the squared error; ``predict_proba`` is the softmax (sigmoid for two classes) of the
logits.  No temperature is fitted after training: on the training rows it runs away wherever they are
separated (breast cancer, unconstrained: T = 238, test log-loss 1.5), and for a Lipschitz map it would
only rescale k, which ``lipschitz_constant`` already sets.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
from scipy.special import log_expit, log_softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _warn
from ._base import BaseJacobianEstimator
from ._certificate import certified_radius
from ._compat import Interval, StrOptions, _check_sample_weight, _fit_context
from ._docs import _NETWORK_DOC, _SHARED_ATTRS_DOC, _SHARED_PARAMS_DOC, params_doc
from ._inverse import invert_outputs
from ._training import LogLossTarget
from .constraints import REGISTRY
from .exceptions import NonFiniteError
from .integrate.mesh import FAR

CLASSIFIER_CONSTRAINTS = ("none", "lipschitz")  # what a map to logits can use (monotone: monotonic_cst)

# predict_proba's bounds: a probability of exactly 0 or 1 states certainty, and the nearest normal floats
# keep log(p), 1 / p, 1 / (1 - p) and the odds finite (a subnormal floor would overflow 1 / p)
_P_FLOOR = float(np.finfo(np.float64).tiny)  # 2**-1022
_P_CEIL = float(np.nextafter(1.0, 0.0))  # 1 - 2**-53
_FLOAT_MAX = float(np.finfo(np.float64).max)

_EARLY_STOPPING = """    early_stopping : bool or 'auto', default='auto'
        Hold out ``validation_fraction`` of the training data (a split
        stratified by class and seeded by ``random_state``; samples keep
        their weights), stop when its weighted accuracy stops improving, and
        keep the weights of the best validation epoch (MLPClassifier's rule).
        'auto': on for logits without a bound (``constraint='none'``,
        ``monotonic_cst``) on up to 10,000 training rows (when the split
        holds at least 10), off otherwise.  A fit to convergence drives such
        logits towards infinity on separable training rows, and a larger
        ``alpha`` does not stop it (docs/benchmarks_classification.md
        measures both).  A Lipschitz map's logits cannot run off, and its
        margins keep growing after the accuracy has stopped improving
        (early stopping cost certified accuracy on digits), so it is off
        there."""

_ALPHA = """    alpha : float or 'auto', default=1e-4
        L2 penalty on the network weights: ``alpha / (2 * sum(sample_weight))``
        times their squared norm, over the whole training set (so that
        integer weights equal repeated samples); 'auto' is 1e-4.  The value
        used is ``alpha_``."""

_CLASSIFIER_PARAMS_DOC = params_doc(
    _SHARED_PARAMS_DOC,
    drop=("loss", "jacobian_weight"),
    replace={"early_stopping": _EARLY_STOPPING, "alpha": _ALPHA},
)

_CLASSIFIER_ATTRS_DOC = params_doc(
    _SHARED_ATTRS_DOC,
    replace={
        "validation_scores_": """    validation_scores_ : list of float or None
        Weighted accuracy on the validation data at each epoch with
        ``early_stopping``, else None.""",
        "best_validation_score_": """    best_validation_score_ : float or None
        Best validation accuracy with ``early_stopping``, else None.""",
        "y0_": """    y0_ : ndarray of shape (n_logits,)
        Learned logits at the initial point.""",
        "n_targets_": """    n_targets_ : int
        Number of logits: 1 for two classes (the positive class's), else
        ``n_classes``.""",
        "guarantee_": """    guarantee_ : dict
        What ``decision_function`` (the logits) is guaranteed to satisfy,
        as for the regressors (``lipschitz_upper``: the bound k of the
        logit map from X to R^n_logits in the Euclidean norms;
        ``monotonic_cst``: the monotone features), and ``applies_to``;
        ``check_guarantee(X)`` tests it on data.""",
    },
)


class JacobianClassifier(ClassifierMixin, BaseJacobianEstimator):
    __doc__ = f"""Classifier whose logits are a JacNet map: monotone, or k-Lipschitz with certified radii.

    The logits ``decision_function(X)`` are ``y0 + integral from x0 to x of
    J(c) dc`` with a structured Jacobian network ``J``, exactly as
    JacobianRegressor's predictions, trained by the log-loss (cross-entropy)
    like MLPClassifier.  Two classes use one logit (the positive class's),
    more classes one logit each.  The guarantee is the logit map's, in the
    units of X (``guarantee_``, ``check_guarantee``):

    - ``monotonic_cst`` (two classes): the logit, hence the probability of
      ``classes_[1]``, is monotone in the constrained features, exactly,
      everywhere, and free in the others (as HistGradientBoostingClassifier,
      which also refuses monotone constraints with more classes);
    - ``constraint='lipschitz'``: ``||f(a) - f(b)||_2 <= k ||a - b||_2``
      for the vector of logits, so no perturbation of X smaller than
      :meth:`certified_radius` (margin / (sqrt(2) k) between the top two
      logits; ``|logit| / k`` with two classes) changes the predicted class.

    Probabilities are the softmax of the logits (the sigmoid with two
    classes).  For a Lipschitz map, k is therefore also the sharpness of
    the log-loss: scaling k and the logits together changes no class and no
    certified radius, but training differs: a small k makes the log-loss
    nearly linear in the margins (it widens them, as a hinge loss), a large
    k lets it concentrate on the errors (higher accuracy, smaller radii).

    Parameters
    ----------
    constraint : {{'none', 'lipschitz'}}, default='none'
        Structure of the logit map's Jacobian, as in JacobianRegressor:
        'none' is unconstrained, 'lipschitz' bounds it by
        ``lipschitz_constant``.
    lipschitz_constant : float, default=1.0
        The bound k of the logit map for 'lipschitz', in the units of X
        (logits have no unit).  A certified radius r needs a logit margin
        of sqrt(2) k r (k r with two classes); see above for how k shapes
        training.
    monotonic_cst : array-like of int of shape (n_features,), dict or None, default=None
        Partial monotonicity of the positive class's logit (and
        probability), as in HistGradientBoostingClassifier: 1 increasing,
        -1 decreasing, 0 free, per feature (a dict maps feature names to
        constraints).  Two classes only; requires ``constraint='none'``.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the log-loss, multiplying
        ``sample_weight`` ('balanced': inversely proportional to the class
        frequencies), as in sklearn's linear classifiers.
{_NETWORK_DOC.format(hidden="(64,)", auto="'tanh'", why="")}{_CLASSIFIER_PARAMS_DOC}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
{_CLASSIFIER_ATTRS_DOC}

    See Also
    --------
    JacobianRegressor : the same maps for regression.
    JacobianCalibrator : a strictly increasing calibration map of a score.
    sklearn.neural_network.MLPClassifier : the unstructured neural classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from skjacnet import JacobianClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 2))
    >>> y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    >>> clf = JacobianClassifier(constraint="lipschitz", random_state=0).fit(X, y)
    >>> radius = clf.certified_radius(X)  # no perturbation smaller than this changes clf.predict
    >>> bool((radius >= 0).all())
    True
    """

    _standardize_targets = False
    _least_squares_start = False  # labels are not logits: the linear term starts at 0

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseJacobianEstimator._parameter_constraints.items()
            if k not in ("epsilon", "loss", "jacobian_weight")
        },
        "constraint": [StrOptions(set(CLASSIFIER_CONSTRAINTS))],
        "lipschitz_constant": [Interval(Real, 0, None, closed="neither")],
        "monotonic_cst": ["array-like", dict, None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        constraint="none",
        lipschitz_constant=1.0,
        monotonic_cst=None,
        class_weight=None,
        hidden_layer_sizes=(64,),
        activation="auto",
        n_ridges="auto",
        n_layers=1,
        method="quadrature",
        rtol=1e-4,
        atol=1e-6,
        tol_annealing=False,
        adjoint=False,
        solver="auto",
        max_iter="auto",
        tol="auto",
        n_iter_no_change="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        learning_rate="auto",
        learning_rate_init=0.01,
        batch_size="auto",
        alpha=1e-4,
        initial_point="mean",
        standardize=True,
        warm_start=False,
        random_state=None,
        device="cpu",
        dtype="float64",
        verbose=False,
    ):
        self.constraint = constraint
        self.lipschitz_constant = lipschitz_constant
        self.monotonic_cst = monotonic_cst
        self.class_weight = class_weight
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.n_ridges = n_ridges
        self.n_layers = n_layers
        self.method = method
        self.rtol = rtol
        self.atol = atol
        self.tol_annealing = tol_annealing
        self.adjoint = adjoint
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.alpha = alpha
        self.initial_point = initial_point
        self.standardize = standardize
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    # --- hooks ------------------------------------------------------------------
    def _structure(self) -> str:
        return self.constraint

    def _lipschitz_k(self) -> float | None:
        return float(self.lipschitz_constant) if REGISTRY[self.constraint].takes_lipschitz_constant else None

    def _auto_activation(self) -> str:
        return REGISTRY[self.constraint].auto_activation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the logit network by the log-loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (multiplied by ``class_weight``); samples
            with weight 0 are ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._guarded(self._fit, X, y, sample_weight, None)

    def _validate_fit_data(self, X, y, sample_weight, jacobian=None, continuing=None):
        warm = bool(self.warm_start) and hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=not warm, dtype=np.float64)
        check_classification_targets(y)
        classes, index = np.unique(y, return_inverse=True)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True needs the classes of the previous fit ({self.classes_.tolist()}), got "
                f"{classes.tolist()}; set warm_start=False to fit new classes."
            )
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if self.class_weight is not None:
            w = w * compute_sample_weight(self.class_weight, y)
        keep = w > 0
        present = np.unique(index[keep])
        if present.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes with a positive weight; got "
                f"{present.size} class ({classes[present].tolist()})."
            )
        if self.monotonic_cst is not None and classes.size > 2:
            raise ValueError(
                f"monotonic_cst constrains the logit of a binary classifier, but y has {classes.size} classes "
                "(as HistGradientBoostingClassifier, monotone constraints are not supported for multiclass "
                "classification): fit one binary classifier per class, or drop monotonic_cst."
            )
        self.classes_ = classes
        Y = index[:, None].astype(np.float64) if classes.size == 2 else np.eye(classes.size)[index]
        return X[keep], Y[keep], w[keep], None, classes.size == 2, warm

    def _training_target(self, Ys, J, sc):
        return Ys, LogLossTarget()

    def _early_stopping_on(self, n_rows: int, observed_jacobian: bool = False, noise_alpha: bool = False) -> bool:
        if self.early_stopping == "auto" and self._lipschitz_k() is not None:
            return False  # bounded logits cannot run off; their margins keep growing
        return super()._early_stopping_on(n_rows, observed_jacobian, noise_alpha)

    def _stratify(self, Y: np.ndarray) -> np.ndarray:
        labels = Y[:, 0] if Y.shape[1] == 1 else Y.argmax(1)
        counts = np.unique(labels, return_counts=True)[1]
        return labels if counts.min() >= 2 else None  # a class of one sample cannot be split

    def _finish_fit(self, model, Xt, Yt, wt) -> None:
        self.guarantee_ = {
            **self.guarantee_,
            "applies_to": "decision_function (the logits); predict_proba is their softmax (with two classes "
            "the sigmoid, a strictly increasing function of the logit)",
        }

    # --- predict ------------------------------------------------------------------
    def decision_function(self, X):
        """The logits: the map the guarantee is about.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            With two classes, the logit of ``classes_[1]`` (positive: that
            class is predicted); else one logit per class.
        """
        Z = self._predict_values(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict(self, X):
        """The class of the largest logit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        Z = self._predict_values(X)
        index = (Z[:, 0] > 0).astype(int) if Z.shape[1] == 1 else Z.argmax(1)
        return self.classes_[index]

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed from the logits in log space.

        ``log_expit`` of the logit (two classes) or ``log_softmax`` of the
        logits: finite, and strictly monotone in a logit far beyond where
        ``predict_proba`` reaches its bounds (two classes: for a logit below
        about 708 for ``classes_[1]``, and down to any finite one).  Kept
        within ``[-1.8e308, -2**-1022]``: never 0, which would be a
        probability of exactly 1, and never -inf.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of the classes, in the order of ``classes_``:
            finite and negative.
        """
        Z = self._predict_values(X)
        if Z.shape[1] == 1:
            L = np.column_stack([log_expit(-Z[:, 0]), log_expit(Z[:, 0])])
        else:
            L = log_softmax(Z, axis=1)  # -inf only if two logits differ by more than float64 holds
        return np.clip(L, -_FLOAT_MAX, -_P_FLOOR)

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits (two classes: the sigmoid of the logit), never 0 or 1.

        ``exp(predict_log_proba(X))`` clipped to ``[2**-1022, 1 - 2**-53]``:
        the smallest normal float64 and the largest float64 below 1.  A
        probability of exactly 0 or 1 states certainty (an infinite log-loss
        the first time it is wrong); within these bounds ``log(p)``, ``1 / p``,
        ``1 / (1 - p)`` and the odds stay finite.  With two classes the
        probability of ``classes_[1]`` is non-decreasing in the logit z and
        strictly increasing as far as float64 resolves it: for z in about
        (-708, 36.7); beyond 36.7, ``1 - p`` is below float64's spacing
        below 1 and p stays at its ceiling (below -708 at its floor).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        return np.clip(np.exp(self.predict_log_proba(X)), _P_FLOOR, _P_CEIL)

    def certified_radius(self, X):
        """The l2 radius around each point within which the predicted class provably cannot change.

        For a k-Lipschitz logit map f (``guarantee_['lipschitz_upper']``, Euclidean norms): with two
        classes the logit moves by at most ``k ||delta||``, so the class holds for
        ``||delta|| < |f(x)| / k``; with more, every difference ``f_i - f_j`` of two logits is
        ``sqrt(2) k``-Lipschitz (``||e_i - e_j|| = sqrt(2)``), so the top class holds for
        ``||delta|| < (f_top - f_second) / (sqrt(2) k)``.  Two roundings are subtracted, so the radius holds
        for the class ``predict`` computes at any distance from the data, in float32 and float64: the
        logits' own, and the rounding that grows with the input (standardising X, casting it to ``dtype``,
        the network's sums), which decides the class far from the data where the logits are small and the
        numbers inside the network huge.  They cost about 1e-12 of the radius in float64; in float32 an
        absolute amount of about 1e-3 of X's scale at depth 4 (a median 0.5% of the radius near the data, all
        of it at points whose margin is near 0), less at depth 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points to certify.

        Returns
        -------
        radius : ndarray of shape (n_samples,)
            Certified radius in the units of X (0 where the top two logits tie).
        """
        check_is_fitted(self)
        k = self.guarantee_["lipschitz_upper"]
        if k is None:
            raise ValueError(
                "certified_radius needs a Lipschitz logit map, but this classifier's logits have no bound "
                f"(guarantee_: {self.guarantee_['property']!r}); fit with constraint='lipschitz' and a "
                "lipschitz_constant."
            )
        return certified_radius(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


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
