"""`lookingglass ingest --wait` waits for the workers in every mode, and its summary counts what was indexed.

Real processes throughout: redis-server, `lookingglass serve`, a `lookingglass worker`, and the CLI as a user runs
it. A folder of two good photos and a truncated JPEG (stored, since it looks like a JPEG, then failed by the worker)
shows both halves of "waiting": the faces counted are the faces indexed, and the worker's error is reported for its
file, with the exit code for "finished, some files failed".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_process import run_cli
from lookingglass.errors import PARTIAL_FAILURE_EXIT
from redis_server import REDIS_SERVER, RedisServer, redis_available
from serve_process import running_serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_available(), reason=f"redis-server not found at {REDIS_SERVER} (apt install it)"),
]


@pytest.fixture
def folder(tmp_path: Path, test_images: Path) -> Path:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("obama.jpg", "biden.jpg"):  # one face each
        (photos / name).write_bytes((test_images / name).read_bytes())
    source = (test_images / "obama2.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(source[: len(source) // 2])
    return photos


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@contextlib.contextmanager
def running_worker(data_dir: Path, redis_url: str, log_path: Path) -> Iterator[subprocess.Popen]:
    """One `lookingglass worker` (its own process group: RQ's scheduler child goes with it)."""
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "lookingglass.cli", "worker"],
            env={**os.environ, "LG_DATA_DIR": str(data_dir), "REDIS_URL": redis_url},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield worker
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def assert_waited(result: subprocess.CompletedProcess, logs: list[Path]) -> None:
    context = result.stderr + "".join(f"\n--- {p}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    assert result.returncode == PARTIAL_FAILURE_EXIT, context
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["objects"], summary["queued"]) == (3, 2, 0), context
    assert summary["faces"] == 2, context  # indexed, not merely queued
    assert summary["errors"] == 1
    (error,) = summary["error_details"]
    assert Path(error["path"]).name == "truncated.jpg"
    assert "truncated" in error["message"] or "corrupt" in error["message"], error


def test_ingest_wait_through_serve_waits_for_its_rq_workers(tmp_path, folder, redis):
    """`make stack`'s shape: serve hands the jobs to RQ and answers 202 at once; --wait polls serve until done."""
    data = tmp_path / "data"
    logs = [tmp_path / "serve.log", tmp_path / "worker.log"]
    with (
        running_serve(data, logs[0], env={"REDIS_URL": redis.url}),
        running_worker(data, redis.url, logs[1]),
    ):
        waited = run_cli(data, "ingest", "--wait", "--json", "--quiet", str(folder), env={"REDIS_URL": redis.url})
        queued = run_cli(data, "ingest", "--json", "--quiet", str(folder), env={"REDIS_URL": redis.url})
        found = run_cli(data, "lookup", "--json", str(folder / "obama.jpg"))

    assert queued.returncode == 0, queued.stderr  # without --wait: stored and queued, no failure known yet
    assert json.loads(queued.stdout)["queued"] == 3
    assert_waited(waited, logs)
    assert json.loads(found.stdout)["faces"][0]["matches"]


def test_ingest_wait_here_with_workers_stores_what_they_send_back(tmp_path, folder, redis):
    """No serve: with REDIS_URL the CLI owns the embedded data dir, so while it waits it consumes the `index`
    queue the workers send their faces through (as serve would); otherwise the wait could never end."""
    data = tmp_path / "data"
    logs = [tmp_path / "worker.log"]
    with running_worker(data, redis.url, logs[0]):
        waited = run_cli(data, "ingest", "--wait", "--json", "--quiet", str(folder), env={"REDIS_URL": redis.url})

    assert_waited(waited, logs)
    found = run_cli(data, "lookup", "--json", str(folder / "biden.jpg"))
    assert json.loads(found.stdout)["faces"][0]["matches"], found.stderr
