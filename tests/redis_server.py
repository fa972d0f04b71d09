"""A real Redis for tests and benchmarks: Debian's `redis-server` on a free loopback port, data in a folder.

    server = RedisServer(tmp_path / "redis").start()
    server.url                      # redis://127.0.0.1:<port>/0
    server.restart()                # same port, same data (append-only file): clients see a short outage
    server.stop()

Persistence is the append-only file with an fsync per write, so a restart (even after a SIGKILL) loses nothing
that Redis acknowledged; RDB snapshots are off (`--save ""`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from waiting import end_process, wait_until_answering

REDIS_SERVER = os.environ.get("LG_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_available() -> bool:
    return Path(REDIS_SERVER).is_file() and os.access(REDIS_SERVER, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        failure = wait_until_answering(self.process, self.ping, timeout, every=0.05)
        if failure is None:
            return self
        self.stop()
        raise RuntimeError(f"redis-server (port {self.port}) {failure}:\n{self.log()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, kill: bool = False, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes the append-only file and exits), or SIGKILL with `kill=True`."""
        if self.process is None:
            return
        end_process(self.process, signal.SIGKILL if kill else signal.SIGTERM, timeout)
        self.process = None

    def restart(self, down_for: float = 0.0, kill: bool = False) -> RedisServer:
        self.stop(kill=kill)
        time.sleep(down_for)
        return self.start()

    def log(self, tail: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])
        except OSError:
            return "(no redis log)"
