"""Erasing a person (admin): preview what a face photo would remove, remove exactly that (optionally keeping the face
out of every later ingest), and list or withdraw the opt-outs.

The matching and the opt-out list are erasure.py's; here they are declared once for the web and the CLI, and
audited the same way on both: the photo by its SHA-256 (never stored), the removal by its count and opt-out id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import Field, field_validator, model_validator

from lookingglass.app import App
from lookingglass.people import erasure
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.services.lookup import LookupMatch

MAX_NOTE = 1000  # characters: a request number and a sentence, not a file
MAX_CONFIRMED = 10 * erasure.MAX_FACES  # ids in one erasure: more than a preview can show for one face


class Blankless(Record):
    """A form or query string whose empty fields mean "not given" (an HTML form sends every field)."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, values: Any) -> Any:
        return {k: v for k, v in values.items() if v != ""} if isinstance(values, dict) else values


class PersonPreviewRequest(Blankless):
    threshold: float | None = Field(
        None, ge=-1.0, le=1.0, description="cosine similarity (default: the embedder's match threshold)"
    )


class ForgetPersonRequest(Blankless):
    face_ids: list[str] = Field(
        default_factory=list,
        max_length=MAX_CONFIRMED,
        description="the faces the preview showed and you confirm (repeated, or comma-separated)",
    )
    face_index: int | None = Field(None, ge=0, le=erasure.MAX_FACES, description="which face of the photo (0-based)")
    threshold: float | None = Field(None, ge=-1.0, le=1.0)
    opt_out: bool = Field(False, description="never index this face again (checked at every ingest)")
    note: str | None = Field(None, max_length=MAX_NOTE, description="why, for the opt-out list")

    @field_validator("face_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        return [part.strip() for raw in values for part in str(raw).split(",") if part.strip()]

    @field_validator("note", mode="before")
    @classmethod
    def _as_written(cls, value: Any) -> Any:
        """A form field reads as JSON when it parses ("17", "true"): a note is text whatever it says."""
        return value if value is None or isinstance(value, str) else json.dumps(value)

    @model_validator(mode="after")
    def _something_to_do(self) -> ForgetPersonRequest:
        if not self.face_ids and not self.opt_out:
            raise ValueError("face_ids is required: the faces the preview showed and you confirm")
        return self


class PersonFace(Record):
    index: int = Field(description="this face's face_index in the photo")
    box: list[float]
    matches: list[LookupMatch]  # lookup's matches: where each was seen, and the face id to confirm


class PersonPreview(Record):
    faces: list[PersonFace]
    threshold: float


class PersonErased(Record):
    removed: int
    not_matching: list[str] = Field(description="confirmed ids that no longer match the face: left alone")
    threshold: float
    opted_out: bool
    optout_id: str | None = Field(None, description="with opt_out: the opt-out's id (to withdraw it)")


class OptOutsQuery(Blankless):
    limit: int = Field(erasure.MAX_FACES, ge=1, le=10_000)


class OptOut(Record):
    id: str
    added_at: str | None
    note: str


class OptOutList(Record):
    opt_outs: list[OptOut] = Field(description="newest first: when and why, never the face itself")
    count: int


class OptOutWithdrawn(Record):
    id: str
    withdrawn: bool


def _photo_sha256(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


@operation
def forget_person_preview(app: App, caller: Caller, request: PersonPreviewRequest, image: bytes) -> PersonPreview:
    """Every indexed face of the person in the photo, at or above the threshold: what `forget_person` would remove.
    Nothing is changed."""
    found = PersonPreview.model_validate(erasure.find_person(app, image, threshold=request.threshold))
    audit(
        app,
        caller,
        "forget_person_preview",
        query_sha256=_photo_sha256(image),
        results=sum(len(face.matches) for face in found.faces),
    )
    return found


@operation
def forget_person(app: App, caller: Caller, request: ForgetPersonRequest, image: bytes) -> PersonErased:
    """Remove the confirmed faces that still match the chosen face of the photo, their thumbnails, and with
    `opt_out` keep the face from being indexed again."""
    result = PersonErased.model_validate(
        erasure.erase_person(
            app,
            image,
            request.face_ids,
            face_index=request.face_index,
            threshold=request.threshold,
            opt_out=request.opt_out,
            note=request.note,
        )
    )
    audit(
        app,
        caller,
        "forget_person",
        query_sha256=_photo_sha256(image),
        results=result.removed,
        target=result.optout_id,
    )
    return result


@operation
def list_opt_outs(app: App, caller: Caller, query: OptOutsQuery) -> OptOutList:
    """The opt-out list: when each face was added and the note given, never the face itself."""
    return OptOutList.model_validate(erasure.list_opt_outs(app, query.limit))


@operation
def withdraw_opt_out(app: App, caller: Caller, optout_id: str) -> OptOutWithdrawn:
    """Withdraw an opt-out (one made by mistake): the face may be indexed again from the next ingest on."""
    result = OptOutWithdrawn.model_validate(erasure.withdraw_opt_out(app, optout_id))
    audit(app, caller, "optout_withdrawn", target=optout_id)
    return result
