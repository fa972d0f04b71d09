"""Job functions for the distributed tests: importable by the worker processes (the tests put this folder on their
PYTHONPATH), plain functions over plain arguments like the real jobs in `lookingglass.pipeline.jobs`."""

from __future__ import annotations

import time

from lookingglass.pipeline import jobs


def slow_process(sha256: str, seconds: float) -> dict:
    """`process_object` after a pause: long enough to kill the worker that runs it mid-job."""
    time.sleep(seconds)
    return jobs.process_object(sha256)


def nothing() -> None:
    """An empty job: what one round trip through the queue costs."""
    return None
