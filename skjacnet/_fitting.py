"""fit's steps after resolve: build the network, train it, report what went wrong, publish the fitted state.

A mixin of ``BaseJacobianEstimator``: ``_fit`` (in ``_base``) validates and resolves (``_resolve.resolve``), then
calls these in order.  They carry out the ``FitRun`` and decide nothing it has not resolved, except what only
training can tell: alpha from a pilot fit's residuals.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import _warn, integrate
from ._build import build_model
from ._certificate import guarantee
from ._inert import warn_inert_options
from ._members import MemberTarget, check_validation_size, replicate
from ._noise import neighbour_noise
from ._plan import Scaling
from ._resolve import FitRun
from ._runtime import thread_policy, torch_threads
from ._training import Stopping, ValueTarget, adam, train
from .constraints.base import AUTO_ALPHA
from .constraints.complex import HolomorphicJacobianNet
from .constraints.full import FullJacobianNet, UserPath, check_path

PATH_CHECK_ROWS = 512  # training rows used for path_dependence_
PATH_WARN = 0.1  # warn when bending the path moves predictions by 10% of y's spread
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


class FitSteps:
    """The steps of fit after resolve (mixed into ``BaseJacobianEstimator``)."""

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
            spec = replace(plan.spec, dtype=run.train_dtype)  # the initial weights are drawn alike in any dtype
            model = build_model(spec, run.gen, plan.signs).to(device)
            self._set_anchors(model, plan.spec, Xs, run.w, run.rng)
        self._attach_path(model, sc, self.path if hasattr(self, "path") else "linear")
        # a fresh integrator of `method` per layer: each freezes its own rule after training
        model.use_integrator(self.method, self.rtol, self.atol, adjoint=self.adjoint, train_scale=run.train_scale)
        if first:  # once per fit (partial_fit: on its first call)
            warn_inert_options(self, model, plan.spec.structure)
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
        rows = data.Xt if run.held_out is None else torch.cat([data.Xt, validation[0]])
        dtype = run.plan.spec.dtype
        model, rows = model.to(dtype), rows.to(dtype)  # trained in run.train_dtype: published in the model's
        model.freeze(rows)
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

    def _validation_split(self, X, Y, w, J, rng: np.random.RandomState):
        """Hold out validation_fraction of the rows (shuffled, no stratification), seeded by rng.

        The held-out rows are scored by R^2 on their observed values (their Jacobians are not used).
        """
        rows, val = train_test_split(
            np.arange(X.shape[0]), test_size=self.validation_fraction, random_state=rng, stratify=self._stratify(Y)
        )
        check_validation_size(val.size, X.shape[0])
        return X[rows], Y[rows], w[rows], None if J is None else J[rows], (X[val], Y[val], w[val])

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
