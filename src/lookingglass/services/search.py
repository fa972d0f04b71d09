"""Text search: words in, the transcript segments and page passages that match, best first.

Keywords rank by BM25; a "quoted phrase" must appear as written. Each hit carries a snippet with the matches marked:
HTML-safe `<mark>` for the web, `**word**` for a terminal (`format=text`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lookingglass.app import App
from lookingglass.errors import Unavailable
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.text.snippets import snippet, snippet_plain
from lookingglass.text.terms import WORD, word_term_ids


class SearchQuery(Record):
    q: str = Field(max_length=1000, description='words, or "a phrase" in double quotes')
    kind: Literal["transcript", "page"] | None = Field(None, description="only transcripts, or only pages")
    limit: int = Field(20, ge=1, le=100)
    format: Literal["html", "text"] = Field("html", description="snippet marks: <mark> (html) or **word** (text)")


class TextHit(Record):
    text: str
    snippet: str
    score: float
    sha256: str | None
    source_url: str | None
    kind: str | None
    start: float | None = Field(None, description="seconds into the media (transcripts)")
    end: float | None = None
    title: str | None = Field(None, description="the page's title (pages)")


class SearchResult(Record):
    hits: list[TextHit]
    ignored: list[str] = Field(
        default_factory=list, description="words of the query that are too common to search for (stop words)"
    )


def ignored_words(query: str) -> list[str]:
    """The query's words the index drops (stop words such as "the", "of"): said back, so nobody wonders why they
    changed nothing."""
    found: list[str] = []
    for word in WORD.findall(query):
        if not word_term_ids(word) and word.lower() not in found:
            found.append(word.lower())
    return found


@operation
def search_text(app: App, caller: Caller, query: SearchQuery) -> SearchResult:
    """Ranked text search over what was said in videos and audio, and the text of pages."""
    if app.text is None:
        raise Unavailable("the text index is not open in this process")
    hits = app.text.search(query.q, limit=query.limit, kind=query.kind)
    mark = snippet if query.format == "html" else snippet_plain
    result = SearchResult(
        hits=[TextHit(**hit.to_json(mark(hit.text, query.q))) for hit in hits], ignored=ignored_words(query.q)
    )
    audit(app, caller, "search", query=query.q, results=len(result.hits))
    return result
