"""Within one document, cheap rules repair what the statistical model gets wrong on unfamiliar names: a surname
alone is the person named in full, a short organisation name is the longer one, an organisation the model calls a
person is an organisation."""

from __future__ import annotations

from lookingglass.records import Extraction
from lookingglass.text.entities import EntityRecognizer


def test_a_surname_alone_is_the_person_named_in_full_elsewhere_in_the_document(
    extractions: dict[str, Extraction],
) -> None:
    extraction = extractions["norhaven-aurora.html"]
    lindqvist = next(e for e in extraction.entities if e.key == "mara lindqvist")

    surfaces = {m.surface for m in extraction.mentions if m.entity == lindqvist.id}

    assert surfaces == {"Mara Lindqvist", "Lindqvist"}
    assert lindqvist.name == "Mara Lindqvist"
    assert not [e for e in extraction.entities if e.key == "lindqvist"]


def test_a_surname_shared_by_two_people_is_left_alone(recognizer: EntityRecognizer) -> None:
    recognized = recognizer("Anna Holt and Jonas Holt founded Calder Systems together. Holt said the idea was hers.")

    keys = {s.entity.key for s in recognized.spans if s.entity.type == "PERSON"}

    assert {"anna holt", "jonas holt"} <= keys
    assert not [s for s in recognized.spans if s.surface == "Holt" and s.entity.key in ("anna holt", "jonas holt")]


def test_a_short_organisation_name_is_the_longer_one_of_the_same_document(recognizer: EntityRecognizer) -> None:
    recognized = recognizer(
        "Brightwater Labs raised 40 million euros on Wednesday. The round values Brightwater at 300 million euros."
    )

    assert {(e.name, e.type) for e in recognized.entities} == {("Brightwater Labs", "ORG")}


def test_an_unfamiliar_organisation_the_model_calls_a_person_is_repaired(recognizer: EntityRecognizer) -> None:
    text = "Orrin Mobility LLC opened a depot in Denver. Orrin Mobility said it would hire forty drivers."
    assert recognizer.nlp(text).ents[0].label_ == "PERSON"  # what spaCy alone says

    recognized = recognizer(text)

    assert {(e.name, e.type) for e in recognized.entities} == {("Orrin Mobility LLC", "ORG"), ("Denver", "GPE")}
