"""Where crawled objects go: the service the `crawl` command chose (the stores opened here, or the `serve` that owns
the data dir), like any upload. Storing is content-addressed with sightings (where each object was seen);
processing follows the normal path (embedded: a queued job in the owner; with workers: RQ)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass
from typing import Protocol

from lookingglass.errors import BadInput, LookingGlassError
from lookingglass.sources.sightings import Sighting


@dataclass(frozen=True)
class Stored:
    sha256: str
    kind: str
    new: bool  # first time these bytes were stored


class Sink(Protocol):
    def store(self, data: bytes, filename: str, sightings: list[Sighting]) -> Stored: ...

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> None: ...

    def finish(self) -> dict:
        """What was learned about processing (faces, errors, jobs queued)."""
        ...


class ServiceSink:
    """Store through the service the command chose (the stores opened here, or the `serve` that owns the data dir):
    every object stored like an upload and processed on the normal path; bytes already stored during this crawl
    (the same photo under another URL) are not sent again, only the new sighting is."""

    def __init__(self, service) -> None:
        self.service = service
        self.faces: dict[str, int] = {}
        self.kinds: dict[str, str] = {}
        self.queued = 0
        self.errors = 0
        self._lock = threading.Lock()

    def store(self, data: bytes, filename: str, sightings: list[Sighting]) -> Stored:
        from lookingglass.services.objects import StoreRequest, store_patiently

        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            kind = self.kinds.get(sha)
        if kind is not None:
            self.add_sightings(sha, sightings)
            return Stored(sha, kind, False)
        first, *rest = sightings
        stored = store_patiently(self.service, StoreRequest(**_fields(first), filename=filename), data)
        if stored.sha256 is None or stored.kind is None:  # not stored at all: the bytes are not usable
            raise _refused(stored, filename)
        if rest:
            self.add_sightings(stored.sha256, rest)
        with self._lock:
            self.kinds[stored.sha256] = stored.kind
            if stored.faces is not None:
                self.faces[stored.sha256] = stored.faces
            elif stored.error is not None:
                self.errors += 1
            else:
                self.queued += 1
        return Stored(stored.sha256, stored.kind, bool(stored.new if stored.new is not None else True))

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> None:
        from lookingglass.services.objects import SightingsRequest

        self.service.add_sightings(SightingsRequest(sightings=[_fields(s) for s in sightings]), sha256=sha256)

    def finish(self) -> dict:
        """What processing found: faces indexed (processed as they were stored), failures, jobs left queued."""
        with self._lock:
            return {
                "processed": len(self.faces),
                "faces": sum(self.faces.values()),
                "processing_errors": self.errors,
                "queued": self.queued,
            }


def _refused(stored, filename: str) -> LookingGlassError:
    """The store's refusal as the error it was (too_large, bad_input, ...), so the crawl reports it by its kind."""
    from lookingglass.errors import exit_code_of

    if stored.error is None:
        return BadInput(f"{filename} could not be stored")
    error = LookingGlassError(stored.error.message)
    error.code = stored.error.code
    error.exit_code = exit_code_of(stored.error.code)
    return error


def _fields(sighting: Sighting) -> dict:
    return {k: v for k, v in asdict(sighting).items() if v is not None}
