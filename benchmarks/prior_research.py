"""Issue 3: why the defaults extrapolate poorly from 5 points, and which defaults would not.

    PYTHONPATH=. python benchmarks/prior_research.py [--out benchmarks/prior_research.md]

The protocol of ``skjacnet.reproduce`` (5 points uniform in [-1, 1], 100 test
points in [-2, 2]): test MAE of exp(x) with InvertibleJacobianRegressor and of
|x| with JacobianRegressor(constraint='lipschitz'), and the prior suite's
normalised MAE, each the median over seeds 0-4 (the published ones) and over
seeds 5-9 (a check that nothing is tuned to five draws); then held-out R^2 on
larger noisy data, so that a small-n default does not cost large fits.

Three things are not in the library and are emulated here by swapping a
private function for the duration of one configuration: full-batch L-BFGS (a
``solver`` parameter is being added on another branch), an initialisation
whose derivative is the least-squares slope, and, in one row, the 1-D output
map g = softplus(h) + eps in place of the paper's h**2 + eps.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import pathlib
import time
import warnings

import numpy as np
import torch
from sklearn.metrics import r2_score
from torch import nn

import skjacnet._base as base
import skjacnet._build as build
from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet._training import History, _loss
from skjacnet.reproduce import SUITE, data

SEED_SETS = {"0-4": range(5), "5-9": range(5, 10)}


# --- emulations ---------------------------------------------------------------
def lbfgs(tight: bool):
    """Full-batch L-BFGS with a strong-Wolfe line search; ``tight``: run until the loss stops moving at all."""
    tol = dict(tolerance_grad=1e-10, tolerance_change=1e-14) if tight else {}

    def train(model, X, Y, w, *, max_iter, alpha, loss, **_):
        hist = History()
        penalized = [p for name, p in model.named_parameters() if "weights" in name or name.endswith("_raw")]
        opt = torch.optim.LBFGS(model.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe", **tol)

        def closure():
            opt.zero_grad()
            data_loss = _loss(model(X), Y, w, loss)
            total = data_loss + sum((p * p).sum() for p in penalized) * (alpha / (2.0 * float(w.sum())))
            total.backward()
            hist.loss_curve.append(float(data_loss.detach()))
            return total

        model.train()
        opt.step(closure)
        model.eval()
        hist.n_iter, hist.tol_curve = len(hist.loss_curve), [0.0] * len(hist.loss_curve)
        return hist

    return train


def linear_init_build(self, n_in, n_out, hidden, gen, Xs, Ys, w, _orig=base.BaseJacobianRegressor._build_model):
    """1-D fits start as the least-squares line: last layer 0, its bias the h with g(h) = slope."""
    model = _orig(self, n_in, n_out, hidden, gen, Xs, Ys, w)
    if n_in == n_out == 1:
        sw = np.sqrt(w)[:, None]
        slope = float(np.linalg.lstsq(Xs * sw, Ys * sw, rcond=None)[0][0, 0])
        if self._structure() == "positive_definite":
            h = math.sqrt(max(abs(slope) - self.epsilon, 0.0))
        else:
            h = math.atanh(max(min(slope / model.structure.k, 0.999), -0.999))
        with torch.no_grad():
            model.field.weights[-1].zero_()
            model.field.biases[-1].fill_(h)
    return model


class SoftplusPositive(nn.Module):
    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, h):
        return nn.functional.softplus(h) + self.eps


def softplus_output(name, *, k=1.0, eps=0.0, _orig=build.output_activation):
    return SoftplusPositive(eps) if name == "positive_definite" else _orig(name, k=k, eps=eps)


@contextlib.contextmanager
def patched(swaps: list[tuple[object, str, object]]):
    old = [(obj, name, getattr(obj, name)) for obj, name, _ in swaps]
    for obj, name, value in swaps:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in old:
            setattr(obj, name, value)


SP0 = dict(activation="softplus", alpha=0.0)
# label: (InvertibleJacobianRegressor kwargs, JacobianRegressor kwargs, swaps)
CONFIGS = {
    "defaults (Adam 200 it, tanh (64,), alpha 1e-3)": ({}, {}, []),
    "growth prior (Adam, softplus (32,32))": (dict(activation="softplus", hidden_layer_sizes=(32, 32)), {}, []),
    "Adam, alpha 0": (dict(alpha=0.0), dict(alpha=0.0), []),
    "Adam, max_iter 1000": (dict(max_iter=1000), dict(max_iter=1000), []),
    "Adam, least-squares-line init": ({}, {}, [(base.BaseJacobianRegressor, "_build_model", linear_init_build)]),
    "L-BFGS, tanh, alpha 1e-3": ({}, {}, [(base, "train", lbfgs(True))]),
    "L-BFGS, tanh, alpha 0": (dict(alpha=0.0), dict(alpha=0.0), [(base, "train", lbfgs(True))]),
    "L-BFGS, softplus (64,), alpha 1e-3": (dict(activation="softplus"), {}, [(base, "train", lbfgs(True))]),
    "L-BFGS, softplus (64,), alpha 0": (SP0, dict(alpha=0.0), [(base, "train", lbfgs(True))]),
    "L-BFGS (torch default tol), softplus (64,), alpha 0": (SP0, dict(alpha=0.0), [(base, "train", lbfgs(False))]),
    "L-BFGS, softplus (32,32), alpha 1e-4": (
        dict(activation="softplus", alpha=1e-4, hidden_layer_sizes=(32, 32)),
        dict(alpha=1e-4, hidden_layer_sizes=(32, 32)),
        [(base, "train", lbfgs(True))],
    ),
    "L-BFGS, softplus (32,32), alpha 0": (
        dict(SP0, hidden_layer_sizes=(32, 32)),
        dict(alpha=0.0, hidden_layer_sizes=(32, 32)),
        [(base, "train", lbfgs(True))],
    ),
    "L-BFGS (torch default tol), softplus (32,32), alpha 0": (
        dict(SP0, hidden_layer_sizes=(32, 32)),
        dict(alpha=0.0, hidden_layer_sizes=(32, 32)),
        [(base, "train", lbfgs(False))],
    ),
    "L-BFGS, softplus (64,), alpha 0, g = softplus(h) + eps": (
        SP0,
        dict(alpha=0.0),
        [(base, "train", lbfgs(True)), (build, "output_activation", softplus_output)],
    ),
}


# --- measurements --------------------------------------------------------------
def small_n(inv_kw: dict, lip_kw: dict, seeds: range) -> tuple[dict, list[float]]:
    times, scores = [], {}

    def fit(model, X, y):
        t0 = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - t0)
        return model

    exp, absolute = [], []
    suite = {name: [] for name in SUITE}
    for seed in seeds:
        X, Xt = data(seed)
        m = fit(InvertibleJacobianRegressor(random_state=seed, **inv_kw), X, np.exp(X).ravel())
        exp.append(np.mean(np.abs(m.predict(Xt) - np.exp(Xt).ravel())))
        m = fit(JacobianRegressor(constraint="lipschitz", random_state=seed, **lip_kw), X, np.abs(X).ravel())
        absolute.append(np.mean(np.abs(m.predict(Xt) - np.abs(Xt).ravel())))
        for name, f in SUITE.items():
            m = fit(InvertibleJacobianRegressor(random_state=seed, **inv_kw), X, f(X).ravel())
            truth = f(Xt).ravel()
            suite[name].append(np.mean(np.abs(m.predict(Xt) - truth)) / np.std(truth))
    scores = {"exp": np.median(exp), "abs": np.median(absolute)}
    scores.update({name: np.median(v) for name, v in suite.items()})
    scores["mean"] = np.mean([scores[name] for name in SUITE])
    return scores, times


def large_n(inv_kw: dict, lip_kw: dict) -> dict:
    """Held-out R^2 of noiseless truth after fits on noisy data (1-D n=1000, 3-D n=600)."""
    rng = np.random.RandomState(0)
    f1 = lambda x: np.tanh(x) + 0.3 * x  # noqa: E731
    X = rng.uniform(-3, 3, (1000, 1))
    y = f1(X).ravel() + 0.1 * rng.randn(1000)
    Xt = rng.uniform(-3, 3, (500, 1))
    f3 = lambda x: np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + 0.5 * x[:, 2]  # noqa: E731
    g3 = lambda x: x[:, 0] + 0.5 * np.tanh(x[:, 1]) + 0.3 * x[:, 2] ** 3  # noqa: E731
    X3 = rng.uniform(-1, 1, (600, 3))
    y3 = f3(X3) + 0.05 * rng.randn(600)
    X3t = rng.uniform(-1, 1, (400, 3))
    z3 = g3(X3) + 0.05 * rng.randn(600)
    return {
        "1-D invertible": r2_score(f1(Xt), InvertibleJacobianRegressor(random_state=0, **inv_kw).fit(X, y).predict(Xt)),
        "1-D lipschitz": r2_score(
            f1(Xt), JacobianRegressor(constraint="lipschitz", random_state=0, **lip_kw).fit(X, y).predict(Xt)
        ),
        "3-D none": r2_score(f3(X3t), JacobianRegressor(random_state=0, **lip_kw).fit(X3, y3).predict(X3t)),
        "3-D lipschitz k=3": r2_score(
            f3(X3t),
            JacobianRegressor(constraint="lipschitz", lipschitz_constant=3.0, random_state=0, **lip_kw)
            .fit(X3, y3)
            .predict(X3t),
        ),
        "3-D invertible (3 -> 1)": r2_score(
            g3(X3t), InvertibleJacobianRegressor(random_state=0, **inv_kw).fit(X3, z3).predict(X3t)
        ),
    }


def tangent_bound(seeds: range) -> float:
    """exp's test MAE of the exact interpolant continued by its tangents beyond the data (median).

    The best any fit can do that turns linear at the edge of the 5 points: a default
    reaching exp <= 0.15 must keep the derivative growing beyond the data.
    """
    maes = []
    for seed in seeds:
        X, Xt = data(seed)
        lo, hi, x = X.min(), X.max(), Xt.ravel()
        fit = np.where(x > hi, np.exp(hi) * (1 + x - hi), np.where(x < lo, np.exp(lo) * (1 + x - lo), np.exp(x)))
        maes.append(np.mean(np.abs(fit - np.exp(x))))
    return float(np.median(maes))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/prior_research.md")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    rows = {}
    for label, (inv_kw, lip_kw, swaps) in CONFIGS.items():
        with patched(swaps), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = {}
            times = []
            for key, seeds in SEED_SETS.items():
                row[key], t = small_n(inv_kw, lip_kw, seeds)
                times += t
            row["fit_s"] = float(np.median(times))
            row["large"] = None if args.skip_large else large_n(inv_kw, lip_kw)
        rows[label] = row
        a, b = row["0-4"], row["5-9"]
        print(
            f"{label:55s} exp {a['exp']:.3f}/{b['exp']:.3f} |x| {a['abs']:.3f}/{b['abs']:.3f} "
            f"suite {a['mean']:.3f}/{b['mean']:.3f} fit {row['fit_s']:.2f} s",
            flush=True,
        )
    pathlib.Path(args.out).write_text(markdown(rows))
    print(f"wrote {args.out}")


def markdown(rows: dict) -> str:
    lines = [
        "# Issue 3: priors and defaults on 5 points (research record)",
        "",
        "Generated by `PYTHONPATH=. python benchmarks/prior_research.py` (see its docstring for the protocol and",
        "what is emulated). Medians over seeds 0-4 / 5-9: test MAE for exp(x) and |x| (raw units), the prior",
        "suite's mean normalised MAE; fit s is the median fit time (2 shared CPU cores).",
        "",
        "| configuration | exp 0-4 | exp 5-9 | abs 0-4 | abs 5-9 | suite 0-4 | suite 5-9 | fit s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bounds = [f"{tangent_bound(seeds):.3f}" for seeds in SEED_SETS.values()]
    lines.append(f"| exact inside the data, tangent lines outside (exp only) | {' | '.join(bounds)} | | | | | |")
    for label, r in rows.items():
        a, b = r["0-4"], r["5-9"]
        cells = [a["exp"], b["exp"], a["abs"], b["abs"], a["mean"], b["mean"], r["fit_s"]]
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells[:-1]) + f" | {cells[-1]:.2f} |")
    names = list(SUITE)
    lines += ["", "Prior suite per target (seeds 0-4 / 5-9):", ""]
    lines += ["| configuration | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, r in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{r['0-4'][n]:.3f} / {r['5-9'][n]:.3f}" for n in names) + " |")
    lines += [
        "",
        "Reading:",
        "",
        "- The 5 points have a standard deviation of 0.2-0.5, so after standardisation the test range",
        "  reaches 4-10 standard units from the data, where the default derivative is whatever the tanh",
        "  network saturates to (at init, a random number): the defaults cannot continue even the line",
        "  2x-1. A converged L2 penalty (L-BFGS, alpha 1e-3) or a least-squares-line initialisation (even",
        "  under Adam) makes 2x-1 exact.",
        "- Extrapolating linearly at the data's edge cannot reach exp <= 0.15 (the tangent row: even an exact",
        "  fit inside the data). The derivative must keep growing: softplus units make h asymptotically",
        "  linear, g = h**2 quadratic, the fit cubic beyond the data.",
        "- Adam (200 steps of 0.01, each moving every weight by about the step size) neither reaches an",
        "  interpolant nor stays near the initial function, and softplus under Adam is the growth prior that",
        "  blows up; full-batch L-BFGS reaches an interpolant close to the initial network in a few dozen",
        "  evaluations and wins with either activation. The (64,) rows depend on L-BFGS's stopping",
        "  tolerances; the (32,32) rows do not.",
        "- The remaining loss is tanh(2x): h**2 is symmetric, so when the derivative falls towards the edge",
        "  h crosses 0 beyond the data and g grows again. g = softplus(h) + eps (same guarantee g >= eps, but",
        "  a change of the structure's maths) removes that bounce and wins on every target.",
    ]
    if all(r["large"] for r in rows.values()):
        checks = list(next(iter(rows.values()))["large"])
        lines += ["", "Held-out R^2 on larger noisy data:", ""]
        lines += ["| configuration | " + " | ".join(checks) + " |", "|---|" + "---|" * len(checks)]
        for label, r in rows.items():
            lines.append(f"| {label} | " + " | ".join(f"{r['large'][c]:.4f}" for c in checks) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
