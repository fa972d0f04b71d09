"""The in-process queue (embedded mode): same job functions, same policies, failures kept with their reason."""

from __future__ import annotations

import threading

import pytest

from lookingglass.errors import BadInput
from lookingglass.pipeline.jobs import reconcile, store_bytes
from lookingglass.pipeline.queue import InlineQueue

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
