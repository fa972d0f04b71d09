"""A real Bolt/Cypher server for tests: ArcadeDB (the `arcadedb-embedded` wheel, its own Java) with its Bolt plugin.

    server = ArcadeDBServer(tmp_path / "arcadedb").start()
    server.uri, server.auth, server.database     # bolt://127.0.0.1:<port>, ("root", ...), "lookingglass"
    server.stop()

The server runs in a child process (this file run as a script), not in the test process: the JVM that `jpype`
starts can never be stopped or restarted inside a process, and a child can be killed like any other server.
The official `neo4j` driver talks to it as to Neo4j 5 (it reports "Neo4j/5.26.0 compatible (ArcadeDB ...)").
Ready in about 2–4 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from redis_server import free_port
from waiting import end_process, wait_until_answering

PASSWORD_ENV = "LG_TEST_ARCADEDB_PASSWORD"  # handed to the child in its environment, not on its command line


def arcadedb_available() -> bool:
    return importlib.util.find_spec("arcadedb_embedded") is not None


class ArcadeDBServer:
    def __init__(self, directory: Path, database: str = "lookingglass", password: str = "lookingglass-tests") -> None:
        self.directory = Path(directory)
        self.database = database
        self.password = password  # ArcadeDB wants at least 8 characters
        self.bolt_port = free_port()
        self.http_port = free_port()
        self.process: subprocess.Popen | None = None
        self.started_in: float | None = None  # seconds from spawn to the first answered query

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def auth(self) -> tuple[str, str]:
        return ("root", self.password)

    @property
    def log_path(self) -> Path:
        return self.directory / "arcadedb.log"

    def start(self, timeout: float = 90.0) -> ArcadeDBServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, __file__,
            "--root", str(self.directory / "root"),
            "--database", self.database,
            "--bolt-port", str(self.bolt_port),
            "--http-port", str(self.http_port),
        ]  # fmt: skip
        began = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env={**os.environ, PASSWORD_ENV: self.password},
            )
        failure = wait_until_answering(self.process, self.ping, timeout, every=0.1)
        if failure is None:
            self.started_in = time.monotonic() - began
            return self
        self.stop()
        raise RuntimeError(f"ArcadeDB (Bolt port {self.bolt_port}) {failure}:\n{self.log()}")

    def ping(self) -> bool:
        """A real query through the driver: the port opens a moment before the database is ready."""
        import neo4j

        try:
            with (
                neo4j.GraphDatabase.driver(self.uri, auth=self.auth) as driver,
                driver.session(database=self.database) as session,
            ):
                return session.run("RETURN 1 AS ok").single()["ok"] == 1
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError):
            return False

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        end_process(self.process, signal.SIGTERM, timeout)
        self.process = None

    def log(self, tail: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])
        except OSError:
            return "(no ArcadeDB log)"


def _serve() -> None:
    """The child: start ArcadeDB with Bolt on loopback, create the database, run until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()

    from arcadedb_embedded.server import ArcadeDBServer as Server

    server = Server(
        args.root,
        root_password=os.environ[PASSWORD_ENV],
        config={
            "host": "127.0.0.1",  # every listener, Bolt included, on loopback only
            "http_port": args.http_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": args.bolt_port,
            "server_defaultDatabases": f"{args.database}[root]",  # created on start when missing
        },
        jvm_kwargs={"heap_size": "1g"},
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    parent = os.getppid()
    server.start()
    print(f"ArcadeDB serving Bolt on 127.0.0.1:{args.bolt_port}", flush=True)
    while not stopping.wait(0.5):
        if os.getppid() != parent:  # the test session died without stopping us: do not linger
            break
    server.stop()


if __name__ == "__main__":
    _serve()
