"""Canonical names: the same thing written differently gets the same key, and so the same id, in every document.

`canonical_key("The Microsoft Corp.'s", "ORG") == "microsoft"`, `canonical_key("Dr. Priya Raman", "PERSON") ==
"priya raman"`; `entity_id(type, key)` is a uuid5 of `"NAME:{key}"` (`"PROJECT:{key}"` for a project), the same
for a person, an organisation or a place of that name. "Group", "Holdings", "Labs" and the like are kept in the
key: they often tell a parent from its subsidiary ("Norhaven Group" owns "Norhaven"), which legal-form suffixes
(Inc., Corp., Ltd., GmbH, ...) never do.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from functools import lru_cache

TYPES = ("PERSON", "ORG", "GPE", "LOC", "PROJECT")
NAMESPACE = uuid.UUID("5f0c7a52-3b1e-4d8e-9a57-2c6e1b8f4a10")  # entity ids: uuid5(NAMESPACE, "TYPE:key")

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
    """Stable across runs, processes and machines: the graph merges mentions from many documents on it.

    People, organisations and places share one id per name ("NAME:key"): which of the three a name is, is decided
    by votes across documents and may change, and the node must stay one node (text/entity_types.py). A project
    (from the entity ruler, never voted on) keeps its own.
    """
    kind = "PROJECT" if type_ == "PROJECT" else "NAME"
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def has_legal_form(surface: str) -> bool:
    """ "Norhaven Corp.", "Orrin Mobility LLC": a legal form the ORG key drops."""
    return canonical_key(surface, "ORG") != canonical_key(surface, "LOC")
