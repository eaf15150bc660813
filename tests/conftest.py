import os

# Some scikit-learn common checks skip themselves without the array API flag;
# it must be set before scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

# One torch thread: deterministic timings on the 2-core CI machine, no oversubscription.
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


def torch_predict(est, X: torch.Tensor) -> torch.Tensor:
    """What ``est.predict`` computes, as a differentiable torch function of X (original units)."""
    x_mean = torch.as_tensor(est._x_mean, dtype=X.dtype)
    x_scale = torch.as_tensor(est._x_scale, dtype=X.dtype)
    y_mean = torch.as_tensor(est._y_mean, dtype=X.dtype)
    y_scale = torch.as_tensor(est._y_scale, dtype=X.dtype)
    return y_mean + y_scale * est._predict_std((X - x_mean) / x_scale)
