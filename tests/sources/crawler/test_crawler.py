"""`lookingglass crawl` against a real site on 127.0.0.1 (tests/crawl_site.py), run as a user runs it.

One polite crawl of the whole site is shared by most tests (it takes a few seconds: robots.txt asks for a
Crawl-delay); rendering, refusal and resuming get crawls of their own.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cli_process import run_cli
from crawl_site import ARCHIVE, CRAWL_DELAY, HUGE, Site, serve_proxy, serve_site
from lookingglass.app import build
from lookingglass.errors import PARTIAL_FAILURE_EXIT
from lookingglass.settings import Settings
from serve_process import running_serve
from waiting import wait_for

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
TEST_IMAGES = "face_recognition_ageitgey/tests/test_images"


def crawl_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lookingglass.cli", "crawl", *args, "--json", "--delay", "0"]


def crawl_env(data_dir: Path, allow_private: bool = True, **extra: str) -> dict:
    env = {**os.environ, "LG_DATA_DIR": str(data_dir), **extra}
    env.pop("LG_CRAWL_ALLOW_PRIVATE", None)
    if allow_private:
        env["LG_CRAWL_ALLOW_PRIVATE"] = "127.0.0.1"
    return env


def crawl(data_dir: Path, *args: str, allow_private: bool = True, **env: str) -> tuple[int, dict]:
    result = subprocess.run(
        crawl_command(*args),
        env=crawl_env(data_dir, allow_private, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def lookup(data_dir: Path, photo: Path) -> dict:
    result = run_cli(data_dir, "lookup", str(photo), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_objects(data_dir: Path) -> list:
    app = build(Settings(data_dir=data_dir))
    try:
        return list(app.objects.list())
    finally:
        app.close()


def with_source(objects: list, path: str) -> list:
    return [o for o in objects if any(u.endswith(path) for u in o.metadata.get("source_urls", []))]


@pytest.fixture(scope="module")
def site(faces_dir):
    site, server = serve_site(faces_dir)
    yield site
    server.shutdown()


@pytest.fixture(scope="module")
def full_crawl(site: Site, tmp_path_factory):
    """The whole site, mode all, no rendering: (summary, data dir, the paths the site was asked for)."""
    data_dir = tmp_path_factory.mktemp("crawl") / "data"
    start = len(site.hits)
    code, summary = crawl(data_dir, site.url("/"))
    assert code == PARTIAL_FAILURE_EXIT, summary  # finished; /broken.html's photos failed
    assert summary["errors"] >= 3
    return summary, data_dir, site.hits[start:]


def test_the_crawler_says_who_it_is_and_asks_robots_txt_first(full_crawl):
    summary, _, hits = full_crawl
    assert hits[0].path == "/robots.txt"
    agents = {h.user_agent for h in hits}
    assert agents == {summary["user_agent"]}
    assert summary["user_agent"].startswith("LookingGlass/") and "(+https://" in summary["user_agent"]


def test_what_robots_txt_disallows_is_never_requested(full_crawl):
    summary, _, hits = full_crawl
    assert not [h.path for h in hits if h.path.startswith("/private/")]
    assert summary["robots_forbidden"] >= 1
    assert {"url": summary["start_url"] + "private/secret.html", "category": "robots",
            "reason": "disallowed by robots.txt"} in summary["skipped_urls"]  # fmt: skip


def test_the_crawl_delay_asked_for_in_robots_txt_is_kept(full_crawl):
    _, _, hits = full_crawl
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits[1:])]  # after robots.txt was read
    assert len(gaps) > 10
    # Measured where the site sees the requests arrive. The delay counts from the end of the previous request, so
    # no scheduling noise can bring two closer (Scrapy's own count, from when a request is queued, let a busy
    # crawler send two 4 ms apart); without the delay the gaps are a few milliseconds.
    assert min(gaps) >= CRAWL_DELAY, gaps


def test_the_same_photo_on_two_pages_is_stored_once_with_every_place_it_was_seen(full_crawl):
    summary, data_dir, hits = full_crawl
    objects = stored_objects(data_dir)
    obama = with_source(objects, "/img/obama.jpg")
    assert len(obama) == 1
    meta = obama[0].metadata
    root = summary["start_url"]
    assert set(meta["page_urls"]) == {root + "people.html", root + "team.html"}
    # The same bytes under a second URL are the same object too.
    assert set(meta["source_urls"]) == {root + "img/obama.jpg", root + "copies/obama.jpg"}
    assert {s["alt"] for s in meta["sightings"]} == {"Barack Obama at the launch", "Team day", "Press photo"}
    assert {s["page_title"] for s in meta["sightings"]} == {"Our people", "The team"}
    assert meta["crawled_at"]
    # Downloaded once although shown twice (and the tracking parameter did not make it a second URL).
    assert [h.path.split("?")[0] for h in hits].count("/img/obama.jpg") == 1


def test_bad_files_are_skipped_with_their_reasons(full_crawl, site):
    summary, data_dir, hits = full_crawl
    root = summary["start_url"]
    reasons = {s["url"]: s for s in summary["skipped_urls"]}
    assert reasons[root + "img/missing.jpg"]["reason"] == "HTTP 404"
    assert reasons[root + "img/huge.jpg"]["category"] == "too_large"
    assert reasons[root + "img/fake.jpg"]["category"] == "not_media"
    assert "HTML page" in reasons[root + "img/fake.jpg"]["reason"]
    assert [s for s in summary["skipped_urls"] if s["category"] == "redirects"]  # the endless chain stopped
    assert reasons["http://169.254.169.254/latest/meta-data/"]["category"] == "refused_address"  # via a redirect
    assert site.bytes_sent < HUGE / 4  # the 50 MB "image" was refused from its Content-Length, not downloaded
    assert [h.path for h in hits].count("/loop/a") == 1  # the loop is not followed round
    for bad in ("img/missing.jpg", "img/huge.jpg", "img/fake.jpg"):
        assert not with_source(stored_objects(data_dir), bad)


def test_pages_are_stored_for_the_entity_graph_with_url_title_and_fetch_time(full_crawl):
    summary, data_dir, _ = full_crawl
    pages = {o.metadata["source_urls"][0]: o for o in stored_objects(data_dir) if o.kind == "page"}
    root = summary["start_url"]
    assert {root, root + "people.html", root + "team.html", root + "gallery.html"} <= set(pages)
    people = pages[root + "people.html"]
    assert people.metadata["sightings"][0]["page_title"] == "Our people"
    assert people.metadata["crawled_at"]
    assert all("graph" in page.metadata.get("processed", {}) for page in pages.values())  # read for the graph
    assert summary["pages_stored"] == len(pages)


def test_the_js_gallery_is_empty_without_rendering(full_crawl):
    _, data_dir, hits = full_crawl
    assert not [h for h in hits if h.path.startswith("/img/gallery/")]
    assert not with_source(stored_objects(data_dir), "/img/gallery/kit1.jpeg")


def test_after_the_crawl_a_face_lookup_returns_the_page_where_it_was_published(full_crawl, faces_dir):
    summary, data_dir, _ = full_crawl
    assert summary["processing"]["faces"] >= 2  # Obama and Biden; the dogs have none
    result = lookup(data_dir, faces_dir / TEST_IMAGES / "obama2.jpg")  # another photo of the same man
    best = result["faces"][0]["matches"][0]
    root = summary["start_url"]
    assert best["source_url"] in {root + "img/obama.jpg", root + "copies/obama.jpg"}  # whichever came first
    assert best["page_url"] in {root + "people.html", root + "team.html"}
    assert best["page_title"] in {"Our people", "The team"}
    biden = lookup(data_dir, faces_dir / "face_recognition_ageitgey/examples/knn_examples/train/biden/biden2.jpg")
    assert biden["faces"][0]["matches"][0]["page_url"] == root + "people.html"  # found through its og:image


@needs_chromium
@pytest.mark.parametrize("render", ["always", "auto"])
def test_the_js_gallery_is_found_with_rendering(site, tmp_path, render):
    code, summary = crawl(tmp_path / "data", site.url("/gallery.html"), "--render", render, "--depth", "0")
    assert code == 0, summary
    gallery = [o for o in stored_objects(tmp_path / "data") if o.kind == "image"]
    assert sorted(o.metadata["source_urls"][0].rsplit("/", 1)[1] for o in gallery) == ["kit1.jpeg", "rose1.jpg"]
    assert {o.metadata["page_urls"][0] for o in gallery} == {site.url("/gallery.html")}
    assert summary["processing"]["faces"] == 2
    if render == "auto":
        assert summary["rendered"] == 1  # fetched plainly first, then again with Chromium


def test_private_addresses_are_refused_unless_allow_listed(site, tmp_path):
    start = len(site.hits)
    code, summary = crawl(tmp_path / "data", site.url("/"), allow_private=False)
    assert code == 1 and summary["pages"] == 0
    assert summary["skipped_urls"][0]["category"] == "refused_address"
    assert "LG_CRAWL_ALLOW_PRIVATE" in summary["skipped_urls"][0]["reason"]
    assert len(site.hits) == start  # not even robots.txt was asked for


def test_page_object_and_byte_budgets_end_the_crawl(site, tmp_path):
    _, pages = crawl(tmp_path / "pages", site.url("/archive.html"), "--mode", "page", "--max-pages", "3")
    assert pages["pages"] == 3 and pages["finish_reason"] == "finished"
    _, objects = crawl(tmp_path / "objects", site.url("/"), "--mode", "image", "--max-objects", "1")
    assert objects["media_stored"] == 1
    _, budget = crawl(tmp_path / "bytes", site.url("/"), "--mode", "image", "--max-bytes", "100000")
    assert budget["finish_reason"] == "byte_budget"
    assert 100_000 <= budget["bytes"] < 2_000_000  # stopped soon after the budget, not at the end of the site


def test_one_configured_egress_proxy_carries_every_request(site, tmp_path):
    proxy, server = serve_proxy()
    try:
        start = len(site.hits)
        code, summary = crawl(tmp_path / "data", site.url("/people.html"), "--depth", "0", LG_CRAWL_PROXY=proxy.url)
    finally:
        server.shutdown()
    assert code == 0 and summary["media_stored"] == 2
    reached = [site.url(h.path) for h in site.hits[start:]]
    assert reached and sorted(proxy.seen) == sorted(reached)  # robots.txt, the page and its photos: all proxied


def test_mode_image_stores_no_pages_and_mode_page_no_media(site, tmp_path):
    _, images = crawl(tmp_path / "images", site.url("/people.html"), "--mode", "image", "--depth", "0")
    assert images["pages_stored"] == 0 and images["media_stored"] == 2
    _, pages = crawl(tmp_path / "pages", site.url("/people.html"), "--mode", "page", "--depth", "0")
    assert pages["pages_stored"] == 1 and pages["media_stored"] == 0
    assert {o.kind for o in stored_objects(tmp_path / "pages")} == {"page"}


def test_an_interrupted_crawl_resumes_from_its_job_dir_without_fetching_twice(site, tmp_path):
    data_dir, job_dir = tmp_path / "data", tmp_path / "job"
    start = len(site.hits)
    args = [site.url("/archive.html"), "--job-dir", str(job_dir), "--mode", "page", "--depth", "1"]
    first = subprocess.Popen(
        crawl_command(*args), env=crawl_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: len(site.hits) - start >= 4, timeout=120, what="the first pages")
    first.send_signal(signal.SIGINT)  # Ctrl-C: Scrapy finishes what is in flight and saves its queue
    out, _ = first.communicate(timeout=120)
    assert json.loads(out)["finish_reason"] == "shutdown"
    first_pages = [h.path for h in site.hits[start:] if h.path != "/robots.txt"]
    every_page = {"/", "/archive.html"} | {f"/archive/{n}.html" for n in range(1, ARCHIVE + 1)}
    assert len(first_pages) < len(every_page)  # it really was interrupted before the end

    middle = len(site.hits)
    _, summary = crawl(data_dir, *args)
    second_pages = [h.path for h in site.hits[middle:] if h.path != "/robots.txt"]
    assert second_pages and summary["finish_reason"] == "finished"
    pages = first_pages + second_pages
    assert len(pages) == len(set(pages)), pages  # no page fetched twice across the two runs
    assert set(pages) == every_page


def test_with_serve_running_the_crawl_goes_through_it(site, tmp_path, faces_dir):
    data_dir = tmp_path / "data"
    with running_serve(data_dir, tmp_path / "serve.log") as (info, _):
        code, summary = crawl(data_dir, site.url("/people.html"), "--depth", "1", "--mode", "image")
        assert code == 0, summary
        assert summary["processing"]["faces"] == 2  # serve processed Obama and Biden
        photo = faces_dir / TEST_IMAGES / "obama2.jpg"
        found = requests.post(
            f"{info.url}/lookup",
            files={"image": photo.open("rb")},
            headers={"Authorization": f"Bearer {info.token}"},  # the local token: lookups need credentials
            timeout=60,
        ).json()
    match = found["faces"][0]["matches"][0]
    assert match["page_url"] == site.url("/people.html")
    app = build(Settings(data_dir=data_dir))  # serve has stopped: the data dir is free again
    try:
        meta = app.objects.get(match["sha256"]).metadata
    finally:
        app.close()
    assert set(meta["source_urls"]) == {site.url("/img/obama.jpg"), site.url("/copies/obama.jpg")}
    # Seen three times: on people.html, and twice on team.html (the repeat went through POST .../sightings).
    assert {(s["page_url"].rsplit("/", 1)[1], s["alt"]) for s in meta["sightings"]} == {
        ("people.html", "Barack Obama at the launch"),
        ("team.html", "Team day"),
        ("team.html", "Press photo"),
    }


def test_progress_lines_and_a_human_summary_without_json(site, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lookingglass.cli", "crawl", site.url("/people.html"), "--depth", "0"],
        env={**crawl_env(tmp_path / "data"), "LG_CRAWL_DELAY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("crawled 1 pages")
    assert "2 media stored" in result.stdout and "faces indexed" in result.stdout
