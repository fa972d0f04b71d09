"""The installation itself: is it healthy, what are the queues doing, what the bucket says it changed; and the data
dir's own upkeep (check it, rebuild what is derived).

`health`, `queue_stats` and `bucket_events` are operations (routes, and through `serve` for the CLI). `check_data_dir`
and `rebuild_indexes` are not: they need the data dir to themselves, so they take the settings (no stores opened),
refuse while `serve` owns it, and run only here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from lookingglass.app import App
from lookingglass.errors import DataDirBusy
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


class Progress(Record):
    fraction: float = Field(ge=0, le=1)
    stage: str


class WorkerState(Record):
    name: str
    state: str
    current_job: str | None = None
    progress: Progress | None = None
    queues: list[str] | None = Field(None, description="RQ workers: the queues it takes")
    last_heartbeat: str | None = Field(None, description="RQ workers")
    successful_jobs: int | None = Field(None, description="RQ workers")
    failed_jobs: int | None = Field(None, description="RQ workers")


class FailedJob(Record):
    id: str
    queue: str
    description: str | None
    reason: str
    ended_at: str | None


class QueueStats(Record):
    backend: Literal["inline", "rq"]
    queues: dict[str, QueueCounts]
    workers: list[WorkerState]
    failed: list[FailedJob] = Field(description="the latest failures, with their reasons")


@operation
def queue_stats(app: App, caller: Caller) -> QueueStats:
    """Queues, workers (with the running job's progress) and the latest failures with their reasons."""
    return QueueStats.model_validate(app.queue.stats())


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
