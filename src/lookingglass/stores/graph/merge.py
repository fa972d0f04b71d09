"""One document's contribution, checked and merged before it is stored: both adapters store exactly this, so they
keep one shape.

An extraction may name the same entity twice or read the same relation from several sentences; here each entity
becomes one row (the first name wins), each (type, source, target) one edge carrying its evidence sentences, and a
`co_mentioned` edge has its endpoints in id order. Self-relations (two surface forms of one entity) are dropped.
An entity carries the document's type votes (`votes`: {type: weight}); a relation its time ("since 2019").
`redirected` rewrites a contribution onto the entities an admin merged its entities into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lookingglass.errors import BadInput
from lookingglass.records import Extraction
from lookingglass.stores.graph.port import SYMMETRIC


@dataclass
class Edge:
    """One relation as one document supports it."""

    type: str
    source: str
    target: str
    sentences: dict[int, str] = field(default_factory=dict)  # evidence: sentence index -> text
    bare_weight: float = 0.0  # weight given without evidence
    time: str = ""  # "former", "since 2019", "until 2021": when the document dates the relation

    @property
    def weight(self) -> float:
        return len(self.sentences) + self.bare_weight


@dataclass(frozen=True)
class Contribution:
    document: dict
    entities: tuple[dict, ...]
    mentions: tuple[tuple[str, int, str], ...]  # (entity, sentence, surface)
    sentences: dict[int, str]  # every sentence a mention or evidence points at
    edges: tuple[Edge, ...]

    @property
    def entity_ids(self) -> list[str]:
        return [e["id"] for e in self.entities]


def contribution(extraction: Extraction) -> Contribution:
    """Validate an extraction and merge its duplicates (same entity twice, same relation twice)."""
    doc = extraction.document
    if not doc.id:
        raise BadInput("a document needs an id")
    entities: dict[str, dict] = {}
    for e in extraction.entities:
        if not e.id or not e.name or not e.type:
            raise BadInput(f"entity {e!r} needs an id, a name and a type")
        entity = entities.setdefault(e.id, {"id": e.id, "name": e.name, "type": e.type, "key": e.key, "votes": {}})
        for type_, weight in e.votes:  # first name wins; votes add up
            entity["votes"][type_] = entity["votes"].get(type_, 0.0) + float(weight)
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
    edges: dict[tuple[str, str, str], Edge] = {}
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
        edge = edges.setdefault((r.type, source, target), Edge(r.type, source, target))
        for ev in r.evidence:
            edge.sentences.setdefault(evidence_of(ev, f"relation {r.type}"), ev.text)
        if not r.evidence:
            edge.bare_weight += float(r.weight)
        edge.time = edge.time or r.time
    document = {"id": doc.id, "kind": doc.kind, "url": doc.url, "title": doc.title or "", "fetched_at": doc.fetched_at}
    return Contribution(document, tuple(entities.values()), tuple(mentions), sentences, tuple(edges.values()))


def redirected(c: Contribution, merged: dict[str, str], targets: dict[str, dict]) -> Contribution:
    """The contribution with every entity an admin merged away replaced by the entity it was merged into (`merged`:
    {old id: new id}; `targets`: the new ids' rows {"id", "name", "type", "key"}), so that a page processed again
    keeps pointing at the merged entity. Votes move with the mentions; relations that became self-relations go."""
    if not merged:
        return c

    def to(entity_id: str) -> str:
        return merged.get(entity_id, entity_id)

    entities: dict[str, dict] = {}
    for e in c.entities:
        new = targets.get(to(e["id"]), e) if e["id"] in merged else e
        entity = entities.setdefault(new["id"], {**new, "votes": {}})
        for type_, weight in e.get("votes", {}).items():
            entity["votes"][type_] = entity["votes"].get(type_, 0.0) + weight
    edges: dict[tuple[str, str, str], Edge] = {}
    for e in c.edges:
        source, target = to(e.source), to(e.target)
        if source == target:
            continue
        if e.type in SYMMETRIC and target < source:
            source, target = target, source
        edge = edges.setdefault((e.type, source, target), Edge(e.type, source, target))
        edge.sentences.update(e.sentences)
        edge.bare_weight += e.bare_weight
        edge.time = edge.time or e.time
    mentions = tuple((to(entity), sentence, surface) for entity, sentence, surface in c.mentions)
    return Contribution(c.document, tuple(entities.values()), mentions, c.sentences, tuple(edges.values()))
