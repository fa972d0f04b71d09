"""What the drawn graph and the "small things" of the UI read from the API: an entity's neighbourhood (route and
command, the same records), the index counts, the words a text search ignores, an HTML 404 for browsers (JSON for
API clients), a wrong password that keeps the username, and the start line about an unused LG_ADMIN_PASSWORD."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_process import run_cli
from lookingglass.pipeline.submit import ingest_file
from serve_process import running_serve
from waiting import wait_for

CORPUS = Path(__file__).parents[1] / "data" / "graph_corpus"
PAGE = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends when navigating


@pytest.fixture
def graph_client(app, admin_client):
    ingest_file(app, CORPUS / "calder-board.html")
    ingest_file(app, CORPUS / "calder-cto.html")
    return admin_client


def aberdeen(client) -> dict:
    """A place tied to Calder Systems, whose people are two relations out."""
    return client.get("/entities", query_string={"q": "Aberdeen", "type": "gpe"}).get_json()["entities"][0]


def test_the_neighbourhood_route_answers_one_or_two_hops_and_refuses_a_third(graph_client):
    place = aberdeen(graph_client)
    one = graph_client.get(f"/entities/{place['id']}/neighbourhood").get_json()
    two = graph_client.get(f"/entities/{place['id']}/neighbourhood", query_string={"hops": 2}).get_json()
    three = graph_client.get(f"/entities/{place['id']}/neighbourhood", query_string={"hops": 3})
    missing = graph_client.get("/entities/no-such-entity/neighbourhood")

    assert one["nodes"][0] == {**one["nodes"][0], "id": place["id"], "hops": 0}
    assert {n["hops"] for n in one["nodes"]} == {0, 1} and len(one["nodes"]) > 1
    assert len(two["nodes"]) > len(one["nodes"]) and max(n["hops"] for n in two["nodes"]) == 2
    kept = {n["id"] for n in two["nodes"]}
    assert all(e["source"] in kept and e["target"] in kept for e in two["edges"])
    assert {e["type"] for e in two["edges"]} - {"co_mentioned"}, "typed relations are among the edges"
    assert three.status_code == 400 and three.get_json()["error"]["message"].startswith("hops")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_one_relation_count_everywhere(graph_client):
    """The graph's stats, the analytics report and the entity pages count relations the same way: one per (source,
    target, type), a typed relation and a co-mention of the same pair being two."""
    stats = graph_client.get("/graph/stats").get_json()["stats"]
    report = graph_client.post("/graph/analytics").get_json()
    everyone = graph_client.get("/entities", query_string={"limit": 1000}).get_json()["entities"]
    ends = sum(len(graph_client.get(f"/entities/{e['id']}").get_json()["relations"]) for e in everyone)

    assert report["relations"] == stats["relations"]
    assert ends == 2 * stats["relations"]  # each relation is listed on both of its entities' pages
    for e in everyone:
        page = graph_client.get(f"/entities/{e['id']}").get_json()
        assert e["relation_count"] == page["relation_count"] == len(page["relations"]), e["name"]


def test_the_counts_say_what_is_indexed(app, graph_client, test_images):
    empty = graph_client.get("/index/counts").get_json()
    ingest_file(app, test_images / "obama.jpg")
    after = graph_client.get("/index/counts").get_json()

    assert empty["faces"] == 0 and empty["passages"] > 0 and empty["segments"] == 0
    assert empty["documents"] == 2 and empty["entities"] > 0
    assert after["faces"] == 1


def test_a_text_search_says_which_words_it_ignored(graph_client):
    found = graph_client.get("/search", query_string={"q": "the board of Calder"}).get_json()
    only_common = graph_client.get("/search", query_string={"q": "the of and"}).get_json()

    assert found["ignored"] == ["the", "of"] and found["hits"]
    assert only_common == {"hits": [], "ignored": ["the", "of", "and"]}


def test_an_unknown_url_is_a_page_for_a_browser_and_json_for_everyone_else(admin_client):
    as_browser = admin_client.get("/no/such/page", headers={"Accept": PAGE})
    as_api = admin_client.get("/no/such/page", headers={"Accept": "application/json"})
    by_default = admin_client.get("/no/such/page")

    assert as_browser.status_code == 404 and as_browser.mimetype == "text/html"
    html = as_browser.get_data(as_text=True)
    assert 'nav aria-label="Main"' in html and "/no/such/page" in html and 'href="/text"' in html
    assert "Accept" in as_browser.headers["Vary"]
    for answer in (as_api, by_default):
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_a_wrong_password_keeps_the_username_in_the_form(app):
    from lookingglass.web import create_app

    app.accounts.add_user("ada", "a long test password 7", "admin")
    client = create_app(app).test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    wrong = client.post("/login", data={"username": "ada", "password": "not it", "csrf_token": token})

    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and "Wrong username or password." in html
    assert 'value="ada"' in html
    assert re.search(r'type="password"[^>]*autofocus', html), "the cursor waits in the password box"


def test_serve_says_at_start_that_lg_admin_password_is_not_used_once_users_exist(tmp_path):
    data = tmp_path / "data"
    assert run_cli(data, "users", "add", "ada", "--password-stdin", stdin="a long test password 7\n").returncode == 0
    log = tmp_path / "serve.log"
    with running_serve(data, log, env={"LG_ADMIN_PASSWORD": "another long password 8"}):
        # serve says it once it is up, which is after server.json (what running_serve waits for) is written
        wait_for(lambda: "LG_ADMIN_PASSWORD is set" in log.read_text(), 30, "the start line about LG_ADMIN_PASSWORD")
    text = log.read_text()
    assert "LG_ADMIN_PASSWORD is set but not used: 1 user already exist" in text
    assert "lookingglass users passwd NAME" in text


def test_the_neighbourhood_command_answers_the_same_here_and_through_serve(tmp_path):
    data = tmp_path / "data"
    assert run_cli(data, "ingest", "--quiet", str(CORPUS / "calder-board.html")).returncode == 0
    listed = json.loads(run_cli(data, "entities", "Calder", "--type", "org", "--json").stdout)["entities"][0]
    here = run_cli(data, "neighbourhood", listed["id"], "--hops", "2", "--json")
    with running_serve(data, tmp_path / "serve.log"):
        through_serve = run_cli(data, "neighbourhood", listed["id"], "--hops", "2", "--json")
    refused = run_cli(data, "neighbourhood", listed["id"], "--hops", "3")

    assert here.returncode == 0 and json.loads(here.stdout) == json.loads(through_serve.stdout)
    assert json.loads(here.stdout)["nodes"][0]["id"] == listed["id"]
    assert refused.returncode == 2
