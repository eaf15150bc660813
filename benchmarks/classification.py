"""Guaranteed classifiers and calibration against their peers: monotone, certified, calibrated.

    python benchmarks/classification.py [--quick] [--parts monotone certified calibration]
        [--md docs/benchmarks_classification.md] [--json docs/deep_results/classification.json]

Three parts, every model of a part trained and timed in this process, one thread each (torch through
skjacnet's own ``torch_threads(thread_policy(n))``, scikit-learn's OpenMP through threadpoolctl,
LightGBM ``n_jobs=1``):

1. monotone binary classification: ``JacobianClassifier(monotonic_cst=...)`` (defaults, whose
   ``early_stopping='auto'`` is on at these sizes, and with ``early_stopping=False``) against
   HistGradientBoostingClassifier(monotonic_cst), LightGBM
   (monotone_constraints) and LMN (monotonenorm: a Lipschitz-normalised GroupSort MLP in SigmaNet,
   trained here by BCE with Adam, its lambda and learning rate chosen on an inner validation split);
   breast cancer and diabetes (binarised at the median) from scikit-learn, and a synthetic credit-like
   design; a stratified 70/30 split with seeds 0 and 1; test log-loss, accuracy and monotonicity
   violations (decreases of the predicted probability along a grid of each constrained feature).
2. certified robustness on digits (X / 16, 75/25 split, seed 0): ``JacobianClassifier(constraint=
   'lipschitz')`` at several depths and bounds against deel-torchlip 1-Lipschitz GroupSort networks;
   certified accuracy at l2 radii, and a projected-gradient attack on skjacnet's (and torchlip's)
   margins inside 0.999 of the certified radius (no flip may be found) and beyond it.
3. calibration: GaussianNB, LinearSVC, RandomForest and HistGradientBoosting trained on half of each
   of three binary datasets, calibrated on a quarter (Platt and isotonic by
   ``CalibratedClassifierCV(FrozenEstimator(base))``, Platt on skjacnet's score, JacobianCalibrator),
   scored on the last quarter (Brier score, log-loss); seeds 0 and 1; ties of every calibration map on
   a 10,000-point grid of scores.

Prints the tables; ``--md`` writes the page, ``--json`` the raw rows.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import sys
import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's skjacnet
from _lmn import lmn_net  # noqa: E402  (benchmarks/ is the script's directory: on sys.path)

from skjacnet import JacobianCalibrator, JacobianClassifier  # noqa: E402
from skjacnet._runtime import thread_policy, torch_threads  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

EPS_RADII = (0.0, 0.1, 0.25, 0.5, 1.0)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


# ============================================================================================ datasets
def credit_data(n: int, seed: int = 0):
    """A credit-like default dataset: P(default) increasing in debt ratio, late payments and utilisation,
    decreasing in income; interactions among them; a U-shaped age effect and two non-linear free features."""
    rng = np.random.RandomState(seed)
    debt = rng.beta(2, 5, n)  # debt-to-income ratio
    income = rng.lognormal(0, 0.5, n)  # relative income
    late = rng.poisson(0.7, n).astype(float)  # late payments in the last year
    util = rng.uniform(0, 1, n)  # credit-line utilisation
    age = rng.uniform(20, 75, n)
    z1, z2 = rng.normal(size=n), rng.uniform(-1, 1, n)  # free features with non-monotone effects
    X = np.c_[debt, income, late, util, age, z1, z2]
    y = (rng.uniform(size=n) < credit_proba(X)[:, 1]).astype(int)
    names = ["debt_ratio", "income", "late_payments", "utilisation", "age", "z1", "z2"]
    return X, y, np.array([1, -1, 1, 1, 0, 0, 0]), names


def credit_proba(X):
    """The true class probabilities of credit_data (monotone in the first four features over their range)."""
    debt, income, late, util, age, z1, z2 = X.T
    logit = (
        -3.0 + 3 * debt - 1.2 * np.log(income) + 0.6 * late + 1.5 * util**2 + 2 * debt * util
        - 0.3 * np.log(income) * late + 6e-4 * (age - 45) ** 2 + np.sin(2 * z1) + 0.8 * z2**2
    )  # fmt: skip
    p = 1 / (1 + np.exp(-logit))
    return np.c_[1 - p, p]


class TrueProba:
    """The Bayes classifier of a synthetic design: the true probabilities (a reference, nothing is fitted)."""

    def __init__(self, proba):
        self.predict_proba = proba

    def fit(self, X, y):
        return self


def _lr_signs(X, y, k):
    """The k features of largest |coefficient| of a logistic regression on standardised X, with its signs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    coef = LogisticRegression(max_iter=5000).fit(StandardScaler().fit_transform(X), y).coef_[0]
    cst = np.zeros(X.shape[1], dtype=int)
    top = np.argsort(-np.abs(coef))[:k]
    cst[top] = np.sign(coef[top]).astype(int)
    return cst


def monotone_datasets(quick: bool):
    from sklearn.datasets import load_breast_cancer, load_diabetes

    out = {}
    bc = load_breast_cancer()
    out["breast_cancer"] = (bc.data, bc.target, _lr_signs(bc.data, bc.target, 3), list(bc.feature_names))
    db = load_diabetes()
    yd = (db.target > np.median(db.target)).astype(int)
    out["diabetes_binary"] = (db.data, yd, _lr_signs(db.data, yd, 3), list(db.feature_names))
    out["credit_synthetic"] = credit_data(1500 if quick else 4000, seed=0)
    return out


def calibration_datasets(quick: bool):
    from sklearn.datasets import load_breast_cancer, make_classification

    bc = load_breast_cancer()
    Xm, ym = make_classification(
        n_samples=1500 if quick else 4000, n_features=20, n_informative=6, n_redundant=4, flip_y=0.05,
        class_sep=0.8, random_state=0,
    )  # fmt: skip
    Xc, yc, _, _ = credit_data(1500 if quick else 4000, seed=1)
    out = {"breast_cancer": (bc.data, bc.target), "make_classification": (Xm, ym), "credit_synthetic": (Xc, yc)}
    return {k: out[k] for k in (["breast_cancer", "credit_synthetic"] if quick else out)}


# ============================================================================================ part 1
class TunedAlpha:
    """JacobianClassifier with alpha chosen on an inner stratified 80/20 split by log-loss (the split and the
    criterion LMN's tuning uses), then refitted on all the training rows."""

    def __init__(self, alphas=(1e-4, 0.1, 1.0, 10.0), seed=0, **params):
        self.alphas, self.seed, self.params = alphas, seed, params

    def fit(self, X, y):
        from sklearn.metrics import log_loss
        from sklearn.model_selection import train_test_split

        a, b = train_test_split(np.arange(len(X)), test_size=0.2, random_state=self.seed, stratify=y)
        scores = []
        for alpha in self.alphas:
            clf = JacobianClassifier(alpha=alpha, random_state=self.seed, **self.params).fit(X[a], y[a])
            scores.append(log_loss(y[b], clf.predict_proba(X[b]), labels=[0, 1]))
        self.alpha_ = self.alphas[int(np.argmin(scores))]
        self.best_ = JacobianClassifier(alpha=self.alpha_, random_state=self.seed, **self.params).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.best_.predict_proba(X)


def _train_bce(net, X, y, lr, steps, batch=256, seed=0):
    """Adam on the binary cross-entropy of the logit net(X), the learning rate cut at 1/2 and 3/4 of the steps."""
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [steps // 2, 3 * steps // 4], 0.3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(steps):
        idx = torch.randint(0, len(Xt), (min(batch, len(Xt)),), generator=gen)
        opt.zero_grad()
        loss_fn(net(Xt[idx])[:, 0], yt[idx]).backward()
        opt.step()
        sched.step()
    return net


class LMNClassifier:
    """LMN (Kitouni et al.): SigmaNet(lam, monotone) around a lam-Lipschitz GroupSort MLP (monotonenorm's
    direct_norm: |W|_{1,inf} on the first layer, |W|_inf after), on standardised X, BCE with Adam.
    lam and the learning rate are chosen on an inner 80/20 validation split by log-loss, then refitted."""

    def __init__(self, monotonic_cst, lams=(1.0, 4.0), lrs=(1e-3, 1e-2), steps=1000, width=64, seed=0):
        self.cst, self.lams, self.lrs, self.steps, self.width, self.seed = monotonic_cst, lams, lrs, steps, width, seed

    def _build(self, d, lam):
        return lmn_net(d, self.cst, lam, self.width)

    def fit(self, X, y):
        from sklearn.metrics import log_loss
        from sklearn.model_selection import train_test_split

        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-12  # positive scales keep every direction
        Xs = (X - self.mean_) / self.scale_
        with torch_threads(thread_policy(len(X))):
            grid = [(lam, lr) for lam in self.lams for lr in self.lrs]
            if len(grid) > 1:
                a, b = train_test_split(np.arange(len(X)), test_size=0.2, random_state=self.seed, stratify=y)
                scores = []
                for lam, lr in grid:
                    torch.manual_seed(self.seed)
                    net = _train_bce(self._build(X.shape[1], lam), Xs[a], y[a], lr, self.steps, seed=self.seed)
                    with torch.no_grad():
                        p = torch.sigmoid(net(torch.as_tensor(Xs[b], dtype=torch.float32)))[:, 0].numpy()
                    scores.append(log_loss(y[b], np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1]))
                self.lam_, self.lr_ = grid[int(np.argmin(scores))]
            else:
                self.lam_, self.lr_ = grid[0]
            torch.manual_seed(self.seed)
            net = _train_bce(self._build(X.shape[1], self.lam_), Xs, y, self.lr_, self.steps, seed=self.seed)
        self.net_ = net.double().eval()  # evaluated in float64: no rounding-level "violations"
        return self

    def predict_proba(self, X):
        with torch.no_grad(), torch_threads(thread_policy(len(X))):
            z = self.net_(torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float64))[:, 0].numpy()
        p = 1 / (1 + np.exp(-z))
        return np.c_[1 - p, p]


def monotone_violations(proba, X_ref, X_train, cst, n_points=200, n_grid=50, seed=0):
    """Along a grid of each constrained feature (its training range) through n_points test rows: the number
    of consecutive grid steps where the probability of class 1 moves against the constraint, out of how many,
    and the largest such move."""
    rng = np.random.RandomState(seed)
    rows = X_ref[rng.choice(len(X_ref), min(n_points, len(X_ref)), replace=False)]
    bad, total, worst = 0, 0, 0.0
    for j in np.flatnonzero(cst):
        grid = np.linspace(X_train[:, j].min(), X_train[:, j].max(), n_grid)
        A = np.repeat(rows, n_grid, axis=0)
        A[:, j] = np.tile(grid, len(rows))
        p = proba(A)[:, 1].reshape(len(rows), n_grid)
        step = cst[j] * np.diff(p, axis=1)  # should be >= 0
        bad += int((step < 0).sum())
        total += step.size
        worst = max(worst, float(-step.min()))
    return bad, total, worst


def run_monotone(quick: bool) -> list[dict]:
    import lightgbm as lgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split

    rows = []
    seeds = (0,) if quick else (0, 1)
    for name, (X, y, cst, names) in monotone_datasets(quick).items():
        constrained = ", ".join(f"{names[j]} ({'+' if cst[j] > 0 else '-'})" for j in np.flatnonzero(cst))
        print(f"{name}: n={len(X)}, d={X.shape[1]}, constrained {constrained}", flush=True)
        for seed in seeds:
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
            jc = dict(monotonic_cst=cst, random_state=seed, **({"max_iter": 10} if quick else {}))
            models = {
                "skjacnet JacobianClassifier (defaults)": JacobianClassifier(**jc),
                "skjacnet JacobianClassifier (early_stopping=False)": JacobianClassifier(early_stopping=False, **jc),
                "skjacnet JacobianClassifier (alpha tuned on an inner split)": TunedAlpha(
                    seed=seed, monotonic_cst=cst, **({"max_iter": 10} if quick else {})
                ),
                "HistGradientBoosting (monotonic_cst)": HistGradientBoostingClassifier(
                    monotonic_cst=cst, random_state=seed
                ),
                "LightGBM (monotone_constraints)": lgb.LGBMClassifier(
                    monotone_constraints=[int(c) for c in cst], verbose=-1, random_state=seed, n_jobs=1
                ),
                "LMN (monotonenorm)": LMNClassifier(
                    cst, seed=seed, **({"steps": 60, "lams": (1.0,), "lrs": (1e-2,)} if quick else {})
                ),
            }
            if name == "credit_synthetic":
                models["true probability (Bayes, reference)"] = TrueProba(credit_proba)
            for label, model in models.items():
                _, fit_s = timed(model.fit, Xtr, ytr)
                P = model.predict_proba(Xte)
                bad, total, worst = monotone_violations(model.predict_proba, Xte, Xtr, cst, seed=seed)
                row = {
                    "part": "monotone", "dataset": name, "seed": seed, "model": label,
                    "log_loss": float(log_loss(yte, np.clip(P, 1e-15, 1 - 1e-15))),
                    "accuracy": float(accuracy_score(yte, P.argmax(1))),
                    "violations": bad, "pairs": total, "worst_decrease": worst, "fit_s": round(fit_s, 2),
                    "n_train": len(Xtr), "n_test": len(Xte), "constrained": constrained,
                }  # fmt: skip
                if isinstance(model, JacobianClassifier):
                    row["n_iter"], row["solver"] = int(model.n_iter_), model.solver_
                    row["check_guarantee_holds"] = model.check_guarantee(Xte, random_state=0).get("holds")
                if isinstance(model, TunedAlpha):
                    row["alpha"] = model.alpha_
                if isinstance(model, LMNClassifier):
                    row["lmn_lambda"], row["lmn_lr"] = model.lam_, model.lr_
                rows.append(row)
                print(f"  seed {seed} {label:50s} log-loss {row['log_loss']:.4f}  acc {row['accuracy']:.4f}  "
                      f"violations {bad}/{total} (worst {worst:.1e})  fit {fit_s:6.2f}s", flush=True)  # fmt: skip
    return rows


# ============================================================================================ part 2
def logit_jacobian(clf, X):
    """d decision_function / dX, (n, n_classes, n_features): clf.jacobian if it exists, else central differences."""
    if hasattr(clf, "jacobian"):
        return clf.jacobian(X)
    h = 1e-6
    cols = [(clf.decision_function(X + h * e) - clf.decision_function(X - h * e)) / (2 * h) for e in np.eye(X.shape[1])]
    return np.stack(cols, axis=-1)


def pgd_flips(logits, jac, X, budgets, steps=30):
    """An l2 projected-gradient attack on the margin max_{j != c} f_j - f_c (c: the clean prediction) in a
    ball of radius budgets[i] around X[i]; True where some iterate is predicted as another class."""
    c = logits(X).argmax(1)
    rows = np.arange(len(X))
    delta = np.zeros_like(X)
    flipped = np.zeros(len(X), dtype=bool)
    alpha = 2.5 * budgets / steps
    for _ in range(steps):
        Z = logits(X + delta)
        flipped |= Z.argmax(1) != c
        Zo = Z.copy()
        Zo[rows, c] = -np.inf
        j = Zo.argmax(1)
        J = jac(X + delta)
        g = J[rows, j] - J[rows, c]
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-30)
        delta = delta + alpha[:, None] * g
        norm = np.linalg.norm(delta, axis=1)
        delta *= np.minimum(1.0, budgets / np.maximum(norm, 1e-30))[:, None]
    flipped |= logits(X + delta).argmax(1) != c
    return flipped


class TorchlipNet:
    """deel-torchlip 1-Lipschitz GroupSort network 64-128-128-10 (Spectral, Spectral, Frobenius layers) on X as
    given (no rescaling: the certificate is in X's units), Adam, mini-batches of 128."""

    def __init__(self, loss, steps=2000, lr=1e-3, width=128, seed=0):
        self.loss, self.steps, self.lr, self.width, self.seed = loss, steps, lr, width, seed

    def fit(self, X, y):
        import deel.torchlip as tl

        with torch_threads(thread_policy(len(X))):
            torch.manual_seed(self.seed)
            gen = torch.Generator().manual_seed(self.seed)
            w, k = self.width, int(y.max()) + 1
            net = tl.Sequential(
                tl.SpectralLinear(X.shape[1], w), tl.GroupSort2(), tl.SpectralLinear(w, w), tl.GroupSort2(),
                tl.FrobeniusLinear(w, k),
            )  # fmt: skip
            if self.loss.startswith("ce"):
                tau = float(self.loss.split("=")[1])
                loss_fn = tl.TauCrossEntropyLoss(tau)
                target = lambda t: t  # noqa: E731
            else:  # hkr
                loss_fn = tl.HKRMulticlassLoss(alpha=0.98, min_margin=1.0)
                target = lambda t: torch.nn.functional.one_hot(t, k).float()  # noqa: E731
            Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            for _ in range(self.steps):
                idx = torch.randint(0, len(Xt), (min(128, len(Xt)),), generator=gen)
                opt.zero_grad()
                loss_fn(net(Xt[idx]), target(yt[idx])).backward()
                opt.step()
            net.eval()
            vanilla = tl.vanilla_model(net, in_place=False)
        layers = [m for m in vanilla.modules() if isinstance(m, torch.nn.Linear)]
        self.W_ = [m.weight.detach().double().numpy() for m in layers]
        self.b_ = [m.bias.detach().double().numpy() for m in layers]
        # the Lipschitz bound actually in force: spectral norms of the exported hidden weights (GroupSort is 1-Lip)
        self.hidden_lip_ = float(np.prod([np.linalg.norm(W, 2) for W in self.W_[:-1]]))
        self.vector_lip_ = self.hidden_lip_ * float(np.linalg.norm(self.W_[-1], 2))
        return self

    def _hidden(self, X):
        h = X
        for W, b in zip(self.W_[:-1], self.b_[:-1]):
            h = np.sort((h @ W.T + b).reshape(len(h), -1, 2), axis=2).reshape(len(h), -1)  # GroupSort2
        return h

    def decision_function(self, X):
        return self._hidden(X) @ self.W_[-1].T + self.b_[-1]

    def jacobian(self, X):
        Xt = torch.as_tensor(X, dtype=torch.float64).requires_grad_(True)
        h = Xt
        for W, b in zip(self.W_[:-1], self.b_[:-1]):
            z = h @ torch.as_tensor(W).T + torch.as_tensor(b)
            h = torch.sort(z.reshape(len(z), -1, 2), dim=2).values.reshape(len(z), -1)
        Z = h @ torch.as_tensor(self.W_[-1]).T + torch.as_tensor(self.b_[-1])
        rows = [torch.autograd.grad(Z[:, t].sum(), Xt, retain_graph=True)[0] for t in range(Z.shape[1])]
        return torch.stack(rows, 1).numpy()

    def certified_radius(self, X, pairwise=True):
        """Pairwise: min over j of (f_top - f_j) / (L_hidden ||w_top - w_j||) (tight for disjoint output neurons);
        else the global (top1 - top2) / (sqrt(2) L_vector), the formula skjacnet's certified_radius uses."""
        Z = self.decision_function(X)
        top = Z.argmax(1)
        rows = np.arange(len(Z))
        if not pairwise:
            s = np.sort(Z, axis=1)
            return (s[:, -1] - s[:, -2]) / (math.sqrt(2) * self.vector_lip_)
        W = self.W_[-1]
        D = np.linalg.norm(W[:, None] - W[None], axis=2)
        r = np.full(len(Z), np.inf)
        for j in range(Z.shape[1]):
            rj = (Z[rows, top] - Z[:, j]) / (self.hidden_lip_ * np.where(top == j, 1.0, D[top, j]))
            r = np.where(top == j, r, np.minimum(r, rj))
        return np.maximum(r - 1e-9, 0.0)


def run_certified(quick: bool) -> list[dict]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    if quick:
        Xtr, ytr, Xte, yte = Xtr[:400], ytr[:400], Xte[:150], yte[:150]
    print(f"digits: n_train={len(Xtr)}, n_test={len(Xte)}, X/16 in [0, 1]^64", flush=True)
    rows = []
    skj = [(1, 1.0), (2, 1.0), (1, 4.0), (2, 4.0), (2, 6.0)] if not quick else [(1, 1.0)]
    models = {
        f"skjacnet lipschitz k={k:g} n_layers={nl}": JacobianClassifier(
            constraint="lipschitz",
            lipschitz_constant=k,
            n_layers=nl,
            random_state=0,
            **({"max_iter": 5} if quick else {}),
        )  # fmt: skip
        for nl, k in skj
    }
    steps = 100 if quick else 2000
    for loss in ["ce tau=1", "ce tau=4", "ce tau=6", "hkr alpha=0.98 margin=1"] if not quick else ["ce tau=1"]:
        models[f"deel-torchlip GroupSort2 ({loss})"] = TorchlipNet(loss, steps=steps)
    models["MLPClassifier (64,), no guarantee"] = MLPClassifier((64,), max_iter=100 if quick else 1000, random_state=0)
    budget_mult = (0.999, 1.1, 1.5)
    for label, model in models.items():
        with threadpool_limits(1):
            _, fit_s = timed(model.fit, Xtr, ytr)
        row = {"part": "certified", "dataset": "digits", "model": label, "fit_s": round(fit_s, 2),
               "n_train": len(Xtr), "n_test": len(Xte)}  # fmt: skip
        if isinstance(model, MLPClassifier):
            row["accuracy"] = float((model.predict(Xte) == yte).mean())
            rows.append(row)
            print(f"  {label:48s} acc {row['accuracy']:.4f}  fit {fit_s:6.1f}s", flush=True)
            continue
        if isinstance(model, JacobianClassifier):
            pred = model.predict(Xte)
            radius, _ = timed(model.certified_radius, Xte)
            row["lipschitz_bound"] = model.guarantee_["lipschitz_upper"]
            row["check_guarantee"] = {
                k: v for k, v in model.check_guarantee(Xte, random_state=0).items() if k in ("worst_ratio", "holds")
            }
            row["n_iter"], row["solver"] = int(model.n_iter_), model.solver_
            logits, jac = model.decision_function, lambda A, m=model: logit_jacobian(m, A)
        else:
            pred = model.decision_function(Xte).argmax(1)
            radius = model.certified_radius(Xte)
            glob = model.certified_radius(Xte, pairwise=False)
            row["lipschitz_bound"] = model.vector_lip_
            row["hidden_lipschitz"] = model.hidden_lip_
            row["certified_global_formula"] = {str(e): float(np.mean((pred == yte) & (glob >= e))) for e in EPS_RADII}
            logits, jac = model.decision_function, model.jacobian
        correct = pred == yte
        row["accuracy"] = float(correct.mean())
        row["certified"] = {str(e): float(np.mean(correct & (radius >= e))) for e in EPS_RADII}
        row["median_radius_correct"] = float(np.median(radius[correct]))
        attack = radius > 0
        row["attacked"] = int(attack.sum())
        t = time.perf_counter()
        for m in budget_mult:
            flips = pgd_flips(logits, jac, Xte[attack], m * radius[attack], steps=10 if quick else 30)
            row[f"flips_at_{m:g}r"] = int(flips.sum())
        row["attack_s"] = round(time.perf_counter() - t, 2)
        rows.append(row)
        cert = "  ".join(f"{e:g}:{v:.3f}" for e, v in zip(EPS_RADII, row["certified"].values()))
        print(f"  {label:48s} certified acc {cert}  fit {fit_s:6.1f}s  flips in 0.999 r: "
              f"{row['flips_at_0.999r']}/{row['attacked']}, 1.1 r: {row['flips_at_1.1r']}, "
              f"1.5 r: {row['flips_at_1.5r']}", flush=True)  # fmt: skip
    return rows


# ============================================================================================ part 3
def _score_fn(base, name):
    """The score skjacnet's calibrator (and 'Platt on s') sees: decision_function, or the log-odds of
    predict_proba (GaussianNB: from predict_log_proba, exact; RandomForest: clipped to [1e-3, 1 - 1e-3])."""
    if hasattr(base, "decision_function"):
        return base.decision_function
    if name == "GaussianNB":
        return lambda X: np.diff(base.predict_log_proba(X), axis=1)[:, 0]

    def logodds(X):
        p = np.clip(base.predict_proba(X)[:, 1], 1e-3, 1 - 1e-3)
        return np.log(p) - np.log1p(-p)

    return logodds


def count_ties(p):
    """Non-increasing steps of a calibration map evaluated on an increasing grid."""
    return int((np.diff(p) <= 0).sum())


def run_calibration(quick: bool) -> list[dict]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    bases = {
        "GaussianNB": lambda s: GaussianNB(),
        "LinearSVC": lambda s: make_pipeline(StandardScaler(), LinearSVC(random_state=s)),
        "RandomForest": lambda s: RandomForestClassifier(n_estimators=100, random_state=s, n_jobs=1),
        "HistGradientBoosting": lambda s: HistGradientBoostingClassifier(random_state=s),
    }
    rows = []
    seeds = (0,) if quick else (0, 1)
    grid_n = 10_000
    for dname, (X, y) in calibration_datasets(quick).items():
        print(f"{dname}: n={len(X)}, d={X.shape[1]}, positives {y.mean():.2f}", flush=True)
        for seed in seeds:
            Xtr, Xrest, ytr, yrest = train_test_split(X, y, test_size=0.5, random_state=seed, stratify=y)
            Xcal, Xte, ycal, yte = train_test_split(Xrest, yrest, test_size=0.5, random_state=seed, stratify=yrest)
            for bname, make in bases.items():
                with threadpool_limits(1):
                    base = make(seed).fit(Xtr, ytr)
                score = _score_fn(base, bname)
                s_cal, s_te = score(Xcal), score(Xte)
                grid_s = np.linspace(s_cal.min(), s_cal.max(), grid_n)
                results = {}
                if hasattr(base, "predict_proba"):
                    results["uncalibrated"] = (base.predict_proba(Xte)[:, 1], None, 0.0)
                for method in ("sigmoid", "isotonic"):
                    with threadpool_limits(1):
                        ccv, fit_s = timed(CalibratedClassifierCV(FrozenEstimator(base), method=method).fit, Xcal, ycal)
                    # the map CalibratedClassifierCV fitted, on its own input (decision_function or predict_proba[:, 1])
                    cal_in = (
                        base.decision_function(Xcal)
                        if hasattr(base, "decision_function")
                        else base.predict_proba(Xcal)[:, 1]
                    )
                    grid = np.linspace(cal_in.min(), cal_in.max(), grid_n)
                    ties = count_ties(ccv.calibrated_classifiers_[0].calibrators[0].predict(grid))
                    label = (
                        "Platt (CalibratedClassifierCV sigmoid)"
                        if method == "sigmoid"
                        else "isotonic (CalibratedClassifierCV)"
                    )
                    results[label] = (ccv.predict_proba(Xte)[:, 1], ties, fit_s)
                platt, fit_s = timed(LogisticRegression(C=1e12, max_iter=1000).fit, s_cal[:, None], ycal)
                results["Platt on s"] = (platt.predict_proba(s_te[:, None])[:, 1],
                                         count_ties(platt.predict_proba(grid_s[:, None])[:, 1]), fit_s)  # fmt: skip
                jc = JacobianCalibrator(random_state=seed, **({"max_iter": 20} if quick else {}))
                _, fit_s = timed(jc.fit, s_cal, ycal)
                p_grid = jc.predict_proba(grid_s)[:, 1]
                results["skjacnet JacobianCalibrator"] = (jc.predict_proba(s_te)[:, 1], count_ties(p_grid), fit_s)
                target = np.linspace(0.05, 0.95, 19)
                roundtrip = float(np.abs(jc.predict_proba(jc.inverse_proba(target))[:, 1] - target).max())
                for label, (p, ties, fit_s) in results.items():
                    row = {
                        "part": "calibration", "dataset": dname, "seed": seed, "base": bname, "calibrator": label,
                        "brier": float(brier_score_loss(yte, p)),
                        "log_loss": float(log_loss(yte, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
                        "ties": ties, "grid": grid_n, "fit_s": round(fit_s, 3),
                        "n_train": len(Xtr), "n_cal": len(Xcal), "n_test": len(Xte),
                    }  # fmt: skip
                    if label.startswith("skjacnet"):
                        row["inverse_roundtrip"] = roundtrip
                        row["n_iter"], row["solver"] = int(jc.n_iter_), jc.solver_
                    rows.append(row)
                line = "  ".join(f"{k.split(' (')[0]} {brier_score_loss(yte, v[0]):.4f}" for k, v in results.items())
                print(f"  seed {seed} {bname:22s} Brier: {line}", flush=True)
    return rows


# ============================================================================================ report
def _mean(rs, key):
    return float(np.mean([r[key] for r in rs]))


def monotone_tables(rows):
    rows = [r for r in rows if r["part"] == "monotone"]
    if not rows:
        return []
    out = ["## 1. Monotone binary classification", ""]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    for d in datasets:
        rs = [r for r in rows if r["dataset"] == d]
        out += [
            f"**{d}** (n_train {rs[0]['n_train']}, n_test {rs[0]['n_test']}; constrained: {rs[0]['constrained']})",
            "",
        ]
    out += [
        f"Means over the seeds {seeds}; violations: grid steps where P(y=1) moves against a constraint / steps "
        "checked (200 test rows x 49 steps per constrained feature, per seed, summed); fit seconds include the "
        "peers' own tuning (LMN: 4 trainings on an inner split + refit).",
        "",
        "| dataset | model | test log-loss | accuracy | violations | worst decrease | fit s |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in datasets:
        for m in dict.fromkeys(r["model"] for r in rows if r["dataset"] == d):
            rs = [r for r in rows if r["dataset"] == d and r["model"] == m]
            bad, tot = sum(r["violations"] for r in rs), sum(r["pairs"] for r in rs)
            worst = max(r["worst_decrease"] for r in rs)
            ll = " / ".join(f"{r['log_loss']:.3f}" for r in rs)
            out.append(f"| {d} | {m} | {_mean(rs, 'log_loss'):.4f} ({ll}) | {_mean(rs, 'accuracy'):.4f} | "
                       f"{bad} / {tot} | {worst:.1e} | {_mean(rs, 'fit_s'):.2f} |")  # fmt: skip
    out += ["", "Where skjacnet stands (mean test log-loss; the Bayes reference left out of the ranking):", ""]
    for d in datasets:
        by = {m: _mean([r for r in rows if r["dataset"] == d and r["model"] == m], "log_loss")
              for m in dict.fromkeys(r["model"] for r in rows if r["dataset"] == d)}  # fmt: skip
        ref = {m: v for m, v in by.items() if m.startswith("true probability")}
        by = {m: v for m, v in by.items() if m not in ref}
        order = sorted(by, key=by.get)
        ours = [m for m in order if m.startswith("skjacnet")]
        peer = next(m for m in order if not m.startswith("skjacnet"))
        defaults = next(m for m in by if "defaults" in m)
        verdict = "wins" if by[ours[0]] < by[peer] else "loses"
        extra = f"; Bayes reference {next(iter(ref.values())):.4f}" if ref else ""
        out.append(f"- {d}: best skjacnet row {ours[0].removeprefix('skjacnet JacobianClassifier ')} "
                   f"{by[ours[0]]:.4f} {verdict} against the best peer, {peer} {by[peer]:.4f} "
                   f"(rank {order.index(ours[0]) + 1} of {len(order)}); skjacnet at its defaults "
                   f"{by[defaults]:.4f} (rank {order.index(defaults) + 1}){extra}.")  # fmt: skip
    chosen = [
        f"{r['dataset']} seed {r['seed']}: "
        + (f"alpha {r['alpha']:g}" if "alpha" in r else f"LMN lambda {r['lmn_lambda']:g}, lr {r['lmn_lr']:g}")
        for r in rows
        if "alpha" in r or "lmn_lambda" in r
    ]
    out += ["", "Settings the inner splits chose: " + "; ".join(chosen) + "."]
    return out + [""]


def certified_tables(rows):
    rows = [r for r in rows if r["part"] == "certified"]
    if not rows:
        return []
    r0 = rows[0]
    out = [
        "## 2. Certified robustness on digits",
        "",
        f"load_digits, X / 16 (so X in [0, 1]^64), stratified 75/25 split, seed 0: n_train {r0['n_train']}, "
        f"n_test {r0['n_test']}. Certified accuracy at l2 radius eps: the fraction of test points classified "
        "correctly *and* with certified radius >= eps (eps = 0 is the clean accuracy). skjacnet: "
        "`certified_radius` (margin / (sqrt(2) k), k = `guarantee_['lipschitz_upper']`). deel-torchlip: the "
        "bound recomputed from the exported weights (product of the hidden layers' spectral norms, GroupSort "
        "being 1-Lipschitz), with the pairwise last-layer certificate min_j (f_top - f_j) / (L ||w_top - w_j||) "
        "(its FrobeniusLinear output normalises each neuron, not the matrix: the vector map's bound is the "
        "`lipschitz bound` column); the `global formula` row applies skjacnet's formula margin / (sqrt(2) L) to it.",
        "",
        "| model | "
        + " | ".join(f"eps={e:g}" for e in EPS_RADII)
        + " | median radius (correct) | Lipschitz bound | fit s |",
        "|---|" + "---|" * (len(EPS_RADII) + 3),
    ]
    for r in rows:
        if "certified" not in r:
            out.append(f"| {r['model']} | {r['accuracy']:.4f} |" + " — |" * (len(EPS_RADII) - 1)
                       + f" — | — | {r['fit_s']:.1f} |")  # fmt: skip
            continue
        cells = " | ".join(f"{v:.4f}" for v in r["certified"].values())
        out.append(f"| {r['model']} | {cells} | {r['median_radius_correct']:.3f} | {r['lipschitz_bound']:.4f} | "
                   f"{r['fit_s']:.1f} |")  # fmt: skip
        if "certified_global_formula" in r:
            cells = " | ".join(f"{v:.4f}" for v in r["certified_global_formula"].values())
            out.append(f"| ↳ same network, global formula margin / (sqrt(2) L) | {cells} | — | — | — |")
    cert = [r for r in rows if "certified" in r]
    best = []
    for e in EPS_RADII:
        top = max(cert, key=lambda r: r["certified"][str(e)])
        best.append(f"eps={e:g}: {top['model']} ({top['certified'][str(e)]:.4f})")
    out += ["", "- Best certified accuracy at each radius: " + "; ".join(best) + "."]
    fam = []
    for e in EPS_RADII:
        ours = max(r["certified"][str(e)] for r in cert if r["model"].startswith("skjacnet"))
        theirs = max(r["certified"][str(e)] for r in cert if r["model"].startswith("deel-torchlip"))
        fam.append(f"eps={e:g}: {ours:.4f} vs {theirs:.4f} ({100 * (ours - theirs):+.1f} points)")
    out.append("- Best skjacnet setting against the best deel-torchlip setting at each radius: " + "; ".join(fam) + ".")
    pairs = [("skjacnet lipschitz k=1 n_layers=1", "deel-torchlip GroupSort2 (ce tau=1)"),
             ("skjacnet lipschitz k=1 n_layers=2", "deel-torchlip GroupSort2 (ce tau=1)"),
             ("skjacnet lipschitz k=4 n_layers=1", "deel-torchlip GroupSort2 (ce tau=4)"),
             ("skjacnet lipschitz k=4 n_layers=2", "deel-torchlip GroupSort2 (ce tau=4)"),
             ("skjacnet lipschitz k=6 n_layers=2", "deel-torchlip GroupSort2 (ce tau=6)")]  # fmt: skip
    by = {r["model"]: r for r in cert}
    for a, b in pairs:
        if a in by and b in by:
            diff = ", ".join(
                f"{100 * (by[a]['certified'][str(e)] - by[b]['certified'][str(e)]):+.1f}" for e in EPS_RADII
            )
            out.append(f"- {a} minus {b} (same log-loss sharpness), points of certified accuracy at eps "
                       f"{', '.join(f'{e:g}' for e in EPS_RADII)}: {diff}; fit {by[a]['fit_s']:.0f} s against "
                       f"{by[b]['fit_s']:.0f} s.")  # fmt: skip
    out += [
        "",
        "Attack: l2 projected gradient ascent (30 steps, step 2.5 budget / 30, from the clean point, exact "
        "Jacobians: skjacnet's `jacobian`, autograd for torchlip) on the margin of the best other class, inside "
        "a ball of budget x the certified radius around every test point with a positive radius; a flip is any "
        "iterate predicted as another class. Inside 0.999 r a flip would falsify the certificate; 1.1 r and 1.5 r "
        "show that the attack does find flips where none is ruled out (how tight the radii are).",
        "",
        "| model | points attacked | flips within 0.999 r | within 1.1 r | within 1.5 r | attack s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "attacked" in r:
            out.append(f"| {r['model']} | {r['attacked']} | {r['flips_at_0.999r']} | {r['flips_at_1.1r']} | "
                       f"{r['flips_at_1.5r']} | {r['attack_s']:.1f} |")  # fmt: skip
    return out + [""]


def calibration_tables(rows):
    rows = [r for r in rows if r["part"] == "calibration"]
    if not rows:
        return []
    seeds = sorted({r["seed"] for r in rows})
    cals = list(dict.fromkeys(r["calibrator"] for r in rows))
    cells = list(dict.fromkeys((r["dataset"], r["base"]) for r in rows))
    sizes = {r["dataset"]: (r["n_train"], r["n_cal"], r["n_test"]) for r in rows}
    out = [
        "## 3. Calibration",
        "",
        "Stratified 50 / 25 / 25 train / calibration / test splits, seeds "
        + f"{seeds} (means below); sizes "
        + ", ".join(f"{d} {a}/{b}/{c}" for d, (a, b, c) in sizes.items())
        + ". Platt and isotonic: "
        "`CalibratedClassifierCV(FrozenEstimator(base), method=...)` fitted on the calibration split (on "
        "`decision_function` where the base has one, else `predict_proba[:, 1]`). `Platt on s` and "
        "skjacnet's `JacobianCalibrator` (defaults) see the same score s: `decision_function`, or the log-odds "
        "of the probabilities (GaussianNB: exact, from `predict_log_proba`; RandomForest: clipped to "
        "[1e-3, 1 - 1e-3]). Ties: non-increasing steps of each map on 10,000 equally spaced scores over the "
        "calibration split's range (in the map's own input), summed over seeds. Log-losses clip probabilities "
        "to [1e-15, 1 - 1e-15]: isotonic's exact 0 and 1 outside the calibration classes' overlap cost it there.",
        "",
        "Test Brier score (log-loss):",
        "",
        "| dataset | base | " + " | ".join(cals) + " |",
        "|---|---|" + "---|" * len(cals),
    ]
    for d, b in cells:
        line = []
        rs_cell = {c: [r for r in rows if r["dataset"] == d and r["base"] == b and r["calibrator"] == c] for c in cals}
        cal_only = {c: _mean(v, "brier") for c, v in rs_cell.items() if v and c != "uncalibrated"}
        best = min(cal_only, key=cal_only.get)
        for c in cals:
            rs = rs_cell[c]
            if not rs:
                line.append("—")
                continue
            txt = f"{_mean(rs, 'brier'):.4f} ({_mean(rs, 'log_loss'):.3f})"
            line.append(f"**{txt}**" if c == best else txt)
        out.append(f"| {d} | {b} | " + " | ".join(line) + " |")
    out += ["", "(bold: the lowest Brier score among the calibrators, uncalibrated excluded)", "",
            "Averages over every (dataset, base, seed), wins (lowest Brier / log-loss of the calibrators in a "
            "(dataset, base) cell, seeds averaged), ties and fit time:", "",
            "| calibrator | mean Brier | mean log-loss | Brier wins | log-loss wins | ties (sum) | ties per map | "
            "mean fit s |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    real = [c for c in cals if c != "uncalibrated"]
    wins = {c: [0, 0] for c in real}
    for d, b in cells:
        for k, key in enumerate(("brier", "log_loss")):
            by = {c: _mean([r for r in rows if r["dataset"] == d and r["base"] == b and r["calibrator"] == c], key)
                  for c in real}  # fmt: skip
            wins[min(by, key=by.get)][k] += 1
    for c in cals:
        rs = [r for r in rows if r["calibrator"] == c]
        if c == "uncalibrated":
            out.append(
                f"| {c} (no LinearSVC) | {_mean(rs, 'brier'):.4f} | {_mean(rs, 'log_loss'):.4f} | — | — | — | — | — |"
            )
            continue
        ties = sum(r["ties"] for r in rs)
        n = len(cells)
        out.append(f"| {c} | {_mean(rs, 'brier'):.4f} | {_mean(rs, 'log_loss'):.4f} | {wins[c][0]} / {n} | "
                   f"{wins[c][1]} / {n} | {ties} | {ties / len(rs):.1f} | {_mean(rs, 'fit_s'):.3f} |")  # fmt: skip
    jc = "skjacnet JacobianCalibrator"
    out.append("")
    for other in ("Platt on s", "Platt (CalibratedClassifierCV sigmoid)", "isotonic (CalibratedClassifierCV)"):
        if jc not in cals or other not in cals:
            continue
        lower = {key: 0 for key in ("brier", "log_loss")}
        for d, b in cells:
            for key in lower:
                m = {c: _mean([r for r in rows if r["dataset"] == d and r["base"] == b and r["calibrator"] == c], key)
                     for c in (jc, other)}  # fmt: skip
                lower[key] += m[jc] < m[other]
        diff = _mean([r for r in rows if r["calibrator"] == jc], "brier") - _mean(
            [r for r in rows if r["calibrator"] == other], "brier"
        )
        out.append(f"- JacobianCalibrator against {other}: lower Brier in {lower['brier']} of {len(cells)} cells, "
                   f"lower log-loss in {lower['log_loss']}; mean Brier difference {diff:+.4f}.")  # fmt: skip
    ours = [r for r in rows if r["calibrator"].startswith("skjacnet")]
    if ours:
        out += ["", f"JacobianCalibrator round trip `predict_proba(inverse_proba(p)) - p` for p in 0.05 .. 0.95: "
                f"at most {max(r['inverse_roundtrip'] for r in ours):.1e} over all {len(ours)} fits."]  # fmt: skip
    return out + [""]


def page(rows, args, wall_s):
    date = next((r["date"] for r in rows if r["part"] == "meta"), None)
    versions = {}
    for mod in ("sklearn", "torch", "lightgbm", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    try:
        import deel.torchlip

        versions["deel-torchlip"] = deel.torchlip.__version__
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        versions["monotonenorm"] = version("monotonenorm")
    except Exception:
        pass
    import skjacnet

    head = [
        "# Classification: monotone, certified and calibrated, against their peers",
        "",
        f"Generated by `python benchmarks/classification.py{' --quick' if args.quick else ''} --md "
        f"docs/benchmarks_classification.md --json docs/deep_results/classification.json` on "
        f"{date or datetime.date.today().isoformat()}, {platform.machine()} with {os.cpu_count()} CPU cores, "
        f"no GPU; every model of a part in the same process, one thread each (torch through skjacnet's "
        "`torch_threads(thread_policy(n))`, scikit-learn's OpenMP through threadpoolctl, LightGBM `n_jobs=1`); "
        f"whole run {wall_s:.0f} s wall-clock. Versions: skjacnet {skjacnet.__version__} (this checkout), "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ". Raw rows: `docs/deep_results/classification.json`.",
        "",
        "skjacnet runs at its defaults unless a row says otherwise (the two variants in part 1, "
        "`early_stopping=False` and `alpha` chosen on an inner split as LMN's settings are, and the depths and "
        "bounds of part 2 are all the settings tried); peers at their defaults (trees, calibrators) or with the "
        "small tuning stated (torch peers).",
        "",
    ]
    return "\n".join(head + monotone_tables(rows) + certified_tables(rows) + calibration_tables(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version (under a minute): checks that it runs")
    parser.add_argument("--parts", nargs="*", default=["monotone", "certified", "calibration"],
                        choices=["monotone", "certified", "calibration"])  # fmt: skip
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
    rows = []
    runners = {"monotone": run_monotone, "certified": run_certified, "calibration": run_calibration}
    for part in args.parts:
        print(f"== {part}", flush=True)
        with threadpool_limits(1):
            rows += runners[part](args.quick)
    wall = time.perf_counter() - t0
    rows.append({"part": "meta", "wall_s": round(wall, 1), "date": datetime.date.today().isoformat(),
                 "quick": bool(args.quick), "parts": args.parts})  # fmt: skip
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
