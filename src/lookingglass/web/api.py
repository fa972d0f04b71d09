"""JSON API. Errors are `{"error": {"code", "message"}}` (mapped once in the app factory)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, jsonify, request

from lookingglass.app import App
from lookingglass.errors import BadInput, BudgetExceeded, Unavailable
from lookingglass.lookup import annotate, lookup_image, lookup_json
from lookingglass.pipeline.jobs import forget, store_bytes, submit
from lookingglass.pipeline.queue import SATURATED_RETRY_AFTER
from lookingglass.sightings import Sighting
from lookingglass.stores.objects import merge_metadata
from lookingglass.web.auth import audit_event, require_local
from lookingglass.web.params import number

SIGHTING_FIELDS = ("source_url", "page_url", "page_title", "alt", "seen_at")
WAITED_KINDS = ("image", "page")  # embedded: answered once processed (quick); videos are answered 202 at once
UPLOAD_WAIT_S = 60  # ... at most this long: a slower job is answered 202 and goes on in the background

api = Blueprint("api", __name__)


def _app() -> App:
    return current_app.extensions["lookingglass"]


def _upload(field: str) -> tuple[bytes, str | None]:
    upload = request.files.get(field)
    if upload is None:
        raise BadInput(f"multipart field '{field}' is required")
    return upload.read(), upload.filename


@api.post("/lookup")
def lookup():
    app = _app()
    data, _ = _upload("image")
    top_k = number("top_k", int, app.settings.top_k, minimum=1, maximum=1000)
    threshold = number("threshold", float, app.match_threshold, minimum=-1.0, maximum=1.0)
    results = lookup_image(app, data, top_k=top_k, threshold=threshold)
    body = lookup_json(results, threshold, top_k)
    matches = sum(len(face["matches"]) for face in body["faces"])
    audit_event("lookup", query_sha256=hashlib.sha256(data).hexdigest(), results=matches)
    if request.values.get("annotate", "").lower() in {"1", "true", "yes", "on"}:
        body["annotated_png"] = annotate(data, results, app.settings.max_image_pixels)
    return jsonify(body)


@api.post("/objects")
def upload_objects():
    """Store uploaded files (field `file`, repeatable) and queue their processing.

    Embedded (inline queue): processed before the answer, so each result carries `faces` (201).
    With workers (REDIS_URL): the answer comes once the files are stored and queued (202), with job ids.
    """

    app = _app()
    uploads = request.files.getlist("file")
    if not uploads:
        raise BadInput("multipart field 'file' is required")
    metadata = _sighting_metadata(request.values)
    inline = app.queue.backend == "inline"
    if app.queue.saturated():  # nothing stored yet: the caller sends the same request again later and loses nothing
        raise Unavailable(
            f"every worker is busy and more jobs are waiting; try again in {SATURATED_RETRY_AFTER} s",
            retry_after=SATURATED_RETRY_AFTER,
        )
    results = []
    for upload in uploads:
        result: dict | None = None
        try:
            data = upload.read()
            new = not app.objects.exists(hashlib.sha256(data).hexdigest())
            obj = store_bytes(app, data, filename=upload.filename, metadata=dict(metadata))
            audit_event("upload", query_sha256=obj.sha256)
            result = {"filename": upload.filename, "sha256": obj.sha256, "key": obj.key, "kind": obj.kind, "new": new}
            handle = submit(app, obj.sha256, obj.kind)
            result["job"] = handle.id
            results.append(result)
            if inline and obj.kind in WAITED_KINDS:
                try:
                    done = handle.result(timeout=UPLOAD_WAIT_S)
                except TimeoutError:
                    result["processing"] = f"still running after {UPLOAD_WAIT_S} s; see GET /objects/{obj.sha256}"
                    continue
                result["faces"] = done.get("faces", 0)
                if obj.kind == "page":
                    result["entities"] = done.get("entities", 0)
        except BadInput as exc:
            error = {"code": exc.code, "message": exc.message}
            if isinstance(exc, BudgetExceeded) and result is not None:  # stored, and marked failed with the reason
                result["error"] = error
                continue
            if result is not None:
                results.remove(result)
            results.append({"filename": upload.filename, "error": error})
    stored = [r for r in results if "sha256" in r]
    done = stored and all("faces" in r for r in stored)
    return jsonify({"objects": results}), (201 if done else 202) if stored else 400


def _sighting_metadata(fields) -> dict:
    """Where an uploaded object was seen (`source_url`, `page_url`, `page_title`, `alt`, `seen_at`), as metadata."""
    given = {k: fields.get(k) for k in SIGHTING_FIELDS if fields.get(k)}
    if not given:
        return {}
    if any(str(v).startswith("file://") for v in given.values()):
        require_local()  # only the local CLI may claim a path on this machine
    if "source_url" not in given:
        raise BadInput("page_url, page_title and alt describe a source_url; give one")
    return Sighting.from_fields(given).metadata()


@api.post("/objects/<sha256>/sightings")
def add_sightings(sha256: str):
    """Record more places an object was seen (the crawler's duplicates): `{"sightings": [{source_url, page_url,
    page_title, alt}]}`. The object's bytes and faces are unchanged."""
    app = _app()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("sightings"), list) or not body["sightings"]:
        raise BadInput('expected JSON {"sightings": [{"source_url": ..., "page_url": ...}, ...]}')
    app.objects.get(sha256)  # 404 when unknown
    metadata: dict = {}
    for fields in body["sightings"]:
        metadata = merge_metadata(metadata, _sighting_metadata(fields if isinstance(fields, dict) else {}))
    obj = app.objects.annotate(sha256, metadata, merge=True)
    return jsonify({"sha256": obj.sha256, "sightings": len(obj.metadata.get("sightings") or [])})


@api.get("/objects/<sha256>")
def get_object(sha256: str):
    obj = _app().objects.get(sha256)
    return jsonify(
        {
            "sha256": obj.sha256,
            "key": obj.key,
            "size": obj.size,
            "kind": obj.kind,
            "content_type": obj.content_type,
            "metadata": obj.metadata,
            "faces": _app().faces.count({"sha256": sha256}),
        }
    )


@api.get("/objects/<sha256>/outcome")
def object_outcome(sha256: str):
    """Where the object's processing stands (`done`, `failed` with the reason, `pending`, `gone`): what
    `lookingglass ingest --wait` polls through `serve`, whoever runs the jobs. `?job=` is the id the upload
    returned (narrows the failure lookup to that submission)."""
    import re

    from lookingglass.pipeline.outcome import object_outcome as outcome
    from lookingglass.stores.objects import check_sha256

    job = request.args.get("job") or None
    if job is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", job):
        raise BadInput("'job' must be a job id as the upload returned it (letters, digits, '_', '.', '-')")
    return jsonify(outcome(_app(), check_sha256(sha256), job).as_dict())


@api.get("/objects/<sha256>/content")
def object_content(sha256: str):
    app = _app()
    obj = app.objects.get(sha256)
    headers = {"Content-Type": obj.content_type, "Cache-Control": "private, max-age=3600"}
    if obj.kind == "page":  # a crawled page must never run as our origin: shown as text, sandboxed
        headers |= {"Content-Type": "text/plain; charset=utf-8", "Content-Security-Policy": "sandbox"}
    return app.objects.read(sha256), 200, headers


@api.get("/objects/<sha256>/transcript")
def object_transcript(sha256: str):
    """The transcript stored beside a video or audio object: language and timed segments."""
    import json

    from lookingglass.errors import NotFound
    from lookingglass.stores.objects import check_sha256

    try:
        return jsonify(json.loads(_app().objects.read_key(f"transcripts/{check_sha256(sha256)}.json")))
    except NotFound:
        raise NotFound(f"no transcript for {sha256} (not a video or audio object, or not processed yet)") from None


@api.get("/faces/<face_id>/thumbnail")
def face_thumbnail(face_id: str):
    """The small JPEG stored for a video keyframe (its payload names it)."""
    from lookingglass.errors import NotFound

    app = _app()
    key = (app.faces.payload(face_id) or {}).get("thumbnail")
    if not key:
        raise NotFound(f"no thumbnail for face {face_id}")
    return app.objects.read_key(key), 200, {"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"}


@api.delete("/objects/<sha256>")
def delete_object(sha256: str):
    app = _app()
    app.objects.get(sha256)  # 404 when unknown
    body = forget(app, sha256)  # the server is the owner: it writes the index itself
    audit_event("forget", target=sha256, results=body["faces_removed"])
    return jsonify(body)
