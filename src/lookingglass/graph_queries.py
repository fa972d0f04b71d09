"""What people ask of the entity graph, shaped once for the API and the CLI (`GET /entities`, `lookingglass entity`).

Thin over the GraphStore port; the one thing added here is "faces on the same pages": the faces indexed from media
seen on the pages that name an entity (face payloads carry every page URL the photo was seen on).
"""

from __future__ import annotations

from lookingglass.app import App
from lookingglass.errors import BadInput, Unavailable
from lookingglass.text.entities import TYPES

FACES_PER_ENTITY = 24
SHARED_PER_ENTITY = 50


def _graph(app: App):
    if app.graph is None:
        raise Unavailable("the entity graph is not open in this process")
    return app.graph


def list_entities(
    app: App,
    query: str | None = None,
    type: str | None = None,
    sort: str = "pagerank",
    limit: int = 50,
    offset: int = 0,
) -> dict:
    if type is not None and type.upper() not in TYPES:  # sort, limit and offset: the store checks them
        raise BadInput(f"type must be one of {', '.join(TYPES)}, got {type!r}")
    found = _graph(app).entities(query or None, type.upper() if type else None, sort, limit, offset)
    return {"entities": found}


def entity_detail(app: App, entity_id: str) -> dict:
    """The entity, its relations with evidence, its documents and community, the organisations it shares people
    with (organisations), and faces seen on its pages."""
    graph = _graph(app)
    detail = dict(graph.entity(entity_id))
    if detail["type"] == "ORG":
        detail["shared_people"] = [
            {"organisation": p["b"] if p["a"]["id"] == entity_id else p["a"], "people": p["people"]}
            for p in graph.shared_people(SHARED_PER_ENTITY, organisation=entity_id)
        ]
    faces: list[dict] = []
    if app.faces is not None:
        seen: set[str] = set()
        for document in detail.get("documents", []):
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
    detail["faces"] = faces[:FACES_PER_ENTITY]
    return detail


def shared_people(app: App, limit: int = 50) -> dict:
    """Organisation pairs sharing people (the store leaves out an organisation paired with a short form of its own
    name: "Brightwater Labs" and a page's bare "Brightwater" are two entities, one body)."""
    return {"pairs": _graph(app).shared_people(limit)}  # the store checks the limit


def graph_status(app: App) -> dict:
    graph = _graph(app)
    return {"stats": graph.stats(), "last_analytics": graph.last_analytics(), "gds": graph.has_gds()}
