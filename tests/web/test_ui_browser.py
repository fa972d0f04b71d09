"""The web UI in a real browser (Debian's Chromium under Playwright) against a real `lookingglass serve`.

One server and one browser for the module: pages of the graph corpus are ingested first (processed by the CLI,
which owns the data dir until `serve` starts), then `serve` starts, users are added and photos are ingested through
it with the CLI, and each test drives the pages as a person would, signed in through the /login form.
Screenshots of each step go to test-artifacts/ui/ (git-ignored).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

import browser
from ui_session import (
    ANALYST,
    GROUP,
    MOBILE,
    ONE_MAN,
    PASSWORD,
    SHOTS,
    TEST_IMAGES,
    Console,
    _sign_in,
)

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")


def _rect_boxes(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#overlay rect.face",
        "rs => rs.map(r => ({x: +r.getAttribute('x'), w: +r.getAttribute('width'), i: +r.dataset.face}))",
    )


def _search_photo(page, url: str, photo: Path) -> None:
    page.goto(url + "/")
    page.get_by_label("Drop a photo here, or choose one").set_input_files(str(photo))
    page.locator("#result").wait_for()  # shown once the answer is drawn (the CSP forbids wait_for_function's eval)
    expect(page.locator("#search-button")).to_be_enabled()


def test_signing_in_lands_on_the_page_asked_for_with_the_navigation(ui, server):
    assert ui.url == server.url + "/text"
    nav = ui.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == [
        "Faces",
        "Text",
        "Entities",
        "People",
        "Upload",
        "Queue",
        "Admin",
    ]
    assert nav.get_by_role("link", name="Text").get_attribute("aria-current") == "page"
    assert ui.get_by_role("button", name="Sign out").is_visible()
    assert ui.locator('meta[name="csrf-token"]').get_attribute("content")


def test_a_group_photo_gets_one_box_per_face_and_a_face_shows_its_match(ui, server, faces_dir, labels):
    _search_photo(ui, server.url, faces_dir / GROUP)
    expected = labels["group_photos"][GROUP]["faces"]

    boxes = _rect_boxes(ui)
    assert len(boxes) == expected
    assert ui.locator("#faces button").count() == expected
    natural = ui.eval_on_selector("#photo", "img => [img.naturalWidth, img.naturalHeight]")
    assert ui.get_attribute("#overlay", "viewBox") == f"0 0 {natural[0]} {natural[1]}"
    shown = ui.locator("#photo").bounding_box()
    for rect in ui.locator("#overlay rect.face").all():  # boxes scale with the photo: they lie on it
        box = rect.bounding_box()
        assert shown["x"] <= box["x"] and box["x"] + box["width"] <= shown["x"] + shown["width"] + 1
        assert shown["y"] <= box["y"] and box["y"] + box["height"] <= shown["y"] + shown["height"] + 1
    ui.screenshot(path=str(SHOTS / "02-faces-boxed.png"), full_page=True)

    right = max(boxes, key=lambda b: b["x"])  # labels: Obama on the left, Biden on the right
    ui.locator(f"#overlay rect.face[data-face='{right['i']}']").click()
    first = ui.locator("#match-list li.match").first
    first.locator(".thumb svg rect.box").wait_for()  # the matched face, boxed over its image
    assert first.locator(".source").inner_text().endswith(f"{TEST_IMAGES}/biden.jpg")  # a file://, never a link
    assert re.fullmatch(r"\d{1,3}\.\d%", first.locator(".score strong").inner_text())
    assert first.locator("time").count() == 1  # when it was indexed
    assert ui.locator(f"#faces button[data-face='{right['i']}']").get_attribute("aria-pressed") == "true"
    ui.screenshot(path=str(SHOTS / "03-face-matches.png"), full_page=True)

    left = min(boxes, key=lambda b: b["x"])  # the keyboard way: focus a box, press Enter
    ui.locator(f"#overlay rect.face[data-face='{left['i']}']").focus()
    ui.keyboard.press("Enter")
    ui.get_by_role("heading", name=f"Face {left['i'] + 1}: 1 match").wait_for()
    source = ui.locator("#match-list li.match").first.locator(".source")
    assert source.inner_text().endswith(f"{TEST_IMAGES}/obama.jpg")


def test_a_dropped_photo_is_searched_and_a_single_face_shows_its_matches_at_once(ui, server, faces_dir):
    ui.goto(server.url + "/")
    photo = faces_dir / TEST_IMAGES / "obama.jpg"
    ui.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const files = new DataTransfer();
            files.items.add(new File([bytes], "obama.jpg", { type: "image/jpeg" }));
            const zone = document.getElementById("drop");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));
            }
        }""",
        base64.b64encode(photo.read_bytes()).decode(),
    )
    first = ui.locator("#match-list li.match").first
    first.wait_for()
    assert ui.locator("#overlay rect.face").count() == 1
    assert first.locator(".source").inner_text().endswith(f"{TEST_IMAGES}/obama.jpg")
    assert float(first.locator(".score strong").inner_text().rstrip("%")) > 90  # the same photo


def test_a_video_match_links_to_the_moment_and_shows_the_keyframe(ui, server, faces_dir):
    """The lookup answer is canned (a video match needs minutes of video processing); the page is the real one."""
    sha = "ab" * 32
    match = {
        "score": 0.71, "sha256": sha, "kind": "video", "timestamp": 12.5, "start": 10.0, "end": 15.0,
        "face_id": "face-1", "track_id": 3, "grouped": 4, "box": [1, 2, 30, 40],
        "source_url": "https://example.org/talk.mp4", "page_url": "https://example.org/talks/1",
        "page_title": "A talk about grids", "indexed_at": "2026-01-02T03:04:05+00:00",
    }  # fmt: skip
    body = {"faces": [{"box": [10, 10, 60, 70], "confidence": 0.9, "matches": [match]}], "threshold": 0.36, "top_k": 10}
    keyframe = (faces_dir / "face_recognition_ageitgey/examples/obama_small.jpg").read_bytes()
    ui.route("**/lookup", lambda route: route.fulfill(json=body))
    ui.route("**/faces/face-1/thumbnail", lambda route: route.fulfill(body=keyframe, content_type="image/jpeg"))
    try:
        _search_photo(ui, server.url, faces_dir / GROUP)
        item = ui.locator("#match-list li.match").first
        expect(item.locator("img.thumb-img")).to_have_js_property("complete", True)
    finally:
        ui.unroute("**/lookup")
        ui.unroute("**/faces/face-1/thumbnail")
    assert item.locator("a.moment").get_attribute("href") == f"/view/{sha}?face=face-1&t=12.5"  # the viewer
    assert item.locator("a.page").inner_text() == "A talk about grids"
    assert item.locator("a.page").get_attribute("href") == "https://example.org/talks/1"
    assert item.locator("img.thumb-img").get_attribute("src") == "/faces/face-1/thumbnail"
    assert "at 12.5 s" in item.inner_text() and "71.0%" in item.inner_text()
    assert item.locator("time").get_attribute("datetime") == "2026-01-02T03:04:05+00:00"


def test_snippets_keep_only_their_marks(ui, server):
    """Whatever a snippet holds besides <mark>, it is shown as text, and a javascript: URL is never a link."""
    hits = [
        {"snippet": "&lt;b&gt; <mark>AT&amp;T</mark> grid", "text": "<b> AT&T grid", "kind": "page",
         "source_url": "https://example.org/a", "sha256": "a" * 64, "start": None, "end": None, "score": 2.0},
        {"snippet": 'x <img src=x onerror="window.pwned=1"> <mark>y</mark>', "text": "the plain text", "kind": "page",
         "source_url": "javascript:window.pwned=2", "sha256": "b" * 64, "start": None, "end": None, "score": 1.0},
    ]  # fmt: skip
    ui.route("**/search?*", lambda route: route.fulfill(json={"hits": hits}))
    try:
        ui.goto(server.url + "/text?q=grid")
        ui.locator("#hits li.hit").nth(1).wait_for()
    finally:
        ui.unroute("**/search?*")
    first, second = ui.locator("#hits li.hit").all()
    assert first.locator(".snippet").inner_text() == "<b> AT&T grid"
    assert first.locator("mark").all_inner_texts() == ["AT&T"]
    assert second.locator(".snippet").inner_text() == "the plain text"
    assert ui.locator("#hits img, #hits b").count() == 0
    assert [a.get_attribute("href") for a in second.locator("a").all()] == [f"/view/{'b' * 64}"]  # the viewer only
    assert ui.evaluate("window.pwned") is None


def test_a_photo_without_a_face_says_so(ui, server, faces_dir, labels):
    no_face = labels["no_face"][0].split(" (")[0]
    _search_photo(ui, server.url, faces_dir / no_face)
    ui.locator("#status.empty").filter(has_text="No face found").wait_for()
    assert ui.locator("#overlay rect").count() == 0


def test_a_stale_csrf_token_gets_a_clear_message_not_a_result(ui, server, faces_dir):
    ui.goto(server.url + "/")
    ui.evaluate("document.querySelector('meta[name=\"csrf-token\"]').content = 'forged'")
    ui.get_by_label("Drop a photo here, or choose one").set_input_files(str(faces_dir / GROUP))
    ui.locator("#status.error").filter(has_text="Not allowed").wait_for()
    assert "CSRF" in ui.locator("#status").inner_text()
    ui.console.errors.clear()  # the browser logs the 403 itself


def test_text_search_highlights_the_words_in_page_passages(ui, server):
    ui.goto(server.url + "/text")
    ui.get_by_label('Words or "a phrase"').fill("Calder")
    ui.get_by_label("Search in").select_option("page")
    ui.get_by_role("button", name="Search").click()
    hit = ui.locator("#hits li.hit").first
    hit.wait_for()
    assert {m.lower() for m in hit.locator("mark").all_inner_texts()} == {"calder"}
    assert re.fullmatch(r"/view/[0-9a-f]{64}", hit.locator("a.view").get_attribute("href"))  # the viewer
    assert ui.url.endswith("/text?q=Calder&kind=page")  # a search can be linked to
    ui.screenshot(path=str(SHOTS / "04-text-search.png"), full_page=True)


def test_entities_are_ranked_and_an_entity_page_shows_relations_evidence_and_faces(ui, server):
    ui.goto(server.url + "/graph")
    rows = ui.locator("#entities tbody tr")
    rows.first.wait_for()
    ranks = [float(v) for v in ui.locator("#entities tbody td:nth-child(3)").all_inner_texts()]
    assert ranks == sorted(ranks, reverse=True) and len(ranks) > 10
    ui.locator("#shared li").first.wait_for()
    assert "Calder Systems" in ui.locator("#shared").inner_text()
    ui.screenshot(path=str(SHOTS / "05-entities.png"), full_page=True)

    ui.get_by_label("Name contains").fill("calder")
    ui.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="Calder Systems", exact=True).click()
    ui.wait_for_url(re.compile(r"/graph/entity/"))
    relations = ui.locator("#relations > li")
    relations.first.wait_for()
    assert ui.locator("h1").inner_text() == "Calder Systems"
    text = ui.locator("#relations").inner_text()
    assert "Jonas Holt" in text and "works for" in text
    assert relations.first.locator("blockquote").count() >= 1  # evidence sentences, each linked to its page
    assert ui.locator("#documents li").count() >= 2
    assert "Brightwater Labs" in ui.locator("#shared-people").inner_text()  # Jonas Holt and Priya Raman
    ui.locator("#entity-faces li .thumb svg").first.wait_for()  # alex-lacamoire.png, seen on calder-cto.html
    ui.screenshot(path=str(SHOTS / "06-entity.png"), full_page=True)


def test_the_queue_page_shows_queues_workers_and_health_and_runs_analytics(ui, server):
    ui.goto(server.url + "/queue")
    ui.locator("#queues tbody tr").first.wait_for()
    queues = ui.locator("#queues tbody th").all_inner_texts()
    assert {"faces", "pages", "index"} <= set(queues)
    assert int(ui.locator("#queues tbody tr", has_text="faces").locator("td").nth(2).inner_text()) >= 1
    ui.locator("#backends li").first.wait_for()
    assert "all backends up" in ui.locator("#health-summary").inner_text()
    assert ui.locator("#workers li").count() >= 1
    ui.get_by_role("button", name="Run graph analytics now").click()  # a POST with the page's CSRF token
    ui.locator("#status").filter(has_text="Graph analytics done").wait_for()
    ui.screenshot(path=str(SHOTS / "07-queue.png"), full_page=True)


def test_an_analyst_has_no_queue_and_is_told_why(chromium, server):
    context = chromium.new_context()
    page = _sign_in(context, server.url, ANALYST)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == ["Faces", "Text", "Entities", "People", "Upload"]
    response = page.goto(server.url + "/queue")
    assert response.status == 403
    assert "admin role" in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "08-analyst-queue-forbidden.png"))
    context.close()


def test_an_ended_session_sends_the_page_to_sign_in(chromium, server, faces_dir):
    context = chromium.new_context()
    page = _sign_in(context, server.url, ANALYST)
    page.goto(server.url + "/")
    context.clear_cookies()  # the session ends (expired, or signed out elsewhere)
    page.get_by_label("Drop a photo here, or choose one").set_input_files(str(faces_dir / GROUP))
    page.wait_for_url(re.compile(r"/login\?next=%2F$|/login\?next=/$"))
    page.get_by_label("Username").fill(ANALYST)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    context.close()


def test_every_page_fits_a_375_pixel_wide_screen(chromium, ui, server, faces_dir):
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    console = Console()
    console.watch(page)
    _search_photo(page, server.url, faces_dir / GROUP)
    page.locator("#faces button").last.click()
    page.locator("#match-list li.match .thumb svg").first.wait_for()
    entity = ui.evaluate("fetch('/entities?q=calder%20systems').then(r => r.json()).then(b => b.entities[0].id)")
    visits = {
        "faces": None,
        "text": ("/text?q=Calder", "#hits li.hit"),
        "entities": ("/graph", "#shared li"),
        "entity": (f"/graph/entity/{entity}", "#relations > li"),
        "queue": ("/queue", "#backends li"),
    }
    widths = {}
    for name, visit in visits.items():
        if visit is not None:
            page.goto(server.url + visit[0])
            page.locator(visit[1]).first.wait_for()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(SHOTS / f"09-mobile-{name}.png"), full_page=True)
    context.close()
    context = chromium.new_context(viewport=MOBILE)  # signed out: the sign-in page
    page = context.new_page()
    page.goto(server.url + "/login")
    widths["sign-in"] = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SHOTS / "09-mobile-sign-in.png"))
    context.close()
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    assert not console.errors, console.errors


def test_people_pages_group_name_split_and_merge_and_the_name_reaches_search_and_the_entity(ui, server, faces_dir):
    """Last in the module (it adds a person). Three photos of one man, each published as mara_lindqvist.jpg (the
    file name is the evidence): one person, named from the suggestion, whose name is the graph's Mara Lindqvist."""
    from lookingglass.sources.sightings import Sighting
    from lookingglass.web.client import ServerClient

    client = ServerClient(server)
    for i, photo in enumerate(ONE_MAN):
        sighting = Sighting(source_url=f"https://example.org/{i}/mara_lindqvist.jpg")
        assert client.store_bytes((faces_dir / photo).read_bytes(), "mara_lindqvist.jpg", sighting)["faces"] == 1

    ui.goto(server.url + "/people")
    assert ui.get_by_role("button", name="Sign out").is_visible()  # the layout knows who is signed in here too
    card = ui.locator("#people li.person")
    expect(card).to_have_count(1)  # one photo each of the others: they wait for a second face
    assert card.locator(".name").inner_text() == "unnamed" and "3 photos" in card.inner_text()
    card.locator(".thumb svg rect.box").wait_for()
    ui.screenshot(path=str(SHOTS / "10-people.png"), full_page=True)
    card.get_by_role("link").click()
    ui.wait_for_url(re.compile(r"/people/[0-9a-f-]{36}$"))
    person_url = ui.url

    first = ui.locator("#suggestions li.suggestion").first
    first.wait_for()
    assert ui.locator("h1").inner_text() == "Unnamed person"  # a suggestion is never applied by itself
    assert first.locator("strong").inner_text() == "Mara Lindqvist"
    assert "file name" in first.locator(".evidence").inner_text()
    assert "mara_lindqvist.jpg" in first.locator(".evidence").inner_text()  # which file said so
    expect(ui.locator("#person-faces li.face")).to_have_count(3)
    first.get_by_role("button", name="Confirm “Mara Lindqvist”").click()
    ui.locator("#status").filter(has_text="Named Mara Lindqvist.").wait_for()
    assert ui.locator("h1").inner_text() == "Mara Lindqvist"
    assert "Norhaven" in ui.locator("#entity-relations").inner_text()  # the graph's entity, from the pages
    ui.screenshot(path=str(SHOTS / "11-person.png"), full_page=True)

    ui.get_by_label("Select face 3").check()  # split one face out, then merge it back, by keyboard
    ui.get_by_role("button", name="Move the selected faces to a new person").press("Enter")
    ui.locator("#status").filter(has_text="1 face moved to a new person.").wait_for()
    expect(ui.locator("#person-faces li.face")).to_have_count(2)
    ui.get_by_label("Name or id").press("Enter")
    ui.locator("#merge-candidates li.candidate").first.get_by_role("checkbox").check()
    ui.get_by_role("button", name="Merge the selected persons into this one").click()
    ui.locator("#status").filter(has_text="Merged: 3 faces now.").wait_for()

    ui.locator("#entity-link a").click()  # the entity page shows the person's faces, linked back
    ui.wait_for_url(re.compile(r"/graph/entity/"))
    named = ui.locator("#entity-persons li.entity-person")
    named.locator(".thumb svg").first.wait_for()
    assert named.locator("a.person").get_attribute("href") == person_url.removeprefix(server.url)
    assert named.locator(".thumbs li").count() == 3

    _search_photo(ui, server.url, faces_dir / ONE_MAN[0])  # every face match says whose face it is
    match = ui.locator("#match-list li.match").first
    match.wait_for()
    assert match.locator("a.person").inner_text() == "Mara Lindqvist"
    assert match.locator("a.person").get_attribute("href") == person_url.removeprefix(server.url)
