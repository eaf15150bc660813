"""Fit cost against the number of rows: every estimator at its defaults beside the peers a user would pick instead.

    python benchmarks/scale.py [--sizes 1e3 1e4 1e5 1e6] [--d 8 32] [--tasks regression monotone ...]
        [--budget 900] [--md docs/benchmarks_scale.md] [--json docs/deep_results/scale.json]
        [--figure docs/_static/scale.png]

Each (task, model, n, d) cell runs in its own Python process, one thread (torch, OpenMP and BLAS), so that its
peak memory is its own and a fit past ``--budget`` seconds can be stopped: that cell reads "> budget" and the
larger n of that model are skipped.  In the cell's process the data are drawn, the model is fitted once on 200
rows (imports and one-time set-up are not the fit's cost), then fitted and timed on n rows, then predicts 20,000
fresh rows.  Ratios are against the task's reference peer in the same run, same n and d.

Tasks (synthetic, every peer at its defaults):

- ``regression``: y = a smooth function of d features with interactions plus noise (sd 0.1);
  JacobianRegressor() and JacobianRegressor(constraint='lipschitz') against MLPRegressor (behind a
  StandardScaler, the reference), HistGradientBoostingRegressor and LightGBM.  Score: test R^2.
- ``monotone``: the same target, increasing in the features it is increasing in; JacobianRegressor(
  monotonic_cst) against HistGradientBoostingRegressor(monotonic_cst) (the reference) and LightGBM
  (monotone_constraints).
- ``invertible``: a square map of R^d (a rotation of coordinate-wise increasing curves) plus noise;
  InvertibleJacobianRegressor() against MLPRegressor (the reference, which offers no inverse).
- ``classification``: a logistic model of the regression target's sign, increasing in the same features;
  JacobianClassifier(monotonic_cst) against HistGradientBoostingClassifier(monotonic_cst) (the reference),
  MLPClassifier and LogisticRegression.  Score: test log-loss.
- ``calibration``: one score column from a miscalibrated model (probability sigmoid(2 s - 0.5 s^3 / 3)); the
  JacobianCalibrator against Platt scaling (a LogisticRegression on the score, the reference) and isotonic
  regression.  Score: test Brier score.  d does not apply (one score).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy and torch load
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's skjacnet
N_TEST = 20_000
REFERENCE = {
    "regression": "MLPRegressor",
    "monotone": "HGB(monotone)",
    "invertible": "MLPRegressor",
    "classification": "HGB(monotone)",
    "calibration": "Platt",
}


# --- data ---------------------------------------------------------------------------------------------------------
def _smooth(X: np.ndarray) -> np.ndarray:
    """Increasing in features 0, 1 (mod 4 blocks), free in 2, decreasing in 3; interactions within each block."""
    y = np.zeros(len(X))
    for b in range(0, X.shape[1] - 3, 4):
        x0, x1, x2, x3 = X[:, b], X[:, b + 1], X[:, b + 2], X[:, b + 3]
        y += np.tanh(x0 + x1) + 0.5 * x0 + np.sin(2 * x2) * (1 + 0.3 * x1) + 0.3 * x2**2 - 0.4 * x3 - 0.2 * x3**3
    return y / np.sqrt(X.shape[1] / 4)


def monotonic_cst(d: int) -> list[int]:
    return [(1, 1, 0, -1)[j % 4] for j in range(d)]


def make_data(task: str, n: int, d: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    if task == "calibration":
        s = rng.normal(0, 1.5, n)
        p = 1 / (1 + np.exp(-(2 * s - 0.5 * s**3 / 3)))
        return s.reshape(-1, 1), (rng.uniform(size=n) < p).astype(int)
    X = rng.uniform(-1, 1, (n, d))
    if task == "invertible":
        Q, _ = np.linalg.qr(np.random.RandomState(1000 + d).normal(size=(d, d)))
        U = X @ Q
        return X, (U + 0.3 * np.tanh(2 * U) + 0.1 * U**3) @ Q.T + 0.02 * rng.normal(size=(n, d))
    f = _smooth(X)
    if task == "classification":
        return X, (rng.uniform(size=n) < 1 / (1 + np.exp(-3 * f))).astype(int)
    return X, f + 0.1 * rng.normal(size=n)


# --- models -------------------------------------------------------------------------------------------------------
def models(task: str, d: int) -> dict:
    """name -> a function making the unfitted model (imports inside: each cell's process loads what it uses)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skjacnet import InvertibleJacobianRegressor, JacobianCalibrator, JacobianClassifier, JacobianRegressor

    cst = monotonic_cst(d)

    def lgbm(cls, **kw):
        import lightgbm

        return getattr(lightgbm, cls)(n_jobs=1, verbose=-1, **kw)

    mlp = {"MLPRegressor": lambda: make_pipeline(StandardScaler(), MLPRegressor(random_state=0))}
    if task == "regression":
        return {
            "JacobianRegressor()": lambda: JacobianRegressor(random_state=0),
            "JacobianRegressor(lipschitz)": lambda: JacobianRegressor(constraint="lipschitz", random_state=0),
            **mlp,
            "HGB": lambda: HistGradientBoostingRegressor(random_state=0),
            "LightGBM": lambda: lgbm("LGBMRegressor", random_state=0),
        }
    if task == "monotone":
        return {
            "JacobianRegressor(monotonic_cst)": lambda: JacobianRegressor(monotonic_cst=cst, random_state=0),
            "HGB(monotone)": lambda: HistGradientBoostingRegressor(monotonic_cst=cst, random_state=0),
            "LightGBM(monotone)": lambda: lgbm("LGBMRegressor", monotone_constraints=cst, random_state=0),
        }
    if task == "invertible":
        return {"InvertibleJacobianRegressor()": lambda: InvertibleJacobianRegressor(random_state=0), **mlp}
    if task == "classification":
        return {
            "JacobianClassifier(monotonic_cst)": lambda: JacobianClassifier(monotonic_cst=cst, random_state=0),
            "HGB(monotone)": lambda: HistGradientBoostingClassifier(monotonic_cst=cst, random_state=0),
            "MLPClassifier": lambda: make_pipeline(StandardScaler(), MLPClassifier(random_state=0)),
            "LogisticRegression": lambda: LogisticRegression(),
        }
    return {
        "JacobianCalibrator()": lambda: JacobianCalibrator(random_state=0),
        "Platt": lambda: LogisticRegression(C=np.inf),
        "isotonic": lambda: _Isotonic(IsotonicRegression(out_of_bounds="clip")),
    }


class _Isotonic:
    """IsotonicRegression as a probability model of one score column (fit on (s, y), predict_proba)."""

    def __init__(self, iso):
        self.iso = iso

    def fit(self, X, y):
        self.iso.fit(X.ravel(), y)
        return self

    def predict_proba(self, X):
        p = self.iso.predict(X.ravel())
        return np.column_stack([1 - p, p])


def score(task: str, model, X, y) -> float:
    from sklearn.metrics import brier_score_loss, log_loss, r2_score

    if task == "classification":
        return float(log_loss(y, model.predict_proba(X)))
    if task == "calibration":
        return float(brier_score_loss(y, model.predict_proba(X)[:, 1]))
    return float(r2_score(y, model.predict(X)))


# --- one cell, in its own process ---------------------------------------------------------------------------------
def run_cell(task: str, name: str, n: int, d: int) -> dict:
    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore")
    make = models(task, d)[name]
    X, y = make_data(task, n + N_TEST, d)
    Xw, yw = make_data(task, 200, d, seed=1)
    make().fit(Xw, yw)  # imports and one-time set-up (torch's optimiser modules) paid before the clock
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = make()
    t0 = time.perf_counter()
    model.fit(X[:n], y[:n])
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = score(task, model, X[n:], y[n:])
    predict = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"fit_s": fit, "predict_s": predict, "score": s, "peak_mib": peak / 1024, "extra_mib": (peak - base) / 1024}


def cell(task: str, name: str, n: int, d: int, budget: float) -> dict:
    cmd = [sys.executable, __file__, "--cell", json.dumps([task, name, n, d])]
    row = {"task": task, "model": name, "n": n, "d": d}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=budget + 120, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {**row, "fit_s": None, "status": f"> {budget:.0f} s"}
    if out.returncode != 0:
        return {**row, "fit_s": None, "status": "failed: " + out.stderr.strip().splitlines()[-1][:200]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    status = "ok" if result["fit_s"] <= budget else f"> {budget:.0f} s"
    return {**row, **result, "status": status}


# --- report -------------------------------------------------------------------------------------------------------
def table(rows: list[dict], task: str) -> str:
    ref = REFERENCE[task]
    lower_better = task in ("classification", "calibration")
    metric = {"classification": "log-loss", "calibration": "Brier"}.get(task, "R^2")
    head = f"| d | n | model | fit (s) | x {ref} | predict (s) | peak MiB | {metric} |"
    out = [f"## {task} (reference: {ref})", "", head]
    out.append("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["task"] != task:
            continue
        peer = next((p for p in rows if (p["task"], p["model"], p["n"], p["d"]) == (task, ref, r["n"], r["d"])), None)
        if r["fit_s"] is None:
            out.append(f"| {r['d']} | {r['n']:.0e} | {r['model']} | {r['status']} | | | | |")
            continue
        ratio = f"{r['fit_s'] / peer['fit_s']:.1f}x" if peer and peer.get("fit_s") else ""
        mark = "" if not peer or peer.get("score") is None else (
            " (better)" if (r["score"] < peer["score"]) == lower_better and r["model"] != ref else "")  # fmt: skip
        out.append(
            f"| {r['d']} | {r['n']:.0e} | {r['model']} | {r['fit_s']:.2f} | {ratio} | {r['predict_s']:.2f} | "
            f"{r['peak_mib']:.0f} | {r['score']:.4f}{mark} |"
        )
    return "\n".join(out)


def slopes(rows: list[dict]) -> list[str]:
    """Log-log slope of fit time against n above 1e4, per (task, model, d)."""
    out = []
    keys = sorted({(r["task"], r["model"], r["d"]) for r in rows})
    for task, name, d in keys:
        pts = [(r["n"], r["fit_s"]) for r in rows if (r["task"], r["model"], r["d"]) == (task, name, d)]
        pts = [(n, t) for n, t in pts if t is not None and n >= 1e4]
        if len(pts) >= 2:
            b = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0]
            out.append(f"- {task}, {name}, d = {d}: slope {b:.2f} over n = {pts[0][0]:.0e}..{pts[-1][0]:.0e}")
    return out


def figure(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for name, d in sorted({(r["model"], r["d"]) for r in rows if r["task"] == task}):
            pts = [(r["n"], r["fit_s"]) for r in rows if (r["task"], r["model"], r["d"]) == (task, name, d)]
            pts = [p for p in pts if p[1] is not None]
            if pts:
                ax.loglog(*zip(*pts), marker="o", label=f"{name}" + ("" if task == "calibration" else f", d={d}"))
        ax.set(title=task, xlabel="rows n", ylabel="fit time (s), one thread")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def page(args, text: str) -> str:
    import datetime
    import platform

    figure_line = f"![fit time against n]({pathlib.Path(args.figure).name})\n\n" if args.figure else ""
    merged = f"(here assembled with `--rows` from {len(args.rows)} runs' `--json` files)\n\n" if args.rows else ""
    return (
        "# Cost at scale\n\n"
        "Fit time, predict time (20,000 rows), peak memory of the process and test score against the number of "
        "training rows, every model at its defaults, one thread each, one process per cell (see the docstring of "
        "`benchmarks/scale.py` for the data and the peers). Regenerate with\n\n"
        f"    python benchmarks/scale.py --sizes {' '.join(f'{s:g}' for s in args.sizes)} --d "
        f"{' '.join(map(str, args.d))} --tasks {' '.join(args.tasks)} --md ...\n\n"
        f"{merged}Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores; times are this "
        "machine's and move with its load: read the ratios, measured in the same run.\n\n"
        f"{figure_line}{text}\n"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", help=argparse.SUPPRESS)
    p.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5, 1e6])
    p.add_argument("--d", nargs="+", type=int, default=[8, 32])
    p.add_argument("--tasks", nargs="+", default=list(REFERENCE))
    p.add_argument("--models", nargs="*", help="only these model names (and each task's reference)")
    p.add_argument("--budget", type=float, default=900.0, help="seconds a fit may take before it is stopped")
    p.add_argument(
        "--rows",
        nargs="+",
        help="no fits: the tables from saved --json files (a later file's row "
        "replaces an earlier one of the same task, model, n and d)",
    )
    p.add_argument("--md")
    p.add_argument("--json")
    p.add_argument("--figure")
    args = p.parse_args(argv)
    if args.cell:
        print(json.dumps(run_cell(*json.loads(args.cell))))
        return 0
    rows, stopped = [], set()
    if args.rows:
        merged = {}
        for path in args.rows:
            saved = json.loads(pathlib.Path(path).read_text())
            merged.update({(r["task"], r["model"], r["n"], r["d"]): r for r in saved})
        rows = [r for r in merged.values() if r["task"] in args.tasks]
        rows.sort(key=lambda r: (list(REFERENCE).index(r["task"]), r["d"], r["n"]))
        args.sizes = sorted({float(r["n"]) for r in rows})
        args.d = sorted({r["d"] for r in rows if r["task"] != "calibration"})
    for task in args.tasks if not args.rows else ():
        for d in [1] if task == "calibration" else args.d:
            for n in (int(s) for s in args.sizes):
                for name in models(task, d):
                    if args.models and name not in args.models and name != REFERENCE[task]:
                        continue
                    if (task, name, d) in stopped:
                        continue
                    r = cell(task, name, n, d, args.budget)
                    rows.append(r)
                    if r["fit_s"] is None or r["status"] != "ok":
                        stopped.add((task, name, d))
                    print(json.dumps(r), flush=True)
    parts = [*(table(rows, t) for t in args.tasks), "## Log-log slopes of fit time\n\n" + "\n".join(slopes(rows))]
    text = "\n\n".join(parts)
    print(text)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.figure:
        figure(rows, args.figure)
    if args.md:
        pathlib.Path(args.md).write_text(page(args, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
