"""Device-free, torch-free state of a fitted Jacobian network.

Fitted estimators pickle their ``model_`` as plain dicts of numpy arrays and
scalars (see ``BaseJacobianRegressor.__getstate__``): a model fitted on a GPU
loads on a CPU-only machine, and ``skops.io`` can load it trusting nothing but
the estimator's own class.
"""

from __future__ import annotations

import torch
from torch import nn

from .constraints import legacy
from .constraints.layer import NETWORKS
from .integrate import make_integrator


def _field_spec(field: nn.Module) -> dict:
    sizes = [int(w.shape[1]) for w in field.weights] + [int(field.weights[-1].shape[0])]
    return {"sizes": sizes, "activation": field.activation, "complex": type(field).__name__ == "ComplexMLP"}


def to_state(model: nn.Module) -> dict:
    """Everything needed to rebuild ``model`` exactly, as numpy arrays and plain values."""
    if hasattr(type(model), "from_state"):  # a layer made of layers
        return model.to_state(to_state)
    it = model.integrator
    return {
        "field": _field_spec(model.field),
        "tensors": {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()},
        "integration": it.config(),
        **it.frozen_state(model.frozen_rule),  # the rule fixed at the end of fit: the knot mesh or the panel count
        "kind": model.KIND,
        **model.state_fields(),
    }


def from_state(state: dict, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the module saved by :func:`to_state` on ``device``."""
    state = legacy.upgrade(state)
    cls = NETWORKS[state["kind"]]
    if hasattr(cls, "from_state"):  # a layer made of layers
        return cls.from_state(state, from_state, device)
    tensors = {k: torch.as_tensor(v) for k, v in state["tensors"].items()}
    dtype = tensors["x0"].dtype
    gen = torch.Generator().manual_seed(0)  # placeholder weights, overwritten below
    field = cls.FIELD(state["field"]["sizes"], state["field"]["activation"], gen, dtype)
    model = cls.from_fields(state, tensors, field, dtype)
    if "anchors" in tensors:
        model.set_anchors(tensors["anchors"])
    model.load_state_dict(tensors, strict=True)
    cfg = {"adjoint": False, "max_knots": 200_000, **state["integration"]}
    model.integrator = make_integrator(cfg["method"], cfg["rtol"], cfg["atol"], cls.QUADRATURE,
                                       adjoint=cfg["adjoint"], max_knots=cfg["max_knots"])  # fmt: skip
    model.eval()
    model = model.to(device)
    model.frozen_rule = model.integrator.load_frozen(state, device)
    return model


def restore_device(requested: str) -> torch.device:
    """Where a loaded model lives: the requested CUDA device when it exists here, else the CPU."""
    if requested == "auto" or requested.startswith("cuda"):
        if not torch.cuda.is_available():
            return torch.device("cpu")
        dev = torch.device("cuda" if requested == "auto" else requested)
        return dev if dev.index is None or dev.index < torch.cuda.device_count() else torch.device("cuda")
    return torch.device("cpu")
