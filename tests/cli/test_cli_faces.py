"""ingest, lookup and forget reach the same services whether the CLI opens the data dir itself or goes through the
`serve` that owns it: same records, and one audit record per call, written by the service on both surfaces."""

from __future__ import annotations

import hashlib
import json

from cli_process import run_cli
from lookingglass.stores.private.audit import AuditLog
from serve_process import running_serve


def test_ingest_lookup_and_forget_answer_the_same_here_and_through_serve(tmp_path, test_images):
    data = tmp_path / "data"
    obama, biden, query = (test_images / n for n in ("obama.jpg", "biden.jpg", "obama2.jpg"))
    ingested_here = run_cli(data, "ingest", "--json", "--quiet", str(obama))
    here = run_cli(data, "lookup", "--json", "--threshold", "-1", str(query))
    with running_serve(data, tmp_path / "serve.log"):
        ingested_there = run_cli(data, "ingest", "--json", "--quiet", str(biden))
        through_serve = run_cli(data, "lookup", "--json", "--threshold", "-1", str(query))
        as_text = run_cli(data, "lookup", str(query))
        forgotten = run_cli(data, "forget", "--json", hashlib.sha256(biden.read_bytes()).hexdigest())
    after = run_cli(data, "lookup", "--json", "--threshold", "-1", str(query))

    results = (ingested_here, here, ingested_there, through_serve, as_text, forgotten, after)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    for ingested in (ingested_here, ingested_there):
        assert json.loads(ingested.stdout) | {"error_details": []} == {
            "files": 1,
            "objects": 1,
            "faces": 1,
            "entities": 0,
            "queued": 0,
            "errors": 0,
            "error_details": [],
        }
    (face_here,) = json.loads(here.stdout)["faces"]
    (face_there,) = json.loads(through_serve.stdout)["faces"]
    assert [m["source_url"].rsplit("/", 1)[1] for m in face_there["matches"]] == ["obama.jpg", "biden.jpg"]
    assert face_there["matches"][0] == face_here["matches"][0]  # the same record, whoever answered
    assert "annotated_png" not in json.loads(through_serve.stdout)  # only when asked for
    assert as_text.stdout.startswith("face 1 [") and "1 matches" in as_text.stdout  # the default threshold: obama
    assert "obama.jpg" in as_text.stdout and "biden.jpg" not in as_text.stdout
    assert json.loads(forgotten.stdout)["faces_removed"] == 1
    assert len(json.loads(after.stdout)["faces"][0]["matches"]) == 1
    entries = list(reversed(AuditLog.open(data).entries()))  # oldest first
    assert [e.action for e in entries] == ["upload", "lookup", "upload", "lookup", "lookup", "forget", "lookup"]
    here_actor, serve_actor = entries[0].actor, entries[2].actor
    assert here_actor.startswith("cli:") and serve_actor != here_actor  # through serve: serve's local token
    assert [e.actor for e in entries] == [here_actor] * 2 + [serve_actor] * 4 + [here_actor]


def test_lookup_help_explains_and_bad_options_are_usage_errors(tmp_path, test_images):
    query = str(test_images / "obama.jpg")
    helped = run_cli(tmp_path / "data", "lookup", "--help")
    zero = run_cli(tmp_path / "data", "lookup", query, "--top-k", "0")
    far = run_cli(tmp_path / "data", "lookup", query, "--threshold", "2")
    wait = run_cli(tmp_path / "data", "ingest", "--wait", "--timeout", "soon", query)

    assert helped.returncode == 0 and "--top-k" in helped.stdout and "--json" in helped.stdout
    assert zero.returncode == 2 and "--top-k" in zero.stderr
    assert far.returncode == 2 and "--threshold" in far.stderr
    assert wait.returncode == 2 and "--timeout" in wait.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.jpg"))  # nothing was stored
