"""Working from the browser (issue 15): failed jobs named by their file and retried or removed, on the in-process
queue and on Redis; the queues' progress and ETA; crawls started over the API and read back from their folder."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest

from cli_process import run_cli
from conftest import authorized_client
from lookingglass.errors import BadInput, NotFound

BROKEN = b"\xff\xd8\xff\xe0" + b"\x00" * 64  # a JPEG's first bytes, then nothing that decodes


def fails_until_fixed(marker: str) -> str:
    """A job that fails on bad input until `marker` exists: what a Retry after a fix runs again."""
    if not Path(marker).exists():
        raise BadInput(f"{Path(marker).name} is not there yet")
    return "ran"


@pytest.fixture(params=["inline", "rq"])
def any_queue(request, tmp_path):
    from lookingglass.pipeline.queue import InlineQueue, RQQueue
    from redis_server import RedisServer, redis_available

    if request.param == "inline":
        queue = InlineQueue(workers=1)
        yield queue
        queue.close()
        return
    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    queue = RQQueue(server.url)
    yield queue
    queue.close()
    server.stop()


def run(queue, handle):
    """The job's result or exception, wherever this queue runs it."""
    if not queue.runs_here:
        queue.worker(["faces"]).work(burst=True, logging_level="WARNING")
    return handle.result(timeout=30)


def test_a_failed_job_runs_again_with_the_same_arguments_and_its_record_goes(any_queue, tmp_path):
    marker = tmp_path / "fixed"
    handle = any_queue.enqueue("faces", fails_until_fixed, str(marker), job_id="process_image.retry-me")
    with pytest.raises(Exception, match="is not there yet"):
        run(any_queue, handle)
    (failed,) = any_queue.stats()["failed"]
    assert failed["function"] == "fails_until_fixed" and failed["queue"] == "faces"

    marker.write_text("fixed")
    again = any_queue.retry_failed(failed["id"])

    assert any_queue.stats()["failed"] == []
    assert run(any_queue, again) == "ran"
    assert any_queue.stats()["queues"]["faces"]["failed"] == 0
    with pytest.raises(NotFound):
        any_queue.retry_failed(failed["id"])


def test_removing_a_failed_job_drops_its_record_only(any_queue, tmp_path):
    handle = any_queue.enqueue("faces", fails_until_fixed, str(tmp_path / "never"), job_id="process_image.drop-me")
    with pytest.raises(Exception, match="is not there yet"):
        run(any_queue, handle)
    (failed,) = any_queue.stats()["failed"]

    any_queue.remove_failed(failed["id"])

    stats = any_queue.stats()
    assert stats["failed"] == [] and stats["queues"]["faces"]["failed"] == 0
    with pytest.raises(NotFound):
        any_queue.remove_failed(failed["id"])


def test_waiting_and_finished_jobs_give_the_queue_its_run_time(any_queue, tmp_path):
    (tmp_path / "fixed").write_text("")
    handles = [
        any_queue.enqueue("faces", fails_until_fixed, str(tmp_path / "fixed"), job_id=f"process_image.n{i}")
        for i in range(3)
    ]
    if not any_queue.runs_here:  # nothing runs them until a worker comes: they are listed as waiting
        waiting = any_queue.stats()["waiting"]
        assert [job["function"] for job in waiting] == ["fails_until_fixed"] * 3
    for handle in handles:
        assert run(any_queue, handle) == "ran"

    faces = any_queue.stats()["queues"]["faces"]
    assert faces["finished"] == 3 and faces["recent_job_s"] is not None and faces["recent_job_s"] >= 0


def _failed_upload(client) -> dict:
    """Upload a broken photo; its job fails on the bytes: the queue's failed job, as the stats show it."""
    answer = client.post("/objects", data={"file": (io.BytesIO(BROKEN), "holiday/broken.jpg")})
    assert answer.status_code == 400, answer.get_json()  # nothing could be processed: the file's error
    (failure,) = client.get("/queue/stats").get_json()["failed"]
    return failure


def test_queue_stats_name_a_failed_job_by_its_file_with_a_plain_reason(app, admin_client):
    failure = _failed_upload(admin_client)

    assert failure["file"] == "broken.jpg" and failure["kind"] == "image" and failure["task"] == "find faces"
    assert failure["sha256"] and failure["id"] == f"process_image.{failure['sha256']}"
    assert not failure["reason"].startswith(("BadInput", "lookingglass.")), failure["reason"]
    assert not re.search(r"\\x|b'|\b[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}\b", failure["reason"]), failure["reason"]
    assert "damaged or missing" in failure["reason"]
    faces = admin_client.get("/queue/stats").get_json()["queues"]["faces"]
    assert faces["done_fraction"] == 1.0 and faces["eta_s"] == 0


def test_retry_runs_the_objects_job_again_and_remove_drops_it_admins_only(app, admin_client, analyst_client):
    failure = _failed_upload(admin_client)
    job = failure["id"]
    assert analyst_client.post(f"/queue/failed/{job}/retry").status_code == 403
    assert analyst_client.delete(f"/queue/failed/{job}").status_code == 403

    retried = admin_client.post(f"/queue/failed/{job}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json() == {"id": job, "queue": "faces", "sha256": failure["sha256"]}
    app.queue.drain(timeout=60)
    outcome = admin_client.get(f"/objects/{failure['sha256']}/outcome").get_json()
    assert outcome["state"] == "failed"  # it ran again, on the same bad bytes
    (again,) = admin_client.get("/queue/stats").get_json()["failed"]
    assert again["id"] == job

    assert admin_client.delete(f"/queue/failed/{job}").get_json() == {"id": job, "removed": True}
    assert admin_client.get("/queue/stats").get_json()["failed"] == []
    assert admin_client.delete(f"/queue/failed/{job}").status_code == 404
    assert {"job_retried", "job_removed"} <= {entry.action for entry in app.audit.entries()}


def test_on_rq_a_failed_upload_is_named_retried_and_removed(app, admin_headers, tmp_path):
    from lookingglass.pipeline.queue import RQQueue
    from redis_server import RedisServer, redis_available

    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    inline, app.queue = app.queue, RQQueue(server.url)
    client = authorized_client(app, admin_headers)

    def work() -> None:
        app.queue.worker(["faces"]).work(burst=True, logging_level="WARNING")

    try:
        stored = client.post("/objects", data={"file": (io.BytesIO(BROKEN), "scan.jpg")})
        assert stored.status_code == 202, stored.get_json()  # with workers: stored and queued
        waiting = client.get("/queue/stats").get_json()["waiting"]
        assert [(j["file"], j["kind"], j["task"]) for j in waiting] == [("scan.jpg", "image", "find faces")]
        work()
        (failure,) = client.get("/queue/stats").get_json()["failed"]
        assert failure["file"] == "scan.jpg" and "Traceback" not in failure["reason"]
        assert not failure["reason"].startswith("lookingglass."), failure["reason"]

        assert client.post(f"/queue/failed/{failure['id']}/retry").status_code == 200
        stats = client.get("/queue/stats").get_json()
        assert stats["failed"] == [] and stats["queues"]["faces"]["queued"] == 1
        work()
        (again,) = client.get("/queue/stats").get_json()["failed"]
        assert client.delete(f"/queue/failed/{again['id']}").status_code == 200
        assert client.get("/queue/stats").get_json()["failed"] == []
    finally:
        app.queue.close()
        app.queue = inline
        server.stop()


def test_a_crawl_is_refused_a_start_url_that_is_not_http_and_an_unknown_id(app, analyst_client):
    refused = analyst_client.post("/crawls", json={"start_url": "file:///etc/passwd"})
    assert refused.status_code == 400 and "http(s)" in refused.get_json()["error"]["message"]
    where_files_go = {"start_url": "https://a.example/", "job_dir": "/tmp"}  # not the browser's to say
    assert analyst_client.post("/crawls", json=where_files_go).status_code == 400
    assert analyst_client.get("/crawls/20260101T000000-abcdef").status_code == 404
    assert analyst_client.get("/crawls").get_json() == {"crawls": []}


def test_a_crawl_needs_the_server_it_stores_through(app, analyst_client):
    """Here the test's own App holds the data dir and no `serve` runs: a crawl process would have nowhere to store."""
    refused = analyst_client.post("/crawls", json={"start_url": "http://127.0.0.1:9/", "max_pages": 1})

    assert refused.status_code == 503 and "lookingglass serve" in refused.get_json()["error"]["message"]
    assert analyst_client.get("/crawls").get_json() == {"crawls": []}


def test_a_crawl_through_serve_that_cannot_reach_its_site_ends_failed_with_a_plain_reason(tmp_path):
    from lookingglass.web.client import ServerClient
    from serve_process import running_serve

    with running_serve(tmp_path / "data", tmp_path / "serve.log") as (info, _process):
        client = ServerClient(info)
        crawl = client.call("POST", "/crawls", json={"start_url": "http://127.0.0.1:9/", "max_pages": 1})
        assert crawl["state"] == "running" and crawl["started_by"] == "local"

        deadline = time.monotonic() + 120
        while (state := client.call("GET", f"/crawls/{crawl['id']}"))["state"] == "running":
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        listed = client.call("GET", "/crawls")["crawls"]
        shown = run_cli(tmp_path / "data", "crawls", crawl["id"], "--json")  # the same, through serve
        queue = run_cli(tmp_path / "data", "queue", "--json")
        missing = run_cli(tmp_path / "data", "queue", "retry", "process_image.nothing")

    assert state["state"] == "failed" and state["pages"] == 0, state
    assert state["message"].startswith("nothing could be crawled") and "Traceback" not in state["message"]
    assert [c["id"] for c in listed] == [crawl["id"]]
    assert json.loads(shown.stdout) == state
    assert json.loads(queue.stdout)["backend"] == "inline"
    assert missing.returncode == 3 and "no failed job" in missing.stderr


def test_the_cli_starts_no_background_crawl_and_lists_none(app):
    from lookingglass.services import Caller
    from lookingglass.services.crawl import StartCrawl, list_crawls, start_crawl

    with pytest.raises(BadInput, match="lookingglass crawl"):
        start_crawl(app, Caller.command_line(), StartCrawl(start_url="https://a.example/"))
    assert list_crawls(app, Caller.command_line()).crawls == []


def test_a_queue_eta_is_what_is_left_at_the_recent_run_time_shared_by_the_workers_that_take_it():
    from lookingglass.services.system import _progress_and_eta

    counts = {"queued": 5, "started": 1, "finished": 6, "failed": 0, "deferred": 0, "scheduled": 0, "recent_job_s": 2.0}
    two_taking_faces = [{"queues": ["faces"]}, {"queues": ["faces", "video"]}, {"queues": ["video"]}]

    assert _progress_and_eta("faces", counts, two_taking_faces) == {"done_fraction": 0.5, "eta_s": 6.0}
    assert _progress_and_eta("pages", counts, two_taking_faces)["eta_s"] is None  # nobody takes it: unknown
    assert _progress_and_eta("faces", {**counts, "recent_job_s": None}, two_taking_faces)["eta_s"] is None
    inline = [{"queues": None}, {"queues": None}]  # the in-process pool's threads take every queue
    assert _progress_and_eta("pages", counts, inline)["eta_s"] == 6.0
