"""Matplotlib figures of fitted JacNet models; every function returns the Figure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("skjacnet.plotting needs matplotlib: pip install 'skjacnet[plot]'") from exc
    return plt


def plot_fit(
    target: Callable[[np.ndarray], np.ndarray],
    X_train: np.ndarray,
    curves: Sequence[tuple[str, object]],
    *,
    xlim: tuple[float, float] = (-2.0, 2.0),
    title: str = "",
    ax=None,
):
    """Target, training points and the prediction of each (label, estimator) pair."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.6))
    ax = ax if ax is not None else fig.add_subplot()
    xs = np.linspace(*xlim, 400).reshape(-1, 1)
    ax.plot(xs, target(xs), color="black", lw=2.5, alpha=0.35, label="target")
    styles = ["-", "--", ":", "-."]
    for i, (label, est) in enumerate(curves):
        ax.plot(xs, np.asarray(est.predict(xs)).reshape(len(xs), -1)[:, 0], styles[i % 4], lw=1.6, label=label)
    ax.scatter(X_train.ravel(), target(X_train).ravel(), color="black", zorder=5, s=22, label="training points")
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_inverse(
    est, true_inverse: Callable[[np.ndarray], np.ndarray], ylim: tuple[float, float], *, title="", ax=None
):
    """Learned inverse (``inverse_transform``) against the true inverse."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.6))
    ax = ax if ax is not None else fig.add_subplot()
    ys = np.linspace(*ylim, 400)
    ax.plot(ys, true_inverse(ys), color="black", lw=2.5, alpha=0.35, label="true inverse")
    ax.plot(ys, est.inverse_transform(ys).ravel(), "-", lw=1.6, label="learned inverse")
    ax.set(xlabel="y", ylabel="x", title=title)
    ax.legend(fontsize=7)
    return fig


def _slope(est, xs: np.ndarray) -> np.ndarray:
    """dy/dx of ``est.predict`` at 1-D points xs (n, 1): the estimator's exact ``jacobian``; for a Pipeline, the
    last step's times the derivative of the steps before it (central differences: exact for affine scalers)."""
    if hasattr(est, "jacobian"):
        return np.asarray(est.jacobian(xs)).reshape(len(xs), -1)[:, 0]
    steps = getattr(est, "steps", None)
    if steps and hasattr(steps[-1][1], "jacobian"):
        head = est[:-1]
        h = 1e-6 * (1.0 + np.abs(xs))
        inner = (head.transform(xs + h) - head.transform(xs - h)) / (2 * h)  # (n, 1)
        return np.asarray(steps[-1][1].jacobian(head.transform(xs))).reshape(len(xs), -1)[:, 0] * inner[:, 0]
    raise TypeError(
        f"plot_derivative needs a skjacnet estimator or a Pipeline ending in one, got {type(est).__name__}."
    )


def plot_derivative(est, *, xlim=(-2.0, 2.0), bounds: Sequence[float] = (), title="", ax=None):
    """The derivative of what ``predict`` computes (the exact ``jacobian``; through a Pipeline's steps by the
    chain rule), with bounds (1-D inputs)."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.6))
    ax = ax if ax is not None else fig.add_subplot()
    xs = np.linspace(*xlim, 2001)
    slope = _slope(est, xs.reshape(-1, 1))
    ax.plot(xs, slope, label="dy/dx of predict")
    for b in bounds:
        ax.axhline(b, color="red", lw=0.8, ls="--")
    ax.set(xlabel="x", ylabel="dy/dx", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_training(curves: Sequence[tuple[str, object]], *, title="", ax=None):
    """Training loss per iteration, with the integration tolerance (annealed fits) on a second axis."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 3.6))
    ax = ax if ax is not None else fig.add_subplot()
    tol_ax = None
    handles = []
    for label, est in curves:
        (line,) = ax.semilogy(np.arange(1, len(est.loss_curve_) + 1), est.loss_curve_, label=f"training loss: {label}")
        handles.append(line)
        if len(set(est.tol_curve_)) > 1:
            tol_ax = tol_ax or ax.twinx()
            steps = np.arange(1, len(est.tol_curve_) + 1)
            label_tol = f"integration tolerance (annealed): {label}"
            handles += tol_ax.semilogy(steps, est.tol_curve_, ls=":", color=line.get_color(), label=label_tol)
            tol_ax.set_ylabel("integration tolerance")
    ax.set(xlabel="iteration", ylabel="training loss", title=title)
    ax.legend(handles=handles, fontsize=7)  # both axes' curves in one legend
    return fig
