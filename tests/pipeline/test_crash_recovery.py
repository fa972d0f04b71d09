"""kill -9 in the middle of a run loses nothing and duplicates nothing: after a restart and `reconcile`, the index
equals a clean run of the same files (the same face point ids for every object, and no other points).

Regression test for the crash path, with real processes: a standalone `lookingglass ingest`, and `lookingglass
serve` with the CLI ingesting through it, each SIGKILLed once the first object is in the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_process import run_cli
from lookingglass.app import build
from lookingglass.settings import Settings
from serve_process import running_serve

pytestmark = pytest.mark.slow


def index_of(data_dir: Path) -> dict[str, list[str]]:
    """sha256 → its face point ids, for every object in the store; asserts that no point belongs to no object."""
    app = build(Settings(data_dir=data_dir))
    try:
        points = {obj.sha256: sorted(h.id for h in app.faces.scroll({"sha256": obj.sha256}, limit=1000))
                  for obj in app.objects.list()}  # fmt: skip
        assert app.faces.count() == sum(len(ids) for ids in points.values()), "points of objects not in the store"
        return points
    finally:
        app.close()


@pytest.fixture(scope="module")
def clean(test_images: Path, tmp_path_factory) -> dict[str, list[str]]:
    data = tmp_path_factory.mktemp("clean") / "data"
    result = run_cli(data, "ingest", "--quiet", str(test_images))
    assert result.returncode == 0, result.stderr
    return index_of(data)


def stored(data_dir: Path) -> int:
    meta = data_dir / "objects" / "meta"
    return sum(1 for _ in meta.rglob("*.json")) if meta.is_dir() else 0


def kill_once_stored(victim: subprocess.Popen, data_dir: Path) -> None:
    """SIGKILL `victim` as soon as the first object's record is in the store (or when it has ended anyway)."""
    deadline = time.monotonic() + 120
    while stored(data_dir) == 0 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if victim.poll() is None:
        victim.send_signal(signal.SIGKILL)
    victim.wait(30)


def ingest_process(data_dir: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lookingglass.cli", "ingest", "--quiet", str(folder)],
        env={**os.environ, "LG_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def assert_recovered(data: Path, clean: dict[str, list[str]]) -> None:
    """After the crash, `reconcile` processes what was stored; each stored object then has exactly its clean faces."""
    reconciled = run_cli(data, "reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    assert json.loads(reconciled.stdout)["errors"] == 0
    recovered = index_of(data)
    assert recovered, "the kill came before anything was stored"
    assert recovered == {sha: clean[sha] for sha in recovered}


def test_a_standalone_ingest_killed_mid_run_is_recovered_by_reconcile_and_a_rerun(tmp_path, test_images, clean):
    data = tmp_path / "data"
    folder = test_images

    ingest = ingest_process(data, folder)
    kill_once_stored(ingest, data)

    assert ingest.returncode == -signal.SIGKILL, "the ingest ended before it could be killed: nothing was tested"
    assert_recovered(data, clean)
    rerun = run_cli(data, "ingest", "--quiet", str(folder))
    assert rerun.returncode == 0, rerun.stderr
    assert index_of(data) == clean


def test_serve_killed_mid_ingest_is_recovered_by_reconcile_and_a_restart(tmp_path, test_images, clean):
    data = tmp_path / "data"
    folder = test_images

    with running_serve(data, tmp_path / "serve.log") as (_info, serve):
        client = ingest_process(data, folder)  # through serve: it owns the data dir
        kill_once_stored(serve, data)
        client.wait(60)
    assert serve.returncode == -signal.SIGKILL, (tmp_path / "serve.log").read_text()
    assert client.returncode != 0, "the CLI must not report success for an ingest its server died in"

    assert_recovered(data, clean)  # the dead server's lock went with it: the CLI opens the data dir itself
    with running_serve(data, tmp_path / "serve-again.log"):
        rerun = run_cli(data, "ingest", "--quiet", str(folder))
    assert rerun.returncode == 0, rerun.stderr
    assert index_of(data) == clean
