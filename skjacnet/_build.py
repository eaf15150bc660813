"""The spec a fit builds from (the network comes from its constraint: skjacnet.constraints) and orientation."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .constraints import constraint_for

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
    epsilon: float | None  # None where the structure has no epsilon
    k_std: float | None  # Lipschitz constant in standardised units
    n_ridges: int | str | None  # None where the structure has no ridges
    monotonic_cst: tuple[float, ...] | None  # a tuple, so that specs compare with ==
    convexity_cst: tuple[float, ...] | None = None  # None: no shape (states saved before it load as such)
    dtype: torch.dtype = DTYPE
    # not read by the builder, but they shape the fitted function: a warm start must keep them too
    lipschitz_constant: float | None = None  # the bound in the units of X and y
    orientation: str | tuple[float, ...] = "auto"  # 'auto' or the user's signs
    standardize: bool = True
    initial_point: str | tuple[float, ...] = "mean"
    n_anchors: int = 1
    n_layers: int = 1  # a composition of this many guaranteed layers (1: the single-layer model)
    positive_map: str | None = None  # 'square' | 'exp': how a positive derivative is made (None: not used)
    least_squares_start: bool = False  # regression: a linear term can start at the least-squares fit

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
    def constraint(self):
        """The registered structure this spec builds (``skjacnet.constraints``)."""
        return constraint_for(self)

    @property
    def model_in(self) -> int:
        """Input width of the network: square maps zero-pad the inputs."""
        return self.constraint.model_in(self)

    @property
    def orientation_size(self) -> int | None:
        """How many orientation signs S the network takes (None: it has no orientation)."""
        return self.constraint.orientation_size(self)

    def ridges(self, size: int) -> int:
        return max(8, 2 * size) if self.n_ridges == "auto" else int(self.n_ridges)


def build_model(spec: ModelSpec, gen: torch.Generator, signs: np.ndarray | None) -> torch.nn.Module:
    """The network for ``spec``; ``signs`` (``spec.orientation_size``,) are the orientation S of monotone fits."""
    return spec.constraint.build(spec, gen, signs)


def auto_orientation(
    Xs: np.ndarray, Ys: np.ndarray, w: np.ndarray, size: int, Js: np.ndarray | None = None
) -> np.ndarray:
    """Signs S (size,) so that diag(S) times a monotone map can follow the data.

    The sign of each diagonal entry of the weighted least-squares map A from
    the (zero-padded) inputs to the outputs, like IsotonicRegression's
    ``increasing='auto'`` (0 means increasing).  For a square map what S
    decides is the sign of the Jacobian's determinant, prod(S) (expm(B), the
    Kronecker factors and the symmetric positive-definite part all have
    positive determinants), so when prod(S) disagrees with sign(det A) the
    least certain sign (smallest |A_jj|) is flipped: a near-zero diagonal
    entry of the wrong sign would otherwise cap the fit (R^2 0.872 instead of
    0.9986 on a rotated coordinate-wise cubic in 8-D).  With observed Jacobians ``Js`` (standardised,
    NaN unobserved) A is their weighted mean where every entry was observed: the map's own average slope.
    """
    if Js is not None and not np.isnan(Js).all(axis=0).any():
        seen = ~np.isnan(Js)
        ww = w[:, None, None] * seen
        mean_J = (ww * np.where(seen, Js, 0.0)).sum(0) / ww.sum(0)  # (m, d)
        A = np.zeros((size, size))
        A[: min(size, Xs.shape[1]), : min(size, Ys.shape[1])] = mean_J.T[:size, :size]
    else:
        rows = ~np.isnan(Ys).any(axis=1)  # rows with every value observed
        Xs, Ys, w = Xs[rows], Ys[rows], w[rows]
        # centred: with a user initial_point Xs is not, and an intercept-free fit would tilt the diagonal
        Xc = Xs - np.average(Xs, axis=0, weights=w)
        Yc = Ys - np.average(Ys, axis=0, weights=w)
        Xp = np.zeros((Xs.shape[0], size))
        Xp[:, : min(size, Xs.shape[1])] = Xc[:, :size]
        Yp = np.zeros((Ys.shape[0], size))
        Yp[:, : min(size, Ys.shape[1])] = Yc[:, :size]
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
