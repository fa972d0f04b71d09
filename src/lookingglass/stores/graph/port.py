"""The graph port: the knowledge graph built from pages and transcripts, in three small Protocols.

What it holds: documents; entities (people, organisations, places, projects); mentions (an entity named in a
sentence of a document); relations between entities (typed: RELATION_ENDS; or `co_mentioned`), each backed by
evidence (the sentences it was read from). An entity's type is the one the documents' votes favour, recounted on
every write. A document's contribution is replaced whole on every `put`, so re-processing a page never doubles a
count, and `forget` removes it without a trace: relations left without evidence and entities left with neither
mentions nor relations go with it.

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
PERSON_ORG = ("works_for", "ceo_of", "founded", "member_of", "advises", "director_of", "chair_of", "partner_at")
PLACES = ("GPE", "LOC")
# The types a typed relation needs at its ends. An entity re-typed by later evidence (stores sum every document's
# votes) may leave a relation read under its old type without the ends it needs: such a relation is not shown.
RELATION_ENDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    **{kind: (("PERSON",), ("ORG",)) for kind in PERSON_ORG},
    "located_in": (("ORG",), PLACES),
    "runs": (("ORG",), ("PROJECT",)),
}
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

    def merge_entities(self, source: str, target: str) -> dict:
        """Merge `source` into `target`: its mentions, votes and relations move onto `target`, `source` goes, and
        every later `put` naming `source` stores `target` instead (re-processing keeps the merge). Returns
        {"source", "target", "mentions", "relations"} moved. Raises NotFound for an unknown id, BadInput for one
        entity merged into itself or two of different types."""

    def reject_merge(self, a: str, b: str) -> None:
        """Remember that `a` and `b` are different entities: never proposed as a merge again."""


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
        [{"a": {"id", "name"}, "b": {"id", "name"}, "people": [names, sorted], "ties": see `with_ties`}]; only pairs
        with `organisation` (an entity id) when given. An organisation is never paired with a short form of its own
        name ("Brightwater" and "Brightwater Labs": one key a whole-word prefix of the other), which is the same body
        seen twice."""

    def stats(self) -> dict:
        """{"documents", "entities", "relations", "mentions", "evidence"}"""

    def names(self, type: str) -> list[dict]:
        """[{"id", "name", "key", "mentions"}] of every entity of this type (merge candidates compare them)."""

    def merged_into(self, entity_ids: Collection[str]) -> dict[str, str]:
        """{merged id: the entity it was merged into} for those of `entity_ids` an admin merged away."""

    def rejected_merges(self, entity_id: str) -> set[str]:
        """Ids an admin said are not the same as `entity_id` (never proposed again)."""


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
    weight); `time` is the first dated evidence's ("former", "since 2019", "until 2021"), or absent."""
    shaped = {
        "type": row["type"],
        "direction": _direction(row["type"], bool(row["outgoing"])),
        "target": {"id": row["oid"], "name": row["name"], "type": row["otype"]},
        "weight": row["weight"],
        "evidence": evidence,
    }
    time = next((e["time"] for e in evidence if e.get("time")), None)
    if time:
        shaped["time"] = time
    return shaped


def ends_fit(rel_type: str, source_type: str, target_type: str) -> bool:
    """Whether a relation's ends have the types it needs (any ends for co_mentioned and unknown types)."""
    ends = RELATION_ENDS.get(rel_type)
    return ends is None or (source_type in ends[0] and target_type in ends[1])


def fitting(relations: list[dict], own_type: str) -> list[dict]:
    """`entity()`'s relations whose ends still have the types they need."""
    return [
        r
        for r in relations
        if ends_fit(
            r["type"],
            own_type if r["direction"] != "in" else r["target"]["type"],
            r["target"]["type"] if r["direction"] != "in" else own_type,
        )
    ]


def voted_type(votes: dict[str, float], current: str) -> str:
    """The type with most votes (summed over documents); a tie keeps the current one."""
    if not votes:
        return current
    best = max(votes.values())
    leaders = sorted(t for t, v in votes.items() if v == best)
    return current if current in leaders else leaders[0]


def with_ties(pair: dict, ties: list[dict]) -> dict:
    """A `shared_people` pair with, for each person, the relation and one sentence on each side:
    "ties": [{"person": {"id", "name"}, "a": {"type", "text", "document"}, "b": {...}}]."""
    by_person: dict[str, dict] = {}
    for t in ties:
        side = "a" if t["org"] == pair["a"]["id"] else "b" if t["org"] == pair["b"]["id"] else None
        if side is None:
            continue
        entry = by_person.setdefault(t["person"], {"person": {"id": t["person"], "name": t["person_name"]}})
        entry.setdefault(side, {"type": t["type"], "text": t["text"], "document": t["document"]})
    pair["ties"] = sorted(
        (e for e in by_person.values() if "a" in e and "b" in e), key=lambda e: (e["person"]["name"], e["person"]["id"])
    )
    return pair


def organisation_pair(row: Any, people: list[str]) -> dict:
    """One `shared_people` pair as the port shapes it, from an adapter's row (a, a_name, b, b_name); the adapter
    adds `ties` (`with_ties`)."""
    return {
        "a": {"id": row["a"], "name": row["a_name"]},
        "b": {"id": row["b"], "name": row["b_name"]},
        "people": sorted(people),
    }


def check_merge(source: str, target: str, types: dict[str, str]) -> None:
    """Refuse a merge of an unknown entity, of one entity into itself, or of two of different types."""
    from lookingglass.errors import NotFound

    if source == target:
        raise BadInput("an entity cannot be merged into itself")
    for entity_id in (source, target):
        if entity_id not in types:
            raise NotFound(f"no entity {entity_id!r}")
    if types[source] != types[target]:
        raise BadInput(f"cannot merge a {types[source]} into a {types[target]}: merge entities of one type")


def empty_forget() -> dict:
    return {"documents": 0, "mentions": 0, "evidence": 0, "relations": 0, "entities": 0}
