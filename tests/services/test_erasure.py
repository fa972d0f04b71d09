"""Erasing a person: preview what a face photo would remove, remove exactly that, and keep the face out for good."""

from __future__ import annotations

import json
import subprocess

import pytest

from cli_process import run_cli
from lookingglass.errors import BadInput, NotFound
from lookingglass.people.erasure import erase_person, find_person, list_opt_outs, withdraw_opt_out
from lookingglass.pipeline.submit import ingest_file
from lookingglass.services.matching import lookup_image
from lookingglass.stores.private.audit import AuditLog


@pytest.fixture
def indexed(app, test_images, two_people):
    for path in (test_images / "obama.jpg", test_images / "obama3.jpg", test_images / "biden.jpg", two_people):
        ingest_file(app, path)
    return app


def matches_for(app, photo) -> list:
    (face,) = lookup_image(app, photo.read_bytes())
    return face.matches


def test_the_preview_shows_every_indexed_face_of_the_person_and_changes_nothing(indexed, test_images):
    query = (test_images / "obama2.jpg").read_bytes()
    before = indexed.faces.count()

    preview = find_person(indexed, query)

    (face,) = preview["faces"]
    sources = sorted(m["source_url"].rsplit("/", 1)[1] for m in face["matches"])
    assert sources == ["obama.jpg", "obama3.jpg", "two_people.jpg"]
    assert all(m["score"] >= preview["threshold"] for m in face["matches"])
    assert indexed.faces.count() == before


def test_erasing_removes_exactly_the_confirmed_faces_and_an_opt_out_keeps_them_out(indexed, test_images, two_people):
    query = (test_images / "obama2.jpg").read_bytes()
    ids = [m["face_id"] for m in find_person(indexed, query)["faces"][0]["matches"]]
    biden = test_images / "biden.jpg"
    biden_before = len(matches_for(indexed, biden))

    result = erase_person(indexed, query, ids, opt_out=True, note="request #17")

    assert result["removed"] == 3 and result["opted_out"] and result["not_matching"] == []
    assert matches_for(indexed, test_images / "obama2.jpg") == []
    assert len(matches_for(indexed, biden)) == biden_before  # Biden, alone and in the group photo, stays

    # A re-crawl or re-ingest of the same photos does not bring him back; everyone else is indexed as before.
    again = [ingest_file(indexed, p) for p in (test_images / "obama.jpg", test_images / "obama3.jpg", two_people)]
    assert [r["faces"] for r in again] == [0, 0, 1]
    assert [r.get("opted_out") for r in again] == [1, 1, 1]
    assert matches_for(indexed, test_images / "obama2.jpg") == []
    assert len(matches_for(indexed, biden)) == biden_before


def test_an_opt_out_made_by_mistake_can_be_seen_and_withdrawn(indexed, test_images):
    query = (test_images / "obama2.jpg").read_bytes()
    ids = [m["face_id"] for m in find_person(indexed, query)["faces"][0]["matches"]]
    optout = erase_person(indexed, query, ids, opt_out=True, note="request #17")["optout_id"]

    listed = list_opt_outs(indexed)
    assert listed["count"] == 1
    (entry,) = listed["opt_outs"]
    assert (entry["id"], entry["note"]) == (optout, "request #17") and entry["added_at"]
    assert set(entry) == {"id", "added_at", "note"}  # never the face itself

    assert withdraw_opt_out(indexed, optout) == {"id": optout, "withdrawn": True}
    with pytest.raises(NotFound):
        withdraw_opt_out(indexed, optout)
    with pytest.raises(NotFound):
        withdraw_opt_out(indexed, "not-an-id")
    assert list_opt_outs(indexed) == {"opt_outs": [], "count": 0}
    again = ingest_file(indexed, test_images / "obama.jpg")  # indexed again from now on
    assert again["faces"] == 1 and len(matches_for(indexed, test_images / "obama2.jpg")) == 1


def test_admins_list_and_withdraw_opt_outs_over_http_and_it_is_audited(indexed, test_images, admin_client, settings):
    query = (test_images / "obama2.jpg").read_bytes()
    ids = [m["face_id"] for m in find_person(indexed, query)["faces"][0]["matches"]]
    optout = erase_person(indexed, query, ids, opt_out=True)["optout_id"]

    listed = admin_client.get("/forget/opt-outs").get_json()
    gone = admin_client.delete(f"/forget/opt-outs/{optout}")
    missing = admin_client.delete(f"/forget/opt-outs/{optout}")

    assert [e["id"] for e in listed["opt_outs"]] == [optout]
    assert gone.status_code == 200 and missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    (entry,) = AuditLog.open(settings.data_dir).entries(action="optout_withdrawn")
    assert (entry.target, entry.role) == (optout, "admin")


def test_a_face_id_that_does_not_match_the_photo_is_not_removed(indexed, test_images):
    biden_ids = [m.face_id for m in matches_for(indexed, test_images / "biden.jpg")]
    query = (test_images / "obama2.jpg").read_bytes()

    result = erase_person(indexed, query, biden_ids)

    assert result["removed"] == 0 and sorted(result["not_matching"]) == sorted(biden_ids)
    assert len(matches_for(indexed, test_images / "biden.jpg")) == len(biden_ids)


def test_a_group_photo_needs_to_say_which_face(indexed, two_people, no_face_photo):
    with pytest.raises(BadInput, match="face_index"):
        erase_person(indexed, two_people.read_bytes(), ["x"])
    with pytest.raises(BadInput, match="no face"):
        find_person(indexed, no_face_photo.read_bytes())


def test_the_cli_erases_after_showing_what_goes(tmp_path, test_images):
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run_cli(tmp_path / "data", *args, stdin=stdin)

    assert run("ingest", "--quiet", str(test_images / "obama.jpg")).returncode == 0
    query = str(test_images / "obama2.jpg")

    declined = run("forget-person", query, stdin="n\n")
    assert declined.returncode == 1 and "obama.jpg" in declined.stderr  # shown, then kept

    done = run("forget-person", query, "--yes", "--opt-out", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["removed"] == 1 and json.loads(done.stdout)["opted_out"]
    lookup = json.loads(run("lookup", query, "--json").stdout)
    assert lookup["faces"][0]["matches"] == []

    (entry,) = json.loads(run("opt-outs", "--json").stdout)["opt_outs"]
    withdrawn = run("opt-outs", "remove", entry["id"])
    assert withdrawn.returncode == 0 and "withdrew" in withdrawn.stdout
    assert json.loads(run("opt-outs", "--json").stdout)["count"] == 0
    assert run("opt-outs", "remove", entry["id"]).returncode != 0  # gone: a clear error, not a crash
