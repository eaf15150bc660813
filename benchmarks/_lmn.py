"""LMN (Kitouni et al., monotonenorm): the peer network the classification and tabular benchmarks share."""

from __future__ import annotations

import torch


def lmn_net(n_features: int, monotonic_cst, lam: float, width: int = 64, depth: int = 3) -> torch.nn.Module:
    """SigmaNet(lam, monotone) around a lam-Lipschitz GroupSort MLP: monotonenorm's direct_norm bounds
    |W|_{1,inf} on the first layer and |W|_inf after, each by lam ** (1 / depth)."""
    from monotonenorm import GroupSort, SigmaNet, direct_norm

    w = width
    norm = lambda layer, kind: direct_norm(layer, kind=kind, max_norm=lam ** (1 / depth))  # noqa: E731
    inner = torch.nn.Sequential(
        norm(torch.nn.Linear(n_features, w), "one-inf"), GroupSort(w // 2),
        norm(torch.nn.Linear(w, w), "inf"), GroupSort(w // 2),
        norm(torch.nn.Linear(w, 1), "inf"),
    )  # fmt: skip
    return SigmaNet(inner, sigma=lam, monotone_constraints=[float(c) for c in monotonic_cst])
