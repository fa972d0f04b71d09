"""`GET /openapi.json`: generated from the typed routes (flask-openapi3 + the services' pydantic models).

Routes not yet declared with models are still described by hand below (`HAND_WRITTEN`); a route that gets its
models is removed from that table, and the generated entry takes its place. A test enumerates the app's URL map
and fails when a JSON route is missing from the document, another checks every JSON answer the test suite
receives against it (web/answers.py), and a bounded schemathesis run over it expects no 5xx.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify

from lookingglass import __version__

SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
ERROR = {"$ref": "#/components/schemas/Error"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}
BINARY = {"type": "string", "format": "binary"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_TEXT = {
    400: "bad input",
    401: "no credentials",
    403: "not allowed for this role",
    404: "not found",
    413: "too large",
    429: "rate limited",
    503: "a backend is unavailable",
}


def _errors(*codes: int) -> dict:
    return {str(code): _json(ERROR, ERROR_TEXT[code]) for code in codes}


def _query(name: str, schema: dict, description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _multipart(properties: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _op(summary: str, responses: dict, *, tag: str, params: list | None = None, body: dict | None = None) -> dict:
    op: dict = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


MATCH = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "sha256": {"type": "string"},
        "source_url": {"type": ["string", "null"]},
        "page_url": {"type": ["string", "null"]},
        "page_title": {"type": ["string", "null"]},
        "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "kind": {"type": "string"},
        "timestamp": {"type": ["number", "null"]},
        "track_id": {"type": ["integer", "null"]},
        "start": {"type": ["number", "null"]},
        "end": {"type": ["number", "null"]},
        "grouped": {"type": "integer"},
        "face_id": {"type": ["string", "null"]},
        "indexed_at": {"type": ["string", "null"]},
    },
    "required": ["score", "sha256", "box", "kind"],
}
LOOKUP = {
    "type": "object",
    "properties": {
        "faces": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "box": {"type": "array", "items": {"type": "number"}},
                    "confidence": {"type": "number"},
                    "landmarks": {"type": "array"},
                    "detector": {"type": "string"},
                    "matches": {"type": "array", "items": MATCH},
                },
                "required": ["box", "confidence", "matches"],
            },
        },
        "threshold": {"type": "number"},
        "top_k": {"type": "integer"},
        "annotated_png": {"type": "string"},
    },
    "required": ["faces", "threshold", "top_k"],
}
SIGHTING = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("source_url", "page_url", "page_title", "alt", "seen_at")},
    "required": ["source_url"],
}
THRESHOLD = {"type": "number", "minimum": -1, "maximum": 1}


def hand_written() -> dict:
    """The paths still described by hand (routes without models yet)."""
    sha = [_path("sha256", SHA)]
    paths = {
        "/lookup": {
            "post": _op(
                "Find where the faces in a photo appear (audited).",
                {"200": _json(LOOKUP), **_errors(400, 401, 413, 429)},
                tag="faces",
                body=_multipart(
                    {
                        "image": BINARY,
                        "top_k": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "threshold": THRESHOLD,
                        "annotate": {"type": "string", "enum": ["true", "false"]},
                    },
                    ["image"],
                ),
            )
        },
        "/objects": {
            "post": _op(
                "Store files and queue their processing; sighting fields say where they were seen.",
                {
                    "201": _json(ANY_OBJECT, "stored and processed"),
                    "202": _json(ANY_OBJECT, "stored, queued"),
                    **_errors(400, 401, 413, 503),
                    "400": _json(
                        {"oneOf": [ERROR, {"type": "object", "required": ["objects"]}]},
                        "bad input, or no file could be stored (each file's error in `objects`)",
                    ),
                },
                tag="objects",
                body=_multipart({"file": BINARY, **{k: {"type": "string"} for k in SIGHTING["properties"]}}, ["file"]),
            )
        },
        "/objects/{sha256}": {
            "get": _op(
                "An object's record.", {"200": _json(ANY_OBJECT), **_errors(400, 401, 404)}, tag="objects", params=sha
            ),
            "delete": _op(
                "Forget an object and everything derived from it (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403, 404)},
                tag="objects",
                params=sha,
            ),
        },
        "/objects/{sha256}/outcome": {
            "get": _op(
                "Where the object's processing stands: done (faces, entities), failed (error), pending or gone.",
                {"200": _json(ANY_OBJECT), **_errors(400, 401)},
                tag="objects",
                params=[*sha, _query("job", {"type": "string", "maxLength": 200}, "the job id the upload returned")],
            )
        },
        "/objects/{sha256}/content": {
            "get": _op(
                "The stored bytes.",
                {
                    "200": {"description": "the file", "content": {"application/octet-stream": {"schema": BINARY}}},
                    **_errors(400, 401, 404),
                },
                tag="objects",
                params=sha,
            )
        },
        "/objects/{sha256}/transcript": {
            "get": _op(
                "A video's or audio file's transcript.",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 404)},
                tag="text",
                params=sha,
            )
        },
        "/objects/{sha256}/sightings": {
            "post": _op(
                "Record more places an object was seen.",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 404)},
                tag="objects",
                params=sha,
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"sightings": {"type": "array", "items": SIGHTING, "minItems": 1}},
                                "required": ["sightings"],
                            }
                        }
                    },
                },
            )
        },
        "/faces/{face_id}/thumbnail": {
            "get": _op(
                "The JPEG kept for a video keyframe.",
                {
                    "200": {"description": "JPEG", "content": {"image/jpeg": {"schema": BINARY}}},
                    **_errors(400, 401, 404),
                },
                tag="faces",
                params=[_path("face_id")],
            )
        },
        "/openapi.json": {"get": _op("This description.", {"200": _json(ANY_OBJECT)}, tag="operations")},
    }
    return paths


INFO = {
    "title": "LookingGlass",
    "version": __version__,
    "description": "Face search, text search and the entity graph. Every route needs credentials (an API key as "
    "`Authorization: Bearer`, or a signed-in session with an X-CSRF-Token) except /health, /openapi.json and "
    "/events/minio; errors are `{error: {code, message}}`.",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "lg_... keys: `lookingglass keys create`"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
}


def spec(flask_app) -> dict:
    """The whole description: what the typed routes generate, plus the hand-written paths."""
    generated = flask_app.api_doc
    paths: dict[str, dict] = {}
    for source in (hand_written(), generated.get("paths", {})):
        for path, ops in source.items():
            for method, op in ops.items():
                paths.setdefault(path, {})[method] = _with_errors(op)
    schemas = {**generated.get("components", {}).get("schemas", {}), "Error": ERROR_SCHEMA}
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
        "security": [{"apiKey": []}, {"session": []}],
        "paths": dict(sorted(paths.items())),
    }


def _with_errors(op: dict) -> dict:
    """An operation with every error answer any route can give (credentials, role, bounds, rate, a backend away)
    described as our one error body, `{error: {code, message}}`; an answer the route describes itself stays."""
    op = dict(op)
    responses = dict(op.get("responses", {}))
    for code in ERROR_TEXT:
        described = responses.get(str(code))
        if described is None or "ValidationErrorModel" in json.dumps(described):  # the library's, not our body
            responses[str(code)] = _json(ERROR, ERROR_TEXT[code])
    op["responses"] = responses
    return op


openapi_api = Blueprint("openapi_api", __name__)


@openapi_api.get("/openapi.json")
def openapi_json():
    return jsonify(spec(current_app))
