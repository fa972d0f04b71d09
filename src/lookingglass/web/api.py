"""JSON API. Errors are `{"error": {"code", "message"}}` (mapped once in the app factory)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from lookingglass.app import App
from lookingglass.errors import BadInput
from lookingglass.web.auth import current_principal

api = Blueprint("api", __name__)


def _app() -> App:
    return current_app.extensions["lookingglass"]


@api.get("/health")
def health():
    app = _app()
    started = time.perf_counter()
    checks = app.health()
    ok = all(c.get("ok") for c in checks.values())
    if current_principal() is None:  # public for healthchecks; paths, endpoints and latencies only for users
        return jsonify({"ok": ok}), 200 if ok else 503
    body = {
        "ok": ok,
        "backends": checks,
        "embedder": app.settings.embedder,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return jsonify(body), 200 if ok else 503


@api.get("/queue/stats")
def queue_stats():
    return jsonify(_app().queue.stats())


@api.post("/events/minio")
def minio_events():
    """Bucket notifications (MinIO webhook target, Ceph RGW push endpoint): a shared token is required."""
    import hmac

    from lookingglass.errors import Unauthorized, Unavailable
    from lookingglass.pipeline.events import dispatch, parse_events

    app = _app()
    expected = app.settings.events_token
    if not expected:
        raise Unavailable(
            "bucket notifications are off: set LG_EVENTS_TOKEN (and the same token in the bucket's target)"
        )
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("wrong or missing events token")
    doc = request.get_json(force=True, silent=True)
    if doc is None:
        raise BadInput("the notification body must be JSON")
    return jsonify({"events": dispatch(app, parse_events(doc))})
