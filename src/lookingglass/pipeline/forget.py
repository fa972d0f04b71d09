"""Forgetting an object: the bytes and everything made from them, in every store.

Runs where the stores are writable (the `index` queue's owner, or the process serving a `DELETE /objects/<sha>`).
Idempotent: forgetting what is already gone removes nothing and says so in its counts.
"""

from __future__ import annotations

from lookingglass import people
from lookingglass.app import App, current
from lookingglass.errors import Unavailable

DERIVED_PREFIXES = ("thumbs/", "transcripts/")  # <prefix><sha256>...: made from an object, removed with it


def submit_forget(app: App, sha256: str):
    return app.queue.enqueue("index", forget_object, sha256, job_id=f"forget_object.{sha256}")


def forget_object(sha256: str) -> dict:
    """Job (index queue): remove an object and everything derived from it: faces, thumbnails, transcript, text
    passages, and the graph's mentions and evidence from it (entities and relations left without any are removed
    too)."""
    return forget_object_now(current(), sha256)


def forget_object_now(app: App, sha256: str) -> dict:
    if app.faces is None:
        raise Unavailable("forget_object must run where the vector index is open")
    removed = app.faces.delete_where("sha256", sha256)
    people.forget_object(app, sha256)
    segments = app.text.delete_where("sha256", sha256) if app.text is not None else 0
    graph = app.graph.forget(sha256) if app.graph is not None else {}
    for prefix in DERIVED_PREFIXES:  # thumbs/<sha>/..., transcripts/<sha>.json
        app.objects.delete_prefix(f"{prefix}{sha256}")
    deleted = app.objects.delete(sha256)
    return {
        "sha256": sha256,
        "deleted": deleted,
        "faces_removed": removed,
        "segments_removed": segments,
        "mentions_removed": graph.get("mentions", 0),
    }
