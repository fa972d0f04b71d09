"""Photos: decode a stored image, find its faces, and hand them to the index.

A face point's id is uuid5(sha256:frame:face_index:model), so a retried, duplicated or out-of-order job writes the
same points again rather than new ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lookingglass.app import App, current
from lookingglass.errors import BadInput, NotFound
from lookingglass.media.decode import decode_image
from lookingglass.pipeline.failures import budget_failure_recorded, record_error
from lookingglass.pipeline.index import hand_over
from lookingglass.records import Face, MediaObject
from lookingglass.sources.sightings import page_title_of

POINT_NAMESPACE = uuid.UUID("6f1c9a52-2f1e-4d0b-9a57-1c0ffee0face")


def face_point_id(sha256: str, frame: int, face_index: int, model: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{sha256}:{frame}:{face_index}:{model}"))


def process_image(sha256: str) -> dict:
    """Job (faces queue): find a stored photo's faces and (re)index them. An object deleted meanwhile is skipped."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process_image_now(app, sha256)


def process_image_now(app: App, sha256: str) -> dict:
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    if obj.kind != "image":
        raise BadInput(f"{obj.kind} objects have no faces to find: {sha256}")
    try:
        data = app.objects.read(sha256)
        image = decode_image(data, max_pixels=app.settings.max_image_pixels)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    except BadInput as exc:
        record_error(app, sha256, exc)
        raise
    faces = app.models.find_faces(image.rgb)
    model = app.models.embedder.name
    points = [
        {
            "id": face_point_id(sha256, 0, i, model),
            "vector": [float(v) for v in face.embedding],
            "payload": face_payload(obj, face, i, model, image.width, image.height),
        }
        for i, face in enumerate(faces)
    ]
    return hand_over(app, sha256, model, points, None, {})


def face_payload(obj: MediaObject, face: Face, index: int, model: str, width: int, height: int) -> dict:
    """What a face point carries: where the face is, and where its object came from (for filters and results)."""
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
        "page_title": page_title_of(obj.metadata, page_urls[0]) if page_urls else None,
        "page_urls": page_urls,  # every page it was seen on when processed: "faces on this page" (entity pages)
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
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
