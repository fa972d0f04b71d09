"""The core loop: ingest photos, look a face up, forget an object — on real photos and the real embedded index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lookingglass.errors import BadInput
from lookingglass.pipeline.forget import forget_object_now
from lookingglass.pipeline.submit import ingest_file, process_now
from lookingglass.services.matching import lookup_image

TEST_IMAGES = "face_recognition_ageitgey/tests/test_images"


def best_other(app, path: Path) -> tuple[str, float]:
    """The best match for the largest face in `path` that is not the photo itself."""
    results = lookup_image(app, path.read_bytes(), top_k=5, threshold=-1.0)
    assert results, f"no face found in {path}"
    largest = max(results, key=lambda r: (r.face.box[2] - r.face.box[0]) * (r.face.box[3] - r.face.box[1]))
    own = path.resolve().as_uri()
    for match in largest.matches:
        if match.source_url != own:
            return match.source_url, match.score
    raise AssertionError(f"no other photo matched {path}")


def test_lookup_finds_the_same_person_and_not_another(app, test_images):
    images = test_images
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg"]:
        assert ingest_file(app, images / name)["faces"] == 1

    results = lookup_image(app, (images / "obama3.jpg").read_bytes())

    assert len(results) == 1
    found = {Path(m.source_url).name for m in results[0].matches}
    assert found == {"obama.jpg", "obama2.jpg"}
    scores = [m.score for m in results[0].matches]
    assert scores == sorted(scores, reverse=True)
    assert all(s >= app.match_threshold for s in scores)


def test_rank1_identification_over_labelled_identities(app, faces_dir, labels):
    identity_of = {}
    for identity, paths in labels["identities"].items():
        for rel in paths:
            identity_of[(faces_dir / rel).resolve().as_uri()] = identity
            ingest_file(app, faces_dir / rel)

    misses = []
    for uri, identity in identity_of.items():
        if sum(1 for other in identity_of.values() if other == identity) < 2:
            continue  # a single photo of someone is a distractor, not a query
        best_uri, score = best_other(app, Path(uri.removeprefix("file://")))
        if identity_of[best_uri] != identity:
            misses.append((uri, best_uri, round(score, 3)))

    assert misses == []


def test_two_people_are_found_and_told_apart(app, test_images, two_people):
    ingest_file(app, test_images / "obama.jpg")
    ingest_file(app, test_images / "biden.jpg")

    left, right = lookup_image(app, two_people.read_bytes())

    assert [Path(m.source_url).name for m in left.matches] == ["obama.jpg"]
    assert [Path(m.source_url).name for m in right.matches] == ["biden.jpg"]


def test_ingesting_the_same_file_twice_creates_no_duplicates(app, test_images):
    photo = test_images / "obama.jpg"
    first = ingest_file(app, photo)
    second = ingest_file(app, photo)
    process_now(app, first["sha256"])  # a retried job

    assert first["sha256"] == second["sha256"]
    assert app.faces.count() == 1
    assert len(list(app.objects.list())) == 1


def test_the_same_photo_from_two_places_is_one_object_with_both_sources(app, test_images, tmp_path):
    original = test_images / "biden.jpg"
    copy = tmp_path / "elsewhere" / "joe.jpg"
    copy.parent.mkdir()
    shutil.copy(original, copy)

    a = ingest_file(app, original)
    b = ingest_file(app, copy)

    assert a["sha256"] == b["sha256"]
    assert app.objects.get(a["sha256"]).metadata["source_urls"] == [original.resolve().as_uri(), copy.as_uri()]
    assert app.faces.count() == 1


def test_ingest_lookup_forget_lookup_round_trip(app, test_images):
    images = test_images
    obama = ingest_file(app, images / "obama.jpg")
    ingest_file(app, images / "obama2.jpg")
    query = (images / "obama3.jpg").read_bytes()
    assert {m.sha256 for m in lookup_image(app, query)[0].matches} == {
        obama["sha256"],
        app_sha(app, images / "obama2.jpg"),
    }

    assert forget_object_now(app, obama["sha256"])["faces_removed"] == 1

    remaining = {m.sha256 for m in lookup_image(app, query)[0].matches}
    assert obama["sha256"] not in remaining
    assert remaining == {app_sha(app, images / "obama2.jpg")}
    assert not app.objects.exists(obama["sha256"])
    assert app.faces.count({"sha256": obama["sha256"]}) == 0


def app_sha(app, path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_photo_without_faces_is_indexed_with_no_faces(app, no_face_photo):
    result = ingest_file(app, no_face_photo)

    assert result["faces"] == 0
    assert app.objects.exists(result["sha256"])
    assert lookup_image(app, no_face_photo.read_bytes()) == []


def test_a_broken_image_is_refused_and_nothing_is_indexed(app, test_images, tmp_path):
    half = tmp_path / "half.jpg"
    data = (test_images / "obama.jpg").read_bytes()
    half.write_bytes(data[: len(data) // 2])

    with pytest.raises(BadInput, match=r"truncated|corrupt"):
        ingest_file(app, half)

    assert app.faces.count() == 0


def test_lookup_parameters_are_checked(app, test_images):
    photo = (test_images / "obama.jpg").read_bytes()
    with pytest.raises(BadInput, match="top_k"):
        lookup_image(app, photo, top_k=0)
    with pytest.raises(BadInput, match="threshold"):
        lookup_image(app, photo, threshold=2.0)


def test_face_payload_records_where_and_how_the_face_was_found(app, test_images):
    photo = test_images / "obama.jpg"
    result = ingest_file(app, photo)
    hit = app.faces.search(lookup_image(app, photo.read_bytes())[0].face.embedding, top_k=1)[0]

    payload = hit.payload
    assert payload["sha256"] == result["sha256"]
    assert payload["source_url"] == photo.resolve().as_uri()
    assert payload["kind"] == "image"
    assert payload["model"] == "sface"
    assert len(payload["landmarks"]) == 5
    x1, y1, x2, y2 = payload["box"]
    assert 0 <= x1 < x2 <= payload["width"] and 0 <= y1 < y2 <= payload["height"]
