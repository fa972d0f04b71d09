"""HTML pages. Each page is a static shell; its script talks to the JSON API (so the UI and the API cannot drift).

| page | path | script | API it reads |
|---|---|---|---|
| face search | `/` | search.js | `POST /lookup`, `/objects/<sha>/content`, `/faces/<id>/thumbnail` |
| text search | `/text` | text.js | `GET /search` |
| entities | `/graph` | graph.js | `GET /entities`, `GET /graph/shared-people`, `GET /graph/stats` |
| one entity | `/graph/entity/<id>` | entity.js | `GET /entities/<id>` |
| people | `/people` | people.js | `GET /people` |
| one person | `/people/<id>` | person.js | `GET /people/<id>`, `POST /people/<id>/…` (name, merge, split, hide) |
| queue and health (admins) | `/queue` | queue.js | `GET /queue/stats`, `GET /health`, `POST /graph/analytics` |
| not found (any unknown URL) | – | – | – (JSON 404 for API clients, this page for browsers) |

The people pages share their URLs with the API they read: a browser navigating there (HTML preferred, auth.py's
`wants_a_page`) gets the page, every other caller the JSON (web/routes/people.py asks `people_page`/`person_page`).

Signing in and the policy (who may open what) live in auth.py; pages only read who is signed in, to show it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from lookingglass.text.entities import TYPES

# Entity types in plain words (app.js's typeWord says the same); the two kinds of place apart where one is chosen.
TYPE_CHOICES = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place (country, city)",
    "LOC": "place (region, landmark)",
    "PROJECT": "project",
}

views = Blueprint("views", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def _principal():
    from lookingglass.web.auth import current_principal

    return current_principal()


@views.context_processor
def _who() -> dict:
    """`user` (name or None) and `is_admin` for the layout's navigation."""
    principal = _principal()
    return {
        "user": principal.name if principal is not None else None,
        "role": principal.role if principal is not None else None,
        "is_admin": principal is not None and principal.allows("admin"),
    }


@views.get("/")
def face_search():
    app = current_app.extensions["lookingglass"]
    return render_template(
        "search.html", page="faces", top_k=app.settings.top_k, threshold=round(app.match_threshold, 3)
    )


@views.get("/text")
def text_search():
    return render_template("text.html", page="text")


@views.get("/graph")
def graph_page():
    return render_template("graph.html", page="entities", types=[(t, TYPE_CHOICES.get(t, t.lower())) for t in TYPES])


@views.get("/graph/entity/<entity_id>")
def entity_page(entity_id: str):
    return render_template("entity.html", page="entities", entity_id=entity_id)


@views.get("/queue")
def queue_page():
    """Admins only (web/auth.py's ADMIN_RULES), like the `GET /queue/stats` it reads: others get a page that says
    so (403)."""
    return render_template("queue.html", page="queue")


def people_page():
    """The People page, for `GET /people` when a browser navigates there (not a route of its own: see above). It
    renders in the people blueprint's request, where this blueprint's context processor does not run: `_who` is
    passed by hand."""
    return _negotiated(render_template("people.html", page="people", **_who()))


def person_page(person_id: str):
    """One person's page, for `GET /people/<id>` when a browser navigates there."""
    return _negotiated(render_template("person.html", page="people", person_id=person_id, **_who()))


def not_found_page():
    """An unknown URL, for a browser (HTML preferred): a page with the navigation and the ways on, 404; API clients
    still get the JSON error (web/__init__.py asks). Rendered outside this blueprint: `_who` is passed by hand."""
    html, _, headers = _negotiated(render_template("not_found.html", page=None, path=request.path, **_who()))
    return html, 404, headers


def _negotiated(html: str):
    """The page, marked as chosen by the Accept header, so no cache serves it to an API client (or the JSON to a
    browser)."""
    return html, 200, {"Vary": "Accept"}
