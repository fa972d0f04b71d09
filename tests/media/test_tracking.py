"""Face tracking: the rules on made-up detections, then the real thing on the Hamilton clip and on a clip made here
from two photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_video import CLIP, encode_video

from lookingglass.media.decode import decode_image
from lookingglass.media.tracking import (
    FaceTracker,
    face_quality,
    frontalness,
    pick_keyframes,
    sharpness,
    track_faces,
)
from lookingglass.media.video import probe, sample_frames
from lookingglass.records import Detection, Face, TrackedFace, VideoFrame
from lookingglass.vision.faces import FaceModels

THRESHOLD = 0.363  # SFace's; the tracker takes it from the caller
STEP = 1 / 3  # sampling interval of these made-up videos
CANVAS = np.zeros((360, 640, 3), np.uint8)


def person(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return vector / np.linalg.norm(vector)


def seen_as(identity: np.ndarray, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """One sighting of `identity`: similar (cosine ~0.95 for noise 0.3), not identical."""
    vector = identity + noise * np.random.default_rng(seed).normal(size=128) / np.sqrt(128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def face_at(x: float, y: float, embedding: np.ndarray, size: float = 60, confidence: float = 0.95) -> Face:
    landmarks = (
        (x + 0.3 * size, y + 0.4 * size),
        (x + 0.7 * size, y + 0.4 * size),
        (x + 0.5 * size, y + 0.6 * size),
        (x + 0.35 * size, y + 0.8 * size),
        (x + 0.65 * size, y + 0.8 * size),
    )
    detection = Detection(box=(x, y, x + size, y + size), confidence=confidence, landmarks=landmarks, detector="test")
    return Face(detection=detection, embedding=embedding)


def frame(i: int, scene_cut: bool = False) -> VideoFrame:
    return VideoFrame(index=i * 10, timestamp=i * STEP, rgb=CANVAS, scene_cut=scene_cut)


# -- the rules, on made-up detections -------------------------------------------------------------------------


def test_one_person_moving_is_one_track_with_spread_keyframes() -> None:
    alice = person(1)
    tracks = track_faces(
        ((frame(i), [face_at(100 + 8 * i, 100, seen_as(alice, seed=i))]) for i in range(12)), THRESHOLD
    )
    assert len(tracks) == 1
    track = tracks[0]
    assert (track.track_id, track.start, track.end, len(track.faces)) == (0, 0.0, 11 * STEP, 12)
    assert len(track.keyframes) == 3 and all(track.start <= k.timestamp <= track.end for k in track.keyframes)
    assert np.linalg.norm(track.mean_embedding) == pytest.approx(1.0, abs=1e-5)
    assert float(track.mean_embedding @ alice) > 0.95


def test_two_people_crossing_keep_their_identities() -> None:
    alice, bob = person(1), person(2)
    tracker = FaceTracker(THRESHOLD)
    for i in range(11):  # they walk towards each other; at i = 5 their boxes coincide
        tracker.update(
            frame(i),
            [face_at(100 + 40 * i, 100, seen_as(alice, seed=i)), face_at(500 - 40 * i, 100, seen_as(bob, seed=50 + i))],
        )
    tracks = tracker.finish()
    assert len(tracks) == 2
    for track in tracks:
        who = alice if float(track.mean_embedding @ alice) > 0.5 else bob
        assert len(track.faces) == 11
        assert all(float(f.face.embedding @ who) > 0.8 for f in track.faces)


def test_a_short_gap_continues_a_track_and_a_long_one_splits_it() -> None:
    alice = person(1)
    short = [0, 1, 2, 6, 7]  # 4 samples = 1.33 s unseen, within max_gap_s = 1.5
    tracks = track_faces([(frame(i), [face_at(100, 100, seen_as(alice, seed=i))]) for i in short], THRESHOLD)
    assert len(tracks) == 1 and len(tracks[0].faces) == 5
    long = [0, 1, 2, 9, 10]  # 2.33 s unseen
    tracks = track_faces([(frame(i), [face_at(100, 100, seen_as(alice, seed=i))]) for i in long], THRESHOLD)
    assert [(t.start, t.end) for t in tracks] == [(0.0, 2 * STEP), (9 * STEP, 10 * STEP)]


def test_a_face_turning_away_stays_in_its_track_unless_the_shot_changes() -> None:
    alice = person(1)
    turned = alice + 2.2 * person(9)  # cosine to alice ~0.41: below any same-shot doubt ...
    turned = turned / np.linalg.norm(turned)
    similarity = float(turned @ alice)
    assert THRESHOLD - 0.15 < similarity < THRESHOLD + 0.1

    def run(cut: bool) -> list:
        steps = [(frame(0), [face_at(100, 100, alice.astype(np.float32))])]
        for i in range(1, 4):
            steps.append((frame(i, scene_cut=cut and i == 1), [face_at(102, 101, seen_as(turned, 0.05, seed=i))]))
        return track_faces(steps, THRESHOLD + 0.1)  # make the embedding alone not enough

    assert len(run(cut=False)) == 1  # same place, next sample: the boxes carry the track
    assert len(run(cut=True)) == 2  # after a cut, a face at the same place is not evidence


def test_lone_detections_are_kept_only_when_confident() -> None:
    alice, bob, carol = person(1), person(2), person(3)
    tracks = track_faces(
        [
            (frame(0), [face_at(50, 50, alice.astype(np.float32), confidence=0.95)]),
            (frame(6), [face_at(300, 50, bob.astype(np.float32), confidence=0.6)]),
            (frame(12), [face_at(50, 200, seen_as(carol, seed=1), confidence=0.6)]),
            (frame(13), [face_at(52, 200, seen_as(carol, seed=2), confidence=0.6)]),
        ],
        THRESHOLD,
    )
    assert [(t.track_id, len(t.faces), t.start) for t in tracks] == [(0, 1, 0.0), (1, 2, 12 * STEP)]


def test_frames_must_come_in_time_order() -> None:
    tracker = FaceTracker(THRESHOLD)
    tracker.update(frame(3), [])
    with pytest.raises(ValueError, match="time order"):
        tracker.update(frame(2), [])
    assert tracker.finish() == []


def test_quality_prefers_frontal_sharp_confident_faces() -> None:
    frontal = face_at(100, 100, person(1))
    assert frontalness(frontal.detection) == pytest.approx(1.0)
    r_eye, l_eye, nose, r_mouth, l_mouth = frontal.detection.landmarks
    profile = Detection(frontal.box, 0.95, (r_eye, l_eye, (l_eye[0] + 10, nose[1]), r_mouth, l_mouth), "test")
    assert frontalness(profile) == pytest.approx(0.05)
    tilted_landmarks = ((100.0, 100.0), (130.0, 130.0), (118.0, 112.0), (95.0, 130.0), (110.0, 145.0))
    tilted = Detection(frontal.box, 0.95, tilted_landmarks, "test")
    assert frontalness(tilted) == pytest.approx(np.cos(np.pi / 4), abs=0.05)

    rng = np.random.default_rng(0)
    textured = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    smooth = np.full((200, 200, 3), 128, np.uint8)
    smooth[:, 100:] = 140
    box = (40.0, 40.0, 160.0, 160.0)
    assert sharpness(textured, box) > 0.9 > 0.1 > sharpness(smooth, box)
    assert sharpness(textured, (300.0, 300.0, 400.0, 400.0)) == 0.0  # outside the picture
    clear = face_quality(textured, face_at(40, 40, person(1), size=120))
    unsure = face_quality(textured, face_at(40, 40, person(1), size=120, confidence=0.6))
    assert clear > unsure > 0


def test_keyframes_are_the_best_spread_in_time() -> None:
    def tracked(t: float, quality: float) -> TrackedFace:
        return TrackedFace(timestamp=t, frame_index=round(t * 30), face=face_at(0, 0, person(1)), quality=quality)

    faces = [tracked(t, q) for t, q in [(0, 0.5), (1, 0.9), (1.3, 0.88), (1.6, 0.87), (5, 0.6), (9, 0.7), (10, 0.1)]]
    assert [k.timestamp for k in pick_keyframes(faces, 3)] == [1, 9, 5]  # not 1, 1.3, 1.6
    assert [k.timestamp for k in pick_keyframes(faces, 5)] == [1, 1.3, 1.6, 9, 5]  # best first
    assert pick_keyframes(faces[:1], 3) == (faces[0],)


# -- real faces -------------------------------------------------------------------------------------------------


def _embedding_of(models: FaceModels, path: Path) -> np.ndarray:
    faces = models.find_faces(decode_image(path.read_bytes()).rgb)
    assert len(faces) == 1, path
    return faces[0].embedding


@pytest.fixture(scope="module")
def hamilton_tracks(faces_dir: Path, models: FaceModels) -> tuple[list, float]:
    clip = faces_dir / CLIP
    if not clip.is_file():
        pytest.skip(f"{CLIP} not found under {faces_dir}")
    tracker = FaceTracker(models.embedder.default_threshold)
    for sampled in sample_frames(clip, fps=3.0):
        tracker.update(sampled, models.find_faces(sampled.rgb))
    return tracker.finish(), probe(clip).video_start


def test_hamilton_tracks_cover_miranda_on_screen(
    faces_dir: Path, models: FaceModels, labels: dict, hamilton_tracks: tuple[list, float]
) -> None:
    tracks, video_start = hamilton_tracks
    fps = labels["video"][CLIP]["fps"]
    miranda = _embedding_of(models, faces_dir / "face_recognition_ageitgey/examples/lin-manuel-miranda.png")
    # labels.json: frames 0-19 and 82-210 show him, frontal; the timestamps count from the file's start
    spans = [(video_start + a / fps, video_start + b / fps) for a, b in [(0, 19), (82, 210)]]

    his = [t for t in tracks if float(t.mean_embedding @ miranda) >= models.embedder.default_threshold]
    assert his, "no track matches lin-manuel-miranda.png"
    for track in his:
        assert any(a - STEP <= track.start and track.end <= b + STEP for a, b in spans), (track.start, track.end)
    for a, b in spans:
        covered = sum(max(0.0, min(b, t.end + STEP) - max(a, t.start)) for t in his)
        assert covered >= 0.8 * (b - a), f"his tracks cover {covered:.2f} s of {a:.2f}-{b:.2f}"


def test_hamilton_tracks_are_well_formed(hamilton_tracks: tuple[list, float]) -> None:
    tracks, _ = hamilton_tracks
    assert [t.track_id for t in tracks] == list(range(len(tracks)))
    assert [t.start for t in tracks] == sorted(t.start for t in tracks)
    for track in tracks:
        assert track.start == track.faces[0].timestamp and track.end == track.faces[-1].timestamp
        assert 1 <= len(track.keyframes) <= 3
        assert all(track.start <= k.timestamp <= track.end for k in track.keyframes)
        assert [k.quality for k in track.keyframes] == sorted((k.quality for k in track.keyframes), reverse=True)
        assert len({f.timestamp for f in track.faces}) == len(track.faces)  # one face per frame
        assert np.linalg.norm(track.mean_embedding) == pytest.approx(1.0, abs=1e-5)


def _face_crop(models: FaceModels, path: Path, height: int) -> np.ndarray:
    import cv2

    rgb = decode_image(path.read_bytes()).rgb
    x1, y1, x2, y2 = models.find_faces(rgb)[0].box
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, 1.8 * max(x2 - x1, y2 - y1)
    top, left = max(0, int(cy - side / 2)), max(0, int(cx - side / 2))
    crop = rgb[top : int(cy + side / 2), left : int(cx + side / 2)]
    return cv2.resize(crop, (round(crop.shape[1] * height / crop.shape[0]), height), interpolation=cv2.INTER_AREA)


def test_two_photos_moving_across_a_clip_make_exactly_two_tracks(
    tmp_path: Path, faces_dir: Path, models: FaceModels
) -> None:
    examples = faces_dir / "face_recognition_ageitgey/examples"
    obama, biden = _face_crop(models, examples / "obama.jpg", 110), _face_crop(models, examples / "biden.jpg", 110)
    frames = []
    for i in range(40):  # 4 s at 10 fps: Obama walks right along the top, Biden left along the bottom
        canvas = np.full((300, 480, 3), 90, np.uint8)
        x = 10 + 8 * i
        canvas[10 : 10 + obama.shape[0], x : x + obama.shape[1]] = obama
        x = 470 - biden.shape[1] - 8 * i
        canvas[170 : 170 + biden.shape[0], x : x + biden.shape[1]] = biden
        frames.append(canvas)
    clip = encode_video(tmp_path / "two.mp4", frames, rate=10, options={"crf": "18"})

    tracker = FaceTracker(models.embedder.default_threshold)
    for sampled in sample_frames(clip, fps=3.0):
        tracker.update(sampled, models.find_faces(sampled.rgb))
    tracks = tracker.finish()

    assert len(tracks) == 2
    who = {
        "obama": _embedding_of(models, examples / "obama.jpg"),
        "biden": _embedding_of(models, examples / "biden.jpg"),
    }
    names = sorted(max(who, key=lambda n: float(t.mean_embedding @ who[n])) for t in tracks)
    assert names == ["biden", "obama"]
    for track in tracks:
        assert track.start == pytest.approx(0.0, abs=0.01) and track.end >= 3.5
