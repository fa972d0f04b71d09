"""The work itself, as plain functions over plain arguments: the same code runs inline (embedded) or in an RQ worker.

Jobs find their process's stores through `lookingglass.app.current()`. Idempotent by construction: a face point's
id is uuid5(sha256:frame:face_index:model) and storing an object's faces replaces its earlier ones, so a retried,
duplicated or out-of-order job leaves exactly one set of faces, or none for an object that is gone.

Where writes happen (docs/architecture.md): a process with the vector index open writes directly; a worker whose stores
are embedded sends its result to the owner through the `index` queue (`store_faces`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from lookingglass import people
from lookingglass.app import App, current
from lookingglass.errors import BadInput, BudgetExceeded, NotFound, TooLarge, Unavailable
from lookingglass.media.decode import decode_image
from lookingglass.media.sniff import sniff_media
from lookingglass.pipeline.queue import report_progress
from lookingglass.records import Face, FacePoint, MediaObject, Track
from lookingglass.sightings import page_title_of
from lookingglass.stores.text import TextDoc

POINT_NAMESPACE = uuid.UUID("6f1c9a52-2f1e-4d0b-9a57-1c0ffee0face")
VIDEO_MAX_SIDE = 1280  # frames are analysed at most this large; boxes are scaled back to the video's pixels
DERIVED_PREFIXES = ("thumbs/", "transcripts/")  # <prefix><sha256>...: made from an object, removed with it
OWN_PREFIXES = ("media/", "meta/", "refs/", *DERIVED_PREFIXES)  # keys we write; anything else was dropped in


def face_point_id(sha256: str, frame: int, face_index: int, model: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, f"{sha256}:{frame}:{face_index}:{model}"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- storing (owner side helpers, not queued)


def store_bytes(app: App, data: bytes, *, filename: str | None = None, metadata: dict | None = None) -> MediaObject:
    """Put bytes in the object store (deduplicated by content; source URLs are merged)."""
    if len(data) > app.settings.max_upload_bytes:
        raise TooLarge(f"{len(data):,} bytes is over the limit of {app.settings.max_upload_bytes:,}")
    ext, content_type, kind = sniff_media(data, filename)
    return app.objects.put(data, ext=ext, content_type=content_type, kind=kind, metadata=metadata or {})


def submit(app: App, sha256: str, kind: str | None = None):
    """Queue an object's processing on the queue for its kind (a long video never holds up photos); the job id
    makes a second submission while the first waits a no-op."""
    if kind is None:
        try:
            kind = app.objects.get(sha256).kind
        except NotFound:  # already gone (a late notification): the job will find nothing and say so
            kind = "image"
    if kind in ("video", "audio"):
        return app.queue.enqueue("video", process_media, sha256, job_id=f"process_media.{sha256}")
    if kind == "page":
        from lookingglass.pipeline.graph_jobs import submit_page

        return submit_page(app, sha256)
    return app.queue.enqueue("faces", process_object, sha256, job_id=f"process_object.{sha256}")


def submit_forget(app: App, sha256: str):
    return app.queue.enqueue("index", forget_object, sha256, job_id=f"forget_object.{sha256}")


def ingest_file(app: App, path: Path) -> dict:
    """Store a local file (its `file://` URL is the source URL) and process it now, in this process."""
    path = path.resolve()
    obj = store_bytes(app, path.read_bytes(), filename=path.name, metadata={"source_urls": [path.as_uri()]})
    return process(app, obj.sha256)


def over_budget(obj: MediaObject) -> bool:
    """Whether the object's last processing went over its job's budget: reconcile leaves it alone (it would do the
    same again); a re-upload or an explicit `submit` still tries once more."""
    return bool((obj.metadata.get("processing_error") or {}).get("over_budget"))


def is_processed(app: App, obj: MediaObject) -> bool:
    """Whether the object's processing is done: its faces with the current embedder, or a page's entities."""
    processed = obj.metadata.get("processed") or {}
    return ("graph" if obj.kind == "page" else app.models.embedder.name) in processed


# --- jobs


def process_object(sha256: str) -> dict:
    """Job: decode a stored image, find its faces, and (re)index them. An object deleted meanwhile is skipped."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process(app, sha256)


@contextlib.contextmanager
def budget_failure_recorded(app: App, sha256: str):
    """A job over its budget (ours, or RQ's job timeout) leaves the reason on its object, flagged `over_budget`."""
    from rq.timeouts import JobTimeoutException

    try:
        yield
    except BudgetExceeded as exc:
        _record_error(app, sha256, exc)
        raise
    except JobTimeoutException as exc:
        _record_error(app, sha256, BudgetExceeded(f"job went over its time budget ({exc})"))
        raise


def process(app: App, sha256: str) -> dict:
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    if obj.kind in ("video", "audio"):
        return process_media_now(app, sha256)
    if obj.kind == "page":
        from lookingglass.pipeline.graph_jobs import process_page_now

        return process_page_now(app, sha256)
    if obj.kind != "image":
        raise BadInput(f"{obj.kind} objects have no faces to find: {sha256}")
    try:
        data = app.objects.read(sha256)
        image = decode_image(data, max_pixels=app.settings.max_image_pixels)
    except NotFound:
        return {"sha256": sha256, "skipped": "object is no longer stored"}
    except BadInput as exc:
        _record_error(app, sha256, exc)
        raise
    faces = app.models.find_faces(image.rgb)
    model = app.models.embedder.name
    points = [
        {
            "id": face_point_id(sha256, 0, i, model),
            "vector": [float(v) for v in face.embedding],
            "payload": _face_payload(obj, face, i, model, image.width, image.height),
        }
        for i, face in enumerate(faces)
    ]
    return _hand_over(app, sha256, model, points, None, {})


def _hand_over(app: App, sha256: str, model: str, points: list[dict], segments: list[dict] | None, facts: dict):
    """Write the results here when this process may, else send them to the owner through the `index` queue."""
    if app.writes_directly:
        return store(app, sha256, model, points, segments, facts)
    app.queue.enqueue(
        "index", store_faces, sha256, model, points, segments, facts, job_id=f"store_faces.{sha256}.{model}"
    )
    return {"sha256": sha256, "faces": len(points), "stored_by": "owner via index queue"}


def _record_error(app: App, sha256: str, exc: BadInput) -> None:
    """Bad bytes are a fact about the object: keep the reason on it (and the queue's failure registry has it too)."""
    error = {"message": exc.message, "at": _now()}
    if isinstance(exc, BudgetExceeded):
        error["over_budget"] = True
    with contextlib.suppress(NotFound, Unavailable):
        app.objects.annotate(sha256, {"processing_error": error})


def store_faces(
    sha256: str, model: str, points: list[dict], segments: list[dict] | None = None, facts: dict | None = None
) -> dict:
    """Job: replace an object's faces (and transcript segments) in the indexes, where they are writable."""
    return store(current(), sha256, model, points, segments, facts)


def _without_opted_out(app: App, points: list[dict]) -> tuple[list[dict], int]:
    """Faces that match someone on the opt-out list are never indexed, whichever path brought them."""
    if not points or app.optout is None or app.optout.count() == 0:
        return points, 0
    kept = [
        p
        for p in points
        if not app.optout.search(np.asarray(p["vector"], np.float32), top_k=1, threshold=app.match_threshold)
    ]
    return kept, len(points) - len(kept)


def store(
    app: App, sha256: str, model: str, points: list[dict], segments: list[dict] | None = None, facts: dict | None = None
) -> dict:
    if app.faces is None:  # retryable: the owner may simply not be consuming yet
        raise Unavailable("store_faces must run where the vector index is open (the owner or a server-backed worker)")
    app.faces.delete_where("sha256", sha256)
    if not app.objects.exists(sha256):  # removed while it was being processed: leave nothing behind
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    points, opted_out = _without_opted_out(app, points)
    if opted_out:
        facts = {**(facts or {}), "opted_out": opted_out}
    if points:
        app.faces.upsert(
            [FacePoint(id=p["id"], vector=np.asarray(p["vector"], np.float32), payload=p["payload"]) for p in points]
        )
    if segments is not None and app.text is not None:
        app.text.delete_where("sha256", sha256)
        app.text.upsert([TextDoc(id=d["id"], text=d["text"], payload=d["payload"]) for d in segments])
    try:
        processed = {model: {"faces": len(points), "at": _now(), **(facts or {})}}
        app.objects.annotate(sha256, {"processed": processed, "processing_error": None})
    except NotFound:  # removed between the check and now: undo
        app.faces.delete_where("sha256", sha256)
        return {"sha256": sha256, "faces": 0, "skipped": "object is no longer stored"}
    people.assign(app, sha256, points)
    return {"sha256": sha256, "faces": len(points), **({"opted_out": opted_out} if opted_out else {})}


def forget_object(sha256: str) -> dict:
    """Job: remove an object and everything derived from it: faces, thumbnails, transcript, text passages, and the
    graph's mentions and evidence from it (entities and relations left without any are removed too)."""
    return forget(current(), sha256)


def forget(app: App, sha256: str) -> dict:
    if app.faces is None:
        raise Unavailable("forget_object must run where the vector index is open")
    removed = app.faces.delete_where("sha256", sha256)
    people.forget_object(app, sha256)
    segments = app.text.delete_where("sha256", sha256) if app.text is not None else 0
    graph = app.graph.forget(sha256) if app.graph is not None else {}
    for prefix in DERIVED_PREFIXES:  # thumbs/<sha>/..., transcripts/<sha>.json
        app.objects.delete_prefix(f"{prefix}{sha256}")
    deleted = app.objects.delete(sha256)
    return {
        "sha256": sha256,
        "deleted": deleted,
        "faces_removed": removed,
        "segments_removed": segments,
        "mentions_removed": graph.get("mentions", 0),
    }


def _key_ref(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()


def ingest_key(key: str) -> dict:
    """A file someone dropped into the bucket (not under media/): store it content-addressed and process it."""
    app = current()
    try:
        data = app.objects.read_key(key)
    except NotFound:
        return {"key": key, "skipped": "key is no longer in the store"}
    obj = store_bytes(app, data, filename=key.rsplit("/", 1)[-1], metadata={"source_urls": [store_url(app, key)]})
    app.objects.write_ref(_key_ref(key), {"key": key, "sha256": obj.sha256})
    if is_processed(app, obj):
        return {"key": key, "sha256": obj.sha256, "skipped": "already processed"}
    return {"key": key, **process(app, obj.sha256)}


def forget_key(key: str) -> dict:
    """A dropped-in file was removed: forget the object it became, unless another key still holds the same bytes."""
    app = current()
    ref = app.objects.read_ref(_key_ref(key))
    if ref is None:
        return {"key": key, "skipped": "nothing was made from this key"}
    sha256 = ref["sha256"]
    app.objects.delete_ref(_key_ref(key))
    url = store_url(app, key)
    try:
        obj = app.objects.get(sha256)
    except NotFound:
        return {"key": key, "sha256": sha256, "faces_removed": 0}
    others = [u for u in obj.metadata.get("source_urls", []) if u != url and u.startswith(store_url(app, ""))]
    if others:
        app.objects.annotate(sha256, {"source_urls": [u for u in obj.metadata["source_urls"] if u != url]})
        return {"key": key, "sha256": sha256, "kept": "other keys hold the same bytes"}
    return {"key": key, **forget(app, sha256)}


def store_url(app: App, key: str) -> str:
    """How a raw key in the store is named in source_urls: s3://bucket/key, or a file:// URL for a local store."""
    if app.settings.distributed_objects:
        return f"s3://{app.settings.s3_bucket}/{key}"
    return (app.settings.data_dir / "objects" / key).resolve().as_uri() if key else ""


def reconcile() -> dict:
    """List the store and queue whatever is not processed yet, so a missed notification is never permanent loss.
    Objects whose processing went over budget are not queued again: that would only repeat the failure."""
    app = current()
    queued_objects = queued_keys = 0
    for obj in app.objects.list():
        if obj.kind in ("image", "video", "audio", "page") and not is_processed(app, obj) and not over_budget(obj):
            submit(app, obj.sha256, obj.kind)
            queued_objects += 1
    for key in app.objects.iter_keys():
        if key.startswith(OWN_PREFIXES) or app.objects.read_ref(_key_ref(key)) is not None:
            continue
        app.queue.enqueue("faces", ingest_key, key, job_id=f"ingest_key.{_key_ref(key)}")
        queued_keys += 1
    return {"queued_objects": queued_objects, "queued_keys": queued_keys, "at": _now()}


def process_media(sha256: str) -> dict:
    """Job (video queue): faces tracked over time in a video, and what was said in it (video or audio)."""
    app = current()
    with budget_failure_recorded(app, sha256):
        return process_media_now(app, sha256)


def process_media_now(app: App, sha256: str) -> dict:
    from lookingglass.media.tracking import FaceTracker
    from lookingglass.media.video import frames_at, probe, sample_frames

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
                _store_thumbnails(app, obj, tracks, path, frames_at, scale)
                speech = info.has_audio
            else:
                speech = True
            segments = _transcribe(app, obj, path, facts) if speech else []
        except BadInput as exc:
            _record_error(app, sha256, exc)
            raise
    result = _hand_over(app, sha256, model, points, segments, facts)
    if segments:  # what was said feeds the entity graph too (pages queue: where spaCy is loaded)
        from lookingglass.pipeline.graph_jobs import submit_transcript

        submit_transcript(app, sha256)
    return result


@contextlib.contextmanager
def _local_file(app: App, obj: MediaObject):
    """A path PyAV can open: the stored file itself when the store is a local directory, else a temporary copy."""
    local = getattr(app.objects, "path", None)
    if local is not None:
        yield str(local(obj.sha256))
        return
    with tempfile.NamedTemporaryFile(suffix="." + obj.key.rsplit(".", 1)[-1]) as handle:
        handle.write(app.objects.read(obj.sha256))
        handle.flush()
        yield handle.name


def _track_points(obj: MediaObject, tracks: list[Track], model: str, scale: float) -> list[dict]:
    """One point per track keyframe (a few per track, not one per frame), boxes in the video's display pixels."""
    points = []
    for track in tracks:
        for kf in track.keyframes:
            det = kf.face.detection
            payload = _face_payload(obj, kf.face, track.track_id, model, 0, 0)
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


def _store_thumbnails(app: App, obj: MediaObject, tracks: list[Track], path: str, frames_at, scale: float) -> None:
    """A small JPEG of each keyframe's face, so results show the moment without decoding the video again.

    Several faces often share one frame (two people on screen): the frame is decoded once and every face in it
    gets its own thumbnail, named like the face point's `thumbnail` payload (track id and frame index).
    """
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


def _face_payload(obj: MediaObject, face: Face, index: int, model: str, width: int, height: int) -> dict:
    source_url = obj.source_url
    page_urls = obj.metadata.get("page_urls") or []
    det = face.detection
    return {
        "sha256": obj.sha256,
        "key": obj.key,
        "kind": obj.kind,
        "source_url": source_url,
        "source_urls": obj.metadata.get("source_urls") or [],
        "page_url": page_urls[0] if page_urls else None,
        "page_title": page_title_of(obj.metadata, page_urls[0]) if page_urls else None,
        "page_urls": page_urls,  # every page it was seen on when processed: "faces on this page" (entity pages)
        "source_host": (urlsplit(source_url).hostname or "") if source_url else "",
        "box": [round(v, 2) for v in det.box],
        "landmarks": [[round(x, 2), round(y, 2)] for x, y in det.landmarks],
        "det_score": round(det.confidence, 4),
        "detector": det.detector,
        "face_index": index,
        "frame": 0,
        "timestamp": None,
        "track_id": None,
        "model": model,
        "width": width,
        "height": height,
        "indexed_at": _now(),
    }
