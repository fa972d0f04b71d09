"""The audit log as a hash chain (issue 11): triggers stop UPDATE and DELETE, but whoever can write the file can drop
them. So every entry carries the previous entry's hash and an HMAC of its own fields (key in audit.key), the last
entry is anchored in audit.head, and `verify` names the first broken link. Each test tampers with the real SQLite
file through the sqlite3 module, as someone with the file would."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from cli_process import run_cli
from lookingglass.errors import Unavailable
from lookingglass.stores.private.audit import HEAD_FILE, KEY_FILE, AuditLog

# The audit table as it was before the chain (issue 7), to check that such a file is migrated, not lost.
SCHEMA_BEFORE_THE_CHAIN = """
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, query_sha256 TEXT, query TEXT, results INTEGER, status INTEGER, ip TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def log_with(data_dir: Path, count: int) -> AuditLog:
    log = AuditLog.open(data_dir)
    for i in range(count):
        log.record("alice", "analyst", "search", query=f"query {i + 1}", results=i, ip="10.0.0.7")
    return log


def tamper(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


def test_an_untouched_log_verifies_and_names_its_head(tmp_path):
    log = log_with(tmp_path / "data", 5)

    report = log.verify()

    assert report.ok and report.entries == 5 and report.head_id == 5 and len(report.head_hash) == 64
    assert (tmp_path / "data" / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_deleting_an_entry_after_dropping_the_trigger_is_found(tmp_path):
    log = log_with(tmp_path / "data", 5)

    tamper(log.path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id = 3")
    report = log.verify()

    assert not report.ok and report.broken_at == 4
    assert report.problem == "entry 4 does not follow entry 2: entry 3 was removed"


def test_deleting_the_first_entries_is_found(tmp_path):
    log = log_with(tmp_path / "data", 5)

    tamper(log.path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id <= 2")

    assert log.verify().broken_at == 3 and "entries 1 to 2" in log.verify().problem


def test_editing_an_entry_after_dropping_the_trigger_is_found(tmp_path):
    log = log_with(tmp_path / "data", 5)

    tamper(log.path, "DROP TRIGGER audit_no_update", "UPDATE audit SET query = 'something else' WHERE id = 2")
    report = log.verify()

    assert not report.ok and report.broken_at == 2 and "does not match its hash" in report.problem


def test_an_entry_inserted_by_hand_is_found(tmp_path):
    log = log_with(tmp_path / "data", 3)
    last = log.verify().head_hash

    tamper(
        log.path,
        "INSERT INTO audit (at, actor, role, action, prev_hash, hash) "
        f"VALUES ('2030-01-01T00:00:00+00:00', 'mallory', 'admin', 'login', '{last}', '{'0' * 64}')",
    )

    assert log.verify().broken_at == 4


def test_cutting_the_last_entries_is_found_and_stays_found(tmp_path):
    log = log_with(tmp_path / "data", 5)

    tamper(
        log.path,
        "DROP TRIGGER audit_no_delete",
        "DELETE FROM audit WHERE id >= 4",
        "DELETE FROM sqlite_sequence",  # even the id counter rewound
    )
    cut = log.verify()
    log.record("bob", "analyst", "search", query="later")  # the server goes on logging after the cut
    later = log.verify()

    assert not cut.ok and cut.broken_at == 4
    assert cut.problem == "the log ends at entry 3 but audit.head records entry 5: entries 4 to 5 were removed"
    assert not later.ok and later.broken_at == 6
    assert later.problem == "entry 6 does not follow entry 3: entries 4 to 5 were removed"


def test_a_removed_or_forged_head_is_reported_and_never_rewritten(tmp_path):
    log = log_with(tmp_path / "data", 3)
    head = tmp_path / "data" / HEAD_FILE

    head.unlink()
    log.record("alice", "analyst", "search", query="after")
    missing = log.verify()
    rewritten = head.exists()
    head.write_text(json.dumps({"id": 4, "hash": "0" * 64, "mac": "0" * 64}))
    forged = log.verify()

    assert not missing.ok and missing.broken_at is None and "audit.head is missing" in missing.problem
    assert not rewritten  # logging on must not re-anchor the chain over a cut
    assert not forged.ok and "was altered" in forged.problem


def test_a_log_from_before_the_chain_is_sealed_as_found_and_kept(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "audit.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA_BEFORE_THE_CHAIN)
        for i in range(3):
            db.execute(
                "INSERT INTO audit (at, actor, role, action, query) VALUES (?, 'alice', 'analyst', 'search', ?)",
                (f"2024-01-0{i + 1}T00:00:00+00:00", f"old query {i + 1}"),
            )
        db.commit()

    log = AuditLog.open(data_dir)
    again = AuditLog.open(data_dir)  # a second open seals nothing more
    entries = [(e.id, e.action, e.query, e.results) for e in log.entries()][::-1]

    assert entries == [
        (1, "search", "old query 1", None),
        (2, "search", "old query 2", None),
        (3, "search", "old query 3", None),
        (4, "audit_sealed", None, 3),
    ]
    assert again.verify().ok and again.verify().entries == 4
    tamper(path, "DROP TRIGGER audit_no_update", "UPDATE audit SET actor = 'mallory' WHERE id = 1")
    assert log.verify().broken_at == 1


def test_a_lost_key_is_not_silently_replaced(tmp_path):
    log = log_with(tmp_path / "data", 2)

    (tmp_path / "data" / KEY_FILE).unlink()

    with pytest.raises(Unavailable, match=r"audit\.key is missing"):
        AuditLog.open(tmp_path / "data")
    assert not (tmp_path / "data" / KEY_FILE).exists()
    assert len(log.entries()) == 2


def test_cli_audit_verify_exits_non_zero_naming_the_first_broken_entry(tmp_path):
    data_dir = tmp_path / "data"
    log = log_with(data_dir, 4)

    intact = run_cli(data_dir, "audit", "verify", timeout=120)
    tamper(log.path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id = 2")
    broken = run_cli(data_dir, "audit", "verify", timeout=120)

    assert intact.returncode == 0 and intact.stdout.startswith("audit log intact: 4 entries; head: entry 4 ")
    assert broken.returncode == 1
    assert broken.stdout.strip() == (
        "audit log broken at entry 3: entry 3 does not follow entry 1: entry 2 was removed"
    )
