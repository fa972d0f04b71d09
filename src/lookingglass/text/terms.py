"""The text analyzer: how words become index terms, one analyzer for indexing, searching and highlighting.

`qdrant_edge.Bm25` lowercases, drops English stopwords and Snowball-stems; documents become BM25 term-frequency
weights, queries weight 1 per distinct term (the index supplies IDF). Quoted phrases are parsed here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import qdrant_edge as qe

from lookingglass.errors import BadInput

MAX_QUERY_CHARS = 1000
# BM25's expected document length in (non-stopword) tokens. Whisper segments run ~6–20 such tokens; pages should be
# indexed as passages of similar size. Baked into stored vectors: changing it means re-indexing every document.
BM25_AVG_LEN = 32.0
# Words as the engine's `word` tokenizer cuts them: runs of letters and digits (so "don't" is "don", "t").
WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')

_BM25 = qe.Bm25(qe.Bm25Config(avg_len=BM25_AVG_LEN, language="english"))


@dataclass(frozen=True)
class ParsedQuery:
    """`text`: every word of the query, phrases included (what BM25 ranks by); `phrases`: each one must appear
    as consecutive words, given lowercased and joined by single spaces."""

    text: str
    phrases: tuple[str, ...]


def parse_query(query: str) -> ParsedQuery:
    """Split a query into words to rank by and "quoted phrases" to require. A stray quote is ignored.

    Raises BadInput for a blank query, one without any word (only punctuation), or one over MAX_QUERY_CHARS.
    """
    if not isinstance(query, str) or not query.strip():
        raise BadInput("the search query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise BadInput(f"the search query is {len(query)} characters long, at most {MAX_QUERY_CHARS} are allowed")
    words = WORD.findall(query)
    if not words:
        raise BadInput(f"the search query {query!r} has no words to search for")
    phrases = []
    for quoted in _PHRASE.findall(query):
        tokens = [w.lower() for w in WORD.findall(quoted)]
        if tokens and " ".join(tokens) not in phrases:
            phrases.append(" ".join(tokens))
    return ParsedQuery(text=" ".join(words), phrases=tuple(phrases))


def term_ids(text: str) -> frozenset[int]:
    """The index's terms in `text` (lowercased, stopwords dropped, stemmed, hashed): what a query matches on."""
    return frozenset(_BM25.embed_query(text).indices)


@lru_cache(maxsize=65536)
def word_term_ids(word: str) -> frozenset[int]:
    """The terms of one word (empty for a stopword); cached, for highlighting long texts word by word."""
    return term_ids(word.lower())


def query_vector(text: str) -> Any:
    return _BM25.embed_query(text)


def document_vector(text: str) -> Any:
    return _BM25.embed_document(text)
