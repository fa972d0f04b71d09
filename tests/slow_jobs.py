"""Job functions for the distributed tests: importable by the worker processes (the tests put this folder on their
PYTHONPATH), plain functions over plain arguments like the real jobs in `lookingglass.pipeline`."""

from __future__ import annotations

import time
from pathlib import Path

from lookingglass.pipeline.images import process_image


def slow_process(sha256: str, seconds: float) -> dict:
    """`process_image` after a pause: long enough to kill the worker that runs it mid-job."""
    time.sleep(seconds)
    return process_image(sha256)


def nothing() -> None:
    """An empty job: it only has to run."""
    return None


def fail_once(marker: str) -> str:
    """Fails the first time (creating `marker`), succeeds after: a transient failure that a retry cures."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError(f"transient failure (first attempt, {marker})")
    return "ok on retry"
