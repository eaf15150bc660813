"""constraint='potential': the Jacobian network is the derivative of a learned potential; its integral is closed form.

The network is an MLP phi: R^d -> R^m beside a linear term A, and the learned Jacobian is J(x) = A + D phi(x).
Every line integral of J from x0 is A (x - x0) + phi(x) - phi(x0) (the gradient theorem), whatever the path, so

    f(x) = y0 + A (x - x0) + phi(x) - phi(x0),   Df = A + D phi   (exactly, by autograd),

a conservative model with no mesh and no ODE: the cheapest exact JacNet, and the natural one for a scalar
energy learned from energies and forces (``fit(X, E, jacobian=-F)``), where the loss on observed Jacobians
differentiates through D phi (double backpropagation, as a Sobolev-trained MLP).  It carries no guarantee.
A and y0 start at the least-squares fit (as the 'none' ridge model's), so that on small noisy data early stopping
begins from the linear model, which helped on most of the small noisy tables (measured: docs/measurements.md,
"The potential").
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..integrate import ClosedForm
from .base import Constraint, register
from .layer import Factors, JacobianLayer, persisted
from .linear_start import init_member_linear
from .mlp import MLP, MemberMLP
from .ridge import RidgeJacobianNet


@persisted("potential")
class PotentialJacobianNet(JacobianLayer):
    """f(x) = y0 + A (x - x0) + phi(x) - phi(x0) with phi = ``field`` (n_in -> n_out); its Jacobian A + D phi."""

    FIELD = MLP
    QUADRATURE = ClosedForm

    def __init__(self, field: MLP, n_in: int, n_out: int, dtype: torch.dtype):
        super().__init__()
        self.field = field
        self.n_in, self.n_out = n_in, n_out
        self.x0 = nn.Buffer(torch.zeros(n_in, dtype=dtype))
        self.y0 = nn.Parameter(torch.zeros(n_out, dtype=dtype))
        self.A = nn.Parameter(torch.zeros(n_out, n_in, dtype=dtype))
        self.integrator = ClosedForm(0.0, 0.0)

    init_linear = RidgeJacobianNet.init_linear  # A and y0 at the weighted least-squares fit

    def use_integrator(self, method: str, rtol: float, atol: float, **kwargs) -> None:
        self.closed_form_only(
            "potential", "its Jacobian in closed form (phi(x) - phi(x0))", method, rtol, atol, **kwargs
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.y0 + (x - self.x0) @ self.A.T + self.field(x) - self.field(self.x0.unsqueeze(0))

    def jacobian(self, x: Tensor) -> Tensor:
        """A + D phi(x) (n, n_out, n_in), D phi by autograd, one backward pass per output (rows are independent)."""
        return self._phi_and_jacobian(x)[1]

    def value_and_jacobian(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``forward(x)`` and ``jacobian(x)`` from one evaluation of phi at x: a fit on observed Jacobians needs
        both, and sharing phi(x) saves one of its evaluations (measured: docs/measurements.md, "The potential")."""
        out, J = self._phi_and_jacobian(x)
        value = self.y0 + (x - self.x0) @ self.A.T + out - self.field(self.x0.unsqueeze(0))
        return (value, J) if J.requires_grad else (value.detach(), J)

    def _phi_and_jacobian(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """phi(x) and A + D phi(x); both keep their graph to the weights only where grad is enabled (training)."""
        graph = torch.is_grad_enabled()
        with torch.enable_grad():
            a = x if x.requires_grad else x.detach().requires_grad_()
            out = self.field(a)
            rows = [
                torch.autograd.grad(out[:, i].sum(), a, create_graph=graph, retain_graph=True)[0]
                for i in range(self.n_out)
            ]
        J = torch.stack(rows, 1) + self.A
        return (out, J) if graph else (out.detach(), J.detach())

    def inverse_is_exact(self, inverse_method: str) -> bool:
        return False

    def inverse(self, y: Tensor, inverse_method: str) -> Tensor:
        raise NotImplementedError("constraint='potential' is not a bijection.")

    def factors(self, in_scale: Tensor | None = None, out_scale: Tensor | None = None) -> Factors:
        return Factors()  # no structure: nothing proved

    # --- persistence (skjacnet._persist) --------------------------------
    def state_fields(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out}

    @classmethod
    def from_fields(cls, state: dict, tensors: dict, field: MLP, dtype: torch.dtype) -> PotentialJacobianNet:
        return cls(field, state["n_in"], state["n_out"], dtype)


@register
class Potential(Constraint):
    name = "potential"
    single_layer = "its potential is one MLP: make it deeper with hidden_layer_sizes"

    # a closed form (no mesh) that claims no bound: float32 halves a large batch's arithmetic at the same fit
    # (measured: docs/measurements.md, "Cost at scale")
    trains_in_float32 = True

    def auto_solver(self, spec, n_rows):
        # n-D: Adam, as for 'none': its early-stopped fits generalised better than L-BFGS's on the small noisy
        # tables (measured: docs/measurements.md, "The potential")
        return super().auto_solver(spec, n_rows) if spec.n_in == 1 else "adam"

    def auto_max_iter(self, spec, solver):
        # Adam with early stopping: a cap, not a budget (the validation split stops it). At 200 smooth tables
        # still improved by tol at the cap in some folds (a ConvergenceWarning at the defaults); with 1000 they
        # stop by themselves at the same R^2 (measured: docs/measurements.md, "The potential")
        return 1000 if solver == "adam" else super().auto_max_iter(spec, solver)

    def build(self, spec, gen, signs):
        field = MLP((spec.n_in, *spec.hidden, spec.n_out), spec.activation, gen, spec.dtype)
        return PotentialJacobianNet(field, spec.n_in, spec.n_out, spec.dtype)

    def initialise(self, model, X, Y, w):
        init_member_linear(model, X, Y, w)

    # 5 members, each scored on its own random validation split: one random split decides much of a small table's
    # fit, and their mean scored as well or better than one potential (measured: docs/measurements.md, "The potential")
    AUTO_MEMBERS = 5

    def takes_members(self, n_features, n_layers):
        return True

    def auto_members(self, n_features, n_layers, method):
        # several features: Adam (auto_solver); one is L-BFGS's, which would couple the members
        return self.AUTO_MEMBERS if n_features > 1 else 1

    def build_members(self, spec, gen, k):
        field = MemberMLP((spec.n_in, *spec.hidden, spec.n_out), spec.activation, gen, spec.dtype, k)
        return PotentialJacobianNet(field, spec.n_in, spec.n_out * k, spec.dtype)

    @torch.no_grad()
    def merge_members(self, model, k):
        m, d = model.n_out // k, model.n_in
        merged = PotentialJacobianNet(model.field.merged(), d, m, model.x0.dtype).to(model.x0.device)
        merged.x0.copy_(model.x0)
        merged.integrator = model.integrator  # its closed form, configured by the fit (method, rtol, atol)
        merged.y0.copy_(model.y0.reshape(k, m).mean(0))
        merged.A.copy_(model.A.reshape(k, m, d).mean(0))
        return merged
