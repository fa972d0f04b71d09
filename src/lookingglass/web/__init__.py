"""Flask app factory: `create_app(app)` receives the wired ports and adds the HTTP surface."""

from __future__ import annotations

import math

from flask import Flask, jsonify
from flask_openapi3 import Info, OpenAPI
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from lookingglass import __version__
from lookingglass.app import App
from lookingglass.errors import LookingGlassError

CHECK_ANSWERS = False  # the test suite sets this: every JSON answer is checked against /openapi.json


def create_app(app: App, *, local_token: str | None = None, check_answers: bool | None = None) -> Flask:
    """A Flask app over `app`. `local_token` (from server.json) authorises the CLI on the same machine.
    Every route needs credentials unless web/auth.py lists it as public.

    Typed routes (flask-openapi3) parse their query, form and body into the services' pydantic models; a value that
    does not fit is a 400 with our error body, and `/openapi.json` is generated from the same models."""
    flask_app = OpenAPI(
        __name__,
        info=Info(title="LookingGlass", version=__version__),
        doc_ui=False,  # no bundled UI: /openapi.json is served by web/openapi.py, offline
        validation_error_status=400,
        validation_error_callback=_bad_request,
    )
    flask_app.config["MAX_CONTENT_LENGTH"] = app.settings.max_upload_bytes + 1024 * 1024
    flask_app.extensions["lookingglass"] = app
    flask_app.extensions["lookingglass.local_token"] = local_token

    from lookingglass.web import auth
    from lookingglass.web.openapi import openapi_api
    from lookingglass.web.routes import blueprints
    from lookingglass.web.views import views

    auth.install(flask_app, app)
    flask_app.register_blueprint(auth.auth)
    flask_app.register_blueprint(openapi_api)
    flask_app.register_blueprint(views)
    for blueprint in blueprints():
        flask_app.register_api(blueprint)

    @flask_app.errorhandler(LookingGlassError)
    def _our_error(exc: LookingGlassError):
        retry_after = getattr(exc, "retry_after", None)  # RateLimited, and Unavailable when the pool is full
        headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.http_status, headers

    @flask_app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 404 and auth.wants_a_page():  # a browser at an unknown URL: a page with the navigation
            from lookingglass.web.views import not_found_page

            return not_found_page()
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

    if CHECK_ANSWERS if check_answers is None else check_answers:
        from lookingglass.web import answers

        answers.install(flask_app)
    return flask_app


def _bad_request(exc: ValidationError):
    """A request that does not fit its route's model: our one error body, naming the first bad field."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "request"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    body = {"error": {"code": "bad_input", "message": f"{where}: {error['msg']}{more}"}}
    response = jsonify(body)  # a Response, not a (body, status) tuple: flask-openapi3 abort()s with it
    response.status_code = 400
    return response
