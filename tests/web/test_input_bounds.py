"""Input bounds (issue 11): every query parameter, form field and named URL part has a length bound, checked before
any view runs (web/params.check_lengths), so an absurd value is a 400 with the error JSON, never a 503 from deep
inside SQLite and never work done first. Through Flask's test client on a real embedded app, as the local CLI (an
admin, no CSRF), so the bound and not the policy is what answers."""

from __future__ import annotations

import pytest
from test_auth import LOCAL_TOKEN, placeholder_path

from lookingglass.web import create_app
from lookingglass.web.params import MAX_LENGTHS, MAX_PATH_VALUE, MAX_VALUE

LONG = "x" * 100_000
ADMIN = {"Authorization": f"Bearer {LOCAL_TOKEN}"}


@pytest.fixture
def flask_app(app):
    return create_app(app, local_token=LOCAL_TOKEN)


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


def every_route(flask_app):
    for rule in flask_app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, placeholder_path(rule)


def refused(response, message: str) -> bool:
    return response.status_code == 400 and response.get_json() == {"error": {"code": "bad_input", "message": message}}


def test_an_overlong_audit_filter_is_a_400_not_a_503(client):
    response = client.get("/admin/audit", query_string={"actor": LONG}, headers=ADMIN)

    assert refused(response, "'actor' has at most 200 characters, got 100,000")


def test_every_route_refuses_an_overlong_query_parameter_before_its_view(flask_app, client, app):
    checked = []
    for method, path in every_route(flask_app):
        response = client.open(path, method=method, query_string={"q": LONG}, headers=ADMIN)
        assert refused(response, "'q' has at most 1,000 characters, got 100,000"), (method, path, response.data[:200])
        checked.append((method, path))

    assert ("GET", "/admin/audit") in checked and ("POST", "/login") in checked and len(checked) > 30


def test_every_route_that_takes_a_form_refuses_an_overlong_field(flask_app, client):
    for method, path in every_route(flask_app):
        if method == "GET":
            continue
        response = client.open(path, method=method, data={"note": LONG}, headers=ADMIN)
        assert refused(response, "'note' has at most 1,000 characters, got 100,000"), (method, path)


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/search", "q"),
        ("GET", "/search", "kind"),
        ("GET", "/entities", "q"),
        ("GET", "/entities", "sort"),
        ("GET", "/admin/audit", "since"),
        ("GET", "/admin/audit", "action"),
        ("DELETE", "/admin/blocks", "user"),
        ("DELETE", "/admin/blocks", "ip"),
        ("POST", "/login", "username"),
        ("POST", "/login", "password"),
        ("POST", "/objects", "source_url"),
        ("POST", "/objects", "page_title"),
        ("POST", "/forget/person", "face_ids"),
    ],
)
def test_each_named_field_has_its_own_bound(client, method, path, field):
    bound = MAX_LENGTHS.get(field, MAX_VALUE)
    where = {"query_string": {field: "x" * (bound + 1)}} if method in ("GET", "DELETE") else {}
    where = where or {"data": {field: "x" * (bound + 1)}}

    response = client.open(path, method=method, headers=ADMIN, **where)

    assert refused(response, f"'{field}' has at most {bound:,} characters, got {bound + 1:,}")


def test_an_overlong_url_part_or_parameter_name_is_refused(client):
    entity = client.get("/entities/" + "e" * (MAX_PATH_VALUE + 1), headers=ADMIN)
    name = client.get("/search", query_string={"n" * 65: "x"}, headers=ADMIN)

    assert refused(entity, f"the URL's entity_id has at most {MAX_PATH_VALUE} characters, got {MAX_PATH_VALUE + 1}")
    assert refused(name, "a parameter name has at most 64 characters, got 65")


def test_values_within_their_bounds_still_work(client):
    search = client.get("/search", query_string={"q": "y" * 1000}, headers=ADMIN)
    audit = client.get("/admin/audit", query_string={"actor": "a" * 200}, headers=ADMIN)

    assert search.status_code == 200 and audit.status_code == 200 and audit.get_json()["entries"] == []


def test_an_overlong_key_label_is_refused_and_no_key_is_made(client):
    response = client.post("/admin/keys", json={"role": "analyst", "label": "l" * 201}, headers=ADMIN)

    assert refused(response, "a key's label has at most 200 characters, got 201")
    assert client.get("/admin/keys", headers=ADMIN).get_json() == {"keys": []}
