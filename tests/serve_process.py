"""`lookingglass serve` as a real process on a data dir, for tests that need the owner running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from lookingglass.stores.ownership import ServerInfo, read_server_info
from redis_server import free_port


@contextlib.contextmanager
def running_serve(
    data_dir: Path, log_path: Path, env: dict | None = None
) -> Iterator[tuple[ServerInfo, subprocess.Popen]]:
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lookingglass.cli", "serve", "--port", str(port)],
            env={**os.environ, **(env or {}), "LG_DATA_DIR": str(data_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while (info := read_server_info(data_dir)) is None or info.pid != process.pid:  # not a crashed one's
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
            yield info, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
