"""Polling with a deadline, for tests that wait on other processes (workers, serve, a bucket's notifications)."""

from __future__ import annotations

import signal
import subprocess
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


def wait_until_answering(
    process: subprocess.Popen, ping: Callable[[], bool], timeout: float, every: float
) -> str | None:
    """Poll a server process we started until `ping()` answers: None then, else why not (it exited, or the time ran
    out), for the caller's error message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        if ping():
            return None
        time.sleep(every)
    return f"did not answer within {timeout} s"


def end_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Send `sig` (the server's clean shutdown) and wait; SIGKILL if it does not exit within `timeout`."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
