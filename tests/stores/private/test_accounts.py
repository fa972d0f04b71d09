"""Users, API keys, sessions, sign-in throttling, the first admin, the audit log's store, and the CLI commands that
manage them — on real SQLite files in a temp data dir, the CLI as a real subprocess."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests

from cli_process import run_cli
from clock import Clock
from lookingglass.errors import BadInput, NotFound
from lookingglass.stores.private.accounts import AccountStore, ensure_first_admin
from lookingglass.stores.private.audit import AuditLog
from serve_process import running_serve
from waiting import wait_for

KEY = re.compile(r"lg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore.open(tmp_path / "data")


def file_bytes(path: Path) -> bytes:
    """The database and its write-ahead log: what someone who copies the data dir gets."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_a_user_signs_in_with_their_password_and_nothing_else(store):
    store.add_user("Alice", PASSWORD, "analyst")

    user = store.verify_password("alice", PASSWORD)

    assert user is not None and user.username == "alice" and user.role == "analyst"
    assert store.verify_password("alice", PASSWORD + "!") is None
    assert store.verify_password("bob", PASSWORD) is None


def test_passwords_are_stored_as_salted_scrypt_hashes(store):
    store.add_user("alice", PASSWORD, "analyst")
    store.add_user("bob", PASSWORD, "analyst")

    with sqlite3.connect(store.path) as db:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]

    assert PASSWORD.encode() not in file_bytes(store.path)
    assert all(h.startswith("scrypt$") for h in hashes)
    assert hashes[0] != hashes[1]  # per-user salt


@pytest.mark.parametrize(
    ("name", "password", "role"),
    [
        ("alice", "short", "analyst"),
        ("alice", PASSWORD, "root"),
        ("no spaces", PASSWORD, "analyst"),
        ("", PASSWORD, "admin"),
    ],
)
def test_bad_users_are_refused(store, name, password, role):
    with pytest.raises(BadInput):
        store.add_user(name, password, role)


def test_a_username_is_taken_once(store):
    store.add_user("alice", PASSWORD, "analyst")
    with pytest.raises(BadInput, match="exists"):
        store.add_user("ALICE", PASSWORD, "admin")


def test_an_unknown_username_costs_as_much_as_a_wrong_password(store):
    store.add_user("alice", PASSWORD, "analyst")

    def timed(name: str) -> float:
        started = time.perf_counter()
        store.verify_password(name, "wrong password here")
        return time.perf_counter() - started

    wrong = statistics.median(timed("alice") for _ in range(5))
    unknown = statistics.median(timed("nobody") for _ in range(5))

    assert unknown > wrong / 2  # both run scrypt (tens of ms); skipping it would be ~1000x faster


def test_a_disabled_user_cannot_sign_in_until_enabled(store):
    store.add_user("admin", PASSWORD, "admin")
    store.add_user("alice", PASSWORD, "analyst")

    store.set_disabled("alice", True)
    refused = store.verify_password("alice", PASSWORD)
    store.set_disabled("alice", False)

    assert refused is None
    assert store.verify_password("alice", PASSWORD) is not None


def test_the_last_admin_can_be_neither_removed_nor_disabled(store):
    store.add_user("root", PASSWORD, "admin")

    with pytest.raises(BadInput, match="last admin"):
        store.remove_user("root")
    with pytest.raises(BadInput, match="last admin"):
        store.set_disabled("root", True)
    store.add_user("second", PASSWORD, "admin")
    store.remove_user("root")

    assert [u.username for u in store.users()] == ["second"]
    with pytest.raises(NotFound):
        store.remove_user("root")


def test_a_role_change_holds_at_once_for_sessions_and_keys_but_never_demotes_the_last_admin(store):
    store.add_user("root", PASSWORD, "admin")
    store.add_user("alice", PASSWORD, "analyst")
    session = store.start_session("alice")

    promoted = store.set_role("alice", "admin")
    _, key = store.create_key("admin", owner="alice")
    as_admin = (store.principal_for_session(session).role, store.principal_for_key(key).role)
    store.set_role("alice", "analyst")
    as_analyst = (store.principal_for_session(session).role, store.principal_for_key(key).role)

    assert promoted.role == "admin" and as_admin == ("admin", "admin")
    assert as_analyst == ("analyst", "analyst")  # the admin key acts with the lesser role, its owner's
    with pytest.raises(BadInput, match="last admin"):
        store.set_role("root", "analyst")
    with pytest.raises(BadInput, match="role must be one of"):
        store.set_role("alice", "owner")
    with pytest.raises(NotFound):
        store.set_role("nobody", "admin")


def test_an_api_key_is_shown_once_and_stored_only_as_a_hash(store):
    record, key = store.create_key("analyst", label="notebook")

    secret = key.split("_", 2)[2]  # lg_<id>_<secret>; the secret itself may contain "_"
    principal = store.principal_for_key(key)

    assert KEY.fullmatch(key) and key.startswith(f"lg_{record.id}_")
    assert secret.encode() not in file_bytes(store.path)
    assert key not in json.dumps([k.as_json() for k in store.api_keys()])
    assert principal is not None and principal.role == "analyst" and principal.via == "key"
    assert principal.name == f"key:{record.id}"
    assert store.api_keys()[0].last_used_at is not None


def test_a_revoked_or_altered_key_no_longer_works(store):
    record, key = store.create_key("admin")
    _, other = store.create_key("admin")

    altered = key[:-1] + ("A" if key[-1] != "A" else "B")
    store.revoke_key(record.id)

    assert store.principal_for_key(altered) is None
    assert store.principal_for_key(key) is None
    assert store.principal_for_key(other) is not None
    assert store.principal_for_key("lg_nothing") is None
    assert store.api_keys()[0].revoked
    with pytest.raises(NotFound):
        store.revoke_key("000000000000")


def test_a_users_keys_act_for_them_and_die_with_them(store):
    store.add_user("root", PASSWORD, "admin")
    store.add_user("alice", PASSWORD, "analyst")
    _, key = store.create_key("analyst", owner="alice")

    with pytest.raises(BadInput, match="analyst"):
        store.create_key("admin", owner="alice")  # a key cannot outrank its owner
    principal = store.principal_for_key(key)
    store.set_disabled("alice", True)
    while_disabled = store.principal_for_key(key)
    store.set_disabled("alice", False)
    store.remove_user("alice")

    assert principal is not None and principal.user == "alice" and principal.name.startswith("alice/key:")
    assert while_disabled is None
    assert store.principal_for_key(key) is None
    assert store.api_keys()[0].revoked


def test_sessions_end_on_sign_out_password_change_and_removal(store):
    store.add_user("root", PASSWORD, "admin")
    store.add_user("alice", PASSWORD, "analyst")

    first = store.start_session("alice")
    second = store.start_session("alice")
    store.end_session(first)
    third = store.start_session("alice")
    store.set_password("alice", PASSWORD + " 2")
    fourth = store.start_session("alice")
    store.remove_user("alice")

    assert store.principal_for_session(first) is None
    assert store.principal_for_session(second) is None and store.principal_for_session(third) is None
    assert store.principal_for_session(fourth) is None
    assert store.verify_password("root", PASSWORD) is not None
    assert first.encode() not in file_bytes(store.path)


def test_a_session_knows_its_user_and_role(store):
    store.add_user("alice", PASSWORD, "analyst")

    principal = store.principal_for_session(store.start_session("alice"))

    assert principal is not None and (principal.name, principal.role, principal.via) == ("alice", "analyst", "session")


def wait_of(store: AccountStore, username: str, ip: str) -> float:
    throttled = store.login_retry_after(username, ip)
    return throttled[0] if throttled else 0.0


def test_one_address_guessing_one_password_waits_longer_after_each_failure(store):
    store.clock = clock = Clock()
    waits = []
    for _ in range(15):
        store.note_failed_login("admin", "203.0.113.9")
        waits.append(wait_of(store, "admin", "203.0.113.9"))
        clock.advance(waits[-1])  # the guesser waits each one out, so every guess counts

    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]  # capped at 15 minutes
    assert wait_of(store, "admin", "198.51.100.4") == 0  # the real admin, from their own address: no wait
    assert wait_of(store, "alice", "203.0.113.9") == 0  # the guesser's address, another user: no wait yet


def test_an_address_trying_many_usernames_is_slowed_for_all_of_them(store):
    store.clock = Clock()
    for i in range(21):
        store.note_failed_login(f"user{i}", "203.0.113.9")

    assert store.login_retry_after("someone-else", "203.0.113.9") == (1.0, "address")
    assert wait_of(store, "someone-else", "198.51.100.4") == 0


def test_many_addresses_guessing_one_user_only_briefly_slow_strangers_never_the_user(store):
    store.clock = clock = Clock()
    store.add_user("admin", PASSWORD, "admin")
    store.note_signed_in("admin", "198.51.100.4")  # where the admin works from
    for i in range(110):  # a botnet: one guess from each address
        store.note_failed_login("admin", f"203.0.113.{i}")

    stranger = store.login_retry_after("admin", "192.0.2.1")

    assert stranger is not None and stranger[1] == "user" and 0 < stranger[0] <= 60
    assert store.login_retry_after("admin", "198.51.100.4") is None
    clock.advance(60)
    assert store.login_retry_after("admin", "192.0.2.1") is None  # a wait ends by itself: nothing is locked


def test_signing_in_forgets_that_addresses_failures(store):
    store.clock = Clock()
    for _ in range(5):
        store.note_failed_login("Alice", "198.51.100.4")
    store.note_failed_login("alice", "203.0.113.9")
    before = wait_of(store, "alice", "198.51.100.4")

    store.note_signed_in("alice", "198.51.100.4")

    assert before == 2 and wait_of(store, "alice", "198.51.100.4") == 0
    assert [(b.username, b.ip, b.failures) for b in store.blocks()] == []
    assert store.clear_blocks() == 1  # the other address's failure is still remembered


def test_admins_see_and_clear_the_waits_in_force(store):
    store.clock = Clock()
    for _ in range(6):
        store.note_failed_login("admin", "203.0.113.9")
    for _ in range(4):
        store.note_failed_login("bob", "192.0.2.1")

    blocks = [(b.scope, b.username, b.ip, b.failures, b.as_json(store.clock())["retry_after"]) for b in store.blocks()]
    cleared = store.clear_blocks(ip="203.0.113.9")

    assert blocks == [("address+user", "admin", "203.0.113.9", 6, 4.0), ("address+user", "bob", "192.0.2.1", 4, 1.0)]
    assert cleared == 6 and wait_of(store, "admin", "203.0.113.9") == 0
    assert store.clear_blocks(username="BOB") == 4 and store.blocks() == []


def test_an_accounts_file_from_before_counts_its_failures_per_address(tmp_path):
    path = tmp_path / "data" / "accounts.sqlite3"
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE login_failures (username TEXT NOT NULL, at TEXT NOT NULL)")
        db.execute("INSERT INTO login_failures VALUES ('alice', '2030-01-01T00:00:00.000000+00:00')")
        db.commit()

    store = AccountStore.open(tmp_path / "data")
    store.clock = Clock()
    store.note_failed_login("alice", "198.51.100.4")

    assert [(b.username, b.ip) for b in store.blocks()] == []
    assert store.clear_blocks(username="alice") == 2


def test_the_first_admin_gets_a_generated_password_shown_once(store):
    generated = ensure_first_admin(store, None)
    again = ensure_first_admin(store, None)

    assert generated is not None and len(generated) >= 12
    assert again is None
    assert [(u.username, u.role) for u in store.users()] == [("admin", "admin")]
    assert store.verify_password("admin", generated) is not None


def test_the_first_admin_takes_lg_admin_password(store):
    assert ensure_first_admin(store, PASSWORD) is None
    assert store.verify_password("admin", PASSWORD) is not None
    assert ensure_first_admin(store, "another password entirely") is None  # only when there are no users
    assert store.verify_password("admin", PASSWORD) is not None


def test_a_too_short_lg_admin_password_is_refused(store):
    with pytest.raises(BadInput, match="12"):
        ensure_first_admin(store, "short")
    assert store.users() == []


def test_the_account_and_audit_files_are_private(tmp_path):
    data_dir = tmp_path / "data"
    store = AccountStore.open(data_dir)
    log = AuditLog.open(data_dir)
    store.add_user("alice", PASSWORD, "analyst")
    log.record("alice", "analyst", "search", query="x")

    for path in [store.path, log.path, *data_dir.glob("*.sqlite3-wal")]:
        assert path.stat().st_mode & 0o777 == 0o600, path


# The audit log's store (its HTTP side is in test_auth.py)


def test_the_audit_log_is_append_only(tmp_path):
    log = AuditLog.open(tmp_path / "data")
    log.record("alice", "analyst", "lookup", query_sha256="ab" * 32, results=3)

    with sqlite3.connect(log.path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'mallory'")
    with sqlite3.connect(log.path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")
    assert [e.actor for e in log.entries()] == ["alice"]


def test_audit_entries_filter_by_time_actor_and_action(tmp_path):
    log = AuditLog.open(tmp_path / "data")
    log.record("alice", "analyst", "lookup", results=1)
    log.record("alice/key:0123456789ab", "analyst", "search", query="treasury")
    middle = log.entries()[0].at
    log.record("bob", "admin", "forget", target="cd" * 32)

    assert [e.action for e in log.entries()] == ["forget", "search", "lookup"]  # newest first
    assert [e.action for e in log.entries(actor="alice")] == ["search", "lookup"]  # a user's keys count as theirs
    assert [e.actor for e in log.entries(action="forget")] == ["bob"]
    assert [e.action for e in log.entries(since=middle)] == ["forget", "search"]
    assert [e.action for e in log.entries(until=middle)] == ["lookup"]
    assert [e.action for e in log.entries(limit=1, offset=1)] == ["search"]
    with pytest.raises(BadInput):
        log.entries(since="yesterday")
    with pytest.raises(ValueError, match="unknown audit action"):
        log.record("alice", "analyst", "lookedup")


def test_the_audit_export_is_csv_or_json_and_safe_for_spreadsheets(tmp_path):
    log = AuditLog.open(tmp_path / "data")
    log.record("alice", "analyst", "search", query="=HYPERLINK(1)", results=0, ip="127.0.0.1")
    log.record("alice", "analyst", "lookup", query_sha256="ab" * 32, results=2)

    rows = "".join(log.export("csv")).splitlines()
    (first, second) = json.loads("".join(log.export("json")))

    assert rows[0].split(",")[:5] == ["id", "at", "actor", "role", "action"]
    assert "'=HYPERLINK(1)" in rows[1]
    assert len(rows) == 3
    assert first["query"] == "=HYPERLINK(1)" and second["query_sha256"] == "ab" * 32 and second["results"] == 2
    assert json.loads("".join(log.export("json", action="nothing"))) == []
    with pytest.raises(BadInput):
        log.export("xml")


# The CLI, as a real process on the same files (it works whether or not serve runs)


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_cli(data_dir, *args, stdin=stdin, timeout=120)


def test_cli_manages_users_keys_and_exports_the_audit_log(tmp_path):
    data_dir = tmp_path / "data"

    added = cli(data_dir, "users", "add", "alice", "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n")
    admin = cli(data_dir, "users", "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    created = cli(data_dir, "keys", "create", "--role", "analyst", "--label", "notebook", "--user", "alice")
    listed_users = json.loads(cli(data_dir, "users", "list", "--json").stdout)
    listed_keys = cli(data_dir, "keys", "list", "--json")

    assert added.returncode == 0 and admin.returncode == 0, added.stderr + admin.stderr
    assert PASSWORD not in added.stdout + added.stderr
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert KEY.fullmatch(key), created.stdout  # the key and nothing else on stdout
    assert [(u["username"], u["role"]) for u in listed_users] == [("alice", "analyst"), ("root", "admin")]
    (record,) = json.loads(listed_keys.stdout)
    assert record["owner"] == "alice" and record["label"] == "notebook" and record["revoked_at"] is None
    assert key not in listed_keys.stdout and key.split("_", 2)[2] not in listed_keys.stdout
    store = AccountStore.open(data_dir)
    assert store.principal_for_key(key).user == "alice"
    assert store.verify_password("alice", PASSWORD) is not None

    revoked = cli(data_dir, "keys", "revoke", record["id"])
    removed = cli(data_dir, "users", "remove", "alice")
    last_admin = cli(data_dir, "users", "remove", "root")
    unknown = cli(data_dir, "keys", "revoke", "000000000000")

    assert revoked.returncode == 0 and store.principal_for_key(key) is None
    assert removed.returncode == 0 and [u.username for u in store.users()] == ["root"]
    assert last_admin.returncode == 2 and "last admin" in last_admin.stderr
    assert unknown.returncode == 3

    exported = cli(data_dir, "audit", "export", "--format", "json")
    csv_rows = cli(data_dir, "audit", "export", "--since", "2000-01-01").stdout.splitlines()
    actions = [e["action"] for e in json.loads(exported.stdout)]
    assert actions == ["user_added", "user_added", "key_created", "key_revoked", "user_removed"]
    assert all(e["actor"].startswith("cli") for e in json.loads(exported.stdout))
    assert len(csv_rows) == 6 and csv_rows[0].startswith("id,at,actor")


def test_cli_refuses_a_short_password_and_says_why(tmp_path):
    result = cli(tmp_path / "data", "users", "add", "alice", "--password-stdin", stdin="short\n")

    assert result.returncode == 2
    assert "12 characters" in result.stderr
    assert AccountStore.open(tmp_path / "data").users() == []


def test_serve_creates_the_first_admin_and_shows_the_password_once(tmp_path):
    data_dir = tmp_path / "data"
    log = tmp_path / "serve.log"
    with running_serve(data_dir, log) as (info, _):
        wait_for(lambda: "password" in log.read_text(), 30, "the first admin's password on stderr")
        box = log.read_text()
        password = re.search(r"\|\s+password\s+(\S+)", box).group(1)
        web = requests.Session()
        page = web.get(info.url + "/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        signed_in = web.post(
            info.url + "/login",
            data={"username": "admin", "password": password, "csrf_token": csrf},
            allow_redirects=False,
            timeout=30,
        )
        queue = web.get(info.url + "/queue/stats", timeout=10)
    with running_serve(data_dir, tmp_path / "again.log"):
        second_start = (tmp_path / "again.log").read_text()

    assert "first admin" in box
    assert signed_in.status_code == 303
    assert queue.status_code == 200  # the admin's session reaches admin routes
    assert "password" not in second_start


def test_cli_lists_and_clears_sign_in_waits_and_audits_the_clearing(tmp_path):
    data_dir = tmp_path / "data"
    store = AccountStore.open(data_dir)
    for _ in range(12):  # a wait of 256 s: still in force when the commands run
        store.note_failed_login("admin", "203.0.113.9")

    listed = cli(data_dir, "users", "blocks", "--json")
    cleared = cli(data_dir, "users", "blocks", "--clear", "--ip", "203.0.113.9")
    after = cli(data_dir, "users", "blocks", "--json")

    assert listed.returncode == 0, listed.stderr
    ((block,),) = [json.loads(listed.stdout)]
    assert (block["scope"], block["username"], block["ip"], block["failures"]) == (
        "address+user",
        "admin",
        "203.0.113.9",
        12,
    )
    assert cleared.returncode == 0 and cleared.stdout.strip() == "forgot 12 failed sign-ins"
    assert json.loads(after.stdout) == []
    (entry,) = AuditLog.open(data_dir).entries(action="blocks_cleared")
    assert entry.actor.startswith("cli") and entry.target == "user=* ip=203.0.113.9" and entry.results == 12


# One service for both surfaces (issue 12): the commands answer the same here and through `serve`, audited once each


def test_admin_commands_answer_the_same_here_and_through_serve(tmp_path):
    data_dir = tmp_path / "data"
    other = "another long passphrase"
    added_here = cli(data_dir, "users", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")

    with running_serve(data_dir, tmp_path / "serve.log"):
        added = cli(data_dir, "users", "add", "bob", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        disabled = cli(data_dir, "users", "disable", "alice")
        changed = cli(data_dir, "users", "passwd", "alice", "--password-stdin", stdin=other + "\n")
        created = cli(data_dir, "keys", "create", "--user", "bob", "--label", "through serve")
        missing = cli(data_dir, "users", "remove", "nobody")
        there = [cli(data_dir, *args).stdout for args in READS]
    here = [cli(data_dir, *args).stdout for args in READS]

    assert [r.returncode for r in (added_here, added, disabled, changed, created)] == [0] * 5, added.stderr
    assert disabled.stdout.strip() == "alice disabled" and KEY.fullmatch(created.stdout.strip())
    assert missing.returncode == 3 and "no user 'nobody'" in missing.stderr  # the server's error, the same exit
    assert there == here  # the same records, whoever read the files
    users = {u["username"]: u for u in json.loads(here[0])}
    assert users["alice"]["disabled"] and users["bob"]["role"] == "admin"
    assert json.loads(here[1])[0]["owner"] == "bob" and json.loads(here[2])["ok"]
    store = AccountStore.open(data_dir)
    store.set_disabled("alice", False)
    assert store.verify_password("alice", other) is not None
    entries = json.loads(here[3])
    assert [e["action"] for e in entries] == [
        "user_added",
        "user_added",
        "user_disabled",
        "password_changed",
        "key_created",
    ]
    assert entries[0]["actor"].startswith("cli:") and {e["actor"] for e in entries[1:]} == {"local"}


READS = (
    ("users", "list", "--json"),
    ("keys", "list", "--json"),
    ("audit", "verify", "--json"),
    ("audit", "export", "--format", "json"),
)


def test_the_admin_services_refuse_anyone_but_an_admin(tmp_path):
    from lookingglass.app import build_accounts
    from lookingglass.errors import Forbidden
    from lookingglass.services import Caller
    from lookingglass.services.admin import NewUser, add_user, list_users
    from lookingglass.settings import Settings

    app = build_accounts(Settings.from_env({"LG_DATA_DIR": str(tmp_path / "data")}))
    analyst = Caller("alice", "analyst", "session")

    with pytest.raises(Forbidden):
        list_users(app, analyst)
    with pytest.raises(Forbidden):
        add_user(app, analyst, NewUser(username="mallory", password=PASSWORD, role="admin"))
    assert app.accounts.users() == [] and app.audit.entries() == []


def test_audit_export_reads_the_log_a_page_at_a_time_and_writes_it_whole(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lookingglass.cli import admin

    log = AuditLog.open(tmp_path / "data")
    for i in range(5):
        log.record("alice", "analyst", "search", query=f"=cmd{i}", results=i)
    monkeypatch.setattr(admin, "MAX_PAGE", 2)  # pages of 2: a short last page, and a page boundary inside

    env = {"LG_DATA_DIR": str(tmp_path / "data")}
    as_csv = CliRunner().invoke(admin.audit, ["export"], env=env)
    as_json = CliRunner().invoke(admin.audit, ["export", "--format", "json", "--since", "2000-01-01"], env=env)

    assert as_csv.exit_code == 0 and as_csv.stdout_bytes.decode() == "".join(log.export("csv"))  # CRLF rows kept
    assert as_json.exit_code == 0 and as_json.output == "".join(log.export("json"))
    assert [e["query"] for e in json.loads(as_json.output)] == [f"=cmd{i}" for i in range(5)]


def test_admin_commands_explain_themselves_and_a_bad_option_is_a_usage_error(tmp_path):
    data_dir = tmp_path / "data"
    helped = cli(data_dir, "users", "--help")
    create_help = cli(data_dir, "keys", "create", "--help")
    bad_role = cli(data_dir, "keys", "create", "--role", "root")
    bad_format = cli(data_dir, "audit", "export", "--format", "xml")

    assert helped.returncode == 0 and all(verb in helped.stdout for verb in ("add", "passwd", "disable", "blocks"))
    assert create_help.returncode == 0 and "shown this once" in create_help.stdout and "--user" in create_help.stdout
    assert bad_role.returncode == 2 and "--role" in bad_role.stderr
    assert bad_format.returncode == 2 and "--format" in bad_format.stderr
    assert AccountStore.open(data_dir).api_keys() == []  # nothing made before the arguments were right
