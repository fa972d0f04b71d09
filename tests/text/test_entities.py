"""Entities: who and what a text names, each with an id that is the same in every document and every run.

`EntityRecognizer()` is spaCy's en_core_web_md (files verified by SHA-256 on load) plus an entity ruler for
PROJECT names; `recognizer(text)` gives the sentences and the mentions, each resolved to an `Entity`
(id, display name, type, canonical key). Only PERSON, ORG, GPE, LOC and PROJECT are kept.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from graph_fixtures import PAGES, key
from lookingglass.errors import BadInput, ModelIntegrityError
from lookingglass.models.registry import SPACY_EN_CORE_WEB_MD, package_dir
from lookingglass.records import Extraction
from lookingglass.settings import Settings
from lookingglass.text.entities import CHUNK_CHARS, TYPES, EntityRecognizer
from lookingglass.text.names import entity_id

ENGLISH_PAGES = [name for name, page in PAGES.items() if page["entities"]]


def found(extraction: Extraction) -> set[tuple[str, str]]:
    return {(e.type, e.key) for e in extraction.entities}


# --- the corpus


@pytest.mark.parametrize("name", ENGLISH_PAGES)
def test_every_entity_a_reader_finds_is_found_with_its_type(name: str, extractions: dict[str, Extraction]) -> None:
    got = found(extractions[name])

    missing = [(n, t) for n, t in PAGES[name]["entities"] if key(n, t) not in got]
    assert not missing, f"{name}: missing {missing}; found {sorted(got)}"


@pytest.mark.parametrize("name", [n for n, page in PAGES.items() if page["not_entities"]])
def test_names_only_in_menus_sidebars_or_comments_are_not_entities(
    name: str, extractions: dict[str, Extraction]
) -> None:
    got = found(extractions[name])

    assert not [(n, t) for n, t in PAGES[name]["not_entities"] if key(n, t) in got]


def test_only_people_organisations_places_and_projects_are_kept(extractions: dict[str, Extraction]) -> None:
    types = {e.type for x in extractions.values() for e in x.entities}

    assert types == set(TYPES)  # every kind occurs in the corpus, and nothing else (no DATE, MONEY, NORP, ...)


def test_every_mention_points_at_an_entity_of_its_document(extractions: dict[str, Extraction]) -> None:
    for extraction in extractions.values():
        ids = {e.id for e in extraction.entities}
        assert {m.entity for m in extraction.mentions} == ids


def test_a_non_english_page_contributes_no_entities(extractions: dict[str, Extraction]) -> None:
    german = extractions["veldt-analytics-de.html"]

    assert german.entities == german.mentions == german.relations == ()
    assert german.document.title.startswith("Veldt Analytics")


def test_the_same_organisation_has_one_id_in_every_document(extractions: dict[str, Extraction]) -> None:
    norhaven = {e.id for x in extractions.values() for e in x.entities if e.key == "norhaven"}

    assert norhaven == {entity_id("ORG", "norhaven")}
    pages = [name for name, x in extractions.items() if any(e.id in norhaven for e in x.entities)]
    assert len(pages) >= 4  # written "Norhaven Corp." on some pages and "Norhaven" on others


def test_recognising_twice_gives_the_same_entities(recognizer: EntityRecognizer) -> None:
    text = "Priya Raman, the chief executive of Brightwater Labs, spoke in Rotterdam."

    first, second = recognizer(text), recognizer(text)

    assert [e.id for e in first.entities] == [e.id for e in second.entities]
    assert len(first.entities) == 3


def test_a_newline_always_ends_a_sentence(recognizer: EntityRecognizer) -> None:
    recognized = recognizer("Norhaven names new chief\nMara Lindqvist takes over in Tallinn on Monday.")

    assert [s.text.strip() for s in recognized.sentences] == [
        "Norhaven names new chief",
        "Mara Lindqvist takes over in Tallinn on Monday.",
    ]


def test_a_long_text_is_parsed_in_pieces_with_sentences_numbered_throughout(recognizer: EntityRecognizer) -> None:
    paragraph = "Priya Raman, the chief executive of Brightwater Labs, spoke in Rotterdam on Monday about batteries."
    text = "\n".join([paragraph] * (CHUNK_CHARS // len(paragraph) + 20))
    assert len(text) > CHUNK_CHARS

    recognized = recognizer(text)

    assert len(recognized.sentences) == text.count("\n") + 1
    assert [s.sentence for s in recognized.spans if s.entity.type == "GPE"] == list(range(len(recognized.sentences)))
    assert {e.key for e in recognized.entities} == {"priya raman", "brightwater labs", "rotterdam"}


def test_pipe_gives_what_one_call_per_text_gives(recognizer: EntityRecognizer) -> None:
    texts = ["Jonas Holt joined Calder Systems.", "", "Elin Sand sits on the board of the Northern Grid Consortium."]

    batched = list(recognizer.pipe(texts, batch_size=2))
    single = [recognizer(t) for t in texts]

    assert [[e.id for e in r.entities] for r in batched] == [[e.id for e in r.entities] for r in single]
    assert batched[1].entities == () and batched[1].sentences == ()


# --- projects from the entity ruler


def test_project_names_come_from_the_default_patterns(recognizer: EntityRecognizer) -> None:
    recognized = recognizer("Norhaven Corp. launched Project Aurora. Project managers at Norhaven met on Monday.")

    projects = [(s.surface, s.entity.type) for s in recognized.spans if s.entity.type == "PROJECT"]

    assert projects == [("Project Aurora", "PROJECT")]


def test_a_pattern_file_of_ones_own_adds_projects(tmp_path: Path, recognizer: EntityRecognizer) -> None:
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text(
        '{"label": "PROJECT", "pattern": "Skylark"}\n\n'
        '{"label": "PROJECT", "pattern": [{"LOWER": "north"}, {"LOWER": "star"}, {"LOWER": "grid"}]}\n'
    )
    text = "Norhaven Corp. is testing Skylark in Tallinn, and Calder Systems joined the North Star Grid trial."
    settings = Settings.from_env({"LG_ENTITY_PATTERNS": str(patterns)})

    with_file = EntityRecognizer.from_settings(settings)
    own = with_file(text)

    projects = {e.name for e in own.entities if e.type == "PROJECT"}
    assert projects == {"Skylark", "North Star Grid"}
    assert not [e for e in recognizer(text).entities if e.type == "PROJECT"]  # not without the file
    assert with_file.nlp is not recognizer.nlp  # its own pipeline, built once, shared by every recognizer with it
    assert EntityRecognizer(patterns=patterns).nlp is with_file.nlp


def test_recognizers_share_one_loaded_pipeline(recognizer: EntityRecognizer) -> None:
    """The model loads once per process (lookingglass.models.base), whoever asks for it."""
    assert EntityRecognizer().nlp is recognizer.nlp
    assert EntityRecognizer.from_settings(Settings.from_env({})).nlp is recognizer.nlp


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"label": "DATE", "pattern": "Monday"}', "not one of PERSON, ORG, GPE, LOC, PROJECT"),
        ('{"label": "PROJECT"}', "expected"),
        ("{label: PROJECT}", "not JSON"),
        ('{"label": "PROJECT", "pattern": [{"NO_SUCH_ATTR": "x"}]}', "invalid entity pattern"),
    ],
)
def test_a_bad_pattern_file_is_a_clear_error(tmp_path: Path, line: str, problem: str) -> None:
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text('{"label": "PROJECT", "pattern": "Skylark"}\n' + line + "\n")

    with pytest.raises(BadInput, match=re.escape(problem)):
        EntityRecognizer(patterns=patterns).load()


def test_a_missing_pattern_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=re.escape("nowhere.jsonl")):
        EntityRecognizer(patterns=tmp_path / "nowhere.jsonl").load()


# --- the model files


def model_dir() -> Path:
    return package_dir(SPACY_EN_CORE_WEB_MD.package) / SPACY_EN_CORE_WEB_MD.relpath


def test_every_file_of_the_packaged_model_is_pinned() -> None:
    shipped = {p.relative_to(model_dir()).as_posix() for p in model_dir().rglob("*") if p.is_file()}

    assert shipped == set(SPACY_EN_CORE_WEB_MD.sha256)
    for name, pinned in SPACY_EN_CORE_WEB_MD.sha256.items():
        assert hashlib.sha256((model_dir() / name).read_bytes()).hexdigest() == pinned


@pytest.fixture
def copied_model(tmp_path: Path) -> Path:
    """A copy of the model directory, as an operator would put under LG_MODEL_DIR/en_core_web_md."""
    target = tmp_path / "en_core_web_md"
    shutil.copytree(model_dir(), target)
    return target


def test_a_modified_model_file_is_refused_by_name(copied_model: Path) -> None:
    meta = copied_model / "meta.json"
    meta.write_text(meta.read_text().replace('"version":"3.8.0"', '"version":"3.8.1"'))

    with pytest.raises(ModelIntegrityError, match=re.escape("meta.json")) as refused:
        EntityRecognizer(model_path=copied_model).load()
    assert SPACY_EN_CORE_WEB_MD.sha256["meta.json"] in refused.value.message


def test_a_missing_model_file_is_refused_by_name(copied_model: Path) -> None:
    (copied_model / "ner" / "model").unlink()

    with pytest.raises(ModelIntegrityError, match=re.escape(str(copied_model / "ner" / "model"))):
        EntityRecognizer(model_path=copied_model).load()


def test_lg_model_dir_holds_an_operators_own_model_listed_in_sha256sums(copied_model: Path) -> None:
    meta = copied_model / "meta.json"
    meta.write_text(meta.read_text().replace('"version":"3.8.0"', '"version":"3.8.0+operator"'))
    own_hash = hashlib.sha256(meta.read_bytes()).hexdigest()
    (copied_model / "SHA256SUMS").write_text(f"{own_hash}  meta.json\n")
    settings = Settings.from_env({"LG_MODEL_DIR": str(copied_model.parent)})

    recognizer = EntityRecognizer.from_settings(settings)

    assert recognizer.model_path == copied_model
    assert recognizer.nlp.meta["version"] == "3.8.0+operator"
    assert [e.type for e in recognizer("Jonas Holt joined Calder Systems.").entities] == ["PERSON", "ORG"]
