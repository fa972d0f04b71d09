"""Faces and objects: lookup, upload, an object's record, outcome, bytes, transcript and sightings, thumbnails,
forgetting. Each route parses into its service's model and answers the service's record."""

from __future__ import annotations

from flask import send_file
from flask_openapi3 import APIBlueprint, FileStorage, Tag
from pydantic import Field

from lookingglass.services import Record
from lookingglass.services.lookup import LookupRequest, LookupResult, lookup_faces
from lookingglass.services.objects import (
    Forgotten,
    ObjectOutcome,
    ObjectRecord,
    OutcomeQuery,
    SightingsAdded,
    SightingsRequest,
    StoreRequest,
    StoreResult,
    Transcript,
    Upload,
    add_sightings,
    describe_object,
    face_thumbnail,
    forget_object,
    object_content,
    object_outcome,
    object_transcript,
    store_objects,
)
from lookingglass.web.routes import answer, caller, the_app

faces = APIBlueprint("faces", __name__, abp_tags=[Tag(name="faces")])
objects = APIBlueprint("objects", __name__, abp_tags=[Tag(name="objects")])

BINARY = {"schema": {"type": "string", "format": "binary"}}
PRIVATE_CACHE = "private, max-age=3600"


class LookupForm(LookupRequest):
    image: FileStorage = Field(description="the photo")


class StoreForm(StoreRequest):
    file: list[FileStorage] = Field(min_length=1, description="the files (repeatable)")


class ObjectPath(Record):
    sha256: str = Field(max_length=200, description="the object's sha256 (64 hex characters)")


class FacePath(Record):
    face_id: str = Field(max_length=200)


def _request(form: Record, model: type[Record]) -> Record:
    """The service's request: the form without its uploads."""
    return model.model_validate(form.model_dump(include=set(model.model_fields)))


@faces.post("/lookup", operation_id="lookup_faces", responses={200: LookupResult})
def lookup_route(form: LookupForm):
    """Find where the faces in a photo appear (audited; rate limited per user)."""
    return answer(lookup_faces(the_app(), caller(), _request(form, LookupRequest), image=form.image.read()))


NOTHING_STORED = {
    "description": "bad input, or no file could be stored (each file's error in `objects`)",
    "content": {
        "application/json": {
            "schema": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/StoreResult"}]}
        }
    },
}


@objects.post(
    "/objects", operation_id="store_objects", responses={201: StoreResult, 202: StoreResult, 400: NOTHING_STORED}
)
def store_route(form: StoreForm):
    """Store files and queue their processing; sighting fields say where they were seen (201 processed, 202 queued,
    400 with each file's error when none could be stored)."""
    uploads = [Upload(upload.filename, upload.read()) for upload in form.file]
    result = store_objects(the_app(), caller(), _request(form, StoreRequest), file=uploads)
    return answer(result, result.http_status)


@objects.get("/objects/<sha256>", operation_id="describe_object", responses={200: ObjectRecord})
def describe_route(path: ObjectPath):
    """An object's record."""
    return answer(describe_object(the_app(), caller(), sha256=path.sha256))


@objects.get("/objects/<sha256>/outcome", operation_id="object_outcome", responses={200: ObjectOutcome})
def outcome_route(path: ObjectPath, query: OutcomeQuery):
    """Where the object's processing stands: done (faces, entities), failed (error), pending or gone."""
    return answer(object_outcome(the_app(), caller(), query, sha256=path.sha256))


@objects.get(
    "/objects/<sha256>/content",
    operation_id="object_content",
    responses={
        200: {"description": "the stored file", "content": {"application/octet-stream": BINARY}},
        206: {"description": "the part asked for with Range", "content": {"application/octet-stream": BINARY}},
        304: {"description": "not modified (If-None-Match: the sha256)"},
        416: {
            "description": "a Range outside the file",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
)
def content_route(path: ObjectPath):
    """The stored bytes, in part with Range (a crawled page as sandboxed plain text: it must never run as our
    origin)."""
    content = object_content(the_app(), caller(), sha256=path.sha256)
    page = content.kind == "page"
    mimetype = "text/plain; charset=utf-8" if page else content.content_type
    with content.local_file() as file:  # send_file opens it now, so a temporary copy may go once this ends
        # conditional: HTTP Range (206) so a player can seek, and the sha256 as the ETag (If-None-Match: 304)
        response = send_file(file, mimetype=mimetype, conditional=True, etag=content.sha256, max_age=3600)
    response.headers["Cache-Control"] = PRIVATE_CACHE
    if page:
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


@objects.get("/objects/<sha256>/transcript", operation_id="object_transcript", responses={200: Transcript})
def transcript_route(path: ObjectPath):
    """A video's or audio file's transcript: language and timed segments."""
    return answer(object_transcript(the_app(), caller(), sha256=path.sha256))


@objects.post("/objects/<sha256>/sightings", operation_id="add_sightings", responses={200: SightingsAdded})
def sightings_route(path: ObjectPath, body: SightingsRequest):
    """Record more places an object was seen."""
    return answer(add_sightings(the_app(), caller(), body, sha256=path.sha256))


@faces.get(
    "/faces/<face_id>/thumbnail",
    operation_id="face_thumbnail",
    responses={200: {"description": "JPEG", "content": {"image/jpeg": BINARY}}},
)
def thumbnail_route(path: FacePath):
    """The JPEG kept for a video keyframe."""
    jpeg = face_thumbnail(the_app(), caller(), face_id=path.face_id)
    return jpeg, 200, {"Content-Type": "image/jpeg", "Cache-Control": PRIVATE_CACHE}


@objects.delete("/objects/<sha256>", operation_id="forget_object", responses={200: Forgotten})
def forget_route(path: ObjectPath):
    """Forget an object and everything derived from it (admin; audited)."""
    return answer(forget_object(the_app(), caller(), sha256=path.sha256))
