"""Pages (and transcripts) through the whole pipeline into the entity graph, as a user drives it: `ingest` a folder of
HTML, then `entities`, `entity`, `shared-people` and `analytics` — and the same graph behind the text search and
`forget`. The corpus is tests/data/graph_corpus (fictional news pages with known affiliations)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_process import run_cli
from graph_fixtures import CORPUS, EXPECTED
from lookingglass.app import build
from lookingglass.pipeline.forget import forget_object_now
from lookingglass.pipeline.schedule import SCHEDULE
from lookingglass.pipeline.submit import ingest_file, store_bytes, submit
from lookingglass.services import Caller
from lookingglass.services.search import SearchQuery, search_text
from lookingglass.settings import Settings
from lookingglass.sources.sightings import Sighting
from media_files import ESPEAK, speak


def cli(data_dir: Path, *args: str) -> dict:
    result = run_cli(data_dir, *args, "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """A data dir with the corpus ingested and the analytics run, through the CLI."""
    data_dir = tmp_path_factory.mktemp("graph") / "data"
    ingested = cli(data_dir, "ingest", str(CORPUS))
    assert ingested["objects"] == len(list(CORPUS.glob("*.html"))) and ingested["errors"] == 0
    cli(data_dir, "analytics")
    return data_dir


def by_name(entities: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in entities}


def test_ingesting_html_files_builds_the_entity_graph(corpus_dir):
    body = cli(corpus_dir, "entities", "--limit", "500")
    entities = by_name(body["entities"])
    for name, type_ in [("Mara Lindqvist", "PERSON"), ("Priya Raman", "PERSON"), ("Calder Systems", "ORG")]:
        assert entities[name]["type"] == type_
    assert set(body["entities"][0]) >= {"id", "name", "type", "pagerank", "community", "mentions"}
    assert entities["Mara Lindqvist"]["mentions"] >= 3  # named on several pages


def test_analytics_rank_and_group_every_entity_and_report_the_run(corpus_dir):
    entities = cli(corpus_dir, "entities", "--limit", "500")["entities"]
    assert all(e["pagerank"] is not None and e["community"] is not None for e in entities)
    ranks = [e["pagerank"] for e in entities]
    assert ranks == sorted(ranks, reverse=True)  # sorted by PageRank by default
    report = cli(corpus_dir, "analytics")
    assert report["backend"] == "igraph" and report["nodes"] == len(entities)
    assert report["louvain"]["communities"] >= 2 and report["leiden"]["modularity"] > 0.3
    assert report["duration_s"] >= 0


def test_an_entity_comes_with_typed_relations_and_their_evidence(corpus_dir):
    mara = by_name(cli(corpus_dir, "entities", "Lindqvist")["entities"])["Mara Lindqvist"]
    detail = cli(corpus_dir, "entity", mara["id"])
    ceo = [r for r in detail["relations"] if r["type"] == "ceo_of"]
    assert ceo and ceo[0]["target"]["name"].startswith("Norhaven")
    evidence = ceo[0]["evidence"][0]
    assert "Lindqvist" in evidence["text"] and evidence["url"].startswith("file://")
    assert len(detail["documents"]) >= 2


def test_organisations_sharing_people_are_reported(corpus_dir):
    pairs = cli(corpus_dir, "shared-people")["pairs"]
    found = {frozenset((p["a"]["name"], p["b"]["name"])): set(p["people"]) for p in pairs}
    for expected in EXPECTED["shared_people"]:
        a, b = expected["organisations"]
        match = [people for orgs, people in found.items() if any(a in o for o in orgs) and any(b in o for o in orgs)]
        assert match and set(expected["people"]) <= match[0], (expected, found)


def test_an_organisation_is_not_paired_with_a_short_form_of_its_own_name(corpus_dir):
    from lookingglass.text.names import canonical_key

    def one_body(a: str, b: str) -> bool:
        short, long = sorted((canonical_key(a, "ORG"), canonical_key(b, "ORG")), key=len)
        return short == long or long.startswith(short + " ")

    names = {e["name"] for e in cli(corpus_dir, "entities", "--type", "ORG", "--limit", "500")["entities"]}
    assert "Brightwater Labs" in names and "Brightwater" not in names  # one page's short form joined the full name
    pairs = cli(corpus_dir, "shared-people")["pairs"]
    assert pairs and not [p for p in pairs if one_body(p["a"]["name"], p["b"]["name"])]


def test_analytics_write_onto_each_organisation_who_it_shares_people_with(corpus_dir):
    orgs = by_name(cli(corpus_dir, "entities", "--type", "ORG", "--limit", "500")["entities"])
    pairs = cli(corpus_dir, "shared-people", "--limit", "1000")["pairs"]
    partners: dict[str, set[str]] = {}
    for p in pairs:
        partners.setdefault(p["a"]["id"], set()).add(p["b"]["id"])
        partners.setdefault(p["b"]["id"], set()).add(p["a"]["id"])
    assert {e["id"]: e["shares_people"] for e in orgs.values()} == {
        e["id"]: len(partners.get(e["id"], ())) for e in orgs.values()
    }
    people = {e["shares_people"] for e in cli(corpus_dir, "entities", "--type", "PERSON", "--limit", "500")["entities"]}
    assert people == {None}

    calder = cli(corpus_dir, "entity", orgs["Calder Systems"]["id"])
    shared = {s["organisation"]["name"]: set(s["people"]) for s in calder["shared_people"]}
    assert {"Priya Raman", "Jonas Holt"} <= shared["Brightwater Labs"]
    assert len(shared) == orgs["Calder Systems"]["shares_people"]


def test_reingesting_the_corpus_changes_no_counts(corpus_dir):
    before = {e["id"]: e["mentions"] for e in cli(corpus_dir, "entities", "--limit", "1000")["entities"]}
    again = cli(corpus_dir, "ingest", str(CORPUS))
    assert again["errors"] == 0
    after = {e["id"]: e["mentions"] for e in cli(corpus_dir, "entities", "--limit", "1000")["entities"]}
    assert after == before


def test_the_cli_offers_exactly_the_types_and_sorts_the_graph_knows():
    from lookingglass.cli.graph import list_entities
    from lookingglass.stores.graph import SORTS
    from lookingglass.text.entities import TYPES

    choices = {o.name: tuple(o.type.choices) for o in list_entities.params if o.name in ("type_", "sort")}
    assert choices == {"type_": TYPES, "sort": SORTS}


def test_analytics_run_daily_with_the_other_periodic_jobs():
    assert "analytics" in {p.name for p in SCHEDULE}


@pytest.fixture
def graph_app(tmp_path, models):
    app = build(Settings(data_dir=tmp_path / "data"))
    app._models = models
    yield app
    app.close()


def test_page_text_is_searchable_in_passages_and_forgetting_the_page_removes_it_everywhere(graph_app, tmp_path):
    app = graph_app
    page = CORPUS / "calder-board.html"
    result = ingest_file(app, page)
    sha = result["sha256"]
    hits = search_text(app, Caller.command_line(), SearchQuery(q="Calder board", kind="page")).hits
    assert hits and hits[0].sha256 == sha and "<mark>" in hits[0].snippet
    assert len(hits[0].text.split()) < 120  # a passage, not the whole page
    named = {e["name"] for e in app.graph.entities(limit=500)}
    assert any("Calder" in n for n in named)

    removed = forget_object_now(app, sha)

    assert removed["mentions_removed"] > 0
    assert search_text(app, Caller.command_line(), SearchQuery(q="Calder board", kind="page")).hits == []
    assert app.graph.entities(limit=500) == []  # this page was the only document
    assert app.graph.stats()["documents"] == 0


def test_faces_seen_on_a_page_show_on_the_entities_it_names(graph_app, faces_dir):
    from lookingglass.services.graph import entity_detail

    app = graph_app
    url = "https://news.example/calder-board.html"
    html = (CORPUS / "calder-board.html").read_bytes()
    page = store_bytes(app, html, filename="calder-board.html", metadata=Sighting(url, page_url=url).metadata())
    photo = (faces_dir / "face_recognition_ageitgey/tests/test_images/obama.jpg").read_bytes()
    image = store_bytes(
        app, photo, filename="board.jpg", metadata=Sighting("https://news.example/board.jpg", page_url=url).metadata()
    )
    for obj in (page, image):
        submit(app, obj.sha256, obj.kind).result()

    calder = next(e for e in app.graph.entities(query="Calder", limit=50) if e["type"] == "ORG")
    detail = entity_detail(app, Caller.command_line(), calder["id"])
    assert [f.sha256 for f in detail.faces] == [image.sha256]
    assert detail.faces[0].page_url == url


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_what_is_said_in_a_recording_feeds_the_graph(graph_app, tmp_path):
    from media_files import SR, write_wav

    app = graph_app
    said = "Barack Obama visited Microsoft in Seattle. Obama met the engineers of Microsoft."
    wav = write_wav(tmp_path / "memo.wav", np.asarray(speak(said, tmp_path / "x.wav")), SR)
    result = ingest_file(app, wav)
    app.queue.drain()  # the transcript's entity job follows the media job on the pages queue

    documents = app.graph.stats()["documents"]
    names = {e["name"] for e in app.graph.entities(limit=50)}
    assert documents == 1 and "Microsoft" in names, names
    assert app.objects.get(result["sha256"]).metadata["processed"]["graph"]["entities"] >= 1
