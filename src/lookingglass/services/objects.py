"""Objects: store files and get them processed, see where their processing stands, read them back, forget them.

Storing is content-addressed (a second upload of the same bytes stores nothing twice, and merges where it was
seen). Where the processing runs decides when `store_objects` answers:
- an in-process queue in a server: photos and pages are answered once processed (quick), videos at once;
- an in-process queue in the caller's own process (the CLI that opened the stores): once processed, whatever the
  kind, since the jobs end with the process;
- workers (REDIS_URL): once stored and queued; `object_outcome` says when they are done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import Field, field_validator

from lookingglass.app import App
from lookingglass.errors import BadInput, BudgetExceeded, Forbidden, NotFound, Unavailable
from lookingglass.services import Caller, Record, audit, operation

WAITED_KINDS = ("image", "page")  # a server's own queue: answered once processed (quick); videos at once (202)
UPLOAD_WAIT_S = 60  # ... at most this long: a slower job is answered 202 and goes on in the background
SIGHTING_FIELDS = ("source_url", "page_url", "page_title", "alt", "caption", "context", "seen_at")
JOB_ID = r"^[A-Za-z0-9_.-]{1,200}$"


class _Sighting(Record):
    """Where an object was seen. Form values arrive JSON-decoded (a title "1984" as a number): text stays text."""

    source_url: str | None = Field(None, max_length=8192, description="the media's own URL (http(s), file, s3)")
    page_url: str | None = Field(None, max_length=8192, description="the page it was seen on")
    page_title: str | None = Field(None, max_length=2000)
    alt: str | None = Field(None, max_length=2000, description="the image's alt text on that page")
    caption: str | None = Field(None, max_length=2000, description="the <figcaption> of its figure on that page")
    context: str | None = Field(None, max_length=4000, description="the text right before and after it there")
    seen_at: str | None = Field(None, max_length=64, description="ISO 8601 UTC; now when not given")

    @field_validator(*SIGHTING_FIELDS, mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if value is None or isinstance(value, str | bytes):
            return value
        return json.dumps(value)

    def given(self) -> dict:
        return {k: getattr(self, k) for k in SIGHTING_FIELDS if getattr(self, k)}


class StoreRequest(_Sighting):
    filename: str | None = Field(
        None, max_length=1000, description="the file's name (its suffix helps tell the kind); default: the upload's"
    )

    @field_validator("filename", mode="before")
    @classmethod
    def _name_as_text(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else json.dumps(value)


class Upload(NamedTuple):
    filename: str | None
    data: bytes


class ErrorBody(Record):
    code: str
    message: str


class StoredObject(Record):
    """One uploaded file: stored (sha256, key, kind, job), processed (faces, entities), or failed (error)."""

    filename: str | None = None
    sha256: str | None = None
    key: str | None = None
    kind: str | None = None
    new: bool | None = Field(None, description="false when the same bytes were stored before")
    job: str | None = Field(None, description="the processing job's id (for GET /objects/{sha256}/outcome)")
    faces: int | None = Field(None, description="faces indexed (present once processed)")
    entities: int | None = Field(None, description="a page's entity mentions (present once processed)")
    processing: str | None = Field(None, description="still running after the wait: where to look")
    error: ErrorBody | None = None


class StoreResult(Record):
    objects: list[StoredObject]

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("exclude_none", True)  # a field is present when it applies, as it always was
        return super().model_dump(**kwargs)

    @property
    def http_status(self) -> int:
        """201: every stored file processed; 202: stored, some still queued; 400: nothing could be stored."""
        stored = [o for o in self.objects if o.sha256 is not None]
        if not stored:
            return 400
        return 201 if all(o.faces is not None for o in stored) else 202


@operation
def store_objects(app: App, caller: Caller, request: StoreRequest, file: bytes | list[Upload]) -> StoreResult:
    """Store files and queue their processing; each file that cannot be stored is reported with its error and the
    rest are stored. Refused as a whole (503 + Retry-After, nothing stored) while every in-process worker is busy."""
    from lookingglass.pipeline.queue import SATURATED_RETRY_AFTER
    from lookingglass.pipeline.submit import store_bytes, submit

    uploads = [Upload(request.filename, file)] if isinstance(file, bytes) else file
    metadata = _sighting_metadata(caller, request)
    inline = app.queue.runs_here
    runs_here = inline and caller.via == "cli"  # the caller's own process runs the jobs: they end with it
    if app.queue.saturated():  # nothing stored yet: the caller sends the same request again later and loses nothing
        raise Unavailable(
            f"every worker is busy and more jobs are waiting; try again in {SATURATED_RETRY_AFTER} s",
            retry_after=SATURATED_RETRY_AFTER,
        )
    results: list[StoredObject] = []
    for upload in uploads:
        filename = request.filename or upload.filename
        result: StoredObject | None = None
        try:
            new = not app.objects.exists(hashlib.sha256(upload.data).hexdigest())
            obj = store_bytes(app, upload.data, filename=filename, metadata=_named(metadata, filename))
            audit(app, caller, "upload", query_sha256=obj.sha256)
            result = StoredObject(filename=filename, sha256=obj.sha256, key=obj.key, kind=obj.kind, new=new)
            handle = submit(app, obj.sha256, obj.kind)
            result.job = handle.id
            results.append(result)
            if inline and (runs_here or obj.kind in WAITED_KINDS):
                try:
                    done = handle.result(timeout=None if runs_here else UPLOAD_WAIT_S)
                except TimeoutError:
                    result.processing = f"still running after {UPLOAD_WAIT_S} s; see GET /objects/{obj.sha256}"
                    continue
                result.faces = done.get("faces", 0)
                if obj.kind == "page" or "entities" in done:
                    result.entities = done.get("entities", 0)
        except BadInput as exc:
            error = ErrorBody(code=exc.code, message=exc.message)
            if isinstance(exc, BudgetExceeded) and result is not None:  # stored, and marked failed with the reason
                result.error = error
                continue
            if result is not None:
                results.remove(result)
            results.append(StoredObject(filename=filename, error=error))
    if caller.via == "cli":
        _build_index_when_due(app)
    return StoreResult(objects=results)


def _named(metadata: dict, filename: str | None) -> dict:
    """The metadata with the file's own name (no folders), so queues and results can say which file it is."""
    from pathlib import PurePosixPath

    name = PurePosixPath(filename.replace("\\", "/")).name if filename else ""
    return {**metadata, "names": [name]} if name else dict(metadata)


def _build_index_when_due(app: App) -> None:
    """The process that opened the stores has no background optimizer (`serve` has one): it builds the vector
    index itself once enough points are unindexed (lookups meanwhile search the new points brute force)."""
    if app.faces is not None and app.faces.pending_optimize >= app.settings.optimize_threshold:
        app.faces.optimize()


def reconcile_here(app: App, *, wait: bool) -> tuple[dict, list[tuple[str, str, str]], list[str]]:
    """Queue whatever the object store holds unprocessed, on the stores opened here (it lists the whole store).

    Returns the counts, the failures already known (where, message, error code), and the objects to wait for:
    without workers the work happens now, so whatever is still unprocessed afterwards has failed (its outcome says
    why); with workers, those still unprocessed when `wait` is asked."""
    from lookingglass.pipeline.reconcile import reconcile
    from lookingglass.pipeline.submit import is_processed

    result = reconcile()
    failures = []
    inline = app.queue.runs_here
    if inline:
        app.queue.drain()  # the work happens now, in this process
        for failure in app.queue.stats()["failed"]:
            if ".ingest_key(" in failure["description"]:  # a dropped-in file that never became an object
                failures.append((failure["description"], failure["reason"], "unavailable"))
    left = []
    if inline or wait:
        kinds = ("image", "video", "audio", "page")
        left = [o.sha256 for o in app.objects.list() if o.kind in kinds and not is_processed(app, o)]
    return result, failures, left


def _sighting_metadata(caller: Caller, fields: _Sighting) -> dict:
    """Where an object was seen, as metadata. Only the CLI on this machine may claim a file:// path."""
    from lookingglass.sources.sightings import Sighting

    given = fields.given()
    if not given:
        return {}
    if any(str(v).startswith("file://") for v in given.values()) and caller.via not in ("local", "cli"):
        raise Forbidden("only the CLI on this machine (the local token from server.json) may name a file:// source")
    if "source_url" not in given:
        raise BadInput("page_url, page_title, alt, caption and context describe a source_url; give one")
    return Sighting.from_fields(given).metadata()


class SightingsRequest(Record):
    sightings: list[_Sighting] = Field(min_length=1, max_length=10_000)


class SightingsAdded(Record):
    sha256: str
    sightings: int = Field(description="how many places the object is now known to have been seen")


@operation
def add_sightings(app: App, caller: Caller, request: SightingsRequest, *, sha256: str) -> SightingsAdded:
    """Record more places an object was seen (the crawler's duplicates); its bytes and faces are unchanged."""
    from lookingglass.stores.objects import merge_metadata

    app.objects.get(sha256)  # 404 when unknown
    metadata: dict = {}
    for fields in request.sightings:
        if not fields.source_url:
            raise BadInput("every sighting needs a source_url")
        metadata = merge_metadata(metadata, _sighting_metadata(caller, fields))
    obj = app.objects.annotate(sha256, metadata, merge=True)
    return SightingsAdded(sha256=obj.sha256, sightings=len(obj.metadata.get("sightings") or []))


class ObjectRecord(Record):
    sha256: str
    key: str
    size: int
    kind: str
    content_type: str
    metadata: dict[str, Any] = Field(description="where it was seen, how it was processed (open: grows over time)")
    faces: int = Field(description="faces indexed from it")


@operation
def describe_object(app: App, caller: Caller, *, sha256: str) -> ObjectRecord:
    """An object's record."""
    obj = app.objects.get(sha256)
    return ObjectRecord(
        sha256=obj.sha256,
        key=obj.key,
        size=obj.size,
        kind=obj.kind,
        content_type=obj.content_type,
        metadata=obj.metadata,
        faces=app.faces.count({"sha256": obj.sha256}),
    )


class OutcomeQuery(Record):
    job: str | None = Field(None, pattern=JOB_ID, description="the job id the upload returned")


class ObjectOutcome(Record):
    sha256: str
    state: str = Field(description="done | failed | pending | gone")
    kind: str | None
    faces: int = Field(description="face points indexed (a video: one per track keyframe)")
    entities: int = Field(description="a page's entities in the graph")
    error: str | None
    code: str | None = Field(description="with an error: the error code it stands for (bad_input: the bytes are bad)")


@operation
def object_outcome(app: App, caller: Caller, request: OutcomeQuery, *, sha256: str) -> ObjectOutcome:
    """Where an object's processing stands (done, failed with the reason, pending, gone): what `ingest --wait`
    polls, whoever runs the jobs."""
    from lookingglass.pipeline.outcome import object_outcome as outcome
    from lookingglass.stores.objects import check_sha256

    if caller.via == "cli":
        _store_what_workers_sent(app)
    return ObjectOutcome(**outcome(app, check_sha256(sha256), request.job).as_dict())


def _store_what_workers_sent(app: App) -> None:
    """With workers and embedded stores, the process that opened the stores owns them: it stores what the workers
    send back through the `index` queue (as `serve` does all the time), else nothing they computed would land."""
    if app.queue.runs_here or not app.settings.embedded_stores:
        return
    import os

    worker = app.queue.worker(["index"], in_thread=True, name=f"owner-index-{os.getpid()}")
    worker.work(burst=True, logging_level="WARNING")


@dataclass(frozen=True)
class Content:
    """Stored bytes and how to serve them. `local_file()` is a file to stream from, never read whole: a video is
    served in the ranges a player asks for while it seeks."""

    sha256: str
    content_type: str
    kind: str
    size: int
    local_file: Callable[[], AbstractContextManager[Path]]


@operation
def object_content(app: App, caller: Caller, *, sha256: str) -> Content:
    """The stored bytes."""
    obj = app.objects.get(sha256)
    return Content(obj.sha256, obj.content_type, obj.kind, obj.size, lambda: app.objects.local_file(obj.sha256))


class TranscriptSegment(Record):
    start: float
    end: float
    text: str


class Transcript(Record):
    sha256: str | None = None
    language: str | None = None
    language_probability: float | None = None
    duration: float | None = None
    model: str | None = None
    segments: list[TranscriptSegment]


@operation
def object_transcript(app: App, caller: Caller, *, sha256: str) -> Transcript:
    """The transcript stored beside a video or audio object: language and timed segments."""
    from lookingglass.stores.objects import check_sha256

    try:
        return Transcript.model_validate_json(app.objects.read_key(f"transcripts/{check_sha256(sha256)}.json"))
    except NotFound:
        raise NotFound(f"no transcript for {sha256} (not a video or audio object, or not processed yet)") from None


@operation
def face_thumbnail(app: App, caller: Caller, *, face_id: str) -> bytes:
    """The small JPEG stored for a video keyframe (its payload names it)."""
    key = (app.faces.payload(face_id) or {}).get("thumbnail")
    if not key:
        raise NotFound(f"no thumbnail for face {face_id}")
    return app.objects.read_key(key)


class Forgotten(Record):
    sha256: str
    deleted: bool
    faces_removed: int
    segments_removed: int
    mentions_removed: int


@operation
def forget_object(app: App, caller: Caller, *, sha256: str) -> Forgotten:
    """Forget an object and everything derived from it: faces, thumbnails, transcript, passages, mentions."""
    from lookingglass.pipeline.forget import forget_object_now

    sha256 = app.objects.get(sha256).sha256  # 404 when unknown
    result = Forgotten(**forget_object_now(app, sha256))  # the owner of the stores writes the index itself
    audit(app, caller, "forget", target=sha256, results=result.faces_removed)
    return result


BUSY_PATIENCE_S = 600.0  # a busy owner (503/429 + Retry-After) is asked again for this long per file


def store_patiently(service, request: StoreRequest, data: bytes, patience: float = BUSY_PATIENCE_S) -> StoredObject:
    """`service.store_objects` for one file, asked again after the time a busy owner names (503 or 429 with
    Retry-After) for up to `patience` seconds: storing is content-addressed, so asking twice stores nothing twice.
    For callers that bring many files at once (ingest, the crawler), here or through `serve` alike."""
    import time

    from lookingglass.errors import LookingGlassError

    deadline = time.monotonic() + patience
    while True:
        try:
            return service.store_objects(request, file=data).objects[0]
        except LookingGlassError as exc:
            wait = getattr(exc, "retry_after", None)
            if wait is None or exc.http_status not in (429, 503) or time.monotonic() + wait > deadline:
                raise
            time.sleep(min(max(wait, 0.1), 60.0))
