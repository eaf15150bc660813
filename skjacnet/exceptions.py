"""Exceptions raised to users."""


class NonFiniteError(ValueError, FloatingPointError):
    """Training or a prediction produced non-finite values (divergence, overflow).

    A ValueError like MLPRegressor's divergence error, and a FloatingPointError
    for callers that catch numerical faults.
    """
