"""Holomorphic JacNet: a complex-differentiable map from C^p to C^q.

Inputs and outputs are real columns taken in (real, imaginary) pairs:
``z_j = x[2j] + i x[2j+1]`` and ``w_k = y[2k] + i y[2k+1]``.  A network with
complex weights and an *entire* activation gives the complex derivative
``h(z)`` (q x p), and

    f(z) = w0 + integral_0^1 h(z0 + t (z - z0)) (z - z0) dt.

With a fixed quadrature rule (the Gauss-Kronrod panel count is frozen at the
end of fit) f is a finite sum of products and compositions of holomorphic
maps, so it is holomorphic in z *exactly*: the real Jacobian of what predict
computes has the Cauchy-Riemann pattern [[a, -b], [b, a]] in every
(input, output) pair, whatever the rule's accuracy.  An activation with poles
(tanh, logistic) or a non-analytic one (relu) would break this, so only entire
ones are accepted.  With one complex variable the field h is the derivative
of f up to quadrature error (Cauchy: path independence); with several, f is
still holomorphic, and ``path_dependence`` measures how far h is from closed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .base import Constraint, register
from .checks import check_cauchy_riemann
from .full import FullJacobianNet
from .layer import persisted
from .mlp import _uniform

LBFGS_ROWS = 1000  # solver='auto' (a path-integrated network: memory per row grows with its panels)

COMPLEX_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda z: z,
    "sin": torch.sin,
}


def as_complex(x: Tensor) -> Tensor:
    """Real (..., 2p) in (re, im) pairs -> complex (..., p)."""
    return torch.view_as_complex(x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2).contiguous())


def as_real(z: Tensor) -> Tensor:
    """Complex (..., q) -> real (..., 2q) in (re, im) pairs."""
    return torch.view_as_real(z).reshape(*z.shape[:-1], 2 * z.shape[-1])


class ComplexMLP(nn.Module):
    """Fully connected network with complex weights, from a generator.

    Weights are stored as real tensors (..., 2) so that the optimiser, the L2
    penalty (named ``weights``) and persistence see ordinary real parameters.
    """

    def __init__(self, sizes: Sequence[int], activation: str, gen: torch.Generator, dtype: torch.dtype):
        super().__init__()
        if activation not in COMPLEX_ACTIVATIONS:
            raise ValueError(
                f"constraint='complex' needs an entire activation (holomorphic on all of C), one of "
                f"{sorted(COMPLEX_ACTIVATIONS)}; got activation={activation!r} "
                "(tanh and logistic have poles, relu-like ones are not analytic). Use activation='sin'."
            )
        self.activation = activation
        self.evaluations = 0
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(2 * fan_in)  # real and imaginary parts: the modulus matches nn.Linear
            self.weights.append(_uniform((fan_out, fan_in, 2), bound, gen, dtype))
            self.biases.append(_uniform((fan_out, 2), bound, gen, dtype))

    def forward(self, z: Tensor) -> Tensor:
        self.evaluations += z.numel() // z.shape[-1]
        act = COMPLEX_ACTIVATIONS[self.activation]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = z @ torch.view_as_complex(w).T + torch.view_as_complex(b)
            if i < last:
                z = act(z)
        return z


@persisted("holomorphic")
class HolomorphicJacobianNet(FullJacobianNet):
    """The integral of a holomorphic derivative field; see the module docstring."""

    FIELD = ComplexMLP

    def __init__(self, field: ComplexMLP, p: int, q: int, dtype: torch.dtype):
        super().__init__(field, 2 * p, 2 * q, dtype)
        self.p, self.q = p, q

    def H(self, z: Tensor) -> Tensor:
        """Complex derivative field h(z): (..., p) -> (..., q, p)."""
        return self.field(z).reshape(*z.shape[:-1], self.q, self.p)

    def rate(self, t: Tensor, a: Tensor, dx: Tensor) -> Tensor:
        za, dz = as_complex(a), as_complex(dx)
        pts = za + t.to(dz.dtype)[:, None, None] * dz
        return as_real((self.H(pts) @ dz.unsqueeze(-1)).squeeze(-1))

    def J(self, x: Tensor) -> Tensor:
        """Real Jacobian of the field: h = a + ib becomes blocks [[a, -b], [b, a]]."""
        h = self.H(as_complex(x))
        a, b = h.real, h.imag
        blocks = torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], -3)  # (..., q, 2, p, 2)
        return blocks.reshape(*x.shape[:-1], self.n_out, self.n_in)

    @classmethod
    def from_fields(cls, state, tensors, field, dtype):
        return cls(field, state["n_in"] // 2, state["n_out"] // 2, dtype)


@register
class Complex(Constraint):
    name = "complex"
    isotropic = True
    auto_activation = "sin"  # an entire activation: tanh and logistic have poles

    def check_shapes(self, n_features, n_targets):
        if n_features % 2 or n_targets % 2:
            raise ValueError(
                "constraint='complex' maps C^p to C^q given as (real, imaginary) column pairs: X and y need an "
                f"even number of columns, got {n_features} feature(s) and {n_targets} target(s) "
                "(a 1-D y is one target; pass y of shape (n_samples, 2) for one complex output)."
            )

    def auto_solver(self, spec, n_rows):
        # a path-integrated network: L-BFGS falls behind Adam in time as the rows grow (measured: docs/measurements.md,
        # "Solvers of the other structures")
        return "lbfgs" if n_rows <= LBFGS_ROWS else "adam"

    def build(self, spec, gen, signs):
        p, q, dt = spec.n_in // 2, spec.n_out // 2, spec.dtype
        return HolomorphicJacobianNet(ComplexMLP((p, *spec.hidden, q * p), spec.activation, gen, dt), p, q, dt)

    def check(self, probe, cert, X, n_pairs, rng):
        return check_cauchy_riemann(probe, cert, X, n_pairs, rng)  # an identity of derivatives, not a bound

    def in_raw_units(self, cert, factors, clipped):
        if not np.allclose(factors[0::2], factors[1::2], rtol=1e-12, atol=0):
            raise ValueError(
                "The scalers scale the real and imaginary column of a complex input differently: the pipeline is "
                "not holomorphic in the raw inputs. Fit the estimator on raw inputs (it scales them isotropically)."
            )
        return super().in_raw_units(cert, factors, clipped)

    def certify(self, spec, cert, factors):
        return {
            **cert,
            "property": "holomorphic: f(z) is complex differentiable in z_j = x[2j] + i x[2j+1] (outputs "
            "w_k = y[2k] + i y[2k+1]); the Cauchy-Riemann equations hold everywhere",
            "domain": f"C^{cert['n_features'] // 2}",
            "norm": "none (an identity of derivatives)",
        }
