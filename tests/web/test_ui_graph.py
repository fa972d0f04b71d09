"""The graph drawn and the small things, in Chromium against a real `serve` (tests/ui_session.py's `server`, with
the graph corpus; and a server of this module's own on an empty data dir for the empty states).

The drawing is a canvas: the page writes what it drew onto the drawing's element (`data-nodes`, `data-edges`,
`data-hops`, and each node's position in `data-positions`), so these tests read the library's own counts without
running script in the page. Screenshots: test-artifacts/ui/graph-*.png.
"""

from __future__ import annotations

import json
import re

import pytest

import browser
from cli_process import run_cli
from conftest import SERVER_ENV
from serve_process import running_serve
from ui_session import ADMIN, MOBILE, PASSWORD, SHOTS, TEST_IMAGES, Console, _sign_in

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")


def entity_id(page, url: str, name: str, type_: str) -> str:
    """The id of an entity, through the API with the page's session."""
    answer = page.request.get(f"{url}/entities", params={"q": name, "type": type_})
    return answer.json()["entities"][0]["id"]


def drawn(page, hops: int) -> dict:
    """Wait for the drawing of `hops` hops, and say what it holds."""
    network = page.locator(f'#network[data-ready="true"][data-hops="{hops}"]')
    network.wait_for()
    assert page.locator("#network canvas").count() >= 1
    return {
        "nodes": int(network.get_attribute("data-nodes")),
        "edges": int(network.get_attribute("data-edges")),
        "positions": json.loads(network.get_attribute("data-positions")),
    }


def not_the_ui(console: Console, url: str) -> None:
    """Chromium logs the 404 status of a page it was sent to as a console error: the answer asked for, not a fault."""
    console.errors[:] = [e for e in console.errors if not (e.startswith("console: Failed to load") and url in e)]


def fits(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_neighbourhood_is_drawn_and_two_hops_draw_more(ui, server):
    aberdeen = entity_id(ui, server.url, "Aberdeen", "gpe")
    ui.goto(f"{server.url}/graph/entity/{aberdeen}")
    one = drawn(ui, 1)
    assert one["nodes"] >= 2 and one["edges"] >= 1 and aberdeen in one["positions"]
    assert "place" in ui.locator("#facts").inner_text()  # GPE, in plain words
    ui.screenshot(path=str(SHOTS / "graph-1-hop.png"), full_page=True)

    ui.get_by_label("2 hops").check()
    two = drawn(ui, 2)
    assert two["nodes"] > one["nodes"] and two["edges"] > one["edges"]
    status = ui.locator("#network-status").inner_text()
    assert re.match(rf"{two['nodes'] - 1} entities within 2 hops", status), status
    ui.screenshot(path=str(SHOTS / "graph-2-hops.png"), full_page=True)


def test_clicking_a_node_opens_that_entity(ui, server):
    calder = entity_id(ui, server.url, "Calder Systems", "org")
    ui.goto(f"{server.url}/graph/entity/{calder}")
    positions = drawn(ui, 1)["positions"]
    other, (x, y) = next((i, p) for i, p in positions.items() if i != calder)
    box = ui.locator("#network").bounding_box()
    ui.mouse.click(box["x"] + x, box["y"] + y)
    ui.wait_for_url(re.compile(rf"/graph/entity/{other}$"))
    drawn(ui, 1)


def test_typed_relations_come_first_and_co_mentions_fold(ui, server):
    calder = entity_id(ui, server.url, "Calder Systems", "org")
    ui.goto(f"{server.url}/graph/entity/{calder}")
    typed = ui.locator("#relations > li")
    typed.first.wait_for()
    assert "works for" in ui.locator("#relations").inner_text()
    assert "named with" not in ui.locator("#relations").inner_text()
    fold = ui.locator("details#co-mentions")
    assert fold.is_visible() and fold.get_attribute("open") is None
    expect(ui.locator("#co-mentioned")).to_be_hidden()
    summary = ui.locator("#co-mentions-title")
    assert re.match(r"Named together with \d+ entit", summary.inner_text())
    summary.click()
    expect(ui.locator("#co-mentioned > li").first).to_be_visible()
    listed = typed.count() + ui.locator("#co-mentioned > li").count()
    facts = ui.locator("#facts").inner_text()
    assert re.search(rf"Relations\s+{listed}\b", facts), facts  # the count is what the page lists
    ui.screenshot(path=str(SHOTS / "graph-entity-relations.png"), full_page=True)


def test_the_entity_list_says_types_in_words_and_counts_relations(ui, server):
    ui.goto(server.url + "/graph")
    ui.locator("#entities tbody tr").first.wait_for()
    types = set(ui.locator("#entities tbody td:nth-child(2)").all_inner_texts())
    assert types <= {"person", "organisation", "place", "project"} and "organisation" in types
    options = ui.locator("#type option").all_inner_texts()
    assert "organisation" in options and "ORG" not in " ".join(options)
    assert ui.locator("#entities tbody td:nth-child(5)").first.inner_text().isdigit()


def test_a_search_word_that_is_ignored_is_said_so_and_the_counts_show(ui, server):
    ui.goto(server.url + "/text?q=the%20board%20of%20Calder")
    ui.locator("#hits li.hit").first.wait_for()
    assert "Ignored as too common to search for: “the”, “of”" in ui.locator("#status").inner_text()
    counts = ui.locator('[data-index-counts="text"][data-empty="false"]')
    assert re.match(r"[\d,]+ page passages? and [\d,]+ transcript segments? indexed", counts.inner_text())
    ui.goto(server.url + "/")
    assert "faces indexed" in ui.locator('[data-index-counts="faces"][data-empty="false"]').inner_text()


def test_an_unknown_url_is_a_page_with_the_navigation(ui, server):
    answer = ui.goto(server.url + "/no/such/page")
    assert answer.status == 404
    assert ui.get_by_role("heading", level=1).inner_text() == "Nothing here"
    assert ui.get_by_role("navigation", name="Main").get_by_role("link", name="Entities").is_visible()
    ui.screenshot(path=str(SHOTS / "graph-404.png"), full_page=True)
    ui.get_by_role("link", name="Text search").click()
    ui.wait_for_url(server.url + "/text")
    not_the_ui(ui.console, "/no/such/page")


def test_a_wrong_password_keeps_the_username(chromium, server):
    context = chromium.new_context(viewport=MOBILE)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert page.get_by_label("Username").input_value() == ADMIN
    expect(page.get_by_label("Password")).to_be_focused()
    assert fits(page) <= MOBILE["width"]
    page.screenshot(path=str(SHOTS / "graph-login-kept.png"))
    context.close()


def test_a_small_face_box_is_easy_to_tap_on_a_phone(chromium, ui, server, faces_dir, tmp_path):
    from PIL import Image

    portrait = Image.open(faces_dir / TEST_IMAGES / "obama.jpg").convert("RGB")
    wide = Image.new("RGB", (portrait.width * 4, portrait.height * 3), (200, 200, 200))  # a face far away
    wide.paste(portrait, (portrait.width, portrait.height))
    wide.save(tmp_path / "far.jpg")
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_label("Drop a photo here, or choose one").set_input_files(str(tmp_path / "far.jpg"))
    page.locator("#result").wait_for()
    face = page.locator("#overlay rect.face").first
    face.wait_for()
    face.scroll_into_view_if_needed()  # the mouse clicks in the viewport
    box = face.bounding_box()
    figure = page.locator("#overlay").bounding_box()
    assert box["width"] < 36, box  # small on a phone: the case this is for
    # 20 px from the face's centre (outside the drawn box, inside a 44 px target), on the side with room, picks it.
    centre = box["x"] + box["width"] / 2
    x = centre - 20 if centre - figure["x"] > 22 else centre + 20
    page.mouse.click(x, box["y"] + box["height"] / 2)
    expect(face).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=str(SHOTS / "graph-phone-face-target.png"))
    context.close()


def test_the_pages_touched_here_fit_a_phone_and_say_who_is_signed_in(chromium, ui, server):
    calder = entity_id(ui, server.url, "Calder Systems", "org")
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    console = Console()
    console.watch(page)
    widths = {}
    for name, path, ready in (
        ("entity", f"/graph/entity/{calder}", '#network[data-ready="true"]'),
        ("entities", "/graph", "#entities tbody tr"),
        ("text", "/text?q=the%20Calder", "#hits li.hit"),
        ("faces", "/", '[data-index-counts="faces"][data-empty]'),
        ("people", "/people", '[data-index-counts="people"][data-empty]'),
        ("404", "/no/such/page", "h1"),
    ):
        page.goto(server.url + path)
        page.locator(ready).first.wait_for()
        widths[name] = fits(page)
        who = page.locator("header .who")
        assert who.is_visible() and who.inner_text() == f"{ADMIN} (admin)", name
        page.screenshot(path=str(SHOTS / f"graph-phone-{name}.png"), full_page=True)
    context.close()
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    not_the_ui(console, "/no/such/page")
    assert not console.errors, console.errors


# ----------------------------------------------------------------------------------------------------
# A fresh installation: nothing indexed yet


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("empty")
    data = root / "data"
    with pytest.MonkeyPatch.context() as env:
        for name in SERVER_ENV:
            env.delenv(name, raising=False)
        done = run_cli(data, "users", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
        with running_serve(data, root / "serve.log") as (info, _process):
            yield info


def test_a_fresh_installation_says_what_to_do_on_every_search_page(chromium, empty_server):
    context = chromium.new_context(viewport=MOBILE)
    console = Console()
    context.on("page", console.watch)
    page = _sign_in(context, empty_server.url, ADMIN)
    console.watch(page)
    said = {}
    for name, path, line in (
        ("faces", "/", '[data-index-counts="faces"][data-empty="true"]'),
        ("text", "/text", '[data-index-counts="text"][data-empty="true"]'),
        ("people", "/people", '[data-index-counts="people"][data-empty="true"]'),
        ("entities", "/graph", "#status.empty"),
    ):
        page.goto(empty_server.url + path)
        said[name] = page.locator(line).inner_text()
        assert fits(page) <= MOBILE["width"], name
        page.screenshot(path=str(SHOTS / f"graph-empty-{name}.png"), full_page=True)
    page.goto(empty_server.url + "/graph")
    expect(page.locator("#more")).to_be_hidden()
    context.close()
    for name, text in said.items():
        assert text.startswith("Nothing is indexed yet — upload or ingest"), (name, text)
    assert not console.errors, console.errors
