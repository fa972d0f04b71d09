"""Writing a processed object's faces (and transcript segments) into the indexes, where they are writable.

Where writes happen (docs/architecture.md): a process with the vector index open writes directly; a worker whose
stores are embedded sends its result to the owner through the `index` queue (`store_faces`). Idempotent: storing an
object's faces replaces its earlier ones, and an object removed meanwhile is left with none. Faces of someone on the
opt-out list are dropped here, whichever path brought them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from lookingglass import people
from lookingglass.app import App, current
from lookingglass.errors import NotFound, Unavailable
from lookingglass.records import FacePoint
from lookingglass.stores.text import TextDoc


def hand_over(app: App, sha256: str, model: str, points: list[dict], segments: list[dict] | None, facts: dict) -> dict:
    """Write the results here when this process may, else send them to the owner through the `index` queue."""
    if app.writes_directly:
        return store_faces_now(app, sha256, model, points, segments, facts)
    app.queue.enqueue(
        "index", store_faces, sha256, model, points, segments, facts, job_id=f"store_faces.{sha256}.{model}"
    )
    return {"sha256": sha256, "faces": len(points), "stored_by": "owner via index queue"}


def store_faces(
    sha256: str, model: str, points: list[dict], segments: list[dict] | None = None, facts: dict | None = None
) -> dict:
    """Job (index queue): replace an object's faces (and transcript segments) in the indexes."""
    return store_faces_now(current(), sha256, model, points, segments, facts)


def store_faces_now(
    app: App, sha256: str, model: str, points: list[dict], segments: list[dict] | None = None, facts: dict | None = None
) -> dict:
    if app.faces is None:  # retryable: the owner may simply not be consuming yet
        raise Unavailable("store_faces must run where the vector index is open (the owner or a server-backed worker)")
    app.faces.delete_where("sha256", sha256)
    if not app.objects.exists(sha256):  # removed while it was being processed: leave nothing behind
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    points, opted_out = _without_opted_out(app, points)
    if opted_out:
        facts = {**(facts or {}), "opted_out": opted_out}
    if points:
        app.faces.upsert(
            [FacePoint(id=p["id"], vector=np.asarray(p["vector"], np.float32), payload=p["payload"]) for p in points]
        )
    if segments is not None and app.text is not None:
        app.text.delete_where("sha256", sha256)
        app.text.upsert([TextDoc(id=d["id"], text=d["text"], payload=d["payload"]) for d in segments])
    try:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        processed = {model: {"faces": len(points), "at": at, **(facts or {})}}
        app.objects.annotate(sha256, {"processed": processed, "processing_error": None})
    except NotFound:  # removed between the check and now: undo
        app.faces.delete_where("sha256", sha256)
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    people.assign(app, sha256, points)
    return {"sha256": sha256, "faces": len(points), **({"opted_out": opted_out} if opted_out else {})}


def _without_opted_out(app: App, points: list[dict]) -> tuple[list[dict], int]:
    """Faces that match someone on the opt-out list are never indexed, whichever path brought them."""
    if not points or app.optout is None or app.optout.count() == 0:
        return points, 0
    kept = [
        p
        for p in points
        if not app.optout.search(np.asarray(p["vector"], np.float32), top_k=1, threshold=app.match_threshold)
    ]
    return kept, len(points) - len(kept)
