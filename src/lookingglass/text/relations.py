"""Typed relations between the entities of one sentence, read off spaCy's dependency parse, and co-mentions.

For each pair of entities in a sentence we take the shortest path between them in the dependency tree and ask what
lies on it. "Priya Raman, CEO of Brightwater Labs" is Raman -appos-> CEO -prep-> of -pobj-> Labs: a CEO word on a
short path from a person to an organisation is `ceo_of`. The same reading covers "Brightwater Labs CEO Priya Raman"
(compound), "Brightwater's chief executive, Priya Raman" (poss + appos) and "Raman was named chief executive of
Brightwater" (a role word hanging off the verb). Paths that leave the clause (ccomp, advcl, parataxis, a conjunct
with its own subject) or run through a third entity are not read: "Raman said Holt joined Calder" says nothing
about Raman and Calder. Any verb on the path must be one the relation expects ("founded", "joined", "based"), so
"Raman sued Calder" is nothing. These rules favour precision: a sentence they cannot read still gives co-mentions.

| type | from → to | read from |
|---|---|---|
| founded | PERSON → ORG | founded / co-founded / established; founder, co-founder |
| ceo_of | PERSON → ORG | CEO, chief executive (officer) |
| chair_of | PERSON → ORG | chair / chairman / chairwoman of; chairs |
| director_of | PERSON → ORG | director of (not "board of directors": that is member_of) |
| advises | PERSON → ORG | adviser / advisor to; advises, advised |
| partner_at | PERSON → ORG | partner at (not "partners with": a deal between organisations) |
| member_of | PERSON → ORG | member, board, trustee; sits on the board of; or any affiliation with a consortium/... |
| works_for | PERSON → ORG | works/joined/left/hired/leads...; "X, an engineer at Y"; "X of Y"; "Y's X" |
| located_in | ORG → GPE/LOC | based / headquartered / located in; "Z-based Y"; headquarters in |
| runs | ORG → PROJECT | launched / leads / runs / develops / manages ...; "Y's Project P" |
| co_mentioned | any ↔ any | both named in one sentence; weight = number of such sentences; source id < target id |

A person → organisation relation carries its time when the sentence states one (`Relation.time`): "former" (a
"former director of Y"), "since 2019" ("joined Y in 2019", "since 2019"), "until 2021" ("left Y in 2021", "until
2021"); "left Y" with no year is "former". The types at both ends are checked before a rule is tried: a person never
`works_for` a place, and nothing `founded` a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from lookingglass.records import Evidence, Relation
from lookingglass.text.mentions import ORG_NOUNS, EntitySpan, Recognized, word_class

if TYPE_CHECKING:
    from spacy.tokens import Token

RELATION_TYPES = (
    "works_for", "ceo_of", "founded", "member_of", "located_in", "runs", "advises", "director_of", "chair_of",
    "partner_at",
)  # fmt: skip
CO_MENTIONED = "co_mentioned"

MAX_INNER = 6  # tokens between the two names; longer paths are too often two facts joined by a parse error
CLAUSE_EDGES = frozenset({"ccomp", "advcl", "parataxis", "csubj", "xcomp", "pcomp", "dep", "list"})
COPULA = frozenset({"is", "was", "are", "were", "be", "been", "being", "'s", "remains", "remained", "became"})
PREPOSITIONS = frozenset({"of", "at", "for", "with", "from", "by", "on", "as", "in", "to"})

FOUNDED = frozenset({
    "founded", "co-founded", "cofounded", "found", "co-found", "cofound", "founds", "established", "establish",
    "establishes", "founder", "founders", "co-founder", "co-founders", "cofounder", "cofounders",
})  # fmt: skip
MEMBER = frozenset({"member", "members", "board", "boards", "trustee", "trustees", "membership"})
WORK_VERBS = frozenset({
    "works", "work", "worked", "working", "joined", "join", "joins", "joining", "rejoined", "leads", "lead", "led",
    "heads", "head", "headed", "runs", "ran", "manages", "managed", "serves", "served", "sits", "sat", "sit",
})  # fmt: skip
LEFT_VERBS = frozenset({"left", "leaves", "leave", "leaving", "quit", "quits", "departed", "resigned", "retired"})
JOIN_VERBS = frozenset({"joined", "join", "joins", "joining", "rejoined"})
ADVISE = frozenset({"adviser", "advisor", "advisers", "advisors", "advises", "advised", "advise", "advising"})
CHAIR = frozenset({"chair", "chairs", "chaired", "chairman", "chairwoman", "chairperson", "chairing"})
DIRECTOR = frozenset({"director", "directors"})
PARTNER = frozenset({"partner"})
HIRE_VERBS = frozenset({
    "hired", "hires", "hire", "employs", "employed", "employ", "recruited", "recruits", "appointed", "appoints",
    "named", "names", "promoted", "promotes", "tapped",
})  # fmt: skip
NOT_EMPLOYMENT = frozenset({
    "customer", "customers", "client", "clients", "investor", "investors", "shareholder", "shareholders", "rival",
    "rivals", "competitor", "competitors", "critic", "critics", "opponent", "opponents", "fan", "fans", "user",
    "users", "supporter", "supporters", "partner", "partners", "friend", "friends", "wife", "husband", "son",
    "daughter", "father", "mother", "brother", "sister", "student", "students", "graduate", "alumnus", "alumna",
    "visitor", "guest", "lawyer", "attorney", "consultant", "adviser", "advisor", "regulator", "buyer", "seller",
    "acquisition", "deal", "statement", "comments", "remarks", "interview", "speech", "letter", "lawsuit", "suit",
})  # fmt: skip
# A person affiliated with one of these is its member, not its employee.
MEMBERSHIP_ORGS = frozenset({
    "consortium", "association", "committee", "council", "alliance", "federation", "society", "coalition", "forum",
    "league", "guild", "club", "chamber", "union", "institute", "foundation", "board", "panel", "network",
})  # fmt: skip
LOCATED = frozenset({"based", "headquartered", "headquarters", "hq", "located", "head-office"})
LOCATED_VERBS = frozenset({"based", "headquartered", "located", "has", "have", "had", "keeps", "maintains"})
RUN_VERBS = frozenset({
    "launched", "launch", "launches", "leads", "lead", "led", "runs", "run", "ran", "operates", "operated",
    "manages", "managed", "develops", "developed", "develop", "building", "builds", "built", "coordinates",
    "coordinated", "unveiled", "unveils", "started", "starts", "heads", "headed", "oversees", "sponsors",
})  # fmt: skip
ROLE_EDGES = frozenset({"appos", "compound", "attr", "nsubj", "oprd", "npadvmod", "dobj"})


@dataclass(frozen=True)
class _Path:
    """The dependency path between two mentions' anchor tokens, without the anchors."""

    source: Token  # the source mention's anchor
    inner: tuple[Token, ...]
    source_edge: str  # the label of the first step away from the source
    target_edge: str


def find_relations(recognized: Recognized, document_id: str) -> tuple[Relation, ...]:
    """Typed relations and co-mentions of one document, merged: one Relation per (type, source, target).

    Each keeps the sentences it was read from as Evidence; `weight` is how many sentences that is.
    """
    found: dict[tuple[str, str, str], list[int]] = {}
    times: dict[tuple[str, str, str], str] = {}
    for sentence, spans in _by_sentence(recognized):
        for kind, source, target, time in _typed(spans):
            _add(found, (kind, source.entity.id, target.entity.id), sentence)
            if time:
                times.setdefault((kind, source.entity.id, target.entity.id), time)
        ids = sorted({s.entity.id for s in spans})
        for a, b in combinations(ids, 2):
            _add(found, (CO_MENTIONED, a, b), sentence)
    relations = []
    for (kind, source, target), sentences in found.items():
        evidence = tuple(Evidence(document_id, n, recognized.sentence_text(n)) for n in sentences)
        time = times.get((kind, source, target), "")
        relations.append(Relation(kind, source, target, evidence, float(len(evidence)), time=time))
    return tuple(relations)


def _add(found: dict[tuple[str, str, str], list[int]], key: tuple[str, str, str], sentence: int) -> None:
    sentences = found.setdefault(key, [])
    if not sentences or sentences[-1] != sentence:
        sentences.append(sentence)


def _by_sentence(recognized: Recognized) -> Iterator[tuple[int, list[EntitySpan]]]:
    current: list[EntitySpan] = []
    for span in recognized.spans:
        if current and span.sentence != current[0].sentence:
            yield current[0].sentence, current
            current = []
        current.append(span)
    if current:
        yield current[0].sentence, current


def _typed(spans: list[EntitySpan]) -> Iterator[tuple[str, EntitySpan, EntitySpan, str]]:
    """Every typed relation one sentence states between its entity mentions."""
    owner = {token.i: s for s in spans for token in s.span}
    anchors = {id(s): _anchor(s, owner) for s in spans}
    for source in spans:
        for target in spans:
            if source.entity.id == target.entity.id:
                continue
            kind = _signature(source.entity.type, target.entity.type)
            if kind is None:
                continue
            path = _path(anchors[id(source)], anchors[id(target)], source, target, owner)
            if path is None:
                continue
            relation = _READERS[kind](path, target)
            if relation is not None:
                yield relation, source, target, _time(path) if kind == "person_org" else ""


def _signature(source: str, target: str) -> str | None:
    if source == "PERSON" and target == "ORG":
        return "person_org"
    if source == "ORG" and target in ("GPE", "LOC"):
        return "org_place"
    if source == "ORG" and target == "PROJECT":
        return "org_project"
    return None


def _anchor(span: EntitySpan, owner: dict[int, EntitySpan]) -> Token:
    """The token a mention hangs from; coordinated or apposed names of the same kind share their first one's.

    "founded by Priya Raman and Jonas Holt": Holt is a conjunct of Raman, so both get Raman's path to "founded".
    "Tallinn, Estonia": Estonia hangs from Tallinn.
    """
    token = span.span.root
    while token.dep_ in ("conj", "appos") and token.head.i in owner and token.head.i != token.i:
        head = owner[token.head.i]
        if head.entity.type != span.entity.type:
            break
        token = head.span.root
    return token


def _path(a: Token, b: Token, source: EntitySpan, target: EntitySpan, owner: dict[int, EntitySpan]) -> _Path | None:
    """The path between two anchors, or None when it is too long, leaves the clause or crosses another entity."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    where = {t.i: n for n, t in enumerate(up_b)}
    meet = next((n for n, t in enumerate(up_a) if t.i in where), None)
    if meet is None:
        return None
    lca = up_a[meet]
    rising = up_a[:meet]  # source .. below the meeting token
    falling = up_b[: where[lca.i]]  # target .. below the meeting token
    inner = [*rising[1:], lca, *reversed(falling[1:])]
    inner = [t for t in inner if t.i != a.i and t.i != b.i]
    if len(inner) > MAX_INNER:
        return None
    for t in (*rising, *falling):
        if t.dep_ in CLAUSE_EDGES:
            return None
        if t.dep_ == "conj" and word_class(t) in ("VERB", "AUX"):
            if any(c.dep_ in ("nsubj", "nsubjpass") for c in t.children) or _unattached_subject_before(t):
                return None  # "Raman founded Brightwater and Holt joined Calder": two clauses
            # "Holt founded Brightwater and later joined Calder": only the second verb speaks of Calder
            inner = _conjunct_side(inner, t, rising, falling)
    for t in inner:
        other = owner.get(t.i)
        if other is not None and other is not source and other is not target:
            return None
    source_edge = rising[0].dep_ if rising else (falling[-1].dep_ if falling else "")
    target_edge = falling[0].dep_ if falling else (rising[-1].dep_ if rising else "")
    return _Path(a, tuple(inner), source_edge, target_edge)


def _unattached_subject_before(verb: Token) -> bool:
    """ "... and Jonas Holt joined": a name right before a subject-less conjunct verb is its misparsed subject."""
    before = verb.i - 1
    while before > verb.sent.start and word_class(verb.doc[before]) in ("ADV", "PART", "AUX"):
        before -= 1
    return word_class(verb.doc[before]) in ("NOUN", "PROPN", "PRON")


def _conjunct_side(inner: list[Token], verb: Token, rising: list[Token], falling: list[Token]) -> list[Token]:
    """The path's tokens from a conjunct verb toward its own end, without the first conjunct's verb."""
    side = rising if any(t.i == verb.i for t in rising) else falling
    keep = {t.i for t in side[: next(n for n, t in enumerate(side) if t.i == verb.i) + 1]}
    return [t for t in inner if t.i in keep]


def _words(path: _Path) -> set[str]:
    """The words on the path, plus role words hanging off a verb on it ("named Holt chief executive")."""
    words = {t.lower_ for t in path.inner}
    for t in path.inner:
        if word_class(t) in ("VERB", "AUX"):
            for child in t.children:
                if child.dep_ in ("oprd", "attr", "xcomp", "dobj") and word_class(child) in ("NOUN", "PROPN"):
                    words.update(_role(child))
                elif child.dep_ == "prep" and child.lower_ == "as":
                    words.update(w for obj in child.children if obj.dep_ == "pobj" for w in _role(obj))
            if t.lower_ in HIRE_VERBS:  # "named Jonas Holt its chief executive": the role hangs off the name
                words.update(w for c in path.source.children if c.dep_ == "appos" for w in _role(c))
    return words


def _role(noun: Token) -> set[str]:
    """A role noun and the words that make it a title: "officer" of "chief executive officer" brings "ceo"."""
    words = {noun.lower_, *(c.lower_ for c in noun.children if c.dep_ in ("amod", "compound"))}
    return words | ({"ceo"} if _is_ceo(noun) else set())


def _is_ceo(token: Token) -> bool:
    children = {c.lower_ for c in token.children}
    return (
        token.lower_ in ("ceo", "ceos")
        or (token.lower_ in ("executive", "executives") and "chief" in children)
        or (token.lower_ == "officer" and "executive" in children)
    )


def _verbs(path: _Path) -> list[str]:
    return [t.lower_ for t in path.inner if word_class(t) in ("VERB", "AUX")]


def _read_person_org(path: _Path, target: EntitySpan) -> str | None:
    verbs = _verbs(path)
    words = _words(path)
    nouns = [t for t in path.inner if word_class(t) in ("NOUN", "PROPN")]
    preps = {t.lower_ for t in path.inner if word_class(t) == "ADP"}
    role = _named_role(words, preps)
    if words & (NOT_EMPLOYMENT - {role_word for role_word in words if role and role_word in ADVISE | PARTNER}):
        return None
    if preps - PREPOSITIONS:
        return None
    allowed = FOUNDED | WORK_VERBS | HIRE_VERBS | COPULA | LEFT_VERBS | ADVISE | CHAIR
    if any(v not in allowed for v in verbs):
        return None
    if any(v in HIRE_VERBS for v in verbs) and path.source_edge == "nsubj":
        return None  # "Raman hired Calder" is Raman hiring, not being hired
    if words & FOUNDED:
        kind = "founded"
    elif any(_is_ceo(t) for t in path.inner) or "ceo" in words:
        kind = "ceo_of"
    elif role:
        kind = role
    elif words & MEMBER:
        kind = "member_of"
    elif verbs or nouns:
        if not verbs and nouns and not _role_noun_attaches(path):
            return None
        kind = "works_for"
    elif path.inner:  # only prepositions: "Priya Raman of Brightwater Labs"
        kind = "works_for" if preps <= {"of", "at", "from", "with"} else None
    else:  # adjacent: "Norhaven's Lindqvist"
        kind = "works_for" if path.target_edge == "poss" else None
    if kind in ("works_for", "ceo_of") and _is_membership_body(target):
        kind = "member_of"
    return kind


def _named_role(words: set[str], preps: set[str]) -> str | None:
    """The roles with their own type: chair, director, adviser, partner (a "partner at" a firm, not "partners with")."""
    if words & CHAIR:
        return "chair_of"
    if words & DIRECTOR and not words & {"board", "boards"}:
        return "director_of"
    if words & ADVISE:
        return "advises"
    if words & PARTNER and "with" not in preps and ("at" in preps or "of" in preps):
        return "partner_at"
    return None


_YEAR = re.compile(r"^(1[89]|20)\d\d$")


def _time(path: _Path) -> str:
    """When the sentence dates the tie: "former", "since 2019" / "until 2021" (a year on a verb or role of the path,
    "joined in 2019", "left in 2021")."""
    tokens = [path.source, *path.inner]
    verbs = {t.lower_ for t in tokens if word_class(t) in ("VERB", "AUX")}
    left = bool(verbs & LEFT_VERBS)
    for t in tokens:
        for child in t.children:
            if child.dep_ != "prep" or child.lower_ not in ("since", "until", "till", "in", "from", "through"):
                continue
            year = next((g.text for g in child.children if g.dep_ == "pobj" and _YEAR.match(g.text)), None)
            if year is None:
                continue
            if child.lower_ in ("until", "till", "through") or (left and child.lower_ == "in"):
                return f"until {year}"
            if child.lower_ == "since" or (verbs & JOIN_VERBS and child.lower_ in ("in", "from")):
                return f"since {year}"
    for t in tokens:
        if t.lower_ in ("former", "ex", "erstwhile") or any(c.lower_ in ("former", "ex-") for c in t.children):
            return "former"
    return "former" if left else ""


def _role_noun_attaches(path: _Path) -> bool:
    """A role noun must stand for the person (apposition, compound, copula), not be something the person has."""
    return path.source_edge in ROLE_EDGES


def _is_membership_body(org: EntitySpan) -> bool:
    last = org.entity.key.split()[-1] if org.entity.key else ""
    return last in MEMBERSHIP_ORGS


def _read_org_place(path: _Path, target: EntitySpan) -> str | None:
    words = {t.lower_ for t in path.inner}
    if not words & LOCATED:
        return None
    if any(v not in LOCATED_VERBS | COPULA for v in _verbs(path)):
        return None
    nouns = {t.lower_ for t in path.inner if word_class(t) in ("NOUN", "PROPN")}
    if nouns - LOCATED - ORG_NOUNS:  # "a Munich-based startup" is fine on the way
        return None  # "offices in Z", "a plant in Z": not where it is based
    preps = {t.lower_ for t in path.inner if word_class(t) == "ADP"}
    return "located_in" if preps <= {"in", "at", "near", "outside"} else None


def _read_org_project(path: _Path, target: EntitySpan) -> str | None:
    verbs = _verbs(path)
    if any(v not in RUN_VERBS | COPULA for v in verbs):
        return None
    if verbs:
        return "runs" if any(v in RUN_VERBS for v in verbs) and path.source_edge != "dobj" else None
    if not path.inner and path.source_edge == "poss":
        return "runs"  # "Norhaven's Project Aurora"
    return None


_READERS = {"person_org": _read_person_org, "org_place": _read_org_place, "org_project": _read_org_project}
