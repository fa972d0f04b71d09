"""TextIndex port: ranked (BM25) search over text documents — transcript segments now, page text later.

One index holds every kind of text; each document's payload says which (`kind`). Two adapters share one
contract (tests/stores/test_text_index.py), both on Qdrant sparse vectors with the IDF modifier:
- `EdgeTextIndex`: Qdrant's embedded engine (qdrant-edge), one shard directory. One process owns it
  (docs/architecture.md).
- `QdrantServerTextIndex`: a Qdrant server through qdrant-client.
`open_text_index(settings)` picks one; nothing else asks which.

How a score comes about: `qdrant_edge.Bm25` (client side, for both adapters, so both index the same terms)
turns a document into a sparse vector of hashed terms — lowercased words, English stopwords dropped, Snowball
stemmed — weighted by BM25's term-frequency part `tf·(k+1) / (tf + k·(1 − b + b·len/avg_len))`, and a query into
weight 1 per distinct term. The engine multiplies each term by its IDF `ln(1 + (N − n + 0.5)/(n + 0.5))` over
the whole collection, so the dot product is the document's BM25 score for the query.

Query language: plain words are ranked by BM25 (any word may match; documents matching more, rarer words rank
higher). A "quoted phrase" must also appear in the document as consecutive words, case-insensitive — matched by the
engine's phrase filter on the stored text (exact words: no stemming, stopwords count), so no candidates are lost.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import qdrant_edge as qe

from lookingglass.errors import BadInput, Unavailable
from lookingglass.stores.edge import EdgeShardIndex, open_shard
from lookingglass.stores.qdrant import QdrantCollection
from lookingglass.stores.vectors import connect_qdrant
from lookingglass.text.terms import document_vector, parse_query, query_vector

if TYPE_CHECKING:  # qdrant-client takes ~0.8 s to import; only distributed mode pays for it
    import qdrant_client

    from lookingglass.settings import Settings

SPARSE_VECTOR = "bm25"
TEXT_KEY = "text"  # the payload field holding the document's text (phrase filters run on it)
# Payload keys that get a keyword index: forgetting filters by sha256, searches by kind.
INDEXED_KEYS = ("sha256", "kind")
REQUIRED_KEYS = ("kind", "sha256")
UPSERT_BATCH = 512
MAX_LIMIT = 1000
DOC_NAMESPACE = uuid.UUID("3c1d6a52-9f0e-4f7b-8d2a-6b5e4a7c1f93")


# ----------------------------------------------------------------------------------------------------
# Documents and hits


def doc_id(sha256: str, kind: str, index: int) -> str:
    """The id of an object's `index`-th document of `kind`: re-indexing overwrites instead of adding more."""
    return str(uuid.uuid5(DOC_NAMESPACE, f"{sha256}:{kind}:{index}"))


@dataclass(frozen=True)
class TextDoc:
    """One searchable stretch of text. `payload` holds at least kind, sha256, source_url, start, end.

    For a transcript segment, start/end are seconds into the media; for page text, character offsets or None.
    """

    id: str
    text: str
    payload: dict = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        sha256: str,
        index: int,
        text: str,
        *,
        kind: str,
        source_url: str | None = None,
        start: float | None = None,
        end: float | None = None,
        **extra: Any,
    ) -> TextDoc:
        """A document with a deterministic id from (object, kind, position) and the standard payload."""
        payload = {"kind": kind, "sha256": sha256, "source_url": source_url, "start": start, "end": end, **extra}
        return cls(doc_id(sha256, kind, index), text, payload)


@dataclass(frozen=True)
class TextHit:
    """One search result: the document's text and payload, and its BM25 score (higher is better)."""

    id: str
    score: float
    text: str
    payload: dict

    def to_json(self, snippet: str | None = None) -> dict:
        """The shape of `GET /search` and `lookingglass search --json` hits."""
        p = self.payload
        return {
            "text": self.text,
            "snippet": snippet,
            "score": round(self.score, 6),
            "sha256": p.get("sha256"),
            "source_url": p.get("source_url"),
            "kind": p.get("kind"),
            "start": p.get("start"),
            "end": p.get("end"),
            "title": p.get("title"),
        }


# ----------------------------------------------------------------------------------------------------
# The port


class TextIndex(Protocol):
    name: str

    def upsert(self, docs: Sequence[TextDoc]) -> None:
        """Insert or overwrite documents by id (ids are deterministic, so a retry never duplicates)."""

    def search(self, query: str, *, limit: int, kind: str | None = None, filters: dict | None = None) -> list[TextHit]:
        """Best first by BM25. `kind`: only documents of that kind; `filters`: {payload_key: value}, exact match.

        Raises BadInput for an empty query. A query of stopwords only ranks nothing and returns [] (unless it
        holds a quoted phrase: then the documents containing the phrase come back with score 0).
        """

    def delete_where(self, key: str, value: str) -> int:
        """Delete every document whose payload[key] == value; returns how many were deleted."""

    def count(self, filters: dict | None = None) -> int: ...

    def optimize(self) -> bool:
        """Merge and vacuum segments; may block, so only the owner process calls it off the request path."""

    def health(self) -> dict: ...

    def close(self) -> None: ...


def open_text_index(settings: Settings, name: str = "text") -> TextIndex:
    """The Qdrant server when QDRANT_URL or QDRANT_HOST is set, else qdrant-edge in LG_DATA_DIR/<name>."""
    if settings.distributed_vectors:
        return QdrantServerTextIndex(connect_qdrant(settings), name)
    return EdgeTextIndex(settings.data_dir, name)


# ----------------------------------------------------------------------------------------------------
# Checks shared by both adapters


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def _conditions(kind: str | None, filters: dict | None) -> list[tuple[str, str | int]]:
    """Exact-match conditions as (key, value) pairs; `kind` is one more of them."""
    pairs = list((filters or {}).items())
    if kind is not None:
        pairs.append(("kind", kind))
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise BadInput(f"filter key {key!r} must be a non-empty string")
        if not isinstance(value, str | int):  # bool is an int
            raise BadInput(f"filter {key!r}: exact match needs a str, int or bool, got {type(value).__name__}")
    return pairs


def _doc_uuid(doc_id_: str) -> uuid.UUID:
    """Our ids are uuid5 strings (`doc_id`); anything else is a caller bug, caught before the engine."""
    try:
        return uuid.UUID(doc_id_)
    except (ValueError, TypeError, AttributeError) as e:
        raise BadInput(f"document id {doc_id_!r} is not a UUID string") from e


def _stored_payload(doc: TextDoc) -> dict:
    if not isinstance(doc.text, str):
        raise BadInput(f"document {doc.id}: text must be a string, got {type(doc.text).__name__}")
    if TEXT_KEY in doc.payload:
        raise BadInput(f"document {doc.id}: payload key {TEXT_KEY!r} is reserved for the document's text")
    for key in REQUIRED_KEYS:
        if not isinstance(doc.payload.get(key), str) or not doc.payload[key]:
            raise BadInput(f"document {doc.id}: payload needs a non-empty string {key!r}")
    return {**doc.payload, TEXT_KEY: doc.text}


def _hit(point_id: Any, score: float, payload: dict | None) -> TextHit:
    rest = dict(payload or {})
    text = rest.pop(TEXT_KEY, "")
    return TextHit(id=str(point_id), score=float(score), text=text, payload=rest)


def _batches(items: Sequence[Any], size: int = UPSERT_BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ----------------------------------------------------------------------------------------------------
# Embedded adapter


class EdgeTextIndex(EdgeShardIndex):
    """Embedded adapter on qdrant-edge: one shard directory `path/name`, owned by this process alone.

    Sparse vectors are indexed as they are written (the shard's `indexed_vectors` equals its points at once), so
    unlike the face index there is no HNSW build to wait for and no `optimize_aside`. Quirk: the IDF statistics
    of a live shard keep counting deleted and overwritten documents until their segment is vacuumed (`optimize()`,
    once ≥20% of a segment of ≥1000 points is deleted) or the shard is reopened; rankings stay sensible, scores
    drift a little. One lock serialises shard calls (and makes count-then-delete atomic), so Flask threads can
    share one instance.
    """

    what = "text index"

    def __init__(self, path: Path, name: str = "text") -> None:
        super().__init__(Path(path) / name)
        self.name = name
        self._shard = self._load(self.path)
        self._check_opened()
        schema = self._ensure_keyword_indexes(INDEXED_KEYS)
        if TEXT_KEY not in schema:
            # Exact words for phrase filters: lowercase, no stemming, no stopwords (unlike the BM25 terms).
            params = qe.TextIndexParams(tokenizer=qe.TokenizerType.Word, lowercase=True, phrase_matching=True)
            self._shard.update(qe.UpdateOperation.create_field_index(TEXT_KEY, params))

    @staticmethod
    def _load(path: Path) -> Any:
        config = qe.EdgeConfig(sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)})
        return open_shard(path, config, "text index")

    def _record_problem(self, record: Any) -> str | None:
        payload = record.payload
        keys = (*REQUIRED_KEYS, TEXT_KEY)
        if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in keys):
            return "its payload is unreadable"
        sparse = (record.vector or {}).get(SPARSE_VECTOR) if isinstance(record.vector, dict) else None
        if sparse is not None and not all(math.isfinite(v) and v >= 0 for v in sparse.values):
            return "its term weights are not finite"
        return None

    def _sane(self, hits: list[TextHit]) -> list[TextHit]:
        """BM25 scores are finite and never negative; anything else comes from damaged files."""
        for hit in hits:
            if not math.isfinite(hit.score) or hit.score < 0:
                raise self._corrupt(f"a search scored {hit.score}, which BM25 cannot")
        return hits

    @staticmethod
    def _filter(pairs: list[tuple[str, str | int]], phrases: Sequence[str] = ()) -> Any:
        conditions = [qe.FieldCondition(key, match=qe.MatchValue(value)) for key, value in pairs]
        conditions += [qe.FieldCondition(TEXT_KEY, match=qe.MatchPhrase(phrase)) for phrase in phrases]
        return qe.Filter(must=conditions) if conditions else None

    def upsert(self, docs: Sequence[TextDoc]) -> None:
        """Insert or overwrite by id; ids must be UUID strings (the engine takes UUIDs or unsigned ints)."""
        points = [qe.Point(_doc_uuid(d.id), {SPARSE_VECTOR: document_vector(d.text)}, _stored_payload(d)) for d in docs]
        with self._lock:
            shard = self._open_shard()
            for batch in _batches(points):
                shard.update(qe.UpdateOperation.upsert_points(list(batch)))

    def search(self, query: str, *, limit: int, kind: str | None = None, filters: dict | None = None) -> list[TextHit]:
        parsed = parse_query(query)
        where = self._filter(_conditions(kind, filters), parsed.phrases)
        limit = _check_limit(limit)
        vector = query_vector(parsed.text)
        with self._lock, self._reading():
            shard = self._open_shard()
            if vector.indices:
                found = shard.query(
                    qe.QueryRequest(
                        limit=limit,
                        query=qe.Query.Nearest(vector, using=SPARSE_VECTOR),
                        filter=where,
                        with_payload=True,
                    )
                )
                return self._sane([_hit(p.id, p.score, p.payload) for p in found])
            if not parsed.phrases:
                return []  # only stopwords: nothing to rank by
            records, _ = shard.scroll(qe.ScrollRequest(limit=limit, filter=where, with_payload=True))
        return [_hit(r.id, 0.0, r.payload) for r in records]

    def delete_where(self, key: str, value: str) -> int:
        return self._delete_where(self._filter(_conditions(None, {key: value})))

    def count(self, filters: dict | None = None) -> int:
        return self._count_where(self._filter(_conditions(None, filters)))

    def optimize(self) -> bool:
        """Merge small segments and vacuum deleted documents (which also refreshes IDF). Blocks until done.

        Searching never needs it (sparse vectors are indexed on write). Measured: ~1–5 s for 100k short documents.
        """
        with self._lock:
            return self._open_shard().optimize()

    def _health_details(self, info: Any) -> dict:
        return {"segments": info.segments_count}


# ----------------------------------------------------------------------------------------------------
# Server adapter


class QdrantServerTextIndex(QdrantCollection):
    """Server adapter via qdrant-client: one collection of sparse BM25 vectors.

    Terms are computed here, with the same `qdrant_edge.Bm25` as the embedded adapter, and sent as sparse
    vectors: the server only applies IDF, so both adapters score alike (and no server-side inference is needed).
    """

    def __init__(self, client: qdrant_client.QdrantClient, name: str = "text") -> None:
        super().__init__(client, name)
        models = self._models
        with self._reachable():
            if not client.collection_exists(name):
                client.create_collection(
                    name,
                    vectors_config={},
                    sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                )
            info = client.get_collection(name)
            sparse = (info.config.params.sparse_vectors or {}).get(SPARSE_VECTOR)
            if sparse is None or sparse.modifier != models.Modifier.IDF:
                raise Unavailable(
                    f"Qdrant collection {name} at {self.url} has no sparse vector {SPARSE_VECTOR!r} with the IDF "
                    "modifier: it is not a text index"
                )
            schema = info.payload_schema or {}
            self._ensure_keyword_indexes(schema, INDEXED_KEYS)
            if TEXT_KEY not in schema:
                params = models.TextIndexParams(
                    type=models.TextIndexType.TEXT,
                    tokenizer=models.TokenizerType.WORD,
                    lowercase=True,
                    phrase_matching=True,
                )
                client.create_payload_index(name, TEXT_KEY, params)

    def _filter(self, pairs: list[tuple[str, str | int]], phrases: Sequence[str] = ()) -> Any:
        m = self._models
        conditions: list[Any] = [m.FieldCondition(key=key, match=m.MatchValue(value=value)) for key, value in pairs]
        conditions += [m.FieldCondition(key=TEXT_KEY, match=m.MatchPhrase(phrase=phrase)) for phrase in phrases]
        return m.Filter(must=conditions) if conditions else None

    def _sparse(self, vector: Any) -> Any:
        return self._models.SparseVector(indices=list(vector.indices), values=list(vector.values))

    def upsert(self, docs: Sequence[TextDoc]) -> None:
        m = self._models
        structs = [
            m.PointStruct(
                id=str(_doc_uuid(d.id)),
                vector={SPARSE_VECTOR: self._sparse(document_vector(d.text))},
                payload=_stored_payload(d),
            )
            for d in docs
        ]
        with self._reachable():
            for batch in _batches(structs):
                self._client.upsert(self.name, points=list(batch), wait=True)

    def search(self, query: str, *, limit: int, kind: str | None = None, filters: dict | None = None) -> list[TextHit]:
        parsed = parse_query(query)
        where = self._filter(_conditions(kind, filters), parsed.phrases)
        limit = _check_limit(limit)
        vector = query_vector(parsed.text)
        with self._reachable():
            if vector.indices:
                found = self._client.query_points(
                    self.name,
                    query=self._sparse(vector),
                    using=SPARSE_VECTOR,
                    limit=limit,
                    query_filter=where,
                    with_payload=True,
                ).points
                return [_hit(p.id, p.score, p.payload) for p in found]
            if not parsed.phrases:
                return []  # only stopwords: nothing to rank by
            records, _ = self._client.scroll(self.name, scroll_filter=where, limit=limit, with_payload=True)
        return [_hit(r.id, 0.0, r.payload) for r in records]

    def delete_where(self, key: str, value: str) -> int:
        return self._delete_where(self._filter(_conditions(None, {key: value})))

    def count(self, filters: dict | None = None) -> int:
        return self._count_where(self._filter(_conditions(None, filters)))
