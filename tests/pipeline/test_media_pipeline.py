"""Videos and speech through the whole pipeline: ingest → faces tracked over time and a searchable transcript."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lookingglass.errors import BadInput
from lookingglass.media.video import probe
from lookingglass.pipeline.submit import ingest_file
from lookingglass.services.matching import lookup_image
from media_files import ESPEAK, SR, speak, write_media

CLIP = "face_recognition_ageitgey/examples/short_hamilton_clip.mp4"
MIRANDA = "face_recognition_ageitgey/examples/lin-manuel-miranda.png"
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (apt-get install espeak-ng)")


def miranda_spans(faces_dir, labels) -> list[tuple[float, float]]:
    """labels.json's frame spans where Miranda faces the camera, in seconds of the file (video starts late)."""
    info = probe(faces_dir / CLIP)
    fps = labels["video"][CLIP]["fps"]
    return [
        (info.video_start + 0 / fps, info.video_start + 19 / fps),
        (info.video_start + 82 / fps, info.video_start + 210 / fps),
    ]


def test_a_person_is_found_inside_a_video_with_times_in_the_right_span(app, faces_dir, labels):
    result = ingest_file(app, faces_dir / CLIP)

    (face,) = lookup_image(app, (faces_dir / MIRANDA).read_bytes())
    video = [m for m in face.matches if m.kind == "video"]
    slack = 1 / 3  # one sampling interval at 3 fps
    spans = miranda_spans(faces_dir, labels)

    assert result["faces"] > 0
    assert video, "Miranda was not found in the video"
    assert all(m.sha256 == result["sha256"] for m in video)
    for match in video:
        assert any(a - slack <= match.timestamp <= b + slack for a, b in spans), match
        assert match.start <= match.timestamp <= match.end
    assert len({m.track_id for m in video}) == len(video)  # one match per track, not one per keyframe
    processed = app.objects.get(result["sha256"]).metadata["processed"]["sface"]
    assert processed["tracks"] >= 2 and processed["has_audio"] is True
    thumbnails = list(app.objects.iter_keys(f"thumbs/{result['sha256']}/"))
    assert thumbnails and app.objects.read_key(thumbnails[0])[:2] == b"\xff\xd8"  # JPEG


def test_lookup_json_for_video_matches_carries_timestamp_start_and_end(app, analyst_client, faces_dir):
    ingest_file(app, faces_dir / CLIP)
    client = analyst_client

    with (faces_dir / MIRANDA).open("rb") as handle:
        body = client.post("/lookup", data={"image": (handle, "m.png")}, content_type="multipart/form-data").get_json()

    match = next(m for m in body["faces"][0]["matches"] if m["kind"] == "video")
    thumbnail = client.get(f"/faces/{match['face_id']}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.data[:2] == b"\xff\xd8"
    assert isinstance(match["timestamp"], float)
    assert match["start"] <= match["timestamp"] <= match["end"]
    assert match["track_id"] is not None and match["grouped"] >= 1


@needs_espeak
def test_what_is_said_in_a_video_is_searchable_with_the_right_time_range(app, admin_client, tmp_path):
    speech = speak("Hamilton was the first treasury secretary of the United States.", tmp_path / "s.wav")
    audio = np.concatenate([np.zeros(2 * SR, dtype=np.float32), speech])  # two seconds of silence first
    video = write_media(tmp_path / "talk.mp4", audio, video_seconds=len(audio) / SR + 0.5)

    result = ingest_file(app, video)
    client = admin_client  # it forgets the video at the end
    hits = client.get("/search", query_string={"q": "treasury secretary"}).get_json()["hits"]
    phrase = client.get("/search", query_string={"q": '"treasury secretary"', "kind": "transcript"}).get_json()

    (hit,) = hits
    assert hit["sha256"] == result["sha256"] and hit["kind"] == "transcript"
    assert "<mark>treasury</mark>" in hit["snippet"].lower()
    assert 1.5 <= hit["start"] < hit["end"] <= len(audio) / SR + 0.5
    assert phrase["hits"][0]["sha256"] == result["sha256"]
    transcript = client.get(f"/objects/{result['sha256']}/transcript").get_json()
    assert transcript["language"] == "en" and transcript["segments"]
    assert transcript == json.loads(app.objects.read_key(f"transcripts/{result['sha256']}.json"))

    forgotten = client.delete(f"/objects/{result['sha256']}").get_json()
    assert forgotten["segments_removed"] >= 1
    assert client.get("/search", query_string={"q": "treasury"}).get_json()["hits"] == []
    assert list(app.objects.iter_keys(f"transcripts/{result['sha256']}")) == []
    assert client.get(f"/objects/{result['sha256']}/transcript").status_code == 404


def test_a_video_without_audio_gets_faces_and_no_transcript(app, tmp_path):
    video = write_media(tmp_path / "silent.mp4", None, video_seconds=2)

    result = ingest_file(app, video)

    processed = app.objects.get(result["sha256"]).metadata["processed"]["sface"]
    assert processed["has_audio"] is False and "segments" not in processed


@needs_espeak
def test_an_audio_file_is_transcribed(app, tmp_path):
    from media_files import write_wav

    wav = write_wav(tmp_path / "memo.wav", speak("The lazy dog sleeps all day.", tmp_path / "x.wav"), SR)

    result = ingest_file(app, wav)

    assert app.objects.get(result["sha256"]).kind == "audio"
    assert app.text.search("lazy dog", limit=5)[0].payload["sha256"] == result["sha256"]


def test_a_truncated_video_is_an_error_recorded_on_the_object(app, faces_dir, tmp_path):
    data = (faces_dir / CLIP).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])

    try:
        result = ingest_file(app, cut)
    except BadInput:
        sha = __import__("hashlib").sha256(cut.read_bytes()).hexdigest()
        assert app.objects.get(sha).metadata["processing_error"]["message"]
    else:  # the index came first: what decodes is used, and the cut is a warning
        processed = app.objects.get(result["sha256"]).metadata["processed"]["sface"]
        assert processed["warnings"]


def two_faces_video(faces_dir, path, seconds: float = 1.0):
    """A still of Obama beside Biden, held for `seconds` at 10 fps: both faces are in every sampled frame (and a
    second holds so few samples that every one of them is a keyframe of both tracks)."""
    import av
    from PIL import Image

    examples = faces_dir / "face_recognition_ageitgey/examples"
    halves = [Image.open(examples / name).convert("RGB").resize((320, 400)) for name in ("obama.jpg", "biden.jpg")]
    picture = np.concatenate([np.asarray(h) for h in halves], axis=1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 400, "yuv420p"
        for index in range(round(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_every_face_of_a_shared_keyframe_has_its_own_thumbnail(app, admin_client, faces_dir, tmp_path):
    video = two_faces_video(faces_dir, tmp_path / "two.mp4")

    result = ingest_file(app, video)

    faces = app.faces.scroll({"sha256": result["sha256"]}, limit=500)
    tracks = sorted({p.payload["track_id"] for p in faces})
    assert len(tracks) == 2  # two people, two tracks
    times = [{p.payload["timestamp"] for p in faces if p.payload["track_id"] == t} for t in tracks]
    assert times[0] & times[1], "no keyframe shows both faces"
    crops = {}
    for point in faces:
        response = admin_client.get(f"/faces/{point.id}/thumbnail")
        assert response.status_code == 200, point.payload["thumbnail"]
        assert response.data[:2] == b"\xff\xd8"
        crops[point.payload["track_id"]] = response.data
    assert crops[tracks[0]] != crops[tracks[1]]  # each face its own crop, not the frame's first face twice
