"""Text search over transcripts and page passages."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.search import SearchQuery, SearchResult, search_text
from lookingglass.web.routes import answer, caller, the_app

search = APIBlueprint("search", __name__, abp_tags=[Tag(name="text")])


@search.get("/search", operation_id="search_text", responses={200: SearchResult})
def search_route(query: SearchQuery):
    """Text search over transcripts and page passages (BM25; quoted phrases; audited)."""
    return answer(search_text(the_app(), caller(), query))
