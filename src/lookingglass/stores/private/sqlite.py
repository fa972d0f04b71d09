"""SQLite files that hold secrets or personal data (accounts, the audit log) beside the embedded data.

They are not part of the single-owner data dir (docs/architecture.md): the CLI edits accounts and exports the audit log
while `serve` runs. So each file is in WAL mode (readers never block the writer), every call opens its own short
connection (no connection crosses threads or outlives a request), and writers wait for each other up to a timeout
instead of failing. The files are created mode 0600; SQLite gives its -wal and -shm files the same mode.

`open_sqlite` is the one way any SQLite file of ours is opened (these two and the graph store): it reads the header
at once, so a file that is not a database, or is damaged, is refused with one line naming it and what to do instead
of a traceback later.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lookingglass.errors import CorruptStore, Unavailable

BUSY_TIMEOUT_S = 10.0
# Primary result codes that mean "the file is damaged or not a database": restore it, do not retry.
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def primary_code(error: sqlite3.Error) -> str:
    """SQLITE_IOERR_WRITE -> SQLITE_IOERR: extended codes share their primary code's first two words."""
    return "_".join(getattr(error, "sqlite_errorname", "").split("_")[:2])


def sqlite_failure(path: Path, exc: sqlite3.Error, what: str = "database", fix: str = "") -> Unavailable:
    """Our error for a file SQLite cannot use: CorruptStore (naming the file and what to do) when it is damaged."""
    if primary_code(exc) in _CORRUPT:
        fix = fix or "restore it from a backup, or move it aside to start an empty one"
        return CorruptStore(f"cannot open the {what} {path}: {exc}; {fix}")
    return Unavailable(f"cannot open the {what} {path}: {exc}")


def open_sqlite(
    path: Path, *, what: str = "database", fix: str = "", timeout: float = BUSY_TIMEOUT_S, shared: bool = False
) -> sqlite3.Connection:
    """Every SQLite file of ours is opened here. `shared`: one connection used by several threads (under the
    caller's lock). The header is read at once (`PRAGMA schema_version`), so "not a database" fails now, clearly."""
    try:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=not shared)
    except sqlite3.Error as exc:
        raise sqlite_failure(path, exc, what, fix) from exc
    try:
        db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        db.close()
        raise sqlite_failure(path, exc, what, fix) from exc
    return db


def integrity_problems(path: Path, *, what: str = "database") -> list[str]:
    """`PRAGMA integrity_check` of one file (reads every page): [] when sound, else SQLite's findings."""
    db = open_sqlite(path, what=what)
    try:
        rows = [row[0] for row in db.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        db.close()
    return [] if rows == ["ok"] else rows


def create_private(path: Path, schema: str) -> None:
    """Create the file 0600 if missing, switch it to WAL, and apply `schema` (idempotent statements)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    with connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)


@contextmanager
def connect(path: Path, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection for one call. `write=True` holds the write lock from the start (BEGIN IMMEDIATE), so a
    read-then-write decision (the last admin, the first admin) cannot race another process."""
    db = open_sqlite(path)
    db.row_factory = sqlite3.Row
    try:
        if write:
            db.execute("BEGIN IMMEDIATE")
        yield db
        if write:
            db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if db.in_transaction:
            db.rollback()
        raise Unavailable(f"{path.name}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        if db.in_transaction:
            db.rollback()
        if primary_code(exc) in _CORRUPT:
            raise sqlite_failure(path, exc) from exc
        raise
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    finally:
        db.close()
