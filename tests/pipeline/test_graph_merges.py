"""Duplicates in the entity graph, as an admin meets them: two pages name one company two ways (a transcript's
"Northhaven Corp." beside "Norhaven Corp."), the entity's merge candidates say so and why, the admin merges (audited),
and processing the page again keeps it merged. The same through SQLite and through a real Bolt server (ArcadeDB).
The pages are written here; they belong to no evaluation corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from arcadedb_server import ArcadeDBServer, arcadedb_available
from cli_process import run_cli
from lookingglass.app import App, build
from lookingglass.errors import BadInput
from lookingglass.pipeline.graph import process_page_now
from lookingglass.pipeline.submit import ingest_file
from lookingglass.services import Caller
from lookingglass.services.graph import (
    EntityMergeRequest,
    EntityQuery,
    RejectMergeRequest,
    SharedPeopleQuery,
    entity_detail,
    entity_merge_candidates,
    list_entities,
    merge_entities,
    reject_merge_candidate,
    shared_people,
)
from lookingglass.settings import Settings

PAGES = {
    "grid.html": "<html><head><title>Grid storage deal</title></head><body><article><h1>Grid storage deal</h1>"
    "<p>Norhaven Corp. is based in Tallinn. Ilse Varnet is the chief executive of Norhaven Corp.</p>"
    "<p>Ilse Varnet also sits on the board of Pellow Energy.</p></article></body></html>",
    "podcast.html": "<html><head><title>Podcast notes</title></head><body><article><h1>Podcast notes</h1>"
    "<p>Oskar Lunde works for Northhaven Corp. and advises Pellow Energy.</p></article></body></html>",
}
ADMIN = Caller.command_line()


def by_name(app: App) -> dict[str, dict]:
    return {e.name: e.model_dump() for e in list_entities(app, ADMIN, EntityQuery(limit=100)).entities}


@pytest.fixture(params=["sqlite", "arcadedb"])
def app(request: pytest.FixtureRequest, tmp_path: Path, models) -> Iterator[App]:
    settings = Settings(data_dir=tmp_path / "data")
    server = None
    if request.param == "arcadedb":
        if not arcadedb_available():
            pytest.skip("arcadedb-embedded is not installed: no Bolt server to run against")
        server = ArcadeDBServer(tmp_path / "arcadedb")
        try:
            server.start()
        except RuntimeError as e:
            pytest.skip(f"ArcadeDB (Java) could not start: {str(e)[-800:]}")
        settings = Settings(data_dir=tmp_path / "data", neo4j_uri=server.uri, neo4j_auth=server.auth)
    built = build(settings)
    built._models = models
    yield built
    built.close()
    if server is not None:
        server.stop()


def test_a_merged_duplicate_stays_merged_when_its_page_is_processed_again(app: App, tmp_path: Path) -> None:
    shas = {}
    for name, html in PAGES.items():
        path = tmp_path / name
        path.write_text(html, encoding="utf-8")
        shas[name] = ingest_file(app, path)["sha256"]
    app.queue.drain()
    names = by_name(app)
    norhaven, northhaven = names["Norhaven Corp."], names["Northhaven Corp."]

    (candidate,) = entity_merge_candidates(app, ADMIN, norhaven["id"]).candidates
    assert candidate.b.id == northhaven["id"] and candidate.type == "ORG"
    assert any(reason.startswith("spelling") for reason in candidate.reasons)

    report = merge_entities(app, ADMIN, EntityMergeRequest(source=northhaven["id"], target=norhaven["id"]))

    assert report.mentions == 1 and report.relations >= 1
    assert app.audit.entries(action="merge_entities")[0].target == norhaven["id"]
    process_page_now(app, shas["podcast.html"])  # processed again: the page still says "Northhaven Corp."
    names = by_name(app)
    assert "Northhaven Corp." not in names
    detail = entity_detail(app, ADMIN, norhaven["id"])
    assert {(r.type, r.target.name) for r in detail.relations if r.direction == "in"} >= {
        ("ceo_of", "Ilse Varnet"),
        ("works_for", "Oskar Lunde"),
    }
    assert len(detail.documents) == 2
    # one organisation now shares Oskar Lunde and Ilse Varnet with Pellow Energy, each with the sentences that say so
    (pair,) = shared_people(app, ADMIN, SharedPeopleQuery()).pairs
    assert {pair.a.name, pair.b.name} == {"Norhaven Corp.", "Pellow Energy"}
    ties = {t.person.name: t for t in pair.ties}
    assert set(ties) == {"Ilse Varnet", "Oskar Lunde"}
    pellow_side = "a" if pair.a.name == "Pellow Energy" else "b"
    assert getattr(ties["Oskar Lunde"], pellow_side).type == "advises"
    assert "advises Pellow Energy" in getattr(ties["Oskar Lunde"], pellow_side).text


def test_a_rejected_candidate_is_not_proposed_again_and_types_must_agree(app: App, tmp_path: Path) -> None:
    for name, html in PAGES.items():
        (tmp_path / name).write_text(html, encoding="utf-8")
        ingest_file(app, tmp_path / name)
    app.queue.drain()
    names = by_name(app)
    norhaven, northhaven = names["Norhaven Corp."], names["Northhaven Corp."]

    reject_merge_candidate(app, ADMIN, RejectMergeRequest(a=norhaven["id"], b=northhaven["id"]))

    assert entity_merge_candidates(app, ADMIN, norhaven["id"]).candidates == []
    assert app.audit.entries(action="reject_merge_candidate")[0].query == northhaven["id"]
    with pytest.raises(BadInput):
        merge_entities(app, ADMIN, EntityMergeRequest(source=names["Ilse Varnet"]["id"], target=norhaven["id"]))


def test_the_command_line_lists_candidates_and_merges(tmp_path: Path) -> None:
    """`entities candidates`, `entities merge A B`; `entities QUERY --type ...` still lists as it always did."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, html in PAGES.items():
        (pages / name).write_text(html, encoding="utf-8")
    data = tmp_path / "data"

    def cli(*args: str) -> dict:
        result = run_cli(data, *args, "--json", timeout=600)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    cli("ingest", str(pages))
    (candidate,) = cli("entities", "candidates")["candidates"]
    assert {candidate["a"]["name"], candidate["b"]["name"]} == {"Norhaven Corp.", "Northhaven Corp."}

    merged = cli("entities", "merge", candidate["b"]["id"], candidate["a"]["id"])

    assert merged["source"] == candidate["b"]["id"]
    orgs = {e["name"] for e in cli("entities", "haven", "--type", "org")["entities"]}
    assert orgs == {candidate["a"]["name"]}
    assert cli("entities", "candidates")["candidates"] == []
