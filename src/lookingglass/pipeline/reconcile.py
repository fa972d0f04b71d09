"""The safety net under event-driven processing: list the store and queue whatever is not processed yet.

Runs daily (schedule.py) and on demand (`lookingglass reconcile`), so a missed notification, a crash mid-job or a
job lost with its queue is never permanent loss.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lookingglass.app import current
from lookingglass.pipeline.bucket import OWN_PREFIXES, key_ref, submit_ingest_key
from lookingglass.pipeline.submit import PROCESSED_KINDS, is_processed, over_budget, submit


def reconcile() -> dict:
    """Job (maintenance queue): queue every unprocessed object and every dropped-in key not taken in yet. Objects
    whose processing went over budget are not queued again: that would only repeat the failure."""
    app = current()
    queued_objects = queued_keys = 0
    for obj in app.objects.list():
        if obj.kind in PROCESSED_KINDS and not is_processed(app, obj) and not over_budget(obj):
            submit(app, obj.sha256, obj.kind)
            queued_objects += 1
    for key in app.objects.iter_keys():
        if key.startswith(OWN_PREFIXES) or app.objects.read_ref(key_ref(key)) is not None:
            continue
        submit_ingest_key(app, key)
        queued_keys += 1
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return {"queued_objects": queued_objects, "queued_keys": queued_keys, "at": at}
