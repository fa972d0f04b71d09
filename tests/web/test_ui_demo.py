"""The start page in Chromium: where `make run` put the demo, the navigation leads to it first, its links go to the
searches it describes, and it fits a phone with no script error or CSP refusal.

The demo itself is built and checked in tests/sources/test_demo.py; here the data dir only holds the demo's
`demo.json` (what the start page reads), so the page is tested without the minutes an ingest takes.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

import browser
from cli_process import run_cli
from serve_process import running_serve
from ui_session import ADMIN, MOBILE, PASSWORD, SHOTS, Console, _sign_in

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-demo")
    data = root / "data"
    photo = root / "query.jpg"
    Image.new("RGB", (64, 64), (200, 180, 160)).save(photo)
    added = run_cli(data, "users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    manifest = {"root": str(root), "query_photo": str(photo), "search_word": "shuttle", "video": "v.mp4", "notes": []}
    (data / "demo.json").write_text(json.dumps(manifest))
    with running_serve(data, root / "serve.log") as (info, _process):
        yield info


@pytest.fixture(scope="module")
def page(demo_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser.chromium() as launched:
        context = launched.new_context(viewport={"width": 1280, "height": 900})
        console = Console()
        context.on("page", console.watch)
        signed_in = _sign_in(context, demo_server.url, ADMIN)
        console.watch(signed_in)
        yield signed_in
        assert not console.errors, console.errors
        context.close()


def test_the_start_page_is_first_in_the_navigation_and_links_to_what_it_describes(page, demo_server):
    page.goto(demo_server.url + "/start")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts()[0] == "Start"
    assert nav.get_by_role("link", name="Start").get_attribute("aria-current") == "page"
    page.screenshot(path=str(SHOTS / "demo-01-start.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download a photo of Barack Obama").click()
    assert download.value.suggested_filename == "try-me.jpg"

    page.get_by_role("link", name="Search the text for").click()
    page.wait_for_url("**/text?q=shuttle")
    expect(page.locator("#q")).to_have_value("shuttle")


def test_the_start_page_fits_a_phone(page, demo_server):
    page.set_viewport_size(MOBILE)
    page.goto(demo_server.url + "/start")
    page.screenshot(path=str(SHOTS / "demo-02-start-phone.png"), full_page=True)
    widths = page.eval_on_selector("html", "el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1]
