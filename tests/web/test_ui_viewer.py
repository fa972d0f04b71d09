"""The evidence viewer in a real browser: a face match, a video match, a text hit and an evidence sentence each open
the object inside the app (the face boxed; the video at the match's second with the person's time on screen marked;
the page's text with its entities linked), beside the results or in a new tab, and the search is still there after.

The module's server (tests/ui_session.py) also gets a short clip made here: grey, then obama.jpg held from 1 s to
3 s, then grey, so the face's span is known, with a spoken sentence (espeak-ng) over it when espeak-ng is installed.
Screenshots: test-artifacts/ui/viewer-*.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import browser
from media_files import ESPEAK, face_on_screen_video, speak
from ui_session import MOBILE, SHOTS, TEST_IMAGES, Console

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")


SAID = "The treasury board met in Aberdeen on Tuesday."


@pytest.fixture(scope="module")
def clip(server, faces_dir, tmp_path_factory) -> str:
    """The clip, uploaded through the server and processed (its sha256)."""
    from lookingglass.sources.sightings import Sighting
    from lookingglass.web.client import ServerClient

    folder = tmp_path_factory.mktemp("clip")
    said = speak(SAID, folder / "said.wav") if ESPEAK else None
    path = face_on_screen_video(folder / "clip.mp4", faces_dir / TEST_IMAGES / "obama.jpg", audio=said)
    client = ServerClient(server)
    stored = client.store_bytes(path.read_bytes(), path.name, Sighting(source_url="https://example.org/clip.mp4"))
    deadline = time.monotonic() + 300
    while (state := client.call("GET", f"/objects/{stored['sha256']}/outcome")["state"]) == "pending":
        assert time.monotonic() < deadline, "the clip was not processed in 5 minutes"
        time.sleep(0.5)
    assert state == "done", state
    return stored["sha256"]


def _search(page, url: str, photo: Path) -> None:
    page.goto(url + "/")
    page.get_by_label("Drop a photo here, or choose one").set_input_files(str(photo))
    page.locator("#match-list li.match").first.wait_for()


def _no_file_links(page) -> None:
    assert page.locator("a[href^='file:']").count() == 0, page.url


def _wait_for_time(player, t: float) -> float:
    """The player's currentTime once it is within 0.2 s of `t` (waits for the metadata, up to 20 s)."""
    now = -1.0
    for _ in range(200):
        now = player.evaluate("v => v.currentTime")
        if abs(now - t) < 0.2:
            break
        time.sleep(0.1)
    return now


def test_a_face_match_opens_beside_the_results_with_the_face_boxed_and_back_keeps_the_search(ui, server, faces_dir):
    _search(ui, server.url, faces_dir / TEST_IMAGES / "biden.jpg")
    match = ui.locator("#match-list li.match").first
    match.locator(".thumb svg").wait_for()
    ui.screenshot(path=str(SHOTS / "viewer-results.png"), full_page=True)
    view_url = match.locator("a.view").get_attribute("href")
    assert re.fullmatch(r"/view/[0-9a-f]{64}\?face=[\w-]+", view_url), view_url
    assert match.locator(".source").inner_text().endswith(f"{TEST_IMAGES}/biden.jpg")  # shown, never a file:// link
    _no_file_links(ui)

    match.locator("a.view").click()
    panel = ui.locator("#viewer-panel")
    expect(panel).to_be_visible()
    panel.locator(".viewer-overlay rect.matched").wait_for()
    assert panel.locator(".viewer-overlay rect.matched").count() == 1
    assert ui.url.endswith("/#evidence")
    _no_file_links(ui)
    ui.screenshot(path=str(SHOTS / "viewer-image-panel.png"))

    ui.go_back()  # Back closes the viewer; the search is where it was
    expect(panel).to_be_hidden()
    assert ui.url == server.url + "/"
    expect(ui.locator("#match-list li.match").first).to_be_visible()
    assert ui.locator("#overlay rect.face").count() == 1

    match.locator("a.view").click()  # and the Close button does the same
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()
    expect(ui.locator("#match-list li.match").first).to_be_visible()

    with ui.context.expect_page() as opened:  # "new tab": the viewer page itself
        match.locator("a.view-tab").click()
    tab = opened.value
    tab.locator(".viewer-overlay rect.matched").wait_for()
    assert tab.url == server.url + view_url
    tab.get_by_role("button", name="Full size").click()
    assert tab.locator(".viewer-stage.full").count() == 1
    tab.screenshot(path=str(SHOTS / "viewer-image.png"), full_page=True)
    tab.close()


def test_a_video_match_plays_from_its_moment_with_the_persons_time_on_screen_marked(ui, server, faces_dir, clip):
    _search(ui, server.url, faces_dir / TEST_IMAGES / "obama.jpg")
    moment = ui.locator(f"#match-list li.match a.moment[href^='/view/{clip}']")
    expect(moment).to_have_count(1)
    t = float(re.search(r"[?&]t=([\d.]+)", moment.get_attribute("href")).group(1))
    assert 1.0 <= t <= 3.0  # the face is on screen from 1 s to 3 s

    moment.click()
    panel = ui.locator("#viewer-panel")
    player = panel.locator("video.viewer-player")
    player.wait_for()
    assert _wait_for_time(player, t) == pytest.approx(t, abs=0.2)
    spans = panel.locator(".timeline .lane.faces .span")
    expect(spans).to_have_count(1)
    assert float(spans.first.get_attribute("data-start")) == pytest.approx(1.0, abs=0.4)
    assert float(spans.first.get_attribute("data-end")) == pytest.approx(2.9, abs=0.4)
    duration = float(panel.locator(".timeline").get_attribute("data-duration"))
    left = float(re.search(r"left: ([\d.]+)%", spans.first.get_attribute("style")).group(1))
    assert left == pytest.approx(100 * float(spans.first.get_attribute("data-start")) / duration, abs=0.5)
    ui.screenshot(path=str(SHOTS / "viewer-video-panel.png"))

    spans.first.click()  # a span seeks to where it starts
    assert _wait_for_time(player, float(spans.first.get_attribute("data-start"))) == pytest.approx(1.0, abs=0.4)
    ui.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(ui.locator("#match-list li.match").first).to_be_visible()


def test_a_text_hit_opens_the_page_with_its_entities_linked_and_back_returns_to_the_hits(ui, server):
    ui.goto(server.url + "/text?q=Calder&kind=page")
    hit = ui.locator("#hits li.hit").first
    hit.wait_for()
    _no_file_links(ui)
    hit.locator("a.view").click()
    ui.wait_for_url(re.compile(r"/view/[0-9a-f]{64}$"))
    text = ui.locator(".page-text")
    text.wait_for()
    assert "Calder" in text.inner_text()
    entity = text.locator("a.entity").first
    assert re.fullmatch(r"/graph/entity/.+", entity.get_attribute("href"))
    assert ui.locator(".viewer-facts").get_by_text(re.compile(r"\.html$")).count() == 1  # the file, as text
    _no_file_links(ui)
    ui.screenshot(path=str(SHOTS / "viewer-page.png"), full_page=True)

    ui.go_back()
    ui.locator("#hits li.hit").first.wait_for()
    assert ui.url.endswith("/text?q=Calder&kind=page")


def test_an_evidence_sentence_opens_the_document_it_was_read_in(ui, server):
    entity = ui.evaluate("fetch('/entities?q=calder%20systems').then(r => r.json()).then(b => b.entities[0].id)")
    ui.goto(f"{server.url}/graph/entity/{entity}")
    evidence = ui.locator("#relations .evidence li").first
    evidence.wait_for()
    sentence = evidence.locator("blockquote").inner_text()
    _no_file_links(ui)

    evidence.locator("a.view").click()
    ui.wait_for_url(re.compile(r"/view/[0-9a-f]{64}$"))
    ui.locator(".page-text").wait_for()
    words = " ".join(ui.locator(".page-text").inner_text().split())
    assert " ".join(sentence.split())[:40] in words
    ui.locator(".entity-chips a").first.wait_for()
    ui.screenshot(path=str(SHOTS / "viewer-evidence.png"), full_page=True)


def test_the_main_flow_works_with_the_keyboard_alone(ui, server, faces_dir):
    _search(ui, server.url, faces_dir / TEST_IMAGES / "biden.jpg")
    ui.locator("#search-button").focus()
    for _ in range(60):  # Tab through the page to the first match's "Open the image"
        ui.keyboard.press("Tab")
        if ui.evaluate("document.activeElement.matches('#match-list a.view')"):
            break
    assert ui.evaluate("document.activeElement.textContent") == "Open the image"

    ui.keyboard.press("Enter")
    panel = ui.locator("#viewer-panel")
    panel.locator(".viewer-overlay rect.matched").wait_for()
    assert ui.evaluate("document.getElementById('viewer-panel').contains(document.activeElement)")
    ui.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert ui.evaluate("document.activeElement.matches('#match-list a.view')")  # focus is back where it was


def test_the_viewer_and_the_results_fit_a_phone_and_no_page_links_a_file(chromium, ui, server, faces_dir, clip):
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    console = Console()
    console.watch(page)
    _search(page, server.url, faces_dir / TEST_IMAGES / "obama.jpg")
    widths = {"results": page.evaluate("document.documentElement.scrollWidth")}
    page.screenshot(path=str(SHOTS / "viewer-mobile-results.png"), full_page=True)
    image = page.locator("#match-list li.match a.view:not(.moment)").first.get_attribute("href")
    page.locator(f"#match-list li.match a.moment[href^='/view/{clip}']").click()
    page.locator("#viewer-panel .timeline .span").first.wait_for()
    widths["video panel"] = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SHOTS / "viewer-mobile-video.png"))
    page_sha = page.evaluate("fetch('/search?q=Calder&kind=page').then(r => r.json()).then(b => b.hits[0].sha256)")
    for name, url, ready in (
        ("image", image, ".viewer-overlay rect.matched"),
        ("page", f"/view/{page_sha}", ".page-text"),
        ("video", f"/view/{clip}?t=2", ".timeline .span"),
    ):
        page.goto(server.url + url)
        page.locator(ready).first.wait_for()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        _no_file_links(page)
        page.screenshot(path=str(SHOTS / f"viewer-mobile-{name}.png"), full_page=True)
    for path, ready in (("/people", "main"), ("/graph", "#shared li"), ("/queue", "#backends li")):
        page.goto(server.url + path)
        page.locator(ready).first.wait_for()
        _no_file_links(page)
    context.close()
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    assert not console.errors, console.errors


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed: the clip has no speech to transcribe")
def test_a_videos_transcript_is_on_its_timeline_and_a_segment_seeks_the_player(ui, server, clip):
    ui.goto(f"{server.url}/view/{clip}?t=2.5")
    player = ui.locator("video.viewer-player")
    player.wait_for()
    assert _wait_for_time(player, 2.5) == pytest.approx(2.5, abs=0.2)
    said = ui.locator(".timeline .lane.said .span")
    said.first.wait_for()
    lines = ui.locator(".transcript li")
    assert "treasury" in " ".join(lines.all_inner_texts()).lower()
    assert said.count() == lines.count()

    first = lines.first.get_by_role("button")
    start = float(first.get_attribute("data-start"))
    first.click()
    assert _wait_for_time(player, start) == pytest.approx(start, abs=0.3)
    ui.screenshot(path=str(SHOTS / "viewer-video.png"), full_page=True)
