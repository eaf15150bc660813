"""JacobianRegressor's and InvertibleJacobianRegressor's own numpydoc sections (the shared ones are in _docs.py).

JacobianRegressor's ``constraint`` entry and the entries of the options one structure uses (``monotonic_cst``,
``n_anchors``, ``n_members``, ``path``), in the order its docstring lists them; each estimator's network
section (its defaults).
"""

from ._docs import _NETWORK_DOC

_AUTO_JACOBIAN = (
    "'tanh', 'sin' for 'complex' (which needs an entire activation: 'sin' or 'identity'), and 'softplus' for a "
    "one-feature ``monotonic_cst`` fit (see there)"
)
_AUTO_INVERTIBLE = "'softplus'"

_WHY_SOFTPLUS = """
        Softplus units make the network's output linear away from the data
        instead of freezing at what a saturated tanh gives: with the 1-D
        ``exp`` map the derivative then continues its log-linear trend, with
        ``h**2`` (n-D) it grows quadratically (the fit is cubic there).  On
        monotone targets fitted from 5 points (the reproduction's prior
        suite, docs/reproduction) it extrapolates better than tanh units,
        at equal R² on larger samples."""

_CONSTRAINT_DOC = """    constraint : str, default='auto'
        One of 'auto', 'none', 'nonconservative', 'lipschitz',
        'positive_definite', 'complex', 'kronecker', 'coupling', 'potential'.
        Structure of the Jacobian and what it guarantees for ``predict``:

        - 'auto': unconstrained and conservative, the model that fits best
          at the defaults: 'potential' on several features, and 'none' with
          one feature, with ``monotonic_cst``, ``n_layers > 1`` or an ODE
          ``method`` (which 'potential' does not have).  ``constraint_`` is
          the one chosen.  Measured (docs/benchmarks_tabular.md): on five
          real and synthetic tables 'potential' beat the n-D 'none' ridge
          model on four, by 0.03 R² on average; 1-D, 'none' is the paper's
          model;
        - 'none': unconstrained and conservative (1-D: exact line integral;
          n-D: ``y0 + A (x - x0) + U (G(V x) - G(V x0))``, a linear term that
          starts at the least-squares fit plus ``n_ridges`` learned ridges,
          whose exact Jacobian ``A + U diag(g(V x)) V`` is what ``jacobian``
          returns); no bound is claimed;
        - 'nonconservative': the paper's n-D JacNet, a network for the whole
          Jacobian matrix integrated along a path from x0 (``path``,
          ``n_anchors``); the field need not be curl-free, so the function
          depends on the path and its derivative is not the network
          (``path_dependence_`` measures it; a warning above 0.1).  1-D: the
          same model as 'none';
        - 'lipschitz': ``||f(a) - f(b)||_2 <= lipschitz_constant * ||a - b||_2``
          for all a, b, any shapes (1-D: the paper's ``k tanh(J)``; n-D: a
          conservative ridge construction with spectrally normalised maps;
          both divide J by k when k > 1 in standardised units, so that loose
          bounds train well);
        - 'positive_definite': strictly monotone, invertible on square maps
          (the paper's ``J J^T + epsilon I``; see InvertibleJacobianRegressor);
        - 'complex': holomorphic map from C^p to C^q, with X and y given as
          (real, imaginary) column pairs: the Cauchy-Riemann equations hold
          exactly for ``predict`` (a complex network with an entire
          activation, integrated by a fixed rule); ``activation='auto'``
          takes 'sin' (the other entire choice is 'identity');
        - 'kronecker': bijection of R^d (square maps) whose Jacobian
          ``U diag(g) V`` has Kronecker-factored U and V, so that the inverse
          is exact and cheap (see InvertibleJacobianRegressor);
        - 'coupling': bijection of R^d (square maps) made of invertible
          linear maps and monotone couplings whose learned derivative is
          integrated in closed form: the most expressive invertible structure,
          exact inverse (see InvertibleJacobianRegressor);
        - 'potential': unconstrained and conservative, the Jacobian network
          is the derivative of a learned potential: ``J = A + D phi`` with
          ``phi`` an MLP (``hidden_layer_sizes``, ``activation``) and a linear
          term A started at the least-squares fit, so that the line integral
          is closed form, ``f = y0 + A (x - x0) + phi(x) - phi(x0)``, with no
          mesh and no ODE (Adam on several features, as 'none'); fits to observed Jacobians
          (``fit(X, y, jacobian=J)``) differentiate through ``D phi``.  The
          model for an energy learned from energies and forces; no bound is
          claimed.
"""

_STRUCTURE_OPTIONS_DOC = """    monotonic_cst : array-like of int of shape (n_features,), dict or None, default=None
        Partial monotonicity, as in HistGradientBoostingRegressor: 1
        increasing, -1 decreasing, 0 free, per feature (a dict maps feature
        names to constraints).  Every target is then guaranteed monotone in
        the constrained features, exactly, everywhere, and free in the
        others: the model is a sum of increasing ridge functions
        ``u_r G_r(v_r . x)`` with ``u_r >= 0``, ``G_r' >= 0`` and
        ``c_j v_rj >= 0``, beside a linear term with the same signs; on
        several features in one layer each ridge is constant beyond the
        range its coordinate took on the training inputs (widened by 1%), so
        that the linear term alone carries the trend there (a ridge would
        otherwise continue with the slope it had at the edge of the data,
        steep where few points pinned it).  With one (constrained) feature
        it is the 1-D JacNet with the derivative ``exp(J)`` and softplus
        units (as InvertibleJacobianRegressor's), which continues the
        derivative's log-linear trend beyond the data (held below 10 times
        its largest value over the training range).  Requires
        ``constraint='auto'`` (the default) or 'none'.
    convexity_cst : array-like of int of shape (n_features,), dict or None, default=None
        Shape per feature: 1 convex, -1 concave, 0 free (a dict maps feature
        names to shapes).  Every target is then guaranteed convex (concave)
        along each constrained feature, the others fixed, exactly and
        everywhere, beyond the data too; free features interact with the
        constrained ones and with each other.  Combine it with
        ``monotonic_cst`` for increasing and concave (diminishing returns),
        increasing and convex, and so on.  The model is a sum of ridges in
        groups: convex ones (the convex and free features, ``u_r >= 0``,
        non-decreasing ``g_r``), concave ones, and free ones (the free
        features only), beside a linear term; beyond the range of the
        training data each ridge continues linearly, so a concave fit never
        steepens there.  One layer, ``method='quadrature'`` (the guarantee is
        the knot mesh's); requires ``constraint='auto'`` (the default) or
        'none'.
    n_anchors : int, default=1
        'nonconservative' n-D model only: number of initial conditions (k-means
        centres of the training inputs).  Each prediction integrates from its
        nearest anchor, whose value is y0 plus the integral from x0 to it:
        shorter paths, fewer quadrature panels or ODE steps (the paper's
        adaptive initial conditions).  A non-conservative field makes the
        prediction jump across the anchors' cell boundaries by about its
        ``path_dependence``.
    n_members : int or 'auto', default='auto'
        Train this many networks side by side, each from its own initial
        weights and, with early stopping, scored on its own random
        ``validation_fraction`` of the rows (so every row trains most of
        them), then merge them into one network of the same structure that
        predicts their mean exactly (its Jacobian is the mean Jacobian):
        predict, ``jacobian`` and persistence see one ordinary model with
        ``n_members`` times the hidden units (and ridges).  The members share
        Adam's mini-batches and train at about the cost of one.  'auto':
        where validation rows are held out, 5 for 'potential' fits (the n-D
        default up to 10,000 rows: on small tables one random validation
        split decides much of an early-stopped fit, and the mean of five
        averages that away: diabetes R² 0.473 -> 0.496,
        docs/benchmarks_tabular.md) and 3 for the one-layer ``monotonic_cst``
        ridge sum on several features (with ``n_ridges='auto'`` each member
        has max(8, ceil(2 max(n_features, n_targets) / 3)) ridges), else 1 (also with
        ``solver='lbfgs'``, whose shared line search would couple the
        members, and with ODE methods).  The members stop together, at the
        epoch of their best mean validation R².  Only these two structures
        merge their members (others, and ``monotonic_cst`` with
        ``n_layers > 1`` or on one feature, raise an error for
        ``n_members > 1``), not with observed Jacobians; ``partial_fit`` and
        a warm start continue one network (the merged one; a warm start that
        must rebuild trains
        members again).  ``n_members_`` is the number used.
    path : 'linear' or callable, default='linear'
        'nonconservative' n-D model only: the path of the line integrals.
        A callable ``path(t, a, b)`` takes torch tensors t (T,), a and b
        (n, n_features) in the units of X and returns the points (T, n,
        n_features), differentiable in t, with ``path(0, a, b) = a`` and
        ``path(1, a, b) = b`` (checked in fit); its velocity comes from
        forward-mode autograd.  A module-level function pickles.  The
        structured and 1-D models are exact closed forms, independent of the
        path, so both options raise an error there.
"""

_JACOBIAN_NETWORK_DOC = _NETWORK_DOC.format(hidden="(64,)", auto=_AUTO_JACOBIAN, why="")
_INVERTIBLE_NETWORK_DOC = _NETWORK_DOC.format(hidden="(32, 32)", auto=_AUTO_INVERTIBLE, why=_WHY_SOFTPLUS)
