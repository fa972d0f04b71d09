"""The JSON API and the first HTML page, through Flask's test client over a real embedded app (as an analyst,
with an API key; access control itself is tested in test_auth.py)."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from PIL import Image

from lookingglass.pipeline.submit import ingest_file
from lookingglass.web import create_app


@pytest.fixture
def client(analyst_client):
    return analyst_client


def upload(client, path, **fields):
    with path.open("rb") as handle:
        return client.post("/objects", data={"file": (handle, path.name), **fields}, content_type="multipart/form-data")


def lookup(client, path, **fields):
    with path.open("rb") as handle:
        return client.post("/lookup", data={"image": (handle, path.name), **fields}, content_type="multipart/form-data")


def test_upload_then_lookup_finds_the_person_with_boxes_and_scores(client, test_images):
    created = upload(client, test_images / "obama.jpg", source_url="https://example.org/obama.jpg")
    assert created.status_code == 201
    (obj,) = created.get_json()["objects"]
    assert obj["faces"] == 1

    response = lookup(client, test_images / "obama2.jpg")

    assert response.status_code == 200
    (face,) = response.get_json()["faces"]
    (match,) = face["matches"]
    assert match["sha256"] == obj["sha256"]
    assert match["source_url"] == "https://example.org/obama.jpg"
    assert match["kind"] == "image"


def test_lookup_can_return_the_photo_with_boxes_drawn(client, two_people):
    response = lookup(client, two_people, annotate="true")

    body = response.get_json()
    assert len(body["faces"]) == 2
    png = Image.open(io.BytesIO(base64.b64decode(body["annotated_png"])))
    original = Image.open(two_people)
    assert png.format == "PNG" and png.size == original.size


def test_lookup_honours_top_k_and_threshold(client, test_images):
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg"]:
        upload(client, test_images / name)

    loose = lookup(client, test_images / "obama3.jpg", threshold="-1", top_k="2").get_json()
    default = lookup(client, test_images / "obama3.jpg").get_json()

    assert len(loose["faces"][0]["matches"]) == 2
    assert len(default["faces"][0]["matches"]) == 2  # the two obama photos, not biden
    assert loose["top_k"] == 2 and loose["threshold"] == -1


def test_delete_removes_the_object_and_its_faces(client, admin_headers, test_images):
    sha = upload(client, test_images / "biden.jpg").get_json()["objects"][0]["sha256"]

    deleted = client.delete(f"/objects/{sha}", headers=admin_headers)  # forgetting is for admins
    again = client.delete(f"/objects/{sha}", headers=admin_headers)
    after = lookup(client, test_images / "biden.jpg").get_json()

    assert deleted.get_json() == {
        "sha256": sha,
        "deleted": True,
        "faces_removed": 1,
        "segments_removed": 0,
        "mentions_removed": 0,
    }
    assert again.status_code == 404
    assert after["faces"][0]["matches"] == []


def test_stored_objects_can_be_described_and_fetched(client, test_images):
    photo = test_images / "obama.jpg"
    sha = upload(client, photo).get_json()["objects"][0]["sha256"]

    described = client.get(f"/objects/{sha}").get_json()
    content = client.get(f"/objects/{sha}/content")

    assert described["faces"] == 1 and described["kind"] == "image"
    assert content.headers["Content-Type"] == "image/jpeg"
    assert hashlib.sha256(content.data).hexdigest() == sha


def test_an_objects_outcome_says_done_failed_or_gone(client, test_images):
    """What `ingest --wait` polls through serve: the same answer whoever ran the job (here: inline)."""
    good = upload(client, test_images / "obama.jpg").get_json()["objects"][0]
    source = (test_images / "biden.jpg").read_bytes()
    truncated = source[: len(source) // 2]  # stored (it looks like a JPEG), then fails to decode
    bad = client.post("/objects", data={"file": (io.BytesIO(truncated), "t.jpg")}, content_type="multipart/form-data")
    bad_sha = hashlib.sha256(truncated).hexdigest()

    done = client.get(f"/objects/{good['sha256']}/outcome", query_string={"job": good["job"]}).get_json()
    failed = client.get(f"/objects/{bad_sha}/outcome").get_json()
    gone = client.get(f"/objects/{'0' * 64}/outcome").get_json()

    assert bad.get_json()["objects"][0]["error"]["code"] == "bad_input"
    assert (done["state"], done["kind"], done["faces"], done["error"]) == ("done", "image", 1, None)
    assert (failed["state"], failed["code"]) == ("failed", "bad_input")
    assert "truncated" in failed["error"] or "corrupt" in failed["error"], failed
    assert (gone["state"], gone["code"]) == ("gone", "not_found")
    assert client.get(f"/objects/{good['sha256']}/outcome?job=a%20b").status_code == 400


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        ({}, "bad_input", 400),
        ({"image": (io.BytesIO(b""), "empty.jpg")}, "bad_input", 400),
        ({"image": (io.BytesIO(b"hello, I am text"), "text.jpg")}, "bad_input", 400),
        ({"image": (io.BytesIO(b"x"), "x.jpg"), "top_k": "many"}, "bad_input", 400),
    ],
)
def test_bad_lookups_get_a_json_error(client, data, code, status):
    response = client.post("/lookup", data=data, content_type="multipart/form-data")

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


def test_a_bad_file_in_an_upload_is_reported_and_the_rest_stored(client, test_images):
    with (test_images / "obama.jpg").open("rb") as good:
        response = client.post(
            "/objects",
            data={"file": [(good, "obama.jpg"), (io.BytesIO(b"not an image"), "bad.jpg")]},
            content_type="multipart/form-data",
        )

    good_result, bad_result = response.get_json()["objects"]
    assert response.status_code == 201
    assert good_result["faces"] == 1
    assert bad_result["error"]["code"] == "bad_input"


def test_claiming_a_local_path_needs_the_local_token(app, admin_headers, test_images):
    client = create_app(app, local_token="s3cret").test_client()
    photo = test_images / "obama.jpg"

    anonymous = upload(client, photo, source_url="file:///etc/obama.jpg")
    with photo.open("rb") as handle:
        refused = client.post(
            "/objects",
            data={"file": (handle, "obama.jpg"), "source_url": "file:///etc/obama.jpg"},
            headers=admin_headers,  # even an admin's key: only the CLI on this machine knows its paths
            content_type="multipart/form-data",
        )
    with photo.open("rb") as handle:
        allowed = client.post(
            "/objects",
            data={"file": (handle, "obama.jpg"), "source_url": "file:///etc/obama.jpg"},
            headers={"Authorization": "Bearer s3cret"},
            content_type="multipart/form-data",
        )

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert allowed.status_code == 201


def test_unknown_routes_and_objects_are_json_404s(client):
    assert client.get("/nope").get_json()["error"]["code"] == "not_found"
    assert client.get("/objects/" + "0" * 64).status_code == 404
    assert client.get("/objects/not-a-sha").status_code == 400


def test_health_reports_each_backend(client):
    body = client.get("/health").get_json()

    assert body["ok"] is True
    assert body["backends"]["faces"]["backend"] == "qdrant-edge"
    assert body["backends"]["objects"]["backend"] == "local"
    assert body["backends"]["queue"]["backend"] == "inline"
    assert all(check["latency_ms"] >= 0 for check in body["backends"].values())


def test_the_search_page_is_served_with_its_script_and_no_third_party_assets(client):
    page = client.get("/")
    script = client.get("/static/search.js")

    assert page.status_code == 200 and b'id="search-form"' in page.data
    assert script.status_code == 200 and b"/lookup" in script.data
    assert b"http://" not in page.data and b"https://" not in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # a navigation's Accept


def test_the_people_pages_share_their_urls_with_the_api_and_need_a_sign_in(app, client, test_images):
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
        ingest_file(app, test_images / name)
    (person,) = client.get("/people").get_json()["people"]  # an API client still gets the JSON
    assert person["cover"]["sha256"] and person["cover"]["box"]  # the face the People page shows them by

    listing = client.get("/people", headers=BROWSER)
    shown = client.get(f"/people/{person['id']}", headers=BROWSER)
    assert listing.status_code == 200 and b'id="people"' in listing.data and b"people.js" in listing.data
    assert shown.status_code == 200 and f'data-person-id="{person["id"]}"'.encode() in shown.data
    assert b'href="/people" aria-current="page"' in shown.data  # the navigation's People link
    assert "Accept" in listing.headers["Vary"] and "Accept" in client.get("/people").headers["Vary"]  # for caches

    anonymous = create_app(app).test_client()
    to_sign_in = anonymous.get(f"/people/{person['id']}", headers=BROWSER)
    assert to_sign_in.status_code == 302 and to_sign_in.headers["Location"].startswith("/login?next=/people/")
    assert anonymous.get("/people").status_code == 401
