"""Whether an object's processing is done, failed or still pending: the one answer `--wait` polls in every mode.

Read from the object itself (`processed` / `processing_error` metadata, written where the result is stored), so
the answer is the same whether the job ran inline, in an RQ worker, or came back through the owner's `index`
queue. A job that failed without marking its object (a crash, retries used up) is found in the queue's own
failure records by the job's deterministic id (`Queue.failure`), whichever queue ran it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lookingglass.app import App
from lookingglass.errors import NotFound

DONE, FAILED, PENDING, GONE = "done", "failed", "pending", "gone"


@dataclass(frozen=True)
class Outcome:
    sha256: str
    state: str  # done | failed | pending | gone
    kind: str | None = None
    faces: int = 0  # face points indexed (a video: one per track keyframe)
    entities: int = 0  # a page's entities in the graph
    error: str | None = None
    code: str | None = None  # with an error: the errors.py code it stands for (bad_input: the bytes are bad)

    @property
    def finished(self) -> bool:
        return self.state != PENDING

    def as_dict(self) -> dict:
        return asdict(self)


def object_outcome(app: App, sha256: str, job_id: str | None = None) -> Outcome:
    """Where `sha256`'s processing stands; `job_id` (the one its submission returned) is looked up too, should it
    differ from the deterministic ids."""
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return Outcome(sha256, GONE, error="the object is no longer stored", code="not_found")
    processed = obj.metadata.get("processed") or {}
    key = "graph" if obj.kind == "page" else app.settings.embedder
    if key in processed:
        facts = processed[key]
        return Outcome(sha256, DONE, obj.kind, int(facts.get("faces", 0)), int(facts.get("entities", 0)))
    error = obj.metadata.get("processing_error")
    if error:
        message = str(error.get("message") if isinstance(error, dict) else error)
        return Outcome(sha256, FAILED, obj.kind, error=message, code="bad_input")  # only bad bytes are recorded
    reason = _job_failure(app, sha256, obj.kind, key, job_id)
    if reason is not None:
        return Outcome(sha256, FAILED, obj.kind, error=reason, code="unavailable")
    return Outcome(sha256, PENDING, obj.kind)


def _job_ids(sha256: str, kind: str, model: str) -> list[str]:
    """The ids `submit` and the hand-over to the owner give an object's jobs (submit.py, index.py, graph.py)."""
    if kind == "page":
        return [f"process_page.{sha256}", f"store_graph.{sha256}"]
    first = "process_video" if kind in ("video", "audio") else "process_image"
    return [f"{first}.{sha256}", f"store_faces.{sha256}.{model}"]


def _job_failure(app: App, sha256: str, kind: str, model: str, job_id: str | None) -> str | None:
    ids = _job_ids(sha256, kind, model)
    if job_id is not None and job_id not in ids:
        ids.insert(0, job_id)
    return app.queue.failure(ids)
