"""
GridSearchCV over constraints and tolerances
============================================

The estimators are ordinary scikit-learn regressors, so the structure of the Jacobian
(``constraint``, ``lipschitz_constant``) and the integration tolerances (``rtol``, ``atol``) are
hyper-parameters like any other.  Here a small grid is cross-validated on noisy samples of a
function whose true Lipschitz constant is 2.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skjacnet import JacobianRegressor


def target(x):
    return np.sin(2 * x)  # slope at most 2


rng = np.random.RandomState(0)
X = rng.uniform(-2, 2, (60, 1))
y = target(X).ravel() + rng.normal(0, 0.1, 60)

tolerances = {"rtol": [1e-2, 1e-4], "atol": [1e-6]}
param_grid = [
    {"constraint": ["none"], **tolerances},
    {"constraint": ["lipschitz"], "lipschitz_constant": [1.0, 2.0], **tolerances},
]
# 100 iterations keep the gallery quick; some fits are still improving when they stop, which
# scikit-learn-style estimators report as a ConvergenceWarning (silenced here, not in the library)
search = GridSearchCV(JacobianRegressor(max_iter=100, random_state=0), param_grid, cv=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

# %%
# The cross-validated scores
# --------------------------
# A bound below the true constant (k = 1) cannot follow the data and scores clearly worse; with
# k = 2 the fit is about as good as the unconstrained one and comes with a guarantee on its slope.
# On this 1-D problem the tolerance barely moves the scores (compare rows that differ only in
# ``rtol``), so the looser, cheaper one is a fair choice.
res = search.cv_results_
print(f"{'constraint':10} {'k':>4} {'rtol':>6}  {'R^2 (mean ± sd)':>16}")
for i, params in enumerate(res["params"]):
    k = params.get("lipschitz_constant", "")
    print(
        f"{params['constraint']:10} {k!s:>4} {params['rtol']:6.0e}  "
        f"{res['mean_test_score'][i]:7.3f} ± {res['std_test_score'][i]:5.3f}"
    )
print("best:", search.best_params_)

# %%
# The refitted best model against the k = 1 model
# -----------------------------------------------
too_tight = JacobianRegressor(constraint="lipschitz", lipschitz_constant=1.0, max_iter=100, random_state=0).fit(X, y)
best_label = "best: " + ", ".join(f"{k}={v}" for k, v in search.best_params_.items())
xs = np.linspace(-2.5, 2.5, 500).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(xs, target(xs), color="black", lw=2.5, alpha=0.35, label="sin(2x)")
ax.scatter(X.ravel(), y, s=10, color="black", label="noisy training data")
ax.plot(xs, search.best_estimator_.predict(xs), label=best_label)
ax.plot(xs, too_tight.predict(xs), "--", label="lipschitz, k = 1")
ax.set(xlabel="x", ylabel="y")
ax.legend(fontsize=7)
plt.show()
