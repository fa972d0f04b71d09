"""A check the test suite turns on: every JSON answer must match the generated description of its route.

Installed by `create_app(..., check_answers=True)`. An answer whose route, method or status is not described, or
whose body does not validate against the described schema, becomes a 500 with the reason, so a test that receives
it fails and says where the code and its description parted.
"""

from __future__ import annotations

import json
import re

from flask import Flask, Response, request


def install(flask_app: Flask) -> None:
    from jsonschema_rs import Draft202012Validator  # comes with schemathesis (dev): only tests turn this on

    from lookingglass.web.openapi import spec

    validators: dict[tuple[str, str, str], Draft202012Validator | None] = {}
    document: dict = {}

    def validator(path: str, method: str, status: str) -> Draft202012Validator | None:
        key = (path, method, status)
        if key not in validators:
            if not document:
                document.update(spec(flask_app))
            op = document["paths"].get(path, {}).get(method)
            if op is None:
                raise LookupError(f"{method.upper()} {path} is not described in /openapi.json")
            answer = op["responses"].get(status)
            if answer is None:
                raise LookupError(f"{method.upper()} {path} answered {status}, which is not described")
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                raise LookupError(f"{method.upper()} {path} {status} is described without a JSON body")
            validators[key] = Draft202012Validator({**schema, "components": document["components"]})
        return validators[key]

    @flask_app.after_request
    def _check(response: Response) -> Response:
        if response.mimetype != "application/json" or request.url_rule is None or request.method in ("HEAD", "OPTIONS"):
            return response
        rule = request.url_rule.rule
        if rule.startswith("/static/") or (request.url_rule.endpoint or "").startswith(("views.", "auth.")):
            return response
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
        try:
            body = json.loads(response.get_data())
            check = validator(path, request.method.lower(), str(response.status_code))
            errors = list(check.iter_errors(body)) if check else []
            if errors:
                where = "/".join(str(p) for p in errors[0].instance_path) or "(the body)"
                raise LookupError(f"{request.method} {path} {response.status_code}: at {where}: {errors[0].message}")
        except (LookupError, ValueError) as exc:
            failed = Response(json.dumps({"error": {"code": "undescribed_answer", "message": str(exc)[:2000]}}))
            failed.status_code, failed.mimetype = 500, "application/json"
            return failed
        return response
