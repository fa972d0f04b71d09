"""Polling with a deadline, for tests that wait on other processes (workers, serve, a bucket's notifications)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable, timeout: float, what, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")
        time.sleep(every)
