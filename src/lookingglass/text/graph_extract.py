"""A document's contribution to the knowledge graph: text in, an `Extraction` (entities, mentions, relations) out.

The pipeline calls `extract_page` for a crawled page and `extract_document` for a transcript (kind "transcript",
the transcript's language when known). Both are pure compute: the caller stores the Extraction, replacing whatever
the same document contributed before. Text that is not English gives an Extraction with the document and nothing
else: the English model would read names into it that are not there.

Text is read as paragraphs separated by newlines, and a newline always ends a sentence; join a transcript's
segments with spaces (Whisper cuts segments mid-sentence), its paragraphs (or speaker turns) with newlines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from lookingglass.records import Document, Entity, Evidence, Extraction, Mention, Relation
from lookingglass.text.entities import EntityRecognizer, text_chunks
from lookingglass.text.html import guess_language, page_text
from lookingglass.text.mentions import Recognized
from lookingglass.text.relations import find_relations

# A long text is read in windows, each parsed, turned into plain records and let go before the next: spaCy's docs
# for a whole 1 MB text held at once took ~3 GB. Within-document coreference ("Smith" after "Jane Smith") works
# inside a window; the window is long enough for an article, so only very long pages and transcripts are cut.
WINDOW_CHARS = 60_000
MAX_SENTENCES = 20_000  # per document; windows after the one that reaches either cap are not read
MAX_MENTIONS = 20_000


def extract_document(
    recognizer: EntityRecognizer,
    document: Document,
    text: str,
    *,
    language: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Extraction:
    """Entities, mentions and relations of one text. `language` (ISO 639-1) when known; else guessed from the text.

    Texts over WINDOW_CHARS are read window by window (`progress(fraction)` after each, where a job's budget is
    checked), at most MAX_SENTENCES sentences and MAX_MENTIONS mentions of them.
    """
    if len(text) > WINDOW_CHARS and _is_english(text, language):
        return _extract_windows(recognizer, document, text, progress)
    return next(extract_documents(recognizer, [(document, text, language)]))


def _extract_windows(
    recognizer: EntityRecognizer, document: Document, text: str, progress: Callable[[float], None] | None
) -> Extraction:
    entities: dict[str, Entity] = {}
    mentions: list[Mention] = []
    relations: dict[tuple[str, str, str], list[Evidence]] = {}
    windows = text_chunks(text, WINDOW_CHARS)
    sentences = 0
    for number, window in enumerate(windows):
        if sentences >= MAX_SENTENCES or len(mentions) >= MAX_MENTIONS:
            break
        part = _extraction(document, recognizer(window), first_sentence=sentences)
        sentences += part.sentences
        for entity in part.extraction.entities:
            entities.setdefault(entity.id, entity)
        mentions.extend(part.extraction.mentions)
        for relation in part.extraction.relations:
            relations.setdefault((relation.type, relation.source, relation.target), []).extend(relation.evidence)
        if progress is not None:
            progress((number + 1) / len(windows))
    mentions = mentions[:MAX_MENTIONS]
    named = {m.entity for m in mentions}
    return Extraction(
        document=document,
        entities=tuple(e for e in entities.values() if e.id in named),
        mentions=tuple(mentions),
        relations=tuple(
            Relation(kind, source, target, tuple(evidence), float(len(evidence)))
            for (kind, source, target), evidence in relations.items()
            if source in named and target in named
        ),
    )


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
        yield _extraction(document, recognized).extraction


class _Part:
    """One window's Extraction (sentence numbers counted from `first_sentence`) and how many sentences it had."""

    def __init__(self, extraction: Extraction, sentences: int) -> None:
        self.extraction = extraction
        self.sentences = sentences


def _extraction(document: Document, recognized: Recognized, first_sentence: int = 0) -> _Part:
    mentions = tuple(
        Mention(
            entity=span.entity.id,
            surface=span.surface,
            evidence=Evidence(document.id, first_sentence + span.sentence, recognized.sentence_text(span.sentence)),
        )
        for span in recognized.spans
    )
    relations = find_relations(recognized, document.id)
    if first_sentence:
        relations = tuple(
            replace(r, evidence=tuple(replace(e, sentence=e.sentence + first_sentence) for e in r.evidence))
            for r in relations
        )
    extraction = Extraction(document=document, entities=recognized.entities, mentions=mentions, relations=relations)
    return _Part(extraction, len(recognized.sentences))
