"""The audit log: who looked up, searched, uploaded or forgot what, and when.

Face lookup is a power that must answer to someone, so every use leaves a record that the user cannot erase:
the table refuses UPDATE and DELETE (triggers). A lookup is recorded by the SHA-256 of the photo, never the photo;
a text search by its query, which is what someone would need to review it. The file is
`LG_DATA_DIR/audit.sqlite3` (see private_sqlite: the CLI exports it while `serve` runs).

Triggers stop mistakes, not someone who drops them (issue 11), so the log is also a hash chain that shows
tampering: each entry carries `prev_hash`, the previous entry's `hash`, and its own `hash`, an HMAC-SHA256 of its
fields and `prev_hash` under a key in `audit.key` (a separate file, 0600). Keyed, because a plain hash chain can
be recomputed by whoever edits the file; with the key outside it, the audit file alone (a copy, a restore, an
edit with the sqlite3 tool) cannot be rewritten to look intact. Whoever can read audit.key can still forge, so a
copy of the chain head kept elsewhere is the stronger anchor (`audit verify` prints it). Removing the last entries
leaves a valid chain, so the head (the last entry's id and hash, with an HMAC) is also kept in `audit.head`: a log
that ends before its head was cut. `verify()` walks the chain and names the first broken link.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import io
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from lookingglass.errors import BadInput, Unavailable
from lookingglass.stores.private.sqlite import connect, create_private

AUDIT_FILE = "audit.sqlite3"
KEY_FILE = "audit.key"  # the chain's HMAC key: outside the audit file, so the file alone cannot be rewritten
HEAD_FILE = "audit.head"  # the last entry's id and hash: a log cut short of it was truncated
GENESIS = ""  # the prev_hash of the first entry of a chain
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
        "role_changed",
        "blocks_cleared",  # an admin forgot failed sign-ins (accounts.THROTTLES)
        "audit_sealed",  # entries from before the hash chain were chained as they were found (results: how many)
        "name_person",  # people (issue 14): what an analyst decided about persons
        "merge_people",
        "split_person",
        "hide_person",
        "cluster_people",
        "job_retried",  # workbench (issue 15): a failed job run again, or its record dropped, from the queue page
        "job_removed",
        "crawl_started",  # a crawl started from the browser (its end is the `crawl` entry)
        "merge_entities",  # the entity graph (issue 17): an admin merged a duplicate entity into another
        "reject_merge_candidate",
    }
)
MAX_PAGE = 10_000
MAX_TEXT = 2000  # a query or actor name longer than this is cut (the log is not a place to store documents)
MAX_ACTOR_FILTER = 200  # a username, "name/key:<id>" or "cli:<login>"; SQLite refuses LIKE patterns over 50,000

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
    ip TEXT,
    prev_hash TEXT,
    hash TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, at);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action, at);
{no_update}
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
NO_UPDATE = """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"""
SCHEMA = SCHEMA.format(no_update=NO_UPDATE)


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
SEAL_BATCH = 10_000


@dataclass(frozen=True)
class ChainReport:
    """What `AuditLog.verify` found: `ok`, or the first broken entry's id (None when the head file itself is the
    problem) and what is wrong with it."""

    entries: int
    ok: bool
    broken_at: int | None = None
    problem: str | None = None
    head_id: int | None = None
    head_hash: str | None = None

    def as_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class _Head:
    id: int
    hash: str


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        create_private(path, SCHEMA)  # also puts back triggers someone dropped
        self.key = self._load_key()
        sealed = self._seal_unchained()
        if sealed:
            self.record("lookingglass", "-", "audit_sealed", results=sealed)

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
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        query = None if query is None else query[:MAX_TEXT]
        with connect(self.path, write=True) as db:  # the write lock orders the chain across processes
            last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
            last_id, prev = (last["id"], last["hash"]) if last else (0, GENESIS)
            head = self._head()
            if head is not None and head.id > last_id:  # the tail was cut: chain from it, so the gap shows
                last_id, prev = head.id, head.hash
            entry_id = max(last_id, seq[0] if seq else 0) + 1
            values = (entry_id, at, actor[:MAX_TEXT], role, action, target, query_sha256, query, results, status, ip)
            entry_hash = _link(self.key, values, prev)
            db.execute(
                f"INSERT INTO audit ({', '.join(COLUMNS)}, prev_hash, hash) VALUES ({', '.join('?' * 13)})",
                (*values, prev, entry_hash),
            )
        self._advance_head(entry_id, entry_hash, first=last_id == 0)

    def verify(self) -> ChainReport:
        """Walk the chain, oldest first, and report the first entry that was edited, forged, or follows missing
        entries, or a log that ends before its head."""
        head_text = _read_text(self.path.with_name(HEAD_FILE))
        head = self._head()
        entries, prev_id, prev_hash, head_seen = 0, 0, GENESIS, None
        with connect(self.path) as db:
            for row in db.execute(f"SELECT {', '.join(COLUMNS)}, prev_hash, hash FROM audit ORDER BY id"):
                entries += 1
                entry_id = row["id"]
                if row["hash"] != _link(self.key, tuple(row[c] for c in COLUMNS), row["prev_hash"]):
                    return ChainReport(
                        entries,
                        False,
                        entry_id,
                        f"entry {entry_id} does not match its hash: it was edited or inserted by hand "
                        f"(or {KEY_FILE} is not the key it was sealed with)",
                    )
                if row["prev_hash"] != prev_hash or entry_id != prev_id + 1:
                    return ChainReport(
                        entries,
                        False,
                        entry_id,
                        f"entry {entry_id} does not follow entry {prev_id}: {_removed(prev_id + 1, entry_id - 1)}",
                    )
                if head is not None and entry_id == head.id:
                    head_seen = row["hash"]
                prev_id, prev_hash = entry_id, row["hash"]
        if head is None:
            if head_text is None and entries == 0:
                return ChainReport(0, True)
            problem = "is missing" if head_text is None else "was altered (its HMAC does not match)"
            return ChainReport(
                entries, False, None, f"{HEAD_FILE} {problem}: removed entries at the end could not be seen"
            )
        if head.id > prev_id:
            return ChainReport(
                entries,
                False,
                prev_id + 1,
                f"the log ends at entry {prev_id} but {HEAD_FILE} records entry {head.id}: "
                + _removed(prev_id + 1, head.id),
                head.id,
                head.hash,
            )
        if head_seen != head.hash:
            return ChainReport(
                entries, False, head.id, f"entry {head.id} is not the one {HEAD_FILE} records", head.id, head.hash
            )
        return ChainReport(entries, True, head_id=prev_id, head_hash=prev_hash)

    def _load_key(self) -> bytes:
        """The chain key, created with the first chained entry. A missing key is never replaced once entries were
        sealed with it: a new one would make every entry look forged."""
        path = self.path.with_name(KEY_FILE)
        if not path.exists():
            with connect(self.path) as db:
                columns = {row["name"] for row in db.execute("PRAGMA table_info(audit)")}
                sealed = "hash" in columns and db.execute("SELECT 1 FROM audit WHERE hash IS NOT NULL").fetchone()
            if sealed:
                raise Unavailable(f"{path} is missing; {self.path.name} was sealed with it: restore it from a backup")
            _create_secret(path)
        key = path.read_bytes()
        if len(key) < 32:
            raise Unavailable(f"{path} holds fewer than 32 bytes: restore it from a backup")
        return key

    def _seal_unchained(self) -> int:
        """Chain the entries of a log from before the chain, in id order, as they are now (nothing can vouch for
        what happened to them before). Returns how many; 0 once the log is chained."""
        sealed, prev, last_id = 0, GENESIS, 0
        with connect(self.path, write=True) as db:
            if "hash" in {row["name"] for row in db.execute("PRAGMA table_info(audit)")}:
                return 0
            db.execute("ALTER TABLE audit ADD COLUMN prev_hash TEXT")
            db.execute("ALTER TABLE audit ADD COLUMN hash TEXT")
            db.execute("DROP TRIGGER IF EXISTS audit_no_update")
            while rows := db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM audit WHERE id > ? ORDER BY id LIMIT ?", (last_id, SEAL_BATCH)
            ).fetchall():
                for row in rows:
                    entry_hash = _link(self.key, tuple(row[c] for c in COLUMNS), prev)
                    db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, entry_hash, row["id"]))
                    prev, last_id = entry_hash, row["id"]
                    sealed += 1
            db.execute(NO_UPDATE)
        if sealed:
            self._advance_head(last_id, prev, first=True)
        return sealed

    def _head(self) -> _Head | None:
        """The recorded head, or None when the file is missing or does not carry a valid HMAC."""
        text = _read_text(self.path.with_name(HEAD_FILE))
        try:
            doc = json.loads(text) if text else None
            head = _Head(int(doc["id"]), str(doc["hash"])) if isinstance(doc, dict) else None
        except (ValueError, KeyError, TypeError):
            return None
        if head is None or not hmac.compare_digest(str(doc.get("mac", "")), self._head_mac(head)):
            return None
        return head

    def _head_mac(self, head: _Head) -> str:
        return hmac.new(self.key, f"head:{head.id}:{head.hash}".encode(), hashlib.sha256).hexdigest()

    def _advance_head(self, entry_id: int, entry_hash: str, *, first: bool) -> None:
        """Move the head forward (never back: two processes may finish out of order). A head that is missing or
        altered is left so, unless this is a chain's first entry: `verify` keeps reporting it, where rewriting it
        would hide a cut."""
        path = self.path.with_name(HEAD_FILE)
        lock = os.open(path.with_name(HEAD_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._head()
            if current is None and not first:
                return
            if current is not None and current.id >= entry_id:
                return
            head = _Head(entry_id, entry_hash)
            tmp = path.with_name(f".{HEAD_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"id": head.id, "hash": head.hash, "mac": self._head_mac(head)}, handle)
            os.replace(tmp, path)
        finally:
            os.close(lock)

    def entries(
        self,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
        oldest_first: bool = False,
    ) -> list[AuditEntry]:
        """Newest first (or oldest first: pages that stay put while entries are appended); `since` <= at < `until`."""
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise BadInput(f"limit must be 1-{MAX_PAGE} and offset at least 0")
        where, params = _filters(since, until, actor, action)
        with connect(self.path) as db:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY id {'' if oldest_first else 'DESC'} "
                "LIMIT ? OFFSET ?",
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
        return csv_chunks(entry.as_json() for entry in self._rows(sql, params))

    def _json(self, sql: str, params: list) -> Iterator[str]:
        return json_chunks(entry.as_json() for entry in self._rows(sql, params))


def csv_chunks(entries: Iterable[dict]) -> Iterator[str]:
    """Entries (`AuditEntry.as_json()`) as CSV with a header row, in chunks of about 64 KiB; cells that a spreadsheet
    would run as a formula are quoted. The CLI writes its export through this too, whichever side read the log."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([_spreadsheet_safe(entry[column]) for column in COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(entries: Iterable[dict]) -> Iterator[str]:
    """Entries as one JSON array, an entry per line."""
    yield "["
    for i, entry in enumerate(entries):
        yield ("," if i else "") + "\n" + json.dumps(entry)
    yield "\n]\n"


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
    if actor and len(actor) > MAX_ACTOR_FILTER:
        raise BadInput(f"'actor' has at most {MAX_ACTOR_FILTER} characters, got {len(actor):,}")
    if actor:
        clauses.append("(actor = ? OR actor LIKE ? ESCAPE '\\')")
        escaped = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [actor, escaped + "/key:%"]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _link(key: bytes, values: tuple, prev_hash: str | None) -> str:
    """An entry's hash: HMAC-SHA256 over its fields (id included, so entries cannot be renumbered) and the
    previous entry's hash. JSON with ASCII escapes: one byte string for the same values, whatever they hold."""
    message = json.dumps([*values, prev_hash], separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _removed(first: int, last: int) -> str:
    if last < first:
        return "entries were removed and others put in their place"
    return f"entry {first} was removed" if first == last else f"entries {first} to {last} were removed"


def _create_secret(path: Path) -> None:
    """32 random bytes, mode 0600, created atomically: when two processes race, both read the winner's."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _entry(row) -> AuditEntry:
    values = dict(row)
    values["at"] = datetime.fromisoformat(values["at"])
    return AuditEntry(**values)


def _spreadsheet_safe(value):
    """A cell a spreadsheet would run as a formula (a search query can be anything) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
