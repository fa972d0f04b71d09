"""GraphStore port: the knowledge graph built from pages and transcripts.

What it holds: documents; entities (people, organisations, places, projects); mentions (an entity named in a
sentence of a document); relations between entities (typed: works_for, ceo_of, founded, located_in, member_of; or
`co_mentioned`), each backed by evidence (the sentences it was read from). A document's contribution is replaced
whole on every `put`, so re-processing a page never doubles a count, and `forget` removes it without a trace:
relations left without evidence and entities left with neither mentions nor relations go with it.

Weights: a relation's weight is the number of distinct evidence sentences across all documents (for `co_mentioned`
that is the number of sentences naming both). A relation given without evidence contributes its own `weight` (bulk
loads, imported graphs). `co_mentioned` is symmetric: its endpoints are stored in id order, so A–B and B–A are one edge.

Two adapters share one contract (tests/test_graph_store.py):
- `SqliteGraphStore`: a SQLite file under LG_DATA_DIR (WAL), safe to share between threads of one process.
- `Neo4jGraphStore`: any Bolt server through the official `neo4j` driver — Neo4j 5, or ArcadeDB's Bolt plugin
  (which the tests run). One `RELATED` relationship per (type, source, target, document) carries that document's
  evidence, so forgetting a document is deleting its relationships; weights are summed when read.
`open_graph_store(settings)` picks one; nothing else asks which. Analytics (PageRank, communities) live in
lookingglass.analytics and write their results back through `write_analytics`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.private_sqlite import open_sqlite, sqlite_failure
from lookingglass.records import Extraction

if TYPE_CHECKING:
    import neo4j

    from lookingglass.settings import Settings

log = logging.getLogger("lookingglass.graph")

CO_MENTIONED = "co_mentioned"
SYMMETRIC = frozenset({CO_MENTIONED})  # relation types with no direction
# Typed relations that tie a person to an organisation: what "organisations sharing people" follows.
PERSON_ORG = ("works_for", "ceo_of", "founded", "member_of")
SORTS = ("pagerank", "mentions", "name")
MAX_LIMIT = 1000
_EXPORT_BATCH = 50_000

T = TypeVar("T")


# ----------------------------------------------------------------------------------------------------
# The port


class GraphStore(Protocol):
    backend: str

    def put(self, extraction: Extraction) -> None:
        """Store one document's contribution, replacing whatever that document contributed before.

        Raises BadInput when the extraction refers to entities it does not carry, or to another document.
        """

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """`put` for several documents in one transaction (bulk loads); returns how many. All or none."""

    def forget(self, document_id: str) -> dict:
        """Remove a document and its contribution; returns counts removed:
        {"documents", "mentions", "evidence", "relations", "entities"} (all 0 for an unknown document)."""

    def entities(
        self,
        query: str | None = None,
        type: str | None = None,
        sort: str = "pagerank",
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict]:
        """[{"id", "name", "type", "pagerank", "community", "leiden", "shares_people", "mentions"}]; `mentions`
        counts the times the entity was named (mention rows, across all documents); `shares_people` is what the last
        `mark_shared_people` wrote (organisations only). `query`: case-insensitive name substring.
        `sort`: "pagerank" (highest first; entities never analysed last), "mentions" (most first) or "name"."""

    def entity(self, entity_id: str, relation_limit: int = 100, evidence_limit: int = 5) -> dict:
        """One entity: {"id", "name", "type", "key", "pagerank", "community", "leiden", "shares_people", "mentions",
        "relations": [{"type", "direction" ("out" | "in" | "both" for co_mentioned), "target": {"id", "name",
        "type"}, "weight", "evidence": [{"document", "sentence", "text", "url", "title"}]}] (heaviest first, up to
        `relation_limit`, each with up to `evidence_limit` sentences), "documents": documents_for(entity_id)}.
        Raises NotFound."""

    def documents_for(self, entity_id: str, limit: int = 100) -> list[dict]:
        """[{"id", "url", "title", "kind", "mentions"}] of documents naming the entity, most mentions first.
        Raises NotFound for an unknown entity."""

    def organisations_keyed(self, keys: Collection[str]) -> list[dict]:
        """[{"id", "name", "key"}] of the organisations with exactly these canonical keys."""

    def organisations_extending(self, key: str, limit: int = 2) -> list[dict]:
        """[{"id", "name", "key"}] of organisations whose key starts with `key` and a space, i.e. longer forms of
        the name (graph_aliases.py); by key, at most `limit`."""

    def nodes(self) -> Iterator[tuple[str, str]]:
        """(entity id, type) for every entity: the analytics export."""

    def edges(self) -> Iterator[tuple[str, str, str, float]]:
        """(source, target, relation type, weight) for every relation: the analytics export."""

    def write_analytics(
        self,
        pagerank: dict[str, float] | None,
        community: dict[str, int] | None,
        leiden: dict[str, int] | None,
        run: dict,
    ) -> None:
        """Write scores onto entities and record `run` as the last analytics run.

        A dict replaces that property on every entity (entities it does not name get null); None leaves the
        property as it is (the GDS path, which writes in the server, passes None for all three)."""

    def last_analytics(self) -> dict | None: ...

    def shared_people(self, limit: int = 50, organisation: str | None = None) -> list[dict]:
        """Organisation pairs with people tied to both by a typed person→org relation, most shared first:
        [{"a": {"id", "name"}, "b": {"id", "name"}, "people": [names, sorted]}]; only pairs with `organisation`
        (an entity id) when given. An organisation is never paired with a short form of its own name ("Brightwater"
        and "Brightwater Labs": one key a whole-word prefix of the other), which is the same body seen twice."""

    def mark_shared_people(self) -> int:
        """Write onto every organisation how many other organisations share people with it (`shares_people`, 0
        when none; other entities get null), as `shared_people` pairs them; returns how many share any."""

    def stats(self) -> dict:
        """{"documents", "entities", "relations", "mentions", "evidence"}"""

    def has_gds(self) -> bool:
        """Whether Neo4j Graph Data Science runs analytics in the server; otherwise igraph does."""

    def health(self) -> dict:
        """{"ok": bool, "backend": str, "ms": float, ...}; never raises."""

    def close(self) -> None: ...


def open_graph_store(settings: Settings) -> GraphStore:
    """The Bolt server when NEO4J_URI/NEO4J_HOST is set, else SQLite at LG_DATA_DIR/graph.sqlite3."""
    if settings.neo4j_uri:
        return Neo4jGraphStore(settings.neo4j_uri, settings.neo4j_auth, settings.neo4j_database)
    return SqliteGraphStore(Path(settings.data_dir) / "graph.sqlite3")


# ----------------------------------------------------------------------------------------------------
# One extraction, checked and merged: both adapters store exactly this, so they keep one shape.


@dataclass
class _Edge:
    """One relation as one document supports it."""

    type: str
    source: str
    target: str
    sentences: dict[int, str] = field(default_factory=dict)  # evidence: sentence index -> text
    bare_weight: float = 0.0  # weight given without evidence

    @property
    def weight(self) -> float:
        return len(self.sentences) + self.bare_weight


@dataclass(frozen=True)
class _Contribution:
    document: dict
    entities: tuple[dict, ...]
    mentions: tuple[tuple[str, int, str], ...]  # (entity, sentence, surface)
    sentences: dict[int, str]  # every sentence a mention or evidence points at
    edges: tuple[_Edge, ...]

    @property
    def entity_ids(self) -> list[str]:
        return [e["id"] for e in self.entities]


def _contribution(extraction: Extraction) -> _Contribution:
    """Validate an extraction and merge its duplicates (same entity twice, same relation twice)."""
    doc = extraction.document
    if not doc.id:
        raise BadInput("a document needs an id")
    entities: dict[str, dict] = {}
    for e in extraction.entities:
        if not e.id or not e.name or not e.type:
            raise BadInput(f"entity {e!r} needs an id, a name and a type")
        entities.setdefault(e.id, {"id": e.id, "name": e.name, "type": e.type, "key": e.key})  # first name wins
    sentences: dict[int, str] = {}

    def evidence_of(ev: Any, what: str) -> int:
        if ev.document != doc.id:
            raise BadInput(f"{what} cites document {ev.document!r} inside the extraction of {doc.id!r}")
        sentences.setdefault(ev.sentence, ev.text)
        return ev.sentence

    mentions = []
    for m in extraction.mentions:
        if m.entity not in entities:
            raise BadInput(f"mention of unknown entity {m.entity!r}: list it in Extraction.entities")
        mentions.append((m.entity, evidence_of(m.evidence, "a mention"), m.surface))
    edges: dict[tuple[str, str, str], _Edge] = {}
    for r in extraction.relations:
        for end in (r.source, r.target):
            if end not in entities:
                raise BadInput(f"relation {r.type} to unknown entity {end!r}: list it in Extraction.entities")
        if not r.type:
            raise BadInput("a relation needs a type")
        if r.source == r.target:
            continue  # two surface forms of one entity in a sentence are not a relation
        source, target = r.source, r.target
        if r.type in SYMMETRIC and target < source:
            source, target = target, source
        edge = edges.setdefault((r.type, source, target), _Edge(r.type, source, target))
        for ev in r.evidence:
            edge.sentences.setdefault(evidence_of(ev, f"relation {r.type}"), ev.text)
        if not r.evidence:
            edge.bare_weight += float(r.weight)
    document = {"id": doc.id, "kind": doc.kind, "url": doc.url, "title": doc.title or "", "fetched_at": doc.fetched_at}
    return _Contribution(document, tuple(entities.values()), tuple(mentions), sentences, tuple(edges.values()))


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")


def _check_page(sort: str, limit: int, offset: int) -> None:
    if sort not in SORTS:
        raise BadInput(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    _check_limit(limit)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadInput(f"offset must be a whole number ≥ 0, got {offset!r}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _direction(rel_type: str, outgoing: bool) -> str:
    if rel_type in SYMMETRIC:
        return "both"
    return "out" if outgoing else "in"


def _relation(row: Any, evidence: list[dict]) -> dict:
    """One relation of `entity()` as the port shapes it, from an adapter's row (type, outgoing, oid, name, otype,
    weight)."""
    return {
        "type": row["type"],
        "direction": _direction(row["type"], bool(row["outgoing"])),
        "target": {"id": row["oid"], "name": row["name"], "type": row["otype"]},
        "weight": row["weight"],
        "evidence": evidence,
    }


def _organisation_pair(row: Any, people: list[str]) -> dict:
    """One `shared_people` pair as the port shapes it, from an adapter's row (a, a_name, b, b_name)."""
    return {
        "a": {"id": row["a"], "name": row["a_name"]},
        "b": {"id": row["b"], "name": row["b_name"]},
        "people": sorted(people),
    }


def _empty_forget() -> dict:
    return {"documents": 0, "mentions": 0, "evidence": 0, "relations": 0, "entities": 0}


# ----------------------------------------------------------------------------------------------------
# SQLite


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL DEFAULT '',
    fetched_at TEXT,
    stored_at TEXT NOT NULL
);
-- Sentences a mention or evidence points at, stored once per document.
CREATE TABLE IF NOT EXISTS sentences (
    document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (document, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,  -- for case-insensitive search beyond ASCII (SQLite's LIKE folds ASCII only)
    type TEXT NOT NULL,
    key TEXT NOT NULL DEFAULT '',
    mentions INTEGER NOT NULL DEFAULT 0,  -- kept up to date by put/forget, so sorting by it needs no GROUP BY
    pagerank REAL,
    community INTEGER,
    leiden INTEGER,
    shares_people INTEGER  -- organisations only: how many others share people with it (mark_shared_people)
);
CREATE INDEX IF NOT EXISTS entities_type_key ON entities(type, key);  -- by type; and longer forms of a name
CREATE INDEX IF NOT EXISTS entities_pagerank ON entities(pagerank);
CREATE INDEX IF NOT EXISTS entities_mentions ON entities(mentions);
CREATE TABLE IF NOT EXISTS mentions (
    document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    entity TEXT NOT NULL REFERENCES entities(id),
    sentence INTEGER NOT NULL,
    surface TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mentions_document ON mentions(document);
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions(entity, document);
CREATE TABLE IF NOT EXISTS relations (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    source TEXT NOT NULL REFERENCES entities(id),
    target TEXT NOT NULL REFERENCES entities(id),
    weight REAL NOT NULL DEFAULT 0,  -- sum of its evidence weights, kept up to date by put/forget
    UNIQUE (source, target, type)
);
CREATE INDEX IF NOT EXISTS relations_target ON relations(target);
-- One row per evidence sentence (weight 1), or one row with sentence NULL for a weight given without evidence.
CREATE TABLE IF NOT EXISTS evidence (
    relation INTEGER NOT NULL REFERENCES relations(id) ON DELETE CASCADE,
    document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    sentence INTEGER,
    weight REAL NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS evidence_relation ON evidence(relation, document, sentence);
CREATE INDEX IF NOT EXISTS evidence_document ON evidence(document);
CREATE TABLE IF NOT EXISTS analytics_runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    run TEXT NOT NULL  -- JSON
);
"""

# Per-write scratch sets: what a put or forget touched, recounted at its end.
_SCRATCH = """
CREATE TEMP TABLE IF NOT EXISTS touched_entities (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS touched_relations (id INTEGER PRIMARY KEY);
"""

# Primary result codes that mean "the file cannot be used now", not "our SQL is wrong".
_UNAVAILABLE = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_FULL",
     "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_NOTADB"}
)  # fmt: skip


_CORRUPT_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
GRAPH_FIX = "restore it from a backup, or run `lookingglass rebuild-index` to re-derive it from the stored objects"


def _primary(error: sqlite3.Error) -> str:
    """SQLITE_IOERR_WRITE -> SQLITE_IOERR: extended codes share their primary code's first two words."""
    return "_".join(getattr(error, "sqlite_errorname", "").split("_")[:2])


_ENTITY_COLUMNS = "id, name, type, pagerank, community, leiden, shares_people, mentions"
# Columns added after the first release, for files created before them: (column, its declaration).
_ADDED_COLUMNS = (("entities", "shares_people", "INTEGER"),)
_ORDER = {
    "pagerank": "pagerank IS NULL, pagerank DESC, id",
    "mentions": "mentions DESC, id",
    "name": "name_lower, id",
}


class SqliteGraphStore:
    """Embedded adapter: one SQLite file in WAL mode.

    One connection guarded by one lock: Flask request threads and the job pool's threads share an instance, and
    SQLite allows one writer at a time anyway. Reads are short (indexed, paged), so they wait little.
    """

    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise Unavailable(f"cannot open the graph database {self.path}: {e}") from e
        self._db = open_sqlite(self.path, what="graph database", fix=GRAPH_FIX, timeout=30, shared=True)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable to the last commit but one
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA temp_store=MEMORY")  # the per-write scratch tables never touch the disk
            self._db.executescript(_SCHEMA + _SCRATCH)
            for table, column, declaration in _ADDED_COLUMNS:
                if column not in {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except (sqlite3.Error, OSError) as e:
            self._db.close()
            if isinstance(e, sqlite3.Error):
                raise sqlite_failure(self.path, e, "graph database", GRAPH_FIX) from e
            raise Unavailable(f"cannot open the graph database {self.path}: {e}") from e

    # -- plumbing

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The file cannot be used (disk full, locked by a foreign process, unreadable): Unavailable. Any other
        error (a missing table, a constraint) is a bug and surfaces as itself."""
        try:
            yield
        except sqlite3.DatabaseError as e:  # OperationalError, and "database disk image is malformed"
            if _primary(e) in _CORRUPT_CODES:
                raise sqlite_failure(self.path, e, "graph database", GRAPH_FIX) from e
            if _primary(e) in _UNAVAILABLE:
                raise Unavailable(f"graph database {self.path}: {e}") from e
            raise

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one IMMEDIATE transaction (the write lock is taken up front: no upgrade deadlocks)."""
        with self._lock, self._errors():
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    def _read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock, self._errors():
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    # -- writes

    def put(self, extraction: Extraction) -> None:
        c = _contribution(extraction)
        self._write(lambda db: self._put(db, c))

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """Several documents in one transaction: for bulk loads, where a commit per document would dominate.
        All are checked before any is written, so a bad one stores none."""
        contributions = [_contribution(x) for x in extractions]

        def work(db: sqlite3.Connection) -> None:
            for c in contributions:
                self._put(db, c)

        self._write(work)
        return len(contributions)

    def _put(self, db: sqlite3.Connection, c: _Contribution) -> None:
        self._clear_scratch(db)
        self._remove_contribution(db, c.document["id"])
        db.execute(
            "INSERT INTO documents (id, kind, url, title, fetched_at, stored_at)"
            " VALUES (:id, :kind, :url, :title, :fetched_at, :stored_at)"
            " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, url = excluded.url, title = excluded.title,"
            " fetched_at = excluded.fetched_at, stored_at = excluded.stored_at",
            {**c.document, "stored_at": _now()},
        )
        doc = c.document["id"]
        db.executemany(
            "INSERT INTO sentences (document, idx, text) VALUES (?, ?, ?)",
            [(doc, idx, text) for idx, text in c.sentences.items()],
        )
        db.executemany(
            "INSERT INTO entities (id, name, name_lower, type, key) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            [(e["id"], e["name"], e["name"].lower(), e["type"], e["key"]) for e in c.entities],
        )
        db.executemany("INSERT OR IGNORE INTO touched_entities (id) VALUES (?)", [(i,) for i in c.entity_ids])
        db.executemany(
            "INSERT INTO mentions (document, entity, sentence, surface) VALUES (?, ?, ?, ?)",
            [(doc, entity, sentence, surface) for entity, sentence, surface in c.mentions],
        )
        db.executemany(
            "INSERT OR IGNORE INTO relations (type, source, target) VALUES (?, ?, ?)",
            [(e.type, e.source, e.target) for e in c.edges],
        )
        rows = []
        for e in c.edges:
            rows.extend((e.source, e.target, e.type, doc, idx, 1.0) for idx in e.sentences)
            if e.bare_weight:
                rows.append((e.source, e.target, e.type, doc, None, e.bare_weight))
        db.executemany(
            "INSERT INTO evidence (relation, document, sentence, weight) VALUES"
            " ((SELECT id FROM relations WHERE source = ? AND target = ? AND type = ?), ?, ?, ?)",
            rows,
        )
        db.execute("INSERT OR IGNORE INTO touched_relations SELECT relation FROM evidence WHERE document = ?", (doc,))
        self._settle(db)

    def forget(self, document_id: str) -> dict:
        def work(db: sqlite3.Connection) -> dict:
            self._clear_scratch(db)
            counts = self._remove_contribution(db, document_id)
            counts["documents"] = db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
            counts.update(self._settle(db))
            return counts

        return self._write(work)

    @staticmethod
    def _clear_scratch(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM touched_entities")
        db.execute("DELETE FROM touched_relations")

    @staticmethod
    def _remove_contribution(db: sqlite3.Connection, doc: str) -> dict:
        """Delete a document's mentions, evidence and sentences; remember what they touched for `_settle`."""
        db.execute("INSERT OR IGNORE INTO touched_relations SELECT relation FROM evidence WHERE document = ?", (doc,))
        db.execute("INSERT OR IGNORE INTO touched_entities SELECT entity FROM mentions WHERE document = ?", (doc,))
        db.execute(
            "INSERT OR IGNORE INTO touched_entities SELECT source FROM relations WHERE id IN touched_relations"
            " UNION SELECT target FROM relations WHERE id IN touched_relations"
        )
        (evidence,) = db.execute(
            "SELECT count(*) FROM evidence WHERE document = ? AND sentence IS NOT NULL", (doc,)
        ).fetchone()
        db.execute("DELETE FROM evidence WHERE document = ?", (doc,))
        mentions = db.execute("DELETE FROM mentions WHERE document = ?", (doc,)).rowcount
        db.execute("DELETE FROM sentences WHERE document = ?", (doc,))
        return {**_empty_forget(), "mentions": mentions, "evidence": evidence}

    @staticmethod
    def _settle(db: sqlite3.Connection) -> dict:
        """Recount what this write touched; drop relations without evidence, then entities left with nothing."""
        db.execute(
            "UPDATE relations SET weight ="
            " (SELECT coalesce(sum(weight), 0) FROM evidence WHERE relation = relations.id)"
            " WHERE id IN touched_relations"
        )
        relations = db.execute(
            "DELETE FROM relations WHERE id IN touched_relations"
            " AND NOT EXISTS (SELECT 1 FROM evidence WHERE relation = relations.id)"
        ).rowcount
        db.execute(
            "UPDATE entities SET mentions = (SELECT count(*) FROM mentions WHERE entity = entities.id)"
            " WHERE id IN touched_entities"
        )
        entities = db.execute(
            "DELETE FROM entities WHERE id IN touched_entities AND mentions = 0"
            " AND NOT EXISTS (SELECT 1 FROM relations WHERE source = entities.id)"
            " AND NOT EXISTS (SELECT 1 FROM relations WHERE target = entities.id)"
        ).rowcount
        return {"relations": relations, "entities": entities}

    def write_analytics(
        self,
        pagerank: dict[str, float] | None,
        community: dict[str, int] | None,
        leiden: dict[str, int] | None,
        run: dict,
    ) -> None:
        def work(db: sqlite3.Connection) -> None:
            for column, values in (("pagerank", pagerank), ("community", community), ("leiden", leiden)):
                if values is None:
                    continue
                db.execute(f"UPDATE entities SET {column} = NULL")  # column: one of three literals above
                db.executemany(f"UPDATE entities SET {column} = ? WHERE id = ?", [(v, k) for k, v in values.items()])
            db.execute(
                "INSERT INTO analytics_runs (at, run) VALUES (?, ?)",
                (run.get("finished_at") or _now(), json.dumps(run)),
            )

        self._write(work)

    # -- reads

    def last_analytics(self) -> dict | None:
        rows = self._read("SELECT run FROM analytics_runs ORDER BY id DESC LIMIT 1")
        return json.loads(rows[0]["run"]) if rows else None

    def entities(
        self,
        query: str | None = None,
        type: str | None = None,
        sort: str = "pagerank",
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict]:
        _check_page(sort, limit, offset)
        where, params = [], []
        if query:
            where.append("instr(name_lower, ?) > 0")
            params.append(query.lower())
        if type:
            where.append("type = ?")
            params.append(type)
        sql = f"SELECT {_ENTITY_COLUMNS} FROM entities"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?"
        return [dict(row) for row in self._read(sql, (*params, limit, offset))]

    def entity(self, entity_id: str, relation_limit: int = 100, evidence_limit: int = 5) -> dict:
        found = self._read(f"SELECT {_ENTITY_COLUMNS}, key FROM entities WHERE id = ?", (entity_id,))
        if not found:
            raise NotFound(f"no entity {entity_id!r}")
        relations = self._read(
            "SELECT r.id, r.type, r.source = :id AS outgoing, r.weight, o.id AS oid, o.name, o.type AS otype"
            " FROM relations r JOIN entities o ON o.id = CASE WHEN r.source = :id THEN r.target ELSE r.source END"
            " WHERE r.id IN (SELECT id FROM relations WHERE source = :id"
            "   UNION SELECT id FROM relations WHERE target = :id)"
            " ORDER BY r.weight DESC, o.id, r.type LIMIT :limit",
            {"id": entity_id, "limit": relation_limit},
        )
        evidence: dict[int, list[dict]] = {r["id"]: [] for r in relations}
        if relations:
            marks = ",".join("?" * len(evidence))
            for row in self._read(
                "SELECT relation, document, sentence, text, url, title FROM ("
                "  SELECT e.relation, e.document, e.sentence, s.text, d.url, d.title,"
                "    row_number() OVER (PARTITION BY e.relation ORDER BY e.document, e.sentence) AS n"
                "  FROM evidence e JOIN sentences s ON s.document = e.document AND s.idx = e.sentence"
                "  JOIN documents d ON d.id = e.document"
                f"  WHERE e.relation IN ({marks}) AND e.sentence IS NOT NULL"
                ") WHERE n <= ? ORDER BY relation, document, sentence",
                (*evidence, evidence_limit),
            ):
                evidence[row["relation"]].append({k: row[k] for k in ("document", "sentence", "text", "url", "title")})
        return {
            **dict(found[0]),
            "relations": [_relation(r, evidence[r["id"]]) for r in relations],
            "documents": self.documents_for(entity_id),
        }

    def documents_for(self, entity_id: str, limit: int = 100) -> list[dict]:
        rows = self._read(
            "SELECT d.id, d.url, d.title, d.kind, count(*) AS mentions FROM mentions m"
            " JOIN documents d ON d.id = m.document WHERE m.entity = ?"
            " GROUP BY d.id ORDER BY mentions DESC, d.id LIMIT ?",
            (entity_id, limit),
        )
        if not rows and not self._read("SELECT 1 FROM entities WHERE id = ?", (entity_id,)):
            raise NotFound(f"no entity {entity_id!r}")
        return [dict(row) for row in rows]

    def organisations_keyed(self, keys: Collection[str]) -> list[dict]:
        keys = sorted(set(keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self._read(f"SELECT id, name, key FROM entities WHERE type = 'ORG' AND key IN ({marks})", tuple(keys))
        return [dict(row) for row in rows]

    def organisations_extending(self, key: str, limit: int = 2) -> list[dict]:
        _check_limit(limit)
        # Keys starting with "key " sort in ["key ", "key!"): a range scan of the (type, key) index.
        rows = self._read(
            "SELECT id, name, key FROM entities WHERE type = 'ORG' AND key >= ? AND key < ? ORDER BY key LIMIT ?",
            (key + " ", key + "!", limit),
        )
        return [dict(row) for row in rows]

    def nodes(self) -> Iterator[tuple[str, str]]:
        """In batches by id, each read under the lock: an abandoned iterator never holds the lock."""
        last = ""
        while True:
            rows = self._read("SELECT id, type FROM entities WHERE id > ? ORDER BY id LIMIT ?", (last, _EXPORT_BATCH))
            yield from ((row[0], row[1]) for row in rows)
            if len(rows) < _EXPORT_BATCH:
                return
            last = rows[-1][0]

    def edges(self) -> Iterator[tuple[str, str, str, float]]:
        last = 0
        while True:
            rows = self._read(
                "SELECT id, source, target, type, weight FROM relations WHERE id > ? ORDER BY id LIMIT ?",
                (last, _EXPORT_BATCH),
            )
            yield from ((row[1], row[2], row[3], row[4]) for row in rows)
            if len(rows) < _EXPORT_BATCH:
                return
            last = rows[-1][0]

    # Organisation pairs sharing a person (both orders), never an organisation and a short form of its own name.
    _SHARING = (
        "WITH links AS ("
        "  SELECT DISTINCT r.source AS person, r.target AS org FROM relations r"
        "  JOIN entities p ON p.id = r.source AND p.type = 'PERSON'"
        "  JOIN entities o ON o.id = r.target AND o.type = 'ORG'"
        f"  WHERE r.type IN ({', '.join(repr(t) for t in PERSON_ORG)})"
        "), sharing AS ("
        "  SELECT a.org AS a, b.org AS b, a.person AS person FROM links a"
        "  JOIN links b ON b.person = a.person AND b.org <> a.org"
        "  JOIN entities oa ON oa.id = a.org JOIN entities ob ON ob.id = b.org"
        "  WHERE oa.key <> ob.key AND substr(ob.key, 1, length(oa.key) + 1) <> oa.key || ' '"
        "    AND substr(oa.key, 1, length(ob.key) + 1) <> ob.key || ' '"
        ")"
    )

    def shared_people(self, limit: int = 50, organisation: str | None = None) -> list[dict]:
        _check_limit(limit)
        rows = self._read(
            f"{self._SHARING}"
            " SELECT s.a, oa.name AS a_name, s.b, ob.name AS b_name, json_group_array(p.name) AS people,"
            "   count(*) AS n"
            " FROM sharing s JOIN entities p ON p.id = s.person"
            " JOIN entities oa ON oa.id = s.a JOIN entities ob ON ob.id = s.b"
            " WHERE s.a < s.b AND (:org IS NULL OR :org IN (s.a, s.b))"
            " GROUP BY s.a, s.b ORDER BY n DESC, oa.name, ob.name, s.a, s.b LIMIT :limit",
            {"org": organisation, "limit": limit},
        )
        return [_organisation_pair(r, json.loads(r["people"])) for r in rows]

    def mark_shared_people(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            db.execute("UPDATE entities SET shares_people = NULL WHERE type <> 'ORG'")
            db.execute(
                f"{self._SHARING}, counts AS (SELECT a, count(DISTINCT b) AS n FROM sharing GROUP BY a)"
                " UPDATE entities SET shares_people = coalesce((SELECT n FROM counts WHERE a = entities.id), 0)"
                " WHERE type = 'ORG'"
            )
            (n,) = db.execute("SELECT count(*) FROM entities WHERE shares_people > 0").fetchone()
            return n

        return self._write(work)

    def stats(self) -> dict:
        (row,) = self._read(
            "SELECT (SELECT count(*) FROM documents) AS documents, (SELECT count(*) FROM entities) AS entities,"
            " (SELECT count(*) FROM relations) AS relations, (SELECT count(*) FROM mentions) AS mentions,"
            " (SELECT count(*) FROM evidence WHERE sentence IS NOT NULL) AS evidence"
        )
        return dict(row)

    def has_gds(self) -> bool:
        return False

    def health(self) -> dict:
        start = time.perf_counter()
        try:
            self._read("SELECT count(*) FROM documents LIMIT 1")
        except sqlite3.Error as e:
            return {"ok": False, "backend": self.backend, "path": str(self.path), "error": str(e)}
        ms = round((time.perf_counter() - start) * 1000, 2)
        return {"ok": True, "backend": self.backend, "path": str(self.path), "ms": ms}

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ----------------------------------------------------------------------------------------------------
# Neo4j (and any Bolt server that speaks its Cypher)

# Created on open. Neo4j 5 and ArcadeDB 26.10 (Bolt plugin) both accept every statement here, including the
# relationship-property index; a server that refuses one (an older or partial Cypher implementation) still gets
# a working store — the refusal is logged and kept in `schema_warnings`, and lookups fall back to scans.
_CYPHER_SCHEMA = (
    "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE INDEX entity_type IF NOT EXISTS FOR (e:Entity) ON (e.type)",
    "CREATE INDEX entity_key IF NOT EXISTS FOR (e:Entity) ON (e.key)",
    "CREATE INDEX entity_pagerank IF NOT EXISTS FOR (e:Entity) ON (e.pagerank)",
    "CREATE INDEX related_document IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.document)",
    "CREATE INDEX analytics_run_at IF NOT EXISTS FOR (r:AnalyticsRun) ON (r.at)",
)
# All four must exist. `gds.version()` alone proves nothing: ArcadeDB answers it (with its own version) but has no
# gds.pageRank & co. — its algorithms are `algo.*`.
GDS_PROCEDURES = ("gds.graph.project", "gds.pageRank.write", "gds.louvain.write", "gds.leiden.write")
_UNWIND_BATCH = 10_000

_ENTITY_RETURN = (
    "e.id AS id, e.name AS name, e.type AS type, e.pagerank AS pagerank, e.community AS community,"
    " e.leiden AS leiden, e.shares_people AS shares_people"
)
# Organisation pairs (a, b: both orders) sharing a person p, never an organisation and a short form of its own name.
_CYPHER_SHARING = (
    "MATCH (p:Entity {type: 'PERSON'})-[r:RELATED]->(a:Entity {type: 'ORG'}) WHERE r.type IN $types"
    " WITH DISTINCT p, a"
    " MATCH (p)-[r2:RELATED]->(b:Entity {type: 'ORG'}) WHERE r2.type IN $types AND a.id <> b.id"
    " AND a.key <> b.key AND NOT a.key STARTS WITH b.key + ' ' AND NOT b.key STARTS WITH a.key + ' '"
)
_CYPHER_ORDER = {  # over the node, before the page is cut
    "pagerank": "coalesce(e.pagerank, -1.0) DESC, e.id",
    "mentions": "mentions DESC, e.id",
    "name": "toLower(e.name), e.id",
}
_RETURN_ORDER = {  # the same order over the returned columns
    "pagerank": "coalesce(pagerank, -1.0) DESC, id",
    "mentions": "mentions DESC, id",
    "name": "toLower(name), id",
}


class Neo4jGraphStore:
    """Server adapter over Bolt: Neo4j 5, or ArcadeDB's Bolt plugin.

    Model: (:Document)-[:MENTIONS {count, sentences, surfaces}]->(:Entity) once per document and entity;
    (:Entity)-[:RELATED {type, document, weight, sentences, texts}]->(:Entity) once per relation and document.
    Mention counts and relation weights are summed when read, so concurrent writers never race on a counter.
    The driver is thread-safe; each call opens its own session. Writes run in managed transactions (retried on
    transient errors). Known gap: a `forget` racing a `put` that names the same entity can drop that entity
    (Cypher has no cheap "lock, then check"); the pipeline writes one document at a time per document id, and
    the next put of either document recreates it.
    """

    backend = "neo4j"

    def __init__(self, uri: str, auth: tuple[str, str] | None = None, database: str | None = None) -> None:
        import neo4j

        self.uri = uri
        self.database = database
        self.schema_warnings: list[str] = []
        try:
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth)
        except (ValueError, neo4j.exceptions.ConfigurationError) as e:
            raise Unavailable(f"bad graph server address {uri!r}: {e}") from e
        try:
            self._guard(self._driver.verify_connectivity)
            self.server = self._guard(lambda: self._driver.get_server_info().agent)
            self._create_schema()
        except BaseException:
            self._driver.close()
            raise

    # -- plumbing

    def _guard(self, call: Callable[[], T]) -> T:
        with self._errors():
            return call()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Connection-level failures become Unavailable; Cypher errors (our bugs) pass through as they are."""
        import neo4j.exceptions as ne

        try:
            yield
        except ne.AuthError as e:
            raise Unavailable(f"graph server {self.uri} refused our credentials: {e.message}") from e
        except (ne.ServiceUnavailable, ne.SessionExpired) as e:
            raise Unavailable(f"graph server {self.uri} is unreachable: {e}") from e
        except ne.ClientError as e:
            if e.code and e.code.startswith("Neo.ClientError.Database."):  # DatabaseNotFound & co.
                raise Unavailable(f"graph server {self.uri}: {e.message}") from e
            raise

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self.database)

    def query(self, cypher: str, **params: Any) -> list[dict]:
        """Run one Cypher statement in its own transaction; the analytics' GDS path and tests use it."""

        def run() -> list[dict]:
            with self._session() as session:
                return [dict(record) for record in session.run(cypher, params)]

        return self._guard(run)

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        def run() -> T:
            with self._session() as session:
                return session.execute_write(work)

        return self._guard(run)

    def _read(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        def run() -> T:
            with self._session() as session:
                return session.execute_read(work)

        return self._guard(run)

    @staticmethod
    def _rows(tx: neo4j.ManagedTransaction, cypher: str, **params: Any) -> list[dict]:
        return [dict(record) for record in tx.run(cypher, params)]

    def _create_schema(self) -> None:
        import neo4j.exceptions as ne

        for statement in _CYPHER_SCHEMA:
            try:
                self.query(statement)
            except ne.Neo4jError as e:
                self.schema_warnings.append(f"{statement}: {e.message}")
                log.warning("graph server %s refused %r (%s); continuing without it", self.uri, statement, e.message)

    # -- writes

    def put(self, extraction: Extraction) -> None:
        c = _contribution(extraction)
        self._write(lambda tx: self._put(tx, c))

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """Several documents in one transaction; all are checked before any is written."""
        contributions = [_contribution(x) for x in extractions]

        def work(tx: neo4j.ManagedTransaction) -> None:
            for c in contributions:
                self._put(tx, c)

        self._write(work)
        return len(contributions)

    def _put(self, tx: neo4j.ManagedTransaction, c: _Contribution) -> None:
        mentions: dict[str, dict] = {}
        for entity, sentence, surface in c.mentions:
            m = mentions.setdefault(entity, {"entity": entity, "count": 0, "sentences": [], "surfaces": []})
            m["count"] += 1
            m["sentences"].append(sentence)
            m["surfaces"].append(surface)
        edges = [
            {
                "type": e.type,
                "source": e.source,
                "target": e.target,
                "weight": e.weight,
                "sentences": list(e.sentences),
                "texts": list(e.sentences.values()),
            }
            for e in c.edges
        ]
        doc = c.document
        touched, _ = self._remove_contribution(tx, doc["id"])
        tx.run(
            "MERGE (d:Document {id: $id}) SET d.kind = $kind, d.url = $url, d.title = $title,"
            " d.fetched_at = $fetched_at, d.stored_at = $stored_at",
            {**doc, "stored_at": _now()},
        ).consume()
        tx.run(
            "UNWIND $rows AS row MERGE (e:Entity {id: row.id})"
            " ON CREATE SET e.name = row.name, e.type = row.type, e.key = row.key",
            rows=list(c.entities),
        ).consume()
        tx.run(
            "MATCH (d:Document {id: $doc}) UNWIND $rows AS row MATCH (e:Entity {id: row.entity})"
            " CREATE (d)-[:MENTIONS {count: row.count, sentences: row.sentences, surfaces: row.surfaces}]->(e)",
            doc=doc["id"],
            rows=list(mentions.values()),
        ).consume()
        tx.run(
            "UNWIND $rows AS row MATCH (a:Entity {id: row.source}) MATCH (b:Entity {id: row.target})"
            " CREATE (a)-[:RELATED {type: row.type, document: $doc, weight: row.weight,"
            " sentences: row.sentences, texts: row.texts}]->(b)",
            doc=doc["id"],
            rows=edges,
        ).consume()
        self._delete_orphans(tx, touched | set(c.entity_ids))

    def forget(self, document_id: str) -> dict:
        def work(tx: neo4j.ManagedTransaction) -> dict:
            touched, counts = self._remove_contribution(tx, document_id)
            counts["documents"] = self._rows(
                tx, "MATCH (d:Document {id: $id}) DETACH DELETE d RETURN count(*) AS n", id=document_id
            )[0]["n"]
            counts["entities"] = self._delete_orphans(tx, touched)
            return counts

        return self._write(work)

    def _remove_contribution(self, tx: neo4j.ManagedTransaction, doc: str) -> tuple[set[str], dict]:
        """Delete a document's MENTIONS and RELATED relationships; returns the entities they touched and counts."""
        # Values are read into WITH before DELETE: ArcadeDB refuses to read a deleted relationship's properties.
        gone = self._rows(
            tx,
            "MATCH (a:Entity)-[r:RELATED {document: $doc}]->(b:Entity)"
            " WITH a.id AS a, b.id AS b, r.type AS type, size(r.sentences) AS evidence, r DELETE r"
            " RETURN a, b, type, evidence",
            doc=doc,
        )
        mentioned = self._rows(
            tx,
            "MATCH (:Document {id: $doc})-[m:MENTIONS]->(e:Entity) WITH e.id AS e, m.count AS n, m DELETE m"
            " RETURN e, n",
            doc=doc,
        )
        keys = [{"a": g["a"], "b": g["b"], "type": g["type"]} for g in gone]
        lost = self._rows(
            tx,
            "UNWIND $keys AS k MATCH (a:Entity {id: k.a}) MATCH (b:Entity {id: k.b})"
            " WHERE NOT (a)-[:RELATED {type: k.type}]->(b) RETURN count(*) AS n",
            keys=keys,
        )[0]["n"]
        touched = {g["a"] for g in gone} | {g["b"] for g in gone} | {m["e"] for m in mentioned}
        counts = {
            **_empty_forget(),
            "mentions": sum(m["n"] for m in mentioned),
            "evidence": sum(g["evidence"] for g in gone),
            "relations": lost,
        }
        return touched, counts

    def _delete_orphans(self, tx: neo4j.ManagedTransaction, ids: set[str]) -> int:
        if not ids:
            return 0
        return self._rows(
            tx,
            "UNWIND $ids AS id MATCH (e:Entity {id: id})"
            " WHERE NOT (e)<-[:MENTIONS]-() AND NOT (e)-[:RELATED]-() DETACH DELETE e RETURN count(*) AS n",
            ids=sorted(ids),
        )[0]["n"]

    def write_analytics(
        self,
        pagerank: dict[str, float] | None,
        community: dict[str, int] | None,
        leiden: dict[str, int] | None,
        run: dict,
    ) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            for prop, values in (("pagerank", pagerank), ("community", community), ("leiden", leiden)):
                if values is None:
                    continue
                # prop: one of three literals above (Cypher takes no parameter for a property name)
                tx.run(f"MATCH (e:Entity) SET e.{prop} = null").consume()
                rows = [[k, v] for k, v in values.items()]
                for start in range(0, len(rows), _UNWIND_BATCH):
                    tx.run(
                        f"UNWIND $rows AS row MATCH (e:Entity {{id: row[0]}}) SET e.{prop} = row[1]",
                        rows=rows[start : start + _UNWIND_BATCH],
                    ).consume()
            tx.run(
                "CREATE (:AnalyticsRun {at: $at, run: $run})", at=run.get("finished_at") or _now(), run=json.dumps(run)
            ).consume()

        self._write(work)

    # -- reads

    def last_analytics(self) -> dict | None:
        rows = self._read(
            lambda tx: self._rows(tx, "MATCH (r:AnalyticsRun) RETURN r.run AS run ORDER BY r.at DESC LIMIT 1")
        )
        return json.loads(rows[0]["run"]) if rows else None

    def entities(
        self,
        query: str | None = None,
        type: str | None = None,
        sort: str = "pagerank",
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict]:
        _check_page(sort, limit, offset)
        where = []
        if query:
            where.append("toLower(e.name) CONTAINS $query")
        if type:
            where.append("e.type = $type")
        match = "MATCH (e:Entity)" + (" WHERE " + " AND ".join(where) if where else "")
        count = "OPTIONAL MATCH (e)<-[m:MENTIONS]-() WITH e, coalesce(sum(m.count), 0) AS mentions"
        if sort == "mentions":  # needs every count before paging
            cypher = f"{match} {count} ORDER BY {_CYPHER_ORDER[sort]} SKIP $offset LIMIT $limit"
        else:  # page first, count only the page
            cypher = f"{match} WITH e ORDER BY {_CYPHER_ORDER[sort]} SKIP $offset LIMIT $limit {count}"
        cypher += f" RETURN {_ENTITY_RETURN}, mentions ORDER BY {_RETURN_ORDER[sort]}"
        params = {"query": (query or "").lower(), "type": type, "offset": offset, "limit": limit}
        return self._read(lambda tx: self._rows(tx, cypher, **params))

    def entity(self, entity_id: str, relation_limit: int = 100, evidence_limit: int = 5) -> dict:
        def work(tx: neo4j.ManagedTransaction) -> dict:
            found = self._rows(
                tx,
                "MATCH (e:Entity {id: $id}) OPTIONAL MATCH (e)<-[m:MENTIONS]-()"
                f" WITH e, coalesce(sum(m.count), 0) AS mentions RETURN {_ENTITY_RETURN}, mentions, e.key AS key",
                id=entity_id,
            )
            if not found:
                raise NotFound(f"no entity {entity_id!r}")
            relations = self._rows(
                tx,
                "MATCH (e:Entity {id: $id})-[r:RELATED]-(o:Entity)"
                " WITH r.type AS type, startNode(r) = e AS outgoing, o,"
                " sum(r.weight) AS weight, collect([r.document, r.sentences, r.texts]) AS evidence"
                " RETURN type, outgoing, o.id AS oid, o.name AS name, o.type AS otype, weight, evidence"
                " ORDER BY weight DESC, oid, type LIMIT $limit",
                id=entity_id,
                limit=relation_limit,
            )
            return {**found[0], "relations": relations}

        found = self._read(work)
        shaped, cited = [], set()
        for r in found.pop("relations"):
            items = sorted(
                (doc, idx, text)
                for doc, sentences, texts in r["evidence"]
                for idx, text in zip(sentences or [], texts or [], strict=False)
            )[:evidence_limit]
            cited.update(doc for doc, _, _ in items)
            shaped.append((r, items))
        docs = {}
        if cited:
            docs = {
                d["id"]: d
                for d in self.query(
                    "MATCH (d:Document) WHERE d.id IN $ids RETURN d.id AS id, d.url AS url, d.title AS title",
                    ids=sorted(cited),
                )
            }
        return {
            **found,
            "relations": [
                _relation(
                    r,
                    [
                        {
                            "document": doc,
                            "sentence": idx,
                            "text": text,
                            "url": docs.get(doc, {}).get("url"),
                            "title": docs.get(doc, {}).get("title"),
                        }
                        for doc, idx, text in items
                    ],
                )
                for r, items in shaped
            ],
            "documents": self.documents_for(entity_id),
        }

    def documents_for(self, entity_id: str, limit: int = 100) -> list[dict]:
        def work(tx: neo4j.ManagedTransaction) -> list[dict]:
            rows = self._rows(
                tx,
                "MATCH (e:Entity {id: $id}) OPTIONAL MATCH (d:Document)-[m:MENTIONS]->(e)"
                " RETURN d.id AS id, d.url AS url, d.title AS title, d.kind AS kind, m.count AS mentions"
                " ORDER BY mentions DESC, id LIMIT $limit",
                id=entity_id,
                limit=limit,
            )
            if not rows:
                raise NotFound(f"no entity {entity_id!r}")
            return [row for row in rows if row["id"] is not None]  # OPTIONAL MATCH: one null row when unnamed

        return self._read(work)

    def organisations_keyed(self, keys: Collection[str]) -> list[dict]:
        keys = sorted(set(keys))
        if not keys:
            return []
        return self._read(
            lambda tx: self._rows(
                tx,
                "MATCH (e:Entity) WHERE e.type = 'ORG' AND e.key IN $keys RETURN e.id AS id, e.name AS name,"
                " e.key AS key",
                keys=keys,
            )
        )

    def organisations_extending(self, key: str, limit: int = 2) -> list[dict]:
        _check_limit(limit)
        return self._read(
            lambda tx: self._rows(
                tx,
                "MATCH (e:Entity) WHERE e.type = 'ORG' AND e.key STARTS WITH $prefix"
                " RETURN e.id AS id, e.name AS name, e.key AS key ORDER BY key LIMIT $limit",
                prefix=key + " ",
                limit=limit,
            )
        )

    def nodes(self) -> Iterator[tuple[str, str]]:
        """Streamed from one session: records arrive as they are read, the whole graph never sits in a list."""
        with self._errors(), self._session() as session:
            for record in session.run("MATCH (e:Entity) RETURN e.id AS id, e.type AS type"):
                yield record["id"], record["type"]

    def edges(self) -> Iterator[tuple[str, str, str, float]]:
        with self._errors(), self._session() as session:
            for record in session.run(
                "MATCH (a:Entity)-[r:RELATED]->(b:Entity)"
                " RETURN a.id AS a, b.id AS b, r.type AS type, sum(r.weight) AS weight"
            ):
                yield record["a"], record["b"], record["type"], float(record["weight"])

    def shared_people(self, limit: int = 50, organisation: str | None = None) -> list[dict]:
        _check_limit(limit)
        rows = self._read(
            lambda tx: self._rows(
                tx,
                f"{_CYPHER_SHARING} AND a.id < b.id AND ($org IS NULL OR a.id = $org OR b.id = $org)"
                " WITH a, b, collect(DISTINCT p.name) AS people"
                " RETURN a.id AS a, a.name AS a_name, b.id AS b, b.name AS b_name, people"
                " ORDER BY size(people) DESC, a_name, b_name, a, b LIMIT $limit",
                types=list(PERSON_ORG),
                org=organisation,
                limit=limit,
            )
        )
        return [_organisation_pair(r, r["people"]) for r in rows]

    def mark_shared_people(self) -> int:
        def work(tx: neo4j.ManagedTransaction) -> int:
            tx.run("MATCH (e:Entity) WHERE e.type <> 'ORG' SET e.shares_people = null").consume()
            tx.run("MATCH (e:Entity {type: 'ORG'}) SET e.shares_people = 0").consume()
            rows = self._rows(
                tx,
                f"{_CYPHER_SHARING} WITH a, count(DISTINCT b) AS n SET a.shares_people = n RETURN count(a) AS marked",
                types=list(PERSON_ORG),
            )
            return rows[0]["marked"] if rows else 0

        return self._write(work)

    def stats(self) -> dict:
        def work(tx: neo4j.ManagedTransaction) -> dict:
            count = {
                "documents": "MATCH (d:Document) RETURN count(d) AS n",
                "entities": "MATCH (e:Entity) RETURN count(e) AS n",
                "relations": "MATCH (a:Entity)-[r:RELATED]->(b:Entity) WITH DISTINCT a, b, r.type AS t"
                " RETURN count(*) AS n",
                "mentions": "MATCH (:Document)-[m:MENTIONS]->(:Entity) RETURN coalesce(sum(m.count), 0) AS n",
                "evidence": "MATCH (:Entity)-[r:RELATED]->(:Entity) RETURN coalesce(sum(size(r.sentences)), 0) AS n",
            }
            return {name: self._rows(tx, cypher)[0]["n"] for name, cypher in count.items()}

        return self._read(work)

    def has_gds(self) -> bool:
        """True when every GDS procedure the analytics call is installed; False (never raises) otherwise."""
        import neo4j.exceptions as ne

        try:
            # SHOW's RETURN takes plain fields (no aggregation), so the names are compared here.
            rows = self.query("SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'gds.' RETURN name")
        except (ne.Neo4jError, Unavailable) as e:
            log.info("graph server %s cannot list procedures (%s): analytics run in igraph", self.uri, e)
            return False
        return {row["name"] for row in rows} >= set(GDS_PROCEDURES)

    def health(self) -> dict:
        out = {"backend": self.backend, "uri": self.uri, "database": self.database, "server": self.server}
        start = time.perf_counter()
        try:
            self.query("RETURN 1 AS ok")
        except Exception as e:  # health reports any failure instead of raising it
            return {**out, "ok": False, "error": str(e)}
        return {**out, "ok": True, "ms": round((time.perf_counter() - start) * 1000, 2)}

    def close(self) -> None:
        self._driver.close()
