"""Jobs that feed and analyse the knowledge graph: pages and transcripts in, entities and relations out.

Same rules as every job (docs/architecture.md): plain functions over plain arguments, idempotent (a document's
contribution to the graph is replaced whole; its passages have deterministic ids), and writes happen where the stores
are writable — here when this process has the graph (the owner, or a worker with Neo4j), else through the `index`
queue to the owner.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

from lookingglass.app import App, current
from lookingglass.errors import NotFound, Unavailable
from lookingglass.pipeline.failures import budget_failure_recorded
from lookingglass.pipeline.queue import report_progress
from lookingglass.records import Document, Extraction
from lookingglass.stores.text import TextDoc

GRAPH = "graph"  # the key under an object's `processed` metadata
# Short-form lookup, write and fold-in check happen as one step in a process (stores/graph/aliases.py): two documents
# stored at once could otherwise each miss the other's form.
_ALIASES = threading.Lock()


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def submit_page(app: App, sha256: str):
    return app.queue.enqueue("pages", process_page, sha256, job_id=f"process_page.{sha256}")


def submit_transcript(app: App, sha256: str):
    return app.queue.enqueue("pages", process_transcript, sha256, job_id=f"process_transcript.{sha256}")


def process_page(sha256: str) -> dict:
    """Job (pages queue): a stored HTML page → main text → entities and relations, and passages for text search."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process_page_now(app, sha256)


def process_page_now(app: App, sha256: str) -> dict:
    from lookingglass.text.graph_extract import extract_document
    from lookingglass.text.html import page_text
    from lookingglass.text.passages import bounded_text, split_passages

    try:
        obj = app.objects.get(sha256)
        html = app.objects.read(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    url = obj.source_url
    page = page_text(html, url if url and url.startswith("http") else None)
    text, left_out = bounded_text(page.text)  # each long sentence once, at most MAX_TEXT_CHARS
    report_progress(0.2, "entities")
    document = Document(
        id=sha256,
        kind="page",
        url=url,
        title=page.title,
        fetched_at=obj.metadata.get("crawled_at") or obj.metadata.get("first_seen"),
    )
    extraction = extract_document(
        app.recognizer, document, text, language=page.language or "", progress=_entities_progress
    )
    passages = [
        TextDoc.make(sha256, i, passage, kind="page", source_url=url, title=page.title)
        for i, passage in enumerate(split_passages(text))
    ]
    facts = {"language": page.language, "title": page.title, "passages": len(passages), **left_out}
    return _hand_over(
        app, sha256, extraction, [{"id": p.id, "text": p.text, "payload": p.payload} for p in passages], facts
    )


def process_transcript(sha256: str) -> dict:
    """Job (pages queue): what was said in a video or audio file → entities and relations (its segments are already
    searchable). Queued by the media job once the transcript is written."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process_transcript_now(app, sha256)


def _entities_progress(fraction: float) -> None:
    report_progress(0.2 + 0.7 * fraction, "entities")


def process_transcript_now(app: App, sha256: str) -> dict:
    from lookingglass.text.graph_extract import extract_document
    from lookingglass.text.passages import bounded_text

    try:
        obj = app.objects.get(sha256)
        transcript = json.loads(app.objects.read_key(f"transcripts/{sha256}.json"))
    except NotFound:
        return {"sha256": sha256, "skipped": "object or transcript is no longer stored"}
    # Whisper cuts segments mid-sentence: join them with spaces so sentences are whole again.
    text = " ".join(s["text"].strip() for s in transcript.get("segments", []) if s.get("text"))
    text, left_out = bounded_text(text)  # 2 hours of one phrase repeated is that phrase once
    name = (obj.source_url or "").rsplit("/", 1)[-1]
    document = Document(
        id=sha256, kind="transcript", url=obj.source_url, title=name, fetched_at=obj.metadata.get("first_seen")
    )
    extraction = extract_document(
        app.recognizer, document, text, language=transcript.get("language") or "", progress=_entities_progress
    )
    return _hand_over(app, sha256, extraction, None, {"language": transcript.get("language"), **left_out})


def _hand_over(app: App, sha256: str, extraction: Extraction, passages: list[dict] | None, facts: dict) -> dict:
    if app.graph is not None and (passages is None or app.text is not None):
        return store_graph_now(app, sha256, extraction, passages, facts)
    app.queue.enqueue("index", store_graph, sha256, extraction, passages, facts, job_id=f"store_graph.{sha256}")
    return {"sha256": sha256, "entities": len(extraction.entities), "stored_by": "owner via index queue"}


def store_graph(sha256: str, extraction: Extraction, passages: list[dict] | None, facts: dict) -> dict:
    """Job (index queue): write a document's entities/relations (and a page's passages) where they are writable."""
    return store_graph_now(current(), sha256, extraction, passages, facts)


def store_graph_now(app: App, sha256: str, extraction: Extraction, passages: list[dict] | None, facts: dict) -> dict:
    if app.graph is None or (passages is not None and app.text is None):
        raise Unavailable("store_graph must run where the graph (and text index) are open")
    try:
        obj = app.objects.get(sha256)
    except NotFound:  # removed while it was being processed: leave nothing behind
        app.graph.forget(sha256)
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    from lookingglass.stores.graph.aliases import documents_naming_short_forms, new_organisations, with_long_forms

    with _ALIASES:
        extraction, folded = with_long_forms(app.graph, extraction)
        new_keys = new_organisations(app.graph, extraction)
        app.graph.put(extraction)
        again = documents_naming_short_forms(app.graph, new_keys)
    for document in again:  # they name a short form of an organisation this document brought: fold it in
        (submit_transcript if document["kind"] == "transcript" else submit_page)(app, document["id"])
    if passages is not None:
        app.text.delete_where("sha256", sha256)
        app.text.upsert([TextDoc(id=d["id"], text=d["text"], payload=d["payload"]) for d in passages])
    counts = {"entities": len(extraction.entities), "relations": len(extraction.relations)}
    if folded or again:
        counts |= {"short_forms": len(folded), "reprocessing": len(again)}
    processed = dict(obj.metadata.get("processed") or {})
    processed[GRAPH] = {**counts, "at": _timestamp(), **facts}
    try:
        app.objects.annotate(sha256, {"processed": processed, "processing_error": None})
    except NotFound:
        app.graph.forget(sha256)
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    return {"sha256": sha256, **counts}


def analyse_graph() -> dict:
    """Job (maintenance queue, daily and on demand): PageRank, Louvain and Leiden over the graph, written back."""
    from lookingglass.stores.graph.analytics import run_analytics

    app = current()
    if app.graph is None:  # a worker, and the graph is the owner's SQLite file: the owner runs it
        handle = app.queue.enqueue("index", analyse_graph, job_id="analyse_graph.owner")
        return {"handed_to_owner": handle.id}
    return run_analytics(app.graph)
