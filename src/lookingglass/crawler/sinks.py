"""Where crawled objects go: the object store of this process (`AppSink`), or `serve` when it owns the data dir
(`ServerSink`). Both store content-addressed and record sightings; processing follows the normal event path
(embedded: the store's put is followed by a queued job; with workers: RQ; docs/architecture.md)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from lookingglass.errors import BadInput, LookingGlassError
from lookingglass.sightings import Sighting


@dataclass(frozen=True)
class Stored:
    sha256: str
    kind: str
    new: bool  # first time these bytes were stored


def sightings_metadata(sightings: list[Sighting]) -> dict:
    from lookingglass.stores.objects import merge_metadata

    metadata: dict = {}
    for sighting in sightings:
        metadata = merge_metadata(metadata, sighting.metadata())
    return metadata


class Sink(Protocol):
    def store(self, data: bytes, filename: str, sightings: list[Sighting]) -> Stored: ...

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> None: ...

    def finish(self) -> dict:
        """Wait for what was queued when that is this process's job; returns what was learned (faces, errors)."""
        ...

    def close(self) -> None: ...


class AppSink:
    """Store through this process's App: embedded (the crawl owns the data dir and processes on its thread pool)
    or distributed (S3/Qdrant/RQ: store and enqueue; workers do the rest). Every kind is queued: photos and videos
    for their faces, pages for the entity graph."""

    def __init__(self, app) -> None:
        self.app = app
        self._handles: dict[str, object] = {}  # sha256 -> its processing job, one per object per crawl
        self._lock = threading.Lock()

    def store(self, data: bytes, filename: str, sightings: list[Sighting]) -> Stored:
        from lookingglass.pipeline.jobs import is_processed, store_bytes, submit

        sha = hashlib.sha256(data).hexdigest()
        new = not self.app.objects.exists(sha)
        obj = store_bytes(self.app, data, filename=filename, metadata=sightings_metadata(sightings))
        with self._lock:
            queue_it = sha not in self._handles and not is_processed(self.app, obj)
            if queue_it:
                self._handles[sha] = None  # claimed: the same bytes under another URL will not queue it again
        if queue_it:
            handle = submit(self.app, obj.sha256, obj.kind)
            with self._lock:
                self._handles[sha] = handle
        return Stored(obj.sha256, obj.kind, new)

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> None:
        self.app.objects.annotate(sha256, sightings_metadata(sightings), merge=True)

    def finish(self) -> dict:
        handles = [h for h in self._handles.values() if h is not None]
        if self.app.queue.backend != "inline":
            return {"queued": len(handles)}
        faces = errors = 0
        for handle in handles:
            try:
                faces += (handle.result() or {}).get("faces", 0)
            except (LookingGlassError, OSError, TimeoutError):
                errors += 1
        return {"processed": len(handles) - errors, "faces": faces, "processing_errors": errors}

    def close(self) -> None:
        self.app.close()


class ServerSink:
    """Store through a running `serve` (it owns the embedded data dir); it processes what it is given. Bytes it
    already has from this crawl (the same photo under another URL) are not sent again: only the sighting is."""

    def __init__(self, client) -> None:
        self.client = client
        self.faces: dict[str, int] = {}
        self.kinds: dict[str, str] = {}
        self.queued = 0
        self._lock = threading.Lock()

    def store(self, data: bytes, filename: str, sightings: list[Sighting]) -> Stored:
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            kind = self.kinds.get(sha)
        if kind is not None:
            self.client.add_sightings(sha, sightings)
            return Stored(sha, kind, False)
        first, *rest = sightings
        result = self.client.store_bytes(data, filename, first)
        if "error" in result:
            raise BadInput(result["error"]["message"])
        if rest:
            self.client.add_sightings(result["sha256"], rest)
        with self._lock:
            self.kinds[result["sha256"]] = result["kind"]
            if "faces" in result:
                self.faces[result["sha256"]] = result["faces"]
            else:
                self.queued += 1
        return Stored(result["sha256"], result["kind"], bool(result.get("new", True)))

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> None:
        self.client.add_sightings(sha256, sightings)

    def finish(self) -> dict:
        return {"faces": sum(self.faces.values()), "queued": self.queued}

    def close(self) -> None:
        pass
