"""Merge candidates: entities of one type whose names are probably one name written differently.

Speech recognition and hurried typing leave near-twins in the graph: "Northhaven Corp." beside "Norhaven Corp.",
"Karl Mets" beside "Carl Metz", "J. Holt" beside "Jonas Holt". Nothing is merged here: candidates are proposed with
the reason, and an admin merges or rejects them (services/graph.py). Keys are compared, so legal forms are already
gone ("Norhaven Corp." and "Norhaven Corporation" are one key, one entity). Reasons:

- `spelling`: a small edit distance between the keys (Damerau-Levenshtein: 1; 2 for names of 8 letters or more
  that are not people's: "Jonas Holt" and "Jonas Hall" are two people);
- `sound`: the same number of words, each with the same Metaphone code ("karl mets" / "carl metz": KRL MTS);
- `initials`: a person's given names written as initials ("j holt" / "jonas holt").

Work through the port, on either adapter. Pairs come from blocks (the Metaphone code of the last word, and the
first three letters of the key), never from every pair of a large graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lookingglass.stores.graph.port import GraphReader

TYPES = ("PERSON", "ORG", "GPE", "LOC")
MIN_KEY = 4  # shorter keys ("ibm", "sap") differ by one letter from too many others


@dataclass(frozen=True)
class Candidate:
    a: dict  # {"id", "name", "key", "mentions"}
    b: dict
    type: str
    reasons: tuple[str, ...]


@lru_cache(maxsize=65536)
def _sound(word: str) -> str:
    import jellyfish

    return jellyfish.metaphone(word) or word


def reasons(type_: str, a: str, b: str) -> tuple[str, ...]:
    """Why keys `a` and `b` may be one name (empty: they are not)."""
    if a == b or min(len(a), len(b)) < MIN_KEY:
        return ()
    import jellyfish

    found = []
    distance = jellyfish.damerau_levenshtein_distance(a, b)
    if distance <= (2 if min(len(a), len(b)) >= 8 and type_ != "PERSON" else 1):
        found.append(f"spelling: {distance} letter{'s' if distance > 1 else ''} apart")
    wa, wb = a.split(), b.split()
    if len(wa) == len(wb) and all(_sound(x) == _sound(y) for x, y in zip(wa, wb, strict=True)):
        found.append("sound: " + " ".join(_sound(w) for w in wa))
    if (
        type_ == "PERSON"
        and len(wa) == len(wb) > 1
        and wa[-1] == wb[-1]
        and wa != wb
        and all(_initial_of(x, y) for x, y in zip(wa[:-1], wb[:-1], strict=True))
    ):
        found.append("initials")
    return tuple(found)


def _initial_of(x: str, y: str) -> bool:
    """ "j" and "jonas": one word is the other's initial (or they are the same word)."""
    return x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))


def _blocks(key: str) -> set[str]:
    words = key.split()
    if not words:
        return set()
    return {"s:" + _sound(words[-1]), "p:" + key[:3]}


def candidates_for(graph: GraphReader, entity: dict, limit: int = 20) -> list[Candidate]:
    """Candidates for one entity ({"id", "name", "type", "key", ...}): others of its type, not rejected before."""
    if entity["type"] not in TYPES or not entity.get("key"):
        return []
    rejected = graph.rejected_merges(entity["id"])
    mine = {"id": entity["id"], "name": entity["name"], "key": entity["key"], "mentions": entity.get("mentions", 0)}
    found = []
    for other in graph.names(entity["type"]):
        if other["id"] == entity["id"] or other["id"] in rejected:
            continue
        why = reasons(entity["type"], entity["key"], other["key"])
        if why:
            found.append(Candidate(mine, other, entity["type"], why))
    found.sort(key=lambda c: (-len(c.reasons), -c.b["mentions"], c.b["key"]))
    return found[:limit]


def all_candidates(graph: GraphReader, limit: int = 100) -> list[Candidate]:
    """Candidate pairs across the graph, the best-supported first (each pair once, rejected pairs left out)."""
    found: dict[tuple[str, str], Candidate] = {}
    for type_ in TYPES:
        blocks: dict[str, list[dict]] = {}
        for row in graph.names(type_):
            if row["key"] and len(row["key"]) >= MIN_KEY:
                for block in _blocks(row["key"]):
                    blocks.setdefault(block, []).append(row)
        for rows in blocks.values():
            for i, a in enumerate(rows):
                for b in rows[i + 1 :]:
                    pair = tuple(sorted((a["id"], b["id"])))
                    if pair in found:
                        continue
                    why = reasons(type_, a["key"], b["key"])
                    if why:
                        first, second = (a, b) if a["mentions"] >= b["mentions"] else (b, a)
                        found[pair] = Candidate(first, second, type_, why)
    kept = []
    for pair, candidate in sorted(found.items(), key=lambda kv: (-len(kv[1].reasons), kv[1].a["key"], kv[0])):
        if pair[1] in graph.rejected_merges(pair[0]):
            continue
        kept.append(candidate)
        if len(kept) == limit:
            break
    return kept
