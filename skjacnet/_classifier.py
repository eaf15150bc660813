"""JacobianClassifier: JacNet logits with guarantees (monotone, k-Lipschitz with certified radii), log-loss trained.

The network maps X to logits exactly as a regressor maps X to y (the same constraints, depths and
certificates, with the logits in their own units: no output standardisation), and it is fitted by the
log-loss instead of the squared error; ``predict_proba`` is the softmax (sigmoid for two classes) of the
logits.  No temperature is fitted after training: on the training rows it runs away wherever they are
separated (breast cancer, unconstrained: T = 238, test log-loss 1.5), and for a Lipschitz map it would
only rescale k, which ``lipschitz_constant`` already sets.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseJacobianEstimator
from ._certificate import certified_radius
from ._compat import Interval, StrOptions, _check_sample_weight, _fit_context
from ._docs import _CLASSIFIER_ATTRS_DOC, _CLASSIFIER_PARAMS_DOC, _NETWORK_DOC
from ._training import LogLossTarget
from .constraints import REGISTRY

CLASSIFIER_CONSTRAINTS = ("none", "lipschitz")  # what a map to logits can use (monotone: monotonic_cst)

# predict_proba's bounds: a probability of exactly 0 or 1 states certainty, and the nearest normal floats
# keep log(p), 1 / p, 1 / (1 - p) and the odds finite (a subnormal floor would overflow 1 / p)
_P_FLOOR = float(np.finfo(np.float64).tiny)  # 2**-1022
_P_CEIL = float(np.nextafter(1.0, 0.0))  # 1 - 2**-53
_FLOAT_MAX = float(np.finfo(np.float64).max)


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
    convexity_cst : array-like of int of shape (n_features,), dict or None, default=None
        Shape of the positive class's logit per feature: 1 convex, -1
        concave, 0 free (a dict maps feature names to shapes), exactly and
        everywhere, as JacobianRegressor's ``convexity_cst`` (combinable with
        ``monotonic_cst``).  Two classes only; requires ``constraint='none'``.
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
        "convexity_cst": ["array-like", dict, None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        constraint="none",
        lipschitz_constant=1.0,
        monotonic_cst=None,
        convexity_cst=None,
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
        self.convexity_cst = convexity_cst
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
        for option in ("monotonic_cst", "convexity_cst"):
            if getattr(self, option, None) is not None and classes.size > 2:
                raise ValueError(
                    f"{option} constrains the logit of a binary classifier, but y has {classes.size} classes "
                    "(as HistGradientBoostingClassifier, per-feature constraints are not supported for multiclass "
                    f"classification): fit one binary classifier per class, or drop {option}."
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
