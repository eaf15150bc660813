"""The estimators' shared base: parameters, the order of fit (validate, resolve, build, train, publish), predict."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _warn
from ._build import DTYPES, ModelSpec
from ._certificate import check_guarantee
from ._compat import Interval, StrOptions
from ._fitting import FitSteps, _pad
from ._persist import from_state, restore_device, to_state
from ._plan import Scaling, plan_scaling, plan_spec
from ._resolve import resolve
from ._runtime import thread_policy, torch_threads
from ._training import LOSSES, SCHEDULES, SOLVERS, ValueTarget
from .constraints.base import AUTO_ALPHA
from .constraints.mlp import ACTIVATIONS
from .exceptions import NonFiniteError
from .integrate import METHODS

CHUNK = 1 << 16  # rows per predict/inverse chunk: bounded memory on any input size
# early_stopping='auto': on for fits of up to this many rows whose validation split holds this many
AUTO_EARLY_STOPPING_ROWS = 10_000
AUTO_EARLY_STOPPING_MIN_VALIDATION = 10


class BaseJacobianEstimator(FitSteps, BaseEstimator):
    """Fit/predict skeleton shared by the JacNet estimators (not public): regressors and the classifier.

    Subclasses say what the network is trained on (``_validate_fit_data``, ``_training_target``) and
    whether its outputs are standardised (``_standardize_targets``); everything else is shared.
    """

    _standardize_targets = True  # False: the network's outputs are used as they are (a classifier's logits)
    _least_squares_start = True  # a fresh network's linear term starts at the least-squares fit of the values

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"auto", *ACTIVATIONS})],
        "n_ridges": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions(METHODS)],  # live: a registered integrator is accepted
        "rtol": [Interval(Real, 0, None, closed="neither")],
        "atol": [Interval(Real, 0, None, closed="neither")],
        "tol_annealing": ["boolean"],
        "adjoint": ["boolean"],
        "loss": [StrOptions(set(LOSSES))],
        "jacobian_weight": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "tol": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "learning_rate": [StrOptions({"auto", *SCHEDULES})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "alpha": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "initial_point": [StrOptions({"mean"}), "array-like", Real],
        "standardize": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "dtype": [StrOptions(set(DTYPES))],
        "verbose": ["verbose"],
    }

    # --- hooks for subclasses ----------------------------------------------
    def _structure(self) -> str:
        raise NotImplementedError

    def _lipschitz_k(self) -> float | None:
        return None

    def _auto_activation(self) -> str:
        raise NotImplementedError

    def _resolved_activation(self) -> str:
        return self._auto_activation() if self.activation == "auto" else self.activation

    def _validate_fit_data(self, X, y, sample_weight, jacobian=None, continuing=None):
        """Validated X, Y (2-D, what the network is fitted to), weights, Jacobians (rows of weight 0 dropped),
        whether y was 1-D, and whether to continue the previous network (``continuing``: partial_fit's
        answer, else warm_start's)."""
        raise NotImplementedError

    def _training_target(self, Ys: np.ndarray, J: np.ndarray | None, sc: Scaling) -> tuple[np.ndarray, ValueTarget]:
        """What train() fits (the standardised targets, packed as the target reads them) and its loss."""
        return Ys, ValueTarget()

    def _early_stopping_on(self, n_rows: int, observed_jacobian: bool = False, noise_alpha: bool = False) -> bool:
        """Whether this fit holds out a validation split (``early_stopping``, resolved for these rows).

        'auto': on for up to AUTO_EARLY_STOPPING_ROWS rows whose split holds AUTO_EARLY_STOPPING_MIN_VALIDATION,
        off for fits to observed Jacobians (the validation score reads the values only) and where alpha is set
        from the noise (``_noise_alpha``: that penalty regularises instead).
        """
        if self.early_stopping != "auto":
            return bool(self.early_stopping)
        if observed_jacobian or noise_alpha:
            return False
        enough = n_rows * self.validation_fraction >= AUTO_EARLY_STOPPING_MIN_VALIDATION
        return enough and n_rows <= AUTO_EARLY_STOPPING_ROWS

    def _noise_alpha(self, X, Y, w, J, continues: bool, partial: bool) -> bool:
        """Whether alpha='auto' is set from the noise in this fit: a fresh fit (``continues``: the previous network
        is trained on) of up to AUTO_EARLY_STOPPING_ROWS rows, values only, of a structure that asks for it
        (``Constraint.noise_alpha``: the 1-D one-layer regressions).
        """
        if self.alpha != "auto" or partial or continues or J is not None or X.shape[0] > AUTO_EARLY_STOPPING_ROWS:
            return False
        try:
            spec = plan_spec(self, X.shape[1], Y.shape[1], plan_scaling(self, X, Y, w, J))
        except ValueError:  # a bad parameter or shape: resolve's own checks report it, in their order
            return False
        return spec.constraint.noise_alpha(spec)

    def _alpha(self, warm: bool) -> float:
        """alpha resolved before any pilot fit: the user's; 'auto': AUTO_ALPHA, or the alpha_ of the fit continued."""
        if self.alpha != "auto":
            return float(self.alpha)
        return float(getattr(self, "alpha_", AUTO_ALPHA)) if warm else AUTO_ALPHA

    def _stratify(self, Y: np.ndarray) -> np.ndarray | None:
        """Labels the validation split is stratified by (None: a shuffled split, as MLPRegressor)."""
        return None

    def _finish_fit(self, model: torch.nn.Module, Xt: torch.Tensor, Yt: torch.Tensor, wt: torch.Tensor) -> None:
        """Fitted state that needs the trained network and the training rows (after ``_publish``)."""

    def _guarded(self, fit, *args, partial: bool = False):
        """Run a (re)fit; a failed one leaves the estimator exactly as it was, never half-updated."""
        before = dict(self.__dict__)
        if "model_" in before and (partial or self.warm_start):  # such fits train the network in place
            before["model_"] = copy.deepcopy(self.model_)
            before.pop("_partial", None)  # its optimiser holds the network trained in place
        try:
            return fit(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, sample_weight, jacobian, partial=False):
        # validate -> resolve -> build -> train -> publish: only _publish writes fitted state (validate_data sets
        # the feature counts and names, as in every sklearn estimator; fit() rolls everything back on failure)
        continuing = hasattr(self, "model_") if partial else None
        X, Y, w, J, y_1d, warm = self._validate_fit_data(X, y, sample_weight, jacobian, continuing)
        run = resolve(self, X, Y, w, J, warm=warm, partial=partial)
        if run.plan.restarted:  # (partial_fit refuses a changed network in resolve)
            _warn.warn(
                f"warm_start=True, but {', '.join(run.plan.restarted)} changed since the previous fit: the network "
                "was rebuilt and trained from scratch (a warm start only continues a network of the same "
                "structure, so that guarantee_ describes what predict computes).",
                UserWarning,
            )
        with torch_threads(thread_policy(run.X.shape[0])):
            model, data = self._build(run, first=not continuing)
            model, hist, alpha = self._train(run, model, data)
        if partial:  # the caller decides when to stop: only a divergence is worth a warning
            if hist.diverged is not None:
                _warn.warn(hist.diverged, ConvergenceWarning)
        else:
            self._report_training(hist, model, run)
        self._publish(run, model, hist, y_1d, alpha, data)
        return self

    @property
    def _scaling(self) -> Scaling:
        return Scaling(self._x_mean, self._x_scale, self._y_mean, self._y_scale)

    def _path_dependence(self, Xs: torch.Tensor) -> float:
        """Mean path-dependence of the standardised predictions (0 when conservative)."""
        if not hasattr(self.model_, "path_dependence"):
            return 0.0  # ridge models are conservative by construction
        with torch.no_grad(), torch_threads(thread_policy(Xs.shape[0])):
            return float(self.model_.path_dependence(Xs).mean())

    def path_dependence(self, X) -> np.ndarray:
        """How much each prediction depends on the integration path.

        The absolute difference between f(x) along the straight path from x0
        and f(x) along an L-shaped path (first half of the coordinates
        first), in the units of y.
        Exactly 0 for the conservative models (every structured constraint,
        1-D fits); for the unconstrained n-D model it measures how far the
        learned field is from being a Jacobian (the paper's section 4.5).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        residual : ndarray of shape (n_samples, n_targets)
            Path dependence of each prediction.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if not hasattr(self.model_, "path_dependence"):
            return np.zeros((X.shape[0], self.n_targets_))
        return self._y_scale * self._transform_rows((X - self._x_mean) / self._x_scale, self.model_.path_dependence)

    def check_guarantee(self, X, *, n_pairs: int = 2000, random_state=None) -> dict:
        """Empirically check ``guarantee_`` on pairs of points drawn from X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points to draw pairs from (random pairs and near pairs).
        n_pairs : int, default=2000
            Number of pairs.
        random_state : int, RandomState instance or None, default=None
            Seeds the pairing.

        Returns
        -------
        report : dict
            ``bound`` (k, or the expansion constant c), ``worst_ratio``
            observed for ||f(a) - f(b)|| / ||a - b||, ``pairs`` and ``holds``
            (None for ``constraint='none'``, which claims nothing).
            For 'complex' fits ``worst_ratio`` is the largest relative
            Cauchy-Riemann residual of ``predict`` by central finite
            differences at ``n_pairs`` points of X (``holds``: <= 1e-6 in
            float64, 1e-3 in float32); for submersions (``jacobian_lower``)
            it is the smallest singular value of the exact Jacobian there.
        """
        check_is_fitted(self)
        if isinstance(n_pairs, bool):  # an Integral to check_scalar
            raise TypeError(f"n_pairs must be an int, got {n_pairs!r}.")
        check_scalar(n_pairs, "n_pairs", Integral, min_val=1)
        X = validate_data(self, X, reset=False, dtype=np.float64)  # names checked here, once
        with warnings.catch_warnings():  # the pairs drawn from the validated X are arrays without names
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
            return check_guarantee(self, X, n_pairs=n_pairs, random_state=random_state)

    def _pad(self, Xs: torch.Tensor) -> torch.Tensor:
        return _pad(self.model_, Xs)

    # --- predict ----------------------------------------------------------
    def _transform_rows(self, A: np.ndarray, fn, row_shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Apply fn chunk by chunk, on the model's device and in its dtype; float64 numpy out.

        ``row_shape``: the shape of one output row (default ``(n_targets,)``), for empty inputs.
        """
        model = self.model_
        device, dtype = model.x0.device, model.x0.dtype
        out = []
        with torch_threads(thread_policy(A.shape[0])), torch.no_grad():
            for start in range(0, A.shape[0], CHUNK):
                chunk = torch.as_tensor(A[start : start + CHUNK], dtype=dtype, device=device)
                out.append(fn(chunk).cpu().numpy().astype(np.float64, copy=False))
        return np.concatenate(out) if out else np.empty((0, *(row_shape or (self.n_targets_,))))

    def _standardized_inputs(self, X) -> np.ndarray:
        """X validated against the fit (feature count and names) and standardised as the network sees it."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return (X - self._x_mean) / self._x_scale

    def _predict_std(self, Xs: torch.Tensor) -> torch.Tensor:
        return self.model_(self._pad(Xs))

    def _predict_values(self, X) -> np.ndarray:
        """The fitted function at X, (n_samples, n_targets), in the units of y: what the guarantees are about."""
        Ys = self._transform_rows(self._standardized_inputs(X), self._predict_std)
        Y = self._y_mean + self._y_scale * Ys
        if not np.all(np.isfinite(Y)):
            raise NonFiniteError("The prediction is not finite; inputs may be too extreme for this model.")
        return Y

    def jacobian(self, X):
        """The exact Jacobian of the function ``predict`` computes, dy/dX, in the units of X and y.

        For JacobianClassifier, the Jacobian of ``decision_function`` (the logits).

        Closed form where the network's derivative is exact for its integration rule (every conservative
        structure with ``method='quadrature'``: the derivative of the frozen mesh's interpolant, the one
        the guarantees are about); otherwise (the path-integrated 'nonconservative' and 'complex' n-D models,
        the ODE methods) automatic differentiation through ``predict``'s own computation, one backward pass per
        target.  Either way it is the derivative of the computed function, not of the learned field: where
        a path-integrated field is not curl-free the two differ.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        J : ndarray of shape (n_samples, n_targets, n_features), or (n_samples, n_features)
            ``J[i, t, j] = d predict(X)[i, t] / d X[i, j]``; when ``y`` was 1-D in ``fit`` (as ``predict``
            returns 1-D), the gradient of each prediction, of shape (n_samples, n_features).
        """
        Xs = self._standardized_inputs(X)
        d, m = self.n_features_in_, self.n_targets_
        model = self.model_
        exact = model.jacobian_is_exact()

        def fn(xs: torch.Tensor) -> torch.Tensor:
            if exact:
                return model.jacobian(self._pad(xs))[:, :m, :d]
            with torch.enable_grad():  # predict's rows are independent: the gradient of a column sum is per row
                xs = xs.clone().requires_grad_(True)
                ys = self._predict_std(xs)
                rows = [torch.autograd.grad(ys[:, t].sum(), xs, retain_graph=t < m - 1)[0] for t in range(m)]
            return torch.stack(rows, dim=1)

        Js = self._transform_rows(Xs, fn, row_shape=(m, d))
        J = self._y_scale[None, :, None] * Js / self._x_scale[None, None, :]
        if not np.all(np.isfinite(J)):
            raise NonFiniteError("The Jacobian is not finite; inputs may be too extreme for this model.")
        return J[:, 0, :] if self._y_1d else J

    def __getstate__(self):
        # the fitted network travels as numpy arrays: device-free and skops-friendly
        state = super().__getstate__()
        if "_partial" in state:  # the Adam moments of partial_fit hold live tensors: a loaded copy starts afresh
            state = dict(state)
            state["_partial"] = None
        if "model_" in state:
            state = dict(state)
            state["model_"] = to_state(state["model_"])
        if "_spec" in state:
            state["_spec"] = state["_spec"].to_state()
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), dict):
            state = dict(state)
            state["model_"] = from_state(state["model_"], restore_device(state.get("device", "cpu")))
        if isinstance(state.get("_spec"), dict):
            state = dict(state)
            state["_spec"] = ModelSpec.from_state(state["_spec"])
        super().__setstate__(state)
        if "model_" in state:  # the fitted path (_path), not the parameter set_params may have changed since
            self._attach_path(self.model_, self._scaling, state.get("_path", state.get("path", "linear")))
