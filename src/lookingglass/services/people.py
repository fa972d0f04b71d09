"""People (issue 14): faces grouped into persons; list, show, name, merge, split, hide, search, re-cluster.

The model and its rules are in `lookingglass.people`; these are the use cases over it. Changes made by a person
(name, merge, split, hide, cluster) are audited; reads are not (like the graph's). Names are only ever set here,
by a person: suggestions (people/names.py) are shown, never applied.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lookingglass import people
from lookingglass.app import App
from lookingglass.errors import NotFound
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.services.graph import QueryString

MAX_PERSONS = 1000


class PersonQuery(QueryString):
    show: Literal["visible", "named", "unnamed", "hidden"] = Field(
        "visible", description="visible: every person not hidden; hidden: only those"
    )
    q: str | None = Field(None, max_length=200, description="part of a name (case-insensitive)")
    limit: int = Field(100, ge=1, le=MAX_PERSONS)
    suggest: bool = Field(True, description="rank name suggestions for each person listed (false: faster)")
    offset: int = Field(0, ge=0, le=10**9)


class Suggestion(Record):
    name: str
    score: float
    evidence: list[dict] = Field(default_factory=list)


class PersonFace(Record):
    face_id: str
    sha256: str
    kind: str | None
    box: list[float] | None
    timestamp: float | None
    source_url: str | None
    page_url: str | None


class PersonSummary(Record):
    id: str
    name: str | None
    faces: int = Field(description="faces held (a video track's keyframes each count)")
    objects: int = Field(description="photos and videos they appear in")
    hidden: bool
    suggestions: list[Suggestion]
    cover: PersonFace | None = Field(None, description="one of their faces, to show them by (lists only)")


class PersonList(Record):
    people: list[PersonSummary]


class PersonPath(Record):
    person_id: str = Field(max_length=64)


class PersonDetail(Record):
    id: str
    name: str | None
    hidden: bool
    faces: list[PersonFace]
    entity: dict | None
    suggestions: list[Suggestion]


class NameRequest(Record):
    name: str = Field(min_length=1, max_length=200, description="the name an analyst confirms")


class MergeRequest(Record):
    others: list[str] = Field(min_length=1, max_length=100, description="persons whose faces move into this one")


class SplitRequest(Record):
    face_ids: list[str] = Field(min_length=1, max_length=10_000, description="faces moved out into a new person")


class ClusterRequest(Record):
    full: bool = Field(False, description="every face again (else: retry the unassigned faces)")


class ClusterReport(Record):
    full: bool
    persons: int
    faces: int | None = None
    observations: int | None = None
    kept: int | None = None
    unassigned: int | None = None
    retried: int | None = None
    assigned: int | None = None


def _summary(
    person: people.Person, suggestions: list[Suggestion] | None = None, cover: PersonFace | None = None
) -> PersonSummary:
    return PersonSummary(
        id=person.id,
        name=person.name,
        faces=len(person.faces),
        objects=len(person.objects),
        hidden=person.hidden,
        suggestions=suggestions or [],
        cover=cover,
    )


def _face(face_id: str, payload: dict) -> PersonFace:
    return PersonFace(
        face_id=face_id,
        sha256=payload.get("sha256", ""),
        kind=payload.get("kind"),
        box=payload.get("box"),
        timestamp=payload.get("timestamp"),
        source_url=payload.get("source_url"),
        page_url=payload.get("page_url"),
    )


def _covers(app: App, persons: list[people.Person]) -> dict[str, PersonFace]:
    """The first face of each person, read in one call: what the People page shows them by."""
    first = [p.faces[0] for p in persons if p.faces]
    return {point.id: _face(point.id, point.payload) for point in app.faces.points(first)} if first else {}


def _suggestions(app: App, payloads: list[dict]) -> list[Suggestion]:
    """Ranked names from the evidence of these faces (people/names.py); shown, never applied."""
    from lookingglass.people.names import suggest_names

    return [
        Suggestion(name=s.name, score=round(s.score, 4), evidence=[e.model_dump() for e in s.evidence])
        for s in suggest_names(app, payloads)
    ]


def _payloads(app: App, person: people.Person) -> list[dict]:
    return [point.payload for point in app.faces.points(list(person.faces))]


def _linked_entity(app: App, person: people.Person) -> dict | None:
    """The graph's PERSON entity a confirmed name links to: its name and its relations (organisations, places)."""
    if not person.entity_id:
        return None
    if app.graph is None:
        return {"id": person.entity_id, "name": person.name, "type": "PERSON", "relations": []}
    try:
        entity = app.graph.entity(person.entity_id, relation_limit=50, evidence_limit=2)
    except NotFound:
        return {"id": person.entity_id, "name": person.name, "type": "PERSON", "relations": []}
    keep = ("id", "name", "type", "pagerank", "community", "relations")
    return {k: entity.get(k) for k in keep}


def _link_to_graph(app: App, person: people.Person, name: str) -> str | None:
    """Link a confirmed name to the graph's PERSON entity of that name, creating it when the graph does not know it:
    the person's own document (`person:<id>`) mentions the entity, so the graph holds the link (in Neo4j, a
    relationship between that document node and the entity) and a rename replaces it whole."""
    from lookingglass.records import Document, Entity, Evidence, Extraction, Mention
    from lookingglass.text.names import canonical_key, entity_id

    key = canonical_key(name, "PERSON")
    if not key:
        return None
    eid = entity_id("PERSON", key)
    if app.graph is not None:
        doc = Document(id=f"person:{person.id}", kind="person", title=f"Person {person.id[:8]}: {name}")
        evidence = Evidence(document=doc.id, sentence=0, text=f"{name} (a name confirmed by an analyst)")
        app.graph.put(
            Extraction(
                document=doc,
                entities=(Entity(id=eid, name=name, type="PERSON", key=key),),
                mentions=(Mention(entity=eid, surface=name, evidence=evidence),),
            )
        )
    return eid


@operation
def list_people(app: App, caller: Caller, query: PersonQuery) -> PersonList:
    """Persons, most faces first; `show` filters named, unnamed or hidden ones; `q` searches names."""
    found = people.store_of(app).all()
    wanted = {
        "visible": lambda p: not p.hidden,
        "named": lambda p: not p.hidden and bool(p.name),
        "unnamed": lambda p: not p.hidden and not p.name,
        "hidden": lambda p: p.hidden,
    }[query.show]
    needle = (query.q or "").casefold()
    found = [p for p in found if wanted(p) and (not needle or needle in (p.name or "").casefold())]
    found.sort(key=lambda p: (-len(p.faces), p.name or "", p.id))
    page = found[query.offset : query.offset + query.limit]
    covers = _covers(app, page)
    return PersonList(
        people=[
            _summary(
                p,
                _suggestions(app, _payloads(app, p)) if query.suggest else None,
                covers.get(p.faces[0]) if p.faces else None,
            )
            for p in page
        ]
    )


@operation
def person_detail(app: App, caller: Caller, person_id: str) -> PersonDetail:
    """One person: every face with its object, box, video moment and pages. Raises NotFound."""
    person = people.get(app, person_id)
    faces = []
    payloads = []
    for point in app.faces.points(list(person.faces)):
        payloads.append(point.payload)
        faces.append(_face(point.id, point.payload))
    faces.sort(key=lambda f: (f.sha256, f.timestamp or 0.0, f.face_id))
    return PersonDetail(
        id=person.id,
        name=person.name,
        hidden=person.hidden,
        faces=faces,
        entity=_linked_entity(app, person),
        suggestions=_suggestions(app, payloads),
    )


@operation
def name_person(app: App, caller: Caller, request: NameRequest, person_id: str) -> PersonSummary:
    """Confirm (or change) a person's name."""
    name = request.name.strip()
    person = people.update(app, person_id, name=name)
    linked = _link_to_graph(app, person, name)
    if linked != person.entity_id:
        person = people.update(app, person_id, entity_id=linked)
    audit(app, caller, "name_person", target=person.id, query=request.name.strip())
    return _summary(person)


@operation
def merge_people(app: App, caller: Caller, request: MergeRequest, person_id: str) -> PersonSummary:
    """Move every face of the other persons into this one; the others disappear."""
    person = people.merge(app, person_id, request.others)
    audit(app, caller, "merge_people", target=person.id, query=",".join(request.others))
    return _summary(person)


@operation
def split_person(app: App, caller: Caller, request: SplitRequest, person_id: str) -> PersonSummary:
    """Move these faces out of the person into a new person (the answer)."""
    created = people.split(app, person_id, request.face_ids)
    audit(app, caller, "split_person", target=person_id, query=created.id, results=len(request.face_ids))
    return _summary(created)


@operation
def hide_person(app: App, caller: Caller, person_id: str) -> PersonSummary:
    """Hide a person from the default list (their faces stay, and stay theirs)."""
    person = people.update(app, person_id, hidden=True)
    audit(app, caller, "hide_person", target=person.id)
    return _summary(person)


@operation
def cluster_people(app: App, caller: Caller, request: ClusterRequest) -> ClusterReport:
    """Re-cluster now: every face (`full`), or only the faces still waiting for a person."""
    report = people.cluster(app, full=request.full)
    audit(app, caller, "cluster_people", query="full" if request.full else "unassigned", results=report["persons"])
    return ClusterReport.model_validate(report)
