"""Snippets of search hits: the stretch of a text that best matches a query, with the matches marked.

`snippet(text, query)` gives HTML for the UI: every piece of the text is HTML-escaped on its own and only then are
the matches wrapped in `<mark>…</mark>`, so markup in a transcript or a crawled page can never reach the page
as markup. `snippet_plain(text, query)` gives the same window for a terminal, matches as `**word**`.

A word matches when it shares a term with the query under the text index's own analyzer (lowercase, stemmed,
stopwords ignored: "running" matches a query for "runs"); a "quoted phrase" is marked as a whole wherever its
exact words appear in order, stopwords included.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from lookingglass.errors import BadInput
from lookingglass.text.terms import WORD, parse_query, term_ids, word_term_ids

ELLIPSIS = "…"


@dataclass(frozen=True)
class _Mark:
    start: int
    end: int
    keys: frozenset  # which query terms or phrases it matches, to prefer windows matching more distinct ones


def snippet(text: str, query: str, width: int = 160) -> str:
    """HTML: the `width`-character window of `text` with the most query matches, each in `<mark>…</mark>`.

    Everything else is HTML-escaped; runs of whitespace become one space; `…` shows where the text was cut.
    """
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if marked else html.escape(piece)
        for piece, marked in _pieces(text, query, width)
    )


def snippet_plain(text: str, query: str, width: int = 160, *, before: str = "**", after: str = "**") -> str:
    """Plain text for a terminal: the same window as `snippet`, matches between `before` and `after`, no escaping."""
    return "".join(f"{before}{piece}{after}" if marked else piece for piece, marked in _pieces(text, query, width))


def _pieces(text: str, query: str, width: int) -> list[tuple[str, bool]]:
    """The window as (piece, is_match) pairs, with the ellipses as unmarked pieces."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise BadInput(f"snippet width must be a positive whole number, got {width!r}")
    flat = " ".join(text.split())
    marks = _marks(flat, query)
    start, end = _window(flat, marks, width)
    pieces: list[tuple[str, bool]] = [(ELLIPSIS, False)] if start > 0 else []
    at = start
    for mark in marks:
        s, e = max(mark.start, start), min(mark.end, end)
        if s >= e:
            continue
        if s > at:
            pieces.append((flat[at:s], False))
        pieces.append((flat[s:e], True))
        at = e
    if at < end:
        pieces.append((flat[at:end], False))
    if end < len(flat):
        pieces.append((ELLIPSIS, False))
    return pieces


def _marks(text: str, query: str) -> list[_Mark]:
    """Where `text` matches `query`: phrase occurrences and matching words, sorted, overlaps merged."""
    try:
        parsed = parse_query(query)
    except BadInput:
        return []  # nothing to look for: the snippet is the text's beginning
    wanted = term_ids(parsed.text)
    words = list(WORD.finditer(text))
    found: list[_Mark] = []
    for w in words:
        shared = word_term_ids(w.group()) & wanted
        if shared:
            found.append(_Mark(w.start(), w.end(), frozenset(shared)))
    lowered = [w.group().lower() for w in words]
    for phrase in parsed.phrases:
        tokens = phrase.split(" ")
        for i in range(len(words) - len(tokens) + 1):
            if lowered[i : i + len(tokens)] == tokens:
                found.append(_Mark(words[i].start(), words[i + len(tokens) - 1].end(), frozenset([phrase])))
    merged: list[_Mark] = []
    for mark in sorted(found, key=lambda m: (m.start, -m.end)):
        if merged and mark.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = _Mark(last.start, max(last.end, mark.end), last.keys | mark.keys)
        else:
            merged.append(mark)
    return merged


def _window(text: str, marks: list[_Mark], width: int) -> tuple[int, int]:
    """[start, end) of at most `width` characters: the most distinct matches, then the most matches, earliest."""
    if len(text) <= width:
        return 0, len(text)
    if not marks:
        return 0, _word_end(text, 0, width)
    best, best_score = (0, 0), (-1, -1)
    for i, first in enumerate(marks):
        j = i
        while j + 1 < len(marks) and marks[j + 1].end - first.start <= width:
            j += 1
        inside = marks[i : j + 1]
        score = (len(frozenset().union(*(m.keys for m in inside))), len(inside))
        if score > best_score:
            best, best_score = (i, j), score
    first, last = marks[best[0]], marks[best[1]]
    slack = max(0, width - (last.end - first.start))
    start = max(0, first.start - slack // 2)
    end = min(len(text), start + width)
    start = max(0, end - width)
    # Do not cut words in half, unless that would drop a match or leave nothing.
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, first.start)
        if space != -1:
            start = space + 1
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", max(start, last.end), end)
        if space != -1:
            end = space
    return start, end


def _word_end(text: str, start: int, width: int) -> int:
    """`start + width`, pulled back to the last space so no word is cut (unless one word fills the width)."""
    end = start + width
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", start, end)
        if space > start:
            end = space
    return end
