"""Benchmarks: ratios against baselines measured in the same run (never absolute thresholds).

    python benchmarks/bench.py [--quick] [--out docs/benchmarks.md]

Every figure is a ratio of two timings taken in this process, one after the
other, with the same torch thread setting: our time / the baseline's (lower is
better) (float64, 64-unit tanh network, 1-D
unless said otherwise).  Baselines: one forward pass of the Jacobian network
over the same points (the floor of any integrator), a naive 16-node
Gauss-Legendre rule, torchdiffeq's dopri5 (the paper's integrator), and peers.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor


def timed(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` wall-clock timings (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gauss_legendre_predict(est, X: np.ndarray, nodes: int = 16) -> np.ndarray:
    """The naive fixed rule: y0 + (x - x0) * sum_i w_i g(x0 + t_i (x - x0)), one net pass per node."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    t, w = torch.as_tensor((t + 1) / 2), torch.as_tensor(w / 2)
    m = est.model_
    xs = torch.as_tensor((X - est._x_mean) / est._x_scale)
    with torch.no_grad():
        pts = (t[:, None, None] * xs).reshape(-1, 1)  # x0 = 0 in standardised units
        g = m.g_table(pts.reshape(-1)).reshape(nodes, len(X), -1)
        inc = torch.einsum("k,knr->nr", w, g) * xs
        out = m.y0 + inc @ m.U().T
    return (est._y_mean + est._y_scale * out.numpy()).ravel()


# The reference network (64 tanh units, Adam): ratios comparable across sessions.
# Fixed-epoch fits, without the defaults that changed since (early_stopping='auto', the 1-D positive_map 'exp'),
# so that the sections time the same work in every session.
NET64 = dict(hidden_layer_sizes=(64,), activation="tanh", solver="adam", early_stopping=False, positive_map="square")


def bench_1d(n_predict: int, n_fit: int, fit_iter: int, rows: list, log) -> None:
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (n_fit, 1))
    y = np.exp(X).ravel() + 0.01 * rng.standard_normal(n_fit)
    # one-time costs off the clock: the first torch.optim optimiser of a process imports torch._dynamo (~1 s);
    # skjacnet's L-BFGS does not use torch.optim, so the warm-up fit takes Adam
    InvertibleJacobianRegressor(max_iter=1, solver="adam").fit(X[:10], y[:10])
    Xtest = rng.uniform(-2, 2, (2000, 1))
    # n_iter_no_change=fit_iter: both fits run all fit_iter iterations (no stop on a stalled loss)
    est = InvertibleJacobianRegressor(
        random_state=0, max_iter=fit_iter, n_iter_no_change=fit_iter, batch_size=n_fit, **NET64
    )
    t_fit = timed(lambda est=est: est.fit(X, y), repeat=1)
    err = float(np.mean(np.abs(est.predict(Xtest) - np.exp(Xtest).ravel())))
    paper = InvertibleJacobianRegressor(
        **NET64,
        random_state=0,
        max_iter=fit_iter,
        n_iter_no_change=fit_iter,
        batch_size=n_fit,
        method="dopri5",
        tol_annealing=True,
    )
    t_paper = timed(lambda: paper.fit(X, y), repeat=1)
    err_paper = float(np.mean(np.abs(paper.predict(Xtest) - np.exp(Xtest).ravel())))
    rows.append(
        (
            "fit 1-D",
            f"n={n_fit}, {fit_iter} full-batch iterations",
            "dopri5 + annealing (paper)",
            t_fit / t_paper,
            f"test MAE {err:.4f} vs {err_paper:.4f}; {t_fit:.2f} s vs {t_paper:.2f} s",
        )
    )
    log(rows[-1])

    Xp = rng.uniform(-3, 3, (n_predict, 1))
    xs = torch.as_tensor((Xp - est._x_mean) / est._x_scale)
    with torch.no_grad():
        t_floor = timed(lambda: est.model_.field(xs))
    t_pred = timed(lambda: est.predict(Xp))
    chunks = np.array_split(Xp, max(1, len(Xp) // 65536))  # chunked like predict: same memory
    t_gl = timed(lambda: [gauss_legendre_predict(est, c) for c in chunks], repeat=1)
    fitted = est.model_.integrator  # the fitted mesh, put back after timing dopri5
    est.model_.use_integrator("dopri5", 1e-6, 1e-6)
    t_dopri = timed(lambda: est.predict(Xp), repeat=1)
    est.model_.integrator = fitted
    rows.append(
        (
            "predict 1-D",
            f"{n_predict:.0e} points",
            "one forward pass",
            t_pred / t_floor,
            f"16-node Gauss-Legendre {t_gl / t_floor:.1f}x, dopri5 at 1e-6 {t_dopri / t_floor:.1f}x the pass",
        )
    )
    log(rows[-1])
    Y = est.predict(Xp)
    t_inv = timed(lambda: est.inverse_transform(Y))
    trip = float(np.max(np.abs(est.inverse_transform(Y) - Xp) / (1 + np.abs(Xp))))
    rows.append(("inverse 1-D", f"{n_predict:.0e} points", "predict", t_inv / t_pred, f"round trip {trip:.1e}"))
    log(rows[-1])
    mlp = MLPRegressor(hidden_layer_sizes=(64,), solver="adam", max_iter=fit_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mlp = timed(lambda: mlp.fit(X, y), repeat=1)
    t_mlp_pred = timed(lambda: mlp.predict(Xp))
    rows.append(
        (
            "predict 1-D",
            f"{n_predict:.0e} points",
            "MLPRegressor.predict (64 units)",
            t_pred / t_mlp_pred,
            f"fit: MLPRegressor {t_mlp:.2f} s, skjacnet {t_fit:.2f} s ({fit_iter} epochs)",
        )
    )
    log(rows[-1])


def bench_nd(n: int, d: int, fit_iter: int, rows: list, log) -> None:
    """n-D fits: Adam for a fixed number of epochs (comparable across sessions), and for the
    structured models also solver='auto' with its defaults (full-batch L-BFGS at this size)."""
    rng = np.random.RandomState(1)
    X = rng.standard_normal((n, d))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.1 * X.sum(1)
    for constraint in ("none", "lipschitz", "positive_definite"):
        common = dict(constraint=constraint, lipschitz_constant=5.0, random_state=0, early_stopping=False)
        adam = JacobianRegressor(solver="adam", max_iter=fit_iter, n_iter_no_change=fit_iter, **common)
        t_fit = timed(lambda est=adam: est.fit(X, y), repeat=1)
        t_pred = timed(lambda est=adam: est.predict(X))
        rows.append(
            (
                f"n-D {constraint}",
                f"d={d}, n={n}, {fit_iter} Adam epochs",
                "—",
                float("nan"),
                f"fit {t_fit:.2f} s, predict {t_pred:.3f} s, R2 {adam.score(X, y):.3f}",
            )
        )
        log(rows[-1])
        if constraint == "none":  # 'auto' is Adam for the unconstrained n-D network
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            auto = JacobianRegressor(**common)
            t_auto = timed(lambda est=auto: est.fit(X, y), repeat=1)
        rows.append(
            (
                f"n-D {constraint} solver='auto'",
                f"d={d}, n={n}, to convergence",
                f"{fit_iter} Adam epochs",
                t_auto / t_fit,
                f"{auto.solver_}, {auto.n_iter_} iterations: fit {t_auto:.2f} s, R2 {auto.score(X, y):.3f}",
            )
        )
        log(rows[-1])


def bench_inverse_scaling(dims: tuple[int, ...], n: int, fit_iter: int, rows: list, log) -> None:
    """inverse_transform cost as d grows: 'kronecker' (exact, O(d (d1 + d2)) per point) vs the dense
    'positive_definite' structure (damped Newton from x0, a d x d solve per step; the inverse ODE for the rows
    Newton leaves)."""
    for d in dims:
        rng = np.random.RandomState(d)
        X = rng.standard_normal((n, d))
        Y = np.tanh(X) + 0.5 * X + 0.1 * X @ rng.standard_normal((d, d))
        times, scores = {}, {}
        for constraint in ("positive_definite", "kronecker"):
            est = InvertibleJacobianRegressor(
                constraint=constraint, random_state=0, max_iter=fit_iter, early_stopping=False
            ).fit(X, Y)
            Yq = est.predict(X)
            times[constraint] = timed(lambda est=est, Yq=Yq: est.inverse_transform(Yq), repeat=1)
            err = np.abs(est.inverse_transform(Yq) - X).max()
            scores[constraint] = f"R2 {est.score(X, Y):.3f}, round trip {err:.1e}"
        rows.append(
            (
                "inverse kronecker",
                f"d={d}, n={n}",
                "positive_definite (Newton)",
                times["kronecker"] / times["positive_definite"],
                f"{times['kronecker']:.3f} s vs {times['positive_definite']:.2f} s; kronecker "
                f"{scores['kronecker']}; dense {scores['positive_definite']}",
            )
        )
        log(rows[-1])


def bench_anchors(n: int, d: int, fit_iter: int, rows: list, log) -> None:
    """The paper's adaptive initial conditions on one trained unconstrained n-D field: network
    evaluations of a dopri5 predict (rtol 1e-6) and its error against a tight fixed rule along the
    same paths, for 1 anchor (x0) and k k-means anchors."""
    from sklearn.cluster import KMeans

    rng = np.random.RandomState(2)
    X = rng.uniform(-2, 2, (n, d))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3:].sum(1) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the path-dependence warning
        est = JacobianRegressor(
            constraint="nonconservative", random_state=0, max_iter=fit_iter, early_stopping=False
        ).fit(X, y)
    model = est.model_
    Xs = torch.as_tensor((X - est._x_mean) / est._x_scale)
    counts: list[int] = []
    model.field.register_forward_hook(lambda m, i, o: counts.append(i[0].numel() // d))
    base = None
    for k in (1, 16, 64):
        if k > 1:
            model.set_anchors(torch.as_tensor(KMeans(k, n_init=1, random_state=0).fit(Xs.numpy()).cluster_centers_))
        model.use_integrator("quadrature", 1e-11, 1e-11)
        model.freeze(Xs)
        panels = model.frozen_rule
        with torch.no_grad():
            ref = model(Xs)
            model.use_integrator("dopri5", 1e-6, 1e-8)
            model(Xs[:1])  # anchor values off the count
            counts.clear()
            err = float((model(Xs) - ref).abs().max())
        evals = sum(counts)
        base = base or evals
        rows.append(
            (
                "anchors (dopri5 predict)",
                f"d={d}, n={n}, k={k}",
                "1 anchor",
                evals / base,
                f"{evals:,} evaluations, max error {err:.1e} (standardised), GK panels at 1e-11: {panels}",
            )
        )
        log(rows[-1])


def bench_scale_and_precision(n: int, batch: int, rows: list, log) -> None:
    """Mini-batch training on n points (one epoch) and float32 against float64, 1-D and unconstrained n-D."""
    rng = np.random.RandomState(3)
    X = rng.uniform(-2, 2, (n, 1))
    y = np.exp(X).ravel() + 0.01 * rng.standard_normal(n)
    Xt = rng.uniform(-2, 2, (10_000, 1))
    out = {}
    for dtype in ("float64", "float32"):
        est = InvertibleJacobianRegressor(dtype=dtype, batch_size=batch, max_iter=1, random_state=0, **NET64)
        t_fit = timed(lambda est=est: est.fit(X, y), repeat=1)
        t_pred = timed(lambda est=est: est.predict(X))
        out[dtype] = (t_fit, t_pred, est.score(Xt, np.exp(Xt).ravel()))
    for dtype in ("float64", "float32"):
        t_fit, t_pred, r2 = out[dtype]
        rows.append(
            (
                f"mini-batch fit {dtype}",
                f"n={n:.0e}, 1 epoch of {batch}",
                "float64 fit" if dtype == "float32" else "—",
                t_fit / out["float64"][0] if dtype == "float32" else float("nan"),
                f"fit {t_fit:.1f} s ({n / t_fit:,.0f} rows/s), predict all {t_pred:.2f} s, test R2 {r2:.4f}",
            )
        )
        log(rows[-1])
    Xn = rng.standard_normal((n // 10, 8))
    yn = np.sin(Xn[:, 0]) + Xn[:, 1] * Xn[:, 2]
    times = {}
    for dtype in ("float64", "float32"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # path dependence of a short fit
            est = JacobianRegressor(
                constraint="nonconservative", dtype=dtype, max_iter=2, random_state=0, early_stopping=False
            ).fit(Xn[:5000], yn[:5000])
        times[dtype] = timed(lambda est=est: est.predict(Xn), repeat=1)
    rows.append(
        (
            "n-D nonconservative predict float32",
            f"d=8, n={n // 10:.0e}",
            "float64 predict",
            times["float32"] / times["float64"],
            f"{times['float32']:.2f} s vs {times['float64']:.2f} s (GK15 at the network's nodes)",
        )
    )
    log(rows[-1])


def peak_rss_predict(n: int) -> str:
    """Predict and inverse on n points in a fresh process; its peak RSS."""
    code = f"""
import numpy as np
from skjacnet import InvertibleJacobianRegressor
rng = np.random.RandomState(0)
X = rng.uniform(-2, 2, (500, 1))
est = InvertibleJacobianRegressor(random_state=0, max_iter=20).fit(X, np.exp(X).ravel())
Xp = rng.uniform(-3, 3, ({n}, 1))
Y = est.predict(Xp)
est.inverse_transform(Y)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking parent
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(int(hwm) / 2**20)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return f"{float(out.stdout.strip()):.2f} GiB (inputs and outputs alone: {3 * n * 8 / 2**30:.2f} GiB)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    ap.add_argument("--out", help="write a Markdown table here")
    args = ap.parse_args(argv)
    # fixed epoch budgets on purpose: "not converged yet" is expected, not news
    warnings.filterwarnings("ignore", message="Maximum iterations", category=ConvergenceWarning)
    q = args.quick
    rows: list = []
    log = lambda r: print(f"{r[0]:22} {r[1]:36} vs {r[2]:28} ratio {r[3]:7.3g}  {r[4]}", flush=True)
    torch_threads = torch.get_num_threads()
    bench_1d(10**4 if q else 10**6, 500 if q else 10**4, 20 if q else 200, rows, log)
    bench_nd(500 if q else 10**5, 8, 5 if q else 20, rows, log)
    bench_scale_and_precision(10**4 if q else 10**6, 1024, rows, log)
    bench_anchors(300 if q else 2000, 4, 5 if q else 30, rows, log)
    bench_inverse_scaling((4, 9) if q else (4, 16, 64), 200 if q else 2000, 5 if q else 50, rows, log)
    rss = peak_rss_predict(10**5 if q else 10**7)
    print(f"peak RSS, predict + inverse on {'1e5' if q else '1e7'} points: {rss}")
    if args.out:
        lines = [
            "# Benchmarks",
            "",
            f"Generated by `python benchmarks/bench.py --out {args.out}` on this project's CI-class machine",
            f"(2 cores, torch {torch.__version__}, {torch_threads} torch threads, float64). Ratios are timings",
            "taken in the same run; lower is faster for the first column's operation.",
            "",
            "| operation | size | baseline | ratio | notes |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {a} | {b} | {c} | {'' if d != d else f'{d:.3g}'} | {e} |" for a, b, c, d, e in rows]
        lines += ["", f"Peak RSS for predict + inverse on {'1e5' if q else '1e7'} points: {rss}.", ""]
        pathlib.Path(args.out).write_text("\n".join(lines))
        (pathlib.Path(args.out).with_suffix(".json")).write_text(json.dumps({"rows": rows, "peak_rss": rss}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
