"""Video and audio: faces tracked over time (a point per track keyframe, with a thumbnail), and what was said.

An audio file is a video without pictures: only its speech is transcribed. Frames are analysed at most
VIDEO_MAX_SIDE pixels large and boxes are scaled back to the video's display pixels. Long work reports its progress
(faces first, then speech) so `GET /queue/stats` can show how far a 2-hour video is.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np

from lookingglass.app import App, current
from lookingglass.errors import BadInput, NotFound
from lookingglass.pipeline.failures import budget_failure_recorded, record_error
from lookingglass.pipeline.images import face_payload, face_point_id
from lookingglass.pipeline.index import hand_over
from lookingglass.pipeline.queue import report_progress
from lookingglass.records import MediaObject, Track
from lookingglass.stores.text import TextDoc

VIDEO_MAX_SIDE = 1280  # frames are analysed at most this large; boxes are scaled back to the video's pixels


def process_video(sha256: str) -> dict:
    """Job (video queue): faces tracked over time in a video, and what was said in it (video or audio)."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process_video_now(app, sha256)


def process_video_now(app: App, sha256: str) -> dict:
    from lookingglass.media.tracking import FaceTracker
    from lookingglass.media.video import probe, sample_frames

    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    model = app.models.embedder.name
    points: list[dict] = []
    facts: dict = {"warnings": []}
    with _local_file(app, obj) as path:
        try:
            if obj.kind == "video":
                info = probe(path)
                facts.update(duration=info.duration, has_audio=info.has_audio, rotation=info.rotation)
                sampler = sample_frames(
                    path,
                    fps=app.settings.video_fps,
                    max_side=VIDEO_MAX_SIDE,
                    progress=lambda f: report_progress(f * (0.6 if info.has_audio else 1.0), "faces"),
                )
                tracker = FaceTracker(app.models.embedder.default_threshold)
                for frame in sampler:
                    tracker.update(frame, app.models.find_faces(frame.rgb))
                facts["warnings"] += list(sampler.warnings)
                tracks = tracker.finish()
                longest = max(info.width, info.height, 1)
                scale = longest / min(longest, VIDEO_MAX_SIDE)  # frames were shrunk to VIDEO_MAX_SIDE
                points = _track_points(obj, tracks, model, scale)
                facts["tracks"] = len(tracks)
                _store_thumbnails(app, obj, tracks, path)
                speech = info.has_audio
            else:
                speech = True
            segments = _transcribe(app, obj, path, facts) if speech else []
        except BadInput as exc:
            record_error(app, sha256, exc)
            raise
    result = hand_over(app, sha256, model, points, segments, facts)
    if segments:  # what was said feeds the entity graph too (pages queue: where spaCy is loaded)
        from lookingglass.pipeline.graph import submit_transcript

        submit_transcript(app, sha256)
    return result


@contextlib.contextmanager
def _local_file(app: App, obj: MediaObject):
    """A path PyAV can open: the stored file itself when the store is a local directory, else a temporary copy."""
    with app.objects.local_file(obj.sha256) as path:
        yield str(path)


def _track_points(obj: MediaObject, tracks: list[Track], model: str, scale: float) -> list[dict]:
    """One point per track keyframe (a few per track, not one per frame), boxes in the video's display pixels."""
    points = []
    for track in tracks:
        for kf in track.keyframes:
            det = kf.face.detection
            payload = face_payload(obj, kf.face, track.track_id, model, 0, 0)
            payload.update(
                box=[round(v * scale, 2) for v in det.box],
                landmarks=[[round(x * scale, 2), round(y * scale, 2)] for x, y in det.landmarks],
                frame=kf.frame_index,
                timestamp=round(kf.timestamp, 3),
                track_id=track.track_id,
                start=round(track.start, 3),
                end=round(track.end, 3),
                quality=round(kf.quality, 4),
                thumbnail=f"thumbs/{obj.sha256}/{track.track_id}-{kf.frame_index}.jpg",
            )
            points.append(
                {
                    "id": face_point_id(obj.sha256, kf.frame_index, track.track_id, model),
                    "vector": [float(v) for v in kf.face.embedding],
                    "payload": payload,
                }
            )
    return points


def _store_thumbnails(app: App, obj: MediaObject, tracks: list[Track], path: str) -> None:
    """A small JPEG of each keyframe's face, so results show the moment without decoding the video again.

    Several faces often share one frame (two people on screen): the frame is decoded once and every face in it
    gets its own thumbnail, named like the face point's `thumbnail` payload (track id and frame index). Frames are
    decoded at the size they were analysed at, so the tracked boxes crop them as they are.
    """
    from lookingglass.media.video import frames_at

    wanted: dict[float, list[tuple[int, object]]] = {}
    for track in tracks:
        for kf in track.keyframes:
            wanted.setdefault(kf.timestamp, []).append((track.track_id, kf))
    if not wanted:
        return
    app.objects.delete_prefix(f"thumbs/{obj.sha256}/")
    for timestamp, frame in frames_at(path, list(wanted), max_side=VIDEO_MAX_SIDE).items():
        for track_id, kf in wanted[timestamp]:
            jpeg = _face_thumbnail(frame.rgb, kf.face.box)
            if jpeg is not None:
                app.objects.write_key(f"thumbs/{obj.sha256}/{track_id}-{kf.frame_index}.jpg", jpeg, "image/jpeg")


def _face_thumbnail(rgb: np.ndarray, box) -> bytes | None:
    """The face with a margin around it, at most 160 px, as JPEG bytes; None for a box outside the frame."""
    from PIL import Image

    x1, y1, x2, y2 = box
    pad = 0.35 * max(x2 - x1, y2 - y1)
    h, w = rgb.shape[:2]
    crop = rgb[max(0, int(y1 - pad)) : min(h, int(y2 + pad)), max(0, int(x1 - pad)) : min(w, int(x2 + pad))]
    if crop.size == 0:
        return None
    image = Image.fromarray(crop)
    image.thumbnail((160, 160))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _transcribe(app: App, obj: MediaObject, path: str, facts: dict) -> list[dict]:
    """Speech to text; the transcript JSON is kept beside the media, its segments go to the text index."""
    base = 0.6 if obj.kind == "video" else 0.0  # video: faces took the first 60 %
    transcript = app.transcriber.transcribe(path, progress=lambda f: report_progress(base + f * (1 - base), "speech"))
    doc = {
        "sha256": obj.sha256,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "duration": transcript.duration,
        "model": app.transcriber.name,
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in transcript.segments],
    }
    app.objects.write_key(f"transcripts/{obj.sha256}.json", json.dumps(doc).encode(), "application/json")
    facts.update(language=transcript.language, segments=len(transcript.segments))
    return [
        {
            "id": d.id,
            "text": d.text,
            "payload": d.payload,
        }
        for d in (
            TextDoc.make(
                obj.sha256, i, seg.text, kind="transcript", source_url=obj.source_url, start=seg.start, end=seg.end
            )
            for i, seg in enumerate(transcript.segments)
            if seg.text.strip()
        )
    ]
