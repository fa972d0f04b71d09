"""Files someone dropped into the bucket beside our `media/` layout: each becomes a content-addressed object.

A ref (`refs/key-<sha256 of the key>`) remembers which object a key became, so removing the key forgets the object
(unless another key still holds the same bytes) and reconcile knows which keys are already taken in.
"""

from __future__ import annotations

import hashlib

from lookingglass.app import App, current
from lookingglass.errors import NotFound
from lookingglass.pipeline.forget import DERIVED_PREFIXES, forget_object_now
from lookingglass.pipeline.submit import is_processed, process_now, store_bytes

OWN_PREFIXES = ("media/", "meta/", "refs/", *DERIVED_PREFIXES)  # keys we write; anything else was dropped in


def key_ref(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()


def submit_ingest_key(app: App, key: str):
    return app.queue.enqueue("faces", ingest_key, key, job_id=f"ingest_key.{key_ref(key)}")


def submit_forget_key(app: App, key: str):
    return app.queue.enqueue("index", forget_key, key, job_id=f"forget_key.{key_ref(key)}")


def ingest_key(key: str) -> dict:
    """Job (faces queue): store a dropped-in file content-addressed and process it."""
    app = current()
    try:
        data = app.objects.read_key(key)
    except NotFound:
        return {"key": key, "skipped": "key is no longer in the store"}
    obj = store_bytes(app, data, filename=key.rsplit("/", 1)[-1], metadata={"source_urls": [store_url(app, key)]})
    app.objects.write_ref(key_ref(key), {"key": key, "sha256": obj.sha256})
    if is_processed(app, obj):
        return {"key": key, "sha256": obj.sha256, "skipped": "already processed"}
    return {"key": key, **process_now(app, obj.sha256)}


def forget_key(key: str) -> dict:
    """Job (index queue): a dropped-in file was removed: forget the object it became, unless another key still
    holds the same bytes."""
    app = current()
    ref = app.objects.read_ref(key_ref(key))
    if ref is None:
        return {"key": key, "skipped": "nothing was made from this key"}
    sha256 = ref["sha256"]
    app.objects.delete_ref(key_ref(key))
    url = store_url(app, key)
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"key": key, "sha256": sha256, "faces_removed": 0}
    others = [u for u in obj.metadata.get("source_urls", []) if u != url and u.startswith(store_url(app, ""))]
    if others:
        app.objects.annotate(sha256, {"source_urls": [u for u in obj.metadata["source_urls"] if u != url]})
        return {"key": key, "sha256": sha256, "kept": "other keys hold the same bytes"}
    return {"key": key, **forget_object_now(app, sha256)}


def store_url(app: App, key: str) -> str:
    """How a raw key in the store is named in source_urls: s3://bucket/key, or a file:// URL for a local store."""
    if app.settings.distributed_objects:
        return f"s3://{app.settings.s3_bucket}/{key}"
    return (app.settings.data_dir / "objects" / key).resolve().as_uri() if key else ""
