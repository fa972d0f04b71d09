"""One owner per data dir: while `serve` runs, the CLI goes through it and nobody else opens stores."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from cli_process import run_cli
from lookingglass.app import build
from lookingglass.errors import DataDirBusy
from lookingglass.settings import Settings
from lookingglass.stores.ownership import read_server_info
from serve_process import running_serve


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(data_dir, *args)


@pytest.fixture
def server(tmp_path):
    data_dir = tmp_path / "data"
    with running_serve(data_dir, tmp_path / "serve.log") as (info, process):
        yield data_dir, info, process


def test_serve_writes_a_private_server_file(server):
    data_dir, info, process = server

    assert info.pid == process.pid
    assert (data_dir / "server.json").stat().st_mode & 0o777 == 0o600
    assert requests.get(info.url + "/health", timeout=10).json()["ok"] is True


def test_cli_commands_go_through_the_running_server(server, test_images):
    data_dir, info, _ = server
    obama = test_images / "obama.jpg"

    ingested = cli(data_dir, "ingest", "--json", "--quiet", str(obama))
    looked_up = cli(data_dir, "lookup", "--json", str(test_images / "obama2.jpg"))

    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["faces"] == 1
    (match,) = json.loads(looked_up.stdout)["faces"][0]["matches"]
    assert match["source_url"] == obama.resolve().as_uri()
    sha = match["sha256"]
    as_local_cli = {"Authorization": f"Bearer {info.token}"}
    assert requests.get(f"{info.url}/objects/{sha}", headers=as_local_cli, timeout=10).json()["faces"] == 1
    forgotten = cli(data_dir, "forget", "--json", sha)
    assert json.loads(forgotten.stdout)["faces_removed"] == 1


def test_a_second_owner_gets_a_clear_error_naming_the_holder(server):
    data_dir, info, process = server

    with pytest.raises(DataDirBusy) as caught:
        build(Settings(data_dir=data_dir))

    message = str(caught.value)
    assert f"pid {process.pid}" in message
    assert info.url in message


def test_stopping_the_server_releases_the_data_dir(server, faces_dir):
    data_dir, _, process = server
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    assert not (data_dir / "server.json").exists()
    app = build(Settings(data_dir=data_dir))  # the CLI can open it itself again
    app.close()


def test_a_killed_server_leaves_no_stale_owner(server):
    data_dir, _, process = server
    process.kill()
    process.wait(timeout=30)

    assert (data_dir / "server.json").exists()  # SIGKILL gave it no chance to clean up ...
    assert read_server_info(data_dir) is None  # ... but the kernel released its lock, so nobody trusts the file
    app = build(Settings(data_dir=data_dir))
    app.close()
