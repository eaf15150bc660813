"""The reproduction's figures (seed 0): each task's fit in the paper's configuration, its inverse or
derivative, the training curves and every configuration of the table.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from .protocol import TASKS, Y_INVERSE, data, predict_model


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
        return predict_model(self.model, X)
