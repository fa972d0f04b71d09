"""What every index on Qdrant's embedded engine (qdrant-edge) shares: opening a shard, its lock, closing it.

A shard is one directory owned by one process (the engine locks its WAL). Both the face index and the text index
keep one shard each behind one lock, which serialises engine calls (and makes count-then-delete atomic) so Flask
threads can share an instance.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from lookingglass.errors import DataDirBusy, Unavailable


def open_shard(path: Path, config: Any, what: str) -> Any:
    """Load the shard at `path` (checking its stored config against ours) or create it; our errors, not the engine's."""
    try:
        if (path / "edge_config.json").exists() or (path / "segments").exists():
            return qe.EdgeShard.load(str(path), config)
        return qe.EdgeShard.create(str(path), config)
    except Exception as e:  # the engine raises plain Exception with a message
        if "WouldBlock" in str(e):
            raise DataDirBusy(
                f"{what} {path} is open in another process (qdrant-edge holds an exclusive "
                "lock on its WAL); stop that process or go through its HTTP API"
            ) from e
        raise Unavailable(f"cannot open {what} {path}: {e}") from e


class EdgeShardIndex:
    """Base of the embedded adapters: the shard, its lock, filtered count/delete, health, close."""

    backend = "qdrant-edge"
    what = "index"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._shard: Any = None

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
        with self._lock:
            return self._open_shard().count(qe.CountRequest(exact=True, filter=where))

    def _delete_where(self, where: Any) -> int:
        with self._lock:
            shard = self._open_shard()
            n = shard.count(qe.CountRequest(exact=True, filter=where))
            if n:
                self._apply(shard, qe.UpdateOperation.delete_points_by_filter(where))
        return n

    def health(self) -> dict:
        with self._lock:
            if self._shard is None:
                return {"backend": self.backend, "ok": False, "collection": self.name, "error": "closed"}
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
                self._shard.flush()
                self._shard.close()
                self._shard = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
