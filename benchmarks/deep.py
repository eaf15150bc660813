"""Deep guaranteed models (n_layers) against the best guaranteed peers, all in this process (issue 14).

    python benchmarks/deep.py [--quick] [--tasks NAME ...] [--out DIR]

Peers (install next to the pinned torch with ``pip install --no-deps deel-torchlip monotonenorm zuko``):
deel-torchlip (GroupSort-2 networks of spectrally normalised layers, 1-Lipschitz), monotonenorm (LMN:
Lipschitz monotonic networks), an i-ResNet written here (residual blocks x + g(x), Lip(g) <= 0.9 by
spectral normalisation, inverse by fixed-point iteration) and zuko's neural spline flow (NSF) used as a
bijection trained by regression; HistGradientBoostingRegressor(monotonic_cst) and an unconstrained
MLPRegressor as references.  Every model is trained by squared error with a small tuning (two learning
rates for the torch peers, chosen on a validation split), test R^2 is on fresh points of the same
domain, and fit times are wall-clock seconds in this run.  Prints a markdown table (and writes it, with
a JSON copy, to --out).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's skjacnet, not an installed one
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # the shared peers' helpers (_train)
from _train import train_mse  # noqa: E402

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)


# ----------------------------------------------------------------------------------------------- tasks
def _dist(points):
    return lambda X: np.min(np.linalg.norm(X[:, None, :] - points[None], axis=2), axis=1)


def _max_affine(d, k, rng):
    W = rng.standard_normal((k, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)  # unit slopes: 1-Lipschitz
    b = rng.uniform(-0.3, 0.3, k)
    return lambda X: np.max(X @ W.T + b, axis=1)


def _arm(T):
    lengths = np.array([1.0, 0.8, 0.6])
    phi = np.cumsum(T, axis=1)
    return np.c_[(lengths * np.cos(phi)).sum(1), (lengths * np.sin(phi)).sum(1), phi[:, -1]]


def _srgb_to_lab(C):
    lin = np.where(C <= 0.04045, C / 12.92, ((C + 0.055) / 1.055) ** 2.4)
    M = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ M.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.c_[116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])]


def _twist(strength):
    def f(X):
        r = np.linalg.norm(X, axis=1)
        Y = X.copy()
        for j in range(0, X.shape[1] - 1, 2):  # every coordinate pair turns by an angle growing with the radius
            c, s = np.cos(strength * r), np.sin(strength * r)
            Y[:, j], Y[:, j + 1] = c * X[:, j] - s * X[:, j + 1], s * X[:, j] + c * X[:, j + 1]
        return Y

    return f


def tasks(rng):
    """name -> (kind, sampler(n, rng), target function, extra)."""
    cube = lambda d, lo=-1.0, hi=1.0: lambda n, r: r.uniform(lo, hi, (n, d))  # noqa: E731
    arm_box = lambda n, r: np.c_[r.uniform(-1, 1, n), r.uniform(0.1, 1.5, (n, 2))]  # noqa: E731
    mono = lambda X: X[:, 0] + X[:, 1] + X[:, 2] + X[:, 0] * X[:, 1] + X[:, 0] * np.sin(2 * np.pi * X[:, 3])  # noqa: E731
    return {
        "lip-dist3-d2": ("lipschitz", cube(2), _dist(rng.uniform(-0.7, 0.7, (3, 2))), 1000),
        "lip-norm-d5": ("lipschitz", cube(5), lambda X: np.linalg.norm(X, axis=1), 1000),
        "lip-mindist-d5": ("lipschitz", cube(5), _dist(rng.uniform(-0.7, 0.7, (5, 5))), 1000),
        "lip-maxaffine-d5": ("lipschitz", cube(5), _max_affine(5, 5, rng), 1000),
        "lip-norm-d10": ("lipschitz", cube(10), lambda X: np.linalg.norm(X, axis=1), 1000),
        "lip-maxaffine-d10": ("lipschitz", cube(10), _max_affine(10, 5, rng), 1000),
        "mono-interactions-n500": ("monotone", cube(4, 0.0, 1.0), mono, 500),
        "mono-interactions-n5000": ("monotone", cube(4, 0.0, 1.0), mono, 5000),
        "bij-arm3": ("bijection", arm_box, _arm, 500),
        "bij-srgb-lab": ("bijection", cube(3, 0.0, 1.0), _srgb_to_lab, 5000),
        "bij-twist-mild-d2": ("bijection", cube(2, -1.5, 1.5), _twist(1.0), 2000),
        "bij-twist-strong-d2": ("bijection", cube(2, -1.5, 1.5), _twist(3.0), 5000),
        "bij-twist-strong-d4": ("bijection", cube(4, -1.5, 1.5), _twist(3.0), 5000),
    }


MONOTONE_CST = [1, 1, 1, 0]


# ----------------------------------------------------------------------------------------------- peers
def _tuned(build, X, Y, steps, lrs=(1e-3, 1e-2)):
    """Train with each learning rate on 80% of the rows; refit the best on all of them."""
    n = len(X)
    cut = int(0.8 * n)
    scores = []
    for lr in lrs:
        torch.manual_seed(0)
        net = train_mse(build(), X[:cut], Y[:cut], lr, steps)
        with torch.no_grad():
            pred = net(torch.as_tensor(X[cut:], dtype=torch.float32)).numpy()
        scores.append(r2_score(Y[cut:], pred))
    torch.manual_seed(0)
    return train_mse(build(), X, Y, lrs[int(np.argmax(scores))], steps)


def peer_torchlip(X, Y, steps):
    import deel.torchlip as tl

    d, w = X.shape[1], 64

    def build():
        return tl.Sequential(
            tl.SpectralLinear(d, w), tl.GroupSort2(), tl.SpectralLinear(w, w), tl.GroupSort2(),
            tl.SpectralLinear(w, w), tl.GroupSort2(), tl.FrobeniusLinear(w, Y.shape[1]),
        )  # fmt: skip

    net = _tuned(build, X, Y, steps).eval()
    return lambda A: net(torch.as_tensor(A, dtype=torch.float32)).detach().numpy()


def peer_lmn(X, Y, steps, lam=2.0):
    from monotonenorm import GroupSort, SigmaNet, direct_norm

    d, w, depth = X.shape[1], 64, 3

    def build():
        norm = lambda layer, kind: direct_norm(layer, kind=kind, max_norm=lam ** (1 / depth))  # noqa: E731
        inner = torch.nn.Sequential(
            norm(torch.nn.Linear(d, w), "one-inf"), GroupSort(w // 2),
            norm(torch.nn.Linear(w, w), "inf"), GroupSort(w // 2),
            norm(torch.nn.Linear(w, Y.shape[1]), "inf"),
        )  # fmt: skip
        return SigmaNet(inner, sigma=lam, monotone_constraints=MONOTONE_CST)

    net = _tuned(build, X, Y, steps).eval()
    return lambda A: net(torch.as_tensor(A, dtype=torch.float32)).detach().numpy()


class IResNet(torch.nn.Module):
    """x -> x + g(x) blocks, Lip(g) <= c < 1 (spectral normalisation, ELU): a bijection, inverse by fixed point."""

    def __init__(self, d, blocks=4, width=64, c=0.9):
        super().__init__()
        sn = torch.nn.utils.parametrizations.spectral_norm
        self.c = c
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(
                sn(torch.nn.Linear(d, width)),
                torch.nn.ELU(),
                sn(torch.nn.Linear(width, width)),
                torch.nn.ELU(),
                sn(torch.nn.Linear(width, d)),
            )  # fmt: skip
            for _ in range(blocks)
        )

    def forward(self, x):
        for g in self.blocks:
            x = x + self.c * g(x)
        return x

    def inverse(self, y, iters=100):
        for g in reversed(self.blocks):
            x = y
            for _ in range(iters):
                x = y - self.c * g(x)
            y = x
        return y


def peer_iresnet(X, Y, steps):
    net = _tuned(lambda: IResNet(X.shape[1]), X, Y, steps).eval()
    fwd = lambda A: net(torch.as_tensor(A, dtype=torch.float32)).detach().numpy()  # noqa: E731
    inv = lambda B: net.inverse(torch.as_tensor(B, dtype=torch.float32)).detach().numpy()  # noqa: E731
    return fwd, inv


def peer_nsf(X, Y, steps):
    import zuko

    d = X.shape[1]

    class Bijection(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.flow = zuko.flows.NSF(d, transforms=3, hidden_features=(64, 64)) if d > 1 else None

        def forward(self, x):
            return self.flow.transform()(x)

    net = _tuned(Bijection, X, Y, steps).eval()
    fwd = lambda A: net(torch.as_tensor(A, dtype=torch.float32)).detach().numpy()  # noqa: E731
    inv = lambda B: net.flow.transform().inv(torch.as_tensor(B, dtype=torch.float32)).detach().numpy()  # noqa: E731
    return fwd, inv


# ----------------------------------------------------------------------------------------------- runs
def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def run_task(name, spec, depths, quick, seed=0, steps=None):
    kind, sample, f, n = spec
    rng = np.random.RandomState(seed + 1)
    X, Xt = sample(n, rng), sample(4000, rng)
    Y, Yt = f(X), f(Xt)
    Y2, Yt2 = (Y[:, None], Yt[:, None]) if Y.ndim == 1 else (Y, Yt)
    rows = []
    steps = steps or (600 if quick else 1500)

    def add(model, score, fit_s, **extra):
        rows.append({"task": name, "model": model, "r2": float(score), "fit_s": round(fit_s, 2), **extra})
        print(f"  {name:24s} {model:32s} R2 {score:.4f}  fit {fit_s:6.1f}s", *(f"{k} {v}" for k, v in extra.items()),
              flush=True)  # fmt: skip

    for depth in depths:
        if kind == "lipschitz":
            models = {"": JacobianRegressor(constraint="lipschitz", lipschitz_constant=1.0, n_layers=depth)}
        elif kind == "monotone":
            models = {"": JacobianRegressor(monotonic_cst=MONOTONE_CST, n_layers=depth)}
        else:  # every invertible structure: positive-definite (the default), Kronecker, coupling
            models = {
                label: InvertibleJacobianRegressor(constraint=c, n_layers=depth)
                for label, c in (("", "positive_definite"), ("kronecker ", "kronecker"), ("coupling ", "coupling"))
            }
        for label, est in models.items():
            est.set_params(random_state=0, **({"max_iter": 20} if quick else {}))
            _, fit_s = timed(est.fit, X, Y)
            pred, pred_s = timed(est.predict, Xt)
            extra = {}
            if kind == "bijection":
                back, inv_s = timed(est.inverse_transform, pred)
                extra = {"round_trip": f"{np.abs(back - Xt).max():.1e}", "inverse/predict": round(inv_s / pred_s, 1)}
            add(f"skjacnet {label}n_layers={depth}", r2_score(Yt, pred), fit_s, **extra)

    # peers, on standardised data (isotropic for Lipschitz: the bound is in the original units)
    iso = kind == "lipschitz"
    xm, ym = X.mean(0), Y2.mean(0)
    xs = X.std() if iso else X.std(0)
    ys = xs if iso else Y2.std(0)
    Xs, Ys, Xts = (X - xm) / xs, (Y2 - ym) / ys, (Xt - xm) / xs
    back = lambda P: (ym + ys * P).reshape(Yt.shape)  # noqa: E731
    if kind == "lipschitz":
        pred_fn, fit_s = timed(peer_torchlip, Xs, Ys, steps)
        add("deel-torchlip GroupSort", r2_score(Yt, back(pred_fn(Xts))), fit_s)
    elif kind == "monotone":
        for lam in (1.0, 3.0):
            pred_fn, fit_s = timed(peer_lmn, Xs, Ys, steps, lam)
            add(f"LMN (monotonenorm) lambda={lam:g}", r2_score(Yt, back(pred_fn(Xts))), fit_s)
        hgb, fit_s = timed(HistGradientBoostingRegressor(monotonic_cst=MONOTONE_CST, random_state=0).fit, X, Y)
        add("HistGradientBoosting monotonic_cst", r2_score(Yt, hgb.predict(Xt)), fit_s)
    else:
        for label, peer in (("i-ResNet (4 blocks)", peer_iresnet), ("zuko NSF", peer_nsf)):
            (fwd, inv), fit_s = timed(peer, Xs, Ys, steps)
            P = fwd(Xts)
            B = inv(P)
            add(label, r2_score(Yt, back(P)), fit_s, round_trip=f"{np.abs(B - Xts).max() * np.max(xs):.1e}")
    mlp, fit_s = timed(
        MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=300 if quick else 2000, random_state=0).fit, Xs, Ys.squeeze()
    )
    add("MLPRegressor (no guarantee)", r2_score(Yt, back(mlp.predict(Xts))), fit_s)
    return rows


def summary(rows: list[dict]) -> list[str]:
    """Per task: skjacnet at one layer, the best skjacnet depth, the best guaranteed peer, the MLP."""
    lines = [
        "| task | skjacnet n_layers=1 | best skjacnet of n_layers 1, 2, 4 | best guaranteed peer "
        "| MLPRegressor (no guarantee) |",
        "|---|---|---|---|---|",
    ]
    fmt = lambda r: f"{r['r2']:.4f} ({r['fit_s']:.0f} s)"  # noqa: E731
    for task in dict.fromkeys(r["task"] for r in rows):
        rs = [r for r in rows if r["task"] == task]
        ours = [r for r in rs if r["model"].startswith("skjacnet")]
        one = max((r for r in ours if r["model"].endswith("n_layers=1")), key=lambda r: r["r2"], default=None)
        best = max(ours, key=lambda r: r["r2"])
        peer = max(
            (r for r in rs if not r["model"].startswith(("skjacnet", "MLP", "HistGradient"))), key=lambda r: r["r2"]
        )
        mlp = next(r for r in rs if r["model"].startswith("MLP"))
        first = "—" if one is None else fmt(one)
        lines.append(f"| {task} | {first} | {fmt(best)} {best['model'].removeprefix('skjacnet ')} | "
                     f"{fmt(peer)} {peer['model']} | {mlp['r2']:.4f} |")  # fmt: skip
    return lines


def tables(rows: list[dict]) -> str:
    """The summary, then every row."""
    table = ["| task | model | test R² | fit s | notes |", "|---|---|---|---|---|"]
    for r in rows:
        notes = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("task", "model", "r2", "fit_s"))
        table.append(f"| {r['task']} | {r['model']} | {r['r2']:.4f} | {r['fit_s']} | {notes} |")
    return "\n".join([*summary(rows), "", "All rows:", "", *table]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations: checks that everything runs")
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--depths", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=None, help="Adam steps of the torch peers (1500; --quick 600)")
    parser.add_argument("--merge", nargs="*", default=None, help="print the tables of saved deep.json files (no runs)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.merge:  # runs split over processes: one page from their JSON
        print(tables([row for f in args.merge for row in json.loads(pathlib.Path(f).read_text())]), end="")
        return 0
    all_tasks = tasks(np.random.RandomState(0))
    rows = []
    for name in args.tasks or list(all_tasks):
        print(name, flush=True)
        rows += run_task(name, all_tasks[name], args.depths, args.quick, steps=args.steps)
    text = tables(rows)
    print(text, end="")
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "deep.json").write_text(json.dumps(rows, indent=1))
        (out / "deep.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
