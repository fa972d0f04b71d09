"""One type per entity, from every clue its mentions give (text/entity_types.py), and the role relations that need
the right types at both ends (text/relations.py). Each case is the sentence that motivated the rule; none of them
is from an evaluation corpus.
"""

from __future__ import annotations

import pytest

from lookingglass.records import Document, Extraction
from lookingglass.text.entities import EntityRecognizer
from lookingglass.text.entity_types import given_names, places
from lookingglass.text.graph_extract import extract_document
from lookingglass.text.relations import CO_MENTIONED


def extract(recognizer: EntityRecognizer, text: str) -> Extraction:
    return extract_document(recognizer, Document(id="doc", kind="page"), text, language="en")


def types(recognizer: EntityRecognizer, text: str) -> dict[str, str]:
    """{display name: type} of the text's entities."""
    return {e.name: e.type for e in extract(recognizer, text).entities}


def relations(recognizer: EntityRecognizer, text: str) -> set[tuple[str, str, str, str]]:
    """(type, source name, target name, time) of the text's typed relations."""
    x = extract(recognizer, text)
    names = {e.id: e.name for e in x.entities}
    return {(r.type, names[r.source], names[r.target], r.time) for r in x.relations if r.type != CO_MENTIONED}


# --- the offline lists


def test_the_gazetteer_knows_capitals_countries_and_us_states() -> None:
    assert places()["tallinn"] == "city"
    assert places()["estonia"] == "country"
    assert places()["ohio"] == "state"


def test_the_given_name_list_knows_first_names_from_many_countries() -> None:
    assert {"ingrid", "karl", "dana", "okonkwo"} & given_names() >= {"ingrid", "karl", "dana"}
    assert "aerospace" not in given_names()


# --- typing cues: each makes the type whatever the statistical model said

CUES = [
    # a role noun naming a person: the interview's technology chief was read as an organisation
    ("Our chief technology officer Ingrid Sollberg explained the plan.", "Ingrid Sollberg", "PERSON"),
    # a title
    ("Dr. Wenzel Aardahl presented the results on Tuesday.", "Wenzel Aardahl", "PERSON"),
    ("Ms. Okafor declined to comment.", "Okafor", "PERSON"),
    # apposition with a role
    ("Tamsin Vorle, the company's chief financial officer, resigned.", "Tamsin Vorle", "PERSON"),
    # a known given name and a surname
    ("Karl Ohrvall will speak at the conference.", "Karl Ohrvall", "PERSON"),
    # legal forms
    ("Skarholt AS signed the lease.", "Skarholt AS", "ORG"),
    ("Penwick GmbH opened a second plant.", "Penwick GmbH", "ORG"),
    ("Quorvane Inc. lost the tender.", "Quorvane Inc.", "ORG"),
    # a capital city the model reads as the actor of a sentence is still a place, on every mention
    ("Lisbon announced new rules for scooters. The mayor of Lisbon spoke on Friday.", "Lisbon", "GPE"),
    # a country
    ("Estonia signed the agreement.", "Estonia", "GPE"),
    # a slot only a place fits
    ("Tern Shipping is based in Aberdeen.", "Aberdeen", "GPE"),
]


@pytest.mark.parametrize(("sentence", "name", "type_"), CUES, ids=[f"{c[1]} {c[2]}" for c in CUES])
def test_a_cue_decides_the_type(recognizer: EntityRecognizer, sentence: str, name: str, type_: str) -> None:
    assert types(recognizer, sentence).get(name) == type_


def test_a_name_has_one_type_in_a_document_however_the_model_labelled_each_mention(
    recognizer: EntityRecognizer,
) -> None:
    x = extract(recognizer, "Lisbon announced new rules. Brant Logistics is based in Lisbon. Lisbon will vote.")

    lisbon = [e for e in x.entities if e.name == "Lisbon"]
    assert [e.type for e in lisbon] == ["GPE"]
    assert dict(lisbon[0].votes)["GPE"] > dict(lisbon[0].votes).get("ORG", 0)


def test_a_pronoun_after_a_subject_makes_it_a_person(recognizer: EntityRecognizer) -> None:
    # "Hollis" alone is no known given name and could be a company; "She" settles it.
    x = extract(recognizer, "Marit Hollis addressed the shareholders. She said margins would improve.")

    votes = {e.name: dict(e.votes) for e in x.entities}
    assert votes["Marit Hollis"].get("PERSON", 0) > votes["Marit Hollis"].get("ORG", 0)


# --- relations: the role patterns and their time

ROLES = [
    ("Rasmus Quill advises Ostra Energy.", ("advises", "Rasmus Quill", "Ostra Energy", "")),
    ("Ines Varga is an adviser to Tallis Group.", ("advises", "Ines Varga", "Tallis Group", "")),
    ("Rasmus Quill, a director of Petrel Holdings, spoke.", ("director_of", "Rasmus Quill", "Petrel Holdings", "")),
    ("Talia Brenner sits on the board of Moro Capital.", ("member_of", "Talia Brenner", "Moro Capital", "")),
    ("Talia Brenner is a board member of Moro Capital.", ("member_of", "Talia Brenner", "Moro Capital", "")),
    ("Anton Bey chairs Sorrel Energy.", ("chair_of", "Anton Bey", "Sorrel Energy", "")),
    ("Anton Bey is chair of Sorrel Energy.", ("chair_of", "Anton Bey", "Sorrel Energy", "")),
    ("Osei Maren is a partner at Greyfield Partners.", ("partner_at", "Osei Maren", "Greyfield Partners", "")),
    ("Okonkwo Ferris joined Halvard Ltd in 2019.", ("works_for", "Okonkwo Ferris", "Halvard Ltd", "since 2019")),
    ("Okonkwo Ferris left Halvard Ltd in 2021.", ("works_for", "Okonkwo Ferris", "Halvard Ltd", "until 2021")),
    ("Lena Hart left Orbis Labs.", ("works_for", "Lena Hart", "Orbis Labs", "former")),
    ("Jon Arvik worked for Delta Ventures until 2021.", ("works_for", "Jon Arvik", "Delta Ventures", "until 2021")),
    (
        "Mila Ostrova has been a director of Kelp Foods since 2019.",
        ("director_of", "Mila Ostrova", "Kelp Foods", "since 2019"),
    ),
    (
        "Osei Maren, a former partner at Greyfield Partners, now works for Lund Robotics.",
        ("partner_at", "Osei Maren", "Greyfield Partners", "former"),
    ),
]


@pytest.mark.parametrize(("sentence", "relation"), ROLES, ids=[r[1][0] + ": " + r[0][:40] for r in ROLES])
def test_each_role_pattern_reads_its_sentence(recognizer: EntityRecognizer, sentence: str, relation: tuple) -> None:
    assert relation in relations(recognizer, sentence)


NOT_SAID = [
    # business partners, not a partner at a firm
    "Corra Ltd partners with Brin Systems.",
    # a person does not work for a city
    "Ingrid Sollberg works in Lisbon.",
    # nothing founded a person
    "Halvard Ltd was praised by Okonkwo Ferris.",
]


@pytest.mark.parametrize("sentence", NOT_SAID)
def test_a_relation_needs_the_sentence_and_the_types_at_both_ends(recognizer: EntityRecognizer, sentence: str) -> None:
    found = relations(recognizer, sentence)

    assert not found, found
