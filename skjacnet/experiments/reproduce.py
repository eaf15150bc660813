"""Reproduce the paper's experiments (Lorraine & Hossain, 2019, sec. 5) beside the library's defaults and peers.

Protocol: 5 training points uniform in [-1, 1], 100 test points uniform in
[-2, 2] (one draw per seed); exp(x) with the invertible structure (epsilon =
1e-4) and |x| with the 1-Lipschitz one.  The paper's configuration: one hidden
layer of 64 units, Adam at 0.01, 50 full-batch iterations, x0 = 0, loss
|y - y_hat|, raw units, dopri5 with tolerance annealing; each with the
unconstrained model beside it.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.neural_network import MLPRegressor

from .. import InvertibleJacobianRegressor, JacobianRegressor
from .figures import make_figures
from .protocol import PAPER, SUITE, TANH_ADAM, TASKS, Y_INVERSE, Task, data, fit_model, predict_model, task_title
from .report import markdown, summarise, warning_notes


class UMNNPeer:
    """UMNN's MonotonicNN (Wehenkel & Louppe, 2019) on 1-D data, trained with Adam."""

    def __init__(self, seed: int, steps: int = 500, lr: float = 0.01):
        self.seed, self.steps, self.lr = seed, steps, lr

    def fit(self, X, y):
        import torch
        from UMNN import MonotonicNN

        from .._runtime import torch_threads

        with torch.random.fork_rng():  # UMNN initialises from torch's global generator
            torch.manual_seed(self.seed)
            self.net_ = MonotonicNN(2, [64], nb_steps=50, dev="cpu")
        x = torch.as_tensor(X, dtype=torch.float32)
        t = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        # one thread, as the table's timings: torch's default (every core) was many times slower on the
        # 5-point problems, far too small to split (docs/measurements.md)
        with torch_threads(1):
            for _ in range(self.steps):
                opt.zero_grad()
                loss = (self.net_(x, torch.zeros_like(x)) - t).abs().mean()
                loss.backward()
                opt.step()
        return self

    def predict(self, X):
        import torch

        x = torch.as_tensor(X, dtype=torch.float32)
        with torch.no_grad():
            return self.net_(x, torch.zeros_like(x)).numpy().ravel().astype(np.float64)


def umnn_available() -> bool:
    try:
        import UMNN  # noqa: F401
    except ImportError:
        return False
    return True


def configurations(task: Task, seed: int, include_umnn: bool) -> list[tuple[str, object]]:
    """(label, unfitted model) pairs for one task and seed."""
    structured = (
        InvertibleJacobianRegressor(epsilon=1e-4, increasing=True, positive_map="square", **PAPER)
        if task.invertible
        else JacobianRegressor(constraint="lipschitz", lipschitz_constant=1.0, **PAPER)
    )
    defaults = InvertibleJacobianRegressor() if task.invertible else JacobianRegressor(constraint="lipschitz")
    rows = [
        ("paper, faithful", structured),
        ("paper, unconstrained", JacobianRegressor(constraint="none", **PAPER)),
        ("skjacnet defaults", defaults),
        (
            "skjacnet, tanh (64,) + Adam",
            InvertibleJacobianRegressor(**TANH_ADAM)
            if task.invertible
            else JacobianRegressor(constraint="lipschitz", **TANH_ADAM),
        ),
        ("MLPRegressor lbfgs", MLPRegressor(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=2000)),
        (
            "MLPRegressor Adam 50 it",
            MLPRegressor(hidden_layer_sizes=(64,), solver="adam", learning_rate_init=0.01, max_iter=50, batch_size=5),
        ),
    ]
    if task.invertible:
        rows.append(("IsotonicRegression", IsotonicRegression(out_of_bounds="clip")))
        if include_umnn:
            rows.append(("UMNN 500 Adam steps", UMNNPeer(seed)))
    out = []
    for label, model in rows:
        if not isinstance(model, UMNNPeer):
            model = clone(model)
            if "random_state" in model.get_params():
                model.set_params(random_state=seed)
        out.append((label, model))
    return out


def _fit_recording(model, X, y) -> list[str]:
    """Fit ``model``; return the warnings the fit raised ("Category: message", each once), printing none.

    The run reports them per configuration after its tables (``warning_notes``) instead of letting
    them interleave with the progress log.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit_model(model, X, y)
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


def evaluate(task: Task, model, X, Xt) -> dict:
    y = task.f(X).ravel()
    t0 = time.perf_counter()
    caught = _fit_recording(model, X, y)
    secs = time.perf_counter() - t0
    evaluations = int(model.model_.field.evaluations) if hasattr(model, "model_") else None  # fit only
    row = {
        "test_mae": float(np.mean(np.abs(predict_model(model, Xt) - task.f(Xt).ravel()))),
        "train_loss": float(np.mean(np.abs(predict_model(model, X) - y))),
        "fit_seconds": secs,
        "evaluations": evaluations,
        "inverse_error": None,
        "round_trip": None,
        "warnings": caught,
    }
    if hasattr(model, "inverse_transform") and task.invertible:
        ys = np.linspace(*Y_INVERSE, 200)
        row["inverse_error"] = float(np.mean(np.abs(model.inverse_transform(ys).ravel() - np.log(ys))))
        row["round_trip"] = float(np.max(np.abs(model.inverse_transform(model.predict(Xt)) - Xt)))
    return row


def run(seeds: int, out: pathlib.Path, log=print) -> dict:
    """Run every task, configuration and seed; write figures, JSON and Markdown into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    include_umnn = umnn_available()
    raw: list[dict] = []
    keep: dict = {}
    total = sum(len(configurations(t, 0, include_umnn)) for t in TASKS) * seeds
    done = 0
    for task in TASKS:
        for seed in range(seeds):
            X, Xt = data(seed)
            for label, model in configurations(task, seed, include_umnn):
                row = evaluate(task, model, X, Xt)
                raw.append({"task": task.key, "config": label, "seed": seed, **row})
                done += 1
                flag = f"; {len(row['warnings'])} warning(s), reported after the tables" if row["warnings"] else ""
                log(
                    f"[{done:3d}/{total}] {task.title:6} {label:24} seed {seed}: "
                    f"test MAE {row['test_mae']:.4f} ({row['fit_seconds']:.2f} s{flag})"
                )
                if seed == 0:
                    keep[(task.key, label)] = model
    summary = summarise(raw)
    caught = [
        {"table": task_title(r["task"]), "config": r["config"], "target": None, "seed": r["seed"], "warning": w}
        for r in raw
        for w in r["warnings"]
    ]
    suite = prior_suite(seeds, log, caught)
    notes = [] if include_umnn else ["UMNN is not installed (pip install umnn): its rows are omitted."]
    warned = warning_notes(caught)
    result = {
        "protocol": __doc__.strip(),
        "seeds": seeds,
        "paper_config": {k: str(v) for k, v in PAPER.items()},
        "summary": summary,
        "prior_suite": suite,
        "runs": raw,
        "notes": notes,
        "warnings": caught,
        "warning_notes": warned,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    figures = make_figures(keep, out)
    (out / "results.md").write_text(markdown(summary, seeds, notes, figures, suite, warned))
    return result


def prior_suite(seeds: int, log=print, caught: list[dict] | None = None) -> dict:
    """Median over seeds of test MAE / std(target) for 1-D monotone priors on SUITE.

    The warnings the fits raise are appended to ``caught`` (one record per fit and warning).
    """
    models = {
        "skjacnet defaults": InvertibleJacobianRegressor(),
        "skjacnet defaults, positive_map='square'": InvertibleJacobianRegressor(positive_map="square"),
        "skjacnet, tanh (64,) + Adam": InvertibleJacobianRegressor(**TANH_ADAM),
        "IsotonicRegression": IsotonicRegression(out_of_bounds="clip"),
    }
    table: dict = {}
    caught = [] if caught is None else caught
    for label, proto in models.items():
        warned = 0
        for name, f in SUITE.items():
            scores = []
            for seed in range(seeds):
                X, Xt = data(seed)
                model = clone(proto)
                if "random_state" in model.get_params():
                    model.set_params(random_state=seed)
                for w in _fit_recording(model, X, f(X).ravel()):
                    caught.append({"table": "prior suite", "config": label, "target": name, "seed": seed, "warning": w})
                    warned += 1
                truth = f(Xt).ravel()
                scores.append(float(np.mean(np.abs(predict_model(model, Xt) - truth)) / np.std(truth)))
            table.setdefault(label, {})[name] = float(np.median(scores))
        table[label]["mean"] = float(np.mean(list(table[label].values())))
        flag = f" ({warned} warning(s), reported after the tables)" if warned else ""
        log(f"prior suite: {label}: mean normalised MAE {table[label]['mean']:.3f}{flag}")
    return table


def main(seeds: int, out: str) -> int:
    t0 = time.perf_counter()
    result = run(seeds, pathlib.Path(out), log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print((pathlib.Path(out) / "results.md").read_text())
    for note in result["notes"]:
        print("note:", note)
    print(f"wrote {out}/results.json, results.md and figures in {time.perf_counter() - t0:.1f} s")
    return 0
