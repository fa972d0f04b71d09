"""What every index on a Qdrant server shares: the client, its errors as ours, filtered count/delete, health.

The server twin of `stores/edge.py`: the face index and the text index are each one collection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lookingglass.errors import Unavailable

if TYPE_CHECKING:  # qdrant-client takes ~0.8 s to import; only distributed mode pays for it
    import qdrant_client


class QdrantCollection:
    """Base of the server adapters. The server persists, replicates and optimizes by itself."""

    backend = "qdrant"

    def __init__(self, client: qdrant_client.QdrantClient, name: str) -> None:
        from qdrant_client import models
        from qdrant_client.http.exceptions import ApiException

        self._models = models
        self._api_errors: tuple[type[Exception], ...] = (ApiException,)
        self._client = client
        self.name = name
        opts = getattr(client, "init_options", {}) or {}
        self.url = opts.get("url") or opts.get("location") or f"{opts.get('host')}:{opts.get('port')}"

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Turn qdrant-client transport and API errors into `Unavailable` naming the server."""
        try:
            yield
        except self._api_errors as e:
            raise Unavailable(f"Qdrant server at {self.url} failed: {e}") from e

    def _ensure_keyword_indexes(self, schema: dict, keys: tuple[str, ...]) -> None:
        for key in keys:
            if key not in schema:
                self._client.create_payload_index(self.name, key, self._models.PayloadSchemaType.KEYWORD)

    def _count_where(self, where: Any) -> int:
        with self._reachable():
            return self._client.count(self.name, count_filter=where, exact=True).count

    def _delete_where(self, where: Any) -> int:
        with self._reachable():
            n = self._client.count(self.name, count_filter=where, exact=True).count
            if n:
                self._client.delete(self.name, points_selector=self._models.FilterSelector(filter=where), wait=True)
        return n

    def optimize(self) -> bool:
        """Nothing to do: the server's optimizer indexes, merges and vacuums in the background."""
        return False

    def health(self) -> dict:
        started = time.perf_counter()
        out = {"backend": self.backend, "collection": self.name, "url": self.url}
        try:
            info = self._client.get_collection(self.name)
        except self._api_errors as e:
            return {**out, "ok": False, "error": str(e)}
        latency = round((time.perf_counter() - started) * 1000, 2)
        return {**out, "ok": True, "points": info.points_count or 0, "latency_ms": latency}

    def close(self) -> None:
        self._client.close()
