"""A document's contribution to the knowledge graph: text in, an `Extraction` (entities, mentions, relations) out.

The pipeline calls `extract_page` for a crawled page and `extract_document` for a transcript (kind "transcript",
the transcript's language when known). Both are pure compute: the caller stores the Extraction, replacing whatever
the same document contributed before. Text that is not English gives an Extraction with the document and nothing
else: the English model would read names into it that are not there.

Text is read as paragraphs separated by newlines, and a newline always ends a sentence; join a transcript's
segments with spaces (Whisper cuts segments mid-sentence), its paragraphs (or speaker turns) with newlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lookingglass.records import Document, Evidence, Extraction, Mention
from lookingglass.text.entities import EntityRecognizer, Recognized
from lookingglass.text.html import guess_language, page_text
from lookingglass.text.relations import find_relations


def extract_document(
    recognizer: EntityRecognizer, document: Document, text: str, *, language: str | None = None
) -> Extraction:
    """Entities, mentions and relations of one text. `language` (ISO 639-1) when known; else guessed from the text."""
    return next(extract_documents(recognizer, [(document, text, language)]))


def extract_documents(
    recognizer: EntityRecognizer, items: Iterable[tuple[Document, str, str | None]], batch_size: int = 16
) -> Iterator[Extraction]:
    """`extract_document` for many (document, text, language) at once: spaCy parses them in batches."""
    pending: list[tuple[Document, str]] = []
    for document, text, language in items:
        pending.append((document, text if _is_english(text, language) else ""))
        if len(pending) == batch_size:
            yield from _extract(recognizer, pending)
            pending = []
    if pending:
        yield from _extract(recognizer, pending)


def extract_page(
    recognizer: EntityRecognizer,
    html: bytes | str,
    *,
    doc_id: str,
    url: str | None = None,
    fetched_at: str | None = None,
) -> Extraction:
    """A crawled page: main text and title from the HTML (kind "page"), then `extract_document`."""
    page = page_text(html, url)
    document = Document(id=doc_id, kind="page", url=url, title=page.title, fetched_at=fetched_at)
    return extract_document(recognizer, document, page.text, language=page.language or "")


def _is_english(text: str, language: str | None) -> bool:
    """English, or too short to tell. `language=""` means the caller looked and could not tell."""
    if language is None:
        language = guess_language(text) or ""
    return language in ("", "en")


def _extract(recognizer: EntityRecognizer, items: list[tuple[Document, str]]) -> Iterator[Extraction]:
    recognized_all = recognizer.pipe([text for _, text in items], batch_size=len(items))
    for (document, _), recognized in zip(items, recognized_all, strict=True):
        yield _extraction(document, recognized)


def _extraction(document: Document, recognized: Recognized) -> Extraction:
    mentions = tuple(
        Mention(
            entity=span.entity.id,
            surface=span.surface,
            evidence=Evidence(document.id, span.sentence, recognized.sentence_text(span.sentence)),
        )
        for span in recognized.spans
    )
    return Extraction(
        document=document,
        entities=recognized.entities,
        mentions=mentions,
        relations=find_relations(recognized, document.id),
    )
