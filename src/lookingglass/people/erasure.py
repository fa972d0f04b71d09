"""Erasing a person: given a face photo, find every indexed face of that person, show it, remove it on confirmation,
and optionally put the face on the opt-out list so that no later ingest or re-crawl indexes it again.

Two steps, so an admin sees exactly what goes: `find_person` (a preview: every indexed face at or above the
threshold, one list per face in the photo) and `erase_person` (removes the confirmed face ids that still match, and
records the opt-out). The photo itself is never stored; an opt-out entry keeps only the face's embedding.
Opt-outs can be listed (when and why, never the embedding) and withdrawn: one made by mistake must not keep a face
out of the index for ever.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from lookingglass import people
from lookingglass.app import App
from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.media.decode import decode_image
from lookingglass.records import Face, FacePoint
from lookingglass.services.matching import match_json, match_of

MAX_FACES = 1000  # per query face: a person is rarely indexed more often than this; more needs a second pass
OPTOUT_NAMESPACE = uuid.UUID("0b7a33a4-7d0c-4c53-9b1e-5e4f0a7e0a17")


def _faces(app: App, image: bytes) -> list[Face]:
    if app.faces is None:
        raise Unavailable("erasure must run where the vector index is open (the owner)")
    faces = app.models.find_faces(decode_image(image, max_pixels=app.settings.max_image_pixels).rgb)
    if not faces:
        raise BadInput("no face found in the photo")
    return faces


def _threshold(app: App, threshold: float | None) -> float:
    threshold = app.match_threshold if threshold is None else threshold
    if not -1.0 <= threshold <= 1.0:
        raise BadInput(f"threshold is a cosine similarity between -1 and 1, got {threshold}")
    return threshold


def find_person(app: App, image: bytes, *, threshold: float | None = None) -> dict:
    """Every indexed face matching each face in the photo: `{"faces": [{"index", "box", "matches": [...]}]}`."""
    threshold = _threshold(app, threshold)
    out = []
    for index, face in enumerate(_faces(app, image)):
        hits = app.faces.search(face.embedding, top_k=MAX_FACES, threshold=threshold)
        out.append(
            {
                "index": index,
                "box": [round(v, 2) for v in face.box],
                "matches": [match_json(match_of(h)) for h in hits if h.score >= threshold],
            }
        )
    return {"faces": out, "threshold": threshold}


def erase_person(
    app: App,
    image: bytes,
    face_ids: list[str],
    *,
    face_index: int | None = None,
    threshold: float | None = None,
    opt_out: bool = False,
    note: str | None = None,
) -> dict:
    """Remove the confirmed faces (only those that still match the chosen face of the photo at the threshold, so a
    stale or edited list cannot remove someone else), their keyframe thumbnails, and optionally opt the face out."""
    threshold = _threshold(app, threshold)
    faces = _faces(app, image)
    if face_index is None:
        if len(faces) > 1:
            raise BadInput(f"the photo shows {len(faces)} faces: say which one with face_index (0-{len(faces) - 1})")
        face_index = 0
    if not 0 <= face_index < len(faces):
        raise BadInput(f"face_index must be 0-{len(faces) - 1}, got {face_index}")
    face = faces[face_index]
    current = {h.id: h for h in app.faces.search(face.embedding, top_k=MAX_FACES, threshold=threshold)}
    confirmed = [i for i in dict.fromkeys(face_ids) if i in current]
    refused = [i for i in dict.fromkeys(face_ids) if i not in current]
    for face_id in confirmed:
        thumbnail = current[face_id].payload.get("thumbnail")
        if thumbnail:
            app.objects.delete_prefix(thumbnail)
    removed = app.faces.delete_ids(confirmed)
    # Erased faces leave their persons; with an opt-out, so does every face still indexed that matches it.
    people.forget_faces(app, [*confirmed, *(current if opt_out else ())])
    result = {"removed": removed, "not_matching": refused, "threshold": threshold, "opted_out": False}
    if opt_out:
        if app.optout is None:
            raise Unavailable("the opt-out list is not open in this process")
        digest = hashlib.sha256(face.embedding.tobytes()).hexdigest()
        point_id = str(uuid.uuid5(OPTOUT_NAMESPACE, digest))
        payload = {"added_at": datetime.now(UTC).isoformat(timespec="seconds"), "note": note or ""}
        app.optout.upsert([FacePoint(point_id, face.embedding, payload)])
        result.update(opted_out=True, optout_id=point_id)
    return result


def opt_outs(app: App) -> int:
    return app.optout.count() if app.optout is not None else 0


def _optout_index(app: App):
    if app.optout is None:
        raise Unavailable("the opt-out list is not open in this process")
    return app.optout


def list_opt_outs(app: App, limit: int = MAX_FACES) -> dict:
    """{"opt_outs": [{"id", "added_at", "note"}], newest first, "count"}: when and why, never the embedding."""
    index = _optout_index(app)
    entries = [
        {"id": hit.id, "added_at": hit.payload.get("added_at"), "note": hit.payload.get("note", "")}
        for hit in index.scroll({}, limit=limit)
    ]
    entries.sort(key=lambda e: (e["added_at"] or "", e["id"]), reverse=True)
    return {"opt_outs": entries, "count": index.count()}


def withdraw_opt_out(app: App, optout_id: str) -> dict:
    """Remove one opt-out: that face is indexed again by the next ingest or crawl that finds it (nothing already
    refused comes back by itself). Raises NotFound for an unknown id."""
    try:
        removed = _optout_index(app).delete_ids([optout_id])
    except BadInput:  # not a point id at all
        removed = 0
    if not removed:
        raise NotFound(f"no opt-out {optout_id!r}")
    return {"id": optout_id, "withdrawn": True}
