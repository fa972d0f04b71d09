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
from lookingglass.stores.graph import SORTS
from lookingglass.text.entities import TYPES

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


ENTITY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "type": {"type": "string"},
        "pagerank": {"type": ["number", "null"]},
        "community": {"type": ["integer", "null"]},
        "leiden": {"type": ["integer", "null"]},
        "shares_people": {"type": ["integer", "null"], "description": "organisations: how many others share people"},
        "mentions": {"type": "integer"},
    },
    "required": ["id", "name", "type"],
}
THRESHOLD = {"type": "number", "minimum": -1, "maximum": 1}


def hand_written() -> dict:
    """The paths still described by hand (routes without models yet)."""
    paths = {
        "/forget/person/preview": {
            "post": _op(
                "Every indexed face of the person in a photo: what erasing would remove (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403, 413)},
                tag="erasure",
                body=_multipart({"image": BINARY, "threshold": THRESHOLD}, ["image"]),
            )
        },
        "/forget/person": {
            "post": _op(
                "Remove the confirmed faces of a person; optionally opt the face out of future indexing (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403, 413)},
                tag="erasure",
                body=_multipart(
                    {
                        "image": BINARY,
                        "face_ids": {"type": "string", "description": "comma-separated, from the preview"},
                        "face_index": {"type": "integer", "minimum": 0},
                        "threshold": THRESHOLD,
                        "opt_out": {"type": "string", "enum": ["true", "false"]},
                        "note": {"type": "string"},
                    },
                    ["image", "face_ids"],
                ),
            )
        },
        "/forget/opt-outs": {
            "get": _op(
                "The opt-out list: when each face was added and why, never the face itself (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403, 503)},
                tag="erasure",
                params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 10000})],
            )
        },
        "/forget/opt-outs/{optout_id}": {
            "delete": _op(
                "Withdraw an opt-out: the face may be indexed again from the next ingest on (admin).",
                {"200": _json(ANY_OBJECT), **_errors(401, 403, 404, 503)},
                tag="erasure",
                params=[_path("optout_id")],
            )
        },
        "/entities": {
            "get": _op(
                "Entities from pages and transcripts, by PageRank, mentions or name.",
                {
                    "200": _json({"type": "object", "properties": {"entities": {"type": "array", "items": ENTITY}}}),
                    **_errors(400, 401, 503),
                },
                tag="graph",
                params=[
                    _query("q", {"type": "string"}),
                    _query("type", {"type": "string", "enum": list(TYPES)}),
                    _query("sort", {"type": "string", "enum": list(SORTS)}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("offset", {"type": "integer", "minimum": 0}),
                ],
            )
        },
        "/entities/{entity_id}": {
            "get": _op(
                "One entity: relations with evidence, documents, community, organisations it shares people with,"
                " faces on the same pages.",
                {"200": _json(ANY_OBJECT), **_errors(401, 404, 503)},
                tag="graph",
                params=[_path("entity_id")],
            )
        },
        "/graph/shared-people": {
            "get": _op(
                "Organisation pairs sharing people.",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 503)},
                tag="graph",
                params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
            )
        },
        "/graph/stats": {
            "get": _op(
                "Graph counts and the last analytics run.", {"200": _json(ANY_OBJECT), **_errors(401, 503)}, tag="graph"
            )
        },
        "/graph/analytics": {
            "post": _op(
                "Run PageRank, Louvain and Leiden now (admin).",
                {"200": _json(ANY_OBJECT), "202": _json(ANY_OBJECT, "queued"), **_errors(401, 403, 503)},
                tag="graph",
            )
        },
        "/health": {
            "get": _op(
                "Each backend's status and latency.",
                {"200": _json(ANY_OBJECT), "503": _json(ANY_OBJECT)},
                tag="operations",
            )
        },
        "/queue/stats": {
            "get": _op(
                "Queues, workers, failures with reasons (admin).",
                {"200": _json(ANY_OBJECT), **_errors(401, 403)},
                tag="operations",
            )
        },
        "/events/minio": {
            "post": _op(
                "S3 bucket notifications (its own token: Bearer LG_EVENTS_TOKEN or ?token=).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 503)},
                tag="operations",
                params=[_query("token", {"type": "string"})],
                body={"required": True, "content": {"application/json": {"schema": ANY_OBJECT}}},
            )
        },
        "/openapi.json": {"get": _op("This description.", {"200": _json(ANY_OBJECT)}, tag="operations")},
        "/admin/audit": {
            "get": _op(
                "Audit entries, newest first; `format=csv` downloads every match (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403)},
                tag="admin",
                params=[
                    _query("since", {"type": "string", "format": "date-time"}),
                    _query("until", {"type": "string", "format": "date-time"}),
                    _query("actor", {"type": "string"}),
                    _query("action", {"type": "string"}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
                    _query("offset", {"type": "integer", "minimum": 0}),
                    _query("format", {"type": "string", "enum": ["json", "csv"]}),
                ],
            )
        },
        "/admin/keys": {
            "get": _op(
                "API keys (never the secrets) (admin).", {"200": _json(ANY_OBJECT), **_errors(401, 403)}, tag="admin"
            ),
            "post": _op(
                "Create an API key; the answer holds the key, once (admin).",
                {"201": _json(ANY_OBJECT), "200": _json(ANY_OBJECT), **_errors(400, 401, 403, 404)},
                tag="admin",
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "role": {"type": "string", "enum": ["analyst", "admin"]},
                                    "label": {"type": "string"},
                                    "user": {"type": "string"},
                                },
                            }
                        }
                    },
                },
            ),
        },
        "/admin/keys/{key_id}": {
            "delete": _op(
                "Revoke an API key (admin).",
                {"200": _json(ANY_OBJECT), **_errors(401, 403, 404)},
                tag="admin",
                params=[_path("key_id")],
            ),
        },
        "/admin/users": {
            "get": _op("Users (admin).", {"200": _json(ANY_OBJECT), **_errors(401, 403)}, tag="admin"),
            "post": _op(
                "Add a user (admin).",
                {"201": _json(ANY_OBJECT), "200": _json(ANY_OBJECT), **_errors(400, 401, 403)},
                tag="admin",
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string", "minLength": 12},
                                    "role": {"type": "string", "enum": ["analyst", "admin"]},
                                },
                                "required": ["username", "password"],
                            }
                        }
                    },
                },
            ),
        },
        "/admin/blocks": {
            "get": _op(
                "Sign-in waits in force after failed sign-ins (admin).",
                {"200": _json(ANY_OBJECT), **_errors(401, 403)},
                tag="admin",
            ),
            "delete": _op(
                "Forget failed sign-ins of a user and/or from an address; neither: all (admin, audited).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403)},
                tag="admin",
                params=[
                    _query("user", {"type": "string", "maxLength": 64}),
                    _query("ip", {"type": "string", "maxLength": 64}),
                ],
            ),
        },
        "/admin/users/{username}": {
            "delete": _op(
                "Remove a user and revoke their keys (admin).",
                {"200": _json(ANY_OBJECT), **_errors(400, 401, 403, 404)},
                tag="admin",
                params=[_path("username")],
            ),
        },
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
