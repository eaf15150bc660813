"""
Lipschitz regression
====================

``JacobianRegressor(constraint='lipschitz', lipschitz_constant=k)`` guarantees
``|f(a) - f(b)| <= k |a - b|`` for every pair of inputs, in the units of X and y, for exactly
the function that ``predict`` computes, on the whole real line.  Here the same noisy data (from a
function with slopes between -1.5 and 2.5) are fitted with several bounds k, and the steepest
slope of each fit is measured by finite differences far beyond the data.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skjacnet import JacobianRegressor
from skjacnet.plotting import plot_derivative


def target(x):
    return np.sin(2 * x) + 0.5 * x  # slopes from -1.5 to 2.5


rng = np.random.RandomState(0)
X = rng.uniform(-2, 2, (80, 1))
y = target(X).ravel() + rng.normal(0, 0.1, 80)

ks = [0.5, 1.0, 2.0, 4.0]
fits = {k: JacobianRegressor(constraint="lipschitz", lipschitz_constant=k, random_state=0).fit(X, y) for k in ks}

# The steepest slope of predict, on a fine grid far wider than the data.
grid = np.linspace(-100, 100, 400_001)
max_slope = {}
for k, est in fits.items():
    pred = est.predict(grid.reshape(-1, 1))
    max_slope[k] = np.max(np.abs(np.diff(pred) / np.diff(grid)))
    print(f"k = {k:3}: max |slope| on [-100, 100] = {max_slope[k]:.4f}, R^2 = {est.score(X, y):.3f}")

# %%
# The bound holds
# ---------------
# Every fit's steepest slope is at most its k; while k is below the data's own slopes the fit
# presses against the bound, and once k exceeds them the bound stops binding.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
axes[0].plot(ks, ks, "k--", lw=1, label="bound: slope = k")
axes[0].plot(ks, [max_slope[k] for k in ks], "o-", label="max |slope| of predict")
axes[0].set(xlabel="lipschitz_constant k", ylabel="max |dy/dx|", xticks=ks, title="slope vs k")
axes[0].legend(fontsize=7)
xs = np.linspace(-3, 3, 500).reshape(-1, 1)
axes[1].plot(xs, target(xs), color="black", lw=2.5, alpha=0.35, label="target")
axes[1].scatter(X.ravel(), y, s=8, color="black", label="noisy training data")
for k in ks:
    axes[1].plot(xs, fits[k].predict(xs), label=f"k = {k}")
axes[1].set(xlabel="x", ylabel="y", title="fits")
axes[1].legend(fontsize=7)
fig.tight_layout()

# %%
# The derivative of one fit
# -------------------------
# The derivative of what ``predict`` computes for k = 2 stays within [-2, 2] (dashed).
plot_derivative(fits[2.0], xlim=(-3, 3), bounds=[-2.0, 2.0], title="k = 2")

# %%
# ``check_guarantee`` tests the same property on random and near pairs of points.
print(fits[2.0].check_guarantee(grid[::100].reshape(-1, 1), random_state=0))
plt.show()
