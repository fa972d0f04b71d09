"""Working from the browser (issue 15) in Chromium against a real `serve`: a folder's worth of files uploaded and
each processed with its result, a crawl of a local site started and followed to its end, a failed job on the queue
page by its file name and reason, run again and removed, and both pages at phone width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import browser
from crawl_site import serve_site
from ui_session import ANALYST, MOBILE, SHOTS, TEST_IMAGES, Console, _sign_in

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")

BROKEN = b"\xff\xd8\xff\xe0" + b"\x00" * 200  # starts like a JPEG, then nothing that decodes
PAGE = b"""<!doctype html><html><head><title>Harbour notes</title></head><body><main><h1>Harbour notes</h1>
<p>Mara Lindqvist, the chief engineer of Calder Systems, opened the new harbour office in Norhaven on Monday.</p>
<p>Calder Systems said the office would employ forty people by the end of the year.</p></main></body></html>"""


@pytest.fixture(scope="module", autouse=True)
def _local_crawls_allowed():
    """The test site is on 127.0.0.1, which the crawler refuses unless told: the server (and the crawl it starts)
    allow it. Autouse fixtures of a scope come first, so `serve` starts with these."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LG_CRAWL_ALLOW_PRIVATE", "127.0.0.1")
        env.setenv("LG_CRAWL_DELAY", "0")  # robots.txt's Crawl-delay still holds
        yield


@pytest.fixture(scope="module")
def site(faces_dir):
    site, server = serve_site(faces_dir)
    yield site
    server.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, faces_dir: Path, no_face_photo: Path) -> Path:
    """A folder as someone would pick it: three photos of a face, a picture of none, a damaged photo, a page."""
    folder = tmp_path_factory.mktemp("holiday")
    for name in ("obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"):
        (folder / name).write_bytes((faces_dir / TEST_IMAGES / name).read_bytes())
    (folder / "landscape.png").write_bytes(no_face_photo.read_bytes())
    (folder / "broken.jpg").write_bytes(BROKEN)
    (folder / "harbour.html").write_bytes(PAGE)
    return folder


def _row(page, name: str):
    return page.locator("#upload-list li.upload", has=page.locator(".name", has_text=name))


def test_a_folder_of_files_is_uploaded_and_each_gets_its_result(ui, server, folder):
    ui.goto(server.url + "/upload")
    nav = ui.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Upload").get_attribute("aria-current") == "page"

    ui.get_by_label("Drop files or a folder here, or choose them").set_input_files(sorted(folder.iterdir()))
    rows = ui.locator("#upload-list li.upload")
    expect(rows).to_have_count(6)
    for row in rows.all():  # each ends done, without a face, or failed: none stays waiting
        expect(row).to_have_attribute("data-state", re.compile("^(done|no-face|failed)$"), timeout=120_000)
    ui.screenshot(path=str(SHOTS / "workbench-upload.png"), full_page=True)

    for name in ("obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"):
        assert _row(ui, name).get_attribute("data-state") == "done"
        assert re.fullmatch(r"Photo: \d+ faces? found\.", _row(ui, name).locator(".result-line").inner_text())
    assert _row(ui, "landscape.png").locator(".result-line").inner_text() == "Photo: no face found."
    assert re.fullmatch(
        r"Page: page read: \d+ names? found\.", _row(ui, "harbour.html").locator(".result-line").inner_text()
    )
    broken = _row(ui, "broken.jpg")
    assert broken.get_attribute("data-state") == "failed"
    reason = broken.locator(".result-line").inner_text()
    assert "damaged or missing" in reason, reason
    assert not re.search(r"Error|Exception|\\x|b'|\b[0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}\b", reason), reason
    assert ui.locator("#upload-status").inner_text() == "6 files · 5 done · 1 failed"
    # Chromium logs the broken file's answer (400: nothing could be processed), the one answer of its kind here
    # (the admin's page is watched twice: once as the context's page, once as itself).
    refused = [e for e in ui.console.errors if "status of 400" in e and e.endswith("/objects")]
    assert refused and set(refused) == {refused[0]}, ui.console.errors
    ui.console.errors[:] = [e for e in ui.console.errors if e not in refused]


def test_a_crawl_started_from_the_browser_shows_its_progress_and_ends(ui, server, site):
    ui.goto(server.url + "/upload")
    ui.get_by_label("Start URL").fill(site.url("/"))
    ui.get_by_label("What to store").select_option("image")
    ui.get_by_label("Pages at most").fill("4")
    ui.get_by_label("Link depth").fill("1")
    ui.get_by_role("button", name="Start crawl").click()
    ui.locator("#crawl-status").filter(has_text="started").wait_for()
    crawl = ui.locator("#crawl-list li.crawl").first
    expect(crawl).to_have_attribute("data-state", "finished", timeout=180_000)
    ui.screenshot(path=str(SHOTS / "workbench-crawl.png"), full_page=True)

    counts = crawl.locator(".counts").inner_text()
    pages = int(re.search(r"(\d+) pages? fetched", counts).group(1))
    stored = int(re.search(r"(\d+) files? stored", counts).group(1))
    assert 1 <= pages <= 4 and stored >= 1, counts
    assert re.search(r"\d+ faces? indexed", counts), counts
    assert crawl.locator(".url").first.inner_text() == site.url("/")
    crawler_hits = [hit for hit in site.hits if hit.path == "/robots.txt"]
    assert crawler_hits and all(hit.user_agent.startswith("LookingGlass/") for hit in crawler_hits)


def test_a_failed_job_shows_its_file_and_reason_runs_again_on_retry_and_goes_on_remove(ui, server, folder):
    ui.goto(server.url + "/queue")
    failed = ui.locator("#failed li", has_text="broken.jpg")
    failed.wait_for()
    assert "damaged or missing" in failed.locator(".reason").inner_text()
    assert "photo" in failed.inner_text() and "find faces" in failed.inner_text()
    assert "process_image(" not in failed.inner_text()
    faces = ui.locator("#queues tbody tr", has_text="faces")
    expect(faces.locator("progress")).to_have_count(1)
    assert re.search(r"\d+ of \d+ done", faces.locator(".progress-col").inner_text())
    ui.screenshot(path=str(SHOTS / "workbench-queue-failed.png"), full_page=True)

    ui.get_by_role("button", name="Retry broken.jpg").click()
    ui.locator("#failed-status").filter(has_text="broken.jpg ran again and failed").wait_for(timeout=60_000)
    assert "damaged or missing" in ui.locator("#failed-status").inner_text()
    ui.locator("#failed li", has_text="broken.jpg").wait_for()  # failed again, on the same bytes

    ui.get_by_role("button", name="Remove broken.jpg").click()
    ui.locator("#failed-status").filter(has_text="failed job removed").wait_for()
    expect(ui.locator("#failed li", has_text="broken.jpg")).to_have_count(0)
    ui.screenshot(path=str(SHOTS / "workbench-queue-removed.png"), full_page=True)


def test_an_analyst_may_upload_and_crawl_but_has_no_queue(chromium, server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = _sign_in(context, server.url, ANALYST)
    nav = page.get_by_role("navigation", name="Main")
    assert "Upload" in nav.get_by_role("link").all_inner_texts()
    assert "Queue" not in nav.get_by_role("link").all_inner_texts()
    page.goto(server.url + "/upload")
    expect(page.get_by_role("button", name="Start crawl")).to_be_enabled()
    context.close()


def test_the_upload_and_queue_pages_fit_a_phone(chromium, ui, server):
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    console = Console()
    console.watch(page)
    widths = {}
    for name, path, ready in (("upload", "/upload", "#crawl-list li"), ("queue", "/queue", "#backends li")):
        page.goto(server.url + path)
        page.locator(ready).first.wait_for()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(SHOTS / f"workbench-mobile-{name}.png"), full_page=True)
    context.close()
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    assert not console.errors, console.errors
