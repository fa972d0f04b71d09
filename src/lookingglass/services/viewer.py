"""The evidence viewer: everything the in-app viewer (`/view/<sha256>`) shows about one stored object, in one read.

An image comes with its indexed faces (boxes, persons), a video with its face tracks (when each person is on
screen: the track spans stored with its keyframes' payloads), a page with its extracted main text, its title, where
and when it was crawled, and the entities the graph read in it (with the words the page used for them, so the text
can link them). The bytes themselves stay at `/objects/<sha256>/content` (with HTTP Range, so a video can seek).

`view_url` is the one place that spells the viewer's URL: the lookup answer gives it to every match.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from pydantic import Field

from lookingglass.app import App
from lookingglass.errors import NotFound
from lookingglass.services import Caller, Record, operation

MAX_FACES = 2000  # an object's faces read for the viewer (a 2-hour video has a few keyframes per track)
MAX_ENTITIES = 500


def view_url(sha256: str, kind: str, face_id: str | None = None, timestamp: float | None = None) -> str:
    """The viewer's relative URL for an object, at a face (`face=`) and, in a video, at a moment (`t=` seconds)."""
    params: dict[str, str] = {}
    if face_id:
        params["face"] = face_id
    if kind == "video" and timestamp is not None:
        params["t"] = f"{max(0.0, float(timestamp)):.1f}"
    path = f"/view/{quote(sha256, safe='')}"
    return f"{path}?{urlencode(params)}" if params else path


class ViewPerson(Record):
    id: str
    name: str | None


class ViewFace(Record):
    """An indexed face of the object: in a video, one keyframe of a track."""

    face_id: str
    box: list[float] = Field(min_length=4, max_length=4, description="pixels of the image or video frame")
    person: ViewPerson | None
    track_id: int | None = None
    timestamp: float | None = Field(None, description="video: seconds into it")


class ViewTrack(Record):
    """A face track of a video: when one face is on screen."""

    track_id: int
    start: float
    end: float
    person: ViewPerson | None
    face_ids: list[str] = Field(description="its indexed keyframes")


class ViewEntity(Record):
    id: str
    name: str
    type: str
    mentions: int
    surfaces: list[str] = Field(description="the words the document used for it")


class ObjectView(Record):
    sha256: str
    kind: str = Field(description="image | video | audio | page")
    content_type: str
    size: int
    content_url: str = Field(description="the stored bytes (HTTP Range supported)")
    title: str | None = Field(description="a page's title; else the page it was seen on, or the file's name")
    source_url: str | None = Field(description="where the object came from (file:// for local files: never a link)")
    page_url: str | None = Field(description="the page it was seen on")
    page_title: str | None
    crawled_at: str | None = Field(description="when a crawl (or a sighting) last fetched it (ISO 8601)")
    first_seen: str | None = Field(description="when it was first stored")
    faces: list[ViewFace]
    tracks: list[ViewTrack] = Field(description="video: when each face is on screen, in order of appearance")
    duration: float | None = Field(description="video or audio: seconds")
    transcript: bool = Field(description="a transcript is stored (GET /objects/{sha256}/transcript)")
    text: str | None = Field(description="a page's extracted main text (paragraphs separated by newlines)")
    language: str | None
    entities: list[ViewEntity] = Field(description="entities the graph read in this page or transcript")
    processing_error: str | None


@operation
def view_object(app: App, caller: Caller, *, sha256: str) -> ObjectView:
    """Everything the evidence viewer shows about one stored object."""
    from lookingglass import people

    obj = app.objects.get(sha256)
    meta = obj.metadata
    sighting = next((s for s in meta.get("sightings") or [] if s.get("page_url")), {})
    points = app.faces.scroll({"sha256": obj.sha256}, limit=MAX_FACES) if app.faces is not None else []
    names = people.person_names(app, [p.payload["person_id"] for p in points if p.payload.get("person_id")])

    def person(payload: dict) -> ViewPerson | None:
        pid = payload.get("person_id")
        return ViewPerson(id=pid, name=names[pid]) if pid and pid in names else None

    faces = sorted(
        (
            ViewFace(
                face_id=p.id,
                box=[round(v, 2) for v in p.payload["box"]],
                person=person(p.payload),
                track_id=p.payload.get("track_id"),
                timestamp=p.payload.get("timestamp"),
            )
            for p in points
        ),
        key=lambda f: (f.timestamp or 0.0, f.box[0]),
    )
    tracks: dict[int, ViewTrack] = {}
    for p in points:
        track = p.payload.get("track_id")
        if track is None or p.payload.get("start") is None:
            continue
        if track not in tracks:
            tracks[track] = ViewTrack(
                track_id=track, start=p.payload["start"], end=p.payload["end"], person=person(p.payload), face_ids=[]
            )
        tracks[track].face_ids.append(p.id)
    text = title = language = None
    if obj.kind == "page":
        from lookingglass.text.html import page_text

        url = obj.source_url
        page = page_text(app.objects.read(obj.sha256), url if url and url.startswith("http") else None)
        text, title, language = page.text, page.title or None, page.language
    entities = []
    if app.graph is not None and obj.kind in ("page", "video", "audio"):
        entities = [ViewEntity(**e) for e in app.graph.entities_in(obj.sha256, limit=MAX_ENTITIES)]
    processed = meta.get("processed") or {}
    duration = next((v.get("duration") for v in processed.values() if isinstance(v, dict) and v.get("duration")), None)
    error = meta.get("processing_error") or {}
    return ObjectView(
        sha256=obj.sha256,
        kind=obj.kind,
        content_type=obj.content_type,
        size=obj.size,
        content_url=f"/objects/{obj.sha256}/content",
        title=title or sighting.get("page_title") or _file_name(obj.source_url),
        source_url=obj.source_url,
        page_url=sighting.get("page_url"),
        page_title=sighting.get("page_title"),
        crawled_at=meta.get("crawled_at"),
        first_seen=meta.get("first_seen"),
        faces=faces,
        tracks=sorted(tracks.values(), key=lambda t: (t.start, t.track_id)),
        duration=duration,
        transcript=obj.kind in ("video", "audio") and _has_transcript(app, obj.sha256),
        text=text,
        language=language,
        entities=entities,
        processing_error=error.get("message") if isinstance(error, dict) else str(error) or None,
    )


def _file_name(url: str | None) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] or None if url else None


def _has_transcript(app: App, sha256: str) -> bool:
    try:
        app.objects.read_key(f"transcripts/{sha256}.json")
    except NotFound:
        return False
    return True
