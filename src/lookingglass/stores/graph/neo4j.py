"""The server graph adapter: any Bolt server through the official `neo4j` driver — Neo4j 5, or ArcadeDB's Bolt
plugin (which the tests run).

One `RELATED` relationship per (type, source, target, document) carries that document's evidence, so forgetting a
document is deleting its relationships; weights are summed when read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

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
    voted_type,
    with_ties,
)

if TYPE_CHECKING:
    import neo4j

log = logging.getLogger("lookingglass.graph")
T = TypeVar("T")

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
    "CREATE INDEX entity_merge_alias IF NOT EXISTS FOR (m:EntityMerge) ON (m.alias)",
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

    Model: (:Document)-[:MENTIONS {count, sentences, surfaces, vote_types, vote_weights}]->(:Entity) once per
    document and entity (the votes: what the document says the entity is); (:Entity)-[:RELATED {type, document,
    weight, sentences, texts, time}]->(:Entity) once per relation and document; (:EntityMerge {alias, target, at})
    for each entity an admin merged into another, (:MergeRejection {a, b, at}) for each pair said to differ.
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
        c = contribution(extraction)
        self._write(lambda tx: self._put(tx, c))

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """Several documents in one transaction; all are checked before any is written."""
        contributions = [contribution(x) for x in extractions]

        def work(tx: neo4j.ManagedTransaction) -> None:
            for c in contributions:
                self._put(tx, c)

        self._write(work)
        return len(contributions)

    def _put(self, tx: neo4j.ManagedTransaction, c: Contribution) -> None:
        merged = self._merged(tx, c.entity_ids)
        if merged:
            targets = {
                row["id"]: row
                for row in self._rows(
                    tx,
                    "MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id AS id, e.name AS name, e.type AS type,"
                    " e.key AS key",
                    ids=sorted(set(merged.values())),
                )
            }
            c = redirected(c, {k: v for k, v in merged.items() if v in targets}, targets)
        votes = {e["id"]: e.get("votes", {}) for e in c.entities}
        mentions: dict[str, dict] = {}
        for entity, sentence, surface in c.mentions:
            m = mentions.setdefault(
                entity,
                {
                    "entity": entity,
                    "count": 0,
                    "sentences": [],
                    "surfaces": [],
                    "vote_types": sorted(votes.get(entity, {})),
                    "vote_weights": [votes[entity][t] for t in sorted(votes.get(entity, {}))],
                },
            )
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
                "time": e.time or None,
            }
            for e in c.edges
        ]
        doc = c.document
        touched, _ = self._remove_contribution(tx, doc["id"])
        tx.run(
            "MERGE (d:Document {id: $id}) SET d.kind = $kind, d.url = $url, d.title = $title,"
            " d.fetched_at = $fetched_at, d.stored_at = $stored_at",
            {**doc, "stored_at": now()},
        ).consume()
        tx.run(
            "UNWIND $rows AS row MERGE (e:Entity {id: row.id})"
            " ON CREATE SET e.name = row.name, e.type = row.type, e.key = row.key",
            rows=list(c.entities),
        ).consume()
        tx.run(
            "MATCH (d:Document {id: $doc}) UNWIND $rows AS row MATCH (e:Entity {id: row.entity})"
            " CREATE (d)-[:MENTIONS {count: row.count, sentences: row.sentences, surfaces: row.surfaces,"
            " vote_types: row.vote_types, vote_weights: row.vote_weights}]->(e)",
            doc=doc["id"],
            rows=list(mentions.values()),
        ).consume()
        tx.run(
            "UNWIND $rows AS row MATCH (a:Entity {id: row.source}) MATCH (b:Entity {id: row.target})"
            " CREATE (a)-[:RELATED {type: row.type, document: $doc, weight: row.weight,"
            " sentences: row.sentences, texts: row.texts, time: row.time}]->(b)",
            doc=doc["id"],
            rows=edges,
        ).consume()
        self._delete_orphans(tx, touched | set(c.entity_ids))
        self._retype(tx, touched | set(c.entity_ids))

    def _retype(self, tx: neo4j.ManagedTransaction, ids: set[str]) -> None:
        """Give each entity the type its votes (summed over every document naming it) favour; a tie keeps its own."""
        if not ids:
            return
        rows = self._rows(
            tx,
            "MATCH (e:Entity) WHERE e.id IN $ids OPTIONAL MATCH (:Document)-[m:MENTIONS]->(e)"
            " RETURN e.id AS id, e.type AS type, collect([m.vote_types, m.vote_weights]) AS votes",
            ids=sorted(ids),
        )
        changes = []
        for row in rows:
            totals: dict[str, float] = {}
            for types, weights in row["votes"]:
                for t, w in zip(types or [], weights or [], strict=False):
                    totals[t] = totals.get(t, 0.0) + float(w)
            new = voted_type(totals, row["type"])
            if new != row["type"]:
                changes.append({"id": row["id"], "type": new})
        if changes:
            tx.run("UNWIND $rows AS row MATCH (e:Entity {id: row.id}) SET e.type = row.type", rows=changes).consume()

    def forget(self, document_id: str) -> dict:
        def work(tx: neo4j.ManagedTransaction) -> dict:
            touched, counts = self._remove_contribution(tx, document_id)
            counts["documents"] = self._rows(
                tx, "MATCH (d:Document {id: $id}) DETACH DELETE d RETURN count(*) AS n", id=document_id
            )[0]["n"]
            counts["entities"] = self._delete_orphans(tx, touched)
            self._retype(tx, touched)
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
            **empty_forget(),
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
                "CREATE (:AnalyticsRun {at: $at, run: $run})", at=run.get("finished_at") or now(), run=json.dumps(run)
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
        check_page(sort, limit, offset)
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
                " sum(r.weight) AS weight, collect([r.document, r.sentences, r.texts, r.time]) AS evidence"
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
                (doc, idx, text, time or "")
                for doc, sentences, texts, time in r["evidence"]
                for idx, text in zip(sentences or [], texts or [], strict=False)
            )[:evidence_limit]
            cited.update(doc for doc, _, _, _ in items)
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
            "relations": fitting(
                [
                    shaped_relation(
                        r,
                        [
                            {
                                "document": doc,
                                "sentence": idx,
                                "text": text,
                                "url": docs.get(doc, {}).get("url"),
                                "title": docs.get(doc, {}).get("title"),
                                **({"time": time} if time else {}),
                            }
                            for doc, idx, text, time in items
                        ],
                    )
                    for r, items in shaped
                ],
                found["type"],
            ),
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

    def entities_in(self, document_id: str, limit: int = 500) -> list[dict]:
        check_limit(limit)
        rows = self._read(
            lambda tx: self._rows(
                tx,
                "MATCH (:Document {id: $id})-[m:MENTIONS]->(e:Entity)"
                " RETURN e.id AS id, e.name AS name, e.type AS type,"
                " m.count AS mentions, m.surfaces AS surfaces ORDER BY mentions DESC, name LIMIT $limit",
                id=document_id,
                limit=limit,
            )
        )
        return [{**row, "surfaces": sorted(set(row["surfaces"] or []))} for row in rows]

    def relation_counts(self, entity_ids: Collection[str]) -> dict[str, int]:
        """A relation is one RELATED edge per document here: counted once per (source, target, type)."""
        counts: dict[str, int] = {}
        for batch in neighbourhood.chunks(sorted(set(entity_ids))):
            for row in self.query(
                "MATCH (e:Entity)-[r:RELATED]-(o:Entity) WHERE e.id IN $ids"
                " WITH DISTINCT e.id AS id, o.id AS other, r.type AS type, startNode(r) = e AS outgoing"
                " RETURN id, count(*) AS n",
                ids=list(batch),
            ):
                counts[row["id"]] = row["n"]
        return counts

    def neighbourhood(self, entity_id: str, hops: int = 1, limit: int = NEIGHBOURHOOD_LIMIT) -> dict:
        return neighbourhood.gather(entity_id, hops, limit, self._relations_touching, self._described)

    def _relations_touching(self, ids: Sequence[str]) -> list[dict]:
        """A relation is one RELATED edge per document here: summed per (source, target, type), as entity() does."""
        found: dict[tuple, dict] = {}
        for batch in neighbourhood.chunks(ids):
            for row in self.query(
                "MATCH (a:Entity)-[r:RELATED]->(b:Entity) WHERE a.id IN $ids OR b.id IN $ids"
                " RETURN a.id AS source, b.id AS target, r.type AS type, sum(r.weight) AS weight",
                ids=list(batch),
            ):
                found[(row["source"], row["target"], row["type"])] = dict(row)
        return list(found.values())

    def _described(self, ids: Sequence[str]) -> list[dict]:
        found = []
        for batch in neighbourhood.chunks(ids):
            found += self.query(
                "MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id AS id, e.name AS name, e.type AS type,"
                " e.pagerank AS pagerank, e.community AS community, e.leiden AS leiden",
                ids=list(batch),
            )
        return found

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
        check_limit(limit)
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
        check_limit(limit)
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
        pairs = [organisation_pair(r, r["people"]) for r in rows]
        orgs = sorted({p[side]["id"] for p in pairs for side in ("a", "b")})
        ties = self._ties(orgs) if orgs else []
        return [with_ties(p, ties) for p in pairs]

    def _ties(self, orgs: list[str]) -> list[dict]:
        """Each typed person → organisation relation into these organisations, with its first evidence sentence,
        heaviest first (as the SQLite adapter orders them)."""
        rows = self.query(
            "MATCH (p:Entity {type: 'PERSON'})-[r:RELATED]->(o:Entity) WHERE o.id IN $orgs AND r.type IN $types"
            " RETURN p.id AS person, p.name AS person_name, o.id AS org, r.type AS type, r.document AS document,"
            " r.sentences AS sentences, r.texts AS texts, r.weight AS weight",
            orgs=orgs,
            types=list(PERSON_ORG),
        )
        merged: dict[tuple[str, str, str], dict] = {}
        for row in rows:
            tie = merged.setdefault(
                (row["person"], row["org"], row["type"]),
                {k: row[k] for k in ("person", "person_name", "org", "type")} | {"weight": 0.0, "first": None},
            )
            tie["weight"] += float(row["weight"] or 0)
            for idx, text in zip(row["sentences"] or [], row["texts"] or [], strict=False):
                if tie["first"] is None or (row["document"], idx) < tie["first"][:2]:
                    tie["first"] = (row["document"], idx, text)
        ties = sorted(merged.values(), key=lambda t: (-t["weight"], t["type"]))
        return [
            {
                **{k: t[k] for k in ("person", "person_name", "org", "type")},
                "document": t["first"][0] if t["first"] else None,
                "text": t["first"][2] if t["first"] else None,
            }
            for t in ties
        ]

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

    def names(self, type: str) -> list[dict]:
        return self.query(
            "MATCH (e:Entity {type: $type}) OPTIONAL MATCH (:Document)-[m:MENTIONS]->(e)"
            " WITH e, coalesce(sum(m.count), 0) AS mentions"
            " RETURN e.id AS id, e.name AS name, e.key AS key, mentions ORDER BY key, id",
            type=type,
        )

    def merged_into(self, entity_ids: Collection[str]) -> dict[str, str]:
        return self._read(lambda tx: self._merged(tx, entity_ids))

    def _merged(self, tx: neo4j.ManagedTransaction, entity_ids: Collection[str]) -> dict[str, str]:
        ids = sorted(set(entity_ids))
        if not ids:
            return {}
        rows = self._rows(
            tx, "MATCH (m:EntityMerge) WHERE m.alias IN $ids RETURN m.alias AS alias, m.target AS target", ids=ids
        )
        return {row["alias"]: row["target"] for row in rows}

    def rejected_merges(self, entity_id: str) -> set[str]:
        rows = self.query(
            "MATCH (r:MergeRejection) WHERE r.a = $id OR r.b = $id RETURN r.a AS a, r.b AS b", id=entity_id
        )
        return {row["b"] if row["a"] == entity_id else row["a"] for row in rows}

    def reject_merge(self, a: str, b: str) -> None:
        a, b = sorted((a, b))
        self._write(
            lambda tx: tx.run("MERGE (r:MergeRejection {a: $a, b: $b}) SET r.at = $at", a=a, b=b, at=now()).consume()
        )

    def merge_entities(self, source: str, target: str) -> dict:
        def work(tx: neo4j.ManagedTransaction) -> dict:
            found = self._rows(
                tx, "MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id AS id, e.type AS type", ids=[source, target]
            )
            check_merge(source, target, {row["id"]: row["type"] for row in found})
            at = now()
            tx.run("MERGE (m:EntityMerge {alias: $source}) SET m.target = $target, m.at = $at",
                   source=source, target=target, at=at).consume()  # fmt: skip
            tx.run(
                "MATCH (m:EntityMerge {target: $source}) SET m.target = $target", source=source, target=target
            ).consume()
            mentions = self._move_mentions(tx, source, target)
            moved = self._move_relations(tx, source, target)
            tx.run("MATCH (e:Entity {id: $id}) DETACH DELETE e", id=source).consume()
            self._retype(tx, {target})
            return {"source": source, "target": target, "mentions": mentions, "relations": moved}

        return self._write(work)

    def _move_mentions(self, tx: neo4j.ManagedTransaction, source: str, target: str) -> int:
        """Each document's MENTIONS of `source` joins its MENTIONS of `target` (one per document and entity)."""
        rows = self._rows(
            tx,
            "MATCH (d:Document)-[m:MENTIONS]->(e:Entity) WHERE e.id IN $ids"
            " WITH d.id AS doc, e.id AS entity, m.count AS count, m.sentences AS sentences, m.surfaces AS surfaces,"
            " m.vote_types AS vote_types, m.vote_weights AS vote_weights, m DELETE m"
            " RETURN doc, entity, count, sentences, surfaces, vote_types, vote_weights",
            ids=[source, target],
        )
        joined: dict[str, dict] = {}
        moved = 0
        for row in sorted(rows, key=lambda r: r["entity"] != target):
            moved += row["count"] if row["entity"] == source else 0
            m = joined.setdefault(
                row["doc"], {"doc": row["doc"], "count": 0, "sentences": [], "surfaces": [], "votes": {}}
            )
            m["count"] += row["count"]
            m["sentences"] += list(row["sentences"] or [])
            m["surfaces"] += list(row["surfaces"] or [])
            for t, w in zip(row["vote_types"] or [], row["vote_weights"] or [], strict=False):
                m["votes"][t] = m["votes"].get(t, 0.0) + float(w)
        rows = [
            {**m, "vote_types": sorted(m["votes"]), "vote_weights": [m["votes"][t] for t in sorted(m["votes"])]}
            for m in joined.values()
        ]
        for m in rows:
            del m["votes"]
        tx.run(
            "UNWIND $rows AS row MATCH (d:Document {id: row.doc}) MATCH (e:Entity {id: $target})"
            " CREATE (d)-[:MENTIONS {count: row.count, sentences: row.sentences, surfaces: row.surfaces,"
            " vote_types: row.vote_types, vote_weights: row.vote_weights}]->(e)",
            rows=rows,
            target=target,
        ).consume()
        return moved

    def _move_relations(self, tx: neo4j.ManagedTransaction, source: str, target: str) -> int:
        """`source`'s relations re-drawn onto `target`: one RELATED per (type, ends, document), evidence joined."""
        rows = self._rows(
            tx,
            "MATCH (a:Entity)-[r:RELATED]->(b:Entity) WHERE a.id IN $ids OR b.id IN $ids"
            " WITH a.id AS a, b.id AS b, r.type AS type, r.document AS document, r.weight AS weight,"
            " r.sentences AS sentences, r.texts AS texts, r.time AS time, r DELETE r"
            " RETURN a, b, type, document, weight, sentences, texts, time",
            ids=[source, target],
        )
        edges: dict[tuple, dict] = {}
        moved = 0
        for row in sorted(rows, key=lambda r: source in (r["a"], r["b"])):
            a = target if row["a"] == source else row["a"]
            b = target if row["b"] == source else row["b"]
            if a == b:
                continue
            if row["type"] in SYMMETRIC and b < a:
                a, b = b, a
            moved += source in (row["a"], row["b"])
            edge = edges.setdefault(
                (row["type"], a, b, row["document"]),
                {"type": row["type"], "a": a, "b": b, "document": row["document"], "evidence": {}, "bare": 0.0,
                 "time": row["time"]},
            )  # fmt: skip
            sentences = list(row["sentences"] or [])
            edge["evidence"].update(zip(sentences, row["texts"] or [], strict=False))
            edge["bare"] += float(row["weight"] or 0) - len(sentences)
            edge["time"] = edge["time"] or row["time"]
        tx.run(
            "UNWIND $rows AS row MATCH (a:Entity {id: row.a}) MATCH (b:Entity {id: row.b})"
            " CREATE (a)-[:RELATED {type: row.type, document: row.document, weight: row.weight,"
            " sentences: row.sentences, texts: row.texts, time: row.time}]->(b)",
            rows=[
                {
                    **{k: e[k] for k in ("type", "a", "b", "document", "time")},
                    "weight": len(e["evidence"]) + max(e["bare"], 0.0),
                    "sentences": list(e["evidence"]),
                    "texts": list(e["evidence"].values()),
                }
                for e in edges.values()
            ],
        ).consume()
        return moved

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
