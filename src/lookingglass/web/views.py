"""HTML pages. Each page is a static shell; its script talks to the JSON API (so the UI and the API cannot drift).

| page | path | script | API it reads |
|---|---|---|---|
| face search | `/` | search.js | `POST /lookup`, `/objects/<sha>/content`, `/faces/<id>/thumbnail` |
| text search | `/text` | text.js | `GET /search` |
| entities | `/graph` | graph.js | `GET /entities`, `GET /graph/shared-people`, `GET /graph/stats` |
| one entity | `/graph/entity/<id>` | entity.js | `GET /entities/<id>` |
| people | `/people` | people.js | `GET /people` |
| one person | `/people/<id>` | person.js | `GET /people/<id>`, `POST /people/<id>/…` (name, merge, split, hide) |
| welcome / try this | `/start` | none (links) | `demo.json` in the data dir, when `make run` put the demo there |
| queue and health (admins) | `/queue` | queue.js | `GET /queue/stats`, `GET /health`, `POST /graph/analytics`, |
| | | | `POST /queue/failed/<id>/retry`, `DELETE /queue/failed/<id>`, `GET /objects/<sha>/outcome` |
| upload and crawl | `/upload` | upload.js | `POST /objects`, `GET /objects/<sha>/outcome`, `POST /crawls`, |
| | | | `GET /crawls` |
| admin console (admins) | `/admin`, `/admin/{users,keys,audit,erasure}` | admin*.js | `/admin/*`, `/forget/*` |
| evidence viewer | `/view/<sha256>` | viewer.js | `GET /objects/<sha>/view`, `…/content` (Range), `…/transcript` |
| not found (any unknown URL) | – | – | – (JSON 404 for API clients, this page for browsers) |

The people pages and the admin console's users, keys and audit pages share their URLs with the API they read: a
browser navigating there (HTML preferred, auth.py's `wants_a_page`) gets the page, every other caller the JSON
(web/routes/people.py asks `people_page`/`person_page`, web/routes/admin.py `admin_page`).

Signing in and the policy (who may open what) live in auth.py; pages only read who is signed in, to show it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file

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


@views.app_context_processor
def _demo() -> dict:
    """`has_demo` for the layout's navigation (every blueprint's pages): a Start link where `make run` put the demo.
    Read per page, so a demo ingested while `serve` runs shows up without a restart."""
    return {"has_demo": _demo_manifest() is not None}


def _demo_manifest() -> dict | None:
    from lookingglass.sources.demo import read_manifest

    app = current_app.extensions.get("lookingglass")
    return read_manifest(app.settings.data_dir) if app is not None else None


@views.get("/start")
def start_page():
    """What to try first: with the demo (sources/demo) its photo to search with and its words; without it, how to
    bring data in."""
    return render_template("start.html", page="start", demo=_demo_manifest())


@views.get("/start/query-photo")
def start_query_photo():
    """The demo's photo to search with (a portrait that is not itself indexed), to download and drop on Faces."""
    demo = _demo_manifest()
    if demo is None or not Path(demo.get("query_photo") or "").is_file():
        abort(404)
    return send_file(demo["query_photo"], mimetype="image/jpeg", as_attachment=True, download_name="try-me.jpg")


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


@views.get("/view/<sha256>")
def view_page(sha256: str):
    """One stored object in the evidence viewer (`?face=<face_id>` boxes a face, `?t=` starts a video there). The
    face search opens the same viewer in a panel beside its results (search.js)."""
    return render_template("viewer.html", page=None, sha256=sha256)


@views.get("/upload")
def upload_page():
    """Upload files and start crawls: for every signed-in user (analysts may store objects, web/auth.py)."""
    app = current_app.extensions["lookingglass"]
    return render_template(
        "upload.html",
        page="upload",
        max_upload_bytes=app.settings.max_upload_bytes,
        crawl_mode=app.settings.crawl_mode,
        crawl_max_pages=app.settings.crawl_max_pages,
    )


@views.get("/queue")
def queue_page():
    """Admins only (web/auth.py's ADMIN_RULES), like the `GET /queue/stats` it reads: others get a page that says
    so (403)."""
    return render_template("queue.html", page="queue")


@views.get("/admin")
def admin_overview():
    """The admin console's start (admins only: web/auth.py's rule for /admin and /admin/...)."""
    return render_template("admin.html", page="admin", section="overview")


@views.get("/admin/erasure")
def admin_erasure():
    return render_template("admin_erasure.html", page="admin", section="erasure")


ADMIN_SECTIONS = {"users": "admin_users.html", "keys": "admin_keys.html", "audit": "admin_audit.html"}


def admin_page(section: str):
    """An admin console page for a browser navigating to the JSON route of the same URL (see people_page)."""
    from lookingglass.stores.private.audit import ACTIONS

    html = render_template(ADMIN_SECTIONS[section], page="admin", section=section, actions=sorted(ACTIONS), **_who())
    return _negotiated(html)


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
