"""Short names of organisations across documents: the "Brightwater" of one page is the "Brightwater Labs" of another.

Within one document the extractor already reads a later "Brightwater" as the "Brightwater Labs" named before it
(text/mentions.py). Across documents the graph decides, each time a document is stored:

- An organisation whose canonical key is a whole-word prefix of exactly one organisation's key in the graph is that
  organisation ("brightwater" → "brightwater labs"). With two candidates ("calder" → "calder systems" and "calder
  energy") it stays itself: nobody can tell which one is meant.
- When a document brings an organisation the graph did not have, shorter forms already in the graph that now have
  exactly this one longer form are folded in: the documents naming them are processed again, and then take the
  branch above. Their contribution is replaced whole, so nothing counts twice.

A short form that becomes ambiguous later keeps what it was merged into. Only organisations: a bare surname on
another page is too often somebody else.
"""

from __future__ import annotations

from dataclasses import replace

from lookingglass.errors import NotFound
from lookingglass.records import Entity, Extraction
from lookingglass.stores.graph.port import GraphReader


def with_long_forms(graph: GraphReader, extraction: Extraction) -> tuple[Extraction, dict[str, str]]:
    """The extraction with each organisation that is a short form of exactly one organisation in the graph replaced
    by that organisation; and {short id: long id} for what was replaced."""
    longer: dict[str, Entity] = {}
    for entity in extraction.entities:
        if entity.type != "ORG" or not entity.key:
            continue
        candidates = graph.organisations_extending(entity.key, limit=2)
        if len(candidates) == 1:
            found = candidates[0]
            longer[entity.id] = Entity(id=found["id"], name=found["name"], type="ORG", key=found["key"])
    if not longer:
        return extraction, {}

    def to_long(entity_id: str) -> str:
        return longer[entity_id].id if entity_id in longer else entity_id

    entities = {e.id: e for e in extraction.entities if e.id not in longer}
    entities.update({e.id: e for e in longer.values()})
    return (
        replace(
            extraction,
            entities=tuple(entities.values()),
            mentions=tuple(replace(m, entity=to_long(m.entity)) for m in extraction.mentions),
            relations=tuple(
                replace(r, source=to_long(r.source), target=to_long(r.target)) for r in extraction.relations
            ),
        ),
        {short: long.id for short, long in longer.items()},
    )


def new_organisations(graph: GraphReader, extraction: Extraction) -> list[str]:
    """Keys of the extraction's organisations that the graph does not have yet (ask before storing it)."""
    keys = {e.key for e in extraction.entities if e.type == "ORG" and e.key}
    known = {row["key"] for row in graph.organisations_keyed(keys)}
    return sorted(keys - known)


def documents_naming_short_forms(graph: GraphReader, new_keys: list[str]) -> list[dict]:
    """[{"id", "kind", ...}] of the documents to process again because they name an organisation that is now a
    short form of exactly one organisation: a whole-word prefix of a newly stored key with no other longer form."""
    prefixes = {" ".join(key.split(" ")[:n]) for key in new_keys for n in range(1, len(key.split(" ")))}
    documents: dict[str, dict] = {}
    for short in graph.organisations_keyed(prefixes):
        if len(graph.organisations_extending(short["key"], limit=2)) != 1:
            continue
        try:
            named = graph.documents_for(short["id"], limit=1000)
        except NotFound:  # forgotten meanwhile: nothing left to fold in
            continue
        for document in named:
            documents.setdefault(document["id"], document)
    return sorted(documents.values(), key=lambda d: d["id"])
