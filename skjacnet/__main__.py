"""Command line: ``python -m skjacnet reproduce --out DIR`` and ``python -m skjacnet demo``.

The demo fits the paper's two toy problems (Lorraine & Hossain, 2019, sec. 5):
exp(x) with the invertible structure and |x| with the 1-Lipschitz one, on 5
training points uniform in [-1, 1], and reports test errors on 100 points
uniform in [-2, 2] (all, inside the training range, extrapolated), with the
unconstrained fit beside each, then each structure's check (slopes far beyond
the data; the inverse over the training targets and over the test targets).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

_GRID = (-1e3, 1e3)  # the structure checks' range of x: far beyond the data, where only the structure holds


def _demo(seed: int) -> int:
    from . import InvertibleJacobianRegressor, JacobianRegressor

    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (5, 1))
    Xt = rng.uniform(-2, 2, (100, 1))
    lo, hi = float(X.min()), float(X.max())
    inside = (Xt.ravel() >= lo) & (Xt.ravel() <= hi)
    rows = []
    tasks = [
        ("exp(x)", np.exp, InvertibleJacobianRegressor(random_state=seed)),
        ("|x|", np.abs, JacobianRegressor(constraint="lipschitz", lipschitz_constant=1.0, random_state=seed)),
    ]
    for name, f, structured in tasks:
        for label, est in (("structured", structured), ("unconstrained", JacobianRegressor(random_state=seed))):
            t0 = time.perf_counter()
            est.fit(X, f(X).ravel())
            secs = time.perf_counter() - t0
            err = np.abs(est.predict(Xt) - f(Xt).ravel())
            maes = [float(np.mean(e)) if e.size else float("nan") for e in (err, err[inside], err[~inside])]
            rows.append((name, label, maes, secs, _extra(est, name, X, Xt)))
    n_in = int(inside.sum())
    print(f"JacNet demo (seed {seed}): the paper's two toy problems (Lorraine & Hossain, 2019, sec. 5).")
    print(f"Each model is fitted on 5 points with x uniform in [-1, 1] (this draw: x in [{lo:.2f}, {hi:.2f}])")
    print(f"and tested on 100 points with x uniform in [-2, 2]: {n_in} lie inside the training x range,")
    print(f"{100 - n_in} outside it, where the model extrapolates from the 5 points.")
    print("'structured' is exp(x) fitted by the invertible model and |x| by the 1-Lipschitz one;")
    print("'unconstrained' is the same network with no structure. Errors are in the target's units.")
    print()
    print("test error: mean |prediction - truth| over the test points; fit time in seconds")
    heads = ("all 100", f"inside ({n_in})", f"extrapolated ({100 - n_in})")
    print(f"{'task':8} {'model':14} {heads[0]:>9} {heads[1]:>13} {heads[2]:>18} {'fit s':>6}")
    for name, label, maes, secs, _ in rows:
        print(f"{name:8} {label:14} {maes[0]:9.4f} {maes[1]:13.4f} {maes[2]:18.4f} {secs:6.2f}")
    print()
    print(f"structure checks; slopes by finite differences (step 0.01) over x in [{_GRID[0]:g}, {_GRID[1]:g}],")
    print("far beyond the data, where only the structure constrains the fit:")
    for name, label, _, _, extra in rows:
        for i, line in enumerate(extra):
            print(f"  {name + ' ' + label if i == 0 else '':22} {line}")
    return 0


def _extra(est, task: str, X: np.ndarray, Xt: np.ndarray) -> list[str]:
    """The demo's structure checks for one fitted model: one line each, saying what it measures."""
    grid = np.linspace(*_GRID, 200_001).reshape(-1, 1)
    slopes = np.diff(est.predict(grid)) / np.diff(grid.ravel())
    if task != "exp(x)":
        top = float(np.abs(slopes).max())
        bound = est.guarantee_["lipschitz_upper"]  # what the fit promises, whatever its structure
        if bound is not None:
            held = top <= bound * (1 + 1e-6)
            verdict = f"the Lipschitz bound ({bound:g}) holds" if held else f"above the Lipschitz bound ({bound:g})"
        else:
            verdict = "above 1: no constraint bounds it" if top > 1 else "within 1 here, though no constraint bounds it"
        return [f"largest |slope| {top:.4f}: {verdict}"]
    low = float(slopes.min())
    if low <= 0 or not hasattr(est, "inverse_transform"):
        verdict = "> 0: increasing on this grid" if low > 0 else "<= 0: not monotone, so not invertible"
        return [f"smallest slope {low:.2e}: {verdict}; the model offers no inverse"]
    lines = [f"smallest slope {low:.2e}: > 0 at every step, so the fit is increasing: invertible"]
    y_train = np.exp(X.ravel())
    y_in = np.linspace(y_train.min(), y_train.max(), 200)
    err_in = float(np.max(np.abs(est.inverse_transform(y_in).ravel() - np.log(y_in))))
    y_all = np.linspace(np.exp(-2), np.exp(2), 200)
    x_all = est.inverse_transform(y_all).ravel()
    miss = np.abs(x_all - np.log(y_all))
    worst = int(np.argmax(miss))
    trip = float(np.max(np.abs(est.inverse_transform(est.predict(Xt)) - Xt)))
    lines += [
        "inverse error, max |inverse(y) - log y| in x units, over two ranges of y:",
        f"  {err_in:.4f} for y in [{y_in[0]:.3f}, {y_in[-1]:.3f}], the training targets (inverting inside the data)",
        f"  {miss[worst]:.4g} for y in [e^-2, e^2] = [{y_all[0]:.3f}, {y_all[-1]:.3f}], the test targets (mostly "
        "extrapolated):",
        f"    worst at y = {y_all[worst]:.3f}: the fit takes this value at x = {x_all[worst]:.4g}, exp(x) at x = "
        f"log y = {np.log(y_all[worst]):.2f};",
        "    beyond its 5 points the fit's tails are a guess",
        f"round trip, max |inverse(predict(x)) - x| over the 100 test x: {trip:.1e} (rounding only)",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="python -m skjacnet",
        description="skjacnet: JacNet regressors with guaranteed structure (invertible, Lipschitz, monotone) "
        "for scikit-learn. Runs the paper's toy problems (demo) or its experiments (reproduce).",
    )
    parser.add_argument("--version", action="version", version=f"skjacnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="fit the paper's exp(x) and |x| problems on 5 points; print the test errors and structure checks",
        description="Fit exp(x) (invertible) and |x| (1-Lipschitz) on 5 points in [-1, 1], each beside the "
        "unconstrained fit; print test errors on 100 points in [-2, 2] (all, inside the training range, "
        "extrapolated) and each structure's check, every figure labelled with what it measures.",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the data and the networks (default: 0)")
    rep = sub.add_parser(
        "reproduce",
        help="the paper's experiments beside the defaults and peers: figures and tables",
        description="The paper's experiments (sec. 5) with the defaults and the peers beside them: writes the "
        "figures (PNG, needs matplotlib) and the tables (markdown) to --out.",
    )
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    rep.add_argument("--seeds", type=int, default=5, help="number of seeds (default: 5)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.seed)
    if args.command == "reproduce":
        try:  # checked before any fit: the figures are written last
            import matplotlib  # noqa: F401
        except ImportError:
            parser.exit(2, "reproduce writes figures with matplotlib, which is not installed: pip install matplotlib\n")
        from .experiments.reproduce import main as reproduce

        return reproduce(args.seeds, args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
