"""
A complex-differentiable fit
============================

``JacobianRegressor(constraint='complex', activation='sin')`` learns a holomorphic map: the
network gives the complex derivative ``h(z)`` (complex weights, an entire activation) and
``predict`` integrates it along straight paths with a fixed rule, so what it computes satisfies
the Cauchy-Riemann equations exactly.  A complex variable is a (real, imaginary) pair of
columns.  Here: ``f(z) = exp(z) + z**2`` from 300 noisy samples in the unit square.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skjacnet import JacobianRegressor


def to_columns(w):
    return np.c_[w.real, w.imag]


rng = np.random.RandomState(0)
X = rng.uniform(-1, 1, (300, 2))
z = X[:, 0] + 1j * X[:, 1]
Y = to_columns(np.exp(z) + z**2) + rng.normal(0, 0.01, (300, 2))

est = JacobianRegressor(constraint="complex", activation="sin", random_state=0, max_iter=100).fit(X, Y)
print(est.guarantee_["property"])

# %%
# Accuracy on a grid twice as wide as the data, and the Cauchy-Riemann residual there
g = np.linspace(-2, 2, 81)
G = np.array(np.meshgrid(g, g)).reshape(2, -1).T
zg = G[:, 0] + 1j * G[:, 1]
true = to_columns(np.exp(zg) + zg**2)
inside = np.abs(G).max(axis=1) <= 1
print(f"R^2 inside the data {est.score(G[inside], true[inside]):.5f}, on [-2, 2]^2 {est.score(G, true):.4f}")
print(f"Cauchy-Riemann residual (finite differences): {est.check_guarantee(G, random_state=0)['worst_ratio']:.1e}")

# %%
# Real and imaginary parts: the fit against the truth
pred = est.predict(G)
fig, axes = plt.subplots(2, 2, figsize=(8, 7), sharex=True, sharey=True)
for row, (name, col) in enumerate([("Re f", 0), ("Im f", 1)]):
    for ax, (title, values) in zip(axes[row], [("truth", true[:, col]), ("prediction", pred[:, col])]):
        im = ax.contourf(g, g, values.reshape(81, 81), levels=20, cmap="viridis")
        ax.plot(*X.T, "k.", ms=2, alpha=0.4)
        ax.set_title(f"{name}: {title}")
        fig.colorbar(im, ax=ax)
for ax in axes[1]:
    ax.set_xlabel("Re z")
for ax in axes[:, 0]:
    ax.set_ylabel("Im z")
fig.tight_layout()
plt.show()
