"""What every index on Qdrant's embedded engine (qdrant-edge) shares: opening a shard, its lock, closing it.

A shard is one directory owned by one process (the engine locks its WAL). Both the face index and the text index
keep one shard each behind one lock, which serialises engine calls (and makes count-then-delete atomic) so Flask
threads can share an instance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from lookingglass.errors import CorruptStore, DataDirBusy, LookingGlassError, Unavailable
from lookingglass.stores import shard_check

PROBE_POINTS = 64  # points read back on every open: cheap, and random bytes over a chunk show in all of them
DEEP_BATCH = 1000


def open_shard(path: Path, config: Any, what: str, fix: str = shard_check.REBUILD_FIX) -> Any:
    """Load the shard at `path` (checking its stored config against ours, and its files against the manifest of its
    last clean close) or create it; our errors, not the engine's."""
    exists = (path / "edge_config.json").exists() or (path / "segments").exists()
    if exists:
        shard_check.verify_files(path, what, fix)
    try:
        if exists:
            return qe.EdgeShard.load(str(path), config)
        return qe.EdgeShard.create(str(path), config)
    except Exception as e:  # the engine raises plain Exception with a message
        if "WouldBlock" in str(e):
            raise DataDirBusy(
                f"{what} {path} is open in another process (qdrant-edge holds an exclusive "
                "lock on its WAL); stop that process or go through its HTTP API"
            ) from e
        damaged = "Service runtime error" in str(e) and "incompatible" not in str(e)  # another config is not damage
        if exists and damaged:  # the engine cannot read its own files
            raise shard_check.corrupt(what, path, str(e), fix) from e
        raise Unavailable(f"cannot open {what} {path}: {e}") from e


class EdgeShardIndex:
    """Base of the embedded adapters: the shard, its lock, filtered count/delete, health, close."""

    backend = "qdrant-edge"
    what = "index"

    fix = shard_check.REBUILD_FIX  # what a damaged shard's error tells the operator to do

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._shard: Any = None
        self.failed: str | None = None  # set when the engine or a result proved the files damaged: health is down

    # -- integrity

    def _corrupt(self, problem: str) -> CorruptStore:
        error = shard_check.corrupt(self.what, self.path, problem, self.fix)
        self.failed = error.message
        return error

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Engine reads: an engine failure here means it cannot read its files, so the index is marked failed."""
        try:
            yield
        except LookingGlassError:
            raise
        except Exception as e:  # the engine raises plain Exception with a message
            raise self._corrupt(str(e)) from e

    def _record_problem(self, record: Any) -> str | None:
        """What is wrong with one stored point read back (vector and payload), or None."""
        return None

    def _probe_search(self, record: Any) -> str | None:
        """Find a stored point by its own vector; what is wrong, or None. Only indexes with dense vectors do."""
        return None

    def _check_opened(self) -> None:
        """After loading: the point count of the last clean close, and a sample read back. Then the manifest goes,
        whatever the check found: loading has already changed files (the engine folds its journals in), so a
        manifest kept now would accuse them at the next open."""
        try:
            self._check_sample()
        except BaseException:
            self._shard.close()  # release the WAL lock: the error is the answer, not a half-open index
            self._shard = None
            raise
        finally:
            shard_check.drop_manifest(self.path)

    def _check_sample(self) -> None:
        manifest = shard_check.read_manifest(self.path) or {}
        with self._reading():
            points = self._shard.info().points_count
            if "points" in manifest and points != manifest["points"]:
                raise self._corrupt(f"it holds {points} points, {manifest['points']} when last closed")
            records, _ = self._shard.scroll(qe.ScrollRequest(limit=PROBE_POINTS, with_payload=True, with_vector=True))
            for record in records:
                problem = self._record_problem(record)
                if problem:
                    raise self._corrupt(f"point {record.id}: {problem}")
            if records:
                problem = self._probe_search(records[0])
                if problem:
                    raise self._corrupt(problem)

    def verify_deep(self) -> dict:
        """Read back every point (vectors and payloads), find every thousandth by its own vector, compare counts.
        Raises CorruptStore at the first problem; returns what was checked."""
        checked = 0
        with self._lock, self._reading():
            shard = self._open_shard()
            expected = shard.info().points_count
            offset = None
            while True:
                records, offset = shard.scroll(
                    qe.ScrollRequest(offset=offset, limit=DEEP_BATCH, with_payload=True, with_vector=True)
                )
                for record in records:
                    problem = self._record_problem(record)
                    if problem is None and checked % DEEP_BATCH == 0:
                        problem = self._probe_search(record)
                    if problem:
                        raise self._corrupt(f"point {record.id}: {problem}")
                    checked += 1
                if offset is None or not records:
                    break
            if checked != expected:
                raise self._corrupt(f"{checked} points could be read back, the index counts {expected}")
        layout = shard_check.layout_problems(self.path)
        if layout:
            raise self._corrupt(layout[0])
        return {"points": checked}

    def _open_shard(self) -> Any:
        if self._shard is None:
            raise Unavailable(f"{self.what} {self.path} is closed")
        return self._shard

    def _ensure_keyword_indexes(self, keys: tuple[str, ...]) -> dict:
        schema = self._shard.info().payload_schema
        for key in keys:
            if key not in schema:
                self._shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
        return schema

    def _apply(self, shard: Any, operation: Any) -> None:
        shard.update(operation)

    def _count_where(self, where: Any) -> int:
        with self._lock, self._reading():
            return self._open_shard().count(qe.CountRequest(exact=True, filter=where))

    def _delete_where(self, where: Any) -> int:
        with self._lock, self._reading():
            shard = self._open_shard()
            n = shard.count(qe.CountRequest(exact=True, filter=where))
            if n:
                self._apply(shard, qe.UpdateOperation.delete_points_by_filter(where))
        return n

    def health(self) -> dict:
        with self._lock:
            if self._shard is None:
                return {"backend": self.backend, "ok": False, "collection": self.name, "error": "closed"}
            if self.failed is not None:
                return {"backend": self.backend, "ok": False, "collection": self.name, "error": self.failed}
            info = self._shard.info()
        return {
            "backend": self.backend,
            "ok": True,
            "collection": self.name,
            "points": info.points_count,
            **self._health_details(info),
        }

    def _health_details(self, info: Any) -> dict:
        """What this kind of index adds to its health report."""
        return {}

    def close(self) -> None:
        """Flush and release the WAL lock so another process may own the directory. Safe to call twice."""
        with self._lock:
            if self._shard is not None:
                points = self._shard.info().points_count
                self._shard.flush()
                self._shard.close()
                self._shard = None
                if self.failed is None:  # a damaged shard gets no manifest that would vouch for it
                    shard_check.write_manifest(self.path, points)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
