"""Lookup: a photo in, every face in it with the indexed faces that match, best first (audited: the photo's sha256
and how many matches it found, never the photo)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field

from lookingglass.app import App
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.services.matching import annotate, lookup_image, lookup_json


class LookupRequest(Record):
    top_k: int | None = Field(None, ge=1, le=1000, description="matches per face (default: LG_TOP_K)")
    threshold: float | None = Field(None, ge=-1.0, le=1.0, description="least cosine similarity (default: the model's)")
    annotate: bool = Field(False, description="also answer the photo with every face boxed, as a base64 PNG")
    group: Literal["track", "person"] = Field(
        "track", description="one match per video track, or `person`: also one match per person (its best)"
    )


class LookupPerson(Record):
    """The person a matching face belongs to (faces grouped into persons, `/people`)."""

    id: str
    name: str | None


class LookupMatch(Record):
    """An indexed face that matches: where it was seen, and for a video, when."""

    score: float
    sha256: str
    source_url: str | None
    page_url: str | None
    page_title: str | None
    indexed_at: str | None
    box: list[float] = Field(min_length=4, max_length=4)
    kind: str
    timestamp: float | None = Field(description="video: seconds into it (this keyframe)")
    track_id: int | None = Field(description="video: the face track the match stands for")
    start: float | None
    end: float | None
    grouped: int = Field(
        description="matches this one stands for: keyframes of its track, with group=person every match of its person"
    )
    face_id: str | None
    person: LookupPerson | None = Field(description="whose face this is, once faces are grouped into persons")
    view_url: str = Field(
        description="the in-app viewer of this evidence (relative URL): the face boxed, a video at this moment"
    )


class LookupFace(Record):
    box: list[float] = Field(min_length=4, max_length=4)
    confidence: float
    landmarks: list[list[float]]
    detector: str
    matches: list[LookupMatch]


class LookupResult(Record):
    faces: list[LookupFace]
    threshold: float
    top_k: int
    annotated_png: str | None = Field(None, description="with annotate: the photo with the faces boxed (base64 PNG)")

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        if self.annotated_png is None and kwargs.get("exclude") is None:
            kwargs["exclude"] = {"annotated_png"}  # absent unless asked for, as it always was
        return super().model_dump(**kwargs)


@operation
def lookup_faces(app: App, caller: Caller, request: LookupRequest, image: bytes) -> LookupResult:
    """Find where the faces in a photo appear."""
    top_k = app.settings.top_k if request.top_k is None else request.top_k
    threshold = app.match_threshold if request.threshold is None else request.threshold
    results = lookup_image(app, image, top_k=top_k, threshold=threshold, group=request.group)
    body = lookup_json(results, threshold, top_k)
    if request.annotate:
        body["annotated_png"] = annotate(image, results, app.settings.max_image_pixels)
    result = LookupResult.model_validate(body)
    matches = sum(len(face.matches) for face in result.faces)
    audit(app, caller, "lookup", query_sha256=hashlib.sha256(image).hexdigest(), results=matches)
    return result
