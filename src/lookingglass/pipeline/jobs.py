"""The work itself, as plain functions: run the same inline (embedded) or in a queue worker (distributed).

Idempotent by construction: a face point's id is uuid5(sha256:frame:face_index:model), and reprocessing an
object first removes that object's earlier points, so a retried or duplicated job leaves exactly one set of faces.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lookingglass.app import App
from lookingglass.errors import BadInput
from lookingglass.media.decode import decode_image
from lookingglass.media.sniff import sniff_media
from lookingglass.records import Face, FacePoint, IngestResult, MediaObject

POINT_NAMESPACE = uuid.UUID("6f1c9a52-2f1e-4d0b-9a57-1c0ffee0face")


def face_point_id(sha256: str, frame: int, face_index: int, model: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{sha256}:{frame}:{face_index}:{model}"))


def store_bytes(app: App, data: bytes, *, filename: str | None = None, metadata: dict | None = None) -> MediaObject:
    """Put bytes in the object store (deduplicated by content; source URLs are merged)."""
    ext, content_type, kind = sniff_media(data, filename)
    if len(data) > app.settings.max_upload_bytes:
        from lookingglass.errors import TooLarge

        raise TooLarge(f"{len(data):,} bytes is over the limit of {app.settings.max_upload_bytes:,}")
    return app.objects.put(data, ext=ext, content_type=content_type, kind=kind, metadata=metadata or {})


def ingest_file(app: App, path: Path) -> IngestResult:
    """Store a local file (its `file://` URL is the source URL) and index its faces."""
    path = path.resolve()
    obj = store_bytes(app, path.read_bytes(), filename=path.name, metadata={"source_urls": [path.as_uri()]})
    return process_object(app, obj.sha256)


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
        "source_host": urlsplit(source_url).hostname or "" if source_url else "",
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
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def process_object(app: App, sha256: str) -> IngestResult:
    """Decode a stored image, find its faces, and (re)index them. Raises BadInput for undecodable images."""
    obj = app.objects.get(sha256)
    if obj.kind != "image":
        raise BadInput(f"{obj.kind} objects are not processed yet (only images): {sha256}")
    image = decode_image(app.objects.read(sha256), max_pixels=app.settings.max_image_pixels)
    faces = app.models.find_faces(image.rgb)
    model = app.models.embedder.name
    points = [
        FacePoint(
            id=face_point_id(sha256, 0, i, model),
            vector=face.embedding,
            payload=_face_payload(obj, face, i, model, image.width, image.height),
        )
        for i, face in enumerate(faces)
    ]
    app.faces.delete_where("sha256", sha256)
    if points:
        app.faces.upsert(points)
    return IngestResult(sha256=sha256, key=obj.key, faces=len(points))


def forget_object(app: App, sha256: str) -> int:
    """Remove an object and everything derived from it; returns how many face points were removed."""
    removed = app.faces.delete_where("sha256", sha256)
    app.objects.delete(sha256)
    return removed
