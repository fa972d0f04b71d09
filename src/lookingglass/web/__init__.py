"""Flask app factory: `create_app(app)` receives the wired ports and adds the HTTP surface."""

from __future__ import annotations

import hmac

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from lookingglass.app import App
from lookingglass.errors import LookingGlassError, Unauthorized


def create_app(app: App, *, local_token: str | None = None) -> Flask:
    """A Flask app over `app`. `local_token` (from server.json) authorises the CLI on the same machine."""
    flask_app = Flask(__name__)
    flask_app.config["MAX_CONTENT_LENGTH"] = app.settings.max_upload_bytes + 1024 * 1024
    flask_app.extensions["lookingglass"] = app
    flask_app.extensions["lookingglass.local_token"] = local_token

    from lookingglass.web.api import api
    from lookingglass.web.views import views

    flask_app.register_blueprint(api)
    flask_app.register_blueprint(views)

    @flask_app.errorhandler(LookingGlassError)
    def _our_error(exc: LookingGlassError):
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.http_status

    @flask_app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": exc.description}}), exc.code

    @flask_app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'"
        )
        return response

    return flask_app


def require_local_token() -> None:
    """Routes the CLI uses to act on the owner's behalf check the local token when one is set."""
    from flask import current_app

    expected = current_app.extensions.get("lookingglass.local_token")
    if not expected:
        return
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("this route needs the local token from server.json (Authorization: Bearer ...)")
