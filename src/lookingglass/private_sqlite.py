"""SQLite files that hold secrets or personal data (accounts, the audit log) beside the embedded data.

They are not part of the single-owner data dir (DESIGN.md §7): the CLI edits accounts and exports the audit log
while `serve` runs. So each file is in WAL mode (readers never block the writer), every call opens its own short
connection (no connection crosses threads or outlives a request), and writers wait for each other up to a timeout
instead of failing. The files are created mode 0600; SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lookingglass.errors import Unavailable

BUSY_TIMEOUT_S = 10.0


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
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise Unavailable(f"cannot open {path}: {exc}") from exc
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
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    finally:
        db.close()
