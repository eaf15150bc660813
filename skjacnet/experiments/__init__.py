"""Experiments built on the public API only: the paper's reproduction (``python -m skjacnet reproduce``)."""
