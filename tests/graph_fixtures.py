"""The knowledge-graph corpus and one loaded spaCy pipeline, shared by the text tests.

tests/data/graph_corpus/ holds fictional news pages; expected.json says what a reader finds in each. The recogniser
takes a couple of seconds to load: `loaded_recognizer()` loads it once per session whichever test module asks first
(conftest.py's `recognizer` and `extractions` session fixtures wrap these).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from lookingglass.records import Extraction
from lookingglass.text.entities import EntityRecognizer
from lookingglass.text.graph_extract import extract_page
from lookingglass.text.names import canonical_key

CORPUS = Path(__file__).parent / "data" / "graph_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
PAGES: dict[str, dict] = EXPECTED["pages"]
FETCHED_AT = "2024-11-01T12:00:00Z"


def page_url(name: str) -> str:
    return f"https://news.example/{name}"


def html_of(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def key(name: str, type_: str) -> tuple[str, str]:
    """How expected.json names are matched: by type and canonical key."""
    return type_, canonical_key(name, type_)


@cache
def loaded_recognizer() -> EntityRecognizer:
    recognizer = EntityRecognizer()
    recognizer.load()
    return recognizer


@cache
def corpus_extractions() -> dict[str, Extraction]:
    recognizer = loaded_recognizer()
    return {
        name: extract_page(recognizer, html_of(name), doc_id=name, url=page_url(name), fetched_at=FETCHED_AT)
        for name in PAGES
    }
