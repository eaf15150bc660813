"""Pin predictions of explicit-parameter fits across a refactor.

    python benchmarks/pin_predictions.py save DIR    # on the code before the change
    python benchmarks/pin_predictions.py check DIR   # after: refits and old pickles must agree to 1e-10

Each case fixes the parameters a default change could move (the activation; the orientation of most), so a refactor
that keeps behaviour prints OK for all of them (issue 13's "same parameters, same predictions").
"""

import pathlib
import pickle
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
from skjacnet import InvertibleJacobianRegressor as IR  # noqa: E402
from skjacnet import JacobianRegressor as JR  # noqa: E402

rng = np.random.RandomState(0)
X1 = rng.uniform(-2, 2, (60, 1))
y1 = np.exp(X1[:, 0]) + 0.1 * rng.standard_normal(60)
X2 = rng.uniform(-2, 2, (80, 2))
Y2 = np.c_[X2[:, 0] + np.tanh(X2[:, 1]), X2[:, 1] + 0.3 * X2[:, 0] ** 3]
X4 = rng.uniform(-1, 1, (80, 4))
Y4 = X4 + 0.2 * np.sin(3 * X4)
cases = {
    "none1": (JR(constraint="none", activation="tanh", max_iter=15, random_state=0), X1, y1),
    "none2": (JR(constraint="none", activation="tanh", max_iter=5, random_state=0), X2, Y2),
    "lip1": (JR(constraint="lipschitz", activation="tanh", max_iter=15, random_state=0), X1, y1),
    "lip2": (
        JR(constraint="lipschitz", lipschitz_constant=2.0, activation="tanh", max_iter=15, random_state=0),
        X2,
        Y2[:, 0],
    ),
    "pd1": (JR(constraint="positive_definite", activation="tanh", max_iter=15, random_state=0), X1, y1),
    "mono": (JR(monotonic_cst=[1, 0], activation="tanh", max_iter=15, random_state=0), X2, Y2[:, 0]),
    "inv1": (IR(activation="softplus", max_iter=15, random_state=0), X1, y1),
    "inv2": (IR(activation="softplus", increasing=True, max_iter=15, random_state=0), X2, Y2),
    "invadam": (IR(activation="softplus", solver="adam", max_iter=15, random_state=0), X2, Y2),
    "kron": (IR(constraint="kronecker", activation="softplus", increasing=True, max_iter=15, random_state=0), X4, Y4),
    "complex": (JR(constraint="complex", activation="sin", max_iter=5, random_state=0), X2, Y2),
}
mode, folder = sys.argv[1], pathlib.Path(sys.argv[2])
folder.mkdir(parents=True, exist_ok=True)
for name, (est, X, y) in cases.items():
    if mode == "save":
        est.fit(X, y)
        out = {"pred": est.predict(X * 1.5)}
        if hasattr(est, "inverse_transform") and est.n_features_in_ == est.n_targets_:
            out["inv"] = est.inverse_transform(est.predict(X))
        pickle.dump((out, pickle.dumps(est)), open(folder / f"{name}.pkl", "wb"))
    else:
        out, blob = pickle.load(open(folder / f"{name}.pkl", "rb"))
        est.fit(X, y)
        old = pickle.loads(blob)
        d1 = np.abs(est.predict(X * 1.5) - out["pred"]).max()
        d2 = np.abs(old.predict(X * 1.5) - out["pred"]).max()
        d3 = np.abs(est.inverse_transform(est.predict(X)) - out["inv"]).max() if "inv" in out else 0.0
        print(
            f"{name:8s} refit {d1:.1e}  old-pickle {d2:.1e}  inverse {d3:.1e}",
            "OK" if max(d1, d2, d3) <= 1e-10 else "DIFF",
        )
