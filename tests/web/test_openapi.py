"""`GET /openapi.json` describes every JSON route, and a bounded schemathesis run over it finds no server error."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from lookingglass.web import create_app
from lookingglass.web.openapi import spec

PAGES = ("views.", "auth.")  # HTML pages and the sign-in form: not part of the JSON API
SKIPPED_RULES = {"/static/<path:filename>"}


def json_routes(flask_app) -> set[tuple[str, str]]:
    routes = set()
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint.startswith(PAGES) or rule.rule in SKIPPED_RULES:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_every_json_route_is_described(app):
    flask_app = create_app(app)
    described = {(path, method) for path, ops in spec(flask_app)["paths"].items() for method in ops}
    assert json_routes(flask_app) - described == set()  # a new route must be described
    assert described - json_routes(flask_app) == set()  # and nothing described that does not exist


def test_the_description_is_served_without_credentials_and_is_valid(app):
    body = create_app(app).test_client().get("/openapi.json").get_json()
    assert body["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(body)  # raises on an invalid document


@pytest.fixture
def fuzzed_app(app, admin_headers):
    return create_app(app), admin_headers


def test_a_bounded_fuzz_run_finds_no_server_error(fuzzed_app):
    flask_app, headers = fuzzed_app
    schema = schemathesis.openapi.from_wsgi("/openapi.json", flask_app)
    failures: list[str] = []
    calls: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            calls.append(f"{case.method.upper()} {case.path}")
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # an exception escaping the app would be a 500 for a real client
                failures.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}"[:400])
                return
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

        check()
    assert failures == [], "\n".join(sorted(set(failures)))
    called = {tuple(c.split(" ", 1)) for c in calls}
    # Every operation was really called (schemathesis leaves out the schema's own URL when loading it from the app).
    assert {(m.upper(), p) for p, m in spec_operations(flask_app)} - {("GET", "/openapi.json")} == called
    assert len(calls) > 3 * len(set(calls))


def spec_operations(flask_app) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in spec(flask_app)["paths"].items() for method in ops}
