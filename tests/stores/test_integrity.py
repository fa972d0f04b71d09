"""Damaged store files are refused with one line naming the file and what to do; never a wrong answer, never a
traceback. `check` finds them, `rebuild-index` re-derives what is derived, and the data dir is private."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from cli_process import run_cli
from conftest import authorized_client
from lookingglass.pipeline.submit import ingest_file
from lookingglass.stores.private.accounts import AccountStore
from lookingglass.stores.private.audit import AuditLog
from lookingglass.stores.text import EdgeTextIndex, TextDoc
from lookingglass.stores.vectors import score_problem


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, test_images) -> Path:
    """A data dir with two photos indexed by the CLI, a few text documents, an account and an audit log."""
    data = tmp_path_factory.mktemp("pristine") / "data"
    photos = [str(test_images / name) for name in ("obama.jpg", "biden.jpg")]
    result = run_cli(data, "ingest", "--quiet", *photos)
    assert result.returncode == 0, result.stderr
    text = EdgeTextIndex(data)
    text.upsert([TextDoc.make("a" * 64, i, f"the quick brown fox number {i}", kind="transcript") for i in range(5)])
    text.close()
    AccountStore.open(data).add_user("ada", "a long enough passphrase", "admin")
    AuditLog.open(data)
    return data


@pytest.fixture
def data(pristine, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture(scope="module")
def query(test_images) -> str:
    return str(test_images / "obama2.jpg")


def faces_shard(data: Path) -> Path:
    (shard,) = [p for p in (data / "vectors").iterdir() if p.name.startswith("faces_")]
    return shard


def segment_file(shard: Path, pattern: str) -> Path:
    found = sorted(shard.glob(f"segments/*/{pattern}"), key=lambda p: p.stat().st_size, reverse=True)
    assert found, pattern
    return found[0]


def scribble(path: Path) -> None:
    """Random bytes over the whole file, keeping its size (what a bad disk or a stray `dd` does)."""
    path.write_bytes(os.urandom(path.stat().st_size))


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def assert_refused(result, names: str) -> None:
    """Exit 5, one line on stderr naming the damaged file and a way out, no traceback, nothing on stdout."""
    assert result.returncode == 5, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert names in line, line
    assert "restore" in line
    assert result.stdout == ""


def lookup(data: Path, query: str):
    return run_cli(data, "lookup", "--json", query)


def test_an_intact_data_dir_finds_the_same_person(data, query):
    result = lookup(data, query)
    assert result.returncode == 0, result.stderr
    (face,) = json.loads(result.stdout)["faces"]
    assert [m["source_url"].rsplit("/", 1)[-1] for m in face["matches"]] == ["obama.jpg"]


@pytest.mark.parametrize(
    "damage, pattern",
    [
        (scribble, "vector_storage/vectors/chunk_0.mmap"),  # scores of 1e37 for other people, before
        (truncate, "vector_storage/vectors/chunk_0.mmap"),  # a raw engine exception on the first search, before
        (truncate, "*id_tracker.mappings"),  # points silently gone, before
        (scribble, "*id_tracker.versions"),
        (truncate, "payload_storage/page_0.dat"),
    ],
    ids=["chunk-random", "chunk-truncated", "id-tracker-truncated", "id-versions-random", "payload-truncated"],
)
def test_a_damaged_face_index_is_refused_naming_the_file(data, query, damage, pattern):
    target = segment_file(faces_shard(data), pattern)
    damage(target)

    result = lookup(data, query)

    assert_refused(result, str(faces_shard(data)))
    assert "rebuild-index" in result.stderr
    if damage is truncate or target.stat().st_size <= 4 << 20:  # sizes and small files' digests name the file
        assert target.name in result.stderr


def test_after_a_crash_random_vectors_are_still_caught_by_reading_a_sample_back(data, query):
    shard = faces_shard(data)
    (shard / "lookingglass-integrity.json").unlink()  # as after kill -9: no clean close to compare with
    scribble(segment_file(shard, "vector_storage/vectors/chunk_0.mmap"))

    result = lookup(data, query)

    assert_refused(result, str(shard))
    assert "its vector" in result.stderr  # not finite, or not unit length: read back


def test_a_damaged_text_index_is_refused(data):
    target = segment_file(data / "text", "payload_storage/page_0.dat")
    scribble(target)

    result = run_cli(data, "search", "--json", "fox")

    assert_refused(result, "text")


@pytest.mark.parametrize("name", ["graph.sqlite3", "accounts.sqlite3", "audit.sqlite3"])
def test_a_sqlite_file_that_is_not_a_database_is_one_line_not_a_traceback(data, query, name):
    for leftover in (data / f"{name}-wal", data / f"{name}-shm"):
        leftover.unlink(missing_ok=True)
    scribble(data / name)

    result = run_cli(data, "users", "list") if name == "accounts.sqlite3" else lookup(data, query)

    assert_refused(result, name)


def test_serve_refuses_to_start_on_a_damaged_index(data):
    target = segment_file(faces_shard(data), "vector_storage/vectors/chunk_0.mmap")
    truncate(target)

    result = run_cli(data, "serve", "--port", "0", timeout=60)

    assert result.returncode == 5, result.stderr
    assert "Traceback" not in result.stderr and target.name in result.stderr


def test_a_search_score_outside_the_cosine_range_is_damage():
    assert score_problem(6e37) and score_problem(float("nan")) and score_problem(-1.5)
    assert score_problem(1.0000001) is None and score_problem(-1.0) is None


def test_damage_found_while_serving_makes_requests_503_and_health_down(app, admin_headers, test_images):
    ingest_file(app, test_images / "obama.jpg")
    client = authorized_client(app, admin_headers)
    assert client.get("/health").status_code == 200
    payload = segment_file(app.faces.path, "payload_storage/page_0.dat")
    with open(payload, "r+b") as handle:  # the engine maps this file: damage it under the running index
        handle.write(os.urandom(1 << 16))

    photo = (test_images / "obama2.jpg").read_bytes()
    response = client.post(
        "/lookup", data={"image": (io.BytesIO(photo), "obama2.jpg")}, content_type="multipart/form-data"
    )

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "corrupt_store"
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json()["backends"]["faces"]["ok"] is False


def test_check_passes_an_intact_dir_and_names_every_damaged_store(data):
    clean = run_cli(data, "check", "--deep", "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["errors"] == 0

    truncate(segment_file(faces_shard(data), "*id_tracker.mappings"))
    scribble(data / "audit.sqlite3")
    result = run_cli(data, "check", "--deep")

    assert result.returncode == 5
    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(errors) == 2
    assert any("id_tracker.mappings" in line for line in errors)
    assert any("audit.sqlite3" in line for line in errors)
    assert "text" in result.stdout and "graph.sqlite3" in result.stdout  # the others were still checked


def test_rebuild_index_restores_the_same_lookup_results(data, query):
    before = json.loads(lookup(data, query).stdout)
    scribble(segment_file(faces_shard(data), "vector_storage/vectors/chunk_0.mmap"))
    scribble(data / "graph.sqlite3")
    assert lookup(data, query).returncode == 5

    rebuilt = run_cli(data, "rebuild-index", "--json", "--quiet")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["faces"] == 2
    after = lookup(data, query)
    assert after.returncode == 0, after.stderr

    def matches(body: dict) -> list[tuple[str, float]]:
        return [(m["sha256"], round(m["score"], 4)) for f in body["faces"] for m in f["matches"]]

    assert matches(json.loads(after.stdout)) == matches(before)
    assert not list(data.glob(".rebuild-*"))  # the damaged files were removed once the rebuild worked


def test_the_data_dir_is_private_whatever_the_umask(tmp_path, test_images):
    data = tmp_path / "data"
    previous = os.umask(0o022)  # the CLI child inherits the shell's usual umask
    try:
        result = run_cli(data, "ingest", "--quiet", str(test_images / "obama.jpg"))
    finally:
        os.umask(previous)
    assert result.returncode == 0, result.stderr

    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")] if not p.is_symlink()}
    assert any("vectors" in str(p) for p in modes) and (data / "graph.sqlite3") in modes
    loose = {str(p.relative_to(data)): oct(m) for p, m in modes.items() if m & 0o077}
    assert loose == {}

    (data / "graph.sqlite3").chmod(0o644)
    check = run_cli(data, "check")
    assert check.returncode == 0, check.stderr
    assert "graph.sqlite3 is 0644" in check.stdout and "warning" in check.stdout
