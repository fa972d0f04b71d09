"""Into the pipeline: store bytes, queue their processing by kind, or process them now in this process.

Every kind of object has its job (images.py, videos.py, graph.py); `submit` picks the queue for the kind so a long
video never holds up photos, and the job id makes a second submission while the first waits a no-op.
"""

from __future__ import annotations

from pathlib import Path

from lookingglass.app import App
from lookingglass.errors import BadInput, NotFound, TooLarge
from lookingglass.media.sniff import sniff_media
from lookingglass.pipeline.graph import GRAPH, process_page_now, submit_page
from lookingglass.pipeline.images import process_image, process_image_now
from lookingglass.pipeline.videos import process_video, process_video_now
from lookingglass.records import MediaObject

PROCESSED_KINDS = ("image", "video", "audio", "page")  # kinds that have a job; other objects are only stored


def store_bytes(app: App, data: bytes, *, filename: str | None = None, metadata: dict | None = None) -> MediaObject:
    """Put bytes in the object store (deduplicated by content; source URLs are merged)."""
    if len(data) > app.settings.max_upload_bytes:
        raise TooLarge(f"{len(data):,} bytes is over the limit of {app.settings.max_upload_bytes:,}")
    ext, content_type, kind = sniff_media(data, filename)
    return app.objects.put(data, ext=ext, content_type=content_type, kind=kind, metadata=metadata or {})


def submit(app: App, sha256: str, kind: str | None = None):
    """Queue an object's processing on the queue for its kind."""
    if kind is None:
        try:
            kind = app.objects.get(sha256).kind
        except NotFound:  # already gone (a late notification): the job will find nothing and say so
            kind = "image"
    if kind in ("video", "audio"):
        return app.queue.enqueue("video", process_video, sha256, job_id=f"process_video.{sha256}")
    if kind == "page":
        return submit_page(app, sha256)
    return app.queue.enqueue("faces", process_image, sha256, job_id=f"process_image.{sha256}")


def process_now(app: App, sha256: str) -> dict:
    """Process an object here and now, whatever its kind (what its queued job would do)."""
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    if obj.kind in ("video", "audio"):
        return process_video_now(app, sha256)
    if obj.kind == "page":
        return process_page_now(app, sha256)
    if obj.kind != "image":
        raise BadInput(f"{obj.kind} objects have no faces to find: {sha256}")
    return process_image_now(app, sha256)


def ingest_file(app: App, path: Path) -> dict:
    """Store a local file (its `file://` URL is the source URL) and process it now, in this process."""
    path = path.resolve()
    obj = store_bytes(app, path.read_bytes(), filename=path.name, metadata={"source_urls": [path.as_uri()]})
    return process_now(app, obj.sha256)


def is_processed(app: App, obj: MediaObject) -> bool:
    """Whether the object's processing is done: its faces with the current embedder, or a page's entities."""
    processed = obj.metadata.get("processed") or {}
    return (GRAPH if obj.kind == "page" else app.models.embedder.name) in processed


def over_budget(obj: MediaObject) -> bool:
    """Whether the object's last processing went over its job's budget: reconcile leaves it alone (it would do the
    same again); a re-upload or an explicit `submit` still tries once more."""
    return bool((obj.metadata.get("processing_error") or {}).get("over_budget"))
