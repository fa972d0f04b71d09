"""Erasing a person (admin): preview what a face photo would remove, remove it (and opt it out); the opt-out list."""

from __future__ import annotations

from typing import Annotated

from flask_openapi3 import APIBlueprint, FileStorage, Tag
from pydantic import AfterValidator
from werkzeug.datastructures import FileStorage as _FileStorage

from lookingglass.services import Record
from lookingglass.services.erasure import (
    ForgetPersonRequest,
    OptOutList,
    OptOutsQuery,
    OptOutWithdrawn,
    PersonErased,
    PersonPreview,
    PersonPreviewRequest,
    forget_person,
    forget_person_preview,
    list_opt_outs,
    withdraw_opt_out,
)
from lookingglass.web.routes import answer, caller, the_app

erasure = APIBlueprint("erasure", __name__, abp_tags=[Tag(name="erasure")])


def _a_file(value: object) -> object:
    """flask-openapi3 lets a text field of the same name stand in for a missing upload: refuse it (a 400)."""
    if not isinstance(value, _FileStorage):
        raise ValueError("a photo is required, sent as a multipart file upload")
    return value


Photo = Annotated[FileStorage, AfterValidator(_a_file)]


class PersonPreviewForm(PersonPreviewRequest):
    image: Photo


class ForgetPersonForm(ForgetPersonRequest):
    image: Photo


class OptOutPath(Record):
    optout_id: str


def _request(form: Record, model: type[Record]) -> Record:
    """The service's request: the form without its upload (the service takes the photo as bytes)."""
    return model.model_validate(form.model_dump(exclude={"image"}, exclude_unset=True))


@erasure.post("/forget/person/preview", operation_id="forget_person_preview", responses={200: PersonPreview})
def preview_route(form: PersonPreviewForm):
    """Every indexed face of the person in a photo: what erasing would remove (admin). Nothing is changed."""
    request = _request(form, PersonPreviewRequest)
    return answer(forget_person_preview(the_app(), caller(), request, image=form.image.read()))


@erasure.post("/forget/person", operation_id="forget_person", responses={200: PersonErased})
def forget_person_route(form: ForgetPersonForm):
    """Remove the confirmed faces of a person; optionally opt the face out of future indexing (admin)."""
    request = _request(form, ForgetPersonRequest)
    return answer(forget_person(the_app(), caller(), request, image=form.image.read()))


@erasure.get("/forget/opt-outs", operation_id="list_opt_outs", responses={200: OptOutList})
def opt_outs_route(query: OptOutsQuery):
    """The opt-out list: when each face was added and why, never the face itself (admin)."""
    return answer(list_opt_outs(the_app(), caller(), query))


@erasure.delete("/forget/opt-outs/<optout_id>", operation_id="withdraw_opt_out", responses={200: OptOutWithdrawn})
def withdraw_route(path: OptOutPath):
    """Withdraw an opt-out: the face may be indexed again from the next ingest on (admin)."""
    return answer(withdraw_opt_out(the_app(), caller(), path.optout_id))
