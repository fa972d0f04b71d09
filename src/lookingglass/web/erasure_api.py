"""Erasing a person over HTTP (admin): preview what a face photo would remove, then remove it (and opt it out)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request

from lookingglass.app import App
from lookingglass.erasure import erase_person, find_person, list_opt_outs, withdraw_opt_out
from lookingglass.errors import BadInput
from lookingglass.web.auth import audit_event
from lookingglass.web.params import number

erasure_api = Blueprint("erasure_api", __name__)


def _app() -> App:
    return current_app.extensions["lookingglass"]


def _photo() -> bytes:
    upload = request.files.get("image")
    if upload is None:
        raise BadInput("multipart field 'image' (a photo of the person) is required")
    return upload.read()


@erasure_api.post("/forget/person/preview")
def preview():
    """Every indexed face of the person in the photo, at or above `threshold`: what `POST /forget/person` would
    remove. Nothing is changed."""
    photo = _photo()
    found = find_person(_app(), photo, threshold=number("threshold", float, None, minimum=-1.0, maximum=1.0))
    audit_event(
        "forget_person_preview",
        query_sha256=hashlib.sha256(photo).hexdigest(),
        results=sum(len(f["matches"]) for f in found["faces"]),
    )
    return jsonify(found)


@erasure_api.post("/forget/person")
def forget_person():
    """Remove the confirmed faces: multipart `image`, `face_ids` (comma-separated or repeated, from the preview),
    `face_index` (which face of the photo, when it shows several), `threshold`, `opt_out=true` to keep the face
    from being indexed again, `note`."""
    ids = [i.strip() for raw in request.values.getlist("face_ids") for i in raw.split(",") if i.strip()]
    if not ids:
        raise BadInput("face_ids is required: the faces the preview showed and you confirm")
    face_index = number("face_index", int, None, minimum=0)
    photo = _photo()
    result = erase_person(
        _app(),
        photo,
        ids,
        face_index=face_index,
        threshold=number("threshold", float, None, minimum=-1.0, maximum=1.0),
        opt_out=request.values.get("opt_out", "").lower() in {"1", "true", "yes", "on"},
        note=request.values.get("note"),
    )
    audit_event(
        "forget_person",
        query_sha256=hashlib.sha256(photo).hexdigest(),
        results=result["removed"],
        target=result.get("optout_id"),
    )
    return jsonify(result)


@erasure_api.get("/forget/opt-outs")
def opt_outs():
    """The opt-out list: when each face was added and the note given, never the face itself."""
    return jsonify(list_opt_outs(_app(), number("limit", int, 1000, minimum=1, maximum=10_000)))


@erasure_api.delete("/forget/opt-outs/<optout_id>")
def withdraw(optout_id: str):
    """Withdraw an opt-out (one made by mistake): the face may be indexed again from the next ingest on."""
    result = withdraw_opt_out(_app(), optout_id)
    audit_event("optout_withdrawn", target=optout_id)
    return jsonify(result)
