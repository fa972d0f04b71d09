"""The in-process queue (embedded mode): same job functions, same policies, failures kept with their reason."""

from __future__ import annotations

import threading

import pytest

from lookingglass.errors import BadInput
from lookingglass.pipeline.queue import InlineQueue, job_path, resolve_job
from lookingglass.pipeline.reconcile import reconcile
from lookingglass.pipeline.renamed_jobs import RENAMED_JOBS
from lookingglass.pipeline.submit import store_bytes

attempts: dict[str, int] = {}
lock = threading.Lock()


def flaky(name: str, failures: int) -> str:
    """Fails `failures` times, then succeeds."""
    with lock:
        attempts[name] = attempts.get(name, 0) + 1
        if attempts[name] <= failures:
            raise RuntimeError(f"transient failure {attempts[name]}")
    return name


def poison(name: str) -> None:
    with lock:
        attempts[name] = attempts.get(name, 0) + 1
    raise BadInput(f"{name} is not an image")


@pytest.fixture
def queue():
    q = InlineQueue(workers=2)
    yield q
    q.close()


def test_a_job_that_fails_transiently_is_retried_until_it_succeeds(queue):
    assert queue.enqueue("index", flaky, "transient", 2).result(timeout=30) == "transient"

    assert attempts["transient"] == 3
    assert queue.stats()["queues"]["index"]["finished"] == 1
    assert queue.stats()["queues"]["index"]["failed"] == 0


def test_bad_input_is_not_retried_and_is_kept_with_its_reason(queue):
    handle = queue.enqueue("faces", poison, "poison.jpg")
    with pytest.raises(BadInput):
        handle.result(timeout=30)

    stats = queue.stats()
    assert attempts["poison.jpg"] == 1
    assert stats["queues"]["faces"]["failed"] == 1
    (failure,) = stats["failed"]
    assert failure["queue"] == "faces"
    assert failure["reason"] == "BadInput: poison.jpg is not an image"


def test_a_job_that_keeps_failing_ends_failed_after_its_retries(queue):
    handle = queue.enqueue("maintenance", flaky, "hopeless", 99)  # maintenance: 1 retry
    with pytest.raises(RuntimeError):
        handle.result(timeout=30)

    assert attempts["hopeless"] == 2
    assert queue.stats()["failed"][0]["reason"] == "RuntimeError: transient failure 2"


def test_unknown_queues_are_refused(queue):
    with pytest.raises(BadInput, match="unknown queue"):
        queue.enqueue("nope", flaky, "x", 0)


def test_stats_list_every_queue_and_the_workers(queue):
    stats = queue.stats()

    assert set(stats["queues"]) == {"faces", "video", "pages", "maintenance", "index"}
    assert {"queued", "started", "finished", "failed", "deferred", "scheduled", "oldest_queued_age_s"} <= set(
        stats["queues"]["faces"]
    )
    assert len(stats["workers"]) == 2


def test_reconcile_processes_what_was_stored_but_never_processed(app, faces_dir):
    photo = (faces_dir / "face_recognition_ageitgey/tests/test_images/obama.jpg").read_bytes()
    obj = store_bytes(app, photo, filename="obama.jpg")  # stored, then (say) the notification was lost
    assert app.faces.count() == 0

    first = reconcile()
    app.queue.drain()
    second = reconcile()

    assert first["queued_objects"] == 1
    assert app.faces.count({"sha256": obj.sha256}) == 1
    assert second["queued_objects"] == 0  # processed objects are not queued again


# --- The same port on Redis + RQ (a real redis-server; the worker runs in this process, in burst mode).


@pytest.fixture
def rq_queue(tmp_path):
    from lookingglass.pipeline.queue import RQQueue
    from redis_server import RedisServer, redis_available

    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    queue = RQQueue(server.url)
    yield queue
    queue.close()
    server.stop()


def run_burst(queue, *names: str) -> None:
    from lookingglass.pipeline.worker import LookingGlassWorker

    LookingGlassWorker(list(names), connection=queue.connection).work(burst=True, logging_level="WARNING")


def test_rq_runs_the_same_plain_job_functions(rq_queue):
    handle = rq_queue.enqueue("index", flaky, "on-rq", 0)
    run_burst(rq_queue, "index")

    assert handle.result(timeout=10) == "on-rq"
    assert rq_queue.stats()["queues"]["index"]["finished"] == 1


def test_rq_does_not_retry_bad_input_and_keeps_the_reason(rq_queue):
    handle = rq_queue.enqueue("faces", poison, "rq-poison.jpg")
    run_burst(rq_queue, "faces")

    with pytest.raises(Exception, match="failed"):
        handle.result(timeout=10)
    stats = rq_queue.stats()
    assert attempts["rq-poison.jpg"] == 1
    assert stats["queues"]["faces"]["failed"] == 1
    assert stats["queues"]["faces"]["scheduled"] == 0  # no retry waiting
    (failure,) = stats["failed"]
    assert "BadInput: rq-poison.jpg is not an image" in failure["reason"]


def test_rq_queues_work_once_while_the_same_job_id_is_waiting(rq_queue):
    first = rq_queue.enqueue("faces", flaky, "dedup", 0, job_id="process_image.dedup")
    second = rq_queue.enqueue("faces", flaky, "dedup", 0, job_id="process_image.dedup")

    assert first.id == second.id
    assert rq_queue.stats()["queues"]["faces"]["queued"] == 1
    assert rq_queue.stats()["queues"]["faces"]["oldest_queued_age_s"] >= 0


def test_rq_health_reports_latency_and_hides_passwords(rq_queue):
    from lookingglass.pipeline.queue import _safe_url

    health = rq_queue.health()

    assert health["ok"] is True and health["latency_ms"] >= 0
    assert _safe_url("redis://user:hunter2@redis:6379/0") == "redis://user:***@redis:6379/0"


def test_the_periodic_jobs_are_registered_for_rq_cron(rq_queue):
    from lookingglass.pipeline.schedule import SCHEDULE, cron_scheduler

    scheduler = cron_scheduler(rq_queue.connection)

    assert [job.name for job in scheduler.get_jobs()] == [p.name for p in SCHEDULE]
    assert {job.queue_name for job in scheduler.get_jobs()} == {"maintenance"}


def test_the_embedded_timer_knows_when_each_job_is_next_due():
    from datetime import UTC, datetime

    from lookingglass.pipeline.schedule import TimerScheduler

    timer = TimerScheduler(InlineQueue(workers=1))
    due = timer.next_runs(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

    assert due["reconcile"] == datetime(2026, 11, 26, 3, 30, tzinfo=UTC)


def reports_then_waits(gate: threading.Event) -> str:
    from lookingglass.pipeline.queue import report_progress

    report_progress(0.25, "faces")
    gate.wait(10)
    return "done"


def test_a_running_job_shows_its_progress_in_the_stats(queue):
    gate = threading.Event()
    handle = queue.enqueue("video", reports_then_waits, gate)
    for _ in range(200):
        busy = [w for w in queue.stats()["workers"] if w.get("progress")]
        if busy:
            break
        threading.Event().wait(0.01)
    gate.set()

    assert busy[0]["progress"] == {"fraction": 0.25, "stage": "faces"}
    assert handle.result(timeout=10) == "done"
    assert not any(w.get("progress") for w in queue.stats()["workers"])


# --- What callers ask the port instead of asking which adapter it is: the same answers' meaning on both.


def whose_process() -> int:
    import os

    return os.getpid()


@pytest.fixture(params=["inline", "rq"])
def any_queue(request, tmp_path):
    if request.param == "inline":
        q = InlineQueue(workers=1)
        yield q
        q.close()
    else:
        yield request.getfixturevalue("rq_queue")


def finish(queue, handle, *names: str):
    """Let the submitted job run to its end, wherever this queue runs jobs; its result or its exception."""
    if not queue.runs_here:
        queue.worker(list(names)).work(burst=True, logging_level="WARNING")
    return handle.result(timeout=30)


def test_runs_here_says_whether_submitted_work_runs_in_this_process(any_queue):
    import os

    handle = any_queue.enqueue("index", whose_process)

    if any_queue.runs_here:
        assert handle.result(timeout=30) == os.getpid()
    else:  # it waits for a worker: nothing runs it until one consumes the queue
        assert any_queue.stats()["queues"]["index"]["queued"] == 1
        assert finish(any_queue, handle, "index") == os.getpid()  # the burst worker here is a SimpleWorker


def test_failure_gives_the_reason_of_a_failed_job_by_the_id_it_was_submitted_under(any_queue):
    bad = any_queue.enqueue("faces", poison, "port.jpg", job_id="process_image.port")
    good = any_queue.enqueue("faces", flaky, "port-ok", 0, job_id="process_image.fine")
    with pytest.raises(Exception, match="not an image"):
        finish(any_queue, bad, "faces")
    assert good.result(timeout=30) == "port-ok"

    assert "BadInput: port.jpg is not an image" in any_queue.failure(["store_faces.port", "process_image.port"])
    assert any_queue.failure(["process_image.fine"]) is None  # finished
    assert any_queue.failure(["process_image.never"]) is None  # never submitted


def test_only_a_queue_whose_work_runs_elsewhere_has_workers_and_a_retry_scheduler(any_queue):
    if any_queue.runs_here:
        with pytest.raises(BadInput, match="REDIS_URL"):
            any_queue.worker(["index"])
        with pytest.raises(BadInput, match="REDIS_URL"):
            any_queue.retry_scheduler(["index"], name="owner")
        return
    with pytest.raises(BadInput, match="unknown queue"):
        any_queue.worker(["nope"])
    handle = any_queue.enqueue("index", flaky, "retried-on-rq", 1)  # fails once; index retries after 1 s
    any_queue.worker(["index"], in_thread=True, name="owner-index-test").work(burst=True, logging_level="WARNING")
    assert any_queue.stats()["queues"]["index"]["scheduled"] == 1  # parked until its backoff is over

    scheduler = any_queue.retry_scheduler(["index"], name="owner-index-test")
    for _ in range(100):  # the backoff is 1 s: poll until the scheduler has put the retry back
        if scheduler.acquire_locks():
            scheduler.enqueue_scheduled_jobs()
        if any_queue.stats()["queues"]["index"]["queued"] == 1:
            break
        threading.Event().wait(0.1)
    scheduler.release_locks()

    assert finish(any_queue, handle, "index") == "retried-on-rq"


def test_a_job_queued_under_its_old_name_by_an_older_version_still_finds_its_function() -> None:
    assert (
        job_path(resolve_job("lookingglass.pipeline.jobs.forget_object"))
        == "lookingglass.pipeline.forget.forget_object"
    )
    for old, new in RENAMED_JOBS.items():
        assert job_path(resolve_job(old)) == new  # every new name is a job that exists now
