"""The installation itself: is it healthy, what are the queues doing, what the bucket says it changed; and the data
dir's own upkeep (check it, rebuild what is derived).

`health`, `queue_stats` and `bucket_events` are operations (routes, and through `serve` for the CLI). `check_data_dir`
and `rebuild_indexes` are not: they need the data dir to themselves, so they take the settings (no stores opened),
refuse while `serve` owns it, and run only here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from lookingglass.app import App
from lookingglass.errors import DataDirBusy, NotFound, Unavailable
from lookingglass.services import Caller, Record, operation
from lookingglass.settings import Settings

# ---------------------------------------------------------------------------------------------------------------
# Health


class DeviceReport(Record):
    requested: str = Field(description="LG_DEVICE: auto, cpu, cuda or cuda:N")
    device: str = Field(description="the device chosen: cpu or cuda:N")
    reason: str = Field(description="why: auto says whether a usable GPU was found, and if not why not")
    models: dict[str, str] = Field(
        description="where each model runs, e.g. retinaface cuda:0, yunet cpu (OpenCV without CUDA), whisper cuda:0"
        " float16"
    )


class Health(Record):
    ok: bool = Field(description="every backend answered")
    backends: dict[str, dict] | None = Field(
        None, description="each backend's own report (ok, latency_ms, backend-specific details); users only"
    )
    embedder: str | None = Field(None, description="the face embedder in use; users only")
    device: DeviceReport | None = Field(None, description="the execution device and each model's place; users only")
    elapsed_ms: float | None = Field(None, description="how long the checks took; users only")


@operation
def health(app: App, caller: Caller) -> Health:
    """Each backend's status and latency. Anonymous callers (load balancers, healthchecks) learn only `ok`: paths,
    endpoints and latencies are for users."""
    started = time.perf_counter()
    checks = app.health()
    ok = all(c.get("ok") for c in checks.values())
    if caller.via == "anonymous":
        return Health(ok=ok)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    device = DeviceReport(
        requested=app.device.requested,
        device=str(app.device.device),
        reason=app.device.reason,
        models=app.placements(),
    )
    return Health(ok=ok, backends=checks, embedder=app.settings.embedder, device=device, elapsed_ms=elapsed)


# ---------------------------------------------------------------------------------------------------------------
# Queue stats


class QueueCounts(Record):
    queued: int
    started: int
    finished: int
    failed: int
    deferred: int
    scheduled: int
    oldest_queued_age_s: float | None = Field(description="seconds the oldest waiting job has waited")
    recent_job_s: float | None = Field(None, description="mean run time of the queue's latest jobs (seconds)")
    done_fraction: float | None = Field(
        None, ge=0, le=1, description="finished and failed jobs over those and the ones still to run (progress)"
    )
    eta_s: float | None = Field(
        None, description="seconds until the jobs still to run are done, at the recent run time (None: unknown)"
    )


class JobView(Record):
    """A job as a person reads it: the file it works on and what it does, not a Python call and a hash."""

    id: str
    queue: str
    function: str | None = Field(None, description="the job's function (process_image, process_video, ...)")
    sha256: str | None = Field(None, description="the object it works on, when it works on one")
    file: str | None = Field(None, description="that object's file name (upload, file path or URL), else None")
    kind: str | None = Field(None, description="that object's kind (image, video, audio, page)")
    task: str = Field(description="what the job does, in words")
    description: str | None = None


class Progress(Record):
    fraction: float = Field(ge=0, le=1)
    stage: str


class WorkerState(Record):
    name: str
    state: str
    current_job: str | None = None
    job: JobView | None = Field(None, description="the job it runs, by file name and kind")
    progress: Progress | None = None
    queues: list[str] | None = Field(None, description="RQ workers: the queues it takes")
    last_heartbeat: str | None = Field(None, description="RQ workers")
    successful_jobs: int | None = Field(None, description="RQ workers")
    failed_jobs: int | None = Field(None, description="RQ workers")


class FailedJob(JobView):
    reason: str = Field(description="why it failed, in plain words")
    ended_at: str | None


class QueueStats(Record):
    backend: Literal["inline", "rq"]
    queues: dict[str, QueueCounts]
    workers: list[WorkerState]
    waiting: list[JobView] = Field(default_factory=list, description="the first jobs waiting in each queue")
    failed: list[FailedJob] = Field(description="the latest failures, with their reasons")


TASKS = {
    "process_image": "find faces",
    "process_video": "faces and speech",
    "process_page": "read the page",
    "process_transcript": "read the transcript",
    "store_faces": "index faces",
    "store_graph": "store entities",
    "forget_object": "forget",
    "ingest_key": "store a dropped-in file",
    "forget_key": "forget a dropped-in file",
    "analyse_graph": "graph analytics",
    "recluster": "group faces into people",
    "reconcile": "queue what is unprocessed",
}


@operation
def queue_stats(app: App, caller: Caller) -> QueueStats:
    """Queues (counts, progress and ETA), workers (with the running job's progress), the first waiting jobs and the
    latest failures with their reasons; every job by its file name and kind."""
    stats = app.queue.stats()
    objects: dict[str, tuple[str | None, str | None]] = {}
    for job in (*stats.get("waiting", ()), *stats["failed"], *(w.get("job") or {} for w in stats["workers"])):
        if job:
            _name_job(app, job, objects)
    for name, counts in stats["queues"].items():
        counts.update(_progress_and_eta(name, counts, stats["workers"]))
    for failure in stats["failed"]:
        failure["reason"] = plain_reason(failure["reason"])
    return QueueStats.model_validate(stats)


def _name_job(app: App, job: dict, objects: dict) -> None:
    """Add the file name and kind of the object a job works on (looked up once per object)."""
    from lookingglass.errors import NotFound

    sha256 = job.get("sha256")
    if sha256 and sha256 not in objects:
        try:
            obj = app.objects.get(sha256)
            objects[sha256] = (file_label(obj), obj.kind)
        except (NotFound, Unavailable):
            objects[sha256] = (None, None)
    job["file"], job["kind"] = objects.get(sha256, (None, None)) if sha256 else (None, None)
    function = job.get("function") or ""
    job["task"] = TASKS.get(function, function.replace("_", " ") or "job")


def file_label(obj) -> str:
    """A stored object's name for people: the uploaded file's name, else the last part of where it came from (a
    path or a URL), else a page's title, else the start of its hash."""
    from pathlib import PurePosixPath
    from urllib.parse import unquote, urlsplit

    names = obj.metadata.get("names") or []
    if names:
        return str(names[0])
    for url in obj.metadata.get("source_urls") or []:
        tail = PurePosixPath(unquote(urlsplit(str(url)).path)).name
        if tail:
            return tail
    titles = obj.metadata.get("page_titles") or obj.metadata.get("title")
    if titles:
        return str(titles[0] if isinstance(titles, list) else titles)
    return f"{obj.kind or 'object'} {obj.sha256[:12]}"


def _progress_and_eta(queue: str, counts: dict, workers: list[dict]) -> dict:
    """How far a queue is (finished and failed over everything it was given) and when what is left will be done:
    what is left, run by the workers that take this queue, at the queue's recent run time per job."""
    left = counts["queued"] + counts["started"] + counts["deferred"] + counts["scheduled"]
    done = counts["finished"] + counts["failed"]
    fraction = round(done / (done + left), 3) if done + left else None
    takers = sum(1 for w in workers if w.get("queues") is None or queue in (w.get("queues") or ()))
    per_job = counts.get("recent_job_s")
    if not left:
        eta = 0.0
    elif per_job is None or not takers:
        eta = None
    else:
        eta = round(left * per_job / min(takers, left), 1)
    return {"done_fraction": fraction, "eta_s": eta}


def plain_reason(reason: str) -> str:
    """A failure's reason without the exception's class name ("BadInput: cannot decode ..." → "cannot decode ..."),
    the way our errors are written to be read."""
    import re

    match = re.match(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*: (.+)$", reason, re.S)
    return match.group(1) if match else reason


class JobRequest(Record):
    job_id: str = Field(max_length=300, pattern=r"^[A-Za-z0-9_.:-]+$", description="the failed job's id")


class JobRetried(Record):
    id: str
    queue: str
    sha256: str | None = Field(description="the object whose job runs again")


@operation
def retry_job(app: App, caller: Caller, *, job_id: str) -> JobRetried:
    """Run a failed job again (same function and arguments), dropping its failure record; its object's recorded
    error is cleared first, so the object's outcome says what this run finds."""
    from lookingglass.services import audit

    listed = next((f for f in app.queue.stats()["failed"] if f["id"] == job_id), {})  # the latest failures
    sha256 = listed.get("sha256")
    if sha256:
        with contextlib.suppress(NotFound):
            app.objects.annotate(sha256, {"processing_error": None})
    handle = app.queue.retry_failed(job_id)  # NotFound when no failed job has that id (retried or removed already)
    audit(app, caller, "job_retried", target=job_id)
    return JobRetried(id=handle.id, queue=handle.queue, sha256=sha256)


class JobRemoved(Record):
    id: str
    removed: bool


@operation
def remove_job(app: App, caller: Caller, *, job_id: str) -> JobRemoved:
    """Drop a failed job's record (the object, if any, stays as it is: its recorded error remains)."""
    from lookingglass.services import audit

    app.queue.remove_failed(job_id)
    audit(app, caller, "job_removed", target=job_id)
    return JobRemoved(id=job_id, removed=True)


# ---------------------------------------------------------------------------------------------------------------
# Bucket notifications


class BucketEvent(Record):
    key: str
    action: Literal["created", "removed"]
    job: str | None = Field(None, description="the job queued for it")
    skipped: str | None = Field(None, description="why nothing was queued")


class BucketEvents(Record):
    events: list[BucketEvent]


@operation
def bucket_events(app: App, caller: Caller, notification: object) -> BucketEvents:
    """Queue what an S3 event notification (MinIO webhook, Ceph RGW push) says changed: processing for created
    objects, cleanup for removed ones. `notification` is the document as the bucket sent it (its shape is theirs;
    parse_events says what is wrong with it). The caller has shown the shared token (the route checks it)."""
    from lookingglass.sources.events import dispatch, parse_events

    return BucketEvents(events=[BucketEvent(**event) for event in dispatch(app, parse_events(notification))])


# ---------------------------------------------------------------------------------------------------------------
# The data dir's upkeep: here only, with nobody else holding it


class CheckRequest(Record):
    deep: bool = Field(False, description="read every vector back; PRAGMA integrity_check every SQLite file")


class Finding(Record):
    store: str
    path: str
    level: Literal["ok", "warning", "error"]
    detail: str


class CheckReport(Record):
    ok: bool
    deep: bool
    errors: int
    warnings: int
    findings: list[Finding]


def check_data_dir(settings: Settings, request: CheckRequest) -> CheckReport:
    """Every embedded store on its own (one damaged store does not hide the others), then the permissions."""
    from lookingglass.stores.integrity import check

    _refuse_while_served(settings, "check")
    return CheckReport.model_validate(check(settings, deep=request.deep).to_json())


class RebuildError(Record):
    sha256: str
    message: str


class RebuildResult(Record):
    objects: int = Field(description="objects processed again")
    faces: int
    errors: list[RebuildError]
    previous_stores_kept_at: str | None = Field(description="where the old stores wait when something failed")


def rebuild_indexes(
    settings: Settings, progress: Callable[[int, int, str | None], None] | None = None
) -> RebuildResult:
    """Re-derive the face index, the text index and the graph from the stored objects (`progress(done, total,
    sha256)` as it goes; sha256 None at the end)."""
    from lookingglass.stores.integrity import rebuild_index

    _refuse_while_served(settings, "rebuild-index")
    return RebuildResult.model_validate(rebuild_index(settings, progress))


def _refuse_while_served(settings: Settings, command: str) -> None:
    from lookingglass.web.client import running_server

    if running_server(settings) is not None:
        raise DataDirBusy(f"`lookingglass serve` owns the data dir: stop it first, then run `lookingglass {command}`")
