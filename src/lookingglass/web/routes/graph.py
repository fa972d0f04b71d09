"""The entity graph: entities, one entity with its evidence, organisations sharing people, size, analytics, and
merging duplicate entities."""

from __future__ import annotations

from flask import jsonify
from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.graph import (
    AnalyticsReport,
    CandidatesQuery,
    EntityDetail,
    EntityList,
    EntityMergeReport,
    EntityMergeRequest,
    EntityPath,
    EntityQuery,
    GraphStatus,
    MergeCandidates,
    MergeRejected,
    Neighbourhood,
    NeighbourhoodQuery,
    RejectMergeRequest,
    SharedPeople,
    SharedPeopleQuery,
    entity_detail,
    entity_merge_candidates,
    entity_neighbourhood,
    graph_stats,
    list_entities,
    merge_candidates,
    merge_entities,
    reject_merge_candidate,
    run_graph_analytics,
    shared_people,
)
from lookingglass.web.routes import answer, caller, the_app

graph = APIBlueprint("graph", __name__, abp_tags=[Tag(name="graph")])


def answer_as_found(model, status: int = 200):
    """A record whose keys depend on what it describes (an organisation's shared people, a run's algorithms):
    the keys it was given, as the store gave them, and no nulls for the others."""
    return jsonify(model.model_dump(mode="json", exclude_unset=True)), status


@graph.get("/entities", operation_id="list_entities", responses={200: EntityList})
def entities_route(query: EntityQuery):
    """Entities from pages and transcripts, by PageRank, mentions or name."""
    return answer(list_entities(the_app(), caller(), query))


@graph.get("/entities/<entity_id>", operation_id="entity_detail", responses={200: EntityDetail})
def entity_route(path: EntityPath):
    """One entity: relations with evidence, documents, community, organisations it shares people with, faces on
    the same pages."""
    return answer_as_found(entity_detail(the_app(), caller(), path.entity_id))


@graph.get("/entities/<entity_id>/neighbourhood", operation_id="entity_neighbourhood", responses={200: Neighbourhood})
def neighbourhood_route(path: EntityPath, query: NeighbourhoodQuery):
    """An entity and the entities tied to it, one or two relations out (the entity page's drawing)."""
    return answer(entity_neighbourhood(the_app(), caller(), query, path.entity_id))


@graph.get("/graph/shared-people", operation_id="shared_people", responses={200: SharedPeople})
def shared_people_route(query: SharedPeopleQuery):
    """Organisation pairs sharing people."""
    return answer(shared_people(the_app(), caller(), query))


@graph.get("/graph/stats", operation_id="graph_stats", responses={200: GraphStatus})
def graph_stats_route():
    """Graph counts and the last analytics run."""
    return answer_as_found(graph_stats(the_app(), caller()))


@graph.post(
    "/graph/analytics", operation_id="run_graph_analytics", responses={200: AnalyticsReport, 202: AnalyticsReport}
)
def analytics_route():
    """Run PageRank, Louvain and Leiden now (admin): answered when done, or 202 with the job when workers run it."""
    report = run_graph_analytics(the_app(), caller())
    return answer_as_found(report, 202 if report.job is not None else 200)


@graph.get(
    "/entities/<entity_id>/merge-candidates",
    operation_id="entity_merge_candidates",
    responses={200: MergeCandidates},
)
def entity_candidates_route(path: EntityPath):
    """Entities of the same type whose names are probably this one's written differently, with the reasons."""
    return answer(entity_merge_candidates(the_app(), caller(), path.entity_id))


@graph.get("/graph/merge-candidates", operation_id="merge_candidates", responses={200: MergeCandidates})
def candidates_route(query: CandidatesQuery):
    """Candidate duplicate pairs across the graph, best-supported first."""
    return answer(merge_candidates(the_app(), caller(), query))


@graph.post("/entities/merge", operation_id="merge_entities", responses={200: EntityMergeReport})
def merge_route(body: EntityMergeRequest):
    """Merge one entity into another (admin, audited); kept when pages are processed again."""
    return answer(merge_entities(the_app(), caller(), body))


@graph.post("/entities/merge-candidates/reject", operation_id="reject_merge_candidate", responses={200: MergeRejected})
def reject_route(body: RejectMergeRequest):
    """Two entities are different: never propose them again (admin, audited)."""
    return answer(reject_merge_candidate(the_app(), caller(), body))
