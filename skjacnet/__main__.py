"""Command line: ``python -m skjacnet reproduce --out DIR`` and ``python -m skjacnet demo``.

The demo fits the paper's two toy problems (Lorraine & Hossain, 2019, sec. 5):
exp(x) with the invertible structure and |x| with the 1-Lipschitz one, on 5
training points uniform in [-1, 1], and reports test errors on 100 points
uniform in [-2, 2], with the unconstrained fit beside each.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _demo(seed: int) -> int:
    from . import InvertibleJacobianRegressor, JacobianRegressor

    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (5, 1))
    Xt = rng.uniform(-2, 2, (100, 1))
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
            mae = float(np.mean(np.abs(est.predict(Xt) - f(Xt).ravel())))
            rows.append((name, label, mae, secs, _extra(est, Xt)))
    print(f"JacNet demo (seed {seed}): 5 training points in [-1, 1], 100 test points in [-2, 2]")
    print(f"{'task':8} {'model':14} {'test MAE':>9} {'fit s':>6}  check")
    for name, label, mae, secs, extra in rows:
        print(f"{name:8} {label:14} {mae:9.4f} {secs:6.2f}  {extra}")
    return 0


def _extra(est, Xt: np.ndarray) -> str:
    grid = np.linspace(-1e3, 1e3, 200_001).reshape(-1, 1)
    pred = est.predict(grid)
    slopes = np.diff(pred) / np.diff(grid.ravel())
    if hasattr(est, "inverse_transform"):
        y = np.linspace(np.exp(-2), np.exp(2), 200)
        x_back = est.inverse_transform(y)
        inv_err = float(np.max(np.abs(x_back.ravel() - np.log(y))))
        trip = float(np.max(np.abs(est.inverse_transform(est.predict(Xt)) - Xt)))
        return f"min slope {slopes.min():.2e}; |inverse - log| {inv_err:.3f}; round trip {trip:.1e}"
    return f"max |slope| on [-1e3, 1e3] {np.abs(slopes).max():.4f}"


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
        help="fit the paper's exp(x) and |x| problems on 5 points and print the test errors",
        description="Fit exp(x) (invertible) and |x| (1-Lipschitz) on 5 points in [-1, 1], each beside the "
        "unconstrained fit, and print test errors on 100 points in [-2, 2].",
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
