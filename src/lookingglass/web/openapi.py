"""`GET /openapi.json`: generated from the typed routes (flask-openapi3 + the services' pydantic models).

Nothing here describes a route by hand: each route's parameters, body and answers come from its models. This module
adds what every operation shares — the error answers any route can give, as our one error body, and how callers
authenticate. A test enumerates the app's URL map and fails when a JSON route is missing from the document, another
checks every JSON answer the test suite receives against it (web/answers.py), and a bounded schemathesis run over it
expects no 5xx.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify

from lookingglass import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_TEXT = {
    400: "bad input",
    401: "no credentials",
    403: "not allowed for this role",
    404: "not found",
    413: "too large",
    429: "rate limited",
    503: "a backend is unavailable",
}
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
THIS_DOCUMENT = {
    "get": {
        "summary": "This description.",
        "tags": ["operations"],
        "security": [],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }
}


def spec(flask_app) -> dict:
    """The whole description: what the typed routes generate, each operation with the shared error answers."""
    generated = flask_app.api_doc
    paths: dict[str, dict] = {"/openapi.json": {"get": _with_errors(THIS_DOCUMENT["get"])}}
    for path, ops in generated.get("paths", {}).items():
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
    for code, text in ERROR_TEXT.items():
        described = responses.get(str(code))
        if described is None or "ValidationErrorModel" in json.dumps(described):  # the library's, not our body
            responses[str(code)] = {"description": text, "content": {"application/json": {"schema": ERROR}}}
    op["responses"] = responses
    return op


openapi_api = Blueprint("openapi_api", __name__)


@openapi_api.get("/openapi.json")
def openapi_json():
    return jsonify(spec(current_app))
