"""Text search: words in, the transcript segments and page passages that match, best first.

Keywords rank by BM25; a "quoted phrase" must appear as written. Each hit carries a snippet with the matches marked:
HTML-safe `<mark>` for the UI, `**word**` for the terminal.
"""

from __future__ import annotations

from lookingglass.app import App
from lookingglass.errors import BadInput, Unavailable
from lookingglass.text.snippets import snippet, snippet_plain

KINDS = ("transcript", "page")


def search_text(app: App, query: str, *, kind: str | None = None, limit: int = 20, html: bool = True) -> dict:
    """`{"hits": [{"text", "snippet", "score", "sha256", "source_url", "kind", "start", "end"}]}`"""
    if kind is not None and kind not in KINDS:
        raise BadInput(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if app.text is None:
        raise Unavailable("the text index is not open in this process")
    hits = app.text.search(query, limit=limit, kind=kind)
    mark = snippet if html else snippet_plain
    return {"hits": [hit.to_json(mark(hit.text, query)) for hit in hits]}
