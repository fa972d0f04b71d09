"""The embedded graph adapter: one SQLite file under LG_DATA_DIR (WAL), safe to share between threads of one process.

Relation weights and mention counts are stored, and recounted at the end of each write for only what it touched
(`_settle`), so reads sort and page on indexed columns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from lookingglass.errors import NotFound, Unavailable
from lookingglass.records import Extraction
from lookingglass.stores.graph import neighbourhood
from lookingglass.stores.graph.merge import Contribution, contribution, redirected
from lookingglass.stores.graph.neighbourhood import NEIGHBOURHOOD_LIMIT
from lookingglass.stores.graph.port import (
    PERSON_ORG,
    SYMMETRIC,
    check_limit,
    check_merge,
    check_page,
    empty_forget,
    fitting,
    now,
    organisation_pair,
    shaped_relation,
    with_ties,
)
from lookingglass.stores.private.sqlite import open_sqlite, sqlite_failure

T = TypeVar("T")
_EXPORT_BATCH = 50_000

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
    weight REAL NOT NULL DEFAULT 1,
    time TEXT  -- "former", "since 2019", "until 2021": when the document dates the relation
);
CREATE INDEX IF NOT EXISTS evidence_relation ON evidence(relation, document, sentence);
CREATE INDEX IF NOT EXISTS evidence_document ON evidence(document);
-- What each document says an entity is (text/entity_types.py): the entity's type is the one with most weight.
CREATE TABLE IF NOT EXISTS type_votes (
    document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    type TEXT NOT NULL,
    weight REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS type_votes_entity ON type_votes(entity);
CREATE INDEX IF NOT EXISTS type_votes_document ON type_votes(document);
-- Entities an admin merged into another: a later put naming `alias` stores `target` (audited by the service).
CREATE TABLE IF NOT EXISTS entity_merges (
    alias TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merge_rejections (
    a TEXT NOT NULL,
    b TEXT NOT NULL,  -- a < b
    at TEXT NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
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
_ADDED_COLUMNS = (("entities", "shares_people", "INTEGER"), ("evidence", "time", "TEXT"))
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
        c = contribution(extraction)
        self._write(lambda db: self._put(db, c))

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """Several documents in one transaction: for bulk loads, where a commit per document would dominate.
        All are checked before any is written, so a bad one stores none."""
        contributions = [contribution(x) for x in extractions]

        def work(db: sqlite3.Connection) -> None:
            for c in contributions:
                self._put(db, c)

        self._write(work)
        return len(contributions)

    def _put(self, db: sqlite3.Connection, c: Contribution) -> None:
        self._clear_scratch(db)
        self._remove_contribution(db, c.document["id"])
        merged = self._merged_into(db, c.entity_ids)
        if merged:
            marks = ",".join("?" * len(set(merged.values())))
            targets = {
                row[0]: {"id": row[0], "name": row[1], "type": row[2], "key": row[3]}
                for row in db.execute(
                    f"SELECT id, name, type, key FROM entities WHERE id IN ({marks})", tuple(set(merged.values()))
                )
            }
            c = redirected(c, {k: v for k, v in merged.items() if v in targets}, targets)
        db.execute(
            "INSERT INTO documents (id, kind, url, title, fetched_at, stored_at)"
            " VALUES (:id, :kind, :url, :title, :fetched_at, :stored_at)"
            " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, url = excluded.url, title = excluded.title,"
            " fetched_at = excluded.fetched_at, stored_at = excluded.stored_at",
            {**c.document, "stored_at": now()},
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
            "INSERT INTO type_votes (document, entity, type, weight) VALUES (?, ?, ?, ?)",
            [(doc, e["id"], t, w) for e in c.entities for t, w in e.get("votes", {}).items()],
        )
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
            time = e.time or None
            rows.extend((e.source, e.target, e.type, doc, idx, 1.0, time) for idx in e.sentences)
            if e.bare_weight:
                rows.append((e.source, e.target, e.type, doc, None, e.bare_weight, time))
        db.executemany(
            "INSERT INTO evidence (relation, document, sentence, weight, time) VALUES"
            " ((SELECT id FROM relations WHERE source = ? AND target = ? AND type = ?), ?, ?, ?, ?)",
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
        db.execute("INSERT OR IGNORE INTO touched_entities SELECT entity FROM type_votes WHERE document = ?", (doc,))
        db.execute("DELETE FROM evidence WHERE document = ?", (doc,))
        db.execute("DELETE FROM type_votes WHERE document = ?", (doc,))
        mentions = db.execute("DELETE FROM mentions WHERE document = ?", (doc,)).rowcount
        db.execute("DELETE FROM sentences WHERE document = ?", (doc,))
        return {**empty_forget(), "mentions": mentions, "evidence": evidence}

    @staticmethod
    def _settle(db: sqlite3.Connection) -> dict:
        """Recount what this write touched; drop relations without evidence, then entities left with nothing; give
        each touched entity the type its votes (from every document) say, a tie keeping the one it has."""
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
            "UPDATE entities SET mentions = (SELECT count(*) FROM mentions WHERE entity = entities.id),"
            " type = coalesce((SELECT v.type FROM type_votes v WHERE v.entity = entities.id GROUP BY v.type"
            # a tie keeps the type the entity has (votes are whole or half numbers: 1e-6 breaks ties only)
            "   ORDER BY sum(v.weight) + 1e-6 * (v.type = (SELECT x.type FROM entities x WHERE x.id = v.entity)) DESC,"
            "   v.type LIMIT 1), type)"
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
                (run.get("finished_at") or now(), json.dumps(run)),
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
        check_page(sort, limit, offset)
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
                "SELECT relation, document, sentence, text, url, title, time FROM ("
                "  SELECT e.relation, e.document, e.sentence, s.text, d.url, d.title, e.time,"
                "    row_number() OVER (PARTITION BY e.relation ORDER BY e.document, e.sentence) AS n"
                "  FROM evidence e JOIN sentences s ON s.document = e.document AND s.idx = e.sentence"
                "  JOIN documents d ON d.id = e.document"
                f"  WHERE e.relation IN ({marks}) AND e.sentence IS NOT NULL"
                ") WHERE n <= ? ORDER BY relation, document, sentence",
                (*evidence, evidence_limit),
            ):
                item = {k: row[k] for k in ("document", "sentence", "text", "url", "title")}
                if row["time"]:
                    item["time"] = row["time"]
                evidence[row["relation"]].append(item)
        return {
            **dict(found[0]),
            "relations": fitting([shaped_relation(r, evidence[r["id"]]) for r in relations], found[0]["type"]),
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

    def entities_in(self, document_id: str, limit: int = 500) -> list[dict]:
        check_limit(limit)
        rows = self._read(
            "SELECT e.id, e.name, e.type, count(*) AS mentions, group_concat(DISTINCT m.surface) AS surfaces"
            " FROM mentions m JOIN entities e ON e.id = m.entity WHERE m.document = ?"
            " GROUP BY e.id ORDER BY mentions DESC, e.name LIMIT ?",
            (document_id, limit),
        )
        return [{**dict(row), "surfaces": sorted(set((row["surfaces"] or "").split(",")) - {""})} for row in rows]

    def relation_counts(self, entity_ids: Collection[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for batch in neighbourhood.chunks(sorted(set(entity_ids))):
            marks = ",".join("?" * len(batch))
            for row in self._read(
                f"SELECT id, count(*) AS n FROM (SELECT source AS id FROM relations WHERE source IN ({marks})"
                f" UNION ALL SELECT target AS id FROM relations WHERE target IN ({marks})) GROUP BY id",
                (*batch, *batch),
            ):
                counts[row["id"]] = row["n"]
        return counts

    def neighbourhood(self, entity_id: str, hops: int = 1, limit: int = NEIGHBOURHOOD_LIMIT) -> dict:
        return neighbourhood.gather(entity_id, hops, limit, self._relations_touching, self._described)

    def _relations_touching(self, ids: Sequence[str]) -> list[dict]:
        found: dict[int, dict] = {}
        for batch in neighbourhood.chunks(ids):
            marks = ",".join("?" * len(batch))
            for row in self._read(
                f"SELECT id, source, target, type, weight FROM relations WHERE source IN ({marks})"
                f" UNION SELECT id, source, target, type, weight FROM relations WHERE target IN ({marks})",
                (*batch, *batch),
            ):
                found[row["id"]] = dict(row)
        return list(found.values())

    def _described(self, ids: Sequence[str]) -> list[dict]:
        found = []
        for batch in neighbourhood.chunks(ids):
            marks = ",".join("?" * len(batch))
            found += [
                dict(row)
                for row in self._read(
                    f"SELECT id, name, type, pagerank, community, leiden FROM entities WHERE id IN ({marks})",
                    tuple(batch),
                )
            ]
        return found

    def organisations_keyed(self, keys: Collection[str]) -> list[dict]:
        keys = sorted(set(keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self._read(f"SELECT id, name, key FROM entities WHERE type = 'ORG' AND key IN ({marks})", tuple(keys))
        return [dict(row) for row in rows]

    def organisations_extending(self, key: str, limit: int = 2) -> list[dict]:
        check_limit(limit)
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
        check_limit(limit)
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
        pairs = [organisation_pair(r, json.loads(r["people"])) for r in rows]
        orgs = sorted({p[side]["id"] for p in pairs for side in ("a", "b")})
        ties = self._ties(orgs) if orgs else []
        return [with_ties(p, ties) for p in pairs]

    def _ties(self, orgs: list[str]) -> list[dict]:
        """Each typed person → organisation relation into these organisations, with its first evidence sentence."""
        marks = ",".join("?" * len(orgs))
        rows = self._read(
            "SELECT r.source AS person, p.name AS person_name, r.target AS org, r.type,"
            " (SELECT e.document FROM evidence e WHERE e.relation = r.id ORDER BY e.document, e.sentence LIMIT 1)"
            "   AS document,"
            " (SELECT s.text FROM evidence e JOIN sentences s ON s.document = e.document AND s.idx = e.sentence"
            "   WHERE e.relation = r.id ORDER BY e.document, e.sentence LIMIT 1) AS text"
            " FROM relations r JOIN entities p ON p.id = r.source AND p.type = 'PERSON'"
            f" WHERE r.target IN ({marks}) AND r.type IN ({', '.join(repr(t) for t in PERSON_ORG)})"
            " ORDER BY r.weight DESC, r.type",
            tuple(orgs),
        )
        return [dict(row) for row in rows]

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

    def names(self, type: str) -> list[dict]:
        rows = self._read("SELECT id, name, key, mentions FROM entities WHERE type = ? ORDER BY key, id", (type,))
        return [dict(row) for row in rows]

    def merged_into(self, entity_ids: Collection[str]) -> dict[str, str]:
        with self._lock, self._errors():
            return self._merged_into(self._db, entity_ids)

    @staticmethod
    def _merged_into(db: sqlite3.Connection, entity_ids: Collection[str]) -> dict[str, str]:
        ids = sorted(set(entity_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(db.execute(f"SELECT alias, target FROM entity_merges WHERE alias IN ({marks})", tuple(ids)))

    def rejected_merges(self, entity_id: str) -> set[str]:
        rows = self._read(
            "SELECT b FROM merge_rejections WHERE a = ? UNION SELECT a FROM merge_rejections WHERE b = ?",
            (entity_id, entity_id),
        )
        return {row[0] for row in rows}

    def reject_merge(self, a: str, b: str) -> None:
        a, b = sorted((a, b))
        self._write(
            lambda db: db.execute("INSERT OR REPLACE INTO merge_rejections (a, b, at) VALUES (?, ?, ?)", (a, b, now()))
        )

    def merge_entities(self, source: str, target: str) -> dict:
        def work(db: sqlite3.Connection) -> dict:
            ends = {
                row[0]: row[1]
                for row in db.execute("SELECT id, type FROM entities WHERE id IN (?, ?)", (source, target))
            }
            check_merge(source, target, ends)
            self._clear_scratch(db)
            db.execute(
                "INSERT OR REPLACE INTO entity_merges (alias, target, at) VALUES (?, ?, ?)", (source, target, now())
            )
            db.execute("UPDATE entity_merges SET target = ? WHERE target = ?", (target, source))
            mentions = db.execute("UPDATE mentions SET entity = ? WHERE entity = ?", (target, source)).rowcount
            db.execute("UPDATE type_votes SET entity = ? WHERE entity = ?", (target, source))
            db.execute("INSERT OR IGNORE INTO touched_entities (id) VALUES (?), (?)", (source, target))
            moved = 0
            for rel_id, kind, a, b in db.execute(
                "SELECT id, type, source, target FROM relations WHERE source = ? OR target = ?", (source, source)
            ).fetchall():
                a, b = (target if a == source else a), (target if b == source else b)
                db.execute("INSERT OR IGNORE INTO touched_entities (id) VALUES (?), (?)", (a, b))
                if a == b:
                    db.execute("DELETE FROM evidence WHERE relation = ?", (rel_id,))
                    db.execute("DELETE FROM relations WHERE id = ?", (rel_id,))
                    continue
                if kind in SYMMETRIC and b < a:
                    a, b = b, a
                moved += 1
                same = db.execute(
                    "SELECT id FROM relations WHERE source = ? AND target = ? AND type = ?", (a, b, kind)
                ).fetchone()
                if same is None:
                    db.execute("UPDATE relations SET source = ?, target = ? WHERE id = ?", (a, b, rel_id))
                    db.execute("INSERT OR IGNORE INTO touched_relations (id) VALUES (?)", (rel_id,))
                else:
                    db.execute(
                        "DELETE FROM evidence WHERE relation = ? AND EXISTS (SELECT 1 FROM evidence o"
                        " WHERE o.relation = ? AND o.document = evidence.document AND o.sentence IS evidence.sentence)",
                        (rel_id, same[0]),
                    )
                    db.execute("UPDATE evidence SET relation = ? WHERE relation = ?", (same[0], rel_id))
                    db.execute("DELETE FROM relations WHERE id = ?", (rel_id,))
                    db.execute("INSERT OR IGNORE INTO touched_relations (id) VALUES (?)", (same[0],))
            self._settle(db)
            db.execute("DELETE FROM entities WHERE id = ?", (source,))
            return {"source": source, "target": target, "mentions": mentions, "relations": moved}

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
