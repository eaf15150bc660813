"""Where and how torch runs: the device, and the thread policy that keeps searches from oversubscribing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SMALL_FIT = 20_000  # below this many samples one torch thread is fastest


def thread_policy(n_rows: int) -> int | None:
    """Torch threads for work on n_rows rows: 1 below SMALL_FIT, else None (the process's setting).

    The process's setting is already a fair share where searches run in parallel: joblib's
    loky workers start with OMP_NUM_THREADS = cpu_count // n_jobs (torch reads it), dask's
    nanny-spawned workers with 1. So n_jobs fits never oversubscribe the cores.
    """
    return 1 if n_rows < SMALL_FIT else None


_pins_lock = threading.Lock()
_pins = {"count": 0, "saved": 0}  # contexts now pinning torch's thread count, caller's count


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with n torch threads (None: leave as is) and restore the caller's.

    torch's thread count is per process, shared by threads: with concurrent fits in threads
    (joblib's threading backend, dask workers with processes=False) the first to pin saves
    the caller's count and the last to leave restores it.
    """
    if n is None:
        yield
        return
    with _pins_lock:
        if _pins["count"] == 0:
            _pins["saved"] = torch.get_num_threads()
        _pins["count"] += 1
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _pins_lock:
            _pins["count"] -= 1
            if _pins["count"] == 0:
                torch.set_num_threads(_pins["saved"])


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device={device!r} is not a valid torch device.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} is not supported; use 'cpu', 'cuda' or 'auto'.")
    return dev
