"""Job budgets (issue 11): a page bomb, a deeply nested page or two hours of repeated speech is read in bounded
passes; a job over its time or memory budget fails with a plain reason, is marked on its object and is not retried
or re-queued; a full worker pool answers 503 + Retry-After instead of making a request wait."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
import requests

from lookingglass.errors import BudgetExceeded
from lookingglass.pipeline.graph import process_transcript
from lookingglass.pipeline.queue import POLICIES, InlineQueue, policies_with
from lookingglass.pipeline.reconcile import reconcile
from lookingglass.pipeline.submit import store_bytes, submit
from lookingglass.text.html import page_text
from lookingglass.text.passages import MAX_TEXT_CHARS, bounded_text

SENTENCE = "John Smith works at Acme Corporation. "


def page_bomb(megabytes: float) -> bytes:
    """The reported page: the sentence 6,600 times inside a <p>, as many <p>s as make `megabytes`."""
    paragraph = "<p>" + SENTENCE * 6600 + "</p>"
    count = max(1, round(megabytes * 1024 * 1024 / len(paragraph)))
    return f"<html><head><title>bomb</title></head><body>{paragraph * count}</body></html>".encode()


def unique_sentences(count: int) -> str:
    return " ".join(f"Person{i} Smith works at Acme{i} Corporation in Paris." for i in range(count))


@pytest.mark.parametrize("megabytes", [1, 8])
def test_a_page_of_one_repeated_sentence_reads_as_that_sentence_once(megabytes):
    page = page_text(page_bomb(megabytes))

    text, left_out = bounded_text(page.text)

    assert text == SENTENCE.strip()
    assert left_out["repeats_dropped"] > 6600 * megabytes * 3


def test_text_over_the_cap_is_cut_at_a_word_and_the_rest_counted():
    text, left_out = bounded_text(unique_sentences(40_000))

    assert len(text) <= MAX_TEXT_CHARS
    assert not text.endswith(" ")
    assert left_out["truncated_chars"] > 0
    assert "repeats_dropped" not in left_out


def test_short_repeated_pieces_are_kept_so_sentences_still_say_what_they_said():
    text, left_out = bounded_text("Dr. Smith met Dr. Jones. Yes. Yes.")

    assert text == "Dr. Smith met Dr. Jones. Yes. Yes."
    assert left_out == {}


def _page_object(app, html: bytes) -> str:
    return store_bytes(app, html, filename="page.html").sha256


@pytest.mark.parametrize("megabytes", [1, 8])
def test_the_page_bomb_ends_processed_with_what_was_left_out_said(app, megabytes):
    sha = _page_object(app, page_bomb(megabytes))

    result = submit(app, sha, "page").result(timeout=600)

    assert result["entities"] <= 2  # John Smith, Acme Corporation
    facts = app.objects.get(sha).metadata["processed"]["graph"]
    assert facts["passages"] == 1
    assert facts["repeats_dropped"] > 6600


def test_a_deeply_nested_page_ends_processed(app):
    depth = 100_000
    html = (
        "<html><body>" + "<div>" * depth + "<p>Jane Doe leads Norhaven Labs.</p>" + "</div>" * depth + "</body></html>"
    )
    sha = _page_object(app, html.encode())

    result = submit(app, sha, "page").result(timeout=600)

    assert result["entities"] == 0  # lxml gives up past its nesting limit: an empty page, not a crash or a hang
    assert "graph" in app.objects.get(sha).metadata["processed"]


def test_two_hours_of_repeated_speech_end_processed(app):
    sha = _page_object(app, b"<html><body><p>stands in for an audio file</p></body></html>")
    segments = [{"start": i * 3.0, "end": i * 3.0 + 3.0, "text": SENTENCE} for i in range(2 * 3600 // 3)]
    doc = {"sha256": sha, "language": "en", "segments": segments}
    app.objects.write_key(f"transcripts/{sha}.json", json.dumps(doc).encode(), "application/json")

    result = app.queue.enqueue("pages", process_transcript, sha).result(timeout=600)

    assert result["entities"] <= 2
    assert app.objects.get(sha).metadata["processed"]["graph"]["repeats_dropped"] == len(segments) - 1


def test_a_page_job_over_its_time_budget_is_marked_failed_and_not_requeued(app):
    app.recognizer.load()  # loading spaCy (seconds) would count against the job's 1 s otherwise
    app.queue = InlineQueue(workers=1, policies=policies_with({"pages": 1}, {}))
    html = f"<html><body><p>{unique_sentences(8000)}</p></body></html>".encode()
    sha = _page_object(app, html)

    with pytest.raises(BudgetExceeded) as failed:
        submit(app, sha, "page").result(timeout=120)

    assert str(failed.value) == "pages job went over its 1 s time budget"
    error = app.objects.get(sha).metadata["processing_error"]
    assert error["over_budget"] is True
    assert error["message"] == "pages job went over its 1 s time budget"
    stats = app.queue.stats()
    assert stats["queues"]["pages"]["failed"] == 1
    assert stats["failed"][0]["reason"] == "BudgetExceeded: pages job went over its 1 s time budget"
    assert reconcile()["queued_objects"] == 0


def test_a_job_over_its_memory_budget_fails_once_with_the_reason():
    queue = InlineQueue(workers=1, policies=policies_with({}, {"faces": 64}))
    attempts = []

    def hungry() -> None:
        attempts.append(1)
        held = []
        for _ in range(4000):  # up to 4 GB in 1 MB steps; the watchdog stops it near 64 MB
            held.append(bytearray(1024 * 1024))
            threading.Event().wait(0.001)

    with pytest.raises(BudgetExceeded, match=r"^faces job went over its 64 MB memory budget \(the process grew by"):
        queue.enqueue("faces", hungry).result(timeout=120)

    assert len(attempts) == 1  # over budget is not retried: it would only go over again
    queue.close()


def test_budgets_come_from_the_environment():
    from lookingglass.settings import Settings

    settings = Settings.from_env({"LG_JOB_TIMEOUT_PAGES": "300", "LG_JOB_MEMORY_MB_VIDEO": "4096"})
    policies = policies_with(settings.job_timeouts, settings.job_memory_mb)

    assert policies["pages"].timeout == 300
    assert policies["video"].memory_mb == 4096
    assert policies["faces"] == POLICIES["faces"]


def test_a_full_pool_answers_503_with_retry_after_and_lookups_keep_answering(app, analyst_client):
    stored = _page_object(app, b"<html><body><p>already here</p></body></html>")
    app.queue = InlineQueue(workers=1)
    release = threading.Event()
    blocked = [app.queue.enqueue("maintenance", release.wait, 60) for _ in range(2)]  # one running, one waiting
    try:
        answer = analyst_client.post("/objects", data={"file": (io.BytesIO(b"<html><p>hello</p></html>"), "a.html")})
        looked_up = analyst_client.get(f"/objects/{stored}")

        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert answer.get_json()["error"]["code"] == "unavailable"
        assert [o.sha256 for o in app.objects.list()] == [stored]  # nothing was stored: the retry loses nothing
        assert looked_up.status_code == 200
    finally:
        release.set()
        for handle in blocked:
            handle.result(timeout=30)


def _tree_rss_mb(pid: int) -> float:
    """VmRSS of `pid` and every process under it, in MB."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError, StopIteration):
            continue
    return total


SERVE_CEILING_MB = 2048  # measured: ~725 MB peak for the 8 MB bomb (bench/page_bomb.py)


def test_serve_stays_under_its_memory_ceiling_and_answers_lookups_through_the_8mb_bomb(tmp_path, test_images):
    from serve_process import running_serve

    photo = test_images / "obama.jpg"
    with running_serve(tmp_path / "data", tmp_path / "serve.log") as (info, process):
        auth = {"Authorization": f"Bearer {info.token}"}
        peak, done, lookups = [0.0], threading.Event(), []

        def watch() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss_mb(process.pid))

        def look_up() -> None:
            while not done.wait(0.5):
                answer = requests.post(
                    f"{info.url}/lookup", files={"image": photo.read_bytes()}, headers=auth, timeout=120
                )
                lookups.append(answer.status_code)

        threads = [threading.Thread(target=watch), threading.Thread(target=look_up)]
        for thread in threads:
            thread.start()
        try:
            upload = requests.post(
                f"{info.url}/objects", files={"file": ("bomb.html", page_bomb(8))}, headers=auth, timeout=600
            )
        finally:
            done.set()
            for thread in threads:
                thread.join()
        sha = upload.json()["objects"][0]["sha256"]
        graph = requests.get(f"{info.url}/objects/{sha}", headers=auth, timeout=30).json()["metadata"]["processed"]

    assert upload.status_code == 201
    assert graph["graph"]["repeats_dropped"] > 200_000
    assert peak[0] < SERVE_CEILING_MB
    assert lookups and set(lookups) == {200}
