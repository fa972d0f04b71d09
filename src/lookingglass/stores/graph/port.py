"""The graph port: the knowledge graph built from pages and transcripts, in three small Protocols.

What it holds: documents; entities (people, organisations, places, projects); mentions (an entity named in a
sentence of a document); relations between entities (typed: works_for, ceo_of, founded, located_in, member_of; or
`co_mentioned`), each backed by evidence (the sentences it was read from). A document's contribution is replaced
whole on every `put`, so re-processing a page never doubles a count, and `forget` removes it without a trace:
relations left without evidence and entities left with neither mentions nor relations go with it.

Weights: a relation's weight is the number of distinct evidence sentences across all documents (for `co_mentioned`
that is the number of sentences naming both). A relation given without evidence contributes its own `weight` (bulk
loads, imported graphs). `co_mentioned` is symmetric: its endpoints are stored in id order, so A–B and B–A are one edge.

Callers ask for the part they use: the pipeline writes (`GraphWriter`), the services and the cross-document alias
rules read (`GraphReader`), analytics export the graph and write scores back (`GraphAnalytics`). `GraphStore` is
all three, which both adapters (sqlite.py, neo4j.py) are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from lookingglass.errors import BadInput
from lookingglass.records import Extraction

CO_MENTIONED = "co_mentioned"
SYMMETRIC = frozenset({CO_MENTIONED})  # relation types with no direction
# Typed relations that tie a person to an organisation: what "organisations sharing people" follows.
PERSON_ORG = ("works_for", "ceo_of", "founded", "member_of")
SORTS = ("pagerank", "mentions", "name")
MAX_LIMIT = 1000


class GraphWriter(Protocol):
    """What the pipeline needs: store a document's contribution, and forget it."""

    def put(self, extraction: Extraction) -> None:
        """Store one document's contribution, replacing whatever that document contributed before.

        Raises BadInput when the extraction refers to entities it does not carry, or to another document.
        """

    def put_many(self, extractions: Iterable[Extraction]) -> int:
        """`put` for several documents in one transaction (bulk loads); returns how many. All or none."""

    def forget(self, document_id: str) -> dict:
        """Remove a document and its contribution; returns counts removed:
        {"documents", "mentions", "evidence", "relations", "entities"} (all 0 for an unknown document)."""


class GraphReader(Protocol):
    """What the services and the alias rules need: entities, their neighbours, search, shared people, counts."""

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

    def entities_in(self, document_id: str, limit: int = 500) -> list[dict]:
        """[{"id", "name", "type", "mentions", "surfaces"}] of the entities a document names (`surfaces`: the
        words it used for each, e.g. "Lindqvist" for Mara Lindqvist), most mentions first; [] for an unknown
        document. What the evidence viewer links a page's text with."""

    def relation_counts(self, entity_ids: Collection[str]) -> dict[str, int]:
        """{entity id: its relations} for the given entities that have any, counted as `entity()` lists them and
        `stats()` counts them: one per (source, target, type)."""

    def neighbourhood(self, entity_id: str, hops: int = 1, limit: int = 150) -> dict:
        """The entity and the entities tied to it, `hops` (1 or 2) relations out, at most `limit` nodes:
        {"nodes": [{"id", "name", "type", "pagerank", "community", "leiden", "hops"}], "edges": [{"source",
        "target", "type", "weight"}], "truncated"} (neighbourhood.py's `gather`). Raises NotFound, BadInput."""

    def organisations_keyed(self, keys: Collection[str]) -> list[dict]:
        """[{"id", "name", "key"}] of the organisations with exactly these canonical keys."""

    def organisations_extending(self, key: str, limit: int = 2) -> list[dict]:
        """[{"id", "name", "key"}] of organisations whose key starts with `key` and a space, i.e. longer forms of
        the name (aliases.py); by key, at most `limit`."""

    def shared_people(self, limit: int = 50, organisation: str | None = None) -> list[dict]:
        """Organisation pairs with people tied to both by a typed person→org relation, most shared first:
        [{"a": {"id", "name"}, "b": {"id", "name"}, "people": [names, sorted]}]; only pairs with `organisation`
        (an entity id) when given. An organisation is never paired with a short form of its own name ("Brightwater"
        and "Brightwater Labs": one key a whole-word prefix of the other), which is the same body seen twice."""

    def stats(self) -> dict:
        """{"documents", "entities", "relations", "mentions", "evidence"}"""


class GraphAnalytics(Protocol):
    """What analytics need: export the graph, write scores and the run back, run in the server when it can."""

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

    def mark_shared_people(self) -> int:
        """Write onto every organisation how many other organisations share people with it (`shares_people`, 0
        when none; other entities get null), as `shared_people` pairs them; returns how many share any."""

    def has_gds(self) -> bool:
        """Whether Neo4j Graph Data Science runs analytics in the server; otherwise igraph does."""


class GraphStore(GraphWriter, GraphReader, GraphAnalytics, Protocol):
    """The whole graph: what an adapter is, and what `app.build` hands out."""

    backend: str

    def health(self) -> dict:
        """{"ok": bool, "backend": str, "ms": float, ...}; never raises."""

    def close(self) -> None: ...


# ----------------------------------------------------------------------------------------------------
# Checked and shaped once, so both adapters take the same arguments and answer in the same shape.


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")


def check_page(sort: str, limit: int, offset: int) -> None:
    if sort not in SORTS:
        raise BadInput(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    check_limit(limit)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadInput(f"offset must be a whole number ≥ 0, got {offset!r}")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _direction(rel_type: str, outgoing: bool) -> str:
    if rel_type in SYMMETRIC:
        return "both"
    return "out" if outgoing else "in"


def shaped_relation(row: Any, evidence: list[dict]) -> dict:
    """One relation of `entity()` as the port shapes it, from an adapter's row (type, outgoing, oid, name, otype,
    weight)."""
    return {
        "type": row["type"],
        "direction": _direction(row["type"], bool(row["outgoing"])),
        "target": {"id": row["oid"], "name": row["name"], "type": row["otype"]},
        "weight": row["weight"],
        "evidence": evidence,
    }


def organisation_pair(row: Any, people: list[str]) -> dict:
    """One `shared_people` pair as the port shapes it, from an adapter's row (a, a_name, b, b_name)."""
    return {
        "a": {"id": row["a"], "name": row["a_name"]},
        "b": {"id": row["b"], "name": row["b_name"]},
        "people": sorted(people),
    }


def empty_forget() -> dict:
    return {"documents": 0, "mentions": 0, "evidence": 0, "relations": 0, "entities": 0}
