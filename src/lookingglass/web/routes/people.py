"""People: persons (faces grouped), one person, name, merge, split, hide, re-cluster.

`GET /people` and `GET /people/<id>` are also the People pages: a browser navigating there gets the page (which
reads this JSON with `Accept: application/json`), every other caller the JSON (web/views.py).
"""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.people import (
    ClusterReport,
    ClusterRequest,
    MergeRequest,
    NameRequest,
    PersonDetail,
    PersonList,
    PersonPath,
    PersonQuery,
    PersonSummary,
    SplitRequest,
    cluster_people,
    hide_person,
    list_people,
    merge_people,
    name_person,
    person_detail,
    split_person,
)
from lookingglass.web.auth import wants_a_page
from lookingglass.web.routes import answer, caller, the_app
from lookingglass.web.views import people_page, person_page

people = APIBlueprint("people", __name__, abp_tags=[Tag(name="people")])


@people.get("/people", operation_id="list_people", responses={200: PersonList})
def people_route(query: PersonQuery):
    """Persons, most faces first (filter named/unnamed/hidden, search names). A browser gets the People page."""
    if wants_a_page():
        return people_page()
    return _json(answer(list_people(the_app(), caller(), query)))


@people.get("/people/<person_id>", operation_id="person_detail", responses={200: PersonDetail})
def person_route(path: PersonPath):
    """One person and every face they hold. A browser gets the person's page."""
    if wants_a_page():
        return person_page(path.person_id)
    return _json(answer(person_detail(the_app(), caller(), path.person_id)))


@people.post("/people/<person_id>/name", operation_id="name_person", responses={200: PersonSummary})
def name_route(path: PersonPath, body: NameRequest):
    """Confirm a person's name."""
    return answer(name_person(the_app(), caller(), body, person_id=path.person_id))


@people.post("/people/<person_id>/merge", operation_id="merge_people", responses={200: PersonSummary})
def merge_route(path: PersonPath, body: MergeRequest):
    """Merge other persons into this one."""
    return answer(merge_people(the_app(), caller(), body, person_id=path.person_id))


@people.post("/people/<person_id>/split", operation_id="split_person", responses={200: PersonSummary})
def split_route(path: PersonPath, body: SplitRequest):
    """Move faces out into a new person."""
    return answer(split_person(the_app(), caller(), body, person_id=path.person_id))


@people.post("/people/<person_id>/hide", operation_id="hide_person", responses={200: PersonSummary})
def hide_route(path: PersonPath):
    """Hide a person from the default list."""
    return answer(hide_person(the_app(), caller(), path.person_id))


@people.post("/people/cluster", operation_id="cluster_people", responses={200: ClusterReport})
def cluster_route(body: ClusterRequest):
    """Re-cluster now (every face with `full`)."""
    return answer(cluster_people(the_app(), caller(), body))


def _json(answered):
    """The JSON answer of a URL that is also a page: marked as chosen by the Accept header."""
    body, status = answered
    return body, status, {"Vary": "Accept"}
