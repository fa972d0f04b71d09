"""The browser session every UI test module shares: a running `serve` with two users (an admin and an analyst),
the graph corpus, obama.jpg and biden.jpg and a photo seen on a page; a headless Chromium; and the signed-in admin's
page (`ui`), which fails its test when a script error or CSP refusal is left behind.

tests/conftest.py loads this module as a plugin, so any test module can ask for `server`, `chromium`, `admin` or
`ui`; each module gets its own server (module scope), so modules do not see each other's uploads. Screenshots go
to test-artifacts/ui/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import browser
from cli_process import run_cli
from conftest import REPO, SERVER_ENV
from serve_process import running_serve

SHOTS = REPO / "test-artifacts" / "ui"
CORPUS = REPO / "tests" / "data" / "graph_corpus"
PASSWORD = "a long test password 7"
ADMIN, ANALYST = "ada", "ann"
MOBILE = {"width": 375, "height": 800}
TEST_IMAGES = "face_recognition_ageitgey/tests/test_images"
GROUP = "face_recognition_ageitgey/examples/two_people.jpg"
ON_A_PAGE = "face_recognition_ageitgey/examples/alex-lacamoire.png"  # seen on calder-cto.html: the entity's faces
KIT = "face_recognition_ageitgey/examples/knn_examples"  # three photos of one man, nobody else's in this module
ONE_MAN = (
    f"{KIT}/train/kit_harington/john1.jpeg",
    f"{KIT}/train/kit_harington/john2.jpeg",
    f"{KIT}/test/johnsnow_test1.jpg",
)


def _cli(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    done = run_cli(data_dir, *args, stdin=stdin)
    assert done.returncode == 0, f"lookingglass {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory, faces_dir: Path):
    """A running `serve` with two users, the graph corpus, obama.jpg and biden.jpg, and a photo seen on a page."""
    from lookingglass.sources.sightings import Sighting
    from lookingglass.web.client import ServerClient

    root = tmp_path_factory.mktemp("ui")
    data = root / "data"
    with pytest.MonkeyPatch.context() as env:
        for name in SERVER_ENV:  # embedded stores and the in-process queue, whatever this shell has set
            env.delenv(name, raising=False)
        # Pages first: `POST /objects` stores HTML without processing it, so the CLI processes them while it owns
        # the data dir; then PageRank and communities.
        _cli(data, "ingest", "--quiet", *sorted(str(p) for p in CORPUS.glob("*.html")))
        _cli(data, "analytics")
        _cli(data, "users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        _cli(data, "users", "add", ANALYST, "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n")
        with running_serve(data, root / "serve.log") as (info, _process):
            # Through the server (the CLI finds it in server.json and uses its local token).
            known = [str(faces_dir / TEST_IMAGES / name) for name in ("obama.jpg", "biden.jpg")]
            _cli(data, "ingest", "--quiet", *known)
            page = (CORPUS / "calder-cto.html").resolve().as_uri()
            photo = faces_dir / ON_A_PAGE
            sighting = Sighting(source_url=photo.as_uri(), page_url=page, page_title="Calder CTO")
            stored = ServerClient(info).store_bytes(photo.read_bytes(), photo.name, sighting)
            assert stored.get("faces") == 1, stored
            yield info


@pytest.fixture(scope="module")
def chromium():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser.chromium() as launched:
        yield launched


class Console:
    """Script errors and CSP refusals a page reports (the favicon's 401/404 are not the UI's)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "favicon.ico" not in str(message.location.get("url", "")):
            self.errors.append(f"console: {message.text} at {message.location.get('url')}")


def _sign_in(context, url: str, username: str, *, shot: str | None = None):
    """Open `url`, get sent to /login, sign in with the form, and land back on `url`."""
    page = context.new_page()
    page.goto(url + "/text")
    assert re.search(r"/login\?next=/text$", page.url), page.url
    if shot:
        page.screenshot(path=str(SHOTS / shot))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/text")
    return page


@pytest.fixture(scope="module")
def admin(chromium, server):
    """A signed-in admin's page (one browser context for the module)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    console = Console()
    context.on("page", console.watch)
    page = _sign_in(context, server.url, ADMIN, shot="01-sign-in.png")
    console.watch(page)
    page.console = console
    yield page
    context.close()


@pytest.fixture
def ui(admin):
    """The admin's page for one test, which must leave no script error or CSP refusal behind."""
    admin.console.errors.clear()
    yield admin
    assert not admin.console.errors, admin.console.errors
