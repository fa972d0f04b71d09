"""The work itself, as plain functions over plain arguments: the same code runs inline (embedded) or in an RQ worker.

Jobs find their process's stores through `lookingglass.app.current()`. Idempotent by construction: a face point's
id is uuid5(sha256:frame:face_index:model) and storing an object's faces replaces its earlier ones, so a retried,
duplicated or out-of-order job leaves exactly one set of faces, or none for an object that is gone.

Where writes happen (DESIGN.md §7): a process with the vector index open writes directly; a worker whose stores
are embedded sends its result to the owner through the `index` queue (`store_faces`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from lookingglass.app import App, current
from lookingglass.errors import BadInput, NotFound, TooLarge, Unavailable
from lookingglass.media.decode import decode_image
from lookingglass.media.sniff import sniff_media
from lookingglass.records import Face, FacePoint, MediaObject

POINT_NAMESPACE = uuid.UUID("6f1c9a52-2f1e-4d0b-9a57-1c0ffee0face")
OWN_PREFIXES = ("media/", "meta/", "refs/")  # keys LookingGlass writes itself; anything else was dropped in


def face_point_id(sha256: str, frame: int, face_index: int, model: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{sha256}:{frame}:{face_index}:{model}"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- storing (owner side helpers, not queued)


def store_bytes(app: App, data: bytes, *, filename: str | None = None, metadata: dict | None = None) -> MediaObject:
    """Put bytes in the object store (deduplicated by content; source URLs are merged)."""
    if len(data) > app.settings.max_upload_bytes:
        raise TooLarge(f"{len(data):,} bytes is over the limit of {app.settings.max_upload_bytes:,}")
    ext, content_type, kind = sniff_media(data, filename)
    return app.objects.put(data, ext=ext, content_type=content_type, kind=kind, metadata=metadata or {})


def submit(app: App, sha256: str):
    """Queue an object's processing; the job id makes a second submission while the first waits a no-op."""
    return app.queue.enqueue("faces", process_object, sha256, job_id=f"process_object.{sha256}")


def submit_forget(app: App, sha256: str):
    return app.queue.enqueue("index", forget_object, sha256, job_id=f"forget_object.{sha256}")


def ingest_file(app: App, path: Path) -> dict:
    """Store a local file (its `file://` URL is the source URL) and process it now, in this process."""
    path = path.resolve()
    obj = store_bytes(app, path.read_bytes(), filename=path.name, metadata={"source_urls": [path.as_uri()]})
    return process(app, obj.sha256)


def is_processed(app: App, obj: MediaObject) -> bool:
    return app.models.embedder.name in (obj.metadata.get("processed") or {})


# --- jobs


def process_object(sha256: str) -> dict:
    """Job: decode a stored image, find its faces, and (re)index them. An object deleted meanwhile is skipped."""
    return process(current(), sha256)


def process(app: App, sha256: str) -> dict:
    try:
        obj = app.objects.get(sha256)
        data = app.objects.read(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    if obj.kind != "image":
        raise BadInput(f"{obj.kind} objects are not processed yet (only images): {sha256}")
    image = decode_image(data, max_pixels=app.settings.max_image_pixels)
    faces = app.models.find_faces(image.rgb)
    model = app.models.embedder.name
    points = [
        {
            "id": face_point_id(sha256, 0, i, model),
            "vector": [float(v) for v in face.embedding],
            "payload": _face_payload(obj, face, i, model, image.width, image.height),
        }
        for i, face in enumerate(faces)
    ]
    if app.writes_directly:
        return store(app, sha256, model, points)
    app.queue.enqueue("index", store_faces, sha256, model, points, job_id=f"store_faces.{sha256}.{model}")
    return {"sha256": sha256, "faces": len(points), "stored_by": "owner via index queue"}


def store_faces(sha256: str, model: str, points: list[dict]) -> dict:
    """Job: replace an object's faces in the vector index (where it is writable). Follows `process_object`."""
    return store(current(), sha256, model, points)


def store(app: App, sha256: str, model: str, points: list[dict]) -> dict:
    if app.faces is None:  # retryable: the owner may simply not be consuming yet
        raise Unavailable("store_faces must run where the vector index is open (the owner or a server-backed worker)")
    app.faces.delete_where("sha256", sha256)
    if not app.objects.exists(sha256):  # removed while it was being processed: leave nothing behind
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    if points:
        app.faces.upsert(
            [FacePoint(id=p["id"], vector=np.asarray(p["vector"], np.float32), payload=p["payload"]) for p in points]
        )
    try:
        app.objects.annotate(sha256, {"processed": {model: {"faces": len(points), "at": _now()}}})
    except NotFound:  # removed between the check and now: undo
        app.faces.delete_where("sha256", sha256)
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    return {"sha256": sha256, "faces": len(points)}


def forget_object(sha256: str) -> dict:
    """Job: remove an object and everything derived from it (faces now; thumbnails, segments, mentions later)."""
    return forget(current(), sha256)


def forget(app: App, sha256: str) -> dict:
    if app.faces is None:
        raise Unavailable("forget_object must run where the vector index is open")
    removed = app.faces.delete_where("sha256", sha256)
    segments = app.text.delete_where("sha256", sha256) if app.text is not None else 0
    deleted = app.objects.delete(sha256)
    return {"sha256": sha256, "deleted": deleted, "faces_removed": removed, "segments_removed": segments}


def _key_ref(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()


def ingest_key(key: str) -> dict:
    """A file someone dropped into the bucket (not under media/): store it content-addressed and process it."""
    app = current()
    try:
        data = app.objects.read_key(key)
    except NotFound:
        return {"key": key, "skipped": "key is no longer in the store"}
    obj = store_bytes(app, data, filename=key.rsplit("/", 1)[-1], metadata={"source_urls": [store_url(app, key)]})
    app.objects.write_ref(_key_ref(key), {"key": key, "sha256": obj.sha256})
    if is_processed(app, obj):
        return {"key": key, "sha256": obj.sha256, "skipped": "already processed"}
    return {"key": key, **process(app, obj.sha256)}


def forget_key(key: str) -> dict:
    """A dropped-in file was removed: forget the object it became, unless another key still holds the same bytes."""
    app = current()
    ref = app.objects.read_ref(_key_ref(key))
    if ref is None:
        return {"key": key, "skipped": "nothing was made from this key"}
    sha256 = ref["sha256"]
    app.objects.delete_ref(_key_ref(key))
    url = store_url(app, key)
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"key": key, "sha256": sha256, "faces_removed": 0}
    others = [u for u in obj.metadata.get("source_urls", []) if u != url and u.startswith(store_url(app, ""))]
    if others:
        app.objects.annotate(sha256, {"source_urls": [u for u in obj.metadata["source_urls"] if u != url]})
        return {"key": key, "sha256": sha256, "kept": "other keys hold the same bytes"}
    return {"key": key, **forget(app, sha256)}


def store_url(app: App, key: str) -> str:
    """How a raw key in the store is named in source_urls: s3://bucket/key, or a file:// URL for a local store."""
    if app.settings.distributed_objects:
        return f"s3://{app.settings.s3_bucket}/{key}"
    return (app.settings.data_dir / "objects" / key).resolve().as_uri() if key else ""


def reconcile() -> dict:
    """List the store and queue whatever is not processed yet, so a missed notification is never permanent loss."""
    app = current()
    queued_objects = queued_keys = 0
    for obj in app.objects.list():
        if obj.kind == "image" and not is_processed(app, obj):
            submit(app, obj.sha256)
            queued_objects += 1
    for key in app.objects.iter_keys():
        if key.startswith(OWN_PREFIXES) or app.objects.read_ref(_key_ref(key)) is not None:
            continue
        app.queue.enqueue("faces", ingest_key, key, job_id=f"ingest_key.{_key_ref(key)}")
        queued_keys += 1
    return {"queued_objects": queued_objects, "queued_keys": queued_keys, "at": _now()}


def _face_payload(obj: MediaObject, face: Face, index: int, model: str, width: int, height: int) -> dict:
    source_url = obj.source_url
    page_urls = obj.metadata.get("page_urls") or []
    det = face.detection
    return {
        "sha256": obj.sha256,
        "key": obj.key,
        "kind": obj.kind,
        "source_url": source_url,
        "source_urls": obj.metadata.get("source_urls") or [],
        "page_url": page_urls[0] if page_urls else None,
        "source_host": (urlsplit(source_url).hostname or "") if source_url else "",
        "box": [round(v, 2) for v in det.box],
        "landmarks": [[round(x, 2), round(y, 2)] for x, y in det.landmarks],
        "det_score": round(det.confidence, 4),
        "detector": det.detector,
        "face_index": index,
        "frame": 0,
        "timestamp": None,
        "track_id": None,
        "model": model,
        "width": width,
        "height": height,
        "indexed_at": _now(),
    }
