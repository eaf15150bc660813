"""
An invertible calibration curve
===============================

A sensor's raw reading responds monotonically but nonlinearly to the quantity it measures.
Calibration fits the response curve from reference measurements; using the sensor needs the
*inverse*: which quantity produced this reading?

``InvertibleJacobianRegressor`` fits a curve that is strictly monotone by construction (its
derivative is ``J(x)**2 + epsilon``), so the inverse exists everywhere and
``inverse_transform`` computes it, to round-off, for exactly the curve that ``predict``
computes.  In a :class:`~sklearn.pipeline.Pipeline` the inverse passes back through the scaler
too.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skjacnet import InvertibleJacobianRegressor
from skjacnet.plotting import plot_derivative, plot_fit, plot_inverse

rng = np.random.RandomState(0)


def response(q):
    """Raw reading for quantity q: a saturating, offset response."""
    return 4.0 * np.tanh(0.6 * q) + 0.3 * q + 1.0


# 40 noisy reference measurements of quantities in [0, 5]
q = rng.uniform(0, 5, (40, 1))
reading = response(q).ravel() + rng.normal(0, 0.05, 40)

calib = make_pipeline(StandardScaler(), InvertibleJacobianRegressor(max_iter=300, random_state=0))
calib.fit(q, reading)
est = calib[-1]
print("orientation (1: increasing):", est.increasing_)
print("guarantee:", est.guarantee_)

# %%
# The fitted curve and its slope
# ------------------------------
# The derivative of what ``predict`` computes stays above the guaranteed lower bound everywhere,
# also far outside the calibrated range, so the curve never flattens into ambiguity.  The
# regressor's constant is in the units it sees (the scaled quantity); dividing by the scaler's
# scale puts it in units of q.
min_slope = est.guarantee_["expansion_lower"] / calib[0].scale_[0]
print("guaranteed minimum slope d(reading)/dq:", min_slope)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_fit(response, q, [("calibration", calib)], xlim=(-2, 8), title="response curve", ax=axes[0])
plot_derivative(calib, xlim=(-2, 8), bounds=[min_slope], title="slope", ax=axes[1])
axes[0].set(xlabel="quantity q", ylabel="reading")
axes[1].set(xlabel="quantity q", yscale="log")
fig.tight_layout()

# %%
# Reading the sensor: ``inverse_transform``
# -----------------------------------------
# New readings are mapped back to quantities.  The pipeline's ``inverse_transform`` applies the
# regressor's inverse and then the scaler's.  Beyond the calibrated readings (about 6.4) the fit
# and the true response part ways (the fit keeps the trend of its last points, the sensor
# saturates): the inverse inverts the fit exactly, but the fit is only as good as the calibration
# range.
new_readings = np.array([1.5, 3.0, 4.5, 5.5])
print("estimated quantity:", calib.inverse_transform(new_readings).ravel())

# The true inverse of ``response``, by interpolating its table (it is increasing).
q_table = np.linspace(-2, 8, 2001)
fig = plot_inverse(calib, lambda r: np.interp(r, response(q_table), q_table), (0.0, 7.0), title="reading -> quantity")
fig.axes[0].set(xlabel="reading", ylabel="quantity q")
fig.tight_layout()

# %%
# The inverse is exact for the fitted curve: predicting from the recovered quantities gives back
# the readings, and recovering a grid of quantities from their predicted readings gives back the
# grid.
Q = np.linspace(-2, 8, 1001).reshape(-1, 1)
print(
    "max |readings - predict(inverse_transform(readings))|:",
    np.max(np.abs(calib.predict(calib.inverse_transform(new_readings)) - new_readings)),
)
print("max |Q - inverse_transform(predict(Q))|:", np.max(np.abs(calib.inverse_transform(calib.predict(Q)) - Q)))

# %%
# ``check_guarantee`` measures the worst ratio ``|f(a) - f(b)| / |a - b|`` over pairs of points: it
# never falls below the guaranteed expansion constant (the regressor sees the scaled quantity).
print(est.check_guarantee(calib[0].transform(Q), random_state=0))
plt.show()
