"""From spaCy's entity spans to resolved entities: the rules that fix, within one document, what the statistical
model gets wrong on unfamiliar names.

"Smith" after "Jane Smith" is Jane Smith; "Norhaven" after "Norhaven Corp." is that organisation even when the model
called it a person; "Brightwater" after "Brightwater Labs" is Brightwater Labs; a name the model found once is found
again where it missed it (see `_resolve` and `_names_seen_again`). Across documents, the graph decides
(stores/graph/aliases.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lookingglass.records import Entity
from lookingglass.text.entity_types import mention_votes, winner
from lookingglass.text.names import TYPES, canonical_key, display_name, entity_id, has_legal_form

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

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
# Titles and common nouns the model sometimes takes for names: never an entity of their own.
_NOT_NAMES = frozenset({"ceo", "cto", "cfo", "coo", "chief executive", "board", "company", "firm", "group"})


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


def recognize(docs: list[Doc]) -> Recognized:
    """One text's sentences and resolved mentions, from the spaCy docs of its pieces (in order)."""
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
    raw = raw + _names_with_legal_form(docs, sentences, raw)
    raw = sorted(raw + _names_seen_again(docs, sentences, raw), key=lambda r: (r.sentence, r.span.start))
    return Recognized(sentences=tuple(sentences), spans=tuple(_resolve(raw)))


# Legal forms that end a company's name, as written (the short capitals only in capitals: "AS" is not "as").
LEGAL_FORMS = frozenset({
    "AS", "ASA", "AB", "SA", "BV", "NV", "AG", "SE", "Oy", "Oyj", "GmbH", "Ltd", "Ltd.", "Inc", "Inc.", "Corp",
    "Corp.", "Corporation", "LLC", "plc", "PLC", "SpA", "Srl", "KK",
})  # fmt: skip


def _names_with_legal_form(docs: list[Doc], sentences: list[Span], raw: list[_Raw]) -> list[_Raw]:
    """ "Skarholt AS signed the lease": capitalised words before a legal form are a company, even when the model
    saw no name there at all."""
    from spacy.tokens import Span

    found: list[_Raw] = []
    taken = {(id(r.span.doc), t.i) for r in raw for t in r.span}
    offset = 0
    for doc in docs:
        starts = [s.start for s in sentences if s.doc is doc]
        for token in doc:
            if token.text not in LEGAL_FORMS or token.i == 0 or (id(doc), token.i) in taken:
                continue
            start = token.i
            while (
                start > token.sent.start
                and doc[start - 1].text[:1].isupper()
                and doc[start - 1].is_alpha
                and (id(doc), start - 1) not in taken
                and token.i - start < 4
            ):
                start -= 1
            if start == token.i or (start == token.sent.start and doc[start].lower_ in ("the", "a", "an")):
                continue
            sentence = offset + bisect_right(starts, token.i) - 1
            found.append(_Raw(Span(doc, start, token.i + 1, label="ORG"), sentence, "ORG"))
            taken.update((id(doc), i) for i in range(start, token.i + 1))
        offset += len(starts)
    return found


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
        return len(by_last_words.get(r.key, ())) == 1 and not has_legal_form(r.span.text)

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
        elif label in ("PERSON", "ORG") and _in_place_slot(r.span) and not has_legal_form(r.span.text):
            label = "GPE"
            key = canonical_key(r.span.text, label)
        elif label == "PERSON" and key not in people and _possessor_of(r.span, person_tokens):
            label, key = "ORG", as_org
        if _may_be_short_for_org(r.as_(label), people) and " " not in as_org:
            longer = [k for k in orgs if k.startswith(as_org + " ")]
            if len(longer) == 1:
                label, key = "ORG", longer[0]
        fixed.append((r.as_(label), key))

    # One entity per id (a name is one thing in a document): its mentions vote on what it is.
    written_in_full: dict[str, Counter] = {}
    written: dict[str, Counter] = {}
    votes: dict[str, Counter] = {}
    labels: dict[str, Counter] = {}
    keys: dict[str, str] = {}
    ids = []
    for r, key in fixed:
        eid = entity_id(r.label, key)
        ids.append(eid)
        keys.setdefault(eid, key)
        name = display_name(r.span.text, r.label)
        written.setdefault(eid, Counter())[name] += 1
        if r.key == key:
            written_in_full.setdefault(eid, Counter())[name] += 1
        labels.setdefault(eid, Counter())[r.label] += 1
        legal = r.label == "ORG" and (_looks_like_org(r.as_("GPE")) or has_legal_form(r.span.text))
        votes.setdefault(eid, Counter()).update(
            mention_votes(r.span, r.label, legal=legal, place_slot=_in_place_slot(r.span))
        )
    entities = {}
    for eid, counts in written.items():
        best = (written_in_full.get(eid) or counts).most_common(1)[0][0]  # "Jonas Holt", not "Holt"
        type_ = winner(votes[eid], labels[eid].most_common(1)[0][0])
        cast = tuple(sorted((t, float(v)) for t, v in votes[eid].items()))
        entities[eid] = Entity(id=eid, name=best, type=type_, key=keys[eid], votes=cast)
    return [EntitySpan(entities[eid], r.span.text, r.sentence, r.span) for (r, _), eid in zip(fixed, ids, strict=True)]


def _with_legal_form(span: Span) -> Span:
    """ "Orrin Mobility" + "LLC" when the model left the legal form out of the name."""
    if span.end < len(span.doc) and span.label_ in ("ORG", "PERSON"):
        longer = span.doc[span.start : span.end + 1]
        if has_legal_form(longer.text) and not has_legal_form(span.text) and word_class(longer[-1]) == "PROPN":
            return longer
    return span


def _looks_like_org(r: _Raw) -> bool:
    """A legal form anywhere, or an organisation word ending a name of several words."""
    if r.label in ("ORG", "PROJECT"):
        return False
    words = canonical_key(r.span.text, "LOC").split()
    return has_legal_form(r.span.text) or (len(words) > 1 and words[-1] in ORG_HEAD_WORDS)


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
