"""numpydoc sections shared by the estimators' docstrings (parameters and fitted attributes)."""

# The network's defaults differ per estimator (see _NETWORK_DOC); everything else is shared.
_NETWORK_DOC = """
    hidden_layer_sizes : array-like of int, default={hidden}
        Hidden layer widths of the Jacobian network (as in MLPRegressor).
    activation : {{'auto', 'tanh', 'relu', 'logistic', 'identity', 'softplus', 'silu', 'sin'}}, default='auto'
        Hidden activation of the Jacobian network; 'auto' takes {auto}.{why}"""

_POSITIVE_MAP_DOC = """    positive_map : {'auto', 'square', 'exp'}, default='auto'
        How the network's output h becomes a positive derivative
        ('positive_definite' only): 'square' is the paper's ``h**2 +
        epsilon`` (``J J^T + epsilon I``); 'exp' is ``exp(h) + epsilon``, so
        that beyond the data the derivative continues its log-linear trend
        (exponential decay where it was falling toward the edge: saturating
        curves stay flat; exponential growth where it was rising, held
        linear above e^30).  In the 1-D model the derivative beyond the
        training range is also held below 10 times its largest value over
        the range, so that a steep edge fitted to a few noisy points cannot
        blow up (also for ``monotonic_cst`` on one feature).  'auto': 'exp'
        for the 1-D model, 'square' otherwise: on noisy 1-D data tested
        beyond it, 'exp' extrapolates
        saturating curves far better and exponential ones about as well
        (the user guide's benchmark pages have the figures, against UMNN
        and IsotonicRegression).
"""

_SHARED_PARAMS_DOC = """
    n_ridges : int or 'auto', default='auto'
        Number of ridge directions of the conservative constructions
        ('auto': ``max(8, 2 * max(n_features, n_targets))``).  Unused by the
        paper's 1-D model (one feature; one target unless 'none') and by the
        'nonconservative', 'complex', 'kronecker' and 'coupling' models.  With
        ``n_layers > 1`` it is the width of every layer ('auto' for the deep
        ``monotonic_cst`` and 'none' stacks: ``max(32, 2 * max(n_features,
        n_targets))``, for the deep 'lipschitz' stacks ``max(64, ...)``:
        wider than one layer, measured better at depth 4).
    n_layers : int, default=1
        Depth: the model is a composition of ``n_layers`` layers, each with
        an exact guarantee, so that the composition keeps it exactly (1 is
        the single-layer model).  'lipschitz': ridge layers
        ``G(V x)`` between orthogonal maps, each ``k ** (1 / n_layers)``-
        Lipschitz (the bounds multiply), with a GroupSort-2 (MaxMin: each
        pair of coordinates sorted, a 1-Lipschitz, gradient-norm preserving
        map) between consecutive layers.  'positive_definite': today's layer
        followed by ``n_layers - 1`` bijections ``S e^C G(e^D x)`` with
        strictly increasing ``G`` (their expansion bounds multiply; each
        inverts in closed form).  'kronecker': ``n_layers`` Kronecker layers.
        'coupling': ``n_layers`` layers of an invertible linear map and two
        half couplings (every coordinate moved once per layer); expansion
        bound ``prod(sigma_min(e^C) min(1, eps) / (1 + L))`` (L bounds each
        coupling's off-diagonal block, from its conditioner's weights).
        ``monotonic_cst``: ``lam (c . x + h(x))`` with ``h`` a deep
        1-Lipschitz network, so every constrained partial derivative is
        ``lam (1 + dh/dx_j) >= 0``.  'none': ridge layers ``G(V z)`` with
        unconstrained ``G`` (an MLP whose every unit learns its activation).
        Not offered by 'complex' and 'nonconservative'.
    method : str, default='quadrature'
        How the line integral is evaluated.  'quadrature' is the fast,
        error-controlled rule (exact integration of an adaptively refined
        piecewise-linear derivative for the structured and 1-D models, so
        the guarantees hold exactly; adaptive Gauss-Kronrod 7/15 along each
        path for the unconstrained n-D model).  Any torchdiffeq method name
        ('dopri5', 'rk4', ...) integrates with that ODE solver instead, the
        paper's way; guarantees then hold up to the solver's tolerance.
        'potential' and 'coupling' integrate in closed form and take
        'quadrature' only (another method is a ValueError); with
        JacobianRegressor's ``constraint='auto'`` on several features an
        ODE method selects 'none' instead of 'potential'.  Every other
        structure integrates with the method given.
    rtol, atol : float, default=1e-4, 1e-6
        Relative and absolute tolerance of the integration, in standardised
        units.  For 'quadrature' a cell or panel is refined until its error
        estimate is below ``atol + rtol * |value|`` (per unit length for the
        mesh); adaptive ODE methods use them as their step-size control;
        fixed-step ODE methods take ``ceil(max(rtol, atol) ** (-1 / order))``
        steps.  Deep stacks (``n_layers > 1``) and the one-layer
        ``monotonic_cst`` regression on several features train on a knot
        mesh refined to 100 times these (1.5-3x faster fits, the same test
        R^2); the fitted model's mesh meets them, and its guarantee is exact
        either way.  Early stopping's validation scores are computed on the
        training mesh.  They act on every structure but 'potential'
        (JacobianRegressor's default on several features) and 'coupling',
        which are integrated in closed form: there rtol, atol,
        ``tol_annealing`` and ``adjoint`` cannot change the fit, and fit
        warns (a UserWarning that names them and the fix) when any is set
        off its default.  Gauss-Kronrod path integrals of a smooth network
        often meet tight tolerances at one panel, and then a tighter one
        changes nothing.
    tol_annealing : bool, default=False
        The paper's schedule: start at a loose tolerance (0.1) and halve it
        whenever the training loss falls below it, down to rtol/atol (also
        for the models above, which then train down to rtol/atol themselves).
        No effect on the structures integrated in closed form ('potential',
        'coupling'): fit then warns (``InertOptionWarning``).
    adjoint : bool, default=False
        Back-propagate through ODE methods with the adjoint method
        (``torchdiffeq.odeint_adjoint``): memory independent of the steps.
        Without an ODE ``method`` it has no effect, and fit warns
        (``InertOptionWarning``).
    loss : {'squared_error', 'absolute_error'}, default='squared_error'
        Training loss per sample ('absolute_error' is the paper's norm loss).
    jacobian_weight : float, default=1.0
        Weight of the observed Jacobians (``fit(..., jacobian=J)``) in the
        loss: per row, the value error plus ``jacobian_weight`` times the
        Jacobian error averaged over the features, both in standardised
        units (y / s_y and J s_x / s_y), so that at 1 a target's value and
        its gradient weigh alike whatever the units.  Unused without
        ``jacobian``.
    solver : {'auto', 'adam', 'lbfgs'}, default='auto'
        'adam': Adam on mini-batches.  'lbfgs': full-batch L-BFGS
        (``torch.optim.LBFGS``'s algorithm and strong Wolfe line search,
        its two-loop recursion through BLAS), one iteration per epoch; it
        ignores ``learning_rate_init`` and ``batch_size``.  'auto': 'lbfgs' while the full batch is cheap —
        n_samples x max(n_features, n_targets) <= 1e6 (about 1.2 GB), or
        n_samples <= 1000 for 'complex' — and 'adam' above.  L-BFGS
        reaches a near-interpolant close to the initial network, which
        extrapolates far better on a few points, with the same or better R²
        and faster fits.  Always 'adam' when ``batch_size`` is set, for the
        deep ridge stacks (``n_layers > 1``: L-BFGS stalled on them), and
        for the unconstrained models and ``monotonic_cst`` regressors on
        several features (``constraint='none'``, 'nonconservative',
        'potential', monotone; n_features > 1), which L-BFGS drives to
        interpolate noise.  'coupling' takes
        'lbfgs' up to 2,000 samples at every depth and 'adam' above.
        ``solver_`` is the one used.
    max_iter : int or 'auto', default='auto'
        Maximum number of training epochs (L-BFGS iterations).  'auto' is
        200 (MLPRegressor's), and 1000 for 'potential' trained by Adam and
        for 'coupling' trained by L-BFGS, caps that the stopping rule, not
        the budget, ends (at 200 the potential still improved in some folds
        of the benchmark's tables, a warning).
    tol : float or 'auto', default='auto'
        Tolerance of the optimisation (as in MLPRegressor), not of the
        integration (that is ``rtol``/``atol``): training stops once the
        training loss (standardised units), or the validation score with
        ``early_stopping``, has not improved by at least ``tol`` for more
        than ``n_iter_no_change`` consecutive epochs.  'auto' is 1e-4
        (MLPRegressor's), and 1e-5 for 'coupling' trained by L-BFGS, whose
        validation R^2 still climbs by about 1e-5 per iteration where 1e-4
        stops it (the 3-link arm of benchmarks/deep.py: 0.9995 -> 0.99985).
    n_iter_no_change : int or 'auto', default='auto'
        Number of epochs without a ``tol`` improvement before stopping.
        'auto': with early stopping, 50 epochs, and 20 for a
        JacobianRegressor fit of several ``n_members`` (whose validation
        score, the members' mean, is much less noisy); 50 epochs on the
        training loss.  On the training loss of a large Adam fit (more than
        10,000 training rows with ``batch_size='auto'``, whose batch then
        grows), 50 optimiser steps and at least MLPRegressor's 10 epochs: an
        epoch of many steps has a smooth loss, and counting 50 of them ran
        large fits several times past their convergence.
    early_stopping : bool or 'auto', default='auto'
        Hold out ``validation_fraction`` of the training data (a shuffled,
        unstratified split seeded by ``random_state``; samples keep their
        weights), stop when its weighted R^2 stops improving, and keep the
        weights of the best validation epoch.  'auto': on for fits of up to
        10,000 rows whose split holds at least 10 (off for fits to observed
        Jacobians, whose validation score would read the values only, and
        where ``alpha='auto'`` is set from the noise), as
        HistGradientBoosting's 'auto' turns it on by size: fits to
        convergence interpolate small noisy data (docs/benchmarks_tabular.md
        measures both on real datasets).
    validation_fraction : float, default=0.1
        Proportion of the training data held out with ``early_stopping``.
    learning_rate : {'auto', 'constant', 'adaptive'}, default='auto'
        Adam's schedule.  'constant': ``learning_rate_init`` throughout.
        'adaptive': MLPRegressor's rule (for SGD there): each time the
        stopping rule (``tol``, ``n_iter_no_change``) would stop, the rate
        is divided by 5 and training goes on, until it is 1e-6 or less.
        'auto': 'adaptive' for the deep 'lipschitz' stacks (``n_layers >
        1``), whose kinks need the smaller steps, else 'constant'.  L-BFGS
        and ``partial_fit`` ignore it.
    learning_rate_init : float, default=0.01
        Adam's (initial) step size.
    batch_size : int or 'auto', default='auto'
        Mini-batch size of Adam; 'auto' is ``min(200, n_samples)``
        (MLPRegressor's), ``min(100, n_samples)`` for the deep
        'lipschitz' stacks and ``min(400, n_samples)`` for the one-layer
        ``monotonic_cst`` regression on several features; beyond 10,000
        training rows it grows to ``n_samples // 50`` rows (50 steps an
        epoch), up to 4096: a small step's cost is mostly fixed overhead.
    alpha : float or 'auto', default='auto'
        L2 penalty on the network weights: ``alpha / (2 * sum(sample_weight))``
        times their squared norm, over the whole training set (so that
        integer weights equal repeated samples).  'auto': MLPRegressor's
        1e-4, except for the 1-D one-layer regressions (the paper's JacNet,
        ``constraint`` 'auto', 'none' or 'nonconservative' on one feature;
        ``monotonic_cst`` on one feature; ``InvertibleJacobianRegressor``
        on one feature with ``positive_map`` 'exp'), fitted to values on up
        to 10,000 rows: there a first (pilot) fit at 1e-4 is followed by a
        fit from the same initial weights with alpha = the share of y's
        variance the pilot's residuals leave (noiseless data keep 1e-4 and
        the pilot), and early stopping 'auto' is off: the penalty grows
        with the noise, where a 10% validation split of a few hundred rows
        picked epochs by chance (docs/measurements.md).  Above 1,000
        unweighted rows with distinct x that share comes from differences
        of neighbouring points (Gasser et al., 1986) instead, and there is
        one fit (repeated x keep the pilot: duplicated rows would read as
        noiseless).  A warm
        start or ``partial_fit`` continues with the ``alpha_`` of the fit
        it continues.  The value used is ``alpha_``.
    initial_point : 'mean', float or array-like of shape (n_features,), default='mean'
        The initial condition x0 of every line integral ('mean': the
        weighted mean of X; the paper uses 0).  The value there, ``y0_``,
        is learned.
    standardize : bool, default=True
        Scale X and y to unit variance inside fit (the network's scale then
        does not depend on the units).  False keeps their units (X is only
        shifted to x0, y to its mean), as in the paper.
    warm_start : bool, default=False
        Continue training the previous fit's network (same features and
        targets; the scaling of the first fit is kept) instead of starting
        anew; ``loss_curve_`` and ``n_iter_`` accumulate, as in MLPRegressor.
        Only a network of the same structure is continued: if a parameter
        that shapes the model (the constraint, its bound or signs, the
        widths, the resolved activation, dtype, standardize, initial_point)
        changed since, fit warns and starts afresh, exactly as a cold fit.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the batch order.  Never touches torch's
        global generator.
    device : {'cpu', 'cuda', 'auto'} or str, default='cpu'
        Torch device to train and predict on.
    dtype : {'float64', 'float32'}, default='float64'
        Precision of the network, the integration and the inverse.
        'float32' is faster (about twice on CPUs, more on GPUs) and the
        guarantees then hold up to float32 rounding (relative 1e-7 instead
        of 1e-16); round trips of ``inverse_transform`` reach about 1e-6
        relative instead of 1e-12.  The same ``random_state`` draws the
        same initial network in both.  A large float64 fit of one
        'potential' network to values (Adam with ``batch_size='auto'``,
        more than 10,000 training rows, no members, no observed Jacobians)
        trains in float32 and is cast back to float64 before it is
        published: what ``predict`` computes, and its guarantees, are
        float64's.
    verbose : bool or int, default=False
        0: silent.  1 (True): print the loss (and the tolerance when
        annealing, the validation score with early stopping) every epoch on
        stdout, as MLPRegressor.  2 or more: a progress bar on stderr
        instead, the loss beside it (with tqdm, if installed; else the
        lines)."""

_SHARED_ATTRS_DOC = """
    model_ : torch.nn.Module
        The fitted Jacobian network and integrator (standardised units).
    loss_curve_ : list of float
        Training loss at each epoch (standardised units).
    tol_curve_ : list of float
        Integration tolerance in force at each epoch.
    solver_ : {'adam', 'lbfgs'}
        The solver used (``solver='auto'`` resolved).
    constraint_ : str
        The constraint of the fitted network (``constraint='auto'``
        resolved; 'none' for ``monotonic_cst``, which is its own structure).
    n_iter_ : int
        Number of epochs run (of the final fit when ``alpha='auto'`` ran a
        pilot).
    alpha_ : float
        The L2 penalty of the final fit (``alpha='auto'`` resolved).
    best_loss_ : float or None
        Smallest training loss over the fits of this network (warm fits
        accumulate it, as in MLPRegressor); None with ``early_stopping``
        (see ``best_validation_score_``).
    validation_scores_ : list of float or None
        Weighted R^2 on the validation data at each epoch with
        ``early_stopping``, else None.
    best_validation_score_ : float or None
        Best validation R^2 over the fits of this network with
        ``early_stopping`` (the last fit ends with the weights of its best
        epoch), else None.
    x0_ : ndarray of shape (n_features,)
        Initial point x0 of the line integrals (see ``initial_point``).
    y0_ : ndarray of shape (n_targets,)
        Learned value at the initial point.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    n_targets_ : int
        Number of targets.
    guarantee_ : dict
        What ``predict`` is guaranteed to satisfy: ``property``, the bounds
        ``lipschitz_upper`` (k), ``expansion_lower`` (c in
        ||f(a) - f(b)|| >= c ||a - b||) or ``jacobian_lower`` (smallest
        singular value of the Jacobian), ``norm``, ``domain``, ``exact``;
        ``check_guarantee(X)`` tests it on data.
    path_dependence_ : float
        Mean change of the (standardised) training predictions when the
        integration path is bent: 0 for conservative models, a curl
        diagnostic for the unconstrained n-D model (warning above 0.1)."""


def params_doc(doc: str, drop: tuple[str, ...] = (), replace: dict[str, str] | None = None) -> str:
    """A numpydoc parameter section without the entries ``drop`` and with ``replace``'s entries swapped in.

    An entry is its ``name : type`` line (4-space indent) and the lines indented deeper that follow it.
    """
    entries: list[list[str]] = []
    for line in doc.split("\n"):
        if line.startswith("    ") and not line.startswith("     ") or not entries:
            entries.append([line])
        else:
            entries[-1].append(line)
    out = []
    for entry in entries:
        name = entry[0].strip().split(" :")[0]
        if name in drop:
            continue
        out.append((replace or {}).get(name, "\n".join(entry)))
    return "\n".join(out)


# the classifier's own sections (JacobianClassifier, and JacobianCalibrator through it)
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
