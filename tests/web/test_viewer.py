"""The evidence viewer's data and what it needs from the API: `view_url` on every lookup match, the viewer's JSON
for an image, a video (its face track spans) and a page (main text, entities), and stored bytes served in the
ranges a video player asks for while it seeks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lookingglass.pipeline.submit import ingest_file
from media_files import face_on_screen_video

CORPUS = Path(__file__).parents[1] / "data" / "graph_corpus"


def lookup(client, path: Path):
    with path.open("rb") as handle:
        return client.post("/lookup", data={"image": (handle, path.name)}, content_type="multipart/form-data")


def test_every_match_links_to_the_viewer_at_its_face(app, analyst_client, test_images):
    stored = ingest_file(app, test_images / "obama.jpg")

    (face,) = lookup(analyst_client, test_images / "obama2.jpg").get_json()["faces"]
    (match,) = face["matches"]

    assert match["view_url"] == f"/view/{stored['sha256']}?face={match['face_id']}"
    page = analyst_client.get(match["view_url"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and f'data-sha256="{stored["sha256"]}"'.encode() in page.data
    assert b"viewer.js" in page.data


def test_the_viewer_data_of_an_image_has_its_faces_and_where_it_came_from(app, analyst_client, test_images):
    sha = ingest_file(app, test_images / "obama.jpg")["sha256"]
    (match,) = lookup(analyst_client, test_images / "obama2.jpg").get_json()["faces"][0]["matches"]

    view = analyst_client.get(f"/objects/{sha}/view").get_json()

    assert view["kind"] == "image" and view["content_url"] == f"/objects/{sha}/content"
    assert [f["face_id"] for f in view["faces"]] == [match["face_id"]]
    assert view["faces"][0]["box"] == match["box"]
    assert view["source_url"] == (test_images / "obama.jpg").resolve().as_uri()
    assert view["title"] == "obama.jpg" and view["tracks"] == [] and view["text"] is None
    assert analyst_client.get(f"/objects/{'0' * 64}/view").status_code == 404


def test_stored_bytes_are_served_in_ranges_so_a_video_can_seek(app, analyst_client, test_images, tmp_path):
    video = face_on_screen_video(tmp_path / "clip.mp4", test_images / "obama.jpg")
    sha = ingest_file(app, video)["sha256"]
    whole = video.read_bytes()

    full = analyst_client.get(f"/objects/{sha}/content")
    part = analyst_client.get(f"/objects/{sha}/content", headers={"Range": "bytes=100-199"})
    tail = analyst_client.get(f"/objects/{sha}/content", headers={"Range": "bytes=-50"})
    beyond = analyst_client.get(f"/objects/{sha}/content", headers={"Range": f"bytes={len(whole) + 10}-"})

    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes" and full.data == whole
    assert full.headers["Content-Type"] == "video/mp4"
    assert part.status_code == 206 and part.data == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert tail.status_code == 206 and tail.data == whole[-50:]
    assert beyond.status_code == 416
    assert hashlib.sha256(full.data).hexdigest() == sha


def test_the_viewer_data_of_a_video_says_when_the_face_is_on_screen(app, analyst_client, test_images, tmp_path):
    video = face_on_screen_video(tmp_path / "clip.mp4", test_images / "obama.jpg", before=1.0, during=2.0)
    sha = ingest_file(app, video)["sha256"]
    (face,) = lookup(analyst_client, test_images / "obama2.jpg").get_json()["faces"]
    (match,) = [m for m in face["matches"] if m["kind"] == "video"]

    view = analyst_client.get(f"/objects/{sha}/view").get_json()

    assert match["view_url"] == f"/view/{sha}?face={match['face_id']}&t={match['timestamp']:.1f}"
    (track,) = view["tracks"]
    assert track["start"] == pytest.approx(1.0, abs=0.4) and track["end"] == pytest.approx(2.9, abs=0.4)
    assert match["face_id"] in track["face_ids"]
    assert {f["track_id"] for f in view["faces"]} == {track["track_id"]}
    assert view["transcript"] is False  # no sound in it


def test_the_viewer_data_of_a_page_is_its_main_text_with_the_entities_named(app, analyst_client):
    sha = ingest_file(app, CORPUS / "calder-board.html")["sha256"]

    view = analyst_client.get(f"/objects/{sha}/view").get_json()

    assert view["kind"] == "page"
    assert view["title"].startswith("Calder Systems strengthens board with battery pioneer")
    assert "Priya Raman, the co-founder of Brightwater Labs" in view["text"]
    assert "Search Granite City Business" not in view["text"]  # the site's furniture is not the page's text
    named = {e["name"]: e for e in view["entities"]}
    assert {"Priya Raman", "Alasdair Munro"} <= set(named)
    assert "Munro" in named["Alasdair Munro"]["surfaces"]  # the page's own words, so the viewer can link them
    entity = analyst_client.get(f"/entities/{named['Priya Raman']['id']}").get_json()
    assert entity["name"] == "Priya Raman"
    assert view["crawled_at"] is None and view["first_seen"]  # a local file was stored, never crawled
