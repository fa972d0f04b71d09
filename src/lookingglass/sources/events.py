"""Bucket notifications → jobs. MinIO and Ceph RGW both send S3 event records; we accept what they send.

Tolerated: a single record or a batch (`Records: [...]`), MinIO's extra top-level `EventName`/`Key`, URL-encoded keys
(`+` for space, `%2F`; AWS and MinIO encode keys, Ceph RGW sends them raw, marked by `eventSource` "ceph:s3"), test
events (`s3:TestEvent`, or no records at all), other buckets' events (ignored), and event names with or without the
`s3:` prefix. Created objects become processing jobs, removed ones cleanup jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from lookingglass.app import App
from lookingglass.errors import BadInput, NotFound
from lookingglass.pipeline.bucket import submit_forget_key, submit_ingest_key
from lookingglass.pipeline.forget import submit_forget
from lookingglass.pipeline.submit import is_processed, submit
from lookingglass.stores.objects import check_sha256

IGNORED_PREFIXES = ("meta/", "refs/")  # our own bookkeeping, written next to the media


@dataclass(frozen=True)
class ObjectEvent:
    action: str  # "created" | "removed"
    bucket: str
    key: str
    name: str  # the event name as sent, e.g. s3:ObjectCreated:Put


def parse_events(doc: object) -> list[ObjectEvent]:
    """The object events in a notification document; [] for test events. BadInput for something that is not one."""
    if not isinstance(doc, dict):
        raise BadInput("an S3 event notification is a JSON object")
    records = doc.get("Records")
    if records is None:
        if "Event" in doc or "EventName" in doc or "Service" in doc:
            return []  # MinIO/AWS test event or an empty notification
        raise BadInput("no 'Records' in the notification")
    if not isinstance(records, list):
        raise BadInput("'Records' must be a list")
    events = []
    for record in records:
        if not isinstance(record, dict):
            raise BadInput("each record must be an object")
        name = str(record.get("eventName") or "")
        short = name.removeprefix("s3:")
        if short.startswith("ObjectCreated"):
            action = "created"
        elif short.startswith("ObjectRemoved"):
            action = "removed"
        else:
            continue  # TestEvent, replication, lifecycle transitions ...
        s3 = record.get("s3") or {}
        key = (s3.get("object") or {}).get("key")
        if not isinstance(key, str) or not key:
            raise BadInput(f"record {name} has no s3.object.key")
        bucket = str((s3.get("bucket") or {}).get("name") or "")
        if not str(record.get("eventSource") or "").startswith("ceph:"):  # RGW's keys are not URL-encoded
            key = unquote_plus(key)
        events.append(ObjectEvent(action=action, bucket=bucket, key=key, name=name))
    return events


def _media_sha(key: str) -> str | None:
    """The sha256 in a key of our own layout `media/<ab>/<sha>.<ext>`, else None."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "media":
        stem = parts[2].split(".", 1)[0]
        try:
            return check_sha256(stem)
        except BadInput:
            return None
    return None


def _already_processed(app: App, sha: str) -> bool:
    """Our own writes notify us too: an object whose faces are stored needs no second pass."""
    try:
        return is_processed(app, app.objects.get(sha))
    except NotFound:
        return False


def dispatch(app: App, events: list[ObjectEvent]) -> list[dict]:
    """Queue the job each event asks for. Returns what was done with each, for the webhook's answer."""
    out = []
    for event in events:
        if event.bucket and event.bucket != app.settings.s3_bucket:
            out.append({"key": event.key, "action": event.action, "skipped": f"bucket {event.bucket} is not ours"})
            continue
        if event.key.startswith(IGNORED_PREFIXES):
            out.append({"key": event.key, "action": event.action, "skipped": "bookkeeping key"})
            continue
        sha = _media_sha(event.key)
        if event.action == "created":
            if sha is not None and _already_processed(app, sha):
                out.append({"key": event.key, "action": event.action, "skipped": "already processed"})
                continue
            handle = submit(app, sha) if sha is not None else submit_ingest_key(app, event.key)
        elif sha is not None:
            handle = submit_forget(app, sha)
        else:
            handle = submit_forget_key(app, event.key)
        out.append({"key": event.key, "action": event.action, "job": handle.id})
    return out
