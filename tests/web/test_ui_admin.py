"""The admin console in a real browser (Debian's Chromium under Playwright) against a real `lookingglass serve`
(tests/ui_session.py: the admin "ada", the analyst "ann", obama.jpg and biden.jpg indexed).

Each flow is walked as an admin would, through the pages only, and its effect is checked from outside the browser:
a user added, disabled and given a new password signs in (or not) with their own form; a key made on the page
works from a script and stops when revoked; the CSV download holds the filtered entries; an erased and opted-out
person no longer matches, and their face is not indexed again. The tests run in file order (the audit test reads
what the key test did); screenshots go to test-artifacts/ui/admin-*.png.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
import requests

import browser
from ui_session import ADMIN, ANALYST, MOBILE, PASSWORD, SHOTS, TEST_IMAGES, Console

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")

NEW_USER = "bea"
NEW_PASSWORD = "a brand new passphrase 9"


def _sign_in(chromium, url: str, username: str, password: str):
    """A fresh browser context signing in with the form; the page after it (the search page, or /login again)."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def _accept_next_dialog(page) -> None:
    """The console asks before anything it cannot undo (window.confirm); Playwright would dismiss it."""
    page.once("dialog", lambda dialog: dialog.accept())


def test_admins_have_one_admin_entry_whose_overview_links_every_section(ui, server):
    ui.goto(server.url + "/admin")
    nav = ui.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Admin").get_attribute("aria-current") == "page"
    tabs = ui.get_by_role("navigation", name="Admin").get_by_role("link").all_inner_texts()
    assert tabs == ["Overview", "Users", "API keys", "Audit log", "Erasure and opt-outs"]
    expect(ui.locator("#users-summary")).to_have_text("2 users: 1 admin.")
    expect(ui.locator("#audit-summary")).to_contain_text("the hash chain is intact")
    expect(ui.locator("#optouts-summary")).to_have_text("0 faces opted out.")
    ui.screenshot(path=str(SHOTS / "admin-overview.png"), full_page=True)


def test_an_analyst_has_no_admin_entry_and_is_told_the_console_is_for_admins(chromium, server):
    page = _sign_in(chromium, server.url, ANALYST, PASSWORD)
    assert "Admin" not in page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    response = page.goto(server.url + "/admin/users")
    assert response.status == 403 and "admin role" in page.locator("main").inner_text()
    page.context.close()


def test_an_admin_adds_disables_enables_resets_the_password_of_and_promotes_a_user(ui, server, chromium):
    ui.goto(server.url + "/admin/users")
    ui.locator("#users tbody tr[data-user='ada']").wait_for()
    ui.get_by_label("Username").fill(NEW_USER)
    ui.get_by_label("Password (12 or more characters)").fill(PASSWORD)
    ui.get_by_role("button", name="Add user").click()
    expect(ui.locator("#status")).to_have_text(f"Added analyst {NEW_USER}; they can sign in now.")
    row = ui.locator(f"#users tbody tr[data-user='{NEW_USER}']")
    expect(row.locator(".pill")).to_have_text("active")

    ui.get_by_role("button", name=f"Disable {NEW_USER}").click()
    expect(row.locator(".pill")).to_have_text("disabled")
    refused = _sign_in(chromium, server.url, NEW_USER, PASSWORD)
    assert "Wrong username or password." in refused.locator("body").inner_text()
    refused.context.close()

    ui.get_by_role("button", name=f"Enable {NEW_USER}").click()
    expect(row.locator(".pill")).to_have_text("active")
    ui.get_by_role("button", name=f"Reset the password of {NEW_USER}").click()
    ui.get_by_label(f"New password for {NEW_USER}").fill(NEW_PASSWORD)
    ui.screenshot(path=str(SHOTS / "admin-users-reset-password.png"))
    ui.get_by_role("button", name="Set password").click()
    expect(ui.locator("#status")).to_have_text(f"Password of {NEW_USER} changed; their sessions ended.")
    ui.get_by_label(f"Role of {NEW_USER}").select_option("admin")
    expect(ui.locator("#status")).to_have_text(f"{NEW_USER} is now an admin.")
    ui.screenshot(path=str(SHOTS / "admin-users.png"), full_page=True)

    old = _sign_in(chromium, server.url, NEW_USER, PASSWORD)
    assert "Wrong username or password." in old.locator("body").inner_text()
    old.context.close()
    signed_in = _sign_in(chromium, server.url, NEW_USER, NEW_PASSWORD)
    assert not signed_in.url.split("?")[0].endswith("/login"), signed_in.url
    assert "Admin" in signed_in.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    signed_in.context.close()


def test_an_api_key_is_shown_once_works_from_a_script_and_stops_when_revoked(ui, server):
    ui.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    ui.goto(server.url + "/admin/keys")
    ui.get_by_label("Label (what it is for)").fill("notebook")
    ui.get_by_role("button", name="Create key").click()
    shown = ui.get_by_label("The new API key")
    expect(shown).to_have_value(re.compile(r"^lg_[0-9a-f]{12}_"))
    key = shown.input_value()
    assert "shown only this once" in ui.locator("#new-key .warning").inner_text()
    ui.get_by_role("button", name="Copy").click()
    expect(ui.locator("#status")).to_have_text("Copied to the clipboard.")
    assert ui.evaluate("navigator.clipboard.readText()") == key
    ui.screenshot(path=str(SHOTS / "admin-keys-created.png"), full_page=True)

    works = requests.get(server.url + "/search?q=Calder", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    ui.get_by_role("button", name="I have copied it").click()
    ui.reload()
    row = ui.locator("#keys tbody tr", has_text="notebook")
    expect(row.locator("[data-label='Last used'] time")).to_have_count(1)  # not "never": the script used it
    assert key not in ui.content()  # never shown again
    _accept_next_dialog(ui)
    ui.get_by_role("button", name="Revoke notebook").click()
    expect(ui.locator("#status")).to_have_text("Key notebook revoked.")
    expect(row).to_have_count(0)  # revoked keys are hidden unless asked for
    ui.get_by_label("Show revoked keys").check()
    expect(ui.locator("#keys tbody tr", has_text="notebook")).to_contain_text("revoked")
    refused = requests.get(server.url + "/search?q=Calder", headers={"Authorization": f"Bearer {key}"}, timeout=30)

    assert works.status_code == 200 and "hits" in works.json()
    assert refused.status_code == 401
    ui.screenshot(path=str(SHOTS / "admin-keys.png"), full_page=True)


def test_the_audit_log_filters_and_exports_the_filtered_entries_as_csv(ui, server):
    ui.goto(server.url + "/admin/audit")
    expect(ui.locator("#chain .pill")).to_have_text("intact")
    ui.locator("#entries tbody tr").first.wait_for()
    ui.get_by_label("Action").fill("key_created")
    ui.get_by_label("User").fill(ADMIN)
    ui.get_by_role("button", name="Filter").click()
    expect(ui.locator("#entries tbody tr")).to_have_count(1)
    row = ui.locator("#entries tbody tr")
    assert row.locator("[data-label='Action']").inner_text() == "key_created"
    assert row.locator("[data-label='User']").inner_text().startswith(ADMIN)
    assert "action=key_created" in ui.url and f"actor={ADMIN}" in ui.url  # the view can be linked to
    ui.screenshot(path=str(SHOTS / "admin-audit.png"), full_page=True)

    with ui.expect_download() as download:
        ui.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [(r["actor"], r["action"]) for r in rows] == [(ADMIN, "key_created")]

    ui.get_by_label("Action").fill("no_such_action")
    ui.get_by_role("button", name="Filter").click()
    expect(ui.locator("#status")).to_have_text("No entries match these filters.")
    ui.reload()  # the filters come back from the URL
    assert ui.get_by_label("Action").input_value() == "no_such_action"


def test_a_person_erased_from_a_photo_with_an_opt_out_no_longer_matches_and_is_not_indexed_again(ui, server, faces_dir):
    from lookingglass.sources.sightings import Sighting
    from lookingglass.web.client import ServerClient

    photos = faces_dir / TEST_IMAGES
    client = ServerClient(server)
    before = client.call("POST", "/lookup", files={"image": ("q.jpg", (photos / "obama.jpg").read_bytes())})
    assert before["faces"][0]["matches"], "obama.jpg is indexed by the session's server"

    ui.goto(server.url + "/admin/erasure")
    ui.get_by_label("Photo").set_input_files(str(photos / "obama.jpg"))
    ui.get_by_role("button", name="Preview what would be erased").click()
    ticked = ui.locator("#preview-matches input.erase-pick")
    ticked.first.wait_for()
    found = ticked.count()
    assert found == len(before["faces"][0]["matches"])
    assert all(box.is_checked() for box in ticked.all())
    assert re.match(rf"{found} indexed faces? match", ui.locator("#preview-summary").inner_text())
    ui.locator("#preview-matches .thumb svg").first.wait_for()
    ui.get_by_label("Note for the opt-out list (why; a request number)").fill("request #17")
    assert ui.get_by_label("Opt out: never index this face again (checked at every ingest)").is_checked()
    ui.screenshot(path=str(SHOTS / "admin-erasure-preview.png"), full_page=True)
    _accept_next_dialog(ui)
    ui.get_by_role("button", name="Erase the ticked faces").click()
    expect(ui.locator("#status")).to_contain_text(f"Erased {found} face")
    expect(ui.locator("#status")).to_contain_text("it will not be indexed again")
    expect(ui.locator("#optouts tbody tr", has_text="request #17")).to_have_count(1)
    ui.screenshot(path=str(SHOTS / "admin-erasure-done.png"), full_page=True)

    after = client.call("POST", "/lookup", files={"image": ("q.jpg", (photos / "obama.jpg").read_bytes())})
    again = client.store_bytes(
        (photos / "obama2.jpg").read_bytes(), "obama2.jpg", Sighting(source_url="https://example.org/obama2.jpg")
    )
    biden = client.call("POST", "/lookup", files={"image": ("q.jpg", (photos / "biden.jpg").read_bytes())})

    assert after["faces"][0]["matches"] == []
    assert again["faces"] == 0  # another photo of the same face: refused by the opt-out
    assert biden["faces"][0]["matches"], "everyone else stays"

    _accept_next_dialog(ui)
    ui.get_by_role("button", name=re.compile(r"^Withdraw opt-out ")).click()
    expect(ui.locator("#status")).to_have_text("Opt-out withdrawn.")
    expect(ui.locator("#optouts-count")).to_have_text("(0)")


def test_every_admin_page_fits_a_375_pixel_wide_screen(chromium, ui, server):
    context = chromium.new_context(viewport=MOBILE, storage_state=ui.context.storage_state())
    page = context.new_page()
    console = Console()
    console.watch(page)
    visits = {
        "overview": ("/admin", "#users-summary:not(:empty)"),
        "users": ("/admin/users", "#users tbody tr"),
        "keys": ("/admin/keys", "#keys tbody tr"),
        "audit": ("/admin/audit", "#entries tbody tr"),
        "erasure": ("/admin/erasure", "#optouts tbody tr"),
    }
    widths = {}
    for name, (path, ready) in visits.items():
        page.goto(server.url + path)
        page.locator(ready).first.wait_for()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(SHOTS / f"admin-mobile-{name}.png"), full_page=True)
    context.close()
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    assert not console.errors, console.errors
