"""Fit-time checks of hyper-parameters against the data: clear errors that name the problem."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from . import _warn
from .constraints import FEATURE_STRUCTURES, REGISTRY, feature_structure
from .integrate import exact_rule


def check_shapes(est, n_features: int, n_targets: int) -> None:
    """Shapes a structure needs: (re, im) column pairs for 'complex', square maps for 'kronecker'."""
    REGISTRY[est._structure()].check_shapes(n_features, n_targets)


def check_depth(est, n_features: int, n_targets: int) -> int:
    """n_layers, where the structure composes (every structured constraint), else a clear error."""
    depth = int(est.n_layers)
    constraint = structure_of(est, n_features)
    if depth > 1 and not constraint.deep:
        deep = sorted(name for name, c in REGISTRY.items() if c.deep)
        options = [o for o, c in FEATURE_STRUCTURES.items() if c.deep]
        raise ValueError(
            f"n_layers={depth} composes guaranteed layers, which {constraint.describe(1)} does not have "
            f"({constraint.single_layer}): use n_layers=1, or one of {deep} or {' or '.join(options)}."
        )
    return depth


def structure_of(est, n_features: int):
    """The structure this fit builds: the one its per-feature options select, else its constraint's."""
    return feature_structure(feature_csts(est, n_features), est._structure())


def check_path_options(est, n_features: int, n_targets: int) -> None:
    """path and n_anchors shape only the nonconservative n-D model: the others are path-independent."""
    custom = getattr(est, "path", "linear") != "linear" or getattr(est, "n_anchors", 1) != 1
    path_dependent = REGISTRY[est._structure()].path_dependent
    per_feature = any(getattr(est, option, None) is not None for option in FEATURE_STRUCTURES)
    if custom and (not path_dependent or n_features < 2 or per_feature):
        raise ValueError(
            "path and n_anchors apply to the paper's full-Jacobian field (constraint='nonconservative', several "
            "features); every other model, constraint='none' included, is an exact, path-independent closed "
            "form, so they would change nothing (1-D) or break its guarantee (anchors)."
        )
    if getattr(est, "n_anchors", 1) != 1 and not isinstance(est.initial_point, str):
        raise ValueError("n_anchors > 1 places the initial points itself; leave initial_point='mean'.")


def feature_csts(est, n_features: int) -> dict[str, np.ndarray | None]:
    """Every per-feature option of the estimator (``monotonic_cst``, ``convexity_cst``), validated."""
    return {option: check_feature_cst(est, option, n_features) for option in FEATURE_STRUCTURES}


def check_feature_cst(est, option: str, n_features: int) -> np.ndarray | None:
    """A validated per-feature option (-1, 0, +1 each), or None when it constrains nothing."""
    cst = getattr(est, option, None)
    if cst is None:
        return None
    if isinstance(cst, dict):
        cst = _constraints_by_name(cst, getattr(est, "feature_names_in_", None), option)
    cst = np.asarray(cst)
    if cst.shape != (n_features,) or not np.isin(cst, (-1, 0, 1)).all():
        raise ValueError(
            f"{option} must have one entry in {{-1, 0, 1}} per feature ({n_features}), got {getattr(est, option)!r}."
        )
    if not REGISTRY[est._structure()].allows_feature_cst:
        raise ValueError(
            f"{option} is its own structure: it requires constraint='none' (or JacobianRegressor's default "
            f"'auto'), not {est.constraint!r}."
        )
    return cst.astype(np.float64) if np.any(cst != 0) else None


def _constraints_by_name(cst: dict, names, option: str = "monotonic_cst") -> list:
    """A per-feature option given as a dict, as one entry per feature of ``feature_names_in_``.

    A key that is not a feature name may name the end of exactly one: a ColumnTransformer prefixes its outputs
    with the transformer's name (``num__income``), and HistGradientBoosting users expect their own column names
    to keep working behind it.
    """
    if names is None:
        raise ValueError(
            f"{option} as a dict needs X with feature names (a DataFrame), but this X has none. Behind "
            "a scaler or other transformer, make it output DataFrames: "
            f"pipeline.set_output(transform='pandas') (or pass {option} as a list, one entry per feature)."
        )
    names = [str(name) for name in names]
    resolved, unknown, keys = {}, [], {}
    for key, value in cst.items():
        matches = [key] if key in names else [name for name in names if name.endswith(f"__{key}")]
        if len(matches) > 1:
            raise ValueError(
                f"{option} names {key!r}, which ends {len(matches)} feature names: {matches}. Use the full "
                "name of the one you mean."
            )
        if not matches:
            unknown.append(key)
        elif matches[0] in resolved:
            raise ValueError(
                f"{option} names the feature {matches[0]!r} twice (as {keys[matches[0]]!r} and {key!r}); keep one."
            )
        else:
            resolved[matches[0]] = value
            keys[matches[0]] = key
    if unknown:
        raise ValueError(
            f"{option} names features {unknown} that are not in feature_names_in_ {names}. Use those names, or "
            "behind a ColumnTransformer keep your column names with ColumnTransformer(..., "
            "verbose_feature_names_out=False)."
        )
    return [resolved.get(name, 0) for name in names]


def check_target(y, allow_nan: bool) -> None:
    """Refuse a target that is not numbers, saying what was found.

    ``validate_data(y_numeric=True)`` lets arrays of strings through (to fail later in arithmetic) and turns
    ``None`` in an object array into NaN, which a fit with observed Jacobians reads as an unobserved value.
    """
    values = np.asarray(y)
    if y is None or values.ndim == 0 or values.dtype.kind in "biufc":  # validate_data names the missing y
        return
    flat = values.ravel()
    if values.dtype.kind == "O":
        missing = np.array([v is None for v in flat]).reshape(values.shape)
        if missing.any():
            rows = np.flatnonzero(missing.reshape(len(values), -1).any(axis=1))
            shown = f"{rows[:10].tolist()}{' ...' if rows.size > 10 else ''}"
            fix = "mark unobserved values with np.nan" if allow_nan else "drop or impute those rows"
            raise ValueError(f"y holds None in {rows.size} row(s) ({shown}): a missing target cannot be fitted; {fix}.")
        texts = [v for v in flat if isinstance(v, (str, bytes))]
    else:
        texts = list(flat[:1]) if values.dtype.kind in "US" else []
    if texts:
        raise ValueError(
            f"y must be numeric, but it holds strings (e.g. {texts[0]!r}, dtype {values.dtype}). For class labels "
            "use JacobianClassifier; for numbers stored as text, convert them first: y.astype(float)."
        )
    try:
        values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        kinds = sorted({type(v).__name__ for v in flat})
        raise ValueError(
            f"y must be numeric, but its values ({', '.join(kinds)}) cannot be read as numbers: {exc}. Convert y to "
            "floats first."
        ) from None


def warn_if_labels(Y: np.ndarray, name: str) -> None:
    """A bijection of R through two levels is a steep step, not a probability: point to the classifiers."""
    if len(Y) <= 3 or any(np.unique(column[~np.isnan(column)]).size != 2 for column in Y.T):
        return  # a constant target is not a set of labels
    levels = np.unique(Y[~np.isnan(Y)])
    _warn.warn(
        f"y takes only the values {levels.tolist()}: these look like class labels. {name} fits a strictly monotone "
        "bijection, which can only pass a steep curve through two levels, and its predictions are not "
        "probabilities. For labels use JacobianClassifier (monotonic_cst=[1] for a monotone score); to turn a "
        "classifier's score into probabilities use JacobianCalibrator.",
        UserWarning,
    )


def check_initial_point(est, n_features: int) -> np.ndarray:
    x0 = np.asarray(est.initial_point, dtype=np.float64)
    x0 = np.full(n_features, float(x0)) if x0.ndim == 0 else x0
    if x0.shape != (n_features,) or not np.all(np.isfinite(x0)):
        raise ValueError(
            f"initial_point must be 'mean', a finite scalar or an array of shape ({n_features},), "
            f"got {est.initial_point!r}."
        )
    return x0


def check_hidden(est) -> tuple[int, ...]:
    sizes = est.hidden_layer_sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not sizes or not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {est.hidden_layer_sizes!r}.")
    return tuple(int(s) for s in sizes)


def check_ode_tolerances(est) -> None:
    """An ODE method cannot meet a tolerance below the working precision: say so now, not after 20 000 steps."""
    if exact_rule(est.method):
        return
    floor = 100 * float(np.finfo(np.float32 if est.dtype == "float32" else np.float64).eps)
    if max(est.rtol, est.atol) < floor:
        raise ValueError(
            f"rtol={est.rtol:g} and atol={est.atol:g} are both below what {est.dtype} can resolve "
            f"({floor:.1e}): the ODE solver {est.method!r} could not meet them. Loosen rtol/atol, or use "
            "method='quadrature'."
        )


def check_orientation(est, size: int, n_targets: int) -> str | np.ndarray:
    """'auto', or the signs S (size,) that ``increasing`` asks for: a bool, or one sign per target.

    A square map's S sets the sign of its Jacobian's determinant (prod(S)); with fewer targets than
    inputs the padded outputs are dropped, and their signs are +1.
    """
    option = getattr(est, "increasing", "auto")
    if isinstance(option, str):  # 'auto' (the only string _parameter_constraints lets through)
        return "auto"
    if isinstance(option, (bool, np.bool_)):
        return np.full(size, 1.0 if option else -1.0)
    signs = np.asarray(option)
    if signs.dtype == bool:
        signs = np.where(signs, 1, -1)
    if signs.shape != (n_targets,) or not np.isin(signs, (-1, 1)).all():
        raise ValueError(
            f"increasing must be 'auto', a bool, or one orientation per target (+1 / True increasing, -1 / False "
            f"decreasing) of shape ({n_targets},); got {option!r}."
        )
    return np.concatenate([signs.astype(np.float64), np.ones(size - n_targets)])


def explain_infinite_y(exc: ValueError, y) -> ValueError:
    """validate_data's error, plus the likely cause when y holds infinities (the logit of 0/1 labels)."""
    try:
        values = np.asarray(y)
        if values.dtype.kind not in "fc":  # (complex y has its own error; objects may hold floats)
            values = values.astype(np.float64)
        infinite = bool(np.isinf(values).any())
    except (TypeError, ValueError):
        infinite = False
    if not infinite:
        return exc
    return ValueError(
        f"{exc} An infinite target is often the logit of labels that are exactly 0 or 1 (TransformedTargetRegressor"
        " with func=logit): a regressor cannot fit it. Smooth the labels first, e.g. "
        "y = (y * (n - 1) + 0.5) / n, or clip them to [1e-3, 1 - 1e-3] (docs/guide.md, bounded targets)."
    )


def check_jacobian_data(jacobian, Y: np.ndarray, n_features: int, y_1d: bool) -> np.ndarray:
    """Observed Jacobians as (n, n_targets, n_features) float64; NaN marks an unobserved entry.

    With them y may hold NaN (an unobserved value), but every target needs one observed value: the
    Jacobian fixes the function only up to a constant.
    """
    n, m = Y.shape
    try:
        J = np.asarray(jacobian, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"jacobian must be an array of numbers, got {type(jacobian).__name__}: {exc}") from None
    expected = (n, n_features) if y_1d else (n, m, n_features)
    if y_1d and J.shape == (n, 1, n_features):
        expected = J.shape
    if J.shape != expected:
        raise ValueError(
            f"jacobian has shape {J.shape}, expected {expected}: d y[i, t] / d X[i, j] for each of the {n} rows"
            + (" (the gradient of each prediction: y is 1-D)" if y_1d else "")
            + "; NaN marks an unobserved entry."
        )
    if np.isinf(J).any():
        raise ValueError("jacobian holds infinite entries; mark unobserved entries with NaN.")
    missing = ~np.isfinite(Y).any(axis=0)
    if missing.any():
        raise ValueError(
            f"target(s) {np.flatnonzero(missing).tolist()} have no observed value (all NaN): the Jacobian fixes "
            "the function only up to a constant; give each target's value at one point at least (a reference, "
            "e.g. the energy of one configuration)."
        )
    return J.reshape(n, m, n_features)
