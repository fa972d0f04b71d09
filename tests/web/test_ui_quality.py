"""The entity page's parts from issue 17, in Chromium: each organisation it shares people with says who and why (the
relation on each side), and the possible-duplicates control loads without a console error or CSP refusal (the `ui`
fixture fails the test on either). The corpus has no near-duplicate names, so the section stays hidden here; the
merge itself is tested through the service and the command line (tests/pipeline/test_graph_merges.py)."""

from __future__ import annotations

import re

from ui_session import SHOTS


def test_shared_people_show_each_persons_relation_on_both_sides(ui, server):
    ui.goto(server.url + "/graph")
    ui.get_by_label("Name contains").fill("calder")
    ui.get_by_role("button", name="Search").click()
    ui.locator("#entities tbody tr").get_by_role("link", name="Calder Systems", exact=True).click()
    ui.wait_for_url(re.compile(r"/graph/entity/"))
    ui.locator("#shared-people li").first.wait_for()

    shared = ui.locator("#shared-people").inner_text()
    assert "Priya Raman: member of here" in shared  # "sits on the board of Calder Systems"
    assert "founded Brightwater Labs" in shared
    assert ui.locator("#merge-section").is_hidden()
    ui.screenshot(path=str(SHOTS / "quality-shared-ties.png"), full_page=True)
