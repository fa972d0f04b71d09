"""The entity graph and person erasure, declared once: the same records here and through the `serve` that owns the
data dir, audited once per call by the service, and bad input refused before any work, as a 400 or exit 2."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from cli_process import run_cli
from lookingglass.pipeline.submit import ingest_file
from lookingglass.stores.private.audit import AuditLog
from redis_server import RedisServer, redis_available
from serve_process import running_serve

CORPUS = Path(__file__).parents[1] / "data" / "graph_corpus"


def as_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_graph_commands_answer_the_same_here_and_through_serve(tmp_path):
    data = tmp_path / "data"
    for page in ("calder-board.html", "calder-cto.html", "kestrel-hire.html"):
        assert run_cli(data, "ingest", "--quiet", str(CORPUS / page)).returncode == 0
    report = as_json(run_cli(data, "analytics", "--json"))
    calder = as_json(run_cli(data, "entities", "Calder", "--type", "org", "--json"))["entities"][0]
    asked = [
        ("entities", "--limit", "500", "--json"),
        ("entity", calder["id"], "--json"),
        ("shared-people", "--json"),
    ]

    here = [as_json(run_cli(data, *args)) for args in asked]
    with running_serve(data, tmp_path / "serve.log"):
        through_serve = [as_json(run_cli(data, *args)) for args in asked]
        served_report = as_json(run_cli(data, "analytics", "--json"))
        as_text = run_cli(data, "entity", calder["id"])

    assert through_serve == here
    assert "shared_people" in here[1] and "faces" in here[1]  # an organisation's detail, as the API gives it
    assert set(served_report) == set(report) and served_report["nodes"] == report["nodes"]
    assert "communities" not in report["pagerank"]  # a run's keys are the ones it had, no nulls for the rest
    assert as_text.returncode == 0 and as_text.stdout.startswith("Calder Systems (ORG)")


@pytest.mark.skipif(not redis_available(), reason="redis-server not installed")
def test_analytics_run_here_when_the_command_owns_the_graph_and_are_queued_by_a_serve_with_workers(tmp_path):
    data = tmp_path / "data"
    assert run_cli(data, "ingest", "--quiet", str(CORPUS / "calder-board.html")).returncode == 0
    redis = RedisServer(tmp_path / "redis").start()
    try:
        workers = {"REDIS_URL": redis.url}
        here = as_json(run_cli(data, "analytics", "--json", env=workers))  # nobody else would run the owner's job
        with running_serve(data, tmp_path / "serve.log", env=workers):
            queued = as_json(run_cli(data, "analytics", "--json"))
            as_text = run_cli(data, "analytics")
    finally:
        redis.stop()

    assert here["backend"] == "igraph" and here["nodes"] > 0
    assert set(queued) == {"job"}  # 202 from serve: its workers run it
    assert as_text.returncode == 0 and as_text.stdout.startswith("analytics queued for the workers (job ")


def test_forgetting_a_person_through_serve_is_audited_by_the_service_once_per_call(tmp_path, test_images):
    data = tmp_path / "data"
    assert run_cli(data, "ingest", "--quiet", str(test_images / "obama.jpg")).returncode == 0
    photo = str(test_images / "obama2.jpg")

    declined_here = run_cli(data, "forget-person", photo, stdin="n\n")
    with running_serve(data, tmp_path / "serve.log"):
        erased = as_json(run_cli(data, "forget-person", photo, "--yes", "--opt-out", "--note", "17", "--json"))
        listed = as_json(run_cli(data, "opt-outs", "--json"))
        withdrawn = run_cli(data, "opt-outs", "remove", erased["optout_id"])
        again = run_cli(data, "opt-outs", "remove", erased["optout_id"])

    assert declined_here.returncode == 1 and "obama.jpg" in declined_here.stderr
    assert erased["removed"] == 1 and erased["opted_out"] and erased["not_matching"] == []
    assert [(e["id"], e["note"]) for e in listed["opt_outs"]] == [(erased["optout_id"], "17")]  # a note is text
    assert withdrawn.returncode == 0 and "withdrew" in withdrawn.stdout
    assert again.returncode == 3 and "no opt-out" in again.stderr  # not found, through serve as here
    log = AuditLog.open(data)
    previews = log.entries(action="forget_person_preview")
    assert len(previews) == 2  # declined here, confirmed through serve: one record per call
    assert {e.actor.startswith("cli:") for e in previews} == {True, False}  # the local user; serve's local token
    (forgotten,) = log.entries(action="forget_person")
    assert (forgotten.target, forgotten.results) == (erased["optout_id"], 1)
    (entry,) = log.entries(action="optout_withdrawn")
    assert entry.target == erased["optout_id"]


def test_every_command_explains_itself_and_refuses_bad_values_as_usage_errors(tmp_path):
    data = tmp_path / "data"
    for command in ("forget-person", "opt-outs", "entities", "entity", "shared-people", "analytics"):
        helped = run_cli(data, command, "--help")
        assert helped.returncode == 0 and "--json" in helped.stdout, command

    refused = {
        "--limit": run_cli(data, "entities", "--limit", "0"),
        "--type": run_cli(data, "entities", "--type", "planet"),
        "shared-people --limit": run_cli(data, "shared-people", "--limit", "1001"),
        "PHOTO": run_cli(data, "forget-person", str(tmp_path / "missing.jpg")),
        "--threshold": run_cli(data, "forget-person", __file__, "--threshold", "1.5"),
        "--face": run_cli(data, "forget-person", __file__, "--face", "-1"),
        "--note": run_cli(data, "forget-person", __file__, "--note", "n" * 1001),
    }
    for option, result in refused.items():
        assert result.returncode == 2, (option, result.stderr)
    needs_id = run_cli(data, "opt-outs", "remove")
    assert needs_id.returncode == 2 and "needs the opt-out's id" in needs_id.stderr


@pytest.fixture
def graph_client(app, admin_client):
    ingest_file(app, CORPUS / "calder-board.html")
    return admin_client


def test_the_entity_routes_take_what_the_ui_sends_and_refuse_the_rest_with_a_400(graph_client):
    everyone = graph_client.get("/entities", query_string={"q": "", "type": "", "limit": ""})
    people = graph_client.get("/entities", query_string={"type": "person"})  # any case, as before
    too_many = graph_client.get("/entities", query_string={"limit": 1001})
    not_a_number = graph_client.get("/graph/shared-people", query_string={"limit": "ten"})

    assert everyone.status_code == 200 and everyone.get_json()["entities"]
    assert {e["type"] for e in people.get_json()["entities"]} == {"PERSON"}
    for refused, field in ((too_many, "limit"), (not_a_number, "limit")):
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_input"
        assert refused.get_json()["error"]["message"].startswith(field)
    missing = graph_client.get("/entities/no-such-entity")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_analytics_over_http_answers_the_run_and_the_stats_remember_it(graph_client):
    report = graph_client.post("/graph/analytics")
    stats = graph_client.get("/graph/stats").get_json()

    assert report.status_code == 200 and report.get_json()["backend"] == "igraph"
    assert stats["last_analytics"]["finished_at"] == report.get_json()["finished_at"]
    assert stats["stats"]["documents"] == 1 and stats["gds"] is False


def test_erasing_needs_the_confirmed_ids_unless_it_only_opts_out(app, admin_client, test_images):
    photo = (test_images / "obama2.jpg").read_bytes()

    nothing = admin_client.post("/forget/person", data={"image": (io.BytesIO(photo), "p.jpg")})
    opt_out_only = admin_client.post("/forget/person", data={"image": (io.BytesIO(photo), "p.jpg"), "opt_out": "true"})
    no_photo = admin_client.post("/forget/person/preview", data={"threshold": "0.5"})
    text_for_photo = admin_client.post("/forget/person/preview", data={"image": "not a file"})

    assert nothing.status_code == 400 and "face_ids is required" in nothing.get_json()["error"]["message"]
    assert opt_out_only.status_code == 200 and opt_out_only.get_json()["opted_out"]
    assert opt_out_only.get_json()["removed"] == 0
    for refused in (no_photo, text_for_photo):
        assert refused.status_code == 400 and refused.get_json()["error"]["message"].startswith("image")
