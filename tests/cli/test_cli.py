"""The command line, run as a user runs it: a real process on a real data dir."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue

from cli_process import run_cli
from lookingglass.errors import PARTIAL_FAILURE_EXIT, BadInput
from lookingglass.pipeline.queue import redis_connection
from redis_server import RedisServer, redis_available


def lookingglass(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_cli(data_dir, *args)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_ingest_a_folder_reports_and_skips_bad_files_and_indexes_the_rest(tmp_path, test_images):
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(test_images / "obama.jpg", folder / "obama.jpg")
    shutil.copy(test_images / "biden.jpg", folder / "nested" / "biden.jpg")
    (folder / "notes.jpg").write_text("this is not a photo")
    (folder / "empty.png").write_bytes(b"")

    result = lookingglass(tmp_path / "data", "ingest", "--json", "--quiet", str(folder), check=False)

    assert result.returncode == PARTIAL_FAILURE_EXIT, result.stderr  # finished, some files failed
    summary = json.loads(result.stdout)
    assert summary["files"] == 4
    assert summary["objects"] == 2
    assert summary["faces"] == 2
    assert summary["errors"] == 2
    reasons = {Path(e["path"]).name: e["message"] for e in summary["error_details"]}
    assert "plain text" in reasons["notes.jpg"] or "unsupported" in reasons["notes.jpg"]
    assert "empty" in reasons["empty.png"]
    assert "skipped" in result.stderr


def test_ingest_exit_codes_say_whether_every_file_some_files_or_no_file_was_indexed(tmp_path, test_images):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(test_images / "obama.jpg", good / "obama.jpg")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.jpg").write_text("this is not a photo")
    source = (test_images / "biden.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(source[: len(source) // 2])  # stored (JPEG magic), fails to decode

    everything = lookingglass(tmp_path / "d1", "ingest", "--quiet", str(good), check=False)
    some = lookingglass(tmp_path / "d2", "ingest", "--quiet", str(good), str(bad), check=False)
    nothing = lookingglass(tmp_path / "d3", "ingest", "--quiet", str(bad), check=False)

    assert everything.returncode == 0, everything.stderr
    assert some.returncode == PARTIAL_FAILURE_EXIT
    assert nothing.returncode == BadInput.exit_code  # every file failed, and all for the same reason: bad input
    assert some.stdout.strip() == "1 objects indexed, 1 faces, 2 errors (3 files)"  # the summary is still printed
    assert nothing.stdout.strip() == "0 objects indexed, 0 faces, 2 errors (2 files)"
    for result in (some, nothing):
        assert result.stderr.count("skipped") == 2  # one line per failed file, with its reason
        assert "notes.jpg" in result.stderr and "truncated.jpg" in result.stderr
        assert "Traceback" not in result.stderr


def test_reconcile_processes_what_a_crashed_ingest_left_and_exits_non_zero_when_a_file_still_fails(
    tmp_path, test_images
):
    """Objects stored but never processed (here: written straight into the store) are processed by reconcile; a
    file whose bytes are bad fails again and makes the exit code say so."""
    from lookingglass.app import build
    from lookingglass.pipeline.submit import store_bytes
    from lookingglass.settings import Settings

    data = tmp_path / "data"
    obama = (test_images / "obama.jpg").read_bytes()
    app = build(Settings(data_dir=data))
    try:
        store_bytes(app, obama, filename="obama.jpg")
    finally:
        app.close()
    clean = lookingglass(data, "reconcile", "--json", check=False)
    app = build(Settings(data_dir=data))
    try:
        store_bytes(app, obama[: len(obama) // 2], filename="truncated.jpg")
    finally:
        app.close()
    failing = lookingglass(data, "reconcile", "--json", check=False)
    again = lookingglass(data, "reconcile", check=False)

    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["queued_objects"] == 1 and json.loads(clean.stdout)["errors"] == 0
    assert failing.returncode == BadInput.exit_code  # the one object it queued failed, for bad input
    body = json.loads(failing.stdout)
    assert body["queued_objects"] == 1 and body["errors"] == 1
    (detail,) = body["error_details"]
    assert detail["object"] == hashlib.sha256(obama[: len(obama) // 2]).hexdigest()
    assert "truncated" in detail["message"] or "corrupt" in detail["message"], detail
    assert again.returncode == BadInput.exit_code and again.stdout.startswith("queued 1 objects and 0 new keys, 1 err")
    found = json.loads(lookingglass(data, "lookup", "--json", str(test_images / "obama2.jpg")).stdout)
    assert found["faces"][0]["matches"], "the object reconcile processed is indexed"


def test_lookup_json_is_one_document_with_the_documented_shape(tmp_path, test_images):
    data = tmp_path / "data"
    lookingglass(data, "ingest", "--quiet", str(test_images / "obama.jpg"))

    result = lookingglass(data, "lookup", "--json", str(test_images / "obama2.jpg"))

    body = json.loads(result.stdout)  # exactly one JSON document on stdout
    (face,) = body["faces"]
    assert len(face["box"]) == 4 and 0 < face["confidence"] <= 1
    assert len(face["landmarks"]) == 5 and all(len(p) == 2 for p in face["landmarks"])
    (match,) = face["matches"]
    obama = test_images / "obama.jpg"
    assert match["sha256"] == hashlib.sha256(obama.read_bytes()).hexdigest()
    assert match["source_url"] == obama.resolve().as_uri()
    assert match["kind"] == "image" and match["timestamp"] is None
    assert len(match["box"]) == 4
    assert 0 < match["score"] <= 1


def test_lookup_threshold_and_top_k_limit_the_matches(tmp_path, test_images):
    data = tmp_path / "data"
    lookingglass(data, "ingest", "--quiet", str(test_images))
    query = str(test_images / "obama.jpg")

    everything = json.loads(lookingglass(data, "lookup", "--json", "--threshold", "-1", query).stdout)
    top2 = json.loads(lookingglass(data, "lookup", "--json", "--threshold", "-1", "--top-k", "2", query).stdout)
    strict = json.loads(lookingglass(data, "lookup", "--json", "--threshold", "0.99", query).stdout)

    assert len(everything["faces"][0]["matches"]) == 7  # every indexed face, biden too
    assert top2["faces"][0]["matches"] == everything["faces"][0]["matches"][:2]
    assert [m["source_url"].rsplit("/", 1)[1] for m in strict["faces"][0]["matches"]] == ["obama.jpg"]


def test_forget_removes_the_object_and_its_faces(tmp_path, test_images):
    data = tmp_path / "data"
    obama = test_images / "obama.jpg"
    lookingglass(data, "ingest", "--quiet", str(obama))
    sha = hashlib.sha256(obama.read_bytes()).hexdigest()

    forgotten = json.loads(lookingglass(data, "forget", "--json", sha).stdout)
    after = json.loads(lookingglass(data, "lookup", "--json", str(obama)).stdout)

    assert forgotten == {
        "sha256": sha,
        "deleted": True,
        "faces_removed": 1,
        "segments_removed": 0,
        "mentions_removed": 0,
    }
    assert after["faces"][0]["matches"] == []


def test_errors_are_one_line_with_an_exit_code(tmp_path):
    missing = lookingglass(tmp_path / "data", "lookup", str(tmp_path / "nope.jpg"), check=False)
    unknown = lookingglass(tmp_path / "data", "forget", "0" * 64, check=False)
    malformed = lookingglass(tmp_path / "data", "forget", "../../etc/passwd", check=False)

    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert unknown.returncode == 3
    assert malformed.returncode == 2
    for result in (missing, unknown, malformed):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_with_redis_ingest_stores_and_queues_and_a_worker_computes(tmp_path, test_images):
    """REDIS_URL set, no server running: ingest stores and enqueues only; a worker does the compute and, the stores
    being embedded, hands the faces to the owner through the index queue."""

    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    redis = RedisServer(tmp_path / "redis").start()
    try:
        env = {**os.environ, "LG_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": redis.url}

        def run(*args):
            return subprocess.run(
                [sys.executable, "-m", "lookingglass.cli", *args], env=env, capture_output=True, text=True, timeout=300
            )

        ingested = run("ingest", "--json", "--quiet", str(test_images / "obama.jpg"))
        refused = run("worker", "--queues", "index", "--burst")
        worked = run("worker", "--burst")

        summary = json.loads(ingested.stdout)
        assert summary["objects"] == 1 and summary["queued"] == 1 and summary["faces"] == 0
        assert refused.returncode == 2 and "belongs to `lookingglass serve`" in refused.stderr
        assert worked.returncode == 0, worked.stderr
        index = Queue("index", connection=redis_connection(redis.url))
        assert index.count == 1  # the faces wait for the owner
        assert index.jobs[0].args[0].endswith("store_faces")
    finally:
        redis.stop()
