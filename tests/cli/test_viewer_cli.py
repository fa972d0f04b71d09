"""`lookingglass show`: the evidence viewer's record of one object, as JSON or lines, here or through `serve`."""

from __future__ import annotations

import json

from cli_process import run_cli


def test_show_prints_the_viewer_record_of_an_object(tmp_path, test_images):
    data = tmp_path / "data"
    ingested = run_cli(data, "ingest", "--json", str(test_images / "obama.jpg"))
    assert ingested.returncode == 0, ingested.stderr
    found = json.loads(run_cli(data, "lookup", "--json", str(test_images / "obama2.jpg")).stdout)
    (match,) = found["faces"][0]["matches"]

    as_json = run_cli(data, "show", match["sha256"], "--json")
    as_lines = run_cli(data, "show", match["sha256"])
    missing = run_cli(data, "show", "0" * 64)

    view = json.loads(as_json.stdout)
    assert view["kind"] == "image" and [f["face_id"] for f in view["faces"]] == [match["face_id"]]
    assert match["view_url"] == f"/view/{match['sha256']}?face={match['face_id']}"
    assert as_lines.stdout.startswith("image  obama.jpg") and "1 face" in as_lines.stdout
    assert missing.returncode == 3, missing.stderr  # not found
