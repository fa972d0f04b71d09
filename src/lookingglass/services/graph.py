"""The entity graph as people ask about it: entities, one entity with its evidence, organisations sharing people,
the graph's size, the analytics run (PageRank, Louvain, Leiden), and merging duplicates (candidates, merge, reject:
the admin's, audited).

Thin over the GraphStore port; the one thing added here is "faces on the same pages": the faces indexed from media
seen on the pages that name an entity (face payloads carry every page URL the photo was seen on). Reads are not
audited (they never were); the analytics run is the admin's, and the route says so (web/auth.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from lookingglass.app import App
from lookingglass.errors import Unavailable
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.stores.graph import MAX_LIMIT, SORTS
from lookingglass.stores.graph.neighbourhood import MAX_HOPS, NEIGHBOURHOOD_LIMIT
from lookingglass.text.entities import TYPES

FACES_PER_ENTITY = 24
SHARED_PER_ENTITY = 50
PERSON_FACES_SHOWN = 6  # faces of each named person on an entity page
LARGEST_OFFSET = 10**9  # web/params.py LARGEST: SQLite integers overflow long after, but no page is that deep

EntityType = Literal[TYPES]  # type: ignore[valid-type]
EntitySort = Literal[SORTS]  # type: ignore[valid-type]


class QueryString(Record):
    """A query string whose empty values (`?type=&limit=`) mean "not given", as the UI's empty fields send them."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if v != ""}
        return values


class EntityQuery(QueryString):
    q: str | None = Field(None, max_length=1000, description="part of a name (case-insensitive)")
    type: EntityType | None = Field(None, description="only entities of this type (any case)")
    sort: EntitySort = Field("pagerank", description="highest PageRank, most mentions, or by name")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=LARGEST_OFFSET)

    @model_validator(mode="before")
    @classmethod
    def _any_case(cls, values: Any) -> Any:
        if isinstance(values, dict) and isinstance(values.get("type"), str):
            values = {**values, "type": values["type"].upper()}
        return values


class EntitySummary(Record):
    id: str
    name: str
    type: str
    pagerank: float | None
    community: int | None
    leiden: int | None
    shares_people: int | None = Field(description="organisations: how many others share people with it")
    mentions: int = Field(description="times the entity was named, across all documents")
    relation_count: int | None = Field(
        None, description="its relations (typed and co-mentions), as its page lists them and the stats count them"
    )


class EntityList(Record):
    entities: list[EntitySummary]


class EntityPath(Record):
    entity_id: str = Field(max_length=256)


class EntityRef(Record):
    id: str
    name: str
    type: str | None = None


class Evidence(Record):
    document: str
    sentence: int | None
    text: str
    url: str | None
    title: str | None
    time: str | None = Field(None, description='when this sentence dates the relation: "former", "since 2019", ...')


class Relation(Record):
    type: str
    direction: Literal["out", "in", "both"]
    target: EntityRef
    weight: float
    evidence: list[Evidence]
    time: str | None = Field(None, description='the first dated evidence\'s time ("until 2021"); absent when none')


class EntityDocument(Record):
    id: str
    url: str | None
    title: str | None
    kind: str | None
    mentions: int | None


class TieSide(Record):
    type: str = Field(description="the typed relation tying the person to this organisation (works_for, ...)")
    text: str | None = Field(description="the sentence it was read from")
    document: str | None


class SharedTie(Record):
    person: EntityRef
    a: TieSide
    b: TieSide


class SharedOrganisation(Record):
    organisation: EntityRef
    people: list[str]
    ties: list[SharedTie] = Field(
        default_factory=list, description="each person's relation and sentence: `a` this entity, `b` the other"
    )


class EntityFace(Record):
    face_id: str
    sha256: str | None
    source_url: str | None
    page_url: str
    box: list[float] | None
    kind: str | None


class PersonFaceRef(Record):
    face_id: str
    sha256: str | None
    kind: str | None
    box: list[float] | None


class EntityPerson(Record):
    id: str
    name: str | None
    faces: int
    shown: list[PersonFaceRef] = Field(description=f"the first {PERSON_FACES_SHOWN} of their faces")


class EntityDetail(EntitySummary):
    key: str | None = None
    relations: list[Relation]
    documents: list[EntityDocument]
    shared_people: list[SharedOrganisation] | None = Field(
        None, description="organisations only: the organisations it shares people with"
    )
    faces: list[EntityFace] = Field(description="faces indexed from media seen on the pages that name it")
    persons: list[EntityPerson] = Field(
        default_factory=list, description="persons (faces grouped, /people) whose confirmed name is this entity"
    )


class NeighbourhoodQuery(QueryString):
    hops: int = Field(1, ge=1, le=MAX_HOPS, description="relations out from the entity: 1 or 2")
    limit: int = Field(NEIGHBOURHOOD_LIMIT, ge=1, le=MAX_LIMIT, description="entities at most, the strongest ties kept")


class NeighbourNode(Record):
    id: str
    name: str
    type: str
    pagerank: float | None
    community: int | None
    leiden: int | None
    hops: int = Field(description="0 for the entity itself, else how many relations out")


class NeighbourEdge(Record):
    source: str
    target: str
    type: str = Field(description="a typed relation (works_for, …) or co_mentioned")
    weight: float


class Neighbourhood(Record):
    entity_id: str
    hops: int
    nodes: list[NeighbourNode] = Field(description="the entity first, then ring by ring, strongest tie first")
    edges: list[NeighbourEdge] = Field(description="every relation between two of the nodes, heaviest first")
    truncated: bool = Field(description="entities were left out to stay within `limit`")


class SharedPeopleQuery(QueryString):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class SharedPair(Record):
    a: EntityRef
    b: EntityRef
    people: list[str]
    ties: list[SharedTie] = Field(default_factory=list, description="each person's relation and sentence, both sides")


class SharedPeople(Record):
    pairs: list[SharedPair]


class AlgorithmRun(Record):
    duration_s: float
    communities: int | None = None
    modularity: float | None = Field(None, description="null for a graph without relations")


class SharedPeopleRun(Record):
    duration_s: float
    organisations: int


class AnalyticsReport(Record):
    """A run's report (the keys it has are the ones the run had), or the job it was queued as (`job`, with 202),
    or, from a worker without the graph, the job it handed to the owner (`handed_to_owner`)."""

    job: str | None = None
    handed_to_owner: str | None = None
    backend: Literal["igraph", "gds"] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    algorithms: list[str] | None = None
    nodes: int | None = None
    relations: int | None = Field(None, description="relations, counted as the stats and the entity pages count them")
    edges: int | None = Field(None, description="pairs of entities the algorithms saw (parallel relations merged)")
    export_s: float | None = None
    duration_s: float | None = None
    write_s: float | None = None
    pagerank: AlgorithmRun | None = None
    louvain: AlgorithmRun | None = None
    leiden: AlgorithmRun | None = None
    shared_people: SharedPeopleRun | None = None


class GraphCounts(Record):
    documents: int
    entities: int
    relations: int
    mentions: int
    evidence: int


class GraphStatus(Record):
    stats: GraphCounts
    last_analytics: AnalyticsReport | None = Field(description="the last run's report; null before the first")
    gds: bool = Field(description="whether Neo4j Graph Data Science runs the analytics (else igraph here)")


def _graph(app: App):
    if app.graph is None:
        raise Unavailable("the entity graph is not open in this process")
    return app.graph


@operation
def list_entities(app: App, caller: Caller, query: EntityQuery) -> EntityList:
    """People, organisations, places and projects named in pages and transcripts, most central first."""
    graph = _graph(app)
    found = graph.entities(query.q, query.type, query.sort, query.limit, query.offset)
    counts = graph.relation_counts([e["id"] for e in found])
    return EntityList.model_validate({"entities": [{**e, "relation_count": counts.get(e["id"], 0)} for e in found]})


@operation
def entity_detail(app: App, caller: Caller, entity_id: str) -> EntityDetail:
    """One entity: its relations with evidence, its documents and community, the organisations it shares people
    with (organisations), and the faces seen on its pages. Raises NotFound."""
    graph = _graph(app)
    detail = dict(graph.entity(entity_id))
    detail["relation_count"] = graph.relation_counts([entity_id]).get(entity_id, 0)  # the list stops at 100
    if detail["type"] == "ORG":
        detail["shared_people"] = [
            {
                "organisation": p["b"] if p["a"]["id"] == entity_id else p["a"],
                "people": p["people"],
                "ties": [_from_side(t, p["a"]["id"] == entity_id) for t in p.get("ties", [])],
            }
            for p in graph.shared_people(SHARED_PER_ENTITY, organisation=entity_id)
        ]
    detail["faces"] = _faces_on_pages(app, detail.get("documents", []))
    detail["persons"] = _persons_of(app, entity_id)
    return EntityDetail.model_validate(detail)


def _from_side(tie: dict, ours_is_a: bool) -> dict:
    """A pair's tie seen from one organisation: `a` is always the organisation whose page this is."""
    return tie if ours_is_a else {"person": tie["person"], "a": tie["b"], "b": tie["a"]}


def _persons_of(app: App, entity_id: str) -> list[dict]:
    """The persons an analyst named as this entity (people/: a confirmed name links one). A scan of every person:
    there are far fewer persons than faces, and this page is opened by a person, not in a loop."""
    from lookingglass import people

    if app.faces is None or app.persons is None:
        return []
    linked = [p for p in people.store_of(app).all() if p.entity_id == entity_id]
    found = []
    for person in sorted(linked, key=lambda p: (-len(p.faces), p.id)):
        points = app.faces.points(list(person.faces[:PERSON_FACES_SHOWN]))
        shown = [
            {
                "face_id": f.id,
                "sha256": f.payload.get("sha256"),
                "kind": f.payload.get("kind"),
                "box": f.payload.get("box"),
            }
            for f in points
        ]
        found.append({"id": person.id, "name": person.name, "faces": len(person.faces), "shown": shown})
    return found


def _faces_on_pages(app: App, documents: list[dict]) -> list[dict]:
    faces: list[dict] = []
    if app.faces is None:
        return faces
    seen: set[str] = set()
    for document in documents:
        url = document.get("url")
        if not url or document.get("kind") != "page":
            continue
        for hit in app.faces.scroll({"page_urls": url}, limit=FACES_PER_ENTITY):
            if hit.id in seen:
                continue
            seen.add(hit.id)
            p = hit.payload
            faces.append(
                {
                    "face_id": hit.id,
                    "sha256": p.get("sha256"),
                    "source_url": p.get("source_url"),
                    "page_url": url,
                    "box": p.get("box"),
                    "kind": p.get("kind"),
                }
            )
        if len(faces) >= FACES_PER_ENTITY:
            break
    return faces[:FACES_PER_ENTITY]


@operation
def entity_neighbourhood(app: App, caller: Caller, query: NeighbourhoodQuery, entity_id: str) -> Neighbourhood:
    """An entity and the entities tied to it, one or two relations out: what the entity page draws. Raises
    NotFound."""
    found = _graph(app).neighbourhood(entity_id, query.hops, query.limit)
    return Neighbourhood.model_validate({"entity_id": entity_id, "hops": query.hops, **found})


@operation
def shared_people(app: App, caller: Caller, query: SharedPeopleQuery) -> SharedPeople:
    """Organisation pairs sharing people (the store leaves out an organisation paired with a short form of its own
    name: "Brightwater Labs" and a page's bare "Brightwater" are two entities, one body)."""
    return SharedPeople.model_validate({"pairs": _graph(app).shared_people(query.limit)})


@operation
def graph_stats(app: App, caller: Caller) -> GraphStatus:
    """The graph's counts, and the last analytics run (when, how long, communities, modularity)."""
    graph = _graph(app)
    return GraphStatus.model_validate(
        {"stats": graph.stats(), "last_analytics": graph.last_analytics(), "gds": graph.has_gds()}
    )


@operation
def run_graph_analytics(app: App, caller: Caller) -> AnalyticsReport:
    """PageRank, Louvain and Leiden over the graph now, written back onto the entities.

    A command that opened the stores itself runs it here and waits: it owns the graph, and a queued job would wait
    for an owner that is about to exit. A server runs it as a maintenance job: answered when done on the embedded
    queue, queued for the workers (`job`) with Redis.
    """
    from lookingglass.pipeline.graph import analyse_graph
    from lookingglass.pipeline.queue import POLICIES

    if caller.via == "cli":
        from lookingglass.stores.graph.analytics import run_analytics as analyse

        return AnalyticsReport.model_validate(analyse(_graph(app)))
    handle = app.queue.enqueue("maintenance", analyse_graph, job_id="analyse_graph.manual")
    if app.queue.runs_here:
        return AnalyticsReport.model_validate(handle.result(timeout=POLICIES["maintenance"].timeout))
    return AnalyticsReport(job=handle.id)


# --- duplicates: merge candidates, merges and rejections


class CandidateEnd(Record):
    id: str
    name: str
    mentions: int


class MergeCandidate(Record):
    a: CandidateEnd
    b: CandidateEnd
    type: str
    reasons: list[str] = Field(description='why they may be one: "spelling: 2 letters apart", "sound: KRL MTS", ...')


class MergeCandidates(Record):
    candidates: list[MergeCandidate]


class CandidatesQuery(QueryString):
    limit: int = Field(100, ge=1, le=MAX_LIMIT)


class EntityMergeRequest(Record):
    source: str = Field(max_length=256, description="the entity merged away (its mentions and relations move)")
    target: str = Field(max_length=256, description="the entity that stays")


class EntityMergeReport(Record):
    source: str
    target: str
    mentions: int = Field(description="mentions moved onto the target")
    relations: int = Field(description="relations moved onto the target")


class RejectMergeRequest(Record):
    a: str = Field(max_length=256)
    b: str = Field(max_length=256)


class MergeRejected(Record):
    a: str
    b: str


def _candidate(c) -> dict:
    def end(e: dict) -> dict:
        return {"id": e["id"], "name": e["name"], "mentions": e.get("mentions") or 0}

    return {"a": end(c.a), "b": end(c.b), "type": c.type, "reasons": list(c.reasons)}


@operation
def entity_merge_candidates(app: App, caller: Caller, entity_id: str) -> MergeCandidates:
    """Entities of the same type whose names are probably this one's written differently. Raises NotFound."""
    from lookingglass.stores.graph.duplicates import candidates_for

    graph = _graph(app)
    found = candidates_for(graph, graph.entity(entity_id, relation_limit=1, evidence_limit=1))
    return MergeCandidates.model_validate({"candidates": [_candidate(c) for c in found]})


@operation
def merge_candidates(app: App, caller: Caller, query: CandidatesQuery) -> MergeCandidates:
    """Candidate pairs across the graph, best-supported first (rejected pairs never come back)."""
    from lookingglass.stores.graph.duplicates import all_candidates

    found = all_candidates(_graph(app), limit=query.limit)
    return MergeCandidates.model_validate({"candidates": [_candidate(c) for c in found]})


@operation
def merge_entities(app: App, caller: Caller, request: EntityMergeRequest) -> EntityMergeReport:
    """Merge `source` into `target` (admin, audited): kept through re-processing; the analytics see one node."""
    report = _graph(app).merge_entities(request.source, request.target)
    audit(app, caller, "merge_entities", target=request.target, query=request.source, results=report["relations"])
    return EntityMergeReport.model_validate(report)


@operation
def reject_merge_candidate(app: App, caller: Caller, request: RejectMergeRequest) -> MergeRejected:
    """Say two entities are different (admin, audited): the pair is never proposed again. Raises NotFound."""
    graph = _graph(app)
    graph.entity(request.a, relation_limit=1, evidence_limit=1)
    graph.entity(request.b, relation_limit=1, evidence_limit=1)
    graph.reject_merge(request.a, request.b)
    audit(app, caller, "reject_merge_candidate", target=request.a, query=request.b)
    return MergeRejected(a=request.a, b=request.b)
