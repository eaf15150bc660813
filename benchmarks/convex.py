"""Convex / concave shape per feature (issue 42): JacobianRegressor(convexity_cst) beside the peers a user would pick.

    python benchmarks/convex.py [--tasks synthetic,tables] [--folds 5] [--max-rows N] [--json out.json] [--md out.md]

Peers at their defaults, one thread, the same folds: pyGAM with shape terms (convex / concave, monotone where the
prior says so: additive only), a partially input-convex network (PICNN, Amos et al. 2017, written below in a few
lines: convex in the convex group and in the negated concave group for every value of the free features, no
interaction between the two groups), HistGradientBoosting with the monotone prior (no shape constraint exists
there) and unconstrained. Data: synthetic targets with interactions between constrained and free features, and the
broad catalogue's regression tables that carry a convexity prior (benchmarks/broad_data.py, both halves: this
benchmark chooses nothing). Reported: test R^2, fit seconds, and the share of second differences along the
constrained features, at points within and far beyond the data, that break the stated shape (skjacnet: 0 by
construction; pyGAM and the PICNN hold theirs up to their own rounding and training; HGB's piecewise constant
fit breaks both signs).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from broad import _gam  # noqa: E402

SLACK = 1e-8  # a second difference counts as a violation below -SLACK * (1 + |f|) (rounding of the peers' sums)


def synthetic(name: str, n: int, seed: int):
    """(X, y, monotonic_cst, convexity_cst) of a synthetic target with a known shape and interactions."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (n, 4))
    if name == "convex_interaction":  # convex in x0 for every x2 (curvature 2 + x2 / 4 > 0), concave in x1
        y = (1 + 0.125 * X[:, 2]) * X[:, 0] ** 2 - np.log1p(np.exp(2 * X[:, 1])) + np.sin(2 * X[:, 2]) + X[:, 3]
        mono, cvx = [0, 0, 0, 0], [1, -1, 0, 0]
    elif name == "diminishing_returns":  # increasing and concave in x0 and x1; x0's return rises with x3
        y = -3 * np.log1p(np.exp(-(X[:, 0] + 2))) + np.sqrt(X[:, 1] + 2.5) + 0.25 * X[:, 0] * (1 + np.tanh(X[:, 3]))
        y = y - X[:, 2]
        mono, cvx = [1, 1, 0, 0], [-1, -1, 0, 0]
    else:
        raise ValueError(name)
    return X, y + 0.1 * rng.standard_normal(n), mono, cvx


SYNTHETIC = ("convex_interaction", "diminishing_returns")


class PICNN:
    """f(x) = sum_k a_k(u) softplus(w_k(u) . y + b_k(u)) + c(u) + d(u) . y, a_k >= 0: convex in y for every u
    (u the free features, y the convex features and the negated concave ones, each group a PICNN of its own)."""

    def __init__(self, cvx, width: int = 32, epochs: int = 300, seed: int = 0):
        self.cvx, self.width, self.epochs, self.seed = np.asarray(cvx), width, epochs, seed

    def _net(self, n_free: int, n_y: int):
        import torch

        class Group(torch.nn.Module):
            def __init__(s):
                super().__init__()
                s.ctx = torch.nn.Sequential(torch.nn.Linear(max(n_free, 1), self.width), torch.nn.Tanh())
                s.a = torch.nn.Linear(self.width, self.width)
                s.w = torch.nn.Linear(self.width, self.width * n_y)
                s.b = torch.nn.Linear(self.width, self.width)
                s.d = torch.nn.Linear(self.width, n_y)

            def forward(s, u, y):
                h = s.ctx(u)
                w = s.w(h).reshape(-1, self.width, y.shape[1])
                inner = torch.nn.functional.softplus((w @ y.unsqueeze(-1)).squeeze(-1) + s.b(h))
                a = torch.nn.functional.softplus(s.a(h))  # >= 0: a convex non-decreasing sum of convex terms
                return (a * inner).sum(1) + (s.d(h) * y).sum(1)

        return Group

    def fit(self, X, y):
        import torch

        torch.manual_seed(self.seed)
        self.mu, self.sd = X.mean(0), X.std(0) + 1e-12
        self.ym, self.ys = y.mean(), y.std() + 1e-12
        Z = torch.as_tensor((X - self.mu) / self.sd, dtype=torch.float64)
        t = torch.as_tensor((y - self.ym) / self.ys, dtype=torch.float64)
        free = self.cvx == 0
        self.groups = torch.nn.ModuleList()
        self.signs = []
        for sign in (1, -1):
            feats = np.flatnonzero(self.cvx == sign)
            if feats.size:
                self.groups.append(self._net(int(free.sum()), feats.size)().double())
                self.signs.append((sign, feats))
        self.free = torch.nn.Sequential(torch.nn.Linear(max(int(free.sum()), 1), self.width), torch.nn.Tanh(),
                                        torch.nn.Linear(self.width, 1)).double()  # fmt: skip
        params = [*self.groups.parameters(), *self.free.parameters()]
        opt = torch.optim.Adam(params, lr=1e-2)
        for _ in range(self.epochs):
            for idx in torch.randperm(len(Z)).split(200):
                opt.zero_grad()
                loss = ((self._forward(Z[idx]) - t[idx]) ** 2).mean()
                loss.backward()
                opt.step()
        return self

    def _forward(self, Z):
        import torch

        free = torch.as_tensor(self.cvx == 0)
        u = Z[:, free] if bool(free.any()) else torch.zeros(len(Z), 1, dtype=Z.dtype)
        out = self.free(u).squeeze(-1)
        for group, (sign, feats) in zip(self.groups, self.signs):
            out = out + sign * group(u, sign * Z[:, feats])  # concave: minus a function convex in -x
        return out

    def predict(self, X):
        import torch

        with torch.no_grad():
            Z = torch.as_tensor((X - self.mu) / self.sd, dtype=torch.float64)
            return self._forward(Z).numpy() * self.ys + self.ym


def models(mono, cvx):
    from sklearn.ensemble import HistGradientBoostingRegressor as HGB

    from skjacnet import JacobianRegressor

    monotone = mono if any(mono) else None
    return {
        "jac_shape": lambda: JacobianRegressor(convexity_cst=cvx, monotonic_cst=monotone, random_state=0),
        "gam_shape": lambda: _gam(mono, cvx),
        "picnn": lambda: PICNN(cvx),
        "hgb_mono": lambda: HGB(monotonic_cst=mono, random_state=0),
        "hgb": lambda: HGB(random_state=0),
    }


def violations(est, X, cvx, rng, n: int = 400) -> float:
    """Share of second differences along the constrained features that break their shape, half of the base
    points within the data and half up to 10 spreads beyond it."""
    feats = np.flatnonzero(cvx)
    A = X[rng.randint(len(X), size=n)].astype(float)
    A[n // 2 :] += rng.standard_normal(A[n // 2 :].shape) * 10 * X.std(0)
    j = feats[rng.randint(len(feats), size=n)]
    h = 10.0 ** rng.uniform(-2, 0, n) * X.std(0)[j]
    up, down = A.copy(), A.copy()
    up[np.arange(n), j] += h
    down[np.arange(n), j] -= h
    f0, fu, fd = (np.ravel(est.predict(P)) for P in (A, up, down))
    second = np.asarray(cvx, float)[j] * (fu + fd - 2 * f0)
    return float(np.mean(second < -SLACK * (1 + np.abs(f0))))


def datasets(tasks, max_rows):
    if "synthetic" in tasks:
        for name in SYNTHETIC:
            X, y, mono, cvx = synthetic(name, max_rows or 2000, 0)
            yield name, X, y, mono, cvx
    if "tables" in tasks:
        import broad_data

        for name in broad_data.names("regression"):
            X, y, _, mono, cvx = broad_data.load(name)
            if not any(cvx):
                continue
            if max_rows and len(X) > max_rows:
                keep = np.random.RandomState(0).choice(len(X), max_rows, replace=False)
                X, y = X[keep], y[keep]
            yield name, X, y, list(mono), list(cvx)


def run(args) -> list[dict]:
    import torch
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    torch.set_num_threads(1)
    records = []
    for name, X, y, mono, cvx in datasets(args.tasks.split(","), args.max_rows):
        wanted = models(mono, cvx)
        for fold, (tr, te) in enumerate(KFold(args.folds, shuffle=True, random_state=0).split(X)):
            for label, make in wanted.items():
                if args.models and label not in args.models.split(","):
                    continue
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    start = time.perf_counter()
                    est = make().fit(X[tr], y[tr])
                    fit_s = time.perf_counter() - start
                rec = dict(table=name, fold=fold, model=label, n_train=len(tr), fit_s=fit_s, n_warnings=len(caught),
                           r2=float(r2_score(y[te], np.ravel(est.predict(X[te])))),
                           violations=violations(est, X[tr], cvx, np.random.RandomState(fold)))  # fmt: skip
                records.append(rec)
                print(f"{name:22s} fold{fold} {label:10s} r2={rec['r2']:.4f} viol={rec['violations']:.3f} "
                      f"fit {fit_s:6.2f}s", flush=True)  # fmt: skip
    return records


def summary(records: list[dict]) -> str:
    tables = sorted({r["table"] for r in records})
    labels = list(dict.fromkeys(r["model"] for r in records))
    lines = ["| table | " + " | ".join(f"{m} R² / viol. / fit s" for m in labels) + " |",
             "|---|" + "---|" * len(labels)]  # fmt: skip
    for t in tables:
        cells = []
        for m in labels:
            rs = [r for r in records if r["table"] == t and r["model"] == m]
            cells.append(
                f"{np.mean([r['r2'] for r in rs]):.4f} / {np.mean([r['violations'] for r in rs]):.3f} / "
                f"{np.median([r['fit_s'] for r in rs]):.2f}"
                if rs
                else "-"
            )
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="synthetic,tables")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--max-rows", type=int, default=None)
    p.add_argument("--models", default=None, help="comma-separated subset of the model labels")
    p.add_argument("--json", default=None)
    p.add_argument("--md", default=None)
    args = p.parse_args(argv)
    records = run(args)
    text = summary(records)
    print(text)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(records, indent=1))
    if args.md:
        pathlib.Path(args.md).write_text("# Convex and concave features: skjacnet beside the peers\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
