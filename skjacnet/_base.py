"""Shared estimator machinery: parameters, fit, scaling, predict, persistence."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _warn, integrate
from ._build import DTYPES, ModelSpec, build_model
from ._certificate import check_guarantee, guarantee
from ._compat import Interval, StrOptions
from ._inert import warn_inert_options
from ._members import MemberTarget, check_validation_size, replicate
from ._noise import neighbour_noise
from ._persist import from_state, restore_device, to_state
from ._plan import Scaling, plan_fit, plan_scaling, plan_spec
from ._resolve import FitRun, resolve
from ._runtime import thread_policy, torch_threads
from ._training import LOSSES, SCHEDULES, SOLVERS, Stopping, ValueTarget, adam, train
from .constraints.base import AUTO_ALPHA
from .constraints.complex import HolomorphicJacobianNet
from .constraints.full import FullJacobianNet, UserPath, check_path
from .constraints.mlp import ACTIVATIONS
from .exceptions import NonFiniteError
from .integrate import METHODS

CHUNK = 1 << 16  # rows per predict/inverse chunk: bounded memory on any input size
PATH_CHECK_ROWS = 512  # training rows used for path_dependence_
PATH_WARN = 0.1  # warn when bending the path moves predictions by 10% of y's spread
# early_stopping='auto': on for fits of up to this many rows whose validation split holds this many
AUTO_EARLY_STOPPING_ROWS = 10_000
AUTO_EARLY_STOPPING_MIN_VALIDATION = 10
# alpha='auto' from the noise: refit only when the pilot's residuals exceed this many times AUTO_ALPHA (of y's variance)
NOISE_REFIT = 2.0
# above this many unweighted rows (x distinct) the noise comes from neighbour differences (skjacnet._noise), no pilot
PILOT_ROWS = 1000


def _noise_share(noise: float, spread: float) -> float | None:
    """alpha='auto' from the noise: its mean square over y's variance (standardised units), so that noisy data get a
    penalty that grows with their noise; None (AUTO_ALPHA stays) within NOISE_REFIT x AUTO_ALPHA of noiseless, or
    for a constant y (nothing to measure the noise against)."""
    return noise / spread if noise > NOISE_REFIT * AUTO_ALPHA * spread > 0 else None


def _best(pick, previous: float | None, new: float | None) -> float | None:
    """pick (min or max) of the values that exist."""
    values = [v for v in (previous, new) if v is not None]
    return pick(values) if values else None


def _pad(model: torch.nn.Module, Xs: torch.Tensor) -> torch.Tensor:
    """Zero-pad inputs to the model's square size (non-square invertible fits)."""
    extra = model.x0.shape[0] - Xs.shape[1]
    return torch.nn.functional.pad(Xs, (0, extra)) if extra > 0 else Xs


def _training_tolerance(model: torch.nn.Module, rtol: float, atol: float) -> str:
    """The tolerances training integrated to: rtol, atol, or train_scale times them (a deep stack's mesh)."""
    scale = max((it.train_scale for it in model.integrators()), default=1.0)
    if scale == 1.0:
        return f"rtol={rtol}, atol={atol}"
    return f"{scale:g} x rtol={rtol}, atol={atol}"


@dataclass
class _TrainingData:
    """The training tensors of one fit, in the network's units, and what scores and steps them."""

    Xt: torch.Tensor
    Yt: torch.Tensor  # the values (observed Jacobians packed beside them; one copy per member)
    wt: torch.Tensor
    target: ValueTarget
    stopping: Stopping
    optimizer: torch.optim.Optimizer | None  # partial_fit's Adam, kept between calls


@dataclass
class _PartialState:
    """What partial_fit carries between calls: the network it trains, its Adam and its shuffling generator."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    gen: torch.Generator


class BaseJacobianEstimator(BaseEstimator):
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

    def _noise_alpha(self, X, Y, w, J, warm: bool, partial: bool) -> bool:
        """Whether alpha='auto' is set from the noise in this fit: a fresh fit of up to AUTO_EARLY_STOPPING_ROWS
        rows, values only, of a structure that asks for it (``Constraint.noise_alpha``: the 1-D one-layer regressions).
        """
        if self.alpha != "auto" or partial or J is not None or X.shape[0] > AUTO_EARLY_STOPPING_ROWS:
            return False
        try:
            spec = plan_spec(self, X.shape[1], Y.shape[1], plan_scaling(self, X, Y, w, J))
            if not spec.constraint.noise_alpha(spec):
                return False
            return not (warm and plan_fit(self, X, Y, w, warm=True, n_rows=X.shape[0], J=J).warm)
        except ValueError:  # a bad parameter or shape: _fit's own checks report it, in their order
            return False

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

    def _build(self, run: FitRun, first: bool) -> tuple[torch.nn.Module, _TrainingData]:
        """The network (fresh, members, or the one continued) with its integrators, and its training tensors."""
        plan, sc, device = run.plan, run.plan.scaling, run.device
        Xs, Ys = (run.X - sc.x_mean) / sc.x_scale, (run.Y - sc.y_mean) / sc.y_scale
        values = Ys  # before _training_target packs observed Jacobians beside them
        Ys, target = self._training_target(Ys, run.J, sc)
        member_validation = None
        if run.members > 1:  # each member's copy of the values, its own validation rows NaN (see _members)
            Ys, member_validation = replicate(Ys, run.splits, run.members)
            values, target = Ys, MemberTarget(run.members)
        if plan.warm:  # trained in place: fit() restores a copy if anything fails
            model = self.model_.to(device)
        elif run.members > 1:
            model = plan.spec.constraint.build_members(plan.spec, run.gen, run.members).to(device)
        else:
            model = build_model(plan.spec, run.gen, plan.signs).to(device)
            self._set_anchors(model, plan.spec, Xs, run.w, run.rng)
        self._attach_path(model, sc, self.path if hasattr(self, "path") else "linear")
        # a fresh integrator of `method` per layer: each freezes its own rule after training
        model.use_integrator(self.method, self.rtol, self.atol, adjoint=self.adjoint)
        if first:  # once per fit (partial_fit: on its first call)
            warn_inert_options(self, model, plan.spec.structure)
        # the training mesh's coarseness (an attribute: a registered integrator's __init__ need not know it);
        # tol_annealing is the user's own training schedule, down to rtol, atol themselves
        scale = 1.0 if self.tol_annealing else plan.spec.constraint.train_tolerance_scale(plan.spec)
        for it in model.integrators():
            it.train_scale = scale
        to = dict(dtype=model.x0.dtype, device=device)
        Xt = _pad(model, torch.as_tensor(Xs, **to))
        wt = torch.as_tensor(run.w, **to)
        if not plan.warm and self._least_squares_start:
            plan.spec.constraint.initialise(model, Xt, torch.as_tensor(values, **to), wt)
        stopping = self._stopping(model, run, to)
        if run.splits is not None:  # the rows some member holds out, each member scored on its own
            rows = torch.as_tensor(np.unique(np.concatenate(run.splits)), device=device)
            Yv = torch.as_tensor(member_validation, **to)
            stopping.validation = (Xt[rows], Yv[rows], wt[rows])
        optimizer = None
        if run.partial:
            state = self.__dict__.get("_partial")
            keep = state is not None and state.model is model
            optimizer = state.optimizer if keep else adam(model, self.learning_rate_init)
            for group in optimizer.param_groups:
                group["lr"] = self.learning_rate_init
        return model, _TrainingData(Xt, torch.as_tensor(Ys, **to), wt, target, stopping, optimizer)

    def _train(self, run: FitRun, model: torch.nn.Module, data: _TrainingData):
        """Train (alpha from the noise: a pilot fit, or neighbour differences, first), merge members, freeze."""
        alpha, pilot = run.alpha, run.noise
        if run.noise:  # y's variance (standardised units), against which the noise is measured
            Yt, wt = data.Yt, data.wt
            with torch.no_grad():
                centred = Yt - (wt @ Yt) / wt.sum()
                spread = float((wt * (centred * centred).sum(-1)).sum() / wt.sum())
            if data.Xt.shape[0] > PILOT_ROWS and data.Xt.shape[1] == 1 and bool((wt == wt[0]).all()):
                # a large sample: the noise from differences of neighbours, which cost no fit
                estimate = neighbour_noise(data.Xt[:, 0], Yt)
                if estimate is not None:
                    pilot = False
                    alpha = _noise_share(estimate, spread) or AUTO_ALPHA
        initial = copy.deepcopy(model) if pilot else None
        hist = self._train_once(run, model, data, alpha, " (pilot: alpha from its residuals)" if pilot else "")
        if pilot and hist.diverged is None:
            # the noise = what the pilot fit leaves unexplained (its residuals' mean square); refit from the
            # same initial weights (not warm: the pilot's noise-following bends would stay)
            with torch.no_grad():
                residual = float(data.target.loss(model, data.Xt, data.Yt, data.wt, "squared_error"))
            share = _noise_share(residual, spread)
            if share is not None:  # else the pilot is the fit, at AUTO_ALPHA
                alpha, model = share, initial
                hist = self._train_once(run, model, data, alpha, "")
        if run.members > 1:
            model = run.plan.spec.constraint.merge_members(model, run.members).eval()  # new modules train()
        # every row given, the held-out ones too: the rules and ranges fixed here (panels, saturation) cover them
        validation = data.stopping.validation
        model.freeze(data.Xt if run.held_out is None else torch.cat([data.Xt, validation[0]]))
        return model, hist, alpha

    def _train_once(self, run: FitRun, model: torch.nn.Module, data: _TrainingData, alpha: float, label: str):
        """One training of ``model`` (in place) at ``alpha``: MLPRegressor's loop, on this fit's settings."""
        return train(
            model, data.Xt, data.Yt, data.wt,
            solver=run.plan.solver, max_iter=1 if run.partial else run.epochs,
            learning_rate=self.learning_rate_init, schedule=run.schedule, batch_size=run.batch, alpha=alpha,
            loss=getattr(self, "loss", "squared_error"), gen=run.gen,
            tol_annealing=self.tol_annealing and not run.partial, stopping=data.stopping, verbose=int(self.verbose),
            target=data.target, optimizer=data.optimizer,
            label=f"{type(self).__name__}.{'partial_fit' if run.partial else 'fit'}{label}",
        )  # fmt: skip

    def _stopping(self, model, run: FitRun, to: dict) -> Stopping:
        """MLPRegressor's stopping rule, with the held-out rows in the network's units for early stopping."""
        stopping = Stopping(tol=run.tol, n_iter_no_change=run.patience)
        if run.held_out is not None:
            sc = run.plan.scaling
            Xv, Yv, wv = run.held_out
            stopping.validation = (
                _pad(model, torch.as_tensor((Xv - sc.x_mean) / sc.x_scale, **to)),
                torch.as_tensor((Yv - sc.y_mean) / sc.y_scale, **to),
                torch.as_tensor(wv, **to),
            )
        return stopping

    def _report_training(self, hist, model: torch.nn.Module, run: FitRun) -> None:
        """One warning for what went wrong in training: divergence, integration caps, or max_iter."""
        if hist.diverged is not None:
            _warn.warn(hist.diverged, ConvergenceWarning)
            return
        if hist.capped:
            _warn.warn(
                f"In {hist.capped} training step(s) the integration stopped at its training cap "
                f"({integrate.TRAIN_MAX_PANELS} Gauss-Kronrod panels, {model.integrators()[0].max_knots} mesh knots) "
                f"before meeting its training tolerance ({_training_tolerance(model, self.rtol, self.atol)}): those "
                "steps used a less accurate integral "
                "(the fitted model's own integration is refined afresh). Loosen rtol/atol, or lower "
                "learning_rate_init if the loss grew.",
                ConvergenceWarning,
            )
        if not hist.converged:
            what = "validation score" if hist.validation_scores is not None else "training loss"
            _warn.warn(
                f"Maximum iterations ({run.epochs}) reached and the optimization hasn't converged yet: "
                f"the {what} had not stopped improving by tol={run.tol:g} (n_iter_no_change="
                f"{run.patience}). Increase max_iter or tol.",
                ConvergenceWarning,
            )

    def _publish(self, run: FitRun, model: torch.nn.Module, hist, y_1d: bool, alpha: float, data) -> None:
        """Write the fitted state: the only step of fit that sets attributes."""
        plan = run.plan
        self.alpha_ = alpha
        sc = plan.scaling
        previous = (self.loss_curve_, self.tol_curve_, self.n_iter_) if plan.warm else ([], [], 0)
        scores = getattr(self, "validation_scores_", None) if plan.warm else None
        self._x_mean, self._x_scale, self._y_mean, self._y_scale = sc.x_mean, sc.x_scale, sc.y_mean, sc.y_scale
        self._spec = plan.spec
        self._path = getattr(self, "path", "linear")
        self.model_ = model
        self.solver_ = plan.solver
        self.constraint_ = plan.spec.structure
        if plan.signs is not None:
            self.increasing_ = plan.signs
        elif not plan.warm and hasattr(self, "increasing_"):  # rebuilt without an orientation
            del self.increasing_
        self.loss_curve_ = previous[0] + hist.loss_curve
        self.tol_curve_ = previous[1] + hist.tol_curve
        self.n_iter_ = previous[2] + hist.n_iter
        # as MLPRegressor: the best values of all the fits of this network (warm fits accumulate them)
        self.best_loss_ = _best(min, self.best_loss_ if plan.warm else None, hist.best_loss)
        self.validation_scores_ = None if hist.validation_scores is None else (scores or []) + hist.validation_scores
        self.best_validation_score_ = _best(
            max, self.best_validation_score_ if plan.warm else None, hist.best_validation_score
        )
        self.n_targets_ = plan.spec.n_out
        self._y_1d = y_1d
        self.x0_ = sc.x_mean.copy()
        with torch.no_grad():
            y0 = model.y0[: plan.spec.n_out].detach().cpu().numpy()
        self.y0_ = sc.y_mean + sc.y_scale * y0
        anchors = getattr(model, "anchors", None)
        if anchors is not None:
            self.anchors_ = sc.x_mean + sc.x_scale * anchors.detach().cpu().numpy()
        elif hasattr(self, "anchors_"):  # a refit without anchors
            del self.anchors_
        self.guarantee_ = guarantee(self)
        if hasattr(self, "n_members"):
            self.n_members_ = run.members
        with torch_threads(thread_policy(run.X.shape[0])), torch.no_grad():
            self._finish_fit(model, data.Xt, data.Yt, data.wt)
        self._partial = _PartialState(model, data.optimizer, run.gen) if run.partial else None
        self.path_dependence_ = self._path_dependence(data.Xt[:PATH_CHECK_ROWS])
        if self.path_dependence_ > PATH_WARN and not run.partial:
            _warn.warn(
                f"The learned Jacobian field is far from conservative: predictions change by "
                f"{self.path_dependence_:.2g} (relative to y's spread) when the integration path is bent. "
                "This model defines its function through its chosen path (straight, or the user's, from x0 or "
                "the nearest anchor) only; for a function whose Jacobian is the learned one use a conservative "
                "structure: constraint='auto' (JacobianRegressor's default), 'none', 'potential', 'lipschitz', "
                "'positive_definite', 'kronecker' or monotonic_cst.",
                UserWarning,
            )

    @property
    def _scaling(self) -> Scaling:
        return Scaling(self._x_mean, self._x_scale, self._y_mean, self._y_scale)

    def _validation_split(self, X, Y, w, J, rng: np.random.RandomState):
        """Hold out validation_fraction of the rows (shuffled, no stratification), seeded by rng.

        The held-out rows are scored by R^2 on their observed values (their Jacobians are not used).
        """
        rows, val = train_test_split(
            np.arange(X.shape[0]), test_size=self.validation_fraction, random_state=rng, stratify=self._stratify(Y)
        )
        check_validation_size(val.size, X.shape[0])
        return X[rows], Y[rows], w[rows], None if J is None else J[rows], (X[val], Y[val], w[val])

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

    def _set_anchors(self, model, spec, Xs: np.ndarray, w: np.ndarray, rng: np.random.RandomState) -> None:
        """k-means centres of the standardised training inputs as the anchors of the path integrals."""
        k = min(spec.n_anchors, len(Xs))
        if k <= 1 or not isinstance(model, FullJacobianNet):
            return
        km = KMeans(n_clusters=k, n_init=1, random_state=rng.randint(np.iinfo(np.int32).max))
        centres = km.fit(Xs, sample_weight=w).cluster_centers_
        model.set_anchors(torch.as_tensor(centres))

    def _attach_path(self, model, scaling: Scaling, path) -> None:
        """Give the unconstrained model the path it is fitted with (its saved state never holds code)."""
        if not isinstance(model, FullJacobianNet) or isinstance(model, HolomorphicJacobianNet):
            return
        if path == "linear":
            model.path = None
            return
        to = dict(dtype=model.x0.dtype, device=model.x0.device)
        user = UserPath(path, torch.as_tensor(scaling.x_mean, **to), torch.as_tensor(scaling.x_scale, **to))
        A = model.x0.expand(4, -1)
        check_path(user, A, A + torch.linspace(-1, 1, 4, **to)[:, None])
        model.path = user

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
