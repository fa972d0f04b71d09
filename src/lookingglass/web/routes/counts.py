"""What is indexed, in numbers (the search pages' counts and empty states)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.counts import IndexCounts, index_counts
from lookingglass.web.routes import answer, caller, the_app

counts = APIBlueprint("counts", __name__, abp_tags=[Tag(name="operations")])


@counts.get("/index/counts", operation_id="index_counts", responses={200: IndexCounts})
def counts_route():
    """Faces, page passages, transcript segments, documents and entities indexed."""
    return answer(index_counts(the_app(), caller()))
