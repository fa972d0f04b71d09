"""`lookingglass ...` as a user runs it: a real process on a data dir, its output captured as text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    data_dir: Path, *args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lookingglass.cli", *args],
        env={**os.environ, **(env or {}), "LG_DATA_DIR": str(data_dir)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
