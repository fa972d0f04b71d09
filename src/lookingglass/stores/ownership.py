"""One owner per data directory (docs/architecture.md).

The embedded engines are single-process, so exactly one process opens an embedded LG_DATA_DIR. It holds an
exclusive `flock` on `owner.lock` for its lifetime (the kernel drops it if the process dies, so a crash never leaves
a stale lock). `lookingglass serve` also writes `server.json` (URL, pid, a local admin token; mode 0600) so CLI
commands can go through its HTTP API instead of opening the stores themselves.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from lookingglass.errors import DataDirBusy

LOCK_NAME = "owner.lock"
SERVER_NAME = "server.json"


@dataclass(frozen=True)
class ServerInfo:
    url: str
    pid: int
    token: str


class DataDirLock:
    """Exclusive ownership of a data directory; released on close() or process exit."""

    def __init__(self, data_dir: Path, role: str) -> None:
        self.data_dir = data_dir
        self.role = role
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            hint = ""
            server = read_server_info(self.data_dir)
            if server is not None:
                hint = f"; `lookingglass serve` is running at {server.url} — CLI commands use it automatically"
            raise DataDirBusy(f"data directory {self.data_dir} is in use by {holder}{hint}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({self.role})".encode(), 0)
        self._fd = fd
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def new_local_token() -> str:
    return secrets.token_urlsafe(32)


def write_server_info(data_dir: Path, url: str, token: str) -> ServerInfo:
    info = ServerInfo(url=url, pid=os.getpid(), token=token)
    path = data_dir / SERVER_NAME
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": info.url, "pid": info.pid, "token": info.token}, handle)
    os.replace(tmp, path)
    return info


def read_server_info(data_dir: Path) -> ServerInfo | None:
    """The running server's details, or None when no live server owns this data dir."""
    path = data_dir / SERVER_NAME
    try:
        raw = json.loads(path.read_text())
        info = ServerInfo(url=str(raw["url"]), pid=int(raw["pid"]), token=str(raw["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _lock_is_held(data_dir):
        return None  # stale file from a server that crashed (the kernel released its lock)
    return info


def _lock_is_held(data_dir: Path) -> bool:
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_server_info(data_dir: Path) -> None:
    path = data_dir / SERVER_NAME
    info = read_server_info(data_dir)
    if info is None or info.pid == os.getpid():
        path.unlink(missing_ok=True)
