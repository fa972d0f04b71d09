"""The CLI reaches the same service whether it opens the data dir itself or goes through the `serve` that owns it:
same records, same audit trail, one command body. Text search is the example every command follows."""

from __future__ import annotations

import json
from pathlib import Path

from cli_process import run_cli
from lookingglass.stores.private.audit import AuditLog
from serve_process import running_serve

CORPUS = Path(__file__).parents[1] / "data" / "graph_corpus"


def test_search_answers_the_same_here_and_through_serve(tmp_path):
    data = tmp_path / "data"
    page = CORPUS / "calder-board.html"
    assert run_cli(data, "ingest", "--quiet", str(page)).returncode == 0

    here = run_cli(data, "search", "--json", "--kind", "page", "Calder board")
    with running_serve(data, tmp_path / "serve.log"):
        through_serve = run_cli(data, "search", "--json", "--kind", "page", "Calder board")
        as_text = run_cli(data, "search", "Calder board")

    assert here.returncode == through_serve.returncode == as_text.returncode == 0, here.stderr + through_serve.stderr
    hits = json.loads(here.stdout)["hits"]
    assert hits and json.loads(through_serve.stdout) == json.loads(here.stdout)
    assert "**" in hits[0]["snippet"] and "<mark>" not in hits[0]["snippet"]  # a terminal's marks, both ways
    assert "calder-board.html" in as_text.stdout
    searches = [e for e in AuditLog.open(data).entries() if e.action == "search"]
    assert [e.query for e in searches] == ["Calder board"] * 3  # written by the service, once per call
    assert searches[-1].actor.startswith("cli:")  # here: the local user
    assert searches[0].actor != searches[-1].actor  # through serve: serve's local token


def test_search_help_explains_and_a_bad_option_is_a_usage_error(tmp_path):
    helped = run_cli(tmp_path / "data", "search", "--help")
    bad = run_cli(tmp_path / "data", "search", "x", "--limit", "0")

    assert helped.returncode == 0 and "a phrase" in helped.stdout and "--json" in helped.stdout
    assert bad.returncode == 2 and "--limit" in bad.stderr
