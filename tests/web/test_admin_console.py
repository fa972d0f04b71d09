"""The admin console's server side: its pages share the URLs of the JSON routes they read (a browser navigating
gets the page, a script the JSON, a CSV download stays a CSV), analysts are told it is not theirs, and the one
operation the console needed that the API lacked, changing a user's role, on every surface."""

from __future__ import annotations

import json

from cli_process import run_cli
from lookingglass.stores.private.accounts import AccountStore
from lookingglass.stores.private.audit import AuditLog

PASSWORD = "correct horse battery staple"
PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what Chromium sends
JSON = {"Accept": "application/json"}


def test_a_browser_gets_each_admin_page_and_a_script_the_json_of_the_same_url(admin_client):
    pages = {
        path: admin_client.get(path, headers=PAGE)
        for path in ("/admin", "/admin/users", "/admin/keys", "/admin/audit", "/admin/erasure")
    }
    users = admin_client.get("/admin/users", headers=JSON)
    audit = admin_client.get("/admin/audit?action=user_added", headers=JSON)
    download = admin_client.get("/admin/audit?format=csv&action=user_added", headers=PAGE)  # a link's download

    for path, page in pages.items():
        assert page.status_code == 200 and page.mimetype == "text/html", path
        assert b'<nav class="admin-tabs" aria-label="Admin">' in page.data, path
        assert b"<script>" not in page.data and b"style=" not in page.data, path  # the CSP allows neither inline
    assert b"admin_users.js" in pages["/admin/users"].data and b"admin_audit.js" in pages["/admin/audit"].data
    assert "Accept" in pages["/admin/users"].headers["Vary"] and "Accept" in users.headers["Vary"]
    assert users.mimetype == "application/json" and "users" in users.get_json()
    assert audit.get_json()["entries"] == []
    assert download.mimetype == "text/csv" and download.get_data(as_text=True).startswith("id,at,actor")


def test_an_analyst_browsing_to_the_admin_console_is_told_it_is_for_admins(analyst_client):
    for path in ("/admin", "/admin/users", "/admin/erasure"):
        page = analyst_client.get(path, headers=PAGE)
        assert page.status_code == 403 and b"admin role" in page.data, path
    assert analyst_client.get("/admin/users", headers=JSON).status_code == 403


def test_admins_change_a_users_role_and_it_is_audited(admin_client, settings):
    accounts = AccountStore.open(settings.data_dir)
    accounts.add_user("root", PASSWORD, "admin")
    admin_client.post("/admin/users", json={"username": "carol", "password": PASSWORD, "role": "analyst"})

    promoted = admin_client.put("/admin/users/carol/role", json={"role": "admin"})
    demoted = admin_client.put("/admin/users/carol/role", json={"role": "analyst"})
    last = admin_client.put("/admin/users/root/role", json={"role": "analyst"})
    nobody = admin_client.put("/admin/users/nobody/role", json={"role": "admin"})
    wrong = admin_client.put("/admin/users/carol/role", json={"role": "owner"})

    assert promoted.status_code == 200 and promoted.get_json()["role"] == "admin"
    assert demoted.get_json() == {**promoted.get_json(), "role": "analyst"}
    assert last.status_code == 400 and "last admin" in last.get_json()["error"]["message"]
    assert nobody.status_code == 404 and wrong.status_code == 400
    assert accounts.user("root").role == "admin"
    changes = AuditLog.open(settings.data_dir).entries(action="role_changed")
    assert [e.target for e in changes] == ["carol: analyst", "carol: admin"]


def test_cli_changes_a_users_role(tmp_path):
    data_dir = tmp_path / "data"
    AccountStore.open(data_dir).add_user("alice", PASSWORD, "analyst")

    promoted = run_cli(data_dir, "users", "role", "alice", "admin")
    listed = run_cli(data_dir, "users", "list", "--json")
    last = run_cli(data_dir, "users", "role", "alice", "analyst")

    assert promoted.returncode == 0 and promoted.stdout.strip() == "alice is now an admin", promoted.stderr
    assert json.loads(listed.stdout)[0]["role"] == "admin"
    assert last.returncode == 2 and "last admin" in last.stderr
    (entry,) = AuditLog.open(data_dir).entries(action="role_changed")
    assert entry.actor.startswith("cli") and entry.target == "alice: admin"
