"""Access control over HTTP (issue 7), through Flask's test client on a real embedded app: every rule in the URL map
is checked, so a route added later cannot slip through without credentials."""

from __future__ import annotations

import hashlib
import io
import re
import uuid

import pytest

from clock import Clock
from conftest import api_key_headers, authorized_client
from lookingglass.errors import BadInput
from lookingglass.stores.private.accounts import AccountStore
from lookingglass.stores.private.audit import AuditLog
from lookingglass.web import create_app
from lookingglass.web.auth import ADMIN_RULES, PUBLIC_RULES, required_role

PASSWORD = "correct horse battery staple"
LOCAL_TOKEN = "the-local-token-from-server-json"


@pytest.fixture
def flask_app(app):
    return create_app(app, local_token=LOCAL_TOKEN)


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


@pytest.fixture
def accounts(settings) -> AccountStore:
    return AccountStore.open(settings.data_dir)


@pytest.fixture
def audit(settings) -> AuditLog:
    return AuditLog.open(settings.data_dir)


def placeholder_path(rule) -> str:
    """A URL the rule matches: each converter gets a value it accepts."""
    values = {"int": "1", "float": "1.5", "uuid": str(uuid.UUID(int=1)), "path": "x/y"}
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: values.get(m.group(1), "0" * 64), rule.rule)


def every_rule_and_method(flask_app):
    for rule in flask_app.url_map.iter_rules():
        for method in sorted(rule.methods):
            yield rule, method


def test_every_rule_that_is_not_public_needs_credentials(flask_app, client):
    checked = set()
    for rule, method in every_rule_and_method(flask_app):
        if rule.rule in PUBLIC_RULES:
            continue
        response = client.open(placeholder_path(rule), method=method)
        assert response.status_code == 401, (method, rule.rule, response.status_code)
        if method != "HEAD":
            assert response.get_json()["error"]["code"] == "unauthorized", (method, rule.rule)
        checked.add((method, rule.rule))

    assert {("POST", "/lookup"), ("GET", "/search"), ("POST", "/objects"), ("GET", "/")} <= checked
    assert {("DELETE", "/objects/<sha256>"), ("GET", "/admin/audit"), ("POST", "/admin/keys")} <= checked


def test_unknown_urls_and_wrong_keys_get_401_too(client, analyst_headers):
    assert client.get("/nope").status_code == 401  # nobody learns which URLs exist without credentials
    assert client.get("/nope", headers=analyst_headers).status_code == 404
    wrong = analyst_headers["Authorization"][:-2] + "xx"
    assert client.get("/search?q=a", headers={"Authorization": wrong}).status_code == 401
    assert client.get("/search?q=a", headers={"Authorization": "Basic YWxpY2U6YQ=="}).status_code == 401


def test_public_rules_answer_without_credentials_and_health_says_little(client):
    # Opening a rule to everyone is a decision: it is made here as well as in auth.py.
    assert {"/login", "/logout", "/static/<path:filename>", "/health", "/events/minio", "/openapi.json"} == PUBLIC_RULES
    health = client.get("/health")
    login = client.get("/login")
    css = client.get("/static/app.css")
    events = client.post("/events/minio", json={"Records": []})

    assert health.status_code == 200 and health.get_json() == {"ok": True}  # no paths, endpoints or latencies
    assert login.status_code == 200 and b'name="csrf_token"' in login.data
    assert css.status_code == 200
    assert events.status_code == 503  # reached the view, which checks LG_EVENTS_TOKEN itself


def test_an_analyst_gets_403_on_every_admin_rule(flask_app, client, analyst_headers):
    admin_only = set()
    for rule, method in every_rule_and_method(flask_app):
        if required_role(rule.rule, method) != "admin":
            continue
        response = client.open(placeholder_path(rule), method=method, headers=analyst_headers)
        assert response.status_code == 403, (method, rule.rule, response.status_code)
        if method != "HEAD":
            assert response.get_json()["error"]["code"] == "forbidden"
        admin_only.add((method, rule.rule))

    expected = {
        ("DELETE", "/objects/<sha256>"),
        ("GET", "/queue/stats"),
        ("GET", "/admin/audit"),
        ("GET", "/admin/keys"),
        ("POST", "/admin/keys"),
        ("DELETE", "/admin/keys/<key_id>"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
        ("DELETE", "/admin/users/<username>"),
    }
    assert expected <= admin_only
    rules = {rule.rule for rule in flask_app.url_map.iter_rules()}
    assert set(ADMIN_RULES) <= rules  # a renamed admin route must not quietly become an analyst's


def test_future_admin_and_forget_routes_are_admin_only_by_their_path():
    assert required_role("/forget", "POST") == "admin"
    assert required_role("/forget/person/<person_id>", "POST") == "admin"
    assert required_role("/admin/anything", "GET") == "admin"
    assert required_role("/entities/<entity_id>", "GET") == "analyst"
    assert required_role(None, "GET") == "analyst"
    assert required_role("/health", "GET") is None


def test_analysts_search_and_admins_manage(client, analyst_headers, admin_headers):
    assert client.get("/search?q=x", headers=analyst_headers).status_code == 200
    assert client.get("/queue/stats", headers=admin_headers).status_code == 200
    assert client.get("/queue/stats", headers={"Authorization": f"Bearer {LOCAL_TOKEN}"}).status_code == 200


def test_a_browser_without_a_session_is_sent_to_sign_in(client):
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    script = client.get("/search?q=x", headers={"Accept": "*/*"})  # what fetch() sends

    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/"
    assert script.status_code == 401 and script.get_json()["error"]["code"] == "unauthorized"


# Sessions: sign in, CSRF, sign out


def csrf_from(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def sign_in(client, username: str, password: str, next_page: str = "/", address: str = "127.0.0.1"):
    where = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=where).data)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_page},
        environ_base=where,
    )


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(client, accounts, audit):
    accounts.add_user("alice", PASSWORD, "analyst")

    wrong = sign_in(client, "alice", "not the password at all")
    right = sign_in(client, "alice", PASSWORD, next_page="/?from=login")
    cookie = client.get_cookie("lg_session")
    page = client.get("/")
    stolen = cookie.value
    signed_out = client.post("/logout", data={"csrf_token": csrf_from(page.data)})
    after = client.get("/search?q=x")
    client.set_cookie("lg_session", stolen)  # the old cookie, replayed: its server-side session is gone
    replayed = client.get("/search?q=x")

    assert wrong.status_code == 401 and b"Wrong username or password" in wrong.data
    assert right.status_code == 303 and right.headers["Location"] == "/?from=login"
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    assert page.status_code == 200 and b'id="search-form"' in page.data
    assert signed_out.status_code == 303 and signed_out.headers["Location"] == "/login"
    assert after.status_code == 401
    assert replayed.status_code == 401
    assert [e.action for e in audit.entries(actor="alice")] == ["logout", "login", "login_failed"]


def test_sign_in_goes_only_to_pages_of_this_site(client, accounts):
    accounts.add_user("alice", PASSWORD, "analyst")

    response = sign_in(client, "alice", PASSWORD, next_page="//evil.example/")

    assert response.headers["Location"] == "/"


def test_the_session_cookie_is_secure_over_https(flask_app, accounts):
    accounts.add_user("alice", PASSWORD, "analyst")
    client = flask_app.test_client()
    token = csrf_from(client.get("/login", base_url="https://localhost").data)

    client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
    )

    assert client.get_cookie("lg_session").secure


def test_sign_in_needs_the_login_pages_csrf_token(client, accounts):
    accounts.add_user("alice", PASSWORD, "analyst")
    client.get("/login")

    response = client.post("/login", data={"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert client.get("/search?q=x").status_code == 401


def test_a_session_post_needs_the_csrf_token(client, accounts, test_images):
    accounts.add_user("alice", PASSWORD, "analyst")
    sign_in(client, "alice", PASSWORD)
    token = csrf_from(client.get("/").data)
    photo = (test_images / "obama.jpg").read_bytes()

    def lookup(**headers):
        data = {"image": (io.BytesIO(photo), "obama.jpg")}
        return client.post("/lookup", data=data, headers=headers, content_type="multipart/form-data")

    refused = lookup()
    wrong = lookup(**{"X-CSRF-Token": "x" * len(token)})
    accepted = lookup(**{"X-CSRF-Token": token})

    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert wrong.status_code == 403
    assert accepted.status_code == 200 and len(accepted.get_json()["faces"]) == 1


def test_an_attacker_cannot_lock_the_admin_out(flask_app, accounts, audit):
    """Issue 11: five wrong passwords for `admin` from anywhere used to block the admin for 15 minutes. Now the
    guessing address waits longer after each failure; the admin, from their own address, signs in at once."""
    accounts.add_user("admin", PASSWORD, "admin")
    store = flask_app.extensions["lookingglass.stores.private.accounts"]
    store.clock = clock = Clock()
    attacker, real_admin = flask_app.test_client(), flask_app.test_client()
    statuses, waits = [], []
    for i in range(12):
        response = sign_in(attacker, "admin", f"guess number {i:02d}", address="203.0.113.9")
        statuses.append(response.status_code)
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(waits[-1])  # the attacker waits it out and guesses again
    right_password_there = sign_in(attacker, "admin", PASSWORD, address="203.0.113.9")
    from_home = sign_in(real_admin, "admin", PASSWORD, address="198.51.100.4")

    assert statuses == [401, 401, 401, 401, 429, 401, 429, 401, 429, 401, 429, 401]
    assert waits == [1, 2, 4, 8]  # growing, and never a lock: each wait ends by itself
    assert right_password_there.status_code == 429 and b"Try again in 16 seconds" in right_password_there.data
    assert from_home.status_code == 303
    refused = [e for e in audit.entries(action="login_failed") if e.status == 429]
    assert len(refused) == 5 and {(e.ip, e.target) for e in refused} == {("203.0.113.9", "throttled: address+user")}


def test_admins_see_and_clear_sign_in_waits(flask_app, accounts, audit):
    accounts.add_user("admin", PASSWORD, "admin")
    flask_app.extensions["lookingglass.stores.private.accounts"].clock = Clock()
    attacker, real_admin = flask_app.test_client(), flask_app.test_client()
    for i in range(5):
        sign_in(attacker, "admin", f"guess number {i:02d}", address="203.0.113.9")
    sign_in(real_admin, "admin", PASSWORD, address="198.51.100.4")
    token = csrf_from(real_admin.get("/").data)

    listed = real_admin.get("/admin/blocks").get_json()["blocks"]
    cleared = real_admin.delete("/admin/blocks?ip=203.0.113.9", headers={"X-CSRF-Token": token})
    after = real_admin.get("/admin/blocks").get_json()["blocks"]
    retried = sign_in(attacker, "admin", "guess number 99", address="203.0.113.9")

    assert listed == [
        {
            "scope": "address+user",
            "username": "admin",
            "ip": "203.0.113.9",
            "failures": 4,
            "until": "2030-01-01T00:00:01+00:00",
            "retry_after": 1.0,
        }
    ]
    assert cleared.status_code == 200 and cleared.get_json() == {"cleared": 4}
    assert after == [] and retried.status_code == 401
    (entry,) = audit.entries(action="blocks_cleared")
    assert (entry.actor, entry.target, entry.results) == ("admin", "user=* ip=203.0.113.9", 4)


# Rate limit, audit, admin routes, headers


def test_lookups_are_rate_limited_per_principal(app, settings, analyst_headers):
    app.settings = app.settings.with_(lookup_rate="2/minute")
    client = create_app(app, local_token=LOCAL_TOKEN).test_client()
    other = api_key_headers(settings, "analyst")

    def lookup(headers):
        data = {"image": (io.BytesIO(b"not an image"), "x.jpg")}  # the limit applies before the photo is read
        return client.post("/lookup", data=data, headers=headers, content_type="multipart/form-data")

    allowed = [lookup(analyst_headers).status_code for _ in range(2)]
    limited = lookup(analyst_headers)

    assert allowed == [400, 400]
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert lookup(other).status_code == 400  # another key has its own allowance
    assert lookup({"Authorization": f"Bearer {LOCAL_TOKEN}"}).status_code == 400  # the local CLI is not limited


def test_refused_attempts_of_known_callers_are_audited(app, settings, audit, accounts):
    app.settings = app.settings.with_(lookup_rate="1/minute")
    client = create_app(app, local_token=LOCAL_TOKEN).test_client()
    analyst = api_key_headers(settings, "analyst")

    def lookup(headers=analyst):
        data = {"image": (io.BytesIO(b"not an image"), "x.jpg")}
        return client.post("/lookup", data=data, headers=headers, content_type="multipart/form-data")

    statuses = [
        client.get("/admin/audit", headers=analyst).status_code,  # an analyst on an admin route
        lookup().status_code,
        lookup().status_code,  # over the allowance
        client.get("/admin/users", headers={"Authorization": "Bearer lg_not_a_key"}).status_code,  # nobody known
    ]
    accounts.add_user("alice", PASSWORD, "analyst")
    sign_in(client, "alice", PASSWORD)
    statuses.append(lookup(headers={}).status_code)  # her session's form post without the CSRF token
    statuses.append(client.get("/admin/users", headers={"Accept": "text/html"}).status_code)  # her browser

    assert statuses == [403, 400, 429, 401, 403, 403]
    denied = [(e.role, e.target, e.status) for e in audit.entries(action="denied")][::-1]
    assert denied == [
        ("analyst", "GET /admin/audit", 403),
        ("analyst", "POST /lookup", 429),
        ("analyst", "POST /lookup", 403),
        ("analyst", "GET /admin/users", 403),
    ]
    assert {e.actor for e in audit.entries(action="denied")} == {
        AccountStore.open(settings.data_dir).principal_for_key(analyst["Authorization"].removeprefix("Bearer ")).name,
        "alice",
    }


def test_a_bad_rate_setting_is_refused_at_start(app):
    with pytest.raises(BadInput, match="LG_LOOKUP_RATE"):
        app.settings.with_(lookup_rate="lots")


def test_lookups_searches_uploads_and_forgets_are_audited(app, settings, audit, test_images):
    analyst = api_key_headers(settings, "analyst")
    admin = api_key_headers(settings, "admin")
    client = authorized_client(app, analyst)
    stored = (test_images / "obama.jpg").read_bytes()
    query = (test_images / "obama2.jpg").read_bytes()

    upload = client.post("/objects", data={"file": (io.BytesIO(stored), "o.jpg")}, content_type="multipart/form-data")
    found = client.post("/lookup", data={"image": (io.BytesIO(query), "q.jpg")}, content_type="multipart/form-data")
    client.get("/search", query_string={"q": "treasury secretary"})
    sha = upload.get_json()["objects"][0]["sha256"]
    client.delete(f"/objects/{sha}", headers=admin)

    forget, search, lookup, uploaded = audit.entries()
    who = AccountStore.open(settings.data_dir).principal_for_key(analyst["Authorization"].removeprefix("Bearer "))
    assert len(found.get_json()["faces"][0]["matches"]) == 1
    assert (lookup.action, lookup.actor, lookup.role) == ("lookup", who.name, "analyst")
    assert lookup.query_sha256 == hashlib.sha256(query).hexdigest() and lookup.results == 1
    assert lookup.query is None and lookup.ip == "127.0.0.1"
    assert (search.action, search.query, search.results) == ("search", "treasury secretary", 0)
    assert (uploaded.action, uploaded.query_sha256) == ("upload", hashlib.sha256(stored).hexdigest())
    assert (forget.action, forget.target, forget.results, forget.role) == ("forget", sha, 1, "admin")
    assert query[:4096] not in audit.path.read_bytes()  # a hash of the photo, never the photo


def test_admins_browse_and_export_the_audit_log(admin_client, audit):
    audit.record("alice", "analyst", "search", query="treasury", results=2)
    audit.record("bob", "analyst", "lookup", query_sha256="ab" * 32, results=1)

    page = admin_client.get("/admin/audit", query_string={"action": "search"})
    paged = admin_client.get("/admin/audit", query_string={"limit": 1})
    download = admin_client.get("/admin/audit", query_string={"format": "csv"})
    bad = admin_client.get("/admin/audit", query_string={"since": "last tuesday"})

    (entry,) = page.get_json()["entries"]
    assert entry["actor"] == "alice" and entry["query"] == "treasury"
    assert [e["actor"] for e in paged.get_json()["entries"]] == ["bob"]
    assert page.headers["Cache-Control"] == "no-store"
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = download.get_data(as_text=True).splitlines()
    assert rows[0].startswith("id,at,actor,role,action") and len(rows) == 3
    assert download.headers["Cache-Control"] == "no-store"
    assert bad.status_code == 400


def test_admins_create_and_revoke_keys_and_users(admin_client, client, audit):
    created = admin_client.post("/admin/keys", json={"role": "analyst", "label": "notebook"})
    key = created.get_json()["key"]
    listed = admin_client.get("/admin/keys").get_data(as_text=True)
    works = client.get("/search?q=x", headers={"Authorization": f"Bearer {key}"})
    admin_client.delete(f"/admin/keys/{created.get_json()['id']}")
    revoked = client.get("/search?q=x", headers={"Authorization": f"Bearer {key}"})

    added = admin_client.post("/admin/users", json={"username": "carol", "password": PASSWORD, "role": "analyst"})
    short = admin_client.post("/admin/users", json={"username": "dave", "password": "short", "role": "analyst"})
    users = [u["username"] for u in admin_client.get("/admin/users").get_json()["users"]]
    removed = admin_client.delete("/admin/users/carol")
    missing = admin_client.delete("/admin/users/carol")

    assert created.status_code == 201 and key.startswith("lg_")
    assert key not in listed
    assert works.status_code == 200 and revoked.status_code == 401
    assert added.status_code == 201 and short.status_code == 400 and users == ["carol"]
    assert removed.status_code == 200 and missing.status_code == 404
    actions = [e.action for e in audit.entries()]
    assert actions == ["user_removed", "user_added", "key_revoked", "search", "key_created"]


def test_admins_disable_users_set_passwords_and_verify_the_audit_chain(admin_client, accounts, audit):
    """What the CLI's users disable/enable/passwd and audit verify do through serve, as routes of their own."""
    admin_client.post("/admin/users", json={"username": "carol", "password": PASSWORD, "role": "analyst"})

    disabled = admin_client.patch("/admin/users/carol", json={"disabled": True})
    signed_in_while_disabled = accounts.verify_password("carol", PASSWORD)
    enabled = admin_client.patch("/admin/users/carol", json={"disabled": False})
    changed = admin_client.put("/admin/users/carol/password", json={"password": "a new long passphrase"})
    short = admin_client.put("/admin/users/carol/password", json={"password": "short"})
    nobody = admin_client.patch("/admin/users/nobody", json={"disabled": True})
    verified = admin_client.get("/admin/audit/verify")
    oldest = admin_client.get("/admin/audit", query_string={"order": "oldest", "limit": 2})

    assert disabled.status_code == 200 and disabled.get_json()["disabled"] is True
    assert signed_in_while_disabled is None
    assert enabled.get_json()["disabled"] is False and changed.get_json()["username"] == "carol"
    assert accounts.verify_password("carol", "a new long passphrase") is not None
    assert short.status_code == 400 and "password" in short.get_json()["error"]["message"]
    assert nobody.status_code == 404
    assert verified.status_code == 200 and verified.get_json()["ok"] and verified.get_json()["entries"] == 4
    assert [e["action"] for e in oldest.get_json()["entries"]] == ["user_added", "user_disabled"]
    actions = [e.action for e in audit.entries()]
    assert actions == ["password_changed", "user_enabled", "user_disabled", "user_added"]


def test_security_headers(client, analyst_headers):
    api = client.get("/search?q=x", headers=analyst_headers)
    secure = client.get("/search?q=x", headers=analyst_headers, base_url="https://localhost")
    page = client.get("/login")

    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["X-Content-Type-Options"] == "nosniff" and api.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in api.headers
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert b"<script" not in page.data and b"style=" not in page.data  # the CSP allows neither inline
