"""What a failed job leaves on its object: the reason, so `GET /objects/<sha>` and `ingest --wait` can say it.

Bad bytes and jobs over their budget are facts about the object (the same work would fail the same way); other
failures (a store away for a moment) are the queue's to retry and leave nothing here.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from lookingglass.app import App
from lookingglass.errors import BadInput, BudgetExceeded, NotFound, Unavailable


@contextlib.contextmanager
def budget_failure_recorded(app: App, sha256: str):
    """A job over its budget (ours, or RQ's job timeout) leaves the reason on its object, flagged `over_budget`."""
    from rq.timeouts import JobTimeoutException

    try:
        yield
    except BudgetExceeded as exc:
        record_error(app, sha256, exc)
        raise
    except JobTimeoutException as exc:
        record_error(app, sha256, BudgetExceeded(f"job went over its time budget ({exc})"))
        raise


def record_error(app: App, sha256: str, exc: BadInput) -> None:
    """Bad bytes are a fact about the object: keep the reason on it (and the queue's failure registry has it too)."""
    error = {"message": exc.message, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    if isinstance(exc, BudgetExceeded):
        error["over_budget"] = True
    with contextlib.suppress(NotFound, Unavailable):
        app.objects.annotate(sha256, {"processing_error": error})
