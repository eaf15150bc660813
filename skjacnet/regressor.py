"""The public estimators: JacobianRegressor and InvertibleJacobianRegressor."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions
from ._docs import _POSITIVE_MAP_DOC, _SHARED_ATTRS_DOC, _SHARED_PARAMS_DOC
from ._inverse import check_outputs, invert_outputs, square_fits_only
from ._regressor_base import BaseJacobianRegressor
from ._regressor_docs import _CONSTRAINT_DOC, _INVERTIBLE_NETWORK_DOC, _JACOBIAN_NETWORK_DOC, _STRUCTURE_OPTIONS_DOC
from .constraints import INVERTIBLE, NAMES, REGISTRY, auto_structure
from .integrate import ODE_METHODS


class JacobianRegressor(BaseJacobianRegressor):
    __doc__ = f"""Regressor that learns its Jacobian and integrates it (JacNet).

    Predictions are ``y0 + integral from x0 to x of J(c) dc`` along a straight
    path, with ``J`` a neural network whose output activation gives it
    structure (Lorraine & Hossain, 2019).

    Parameters
    ----------
{_CONSTRAINT_DOC}    lipschitz_constant : float, default=1.0
        The bound k for 'lipschitz', in the units of X and y.
    epsilon : float or 'auto', default='auto'
        'auto' is 1e-4, and 1e-2 for 'coupling'.
        The epsilon of ``J J^T + epsilon I`` for 'positive_definite'
        (standardised units): in 1-D the smallest slope; in n-D the
        smallest eigenvalue of the symmetric factor ``eps I + V^T diag(J^2) V``
        (the strong monotonicity of grad(phi)); for 'kronecker' the smallest
        derivative of each coordinate map; see ``guarantee_``.
{_POSITIVE_MAP_DOC}{_STRUCTURE_OPTIONS_DOC}{_JACOBIAN_NETWORK_DOC}{_SHARED_PARAMS_DOC}

    Attributes
    ----------
{_SHARED_ATTRS_DOC}
    anchors_ : ndarray of shape (n_anchors, n_features)
        The anchors of the path integrals (only when ``n_anchors > 1``).
    n_members_ : int
        The networks trained and merged (``n_members`` resolved).  With
        several, ``loss_curve_`` is their mean training loss and
        ``validation_scores_`` their mean R² on their own held-out rows.

    See Also
    --------
    InvertibleJacobianRegressor : guaranteed invertible fits with inverse_transform.
    sklearn.neural_network.MLPRegressor : the unstructured neural regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from skjacnet import JacobianRegressor
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = JacobianRegressor(constraint="lipschitz", random_state=0).fit(X, np.abs(X).ravel())
    >>> reg.predict([[0.5]]).shape
    (1,)
    """

    _parameter_constraints = {
        **BaseJacobianRegressor._parameter_constraints,
        # live: a registered constraint is accepted
        "constraint": [StrOptions({"auto"}), StrOptions(NAMES)],
        "lipschitz_constant": [Interval(Real, 0, None, closed="neither")],
        "positive_map": [StrOptions({"auto", "square", "exp"})],
        "monotonic_cst": ["array-like", dict, None],
        "convexity_cst": ["array-like", dict, None],
        "n_anchors": [Interval(Integral, 1, None, closed="left")],
        "path": [StrOptions({"linear"}), callable],
        "n_members": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        constraint="auto",
        lipschitz_constant=1.0,
        epsilon="auto",
        positive_map="auto",
        monotonic_cst=None,
        convexity_cst=None,
        n_anchors=1,
        path="linear",
        n_members="auto",
        hidden_layer_sizes=(64,),
        activation="auto",
        n_ridges="auto",
        n_layers=1,
        method="quadrature",
        rtol=1e-4,
        atol=1e-6,
        tol_annealing=False,
        adjoint=False,
        loss="squared_error",
        jacobian_weight=1.0,
        solver="auto",
        max_iter="auto",
        tol="auto",
        n_iter_no_change="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        learning_rate="auto",
        learning_rate_init=0.01,
        batch_size="auto",
        alpha="auto",
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
        self.epsilon = epsilon
        self.positive_map = positive_map
        self.monotonic_cst = monotonic_cst
        self.convexity_cst = convexity_cst
        self.n_anchors = n_anchors
        self.path = path
        self.n_members = n_members
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.n_ridges = n_ridges
        self.n_layers = n_layers
        self.method = method
        self.rtol = rtol
        self.atol = atol
        self.tol_annealing = tol_annealing
        self.adjoint = adjoint
        self.loss = loss
        self.jacobian_weight = jacobian_weight
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

    def _structure(self) -> str:
        """The constraint, 'auto' resolved (in fit, where ``n_features_in_`` is known)."""
        if self.constraint != "auto":
            return self.constraint
        per_feature = self.monotonic_cst is not None or self.convexity_cst is not None
        return auto_structure(self.n_features_in_, per_feature, self.n_layers, self.method)

    def _lipschitz_k(self) -> float | None:
        return float(self.lipschitz_constant) if REGISTRY[self._structure()].takes_lipschitz_constant else None

    def _auto_activation(self) -> str:
        return REGISTRY[self._structure()].auto_activation

    def __getattr__(self, name: str):
        # only reached when ordinary lookup fails: a JacobianRegressor has no inverse_transform (hasattr stays
        # False, so Pipelines and searches never take it for a transformer), but the error names the estimator
        # that fits the same structure with one instead of a bare "no attribute"
        if name == "inverse_transform":
            wanted = self.__dict__.get("constraint")
            wanted = wanted if wanted in INVERTIBLE else "positive_definite"
            raise AttributeError(
                f"JacobianRegressor has no inverse_transform: it promises no inverse (even for a bijective "
                f"structure, only predict is its contract). Fit InvertibleJacobianRegressor(constraint={wanted!r}) "
                "for a guaranteed invertible map with inverse_transform."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class InvertibleJacobianRegressor(BaseJacobianRegressor):
    __doc__ = f"""JacNet regressor that is invertible by construction, with ``inverse_transform``.

    1-D: the derivative ``exp(J(x)) + epsilon`` integrated from x0 (the
    paper's ``J(x)**2 + epsilon`` with ``positive_map='square'``), so the fit
    is strictly monotone (slope >= epsilon in standardised units).
    Square n-D maps: ``f(x) = y0 + S expm(B) grad(phi)(x)`` where ``phi`` is
    the ``epsilon``-strongly convex potential ``epsilon/2 |x|^2 + sum_r
    Phi_r(v_r . x)``, each ``Phi_r'`` the integral of a non-negative learned
    derivative: a bijection of R^n whose Jacobian is never singular.
    Non-square problems are fitted as the restriction of such a map to the
    zero-padded inputs (first ``n_targets`` outputs); they have no
    ``inverse_transform``.  With more targets than features the fit is
    injective; with fewer it is a submersion (its Jacobian has full row
    rank everywhere, ``guarantee_['jacobian_lower']``).

    Parameters
    ----------
    constraint : {{'positive_definite', 'kronecker', 'coupling'}}, default='positive_definite'
        Structure of the Jacobian.  'positive_definite' is the paper's
        ``J J^T + epsilon I`` (above).  'kronecker' (square maps) is
        ``f(x) = y0 + U (G(V x) - G(V x0))`` with ``U = S (A1 (x) A2)``,
        ``V = B1 (x) B2`` invertible Kronecker products (matrix exponentials)
        and G coordinate-wise with ``G' >= epsilon``: also a bijection, and
        its inverse is exact and costs O(d (d1 + d2)) per point
        (``d = d1 d2``) instead of an ODE of d x d solves.  'coupling'
        (square maps): per layer ``z = e^C x + b``, then each half of the
        coordinates moved by strictly increasing maps
        ``T_j(s) = t_j(a) + integral_0^s g_j(u; a) du`` conditioned on the
        other half ``a``, the derivative ``g_j >= min(1, epsilon)`` learned
        by a network (piecewise linear on 16 pieces of [-3, 3] in
        standardised units, 1 beyond) and integrated exactly; the outermost
        layer ends with ``S e^E``.  Its triangular Jacobians compose into
        maps that turn by different amounts in different places (where one
        positive-definite layer cannot), and its inverse is closed form
        (a quadratic root per coordinate), about 2x predict.  It takes
        ``method='quadrature'`` and ``inverse_method='auto'`` only, and
        ``solver='auto'`` is L-BFGS up to 2,000 rows, Adam above, at every
        depth.
    epsilon : float or 'auto', default='auto'
        'auto' is 1e-4, and 1e-2 for 'coupling' (a floor that keeps its
        fitted maps well conditioned, so that round trips stay near
        rounding).  Standardised units.  1-D: the smallest slope.  n-D: the strong
        monotonicity of grad(phi), i.e. the smallest eigenvalue of the
        symmetric factor of the Jacobian ('positive_definite'), the
        smallest derivative of each G ('kronecker') or the smallest learned
        derivative of each coupling ('coupling');
        ``guarantee_['expansion_lower']`` gives the resulting bound in the
        units of X and y.
{_POSITIVE_MAP_DOC}    increasing : bool, array-like of shape (n_targets,) or 'auto', default='auto'
        Orientation S.  True: increasing (S = I); False: decreasing
        (S = -I); one sign per target (+1 / True, -1 / False) sets each.
        'auto': from the data, like IsotonicRegression's
        ``increasing='auto'``: the sign of each diagonal entry of the
        weighted least-squares map, with, for square maps, the parity
        corrected to the sign of that map's determinant (prod(S) is the
        sign of the Jacobian's determinant everywhere, the one thing S
        decides; the least certain sign is flipped).
    inverse_method : str, default='auto'
        First guess of ``inverse_transform`` before Newton polish: 'auto'
        inverts the 1-D, 'kronecker' and 'coupling' models exactly and
        otherwise takes damped Newton steps from x0 (the inverse-Jacobian
        ODE with 'dopri5' for the rows they leave unsolved); any torchdiffeq
        method name forces that ODE solver.
{_INVERTIBLE_NETWORK_DOC}{_SHARED_PARAMS_DOC}

    Attributes
    ----------
{_SHARED_ATTRS_DOC}
    increasing_ : ndarray of shape (max(n_features, n_targets),)
        Orientation signs S used (1 increasing, -1 decreasing).

    See Also
    --------
    JacobianRegressor : the general estimator (also Lipschitz and unconstrained).
    sklearn.isotonic.IsotonicRegression : monotone step-function fits in 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> from skjacnet import InvertibleJacobianRegressor
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> reg = InvertibleJacobianRegressor(random_state=0).fit(X, np.exp(X).ravel())
    >>> X_back = reg.inverse_transform(reg.predict(X))
    >>> bool(np.allclose(X_back, X, atol=1e-8))
    True
    """

    _parameter_constraints = {
        **BaseJacobianRegressor._parameter_constraints,
        "constraint": [StrOptions(INVERTIBLE)],
        "positive_map": [StrOptions({"auto", "square", "exp"})],
        "increasing": ["boolean", StrOptions({"auto"}), "array-like"],
        "inverse_method": [StrOptions({"auto", *ODE_METHODS})],
    }

    def __init__(
        self,
        *,
        constraint="positive_definite",
        epsilon="auto",
        positive_map="auto",
        increasing="auto",
        inverse_method="auto",
        hidden_layer_sizes=(32, 32),
        activation="auto",
        n_ridges="auto",
        n_layers=1,
        method="quadrature",
        rtol=1e-4,
        atol=1e-6,
        tol_annealing=False,
        adjoint=False,
        loss="squared_error",
        jacobian_weight=1.0,
        solver="auto",
        max_iter="auto",
        tol="auto",
        n_iter_no_change="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        learning_rate="auto",
        learning_rate_init=0.01,
        batch_size="auto",
        alpha="auto",
        initial_point="mean",
        standardize=True,
        warm_start=False,
        random_state=None,
        device="cpu",
        dtype="float64",
        verbose=False,
    ):
        self.constraint = constraint
        self.epsilon = epsilon
        self.positive_map = positive_map
        self.increasing = increasing
        self.inverse_method = inverse_method
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.n_ridges = n_ridges
        self.n_layers = n_layers
        self.method = method
        self.rtol = rtol
        self.atol = atol
        self.tol_annealing = tol_annealing
        self.adjoint = adjoint
        self.loss = loss
        self.jacobian_weight = jacobian_weight
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

    def _structure(self) -> str:
        return self.constraint

    def _auto_activation(self) -> str:
        return "softplus"

    @square_fits_only
    def inverse_transform(self, Y):
        """Invert the fitted map: the X with ``predict(X) == Y``.

        A first guess (exact 1-D inversion, damped Newton from x0, or the
        inverse-Jacobian ODE ``dx/dt = J(x)^-1 (y - y0)`` through torchdiffeq
        for the rows Newton leaves unsolved) is polished by
        damped Newton steps on the map that ``predict`` computes (the
        'kronecker' structure starts from its closed-form inverse and solves
        its Newton steps through the Kronecker factors; 'coupling' inverts
        in closed form, layer by layer).

        Parameters
        ----------
        Y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values (any real values the fitted map can compute: it is onto).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Inputs whose predictions equal Y (to about 1e-10 relative in
            float64, 1e-4 in float32, beside the ODE's own tolerance for ODE
            methods).

        Raises
        ------
        NonFiniteError
            For rows beyond the largest value the fitted map can compute in
            its dtype, or whose X would overflow; the message names them.

        Warns
        -----
        ConvergenceWarning
            Names the rows the Newton polish leaves above its tolerance
            (their X are the best found).
        """
        check_is_fitted(self)
        Y = check_outputs(self, Y)
        return invert_outputs(self, Y, self.inverse_method, "inverse_transform")
