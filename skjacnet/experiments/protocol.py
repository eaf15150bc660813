"""The reproduction's protocol: the paper's configuration, its two tasks and their data, the monotone targets
the 1-D priors are judged on, and how a model of any kind is fitted and evaluated on 1-D inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

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


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.uniform(-1, 1, (5, 1)), rng.uniform(-2, 2, (100, 1))


def fit_model(model, X, y):
    """``model.fit`` on the protocol's (n, 1) inputs (IsotonicRegression takes them as a vector)."""
    if isinstance(model, IsotonicRegression):
        return model.fit(X.ravel(), y)
    return model.fit(X, y)


def predict_model(model, X):
    """``model.predict`` on (n, 1) inputs, as a vector of floats."""
    return np.asarray(model.predict(X.ravel() if isinstance(model, IsotonicRegression) else X)).ravel()


# Configurations that stop after a fixed number of iterations by design: "Maximum iterations
# reached" is the protocol there, not a fault (the figures are those of the model after the budget).
FIXED_BUDGET = {
    "paper, faithful": "the paper's 50 Adam iterations",
    "paper, unconstrained": "the paper's 50 Adam iterations",
    "MLPRegressor Adam 50 it": "50 Adam iterations, as the paper",
    "skjacnet, tanh (64,) + Adam": "the former defaults' 200 Adam iterations",
}


def task_title(key: str) -> str:
    return next(t.title for t in TASKS if t.key == key)
