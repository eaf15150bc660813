"""Device-free, torch-free state of a fitted Jacobian network.

Fitted estimators pickle their ``model_`` as plain dicts of numpy arrays and
scalars (see ``BaseJacobianRegressor.__getstate__``): a model fitted on a GPU
loads on a CPU-only machine, and ``skops.io`` can load it trusting nothing but
the estimator's own class.
"""

from __future__ import annotations

import torch
from torch import nn

from . import _mesh
from ._complex import ComplexMLP, HolomorphicJacobianNet
from ._full import FullJacobianNet
from ._kronecker import KroneckerJacobianNet
from .nn import MLP, RidgeJacobianNet
from .structures import Lipschitz, Positive, Unconstrained

_STRUCTURES = {"Unconstrained": Unconstrained, "Lipschitz": Lipschitz, "Positive": Positive}


def _field_spec(field: MLP | ComplexMLP) -> dict:
    sizes = [int(w.shape[1]) for w in field.weights] + [int(field.weights[-1].shape[0])]
    return {"sizes": sizes, "activation": field.activation, "complex": isinstance(field, ComplexMLP)}


def _structure_spec(structure: nn.Module) -> dict:
    return {
        "name": type(structure).__name__,
        "k": getattr(structure, "k", None),
        "eps": getattr(structure, "eps", None),
        "h_scale": getattr(structure, "h_scale", None),
    }


def to_state(model: nn.Module) -> dict:
    """Everything needed to rebuild ``model`` exactly, as numpy arrays and plain values."""
    it = model.integration
    state = {
        "field": _field_spec(model.field),
        "tensors": {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()},
        "integration": {
            "method": it.method,
            "rtol": it.rtol,
            "atol": it.atol,
            "adjoint": it.adjoint,
            "max_knots": it.max_knots,
        },
    }
    if isinstance(model, FullJacobianNet):
        kind = "holomorphic" if isinstance(model, HolomorphicJacobianNet) else "full"
        state.update(kind=kind, n_in=model.n_in, n_out=model.n_out, panels=model.panels)
        return state
    params = dict(model.named_parameters())
    mesh = model.mesh
    state.update(
        kind="ridge",
        structure=_structure_spec(model.structure),
        learn_V="V_raw" in params,
        U="transpose" if model.U_raw is None else ("learned" if "U_raw" in params else "fixed"),
        normalize=model.normalize,
        eps_linear=model.eps_linear,
        has_sign=model.sign is not None,
        has_monotonic_cst=model.monotonic_cst is not None,
        n_out=model.n_out,
        mesh=None
        if mesh is None
        else {
            "knots": mesh.knots.cpu().numpy(),
            "values": mesh.values.cpu().numpy(),
            "cumulative": mesh.cumulative.cpu().numpy(),
            "converged": bool(mesh.converged),
        },
    )
    if isinstance(model, KroneckerJacobianNet):
        state.update(kind="kronecker", eps=model.structure.eps, d=model.n_out)
    return state


def from_state(state: dict, device: torch.device | str = "cpu") -> nn.Module:
    """Rebuild the module saved by :func:`to_state` on ``device``."""
    tensors = {k: torch.as_tensor(v) for k, v in state["tensors"].items()}
    dtype = tensors["x0"].dtype
    gen = torch.Generator().manual_seed(0)  # placeholder weights, overwritten below
    field_cls = ComplexMLP if state["field"].get("complex") else MLP
    field = field_cls(state["field"]["sizes"], state["field"]["activation"], gen, dtype)
    if state["kind"] == "full":
        model = FullJacobianNet(field, state["n_in"], state["n_out"], dtype)
    elif state["kind"] == "holomorphic":
        model = HolomorphicJacobianNet(field, state["n_in"] // 2, state["n_out"] // 2, dtype)
    elif state["kind"] == "kronecker":
        model = KroneckerJacobianNet(field, state["d"], state["eps"], tensors["out_sign"], dtype)
        # states saved before the placeholders became empty held d x d identities there
        tensors["V_raw"], tensors["U_raw"] = model.V_raw, model.U_raw
    else:
        spec = state["structure"]
        cls = _STRUCTURES[spec["name"]]
        if cls is Lipschitz:  # states saved before h_scale existed computed k tanh(h)
            structure = Lipschitz(spec["k"], h_scale=spec.get("h_scale") or 1.0)
        else:
            structure = cls() if cls is Unconstrained else cls(spec["eps"])
        model = RidgeJacobianNet(
            field,
            structure,
            torch.zeros_like(tensors["V_raw"]),
            U=None if state["U"] == "transpose" else torch.zeros_like(tensors["U_raw"]),
            learn_V=state["learn_V"],
            learn_U=state["U"] == "learned",
            normalize=state["normalize"],
            eps_linear=state["eps_linear"],
            sign=tensors["sign"] if state["has_sign"] else None,
            n_out=state["n_out"],
            monotonic_cst=tensors["monotonic_cst"] if state.get("has_monotonic_cst") else None,
        )
    if "anchors" in tensors:
        model.set_anchors(tensors["anchors"])
    model.load_state_dict(tensors, strict=True)
    if state["kind"] in ("full", "holomorphic"):
        model.panels = state["panels"]
    for key, value in state["integration"].items():
        setattr(model.integration, key, value)
    mesh = state.get("mesh")
    if mesh is not None:
        model.mesh = _mesh.Mesh(
            torch.as_tensor(mesh["knots"]),
            torch.as_tensor(mesh["values"]),
            torch.as_tensor(mesh["cumulative"]),
            mesh["converged"],
        )
    model.eval()
    model = model.to(device)
    if model.mesh is not None:
        model.mesh = model.mesh.to(device)
    return model


def restore_device(requested: str) -> torch.device:
    """Where a loaded model lives: the requested CUDA device when it exists here, else the CPU."""
    if requested == "auto" or requested.startswith("cuda"):
        if not torch.cuda.is_available():
            return torch.device("cpu")
        dev = torch.device("cuda" if requested == "auto" else requested)
        return dev if dev.index is None or dev.index < torch.cuda.device_count() else torch.device("cuda")
    return torch.device("cpu")
