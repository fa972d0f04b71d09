"""VectorIndex port: one collection of face vectors (cosine), `faces_<model>_<dim>`.

Two adapters share one contract (tests/stores/test_vectors.py):
- `EdgeVectorIndex`: Qdrant's embedded engine (qdrant-edge), a shard directory per collection.
  One process owns it (docs/architecture.md).
- `QdrantServerIndex`: a Qdrant server through qdrant-client.
`open_vector_index(settings, ...)` picks one; nothing else asks which. Index maintenance is on the port
(`pending_optimize`, `optimize`, `optimize_aside`): the embedded engine needs its owner to build the index, a server
builds it by itself and answers 0 / False.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import qdrant_edge as qe

from lookingglass.errors import BadInput, CorruptStore, Unavailable
from lookingglass.records import FacePoint, Hit
from lookingglass.stores import shard_check
from lookingglass.stores.edge import EdgeShardIndex, open_shard
from lookingglass.stores.qdrant import QdrantCollection

if TYPE_CHECKING:  # qdrant-client takes ~0.8 s to import; only distributed mode pays for it
    import qdrant_client

    from lookingglass.settings import Settings

# Payload keys that get a keyword index: forgetting filters by sha256, lookups by kind and source host.
INDEXED_KEYS = ("sha256", "kind", "source_host", "page_urls", "person_id")
# A persons collection (people/persons.py) finds a person by one of its faces or objects.
PERSON_KEYS = ("faces", "objects")
UPSERT_BATCH = 512
# Int8 scalar quantization (LG_VECTOR_QUANTIZATION): the HNSW walk scores 1-byte codes kept in RAM, then the best
# OVERSAMPLING x top_k are rescored with the float originals, which stay on disk (bench/vector_scale.py measures it).
QUANTIZATIONS = ("none", "int8")
QUANTILE = 0.99  # the codes span this quantile of each dimension's values, so one outlier cannot flatten the rest
OVERSAMPLING = 2.0


class VectorIndex(Protocol):
    name: str
    dim: int
    pending_optimize: int  # points that may be searched brute force until the owner optimizes (0: nothing to do)

    def upsert(self, points: Sequence[FacePoint]) -> None:
        """Insert or overwrite points by id (ids are deterministic, so a retry never duplicates)."""

    def search(
        self, vector: np.ndarray, *, top_k: int, threshold: float | None = None, filters: dict | None = None
    ) -> list[Hit]:
        """Best first; `threshold`: minimum cosine score; `filters`: {payload_key: value}, exact match."""

    def scroll(self, filters: dict, limit: int = 100) -> list[Hit]:
        """Faces whose payload matches every filter (a list field matches when it contains the value), unranked."""

    def payload(self, point_id: str) -> dict | None:
        """One point's payload, or None when there is no such point."""

    def delete_where(self, key: str, value: str) -> int:
        """Delete every point whose payload[key] == value; returns how many were deleted."""

    def delete_ids(self, point_ids: Sequence[str]) -> int:
        """Delete these points (unknown ids are ignored); returns how many existed."""

    def count(self, filters: dict | None = None) -> int: ...

    def optimize(self) -> bool:
        """Build/refresh the ANN index; may block, so only the owner process calls it off the request path."""

    def optimize_aside(self, timeout: float | None = None) -> bool:
        """Build the ANN index without pausing searches (the owner's background thread); True when it changed."""

    # -- people (issue 14): person assignment reads vectors back and marks faces with their person

    def set_payload(self, point_ids: Sequence[str], payload: dict) -> None:
        """Set these payload keys on these points (other keys are kept; unknown ids are ignored)."""

    def points(self, point_ids: Sequence[str]) -> list[FacePoint]:
        """These points with their vectors and payloads (unknown ids are left out)."""

    def iter_points(self, filters: dict | None = None, batch: int = 1000) -> Iterator[FacePoint]:
        """Every point (matching `filters`) with its vector and payload, in pages of `batch`."""

    def health(self) -> dict: ...

    def close(self) -> None: ...


def collection_name(model: str, dim: int, purpose: str = "faces") -> str:
    """One collection per embedder and dimension, so switching models never mixes vector spaces. `purpose`
    "optout" names the faces people asked never to be indexed (checked before every upsert)."""
    return f"{purpose}_{model}_{dim}"


def open_vector_index(settings: Settings, name: str, dim: int) -> VectorIndex:
    """The Qdrant server when QDRANT_URL or QDRANT_HOST is set, else qdrant-edge under LG_DATA_DIR/vectors."""
    if settings.distributed_vectors:
        layout = CollectionLayout(
            quantization=settings.vector_quantization,
            shards=settings.qdrant_shards,
            replicas=settings.qdrant_replicas,
            write_consistency=settings.qdrant_write_consistency,
        )
        return QdrantServerIndex(connect_qdrant(settings), name, dim, layout)
    return EdgeVectorIndex(settings.data_dir / "vectors", name, dim, settings.vector_quantization)


@dataclass(frozen=True)
class CollectionLayout:
    """How a new server collection is laid out (LG_VECTOR_QUANTIZATION, LG_QDRANT_SHARDS, LG_QDRANT_REPLICAS,
    LG_QDRANT_WRITE_CONSISTENCY). Only creation uses it: an existing collection keeps the layout it was made with."""

    quantization: str = "none"
    shards: int = 1
    replicas: int = 1
    write_consistency: int = 1


def connect_qdrant(settings: Settings) -> qdrant_client.QdrantClient:
    """A client for the configured server; it connects lazily, so an unreachable server shows on first use."""
    from qdrant_client import QdrantClient

    if settings.qdrant_url:
        return QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key, check_compatibility=False)
    return QdrantClient(
        host=settings.qdrant_host,
        port=settings.qdrant_port,
        api_key=settings.qdrant_api_key,
        check_compatibility=False,
    )


def _as_vector(vector: np.ndarray, dim: int) -> np.ndarray:
    """Both backends want a flat float32 vector of the collection's size; say so in our words, not theirs."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if v.shape != (dim,):
        raise BadInput(f"vector has {v.size} dimensions, the index expects {dim}")
    return v


SCORE_SLACK = 1e-3  # float rounding lets a cosine land a hair outside [-1, 1]; more than this is damage
NORM_SLACK = 1e-2  # stored cosine vectors are unit length (the engine normalises them on write)


def score_problem(score: float) -> str | None:
    """Why a cosine score cannot be real (non-finite, or outside [-1, 1]), or None."""
    if not math.isfinite(score) or abs(score) > 1 + SCORE_SLACK:
        return f"a search scored {score}, outside the cosine range [-1, 1]"
    return None


def _clamped(score: float) -> float:
    return max(-1.0, min(1.0, score))


def _check_filters(filters: dict | None) -> dict:
    for key, value in (filters or {}).items():
        if not isinstance(value, str | int):  # bool is an int
            raise BadInput(f"filter {key!r}: exact match needs a str, int or bool, got {type(value).__name__}")
    return filters or {}


def _point_uuid(point_id: str) -> uuid.UUID:
    """Our ids are uuid5 strings; anything else is a caller bug, caught before the engine."""
    try:
        return uuid.UUID(point_id)
    except (ValueError, TypeError, AttributeError) as e:
        raise BadInput(f"point id {point_id!r} is not a UUID string") from e


def _batches(points: Sequence[FacePoint], size: int = UPSERT_BATCH) -> Iterator[Sequence[FacePoint]]:
    for start in range(0, len(points), size):
        yield points[start : start + size]


class EdgeVectorIndex(EdgeShardIndex):
    """Embedded adapter on qdrant-edge: one shard directory `path/name`, owned by this process alone.

    The engine has no background optimizer: new points are searched brute force until `optimize()` runs.
    `pending_optimize` estimates how many points may be unindexed so the owner can decide when to run it.
    One lock serialises shard calls (and makes count-then-delete atomic), so Flask threads can share one
    instance. The engine keeps the GIL inside each call: a long `optimize()` pauses every Python thread.
    """

    what = "vector index"

    def __init__(self, path: Path, name: str, dim: int, quantization: str = "none") -> None:
        super().__init__(Path(path) / name)
        if quantization not in QUANTIZATIONS:
            raise BadInput(f"vector quantization {quantization!r}: expected one of {', '.join(QUANTIZATIONS)}")
        self.name = name
        self.dim = dim
        if name.startswith(("optout", "persons")):  # neither names an object in its payload
            self.fix = shard_check.OPTOUT_FIX
        self._journal: list[Any] | None = None  # updates made while a copy is being optimized aside
        old = self._aside("old")
        if old.exists() and not self.path.exists():  # a crash between the two renames of a swap: put it back
            os.rename(old, self.path)
        self._shard = self._load(self.path, self.dim, self.fix, quantization)
        shutil.rmtree(old, ignore_errors=True)  # only now: the load proved nobody else owns this directory
        shutil.rmtree(self._aside("building"), ignore_errors=True)
        self._check_opened()
        self._ensure_keyword_indexes(PERSON_KEYS if name.startswith("persons") else INDEXED_KEYS)
        self.pending_optimize = self._unindexed()

    @staticmethod
    def _load(path: Path, dim: int, fix: str = shard_check.REBUILD_FIX, quantization: str = "none") -> Any:
        """Open or create the shard. `quantization` applies only to a new shard: an existing one keeps what it was
        created with (the engine would otherwise take what we pass over what it stored), so changing the setting
        means `lookingglass rebuild-index`."""
        stored = _stored_edge_config(path)
        if stored is not None:  # pass its vector placement back, or the engine would reset it to the default
            memory = _MEMORY.get(stored.get("vectors", {}).get("", {}).get("memory"))
            vectors = qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=memory)
            config = qe.EdgeConfig(vectors=vectors)
        elif quantization == "int8":  # codes pinned in RAM, float originals on disk for the rescoring
            vectors = qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold)
            codes = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=QUANTILE, memory=qe.Memory.Pinned)
            config = qe.EdgeConfig(vectors=vectors, quantization_config=codes)
        else:
            config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine))
        return open_shard(path, config, "vector index", fix)  # load checks the stored size and distance against ours

    def _record_problem(self, record: Any) -> str | None:
        vector = record.vector.get("") if isinstance(record.vector, dict) else record.vector
        if vector is None:
            return "its vector is missing"
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != (self.dim,) or not np.isfinite(v).all():
            return "its vector is not finite"
        norm = float(np.linalg.norm(v))
        if abs(norm - 1.0) > NORM_SLACK:
            return f"its vector has length {norm:.4g}, not 1"
        names_its_object = self.fix == shard_check.OPTOUT_FIX or "sha256" in (record.payload or {})
        if not isinstance(record.payload, dict) or not names_its_object:  # an opt-out point holds no payload
            return "its payload is unreadable"
        return None

    def _probe_search(self, record: Any) -> str | None:
        vector = record.vector.get("") if isinstance(record.vector, dict) else record.vector
        for exact in (False, True):  # the ANN graph may miss it; an exact search may not
            params = qe.SearchParams(exact=exact, quantization=_RESCORE)  # int8 scores alone may pass 1 by a hair
            found = self._shard.query(qe.QueryRequest(limit=10, query=qe.Query.Nearest(list(vector)), params=params))
            for p in found:
                problem = score_problem(float(p.score))
                if problem:
                    return problem
            if any(str(p.id) == str(record.id) and p.score >= 1 - SCORE_SLACK for p in found):
                return None
        return f"point {record.id} is not found by its own vector"

    def _aside(self, suffix: str) -> Path:
        return self.path.with_name(f".{self.name}.{suffix}")

    def _apply(self, shard: Any, operation: Any) -> None:
        shard.update(operation)
        if self._journal is not None:
            self._journal.append(operation)

    def _unindexed(self) -> int:
        info = self._shard.info()
        return max(0, info.points_count - info.indexed_vectors_count)

    def _filter(self, filters: dict | None) -> Any:
        conditions = [
            qe.FieldCondition(key, match=qe.MatchValue(value)) for key, value in _check_filters(filters).items()
        ]
        return qe.Filter(must=conditions) if conditions else None

    def upsert(self, points: Sequence[FacePoint]) -> None:
        """Insert or overwrite by id; ids must be UUID strings (the engine takes UUIDs or unsigned ints)."""
        converted = [qe.Point(_point_uuid(p.id), _as_vector(p.vector, self.dim), p.payload) for p in points]
        with self._lock:
            shard = self._open_shard()
            for start in range(0, len(converted), UPSERT_BATCH):
                self._apply(shard, qe.UpdateOperation.upsert_points(converted[start : start + UPSERT_BATCH]))
            self.pending_optimize += len(converted)

    def search(
        self, vector: np.ndarray, *, top_k: int, threshold: float | None = None, filters: dict | None = None
    ) -> list[Hit]:
        request = qe.QueryRequest(
            limit=top_k,
            query=qe.Query.Nearest(_as_vector(vector, self.dim)),
            filter=self._filter(filters),
            score_threshold=threshold,
            with_payload=True,
            params=_EDGE_RESCORE,
        )
        with self._lock, self._reading():
            found = self._open_shard().query(request)
            for p in found:
                problem = score_problem(float(p.score))
                if problem:
                    raise self._corrupt(problem)
        return [Hit(id=str(p.id), score=_clamped(float(p.score)), payload=dict(p.payload or {})) for p in found]

    def scroll(self, filters: dict, limit: int = 100) -> list[Hit]:
        request = qe.ScrollRequest(limit=limit, filter=self._filter(filters), with_payload=True)
        with self._lock, self._reading():
            records, _ = self._open_shard().scroll(request)
        return [Hit(id=str(r.id), score=1.0, payload=dict(r.payload or {})) for r in records]

    def payload(self, point_id: str) -> dict | None:
        with self._lock, self._reading():
            found = self._open_shard().retrieve([_point_uuid(point_id)], with_payload=True, with_vector=False)
        return dict(found[0].payload or {}) if found else None

    def delete_where(self, key: str, value: str) -> int:
        return self._delete_where(self._filter({key: value}))

    def delete_ids(self, point_ids: Sequence[str]) -> int:
        uuids = [_point_uuid(i) for i in point_ids]
        if not uuids:
            return 0
        with self._lock, self._reading():
            shard = self._open_shard()
            found = [r.id for r in shard.retrieve(uuids, with_payload=False, with_vector=False)]
            if found:
                self._apply(shard, qe.UpdateOperation.delete_points(found))
        return len(found)

    def count(self, filters: dict | None = None) -> int:
        return self._count_where(self._filter(filters))

    def optimize(self) -> bool:
        """Build HNSW over unindexed segments. Blocks the whole process (the engine keeps the GIL) until done.

        Segments below the engine's indexing threshold (~10 MB of vectors) stay brute force, so
        `pending_optimize` afterwards is whatever the engine chose to leave unindexed.
        """
        with self._lock:
            shard = self._open_shard()
            changed = shard.optimize()
            self.pending_optimize = self._unindexed()
        return changed

    def optimize_aside(self, timeout: float | None = None) -> bool:
        """Build the index on a copy in a child process while this one keeps serving, then swap it in.

        `optimize()` keeps the GIL for its whole run (17 min at 1M faces), so in a server it would freeze every
        request. Here the lock is held only to copy the shard and, at the end, to swap directories and replay
        the updates made meanwhile; searches in between run brute force on the live shard. Returns False when
        the engine found nothing to index. A crash mid-swap is repaired on the next open.
        """
        building = self._aside("building")
        shutil.rmtree(building, ignore_errors=True)
        with self._lock:
            self._open_shard().flush()
            shutil.copytree(self.path, building)
            self._journal = []
        try:
            child = subprocess.run(
                [sys.executable, "-m", "lookingglass.stores.vectors", "optimize", str(building), str(self.dim)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if child.returncode not in (0, 3):
                raise Unavailable(f"optimizing {self.path} aside failed: {child.stderr.strip()[-500:]}")
        except BaseException:
            with self._lock:
                self._journal = None
            shutil.rmtree(building, ignore_errors=True)
            raise
        with self._lock:
            journal, self._journal = self._journal, None
            if child.returncode == 3 or self._shard is None:  # nothing indexed, or closed meanwhile
                shutil.rmtree(building, ignore_errors=True)
                return False
            self._shard.close()
            self._shard = None
            old = self._aside("old")
            os.rename(self.path, old)
            os.rename(building, self.path)
            self._shard = self._load(self.path, self.dim, self.fix)
            for operation in journal:
                self._shard.update(operation)
            shutil.rmtree(old, ignore_errors=True)
            self.pending_optimize = self._unindexed()
        return True

    # -- people (issue 14)

    def set_payload(self, point_ids: Sequence[str], payload: dict) -> None:
        uuids = [_point_uuid(i) for i in point_ids]
        if not uuids:
            return
        with self._lock, self._reading():
            shard = self._open_shard()
            found = [r.id for r in shard.retrieve(uuids, with_payload=False, with_vector=False)]
            if found:
                self._apply(shard, qe.UpdateOperation.set_payload(found, payload))

    def points(self, point_ids: Sequence[str]) -> list[FacePoint]:
        uuids = [_point_uuid(i) for i in point_ids]
        if not uuids:
            return []
        with self._lock, self._reading():
            found = self._open_shard().retrieve(uuids, with_payload=True, with_vector=True)
        return [_edge_point(r) for r in found]

    def iter_points(self, filters: dict | None = None, batch: int = 1000) -> Iterator[FacePoint]:
        offset = None
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=batch, filter=self._filter(filters), with_payload=True, with_vector=True
            )
            with self._lock, self._reading():
                records, offset = self._open_shard().scroll(request)
            yield from (_edge_point(r) for r in records)
            if offset is None or not records:
                return

    def _health_details(self, info: Any) -> dict:
        return {
            "indexed_vectors": info.indexed_vectors_count,
            "pending_optimize": self.pending_optimize,
            "quantization": self.quantization,
        }

    @property
    def quantization(self) -> str:
        """What the shard was created with ("int8" or "none"), from the config the engine persisted."""
        stored = _stored_edge_config(self.path) or {}
        return "int8" if "scalar" in (stored.get("quantization_config") or {}) else "none"


_MEMORY = {"cold": qe.Memory.Cold, "cached": qe.Memory.Cached, "pinned": qe.Memory.Pinned}
# Rescoring with the originals is what keeps recall@10 at exact search's; on an unquantized shard it does nothing.
_RESCORE = qe.QuantizationSearchParams(rescore=True, oversampling=OVERSAMPLING)
_EDGE_RESCORE = qe.SearchParams(quantization=_RESCORE)


def _stored_edge_config(path: Path) -> dict | None:
    """The config qdrant-edge persisted with a shard (edge_config.json), or None for a shard not yet created."""
    try:
        return json.loads((Path(path) / "edge_config.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: the engine's own load reports the damage


class QdrantServerIndex(QdrantCollection):
    """Server adapter via qdrant-client: one collection of face vectors. The server's own optimizer indexes in the
    background, so nothing is ever pending here and optimizing is a no-op."""

    pending_optimize = 0

    def __init__(
        self, client: qdrant_client.QdrantClient, name: str, dim: int, layout: CollectionLayout | None = None
    ) -> None:
        super().__init__(client, name)
        models = self._models
        self.dim = dim
        layout = layout or CollectionLayout()
        if layout.quantization not in QUANTIZATIONS:
            raise BadInput(f"vector quantization {layout.quantization!r}: expected one of {', '.join(QUANTIZATIONS)}")
        opts = getattr(client, "init_options", {}) or {}
        # qdrant-client's local mode searches exactly and warns that search params do nothing there
        self._local = opts.get("location") == ":memory:" or bool(opts.get("path"))
        self._rescore = models.SearchParams(
            quantization=models.QuantizationSearchParams(rescore=True, oversampling=OVERSAMPLING)
        )
        with self._reachable():
            if not client.collection_exists(name):
                client.create_collection(name, **_server_collection_args(models, dim, layout))
            info = client.get_collection(name)
            vectors = info.config.params.vectors
            size = getattr(vectors, "size", None)
            if size is not None and size != dim:
                raise Unavailable(f"Qdrant collection {name} at {self.url} holds {size}-d vectors, not {dim}-d")
            keys = PERSON_KEYS if name.startswith("persons") else INDEXED_KEYS
            self._ensure_keyword_indexes(info.payload_schema or {}, keys)

    @property
    def quantization(self) -> str:
        """What the collection was created with ("int8" or "none"), as the server reports it."""
        with self._reachable():
            config = self._client.get_collection(self.name).config
        return "int8" if isinstance(config.quantization_config, self._models.ScalarQuantization) else "none"

    def _filter(self, filters: dict | None) -> Any:
        m = self._models
        conditions = [
            m.FieldCondition(key=key, match=m.MatchValue(value=value)) for key, value in _check_filters(filters).items()
        ]
        return m.Filter(must=conditions) if conditions else None

    def upsert(self, points: Sequence[FacePoint]) -> None:
        m = self._models
        with self._reachable():
            for batch in _batches(points):
                structs = [
                    m.PointStruct(
                        id=str(_point_uuid(p.id)),
                        vector=_as_vector(p.vector, self.dim).tolist(),
                        payload=p.payload,
                    )
                    for p in batch
                ]
                self._client.upsert(self.name, points=structs, wait=True)

    def search(
        self, vector: np.ndarray, *, top_k: int, threshold: float | None = None, filters: dict | None = None
    ) -> list[Hit]:
        query = _as_vector(vector, self.dim).tolist()
        with self._reachable():
            found = self._client.query_points(
                self.name,
                query=query,
                limit=top_k,
                score_threshold=threshold,
                query_filter=self._filter(filters),
                with_payload=True,
                search_params=None if self._local else self._rescore,
            ).points
        for p in found:
            problem = score_problem(float(p.score))
            if problem:
                raise CorruptStore(f"Qdrant collection {self.name} at {self.url}: {problem}; restore the collection")
        return [Hit(id=str(p.id), score=_clamped(float(p.score)), payload=dict(p.payload or {})) for p in found]

    def scroll(self, filters: dict, limit: int = 100) -> list[Hit]:
        with self._reachable():
            records, _ = self._client.scroll(
                self.name, scroll_filter=self._filter(filters), limit=limit, with_payload=True
            )
        return [Hit(id=str(r.id), score=1.0, payload=dict(r.payload or {})) for r in records]

    def payload(self, point_id: str) -> dict | None:
        with self._reachable():
            found = self._client.retrieve(self.name, ids=[str(_point_uuid(point_id))], with_payload=True)
        return dict(found[0].payload or {}) if found else None

    def delete_where(self, key: str, value: str) -> int:
        return self._delete_where(self._filter({key: value}))

    def delete_ids(self, point_ids: Sequence[str]) -> int:
        ids = [str(_point_uuid(i)) for i in point_ids]
        if not ids:
            return 0
        with self._reachable():
            found = [r.id for r in self._client.retrieve(self.name, ids=ids, with_payload=False)]
            if found:
                self._client.delete(self.name, points_selector=self._models.PointIdsList(points=found), wait=True)
        return len(found)

    def count(self, filters: dict | None = None) -> int:
        return self._count_where(self._filter(filters))

    def optimize_aside(self, timeout: float | None = None) -> bool:
        """Nothing to do: the server optimizes in the background without pausing anyone."""
        return False

    # -- people (issue 14)

    def set_payload(self, point_ids: Sequence[str], payload: dict) -> None:
        ids = [str(_point_uuid(i)) for i in point_ids]
        if not ids:
            return
        with self._reachable():
            found = [r.id for r in self._client.retrieve(self.name, ids=ids, with_payload=False)]
            if found:
                self._client.set_payload(self.name, payload=payload, points=found, wait=True)

    def points(self, point_ids: Sequence[str]) -> list[FacePoint]:
        ids = [str(_point_uuid(i)) for i in point_ids]
        if not ids:
            return []
        with self._reachable():
            found = self._client.retrieve(self.name, ids=ids, with_payload=True, with_vectors=True)
        return [_server_point(r) for r in found]

    def iter_points(self, filters: dict | None = None, batch: int = 1000) -> Iterator[FacePoint]:
        offset = None
        while True:
            with self._reachable():
                records, offset = self._client.scroll(
                    self.name,
                    scroll_filter=self._filter(filters),
                    limit=batch,
                    offset=offset,
                    with_payload=True,
                    with_vectors=True,
                )
            yield from (_server_point(r) for r in records)
            if offset is None or not records:
                return


def _server_collection_args(models: Any, dim: int, layout: CollectionLayout) -> dict:
    """create_collection's arguments for a new face collection: cosine vectors, and with int8 the codes in RAM and
    the originals on disk; shards, replicas and write consistency as configured (a single server takes 1, 1, 1)."""
    quantized = layout.quantization == "int8"
    args: dict[str, Any] = {
        "vectors_config": models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=quantized or None),
        "shard_number": layout.shards,
        "replication_factor": layout.replicas,
        "write_consistency_factor": layout.write_consistency,
    }
    if quantized:
        args["quantization_config"] = models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=QUANTILE, always_ram=True)
        )
    return args


def _edge_point(record: Any) -> FacePoint:
    vector = record.vector.get("") if isinstance(record.vector, dict) else record.vector
    return FacePoint(id=str(record.id), vector=np.asarray(vector, np.float32), payload=dict(record.payload or {}))


def _server_point(record: Any) -> FacePoint:
    vector = record.vector.get("") if isinstance(record.vector, dict) else record.vector
    return FacePoint(id=str(record.id), vector=np.asarray(vector, np.float32), payload=dict(record.payload or {}))


def _optimize_main(argv: list[str]) -> int:
    """`python -m lookingglass.stores.vectors optimize PATH DIM`: the child side of `optimize_aside`."""
    if len(argv) != 3 or argv[0] != "optimize":
        print("usage: python -m lookingglass.stores.vectors optimize PATH DIM", file=sys.stderr)
        return 2
    shard = EdgeVectorIndex._load(Path(argv[1]), int(argv[2]))
    changed = shard.optimize()
    shard.flush()
    shard.close()
    return 0 if changed else 3


if __name__ == "__main__":
    sys.exit(_optimize_main(sys.argv[1:]))
