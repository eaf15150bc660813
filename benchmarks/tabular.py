"""skjacnet's regressors at their defaults on real tabular data, against the peers at theirs.

    OMP_NUM_THREADS=1 python benchmarks/tabular.py [--quick] [--datasets diabetes cars ...]
        [--md docs/benchmarks_tabular.md] [--json docs/deep_results/tabular.json]

Every model is trained and timed in this process, one thread each (torch through skjacnet's own
``torch_threads(thread_policy(n))`` and ``torch.set_num_threads(1)``, scikit-learn's OpenMP and BLAS
through threadpoolctl), on the same 5-fold ``KFold(shuffle=True, random_state=0)`` splits.

Datasets (all install offline): scikit-learn's ``load_diabetes``; vega_datasets' ``cars`` (rows with a
missing value dropped); two of statsmodels' bundled sets, ``star98`` (share of a district's 9th graders
above the national maths median) and ``fair`` (time spent in extramarital affairs, a 1,000-row random
subsample: at 6,366 rows skjacnet's unconstrained default takes 40-80 s a fold); Friedman #1
(``make_friedman1``, noise 1); and four 1-D increasing curves (``CURVES``): ``tanh1d`` tanh(3x),
``exp1d`` exp(x), ``logistic1d`` 1 / (1 + exp(-4x)), ``log1d`` log(x + 2.5), each plus N(0, 0.1^2) noise on
x ~ U[-1, 1], n = 2000 (seeds 0, 1, 2, 3), scored on the held-out fold and against the noiseless curve on
[-1, 1] and on [-2, 2] (extrapolation).  Each dataset has monotone directions (stated in ``DATASETS`` with
the reason).  ``small1d`` (a section of its own): the same four curves from 200 noisy points, 8 independent
samples each, the monotone reference peers and skjacnet's defaults fitted on each whole sample and scored
against the truth on [-1, 1] and [-2, 2].

Models, all at their defaults (``random_state=0`` where there is one):

- peers: HistGradientBoostingRegressor without and with ``monotonic_cst``; ``make_pipeline(
  StandardScaler(), MLPRegressor())``; pyGAM's ``LinearGAM()`` and the same spline terms with pyGAM's
  monotone constraints (skipped with a note if pygam does not import); LMN (monotonenorm: a Lipschitz
  GroupSort network inside SigmaNet, trained here by MSE with Adam on standardised X and y, its lambda and
  learning rate chosen on an inner 80/20 split, as benchmarks/classification.py does); for the 1-D tasks
  ``IsotonicRegression(out_of_bounds='clip')`` (its default, 'nan', predicts NaN outside the training range)
  and UMNN's ``MonotonicNN(2, [64], nb_steps=50)`` (500 full-batch Adam steps on the MSE, learning rate
  0.01; skipped with a note if UMNN does not import).
- skjacnet: ``JacobianRegressor()`` (constraint='auto': the potential on the n-D tasks, the paper's 1-D
  JacNet on the 1-D ones), ``JacobianRegressor(monotonic_cst=...)``, ``JacobianRegressor(n_layers=2)`` (a
  variant), on the n-D tasks ``JacobianRegressor(constraint='nonconservative')`` (the paper's
  full-Jacobian field, a variant: in 1-D it is JacobianRegressor()'s own model) and
  ``JacobianRegressor(constraint='none')`` (the ridge model, the former n-D default, a variant), and on the
  1-D tasks ``InvertibleJacobianRegressor()``.

Reported: R^2 on each held-out fold (mean, std), fit seconds per fold, for the 1-D tasks MAE against the
truth and each skjacnet default's ratio to the best of UMNN, IsotonicRegression and pyGAM's monotone
spline, and the warnings each fit emits (recorded with ``warnings.catch_warnings(record=True)``, counted by category).
Prints the tables; ``--md`` writes the page, ``--json`` the raw rows.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's skjacnet
from _lmn import lmn_net  # noqa: E402  (benchmarks/ is the script's directory: on sys.path)
from _train import train_mse  # noqa: E402

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor  # noqa: E402
from skjacnet._runtime import thread_policy, torch_threads  # noqa: E402

torch.set_num_threads(1)
N_FOLDS = 5
PEER, OURS = "peer", "skjacnet"


# ============================================================================================ datasets
def _diabetes(quick):
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    cst = {"bmi": 1, "bp": 1}
    return dict(
        X=d.data, y=d.target, names=list(d.feature_names), cst=[cst.get(f, 0) for f in d.feature_names],
        source="sklearn.datasets.load_diabetes (disease progression after one year)",
        why="bmi and bp increasing: higher body-mass index and blood pressure, faster progression",
    )  # fmt: skip


def _cars(quick):
    from vega_datasets import local_data

    df = local_data.cars().dropna()
    df = df.assign(Year=df["Year"].dt.year)
    for origin in ("USA", "Europe", "Japan"):
        df[f"Origin_{origin}"] = (df["Origin"] == origin).astype(float)
    names = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Year",
             "Origin_USA", "Origin_Europe", "Origin_Japan"]  # fmt: skip
    cst = {"Displacement": -1, "Horsepower": -1, "Weight_in_lbs": -1}
    return dict(
        X=df[names].to_numpy(float), y=df["Miles_per_Gallon"].to_numpy(float), names=names,
        cst=[cst.get(f, 0) for f in names],
        source="vega_datasets.local_data.cars(), rows with NaN dropped; target Miles_per_Gallon; Origin one-hot",
        why="MPG decreasing in Displacement, Horsepower and Weight_in_lbs (bigger, heavier engines burn more)",
    )  # fmt: skip


def _star98(quick):
    import statsmodels.datasets as smd

    df = smd.star98.load_pandas().data
    names = ["LOWINC", "PERASIAN", "PERBLACK", "PERHISP", "PERMINTE", "AVYRSEXP", "AVSALK", "PERSPENK",
             "PTRATIO", "PCTAF", "PCTCHRT", "PCTYRRND"]  # fmt: skip
    cst = {"LOWINC": -1, "PCTAF": 1}
    return dict(
        X=df[names].to_numpy(float), y=(df["NABOVE"] / (df["NABOVE"] + df["NBELOW"])).to_numpy(float),
        names=names, cst=[cst.get(f, 0) for f in names],
        source="statsmodels.datasets.star98 (303 California districts): target NABOVE / (NABOVE + NBELOW), "
        "the 12 base variables (the 8 interaction columns are products of them, left out)",
        why="decreasing in LOWINC (share of low-income pupils: the largest effect in statsmodels' binomial GLM "
        "example, and the well-documented income-attainment gradient), increasing in PCTAF (share taking the "
        "UC/CSU college-prep courses)",
    )  # fmt: skip


def _fair(quick):
    import statsmodels.datasets as smd

    df = smd.fair.load_pandas().data
    n = 400 if quick else 1000
    df = df.iloc[np.random.RandomState(0).choice(len(df), n, replace=False)]
    names = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation",
             "occupation_husb"]  # fmt: skip
    cst = {"rate_marriage": -1, "religious": -1}
    return dict(
        X=df[names].to_numpy(float), y=df["affairs"].to_numpy(float), names=names,
        cst=[cst.get(f, 0) for f in names],
        source=f"statsmodels.datasets.fair, a random subsample of {n} of its 6,366 rows (seed 0): target affairs "
        "(time spent in extramarital affairs; 68% zeros, heavy right tail)",
        why="decreasing in rate_marriage (self-rated marriage, 1 very poor .. 5 very good) and religious "
        "(1 not .. 4 strongly): the two effects Fair (1978) reports as the strongest negative ones",
    )  # fmt: skip


def _friedman1(quick):
    from sklearn.datasets import make_friedman1

    n = 200 if quick else 500
    X, y = make_friedman1(n_samples=n, n_features=10, noise=1.0, random_state=0)
    return dict(
        X=X, y=y, names=[f"x{j}" for j in range(10)], cst=[0, 0, 0, 1, 1, 0, 0, 0, 0, 0],
        source=f"sklearn.datasets.make_friedman1(n_samples={n}, n_features=10, noise=1.0, random_state=0)",
        why="increasing in x3 and x4: the formula 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise",
    )  # fmt: skip


def tanh_truth(x):
    return np.tanh(3 * x)


def _curve1d(truth, formula, seed, why="increasing by construction"):
    """A 1-D monotone curve dataset: truth(x) + N(0, 0.1^2), x ~ U[-1, 1], n = 2000 (300 with --quick)."""

    def make(quick):
        n = 300 if quick else 2000
        rng = np.random.RandomState(seed)
        x = rng.uniform(-1, 1, n)
        return dict(
            X=x[:, None], y=truth(x) + 0.1 * rng.normal(size=n), names=["x"], cst=[1],
            source=f"{formula} + N(0, 0.1^2), x ~ U[-1, 1], n = {n} (seed {seed})", why=why, truth=truth,
            formula=formula,
        )  # fmt: skip

    return make


CURVES = {
    "tanh1d": _curve1d(tanh_truth, "tanh(3x)", 0, "increasing by construction (saturates: flat beyond |x| = 1)"),
    "exp1d": _curve1d(np.exp, "exp(x)", 1, "increasing by construction (convex: the slope keeps growing)"),
    "logistic1d": _curve1d(lambda x: 1 / (1 + np.exp(-4 * x)), "1 / (1 + exp(-4x))", 2,
                           "increasing by construction (saturates at 0 and 1)"),
    "log1d": _curve1d(lambda x: np.log(x + 2.5), "log(x + 2.5)", 3,
                      "increasing by construction (concave: the slope keeps shrinking)"),
}  # fmt: skip
DATASETS = {"diabetes": _diabetes, "cars": _cars, "star98": _star98, "fair": _fair, "friedman1": _friedman1,
            **CURVES}  # fmt: skip
# The small-sample section: each 1-D curve from SMALL_N noisy points, SMALL_SAMPLES independent draws (seed
# 100 + 10 j + s for curve j, draw s), every model fitted on all of them and scored against the truth
SMALL, SMALL_N, SMALL_SAMPLES = "small1d", 200, 8


# ============================================================================================ peers
class LMNRegressor:
    """LMN (Kitouni et al.): SigmaNet(lam, monotone) around a lam-Lipschitz GroupSort MLP (monotonenorm's
    direct_norm: |W|_{1,inf} on the first layer, |W|_inf after), on standardised X and y, MSE with Adam;
    lam (and the learning rate, if several are given) chosen on an inner 80/20 split by validation MSE, then
    refitted on the whole training fold."""

    def __init__(self, monotonic_cst, lams=(1.0, 4.0), lrs=(1e-2,), steps=500, width=64, seed=0):
        self.cst, self.lams, self.lrs, self.steps, self.width, self.seed = monotonic_cst, lams, lrs, steps, width, seed

    def _build(self, d, lam):
        return lmn_net(d, self.cst, lam, self.width)

    def fit(self, X, y):
        from sklearn.model_selection import train_test_split

        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-12  # positive scales keep every direction
        self.ymean_, self.yscale_ = y.mean(), y.std() + 1e-12
        Xs, ys = (X - self.mean_) / self.scale_, (y - self.ymean_) / self.yscale_
        with torch_threads(thread_policy(len(X))):
            grid = [(lam, lr) for lam in self.lams for lr in self.lrs]
            if len(grid) > 1:
                a, b = train_test_split(np.arange(len(X)), test_size=0.2, random_state=self.seed)
                scores = []
                for lam, lr in grid:
                    torch.manual_seed(self.seed)
                    net = train_mse(self._build(X.shape[1], lam), Xs[a], ys[a, None], lr, self.steps, seed=self.seed)
                    with torch.no_grad():
                        p = net(torch.as_tensor(Xs[b], dtype=torch.float32))[:, 0].numpy()
                    scores.append(float(np.mean((p - ys[b]) ** 2)))
                self.lam_, self.lr_ = grid[int(np.argmin(scores))]
            else:
                self.lam_, self.lr_ = grid[0]
            torch.manual_seed(self.seed)
            net = train_mse(self._build(X.shape[1], self.lam_), Xs, ys[:, None], self.lr_, self.steps, seed=self.seed)
        self.net_ = net.double().eval()
        return self

    def predict(self, X):
        with torch.no_grad(), torch_threads(thread_policy(len(X))):
            z = self.net_(torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float64))[:, 0].numpy()
        return self.ymean_ + self.yscale_ * z


class UMNNRegressor:
    """UMNN's MonotonicNN (Wehenkel & Louppe, 2019) on 1-D data: MonotonicNN(2, [64], nb_steps=50) called as
    net(x, 0), made inside torch.random.fork_rng() after torch.manual_seed(seed) (UMNN initialises from torch's
    global generator), trained by full-batch Adam on the MSE in float32 (as skjacnet/experiments/reproduce.py's
    UMNNPeer, which uses an L1 loss)."""

    def __init__(self, steps=500, lr=0.01, seed=0):
        self.steps, self.lr, self.seed = steps, lr, seed

    def fit(self, X, y):
        from UMNN import MonotonicNN

        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            self.net_ = MonotonicNN(2, [64], nb_steps=50, dev="cpu")
        x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1)
        t = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        with torch_threads(thread_policy(len(X))):
            for _ in range(self.steps):
                opt.zero_grad()
                torch.mean((self.net_(x, torch.zeros_like(x)) - t) ** 2).backward()
                opt.step()
        return self

    def predict(self, X):
        x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1)
        with torch.no_grad(), torch_threads(thread_policy(len(X))):
            return self.net_(x, torch.zeros_like(x)).numpy().ravel().astype(np.float64)


def _umnn():
    try:
        import UMNN  # noqa: F401

        return None
    except Exception as exc:  # pragma: no cover - depends on the environment
        return f"UMNN not importable ({type(exc).__name__}: {exc}); its rows (1-D datasets) are skipped"


def _pygam():
    try:
        import pygam  # noqa: F401

        return None
    except Exception as exc:  # pragma: no cover - depends on the environment
        return f"pygam not importable ({type(exc).__name__}: {exc}); its rows are skipped"


def gam_monotone(cst):
    """pyGAM's LinearGAM with LinearGAM()'s own terms (a spline s(j) per feature, its default 20 splines and lam),
    the constrained features' splines given pyGAM's monotonic_inc / monotonic_dec constraint."""
    from functools import reduce

    from pygam import LinearGAM, s

    terms = [s(j, constraints={1: "monotonic_inc", -1: "monotonic_dec"}[c]) if c else s(j) for j, c in enumerate(cst)]
    return LinearGAM(reduce(lambda a, b: a + b, terms))


def models_for(ds, quick):
    """(label, kind, factory) for every model run on a dataset."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cst = ds["cst"]
    q = {"max_iter": 20} if quick else {}  # --quick only checks that everything runs
    out = [
        ("HistGradientBoosting", PEER, lambda: HistGradientBoostingRegressor(random_state=0)),
        ("HistGradientBoosting (monotonic_cst)", PEER,
         lambda: HistGradientBoostingRegressor(monotonic_cst=cst, random_state=0)),
        ("MLPRegressor (StandardScaler pipeline)", PEER,
         lambda: make_pipeline(StandardScaler(), MLPRegressor(random_state=0, **({"max_iter": 50} if quick else {})))),
    ]  # fmt: skip
    if _pygam() is None:
        from pygam import LinearGAM

        g = {"max_iter": 10} if quick else {}
        out += [("LinearGAM (pyGAM)", PEER, lambda: LinearGAM(**g)),
                ("LinearGAM (pyGAM, monotone terms)", PEER, lambda: gam_monotone(cst).set_params(**g))]  # fmt: skip
    lmn = {"steps": 100, "lams": (1.0,), "lrs": (1e-2,)} if quick else {}
    out.append(("LMN (monotonenorm, monotone)", PEER, lambda: LMNRegressor(cst, **lmn)))
    if ds["X"].shape[1] == 1:
        from sklearn.isotonic import IsotonicRegression

        iso = lambda: IsotonicRegression(out_of_bounds="clip")  # noqa: E731
        out.append(("IsotonicRegression (out_of_bounds='clip')", PEER, iso))
        if _umnn() is None:
            out.append((UMNN_LABEL, PEER, lambda: UMNNRegressor(**({"steps": 50} if quick else {}))))
    out += [
        ("JacobianRegressor()", OURS, lambda: JacobianRegressor(random_state=0, **q)),
        ("JacobianRegressor(monotonic_cst)", OURS, lambda: JacobianRegressor(monotonic_cst=cst, random_state=0, **q)),
        ("JacobianRegressor(n_layers=2)", OURS, lambda: JacobianRegressor(n_layers=2, random_state=0, **q)),
    ]  # fmt: skip
    if ds["X"].shape[1] == 1:
        out.append(("InvertibleJacobianRegressor()", OURS, lambda: InvertibleJacobianRegressor(random_state=0, **q)))
    else:  # in 1-D the full-Jacobian field is JacobianRegressor()'s own model
        out.append((NONCONS, OURS, lambda: JacobianRegressor(constraint="nonconservative", random_state=0, **q)))
        # the ridge model, the n-D default before constraint='auto' chose the potential
        out.append((RIDGES, OURS, lambda: JacobianRegressor(constraint="none", random_state=0, **q)))
    return out


UMNN_LABEL = "UMNN (MonotonicNN, 500 Adam steps)"
NONCONS = "JacobianRegressor(constraint='nonconservative')"
RIDGES = "JacobianRegressor(constraint='none')"
DEFAULTS = ("JacobianRegressor()", "JacobianRegressor(monotonic_cst)", "InvertibleJacobianRegressor()")
# the 1-D section's yardstick: the monotone peers built for one input
REFERENCE = (UMNN_LABEL, "IsotonicRegression (out_of_bounds='clip')", "LinearGAM (pyGAM, monotone terms)")


# ============================================================================================ run
def _r2(y, p):
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


def run_dataset(name, quick):
    from sklearn.model_selection import KFold

    ds = DATASETS[name](quick)
    X, y, cst = ds["X"], ds["y"], ds["cst"]
    if quick and len(X) > 200:
        keep = np.random.RandomState(0).choice(len(X), 200, replace=False)
        X, y = X[keep], y[keep]
    constrained = ", ".join(f"{ds['names'][j]} ({'+' if c > 0 else '-'})" for j, c in enumerate(cst) if c)
    print(f"{name}: n={len(X)}, d={X.shape[1]}, constrained {constrained}", flush=True)
    folds = list(KFold(2 if quick else N_FOLDS, shuffle=True, random_state=0).split(X))
    grids = {}
    if "truth" in ds:
        grids = {"[-1, 1]": np.linspace(-1, 1, 2001)[:, None], "[-2, 2]": np.linspace(-2, 2, 4001)[:, None]}
    rows = []
    for label, kind, make in models_for(ds, quick):
        r2, fit_s, mae, grid_mae, caught, extra = [], [], [], {g: [] for g in grids}, Counter(), {}
        messages = Counter()
        for tr, te in folds:
            model = make()
            printed = io.StringIO()
            with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(printed):
                warnings.simplefilter("always")
                t = time.perf_counter()
                model.fit(X[tr], y[tr])
                fit_s.append(time.perf_counter() - t)
                p = np.asarray(model.predict(X[te]), dtype=float).ravel()
                preds = {g: np.asarray(model.predict(G), dtype=float).ravel() for g, G in grids.items()}
            for line in filter(None, (s.strip() for s in printed.getvalue().splitlines())):
                caught["printed line"] += 1
                messages[f"printed: {line[:150]}"] += 1
            for wi in w:
                caught[wi.category.__name__] += 1
                messages[f"{wi.category.__name__}: {str(wi.message)[:150]}"] += 1
            r2.append(_r2(y[te], p))
            mae.append(float(np.mean(np.abs(y[te] - p))))
            for g, G in grids.items():
                grid_mae[g].append(float(np.mean(np.abs(ds["truth"](G[:, 0]) - preds[g]))))
            if hasattr(model, "solver_"):
                extra.setdefault("solver", []).append(model.solver_)
                extra.setdefault("n_iter", []).append(int(model.n_iter_))
            if isinstance(model, LMNRegressor):
                extra.setdefault("lmn_lambda_lr", []).append([model.lam_, model.lr_])
        row = {
            "part": "tabular", "dataset": name, "model": label, "kind": kind, "n": len(X), "d": X.shape[1],
            "n_folds": len(folds),
            "r2": r2, "r2_mean": float(np.mean(r2)), "r2_std": float(np.std(r2)), "fit_s": [round(v, 3) for v in fit_s],
            "fit_s_mean": float(np.mean(fit_s)), "mae": mae, "mae_mean": float(np.mean(mae)),
            "warnings": dict(caught), "n_warnings": int(sum(caught.values())),
            "warning_messages": dict(messages.most_common(8)), "constrained": constrained,
            "source": ds["source"], "why": ds["why"], **extra,
        }  # fmt: skip
        for g in grids:
            row[f"mae_truth_{g}"] = float(np.mean(grid_mae[g]))
            row[f"mae_truth_{g}_folds"] = grid_mae[g]
        if "formula" in ds:
            row["formula"] = ds["formula"]
        rows.append(row)
        grid_txt = "".join(f"  MAE{g} {row[f'mae_truth_{g}']:.4f}" for g in grids)
        print(f"  {label:48s} R2 {row['r2_mean']:7.4f} ± {row['r2_std']:.3f}  fit {row['fit_s_mean']:6.2f}s"
              f"{grid_txt}  warnings {dict(caught) or 0}", flush=True)  # fmt: skip
    return rows


def run_small(quick):
    """The 1-D curves from SMALL_N noisy points: per curve SMALL_SAMPLES samples, each model fitted on the whole
    sample (no folds) and scored by its MAE against the noiseless curve on [-1, 1] and [-2, 2]; the monotone
    reference peers and skjacnet's defaults only (the section asks whether the defaults extrapolate as well as
    the models made for one monotone input)."""
    n, samples = (SMALL_N, 2) if quick else (SMALL_N, SMALL_SAMPLES)
    grids = {"[-1, 1]": np.linspace(-1, 1, 2001)[:, None], "[-2, 2]": np.linspace(-2, 2, 4001)[:, None]}
    rows = []
    for j, (name, make_ds) in enumerate(CURVES.items()):
        ds = make_ds(True)
        truth, formula = ds["truth"], ds["formula"]
        draws = []
        for s in range(samples):
            rng = np.random.RandomState(100 + 10 * j + s)
            x = rng.uniform(-1, 1, n)
            draws.append((x[:, None], truth(x) + 0.1 * rng.normal(size=n)))
        print(f"{SMALL}/{name}: {samples} samples of n={n}", flush=True)
        ds = dict(X=draws[0][0], cst=[1])
        for label, kind, make in models_for(ds, quick):
            if label not in REFERENCE and label not in DEFAULTS:
                continue
            fit_s, mae, caught = [], {g: [] for g in grids}, Counter()
            for X, y in draws:
                model = make()
                with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("always")
                    t = time.perf_counter()
                    model.fit(X, y)
                    fit_s.append(time.perf_counter() - t)
                    for g, G in grids.items():
                        p = np.asarray(model.predict(G), dtype=float).ravel()
                        mae[g].append(float(np.mean(np.abs(truth(G[:, 0]) - p))))
                for wi in w:
                    caught[wi.category.__name__] += 1
            row = {"part": SMALL, "dataset": name, "formula": formula, "model": label, "kind": kind, "n": n,
                   "samples": samples, "fit_s": [round(v, 3) for v in fit_s], "fit_s_mean": float(np.mean(fit_s)),
                   "warnings": dict(caught)}  # fmt: skip
            for g in grids:
                row[f"mae_truth_{g}"] = float(np.mean(mae[g]))
                row[f"mae_truth_{g}_samples"] = mae[g]
            rows.append(row)
            print(f"  {label:48s} MAE[-2, 2] {row['mae_truth_[-2, 2]']:.4f} (worst {max(mae['[-2, 2]']):.4f})  "
                  f"MAE[-1, 1] {row['mae_truth_[-1, 1]']:.4f}  fit {row['fit_s_mean']:.2f}s  "
                  f"warnings {dict(caught) or 0}", flush=True)  # fmt: skip
    return rows


def reference_ratios(rows, targets, ours, key):
    """The best reference peer's row per target (None where none ran) and, per default and target, the
    default's ``key`` divided by that peer's."""
    by = {(r["dataset"], r["model"]): r for r in rows}
    refs = {t: [by[(t, m)] for m in REFERENCE if (t, m) in by] for t in targets}
    best = {t: min(refs[t], key=lambda r: r[key], default=None) for t in targets}
    ratio = {m: {t: by[(t, m)][key] / best[t][key] for t in targets if best[t] and (t, m) in by} for m in ours}
    return best, ratio


def small_section(rows):
    """The SMALL_N-point 1-D section: mean MAE per curve, and each default's ratio to the best reference peer."""
    small = [r for r in rows if r["part"] == SMALL]
    if not small:
        return []
    targets = list(dict.fromkeys(r["dataset"] for r in small))
    by = {(r["dataset"], r["model"]): r for r in small}
    n, samples = small[0]["n"], small[0]["samples"]
    key = "mae_truth_[-2, 2]"
    formulas = ", ".join(f"{t}: {f}" for t, f in dict((r["dataset"], r["formula"]) for r in small).items())
    out = ["", f"## The 1-D curves from {n} points", "",
           f"Each curve ({formulas}) "
           f"from {n} points x ~ U[-1, 1] with N(0, 0.1^2) noise, {samples} independent samples (seed 100 + 10 j + s "
           "for curve j, sample s: none of them the n = 2000 data above), each model fitted on the whole sample. "
           f"MAE against the noiseless curve on 4001 points of [-2, 2], mean over the {samples} samples (the worst "
           "sample in brackets); the monotone reference peers and skjacnet's defaults. Bold: the best of the curve.",
           ""]  # fmt: skip
    secs = ("fit s (mean)", lambda rs: f"{np.mean([r['fit_s_mean'] for r in rs]):.2f}")
    out += _mae_table(small, targets, key, lambda r: f"{r[key]:.4f} ({max(r[key + '_samples']):.3f})", secs)
    out += ["", f"In range ([-1, 1], 2001 points), mean over the {samples} samples:", ""]
    out += _mae_table(small, targets, "mae_truth_[-1, 1]")
    ours = [m for m in DEFAULTS if any((t, m) in by for t in targets)]
    out += ["", "Each default's MAE on [-2, 2] divided by the best reference peer's (" + ", ".join(REFERENCE)
            + ", those that ran):", "", "| curve | best reference peer (MAE) | " + " | ".join(ours) + " |",
            "|---|---|" + "---|" * len(ours)]  # fmt: skip
    best, ratio = reference_ratios(small, targets, ours, key)
    for t in targets:
        if best[t] is None:
            out.append(f"| {t} | — (no reference peer ran) |" + " — |" * len(ours))
            continue
        cells = [f"{ratio[m][t]:.2f}×" if t in ratio[m] else "—" for m in ours]
        out.append(f"| {t} | {best[t]['model']} ({best[t][key]:.4f}) | " + " | ".join(cells) + " |")
    out.append("")
    for m in ours:
        if not ratio[m]:
            continue
        worst = max(ratio[m], key=ratio[m].get)
        verdict = (
            "within 2× on every curve"
            if ratio[m][worst] <= 2
            else "NOT within 2× on " + ", ".join(f"{t} ({v:.1f}×)" for t, v in ratio[m].items() if v > 2)
        )
        out.append(f"- {m}: {verdict} (worst {worst}, {ratio[m][worst]:.2f}×).")
    warned = [f"{r['model']} on {r['dataset']}: {r['warnings']}" for r in small if r["kind"] == OURS and r["warnings"]]
    out.append("- skjacnet's warnings in these fits: " + ("; ".join(warned) if warned else "none") + ".")
    return out


# ============================================================================================ page
def _cell(r):
    return f"{r['r2_mean']:.3f} ± {r['r2_std']:.3f} ({r['fit_s_mean']:.2f} s)"


def _warn_txt(r):
    return ", ".join(f"{k} {v}" for k, v in sorted(r["warnings"].items())) or "0"


def _mae_table(oned, targets, key, cell=None, extra=None):
    """A model x target table of one MAE column, the best of each target bold; ``cell(row)`` formats a cell
    (default the MAE), ``extra = (title, f(model rows))`` adds a last column."""
    cell = cell or (lambda r: f"{r[key]:.4f}")
    by = {(r["dataset"], r["model"]): r for r in oned}
    best = {t: min((r for r in oned if r["dataset"] == t), key=lambda r: r[key])["model"] for t in targets}
    tail = [extra[0]] if extra else []
    out = ["| model | " + " | ".join([*targets, *tail]) + " |", "|---|" + "---|" * (len(targets) + len(tail))]
    for m in dict.fromkeys(r["model"] for r in oned):
        cells = []
        for t in targets:
            r = by.get((t, m))
            v = "—" if r is None else cell(r)
            cells.append(f"**{v}**" if r is not None and best[t] == m else v)
        if extra:
            cells.append(extra[1]([by[(t, m)] for t in targets if (t, m) in by]))
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    return out


def curves_section(rows, k):
    """The 1-D datasets: MAE against the noiseless curve in range and beyond, and skjacnet's defaults against
    the best reference peer (UMNN, IsotonicRegression, pyGAM's monotone spline)."""
    oned = [r for r in rows if "mae_truth_[-2, 2]" in r]
    if not oned:
        return []
    targets = list(dict.fromkeys(r["dataset"] for r in oned))
    by = {(r["dataset"], r["model"]): r for r in oned}
    fm = {r["dataset"]: r["formula"] for r in oned if "formula" in r}
    formulas = ", ".join(f"{t}: {fm[t]}" for t in targets if t in fm)
    out = ["", "## The 1-D curves: MAE in range and beyond it", "",
           f"Targets ({formulas or 'see Datasets'}), each plus N(0, 0.1^2) noise, x ~ U[-1, 1]. MAE against the "
           "noiseless curve on 4001 equally spaced points of [-2, 2] (the outer half is extrapolation: the training "
           f"x lie in [-1, 1]), mean over the {k} fold models. Bold: the best of the target.", ""]  # fmt: skip
    out += _mae_table(oned, targets, "mae_truth_[-2, 2]")
    out += ["", "In range: MAE against the noiseless curve on 2001 equally spaced points of [-1, 1] (held-out R² "
            "in the R² table above).", ""]  # fmt: skip
    out += _mae_table(oned, targets, "mae_truth_[-1, 1]")
    key = "mae_truth_[-2, 2]"
    ours = [m for m in DEFAULTS if any((t, m) in by for t in targets)]
    out += ["", "### skjacnet's defaults against the best reference peer, on [-2, 2]", "",
            "Reference peers: the monotone models made for one input, "
            + ", ".join(f"{m}" for m in REFERENCE) + " (those that ran). Each cell: the default's MAE on [-2, 2] "
            "divided by the best reference peer's, then by the best of all peers.", "",
            "| target | best reference peer (MAE) | best peer (MAE) | " + " | ".join(ours) + " |",
            "|---|---|---|" + "---|" * len(ours)]  # fmt: skip
    best, ratio = reference_ratios(oned, targets, ours, key)
    for t in targets:
        bp = min((r for r in oned if r["dataset"] == t and r["kind"] == PEER), key=lambda r: r[key])
        br = best[t]
        if br is None:
            out.append(f"| {t} | — (no reference peer ran) | {bp['model']} ({bp[key]:.4f}) |" + " — |" * len(ours))
            continue
        cells = [
            f"{by[(t, m)][key]:.4f}: {ratio[m][t]:.1f}× ref, {by[(t, m)][key] / bp[key]:.1f}× best" if t in ratio[m]
            else "—"
            for m in ours
        ]  # fmt: skip
        head = f"| {t} | {br['model']} ({br[key]:.4f}) | {bp['model']} ({bp[key]:.4f}) | "
        out.append(head + " | ".join(cells) + " |")
    out.append("")
    scored = [t for t in targets if any(t in ratio[m] for m in ours)]
    within = [m for m in ours if scored and all(ratio[m].get(t, np.inf) <= 2 for t in scored)]
    beyond = [m for m in ours if m not in within]
    if within:
        out.append(f"- Within 2× of the best reference peer on every 1-D target ({', '.join(scored)}): "
                   + ", ".join(f"{m} (worst {max(ratio[m].values()):.1f}×)" for m in within) + ".")  # fmt: skip
    else:
        out.append("- No skjacnet default is within 2× of the best reference peer on every 1-D target.")
    for m in beyond:
        over = [f"{t} {ratio[m][t]:.1f}×" for t in scored if ratio[m].get(t, 0) > 2]
        miss = [t for t in scored if t not in ratio[m]]
        out.append(f"- Not within 2×: {m}, on " + ", ".join(over + [f"{t} (not run)" for t in miss]) + ".")
    return out


def tables(all_rows):
    rows = [r for r in all_rows if r["part"] == "tabular"]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["dataset"], r["model"]): r for r in rows}
    if not rows:  # a run of the small-sample section alone
        return small_section(all_rows) + [""]
    k = rows[0]["n_folds"]
    out = ["## Datasets", "", "| dataset | n | d | source | monotone directions | why |", "|---|---|---|---|---|---|"]
    for d in datasets:
        r = next(r for r in rows if r["dataset"] == d)
        out.append(f"| {d} | {r['n']} | {r['d']} | {r['source']} | {r['constrained']} | {r['why']} |")
    out += ["", "## R² on the held-out folds", "",
            f"{k}-fold `KFold(shuffle=True, random_state=0)`; mean ± std over the folds, the mean fit seconds "
            "per fold in brackets. Bold: the best mean R² of the row's dataset.", "",
            "| model | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]  # fmt: skip
    best = {d: max((r for r in rows if r["dataset"] == d), key=lambda r: r["r2_mean"])["model"] for d in datasets}
    for m in models:
        cells = []
        for d in datasets:
            r = by.get((d, m))
            cells.append("—" if r is None else (f"**{_cell(r)}**" if best[d] == m else _cell(r)))
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    out += curves_section(rows, k)
    out += small_section(all_rows)
    out += ["", f"## Warnings per {k} fits (by category)", "",
            "Every warning raised inside `fit` and `predict`, recorded with `warnings.catch_warnings(record=True)` "
            f"and `simplefilter('always')`, summed over the {k} folds; `printed line`: lines a model printed on "
            "stdout instead (pyGAM's `did not converge`).", "",
            "| model | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]  # fmt: skip
    for m in models:
        cells = [_warn_txt(by[(d, m)]) if (d, m) in by else "—" for d in datasets]
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    msgs = Counter()
    for r in rows:
        if r["kind"] == OURS:
            for msg, count in r["warning_messages"].items():
                head = msg.split(" (relative")[0].split(": the training loss")[0][:120]
                msgs[re.sub(r"\d+(\.\d+)?", "#", head) if "conservative" in head else head] += count
    if msgs:
        out += ["", "skjacnet's warnings, by message (start of the text, all datasets and models):", ""]
        out += [f"- {count} × `{m}`" for m, count in msgs.most_common()]
    # summary
    out += ["", "## skjacnet's defaults against the best peer", "",
            "Per dataset: the best peer by mean R² (every peer row above), skjacnet's best default row "
            "(`JacobianRegressor()`, `JacobianRegressor(monotonic_cst)`, and on the 1-D tasks "
            "`InvertibleJacobianRegressor()`; not the n_layers=2 or nonconservative variants) and each default's "
            "difference to the best peer; the variants' differences beside them (the nonconservative one on the n-D "
            "datasets only); fit-time ratios to HistGradientBoosting (unconstrained) per fold.", "",
            "| dataset | best peer | R² | JacobianRegressor() | Δ | JacobianRegressor(monotonic_cst) | Δ | "
            "n_layers=2 Δ | nonconservative Δ | fit time / HGB: default, monotone, n_layers=2, nonconservative |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    variants = ("JacobianRegressor()", "JacobianRegressor(monotonic_cst)", "JacobianRegressor(n_layers=2)", NONCONS)
    deltas = {m: {} for m in (*variants, "best default")}  # dataset -> R² difference to the best peer
    ratios = {m: {} for m in variants}  # dataset -> fit seconds / HGB's
    for d in datasets:
        peers = [r for r in rows if r["dataset"] == d and r["kind"] == PEER]
        bp = max(peers, key=lambda r: r["r2_mean"])
        hgb = by[(d, "HistGradientBoosting")]["fit_s_mean"]
        for m in variants:
            if (d, m) in by:
                deltas[m][d] = by[(d, m)]["r2_mean"] - bp["r2_mean"]
                ratios[m][d] = by[(d, m)]["fit_s_mean"] / hgb
        defaults = [by[(d, m)] for m in DEFAULTS if (d, m) in by]
        bd = max(defaults, key=lambda r: r["r2_mean"])
        deltas["best default"][d] = bd["r2_mean"] - bp["r2_mean"]
        j0, jm = by[(d, "JacobianRegressor()")], by[(d, "JacobianRegressor(monotonic_cst)")]
        dv = [f"{deltas[m][d]:+.3f}" if d in deltas[m] else "—" for m in variants]
        times = ", ".join(f"{ratios[m][d]:.0f}×" if d in ratios[m] else "—" for m in variants)
        cells = [bp["model"], f"{bp['r2_mean']:.3f}", f"{j0['r2_mean']:.3f}", dv[0], f"{jm['r2_mean']:.3f}", dv[1],
                 dv[2], dv[3], times]  # fmt: skip
        out.append(f"| {d} | " + " | ".join(cells) + " |")
        if (d, "InvertibleJacobianRegressor()") in by:
            ij = by[(d, "InvertibleJacobianRegressor()")]
            out.append(f"| ↳ {d}: InvertibleJacobianRegressor() | | | | | | | | | R² {ij['r2_mean']:.3f} "
                       f"(Δ {ij['r2_mean'] - bp['r2_mean']:+.3f}), {ij['fit_s_mean'] / hgb:.0f}× |")  # fmt: skip
    nd = [d for d in datasets if next(r for r in rows if r["dataset"] == d)["d"] > 1]

    def agg(f, m, over):
        v = [deltas[m][d] for d in over if d in deltas[m]]
        return f"{f(v):+.3f}" if v else "—"

    def gmean(m, over):
        v = [ratios[m][d] for d in over if d in ratios[m]]
        return f"{float(np.exp(np.mean(np.log(v)))):.0f}×" if v else "—"

    summaries = [(f"**mean over {len(datasets)} datasets**", np.mean, datasets, True),
                 (f"median over {len(datasets)} datasets", np.median, datasets, False)]  # fmt: skip
    if 0 < len(nd) < len(datasets):
        summaries.append((f"mean over the {len(nd)} n-D datasets", np.mean, nd, True))
    for title, f, over, with_time in summaries:
        dv = [agg(f, m, over) for m in variants]
        tail = ("geometric mean " + ", ".join(gmean(m, over) for m in variants)) if with_time else ""
        out.append(f"| {title} | | | | {dv[0]} | | {dv[1]} | {dv[2]} | {dv[3]} | {tail} |")
    out.append("")
    mean = {m: float(np.mean(list(v.values()))) for m, v in deltas.items() if v}
    med = {m: float(np.median(list(v.values()))) for m, v in deltas.items() if v}
    for d in datasets:
        drows = [r for r in rows if r["dataset"] == d]
        if max(r["r2_mean"] for r in drows) < 0.05:
            out.append(f"- {d}: no model explains 5% of the held-out variance on average; its ranking is mostly noise.")
        for i in range(k):
            neg = [r for r in drows if r["r2"][i] < 0]
            if 2 * len(neg) >= len(drows):
                top = max(drows, key=lambda r: r["r2"][i])
                out.append(f"- {d}, fold {i + 1}: {len(neg)} of {len(drows)} models score R² < 0 (lowest "
                           f"{min(r['r2'][i] for r in drows):.2f}, {min(drows, key=lambda r: r['r2'][i])['model']}; "
                           f"highest {top['r2'][i]:.2f}, {top['model']}).")  # fmt: skip
    wins = sum(v >= 0 for v in deltas["best default"].values())
    out.append(f"- skjacnet's best default row matches or beats the best peer on {wins} of {len(datasets)} datasets; "
               f"R² difference of that row: mean {mean['best default']:+.3f}, "
               f"median {med['best default']:+.3f}.")  # fmt: skip
    for variant in (NONCONS, RIDGES):  # the n-D variants against the default they could replace
        nc = {
            d: by[(d, variant)]["r2_mean"] - by[(d, "JacobianRegressor()")]["r2_mean"]
            for d in deltas[NONCONS]
            if (d, variant) in by
        }
        if nc:
            out.append(
                f"- {variant} (variant, n-D only) against JacobianRegressor(): higher R² on "
                f"{sum(v > 0 for v in nc.values())} of {len(nc)} datasets, difference mean "
                f"{np.mean(list(nc.values())):+.3f} (" + ", ".join(f"{d} {v:+.3f}" for d, v in nc.items()) + ")."
            )
    for d, v in deltas["best default"].items():
        if v < 0:
            peers = sorted((r for r in rows if r["dataset"] == d and r["kind"] == PEER), key=lambda r: -r["r2_mean"])
            defaults = [by[(d, m)] for m in DEFAULTS if (d, m) in by]
            bd = max(defaults, key=lambda r: r["r2_mean"])
            rank = 1 + sum(p["r2_mean"] > bd["r2_mean"] for p in peers)
            out.append(f"- {d}: loses by {-v:.3f} R² ({bd['model']} {bd['r2_mean']:.3f} against "
                       f"{peers[0]['model']} {peers[0]['r2_mean']:.3f}); it ranks {rank} of {len(peers) + 1} "
                       "among the peers and itself.")  # fmt: skip
    return out + [""]


def page(rows, args, wall_s):
    meta = next((r for r in rows if r["part"] == "meta"), {})
    versions = {}
    from importlib.metadata import version

    for mod in ("scikit-learn", "torch", "numpy", "pygam", "statsmodels", "vega_datasets", "monotonenorm", "umnn"):
        try:
            versions[mod] = version(mod)
        except Exception:
            pass
    import skjacnet

    notes = meta.get("notes", [])
    head = [
        "# Tabular regression: skjacnet's defaults against the peers' defaults",
        "",
        f"Generated by `OMP_NUM_THREADS=1 python benchmarks/tabular.py{' --quick' if args.quick else ''} --md "
        "docs/benchmarks_tabular.md --json docs/deep_results/tabular.json` on "
        f"{meta.get('date', datetime.date.today().isoformat())}, {platform.machine()} with {os.cpu_count()} CPU "
        "cores (another benchmark running on the other core), no GPU; every model in the same process, one "
        "thread each (torch through skjacnet's `torch_threads(thread_policy(n))` and `torch.set_num_threads(1)`, "
        f"scikit-learn's OpenMP and BLAS through threadpoolctl); whole run {wall_s:.0f} s wall-clock. Versions: "
        f"skjacnet {skjacnet.__version__} (this checkout), "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ". Raw rows (per-fold scores and fit times, warning texts): `docs/deep_results/tabular.json`.",
        "",
        "Every model runs at its defaults, `random_state=0` where it has one, nothing tuned on the data: "
        "HistGradientBoostingRegressor (with and without `monotonic_cst`), `make_pipeline(StandardScaler(), "
        "MLPRegressor())`, pyGAM's `LinearGAM()` and the same terms with pyGAM's monotone constraints, and "
        "skjacnet's `JacobianRegressor()` (`constraint='auto'`: on the n-D datasets the derivative of a learned MLP "
        "potential beside a linear term started at least squares, integrated in closed form; in 1-D the paper's "
        "JacNet), `JacobianRegressor(monotonic_cst=...)`, `JacobianRegressor(n_layers=2)` "
        "(a variant), `JacobianRegressor(constraint='nonconservative')` (the paper's n-D full-Jacobian field, the "
        "default before 'none', a variant; n-D datasets only: in 1-D it is the same model as `JacobianRegressor()`), "
        "`JacobianRegressor(constraint='none')` (n-D only, a variant: the conservative ridge model with a linear "
        "term started at least squares, the n-D default before 'auto') and "
        "`InvertibleJacobianRegressor()` (1-D). Datasets: five n-D ones and four 1-D increasing curves (tanh(3x), "
        "exp(x), 1 / (1 + exp(-4x)), log(x + 2.5), noise N(0, 0.1^2), x ~ U[-1, 1], n = 2000). Exceptions: LMN "
        "has no defaults of its own (its lambda is chosen on an inner 80/20 split of each training fold from "
        "{1, 4}; Adam at learning rate 1e-2, cut to 0.3× at 1/2 and 3/4 of the run, 500 steps of batches of 256, "
        "X and y standardised); IsotonicRegression gets `out_of_bounds='clip'` (the default 'nan' predicts NaN "
        "beyond the training range); UMNN (1-D only) has no training loop of its own: `MonotonicNN(2, [64], "
        "nb_steps=50)` called as `net(x, 0)`, seeded by `torch.manual_seed(0)` inside `torch.random.fork_rng()`, "
        "500 full-batch Adam steps on the MSE at learning rate 0.01, float32.",
        "",
    ]
    small = [r for r in rows if r["part"] == SMALL]
    if small:
        n, k = small[0]["n"], small[0]["samples"]
        head += [f"The section \"The 1-D curves from {n} points\" fits the same four curves from {n} noisy points, "
                 f"{k} independent samples each, with the monotone reference peers (UMNN, IsotonicRegression, pyGAM's "
                 "monotone spline) and skjacnet's defaults.", ""]  # fmt: skip
    if notes:
        head += [f"Note: {n}" for n in notes] + [""]
    if args.quick:
        head += ["**--quick run**: small subsamples, 20 epochs for skjacnet, fewer LMN, UMNN and MLP steps: it checks "
                 "that the script runs; its numbers are not the benchmark.", ""]  # fmt: skip
    return "\n".join(head + tables(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version (under a minute): checks that it runs")
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=[*DATASETS, SMALL],
        choices=[*DATASETS, SMALL],
        help=f"{SMALL}: the 1-D curves from {SMALL_N} points, {SMALL_SAMPLES} samples each",
    )
    parser.add_argument("--md", default=None, help="write the markdown page here")
    parser.add_argument("--json", default=None, help="write the raw rows here")
    parser.add_argument("--merge", nargs="*", default=None, help="print the page of saved JSON files (no runs)")
    args = parser.parse_args(argv)
    if args.merge:
        rows = [row for f in args.merge for row in json.loads(pathlib.Path(f).read_text())]
        meta = [r for r in rows if r["part"] == "meta"]
        args.quick = any(r["quick"] for r in meta)
        print(page(rows, args, sum(r["wall_s"] for r in meta) if meta else float("nan")), end="")
        return 0
    t0 = time.perf_counter()
    rows, notes = [], []
    notes += [n for n in (_pygam(), _umnn()) if n is not None]
    with threadpool_limits(1):
        for name in args.datasets:
            rows += run_small(args.quick) if name == SMALL else run_dataset(name, args.quick)
    wall = time.perf_counter() - t0
    rows.append({"part": "meta", "wall_s": round(wall, 1), "date": datetime.date.today().isoformat(),
                 "quick": bool(args.quick), "datasets": args.datasets, "notes": notes,
                 "omp_num_threads": os.environ.get("OMP_NUM_THREADS")})  # fmt: skip
    text = page(rows, args, wall)
    print(text)
    print(f"wall-clock {wall:.1f} s")
    if args.md:
        pathlib.Path(args.md).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.md).write_text(text)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
