"""Exceptions raised to users."""


class NonFiniteError(ValueError, FloatingPointError):
    """Training or a prediction produced non-finite values (divergence, overflow).

    A ValueError like MLPRegressor's divergence error, and a FloatingPointError
    for callers that catch numerical faults.
    """


class InertOptionWarning(UserWarning):
    """An integration option was set away from its default where the fitted network cannot use it.

    A UserWarning: ``warnings.filterwarnings("ignore", category=UserWarning)`` silences it with the rest.
    """
