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
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.neural_network import MLPRegressor

from .. import InvertibleJacobianRegressor, JacobianRegressor

PAPER = dict(
    hidden_layer_sizes=(64,),
    activation="tanh",
    solver="adam",
    learning_rate_init=0.01,
    max_iter=50,
    n_iter_no_change=50,  # the paper trains for all 50 epochs: no early stop on a stalled loss
    early_stopping=False,
    batch_size="auto",
    loss="absolute_error",
    alpha=0.0,
    method="dopri5",
    tol_annealing=True,
    rtol=1e-6,
    atol=1e-6,
    initial_point=0.0,
    standardize=False,
)
Y_INVERSE = (math.exp(-2), math.exp(2))


@dataclass
class Task:
    key: str
    title: str
    f: Callable[[np.ndarray], np.ndarray]
    invertible: bool


TASKS = [Task("exp", "exp(x)", np.exp, True), Task("abs", "|x|", np.abs, False)]

# The defaults before issue 3 was solved, kept beside the defaults for comparison: tanh units
# saturate away from the data (the derivative freezes at an arbitrary value there) and 200
# Adam steps neither interpolate nor stay near the initial function.
# the former defaults (tanh (64,), Adam, alpha 1e-3), with the paper's h**2 + eps and without early stopping
TANH_ADAM = dict(
    hidden_layer_sizes=(64,), activation="tanh", solver="adam", alpha=1e-3, positive_map="square", early_stopping=False
)

# Monotone targets for judging 1-D priors beyond the two tasks: five points cannot
# say whether a curve keeps growing or saturates, so every prior wins on some.
SUITE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp(x)": np.exp,
    "log(x+2.5)": lambda x: np.log(x + 2.5),
    "sqrt(x+2.1)": lambda x: np.sqrt(x + 2.1),
    "x^3+x": lambda x: x**3 + x,
    "2x-1": lambda x: 2 * x - 1,
    "tanh(2x)": lambda x: np.tanh(2 * x),
    "sigmoid(3x)": lambda x: 1 / (1 + np.exp(-3 * x)),
}


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
        # one thread, as the table's timings: torch's default (every core) took 12-22 s per seed against
        # 0.8 s on this project's 2-core machine (the 5-point problems are far too small to split)
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


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.uniform(-1, 1, (5, 1)), rng.uniform(-2, 2, (100, 1))


def _fit(model, X, y):
    if isinstance(model, IsotonicRegression):
        return model.fit(X.ravel(), y)
    return model.fit(X, y)


def _predict(model, X):
    return np.asarray(model.predict(X.ravel() if isinstance(model, IsotonicRegression) else X)).ravel()


# Configurations that stop after a fixed number of iterations by design: "Maximum iterations
# reached" is the protocol there, not a fault (the figures are those of the model after the budget).
FIXED_BUDGET = {
    "paper, faithful": "the paper's 50 Adam iterations",
    "paper, unconstrained": "the paper's 50 Adam iterations",
    "MLPRegressor Adam 50 it": "50 Adam iterations, as the paper",
    "skjacnet, tanh (64,) + Adam": "the former defaults' 200 Adam iterations",
}


def _fit_recording(model, X, y) -> list[str]:
    """Fit ``model``; return the warnings the fit raised ("Category: message", each once), printing none.

    The run reports them per configuration after its tables (``warning_notes``) instead of letting
    them interleave with the progress log.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        _fit(model, X, y)
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


def evaluate(task: Task, model, X, Xt) -> dict:
    y = task.f(X).ravel()
    t0 = time.perf_counter()
    caught = _fit_recording(model, X, y)
    secs = time.perf_counter() - t0
    evaluations = int(model.model_.field.evaluations) if hasattr(model, "model_") else None  # fit only
    row = {
        "test_mae": float(np.mean(np.abs(_predict(model, Xt) - task.f(Xt).ravel()))),
        "train_loss": float(np.mean(np.abs(_predict(model, X) - y))),
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


def task_title(key: str) -> str:
    return next(t.title for t in TASKS if t.key == key)


def _seed_list(seeds: list[int]) -> str:
    """[0, 1, 2, 4] -> 'seeds 0-2, 4'; [3] -> 'seed 3'."""
    seeds = sorted(set(seeds))
    spans: list[list[int]] = []
    for s in seeds:
        if spans and s == spans[-1][1] + 1:
            spans[-1][1] = s
        else:
            spans.append([s, s])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
    return ("seeds " if len(seeds) > 1 else "seed ") + text


def warning_notes(caught: list[dict]) -> list[str]:
    """One line per configuration (table row) whose fits raised warnings: which row, which fits, which warning."""
    rows: dict = {}
    for c in caught:
        where = rows.setdefault((c["table"], c["config"]), {}).setdefault(c["warning"], {})
        where.setdefault(c["target"], []).append(c["seed"])
    lines = []
    for (table, config), by_warning in rows.items():
        parts = []
        for message, fits in by_warning.items():
            on = "; ".join(
                _seed_list(seeds) if target is None else f"{target} {_seed_list(seeds)}"
                for target, seeds in fits.items()
            )
            expected = (
                f" (expected: {FIXED_BUDGET[config]})"
                if config in FIXED_BUDGET and "Maximum iterations" in message
                else ""
            )
            parts.append(f"{on}: {message}{expected}")
        lines.append(f"{table} table, row '{config}', " + " / ".join(parts))
    return lines


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
                scores.append(float(np.mean(np.abs(_predict(model, Xt) - truth)) / np.std(truth)))
            table.setdefault(label, {})[name] = float(np.median(scores))
        table[label]["mean"] = float(np.mean(list(table[label].values())))
        flag = f" ({warned} warning(s), reported after the tables)" if warned else ""
        log(f"prior suite: {label}: mean normalised MAE {table[label]['mean']:.3f}{flag}")
    return table


def summarise(raw: list[dict]) -> dict:
    summary: dict = {}
    for r in raw:
        cell = summary.setdefault(r["task"], {}).setdefault(r["config"], {})
        for metric in ("test_mae", "train_loss", "inverse_error", "round_trip", "fit_seconds", "evaluations"):
            if r[metric] is not None:
                cell.setdefault(metric, []).append(r[metric])
    for task in summary.values():
        for cell in task.values():
            for metric, values in cell.items():
                cell[metric] = {
                    "median": float(np.median(values)),
                    "min": float(np.min(values)),
                    "max": float(np.max(values)),
                }
    return summary


def _fmt(cell: dict | None, spread: bool = False, digits: int = 3) -> str:
    if cell is None:
        return "—"
    text = (
        f"{cell['median']:.{digits}g}"
        if cell["median"] < 1e-3 or cell["median"] >= 1e4
        else f"{cell['median']:.{digits}f}"
    )
    return text + (f" [{cell['min']:.{digits}f}, {cell['max']:.{digits}f}]" if spread else "")


def _count(cell: dict | None) -> str:
    return "—" if cell is None else f"{int(cell['median']):,}"


def markdown(
    summary: dict, seeds: int, notes: list[str], figures: list[str], suite: dict, warned: list[str] | None = None
) -> str:
    lines = [
        "# Reproduction of the paper's experiments",
        "",
        "Generated by `python -m skjacnet reproduce` (skjacnet/experiments/reproduce.py); do not edit by hand.",
        "",
        f"{seeds} seeds; each cell is the median over seeds, test MAE with [min, max]. Training loss is the",
        "mean |y - y_hat| on the 5 training points; the inverse error is the mean |x_hat(y) - log y| for y in",
        "[e^-2, e^2]; the round trip is max |inverse_transform(predict(x)) - x| on the test points;",
        "evaluations count the points at which the Jacobian network was evaluated during fit.",
        "",
    ]
    for task in TASKS:
        lines += [
            f"## {task.title}",
            "",
            "| configuration | test MAE [min, max] | train loss | inverse error | round trip | fit s | evaluations |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, cell in summary.get(task.key, {}).items():
            cells = [
                _fmt(cell["test_mae"], spread=True),
                _fmt(cell["train_loss"]),
                _fmt(cell.get("inverse_error")),
                _fmt(cell.get("round_trip"), digits=2),
                _fmt(cell["fit_seconds"], digits=2),
                _count(cell.get("evaluations")),
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    names = list(SUITE) + ["mean"]
    lines += [
        "## Priors beyond the two tasks",
        "",
        "Same protocol (5 points in [-1, 1], test on [-2, 2]) on seven monotone targets; median over seeds",
        "of test MAE / std(target). Half of the test range is extrapolation, where the prior decides.",
        "The defaults (full-batch L-BFGS for small samples; softplus units, linear away from the data;",
        "the derivative exp(h) + eps) continue each curve's log-derivative trend; with the paper's",
        "h^2 + eps (positive_map='square') the derivative is symmetric in h, so where it falls toward the",
        "edge of the data it can rebound beyond it (saturating targets), and grows quadratically where it",
        "rises. Five points barely fix the trend: 200 or more noisy points do (docs/benchmarks_tabular.md).",
        "tanh units trained by 200 Adam steps freeze the derivative at an arbitrary value beyond the data.",
        "",
        "| prior | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    lines += [f"| {label} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |" for label, row in suite.items()]
    lines.append("")
    lines += [f"- {n}" for n in notes]
    if warned:
        lines += [
            "",
            "## Warnings raised by the fits",
            "",
            "One line per table row whose fits warned: the row, the seeds (and targets) of the fits that warned,",
            "the warning. 'Maximum iterations reached' is expected where a configuration trains for a fixed",
            "number of iterations: its figures are those of the model after that budget.",
            "",
        ]
        lines += [f"- {n}" for n in warned]
    lines += ["", "## Figures (seed 0)", ""] + [f"![{name}]({name})" for name in figures]
    return "\n".join(lines) + "\n"


def _at_init(model):
    """The model at its initial weights: one Adam step of size 1e-12 (Adam's steps are ~lr)."""
    X, _ = data(0)
    probe = clone(model).set_params(max_iter=1, learning_rate_init=1e-12, tol_annealing=False)
    return probe, X


def make_figures(keep: dict, out: pathlib.Path) -> list[str]:
    from ..plotting import _plt, plot_derivative, plot_fit, plot_inverse, plot_training

    plt = _plt()
    X, _ = data(0)
    names = []
    for task in TASKS:
        trained = keep[(task.key, "paper, faithful")]
        init, _ = _at_init(trained)
        with warnings.catch_warnings():  # one tiny step by design: not a convergence fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            init.fit(X, task.f(X).ravel())
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        plot_fit(
            task.f,
            X,
            [
                ("prediction at init", init),
                ("after training", trained),
                ("unconstrained", keep[(task.key, "paper, unconstrained")]),
            ],
            title=f"{task.title}: the paper's configuration",
            ax=axes[0],
        )
        if task.invertible:
            plot_inverse(trained, np.log, Y_INVERSE, title="learned inverse vs log(y)", ax=axes[1])
        else:
            plot_derivative(trained, bounds=(-1.0, 1.0), title="derivative of the fit (bounds ±1)", ax=axes[1])
        name = f"fig{1 if task.invertible else 2}_{task.key}.png"
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, task in zip(axes, TASKS):
        plot_training([(task.title, keep[(task.key, "paper, faithful")])], title=f"training: {task.title}", ax=ax)
    fig.tight_layout()
    fig.savefig(out / "fig3_training.png", dpi=110)
    plt.close(fig)
    names.append("fig3_training.png")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, task in zip(axes, TASKS):  # every configuration of the table
        models = [(label, _Ravel(m)) for (k, label), m in keep.items() if k == task.key]
        plot_fit(task.f, X, models, title=f"{task.title}: every configuration of the table", ax=ax)
    fig.tight_layout()
    fig.savefig(out / "fig4_peers.png", dpi=110)
    plt.close(fig)
    names.append("fig4_peers.png")
    return names


class _Ravel:
    """Adapter so IsotonicRegression-style models take (n, 1) inputs in plots."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return _predict(self.model, X)


def main(seeds: int, out: str) -> int:
    t0 = time.perf_counter()
    result = run(seeds, pathlib.Path(out), log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print((pathlib.Path(out) / "results.md").read_text())
    for note in result["notes"]:
        print("note:", note)
    print(f"wrote {out}/results.json, results.md and figures in {time.perf_counter() - t0:.1f} s")
    return 0
