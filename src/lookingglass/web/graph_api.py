"""The entity graph over HTTP: entities, one entity with its evidence, organisations sharing people, analytics."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from lookingglass.app import App
from lookingglass.graph_queries import entity_detail, graph_status, list_entities, shared_people
from lookingglass.web.params import number

graph_api = Blueprint("graph_api", __name__)


def _app() -> App:
    return current_app.extensions["lookingglass"]


@graph_api.get("/entities")
def entities():
    """`?q=` name substring, `type=` PERSON|ORG|GPE|LOC|PROJECT, `sort=` pagerank|mentions|name, `limit`, `offset`."""
    args = request.args
    return jsonify(
        list_entities(
            _app(),
            args.get("q") or None,
            args.get("type") or None,
            args.get("sort") or "pagerank",
            number("limit", int, 50, minimum=1, maximum=1000),
            number("offset", int, 0, minimum=0),
        )
    )


@graph_api.get("/entities/<entity_id>")
def entity(entity_id: str):
    return jsonify(entity_detail(_app(), entity_id))


@graph_api.get("/graph/shared-people")
def graph_shared_people():
    return jsonify(shared_people(_app(), number("limit", int, 50, minimum=1, maximum=1000)))


@graph_api.get("/graph/stats")
def graph_stats():
    """Counts, and the last analytics run (when, how long, communities, modularity)."""
    return jsonify(graph_status(_app()))


@graph_api.post("/graph/analytics")
def graph_analytics():
    """Run PageRank, Louvain and Leiden now (embedded: answered when done; with workers: queued, 202)."""
    from lookingglass.pipeline.graph_jobs import run_analytics
    from lookingglass.pipeline.queue import POLICIES

    app = _app()
    handle = app.queue.enqueue("maintenance", run_analytics, job_id="run_analytics.manual")
    if app.queue.backend == "inline":
        return jsonify(handle.result(timeout=POLICIES["maintenance"].timeout))
    return jsonify({"job": handle.id}), 202
