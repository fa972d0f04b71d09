"""An organisation's short name on one page and its full name on another are one entity in the graph, in whichever
order the pages arrive (stores/graph/aliases.py); a short name that could be two organisations stays apart."""

from __future__ import annotations

import pytest
from test_graph_store import ADA, BOB, page

from graph_fixtures import CORPUS
from lookingglass.app import build
from lookingglass.pipeline.submit import ingest_file
from lookingglass.records import Entity
from lookingglass.settings import Settings
from lookingglass.stores.graph import SqliteGraphStore
from lookingglass.stores.graph.aliases import documents_naming_short_forms, new_organisations, with_long_forms


def org(name: str) -> Entity:
    return Entity(id=f"org:{name.lower()}", name=name, type="ORG", key=name.lower())


BRIGHT, LABS = org("Brightwater"), org("Brightwater Labs")
CALDER, SYSTEMS, ENERGY = org("Calder"), org("Calder Systems"), org("Calder Energy")


@pytest.fixture
def graph(tmp_path):
    store = SqliteGraphStore(tmp_path / "graph.sqlite3")
    yield store
    store.close()


def test_a_short_form_of_one_organisation_in_the_graph_becomes_that_organisation(graph) -> None:
    graph.put(page("long", ["Ada works for Brightwater Labs."], relations=[("works_for", ADA, LABS, [0])]))
    short = page("short", ["Bob works for Brightwater."], [(BOB, 0), (BRIGHT, 0)], [("works_for", BOB, BRIGHT, [0])])

    resolved, folded = with_long_forms(graph, short)

    assert folded == {BRIGHT.id: LABS.id}
    assert {e.id for e in resolved.entities} == {BOB.id, LABS.id}
    assert {m.entity for m in resolved.mentions} == {BOB.id, LABS.id}
    assert [(r.source, r.target) for r in resolved.relations] == [(BOB.id, LABS.id)]


def test_a_short_form_that_could_be_two_organisations_stays_itself(graph) -> None:
    graph.put(page("a", ["x"], [(SYSTEMS, 0), (ENERGY, 0)]))
    short = page("short", ["Ada works for Calder."], relations=[("works_for", ADA, CALDER, [0])])

    resolved, folded = with_long_forms(graph, short)

    assert folded == {} and resolved == short
    assert new_organisations(graph, short) == ["calder"]


def test_a_new_long_form_sends_the_documents_naming_its_short_form_back_for_processing(graph) -> None:
    graph.put(page("short", ["Bob works for Brightwater."], [(BOB, 0), (BRIGHT, 0)], [("works_for", BOB, BRIGHT, [0])]))
    graph.put(page("calder", ["Calder."], [(CALDER, 0)]))
    long = page("long", ["Ada works for Brightwater Labs and Calder Systems."], [(LABS, 0), (SYSTEMS, 0)])

    new = new_organisations(graph, long)
    graph.put(long)

    assert new == ["brightwater labs", "calder systems"]
    assert [d["id"] for d in documents_naming_short_forms(graph, new)] == ["calder", "short"]
    graph.put(page("energy", ["x"], [(ENERGY, 0)]))  # now "Calder" could be either: its page is left alone
    assert [d["id"] for d in documents_naming_short_forms(graph, ["calder energy"])] == []


@pytest.mark.parametrize("first", ["short form", "long form"])
def test_pages_naming_an_organisation_by_its_short_and_full_name_build_one_entity(first, tmp_path, models, recognizer):
    app = build(Settings(data_dir=tmp_path / "data"))
    app._models, app._recognizer = models, recognizer
    pages = ["energy-week-roundup.html", "brightwater-funding.html"]  # "Brightwater's Raman" / "Brightwater Labs"
    try:
        for name in pages if first == "short form" else pages[::-1]:
            ingest_file(app, CORPUS / name)
        app.queue.drain()

        orgs = {e["name"]: e for e in app.graph.entities(type="ORG", limit=500)}
        assert "Brightwater Labs" in orgs and "Brightwater" not in orgs, sorted(orgs)
        labs = app.graph.entity(orgs["Brightwater Labs"]["id"])
        assert len(labs["documents"]) == 2  # both pages name it
        raman = [r for r in labs["relations"] if r["target"]["name"] == "Priya Raman" and r["type"] == "works_for"]
        said = {ev["text"] for r in raman for ev in r["evidence"]}
        assert any("Brightwater's Raman" in text for text in said), said  # the roundup's sentence
    finally:
        app.close()
