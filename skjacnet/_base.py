"""Shared estimator machinery: parameters, fit, scaling, predict, persistence."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _warn
from ._build import DTYPES, ModelSpec, auto_orientation, build_model
from ._certificate import check_guarantee, guarantee
from ._checks import (
    check_hidden,
    check_initial_point,
    check_monotonic_cst,
    check_ode_tolerances,
    check_path_options,
    check_shapes,
)
from ._complex import HolomorphicJacobianNet
from ._full import FullJacobianNet, UserPath, check_path
from ._persist import from_state, restore_device, to_state
from ._runtime import resolve_device, thread_policy, torch_threads
from ._training import LOSSES, SOLVERS, Stopping, train
from .exceptions import NonFiniteError
from .integrate import ODE_METHODS
from .nn import ACTIVATIONS

CHUNK = 1 << 16  # rows per predict/inverse chunk: bounded memory on any input size
PATH_CHECK_ROWS = 512  # training rows used for path_dependence_
# solver='auto': full-batch L-BFGS for the models whose full batch is cheap (see _auto_solver)
LBFGS_CELLS = 1_000_000  # ridge/mesh models: rows x max(features, targets); the fit adds ~1.2 KB a cell
LBFGS_ROWS = 1000  # 'complex' (a path-integrated network: memory per row grows with its panels)
PATH_WARN = 0.1  # warn when bending the path moves predictions by 10% of y's spread


def _weighted_moments(A: np.ndarray, w: np.ndarray, isotropic: bool) -> tuple[np.ndarray, np.ndarray]:
    mean = np.average(A, axis=0, weights=w)
    # std as peak * rms(centred / peak): no overflow for values near the float64 limit
    peak = np.max(np.abs(A - mean), axis=0)
    safe = np.where(peak > 0, peak, 1.0)
    scale = safe * np.sqrt(np.average(((A - mean) / safe) ** 2, axis=0, weights=w))
    if isotropic:
        # one scale for all columns keeps Euclidean norms (Lipschitz); the degenerate-spread
        # test must apply to the pooled scale once, or columns would end up scaled differently
        top = scale.max()
        pooled = np.sqrt(np.mean((scale / top) ** 2)) * top if top > 0 else 0.0
        degenerate = not pooled > 1e-12 * (1.0 + np.abs(mean).max())
        return mean, np.full_like(scale, 1.0 if degenerate else pooled)
    scale[~(scale > 1e-12 * (1.0 + np.abs(mean)))] = 1.0
    return mean, scale


class BaseJacobianRegressor(RegressorMixin, BaseEstimator):
    """Fit/predict skeleton shared by the JacNet estimators (not public)."""

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "n_ridges": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"quadrature", *ODE_METHODS})],
        "rtol": [Interval(Real, 0, None, closed="neither")],
        "atol": [Interval(Real, 0, None, closed="neither")],
        "tol_annealing": ["boolean"],
        "adjoint": ["boolean"],
        "loss": [StrOptions(set(LOSSES))],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
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

    def _orientation(self, Xs: np.ndarray, Ys: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
        return auto_orientation(Xs, Ys, w, size)

    # --- fit ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the Jacobian network to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; samples with weight 0 are ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        before = dict(self.__dict__)
        if self.warm_start and "model_" in before:  # a warm fit trains the network in place
            before["model_"] = copy.deepcopy(self.model_)
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:
            # a failed (re)fit leaves the estimator exactly as it was, never half-updated
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _auto_solver(self, n_rows: int, n_in: int, n_out: int) -> str:
        """solver='auto': full-batch L-BFGS wherever its full batch fits in memory, except for the
        unconstrained n-D network.

        The full Jacobian network (d * m outputs, integrated along paths) interpolates noise when
        optimised to convergence: L-BFGS scored R^2 -1.5 on load_diabetes (Adam 0.16) and -1.5 on a
        noisy 3-D target (Adam 0.30).  The ridge/mesh models were equal or better with L-BFGS and
        3-20x faster from 1000 to 100 000 rows (Friedman #1 Lipschitz at 10 000 rows: 5.5 s vs 29 s,
        R^2 0.957 both; 1-D at 100 000: 2.4 s vs 45-56 s); only memory bounds the full batch.
        """
        if self.batch_size != "auto":  # mini-batches asked for: L-BFGS would ignore them
            return "adam"
        if self._structure() == "none" and n_in > 1 and self._monotonic is None:
            return "adam"
        if self._structure() == "complex":
            return "lbfgs" if n_rows <= LBFGS_ROWS else "adam"
        return "lbfgs" if n_rows * max(n_in, n_out) <= LBFGS_CELLS else "adam"

    def _fit(self, X, y, sample_weight):
        hidden = check_hidden(self)
        warm = bool(self.warm_start) and hasattr(self, "model_")
        # reset=False on a warm start: the feature count (and names) must match the previous fit
        X, y = validate_data(self, X, y, reset=not warm, multi_output=True, y_numeric=True, dtype=np.float64)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if Y.shape[1] == 0:
            raise ValueError("y has 0 targets; at least one target is required.")
        keep = w > 0
        X, Y, w = X[keep], Y[keep], w[keep]
        n_rows = X.shape[0]  # before the validation split: 'auto' looks at the data given
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        # drawn first: fits without early stopping do not depend on the split's draws
        gen = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        held_out = None
        if self.early_stopping:
            X, Y, w, held_out = self._validation_split(X, Y, w, rng)
        if warm and Y.shape[1] != self.n_targets_:
            raise ValueError(
                f"warm_start=True needs the same number of targets as the previous fit ({self.n_targets_}), "
                f"got {Y.shape[1]}."
            )
        check_shapes(self, X.shape[1], Y.shape[1])
        check_ode_tolerances(self)
        check_path_options(self, X.shape[1], Y.shape[1])
        if not warm:  # a warm start keeps the previous scaling: the network lives in those units
            self._set_scaling(X, Y, w)
        Xs = (X - self._x_mean) / self._x_scale
        Ys = (Y - self._y_mean) / self._y_scale
        n_in, n_out = X.shape[1], Y.shape[1]
        self._monotonic = check_monotonic_cst(self, n_in)
        self.solver_ = self._auto_solver(n_rows, n_in, n_out) if self.solver == "auto" else self.solver
        previous = (self.loss_curve_, self.tol_curve_, self.n_iter_) if warm else ([], [], 0)
        with torch_threads(thread_policy(X.shape[0])):
            if warm:
                self.model_ = self.model_.to(device)
            else:
                self.model_ = self._build_model(n_in, n_out, hidden, gen, Xs, Ys, w).to(device)
                self._set_anchors(Xs, w, rng)
            self._attach_path()
            self.model_.integration.method = self.method
            self.model_.integration.rtol, self.model_.integration.atol = self.rtol, self.atol
            self.model_.integration.adjoint = self.adjoint
            batch = min(200, X.shape[0]) if self.batch_size == "auto" else min(self.batch_size, X.shape[0])
            to = dict(dtype=self.model_.x0.dtype, device=device)
            Xt = self._pad(torch.as_tensor(Xs, **to))
            stopping = Stopping(tol=float(self.tol), n_iter_no_change=int(self.n_iter_no_change))
            if held_out is not None:
                Xv, Yv, wv = held_out
                stopping.validation = (
                    self._pad(torch.as_tensor((Xv - self._x_mean) / self._x_scale, **to)),
                    torch.as_tensor((Yv - self._y_mean) / self._y_scale, **to),
                    torch.as_tensor(wv, **to),
                )
            hist = train(
                self.model_,
                Xt,
                torch.as_tensor(Ys, **to),
                torch.as_tensor(w, **to),
                solver=self.solver_,
                max_iter=self.max_iter,
                learning_rate=self.learning_rate_init,
                batch_size=batch,
                alpha=self.alpha,
                loss=self.loss,
                gen=gen,
                tol_annealing=self.tol_annealing,
                stopping=stopping,
                verbose=int(self.verbose),
            )
            self.model_.freeze(Xt)
        if not hist.converged:
            what = "validation score" if self.early_stopping else "training loss"
            _warn.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization hasn't converged yet: "
                f"the {what} had not stopped improving by tol={self.tol} (n_iter_no_change="
                f"{self.n_iter_no_change}). Increase max_iter or tol.",
                ConvergenceWarning,
            )
        scores = getattr(self, "validation_scores_", None) if warm else None
        self.loss_curve_ = previous[0] + hist.loss_curve
        self.tol_curve_ = previous[1] + hist.tol_curve
        self.n_iter_ = previous[2] + hist.n_iter
        self.best_loss_ = hist.best_loss
        self.validation_scores_ = None if hist.validation_scores is None else (scores or []) + hist.validation_scores
        self.best_validation_score_ = hist.best_validation_score
        self.n_targets_ = n_out
        self._y_1d = y.ndim == 1
        self.x0_ = self._x_mean.copy()
        with torch.no_grad():
            y0 = self.model_.y0[:n_out].detach().cpu().numpy()
        self.y0_ = self._y_mean + self._y_scale * y0
        anchors = getattr(self.model_, "anchors", None)
        if anchors is not None:
            self.anchors_ = self._x_mean + self._x_scale * anchors.detach().cpu().numpy()
        elif hasattr(self, "anchors_"):  # a refit without anchors
            del self.anchors_
        self.guarantee_ = guarantee(self)
        self.path_dependence_ = self._path_dependence(Xt[:PATH_CHECK_ROWS])
        if self.path_dependence_ > PATH_WARN:
            _warn.warn(
                f"The learned Jacobian field is far from conservative: predictions change by "
                f"{self.path_dependence_:.2g} (relative to y's spread) when the integration path is bent. "
                "This model defines its function through its chosen path (straight, or the user's, from x0 or "
                "the nearest anchor) only; for a function whose Jacobian is the learned one use a conservative "
                "structure: constraint='lipschitz', 'positive_definite', 'kronecker' or monotonic_cst.",
                UserWarning,
            )
        return self

    def _validation_split(
        self, X: np.ndarray, Y: np.ndarray, w: np.ndarray, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Hold out validation_fraction of the rows (shuffled, no stratification), seeded by rng."""
        rows, val = train_test_split(np.arange(X.shape[0]), test_size=self.validation_fraction, random_state=rng)
        if val.size < 2:
            raise ValueError(
                f"The validation set is too small ({val.size} rows of {X.shape[0]} with early_stopping=True). "
                "Increase 'validation_fraction' or the size of your dataset."
            )
        return X[rows], Y[rows], w[rows], (X[val], Y[val], w[val])

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
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return check_guarantee(self, X, n_pairs=n_pairs, random_state=random_state)

    def _set_scaling(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray) -> None:
        """Shift X to the initial point and y to its mean; scale both unless standardize=False."""
        # one scale for all columns keeps Euclidean norms (Lipschitz) and complex linearity (re, im pairs)
        isotropic = self._structure() in ("lipschitz", "complex")
        self._x_mean, self._x_scale = _weighted_moments(X, w, isotropic=isotropic)
        self._y_mean, self._y_scale = _weighted_moments(Y, w, isotropic=isotropic)
        if not isinstance(self.initial_point, str):  # the shift of X is the initial point x0
            self._x_mean = check_initial_point(self, X.shape[1])
        if not self.standardize:
            self._x_scale, self._y_scale = np.ones_like(self._x_scale), np.ones_like(self._y_scale)

    def _set_anchors(self, Xs: np.ndarray, w: np.ndarray, rng: np.random.RandomState) -> None:
        """k-means centres of the standardised training inputs as the anchors of the path integrals."""
        k = min(getattr(self, "n_anchors", 1), len(Xs))
        if k <= 1 or not isinstance(self.model_, FullJacobianNet):
            return
        km = KMeans(n_clusters=k, n_init=1, random_state=rng.randint(np.iinfo(np.int32).max))
        centres = km.fit(Xs, sample_weight=w).cluster_centers_
        self.model_.set_anchors(torch.as_tensor(centres))

    def _attach_path(self) -> None:
        """Give the unconstrained model the user's path (the model's saved state never holds code)."""
        path = getattr(self, "path", "linear")
        if not isinstance(self.model_, FullJacobianNet) or isinstance(self.model_, HolomorphicJacobianNet):
            return
        if path == "linear":
            self.model_.path = None
            return
        to = dict(dtype=self.model_.x0.dtype, device=self.model_.x0.device)
        user = UserPath(path, torch.as_tensor(self._x_mean, **to), torch.as_tensor(self._x_scale, **to))
        A = self.model_.x0.expand(4, -1)
        check_path(user, A, A + torch.linspace(-1, 1, 4, **to)[:, None])
        self.model_.path = user

    def _pad(self, Xs: torch.Tensor) -> torch.Tensor:
        """Zero-pad inputs to the model's square size (non-square invertible fits)."""
        extra = self._model_in - Xs.shape[1]
        return torch.nn.functional.pad(Xs, (0, extra)) if extra > 0 else Xs

    def _build_model(self, n_in, n_out, hidden, gen, Xs, Ys, w) -> torch.nn.Module:
        structure = self._structure()
        k = self._lipschitz_k()
        spec = ModelSpec(
            structure=structure,
            n_in=n_in,
            n_out=n_out,
            hidden=hidden,
            activation=self.activation,
            epsilon=float(getattr(self, "epsilon", 0.0)),
            k_std=None if k is None else k * float(self._x_scale[0] / self._y_scale[0]),
            n_ridges=self.n_ridges,
            monotonic_cst=self._monotonic,
            dtype=DTYPES[self.dtype],
        )
        self._model_in = spec.model_in
        return build_model(spec, gen, lambda size: self._orientation(Xs, Ys, w, size))

    # --- predict ----------------------------------------------------------
    def _transform_rows(self, A: np.ndarray, fn) -> np.ndarray:
        """Apply fn chunk by chunk, on the model's device and in its dtype; float64 numpy out."""
        model = self.model_
        device, dtype = model.x0.device, model.x0.dtype
        out = []
        with torch_threads(thread_policy(A.shape[0])), torch.no_grad():
            for start in range(0, A.shape[0], CHUNK):
                chunk = torch.as_tensor(A[start : start + CHUNK], dtype=dtype, device=device)
                out.append(fn(chunk).cpu().numpy().astype(np.float64, copy=False))
        return np.concatenate(out) if out else np.empty((0, self.n_targets_))

    def _predict_std(self, Xs: torch.Tensor) -> torch.Tensor:
        return self.model_(self._pad(Xs))

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
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Ys = self._transform_rows((X - self._x_mean) / self._x_scale, self._predict_std)
        Y = self._y_mean + self._y_scale * Ys
        if not np.all(np.isfinite(Y)):
            raise NonFiniteError("The prediction is not finite; inputs may be too extreme for this model.")
        return Y.ravel() if self._y_1d else Y

    def __getstate__(self):
        # the fitted network travels as numpy arrays: device-free and skops-friendly
        state = super().__getstate__()
        if "model_" in state:
            state = dict(state)
            state["model_"] = to_state(state["model_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), dict):
            state = dict(state)
            state["model_"] = from_state(state["model_"], restore_device(state.get("device", "cpu")))
        super().__setstate__(state)
        if "model_" in state:
            self._attach_path()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
