"""The audit log: who looked up, searched, uploaded or forgot what, and when (issue 7; DESIGN.md §5).

Face lookup is a power that must answer to someone, so every use leaves a record that the user cannot erase:
the table refuses UPDATE and DELETE (triggers). A lookup is recorded by the SHA-256 of the photo, never the photo;
a text search by its query, which is what someone would need to review it. The file is
`LG_DATA_DIR/audit.sqlite3` (see private_sqlite: the CLI exports it while `serve` runs).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from lookingglass.errors import BadInput
from lookingglass.private_sqlite import connect, create_private

AUDIT_FILE = "audit.sqlite3"
ACTIONS = frozenset(
    {
        "lookup",
        "search",
        "upload",
        "forget",
        "forget_person",
        "forget_person_preview",
        "optout_withdrawn",
        "crawl",
        "login",
        "login_failed",
        "denied",  # a signed-in user or key refused: wrong role, missing CSRF token, rate limited
        "logout",
        "key_created",
        "key_revoked",
        "user_added",
        "user_removed",
        "user_disabled",
        "user_enabled",
        "password_changed",
    }
)
MAX_PAGE = 10_000
MAX_TEXT = 2000  # a query or actor name longer than this is cut (the log is not a place to store documents)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    query_sha256 TEXT,
    query TEXT,
    results INTEGER,
    status INTEGER,
    ip TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, at);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str | None = None  # what an admin action was about: an object's sha256, a key id, a username
    query_sha256: str | None = None  # the SHA-256 of a lookup's photo or an upload's bytes
    query: str | None = None  # a text search's query
    results: int | None = None  # matches, hits, faces removed
    status: int | None = None  # the HTTP status answered
    ip: str | None = None

    def as_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"at": self.at.isoformat()}


COLUMNS = tuple(f.name for f in fields(AuditEntry))


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        create_private(path, SCHEMA)

    @classmethod
    def open(cls, data_dir: Path) -> AuditLog:
        return cls(Path(data_dir) / AUDIT_FILE)

    def record(
        self,
        actor: str,
        role: str,
        action: str,
        *,
        target: str | None = None,
        query_sha256: str | None = None,
        query: str | None = None,
        results: int | None = None,
        status: int | None = None,
        ip: str | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; add it to ACTIONS")
        with connect(self.path) as db:
            db.execute(
                "INSERT INTO audit (at, actor, role, action, target, query_sha256, query, results, status, ip) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="microseconds"),
                    actor[:MAX_TEXT],
                    role,
                    action,
                    target,
                    query_sha256,
                    None if query is None else query[:MAX_TEXT],
                    results,
                    status,
                    ip,
                ),
            )

    def entries(
        self,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first; `since` <= at < `until`."""
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise BadInput(f"limit must be 1-{MAX_PAGE} and offset at least 0")
        where, params = _filters(since, until, actor, action)
        with connect(self.path) as db:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_entry(row) for row in rows]

    def export(
        self,
        fmt: str,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> Iterator[str]:
        """Every matching entry, oldest first, as CSV (with a header row) or a JSON array, in chunks: the log can
        be longer than memory should hold. Bad arguments raise here, before the first chunk."""
        if fmt not in ("csv", "json"):
            raise BadInput(f"export format is csv or json, got {fmt!r}")
        where, params = _filters(since, until, actor, action)
        sql = f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY id"
        return self._csv(sql, params) if fmt == "csv" else self._json(sql, params)

    def _rows(self, sql: str, params: list) -> Iterator[AuditEntry]:
        with connect(self.path) as db:
            for row in db.execute(sql, params):
                yield _entry(row)

    def _csv(self, sql: str, params: list) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for entry in self._rows(sql, params):
            writer.writerow([_spreadsheet_safe(value) for value in entry.as_json().values()])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    def _json(self, sql: str, params: list) -> Iterator[str]:
        yield "["
        for i, entry in enumerate(self._rows(sql, params)):
            yield ("," if i else "") + "\n" + json.dumps(entry.as_json())
        yield "\n]\n"


def record_command(data_dir: Path, action: str, **fields) -> None:
    """A command run on this machine that opened the stores itself, recorded as the local user: whoever may edit
    the data dir is its admin. (Through `serve`, the server records what the command asked it to do.)"""
    try:
        actor = f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        actor = "cli"
    AuditLog.open(data_dir).record(actor, "admin", action, **fields)


def parse_time(value: datetime | str | None, name: str = "time") -> str | None:
    """An ISO 8601 date or time (UTC when it names no zone) as the log stores it."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadInput(f"'{name}' must be an ISO 8601 date or time, got {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _filters(since, until, actor, action) -> tuple[str, list]:
    """SQL for the filters. An actor that is a username also matches that user's API keys ("alice/key:...")."""
    clauses, params = [], []
    for clause, value in (
        ("at >= ?", parse_time(since, "since")),
        ("at < ?", parse_time(until, "until")),
        ("action = ?", action or None),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if actor:
        clauses.append("(actor = ? OR actor LIKE ? ESCAPE '\\')")
        escaped = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [actor, escaped + "/key:%"]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _entry(row) -> AuditEntry:
    values = dict(row)
    values["at"] = datetime.fromisoformat(values["at"])
    return AuditEntry(**values)


def _spreadsheet_safe(value):
    """A cell a spreadsheet would run as a formula (a search query can be anything) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
