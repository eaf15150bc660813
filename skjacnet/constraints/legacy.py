"""Saved ridge networks from before one class per structure: their state, read as today's.

Until December 2026 every ridge network was one class (kind 'ridge') whose flags said which structure it was
(``has_monotonic_cst``, ``has_sign``, ``normalize``, ...) and how it extrapolated (``saturate``, ``growth_cap``,
``trend_cap``, ``trend_band``, buffers on the network itself).  :func:`upgrade` rewrites such a state into the kind
of its structure's class and its policy's name, with the policy's buffers under ``extrapolation.``, so that a model
pickled then predicts the same now (benchmarks/pin_predictions.py checks it).
"""

from __future__ import annotations

POLICY_BUFFERS = ("z_lo", "z_hi", "s_lo", "s_hi", "h_cap", "h_end", "h_rise")


def _kind(state: dict) -> str:
    if state.get("has_monotonic_cst"):
        return "ridge_monotone"
    if state.get("has_sign"):
        return "ridge_gradient"
    name = state["structure"]["name"]
    if name == "Lipschitz":
        return "ridge_lipschitz"
    return "ridge" if name == "Unconstrained" else "ridge_scalar_bijection"


def _policy(state: dict) -> str:
    if state.get("saturate"):
        return "saturate"
    if state.get("trend_band"):
        return "trend_band"
    if state.get("growth_cap"):
        return "trend_cap" if state.get("trend_cap") else "growth_cap"
    return "unbounded"


def upgrade(state: dict) -> dict:
    """``state`` as :func:`skjacnet._persist.from_state` reads it today (unchanged unless it is an old ridge's)."""
    if state.get("kind") != "ridge" or "extrapolation" in state:
        return state
    tensors = {
        (f"extrapolation.{k}" if k in POLICY_BUFFERS else k): v for k, v in state["tensors"].items()
    }  # fmt: skip
    return {**state, "kind": _kind(state), "extrapolation": _policy(state), "tensors": tensors}
