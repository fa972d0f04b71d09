"""HTML pages. The page is static; the browser talks to the JSON API (so the UI and the API cannot drift)."""

from __future__ import annotations

from flask import Blueprint, render_template

views = Blueprint("views", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


@views.get("/")
def face_search():
    return render_template("search.html")
