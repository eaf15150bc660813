"""Which Jacobian network a fit gets, from its constraint and shapes (see nn.py for the maths)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch

from ._complex import ComplexMLP, HolomorphicJacobianNet
from ._full import FullJacobianNet
from ._kronecker import KroneckerJacobianNet
from .nn import MLP, RidgeJacobianNet, _uniform
from .structures import output_activation

DTYPE = torch.float64  # the default; ``dtype='float32'`` builds the same networks in single precision
DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class ModelSpec:
    """What the estimator decided, in standardised units."""

    structure: str  # 'none' | 'lipschitz' | 'positive_definite' | 'complex' | 'kronecker'
    n_in: int
    n_out: int
    hidden: tuple[int, ...]
    activation: str  # resolved: never 'auto'
    epsilon: float
    k_std: float | None  # Lipschitz constant in standardised units
    n_ridges: int | str
    monotonic_cst: tuple[float, ...] | None  # a tuple, so that specs compare with ==
    dtype: torch.dtype = DTYPE
    # not read by the builder, but they shape the fitted function: a warm start must keep them too
    lipschitz_constant: float | None = None  # the bound in the units of X and y
    orientation: str | tuple[float, ...] = "auto"  # 'auto' or the user's signs
    standardize: bool = True
    initial_point: str | tuple[float, ...] = "mean"
    n_anchors: int = 1

    def to_state(self) -> dict:
        """Plain values only (no torch, no dataclass): pickles and skops files trust nothing else."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["dtype"] = str(self.dtype).removeprefix("torch.")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in state.items()}

    @classmethod
    def from_state(cls, state: dict) -> ModelSpec:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in state.items()}
        values["dtype"] = DTYPES[values["dtype"]]
        return cls(**values)

    def changes(self, other: ModelSpec) -> list[str]:
        """The parameters whose value differs between two specs (why a warm start must start afresh)."""
        names = {"structure": "constraint", "hidden": "hidden_layer_sizes", "k_std": "lipschitz_constant",
                 "orientation": "increasing", "n_in": "n_features", "n_out": "n_targets"}  # fmt: skip
        diff = [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]
        return sorted({names.get(name, name) for name in diff})

    @property
    def scalar(self) -> bool:
        """One input and (for structured fits) one output: the paper's 1-D JacNet."""
        return self.n_in == 1 and (self.structure == "none" or self.n_out == 1)

    @property
    def model_in(self) -> int:
        """Input width of the network: square maps zero-pad the inputs."""
        if self.structure == "positive_definite" and self.monotonic_cst is None and not self.scalar:
            return max(self.n_in, self.n_out)
        return self.n_in

    @property
    def orientation_size(self) -> int | None:
        """How many orientation signs S the network takes (None: it has no orientation)."""
        if self.structure == "kronecker":
            return self.n_in
        if self.structure != "positive_definite" or self.monotonic_cst is not None:
            return None
        return 1 if self.scalar else self.model_in

    def ridges(self, size: int) -> int:
        return max(8, 2 * size) if self.n_ridges == "auto" else int(self.n_ridges)


def init_matrix(shape: tuple[int, int], gen: torch.Generator, dtype: torch.dtype = DTYPE) -> torch.Tensor:
    # drawn in float64 whatever the dtype: the same random_state gives the same initial network
    return _uniform(shape, 1.0 / math.sqrt(shape[1]), gen, dtype).detach()


def build_model(spec: ModelSpec, gen: torch.Generator, signs: np.ndarray | None) -> torch.nn.Module:
    """The network for ``spec``; ``signs`` (``spec.orientation_size``,) are the orientation S of monotone fits."""
    n_in, n_out, hidden, dt = spec.n_in, spec.n_out, spec.hidden, spec.dtype
    if spec.structure == "complex":  # (re, im) column pairs; shapes checked by the estimator
        p, q = n_in // 2, n_out // 2
        return HolomorphicJacobianNet(ComplexMLP((p, *hidden, q * p), spec.activation, gen, dt), p, q, dt)
    if spec.structure == "kronecker":  # square; one scalar derivative per coordinate
        field = MLP((1, *hidden, n_in), spec.activation, gen, dt)
        sign = torch.as_tensor(signs, dtype=dt)
        return KroneckerJacobianNet(field, n_in, spec.epsilon, sign, dt)
    if spec.monotonic_cst is not None:
        cst = torch.as_tensor(spec.monotonic_cst, dtype=dt)
        # sum of increasing ridges with sign-constrained directions
        R = spec.ridges(max(n_in, n_out))
        return RidgeJacobianNet(
            MLP((1, *hidden, R), spec.activation, gen, dt),
            output_activation("positive_definite", eps=0.0),
            init_matrix((R, n_in), gen, dt),
            U=init_matrix((n_out, R), gen, dt),
            learn_V=True,
            learn_U=True,
            normalize=False,
            monotonic_cst=cst,
        )
    if spec.structure == "none" and n_in > 1:
        return FullJacobianNet(MLP((n_in, *hidden, n_out * n_in), spec.activation, gen, dt), n_in, n_out, dt)
    if spec.scalar:
        # the paper's 1-D JacNet, one output per target, no mixing
        sign = signs if spec.structure == "positive_definite" else np.ones(n_out)
        return RidgeJacobianNet(
            MLP((1, *hidden, n_out), spec.activation, gen, dt),
            output_activation(spec.structure, k=spec.k_std or 1.0, eps=spec.epsilon),
            torch.ones(n_out, 1, dtype=dt),
            U=torch.diag(torch.as_tensor(sign, dtype=dt)),
            learn_V=False,
            learn_U=False,
            normalize=False,
        )
    if spec.structure == "lipschitz":
        R = spec.ridges(max(n_in, n_out))
        return RidgeJacobianNet(
            MLP((1, *hidden, R), spec.activation, gen, dt),
            output_activation("lipschitz", k=spec.k_std),
            init_matrix((R, n_in), gen, dt),
            U=init_matrix((n_out, R), gen, dt),
            learn_V=True,
            learn_U=True,
            normalize=True,
        )
    # positive definite, square of size D (zero-padded when n_in != n_out)
    D = spec.model_in
    R = spec.ridges(D)
    return RidgeJacobianNet(
        MLP((1, *hidden, R), spec.activation, gen, dt),
        output_activation("positive_definite", eps=0.0),
        init_matrix((R, D), gen, dt),
        U=None,
        learn_V=True,
        learn_U=False,
        normalize=False,
        eps_linear=spec.epsilon,
        sign=torch.as_tensor(signs, dtype=dt),
        n_out=n_out,
    )


def auto_orientation(Xs: np.ndarray, Ys: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """Signs S (size,) so that diag(S) times a monotone map can follow the data.

    The sign of each diagonal entry of the weighted least-squares map A from
    the (zero-padded) inputs to the outputs, like IsotonicRegression's
    ``increasing='auto'`` (0 means increasing).  For a square map what S
    decides is the sign of the Jacobian's determinant, prod(S) (expm(B), the
    Kronecker factors and the symmetric positive-definite part all have
    positive determinants), so when prod(S) disagrees with sign(det A) the
    least certain sign (smallest |A_jj|) is flipped: a near-zero diagonal
    entry of the wrong sign would otherwise cap the fit (R^2 0.872 instead of
    0.9986 on a rotated coordinate-wise cubic in 8-D).
    """
    Xp = np.zeros((Xs.shape[0], size))
    Xp[:, : min(size, Xs.shape[1])] = Xs[:, :size]
    Yp = np.zeros((Ys.shape[0], size))
    Yp[:, : min(size, Ys.shape[1])] = Ys[:, :size]
    sw = np.sqrt(w)[:, None]
    A = np.linalg.lstsq(Xp * sw, Yp * sw, rcond=None)[0]
    diag = np.diag(A)
    signs = np.where(diag < 0, -1.0, 1.0)
    if Xs.shape[1] == Ys.shape[1] == size:  # square: the determinant's sign is what S must match
        det_sign = np.sign(np.linalg.det(A))
        if det_sign != 0 and np.prod(signs) != det_sign:
            j = int(np.argmin(np.abs(diag)))
            signs[j] = -signs[j]
    return signs
