"""Name suggestions for a person: ranked from the evidence around their faces, never applied.

The ranking first, on evidence written by hand; then the sources one by one (sightings, file names, transcripts) on a
real object store and the real NER; then a crawl of a local site that publishes photos of three people with their
names in captions, alt text and text, next to a photographer's credit, an editor named on every page and a name on one
page only: after the crawl, each person's first suggestion is their name.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from crawl_site import start_server
from lookingglass.app import App, build
from lookingglass.people.names import Named, NameEvidence, rank, suggest_names
from lookingglass.pipeline.submit import store_bytes
from lookingglass.settings import Settings
from lookingglass.sources.sightings import Sighting

# --- the ranking, on evidence written by hand


def named(photo: str, key: str, weight: float = 1.0, kind: str = "caption", name: str | None = None) -> Named:
    evidence = NameEvidence(kind=kind, page_url=f"https://news.example/{photo}.html", text=f"{key} …", sha256=photo)
    return Named((photo, None), key, name or key.title(), weight, evidence)


def test_the_name_with_most_of_the_photos_and_rarely_elsewhere_ranks_first():
    photos = ["p1", "p2", "p3", "p4"]
    evidence = [named(p, "mara lindqvist") for p in photos[:3]]  # three of four photos
    evidence += [named(p, "anna berg", 0.8, "context") for p in photos]  # every photo, but on every page
    evidence += [named("p4", "jon ek")]  # one photo only
    frequency = {"mara lindqvist": 3, "anna berg": 40, "jon ek": 1}
    suggestions = rank(evidence, observations=4, frequency=frequency, total=40)
    assert suggestions[0].name == "Mara Lindqvist"
    assert {s.name for s in suggestions} == {"Mara Lindqvist", "Anna Berg", "Jon Ek"}
    assert suggestions[0].score > 2 * max(s.score for s in suggestions[1:])
    everywhere = rank(evidence, observations=4, frequency={**frequency, "mara lindqvist": 40}, total=40)
    assert everywhere[0].name != "Mara Lindqvist"  # the same support, but named on every page: not who this is


def test_a_name_counts_once_per_photo_by_its_strongest_source():
    once = [named("p1", "mara lindqvist")]
    repeated = [*once, named("p1", "mara lindqvist", 0.4, "page"), named("p1", "mara lindqvist", 0.6, "title")]
    assert rank(once, 2, {}, 10)[0].score == rank(repeated, 2, {}, 10)[0].score
    assert [e.kind for e in rank(repeated, 2, {}, 10)[0].evidence] == ["caption", "title", "page"]  # strongest first


def test_close_names_are_one_candidate():
    evidence = [named("p1", "mara lindqvist"), named("p2", "lindqvist", name="Lindqvist"), named("p3", "jon ek")]
    suggestions = rank(evidence, observations=3, frequency={}, total=0)
    assert suggestions[0].name == "Mara Lindqvist"
    assert {e.sha256 for e in suggestions[0].evidence} == {"p1", "p2"}
    ambiguous = [named("p1", "anna lind"), named("p2", "erik lind"), named("p3", "lind", name="Lind")]
    assert len(rank(ambiguous, 3, {}, 0)) == 3  # "Lind" could be either: kept apart


def test_nothing_to_go_on_suggests_nothing():
    assert rank([], observations=3, frequency={}, total=10) == []


# --- the sources, on a real store and the real NER


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = build(Settings(data_dir=tmp_path / "data"))
    yield app
    app.close()


def photo_face(obj, **extra) -> dict:
    """A face payload as the vector index holds it (pipeline/images.py `face_payload`), for one stored object."""
    pages = obj.metadata.get("page_urls") or []
    payload = {"sha256": obj.sha256, "kind": obj.kind, "source_url": obj.source_url, "track_id": None}
    payload |= {"source_urls": obj.metadata.get("source_urls") or [], "page_urls": pages, "start": None, "end": None}
    return payload | {"page_url": pages[0] if pages else None, "timestamp": None, **extra}


def test_captions_alt_text_and_context_name_the_person_and_a_photo_credit_does_not(app, sample_photos):
    faces = []
    for n, photo in enumerate(("obama.jpg", "obama2.jpg")):
        sighting = Sighting(
            f"https://news.example/img/{n}.jpg",
            page_url=f"https://news.example/story-{n}.html",
            page_title="Forum opens",
            alt="The former president",
            caption="Barack Obama at the forum. Photo: Anna Berg",
            context="Lucy Grant asked the first question." if n else None,
        )
        obj = store_bytes(app, (sample_photos / photo).read_bytes(), filename=photo, metadata=sighting.metadata())
        faces.append(photo_face(obj))
    suggestions = suggest_names(app, faces)
    assert [s.name for s in suggestions] == ["Barack Obama", "Lucy Grant", "Anna Berg"]
    first = suggestions[0]
    assert {(e.kind, e.page_url, e.text) for e in first.evidence} == {
        ("caption", f"https://news.example/story-{n}.html", "Barack Obama at the forum.") for n in (0, 1)
    }
    assert suggest_names(app, faces, limit=1) == [first]


def test_a_file_name_is_evidence_and_a_camera_file_name_is_not(app, sample_photos):
    data = (sample_photos / "biden.jpg").read_bytes()
    obj = store_bytes(app, data, filename="joe_biden.jpg", metadata={"source_urls": ["file:///photos/joe_biden.jpg"]})
    (suggestion,) = suggest_names(app, [photo_face(obj)])
    assert suggestion.name == "Joe Biden"
    assert [(e.kind, e.text) for e in suggestion.evidence] == [("filename", "joe_biden.jpg")]
    other = store_bytes(
        app, (sample_photos / "obama.jpg").read_bytes(), metadata={"source_urls": ["file:///dcim/IMG_2041.jpg"]}
    )
    assert suggest_names(app, [photo_face(other)]) == []


def test_what_was_said_while_the_face_was_on_screen_is_evidence(app, sample_photos):
    obj = store_bytes(app, (sample_photos / "obama.jpg").read_bytes(), metadata={"source_urls": ["file:///t.jpg"]})
    segments = [
        {"start": 0.0, "end": 4.0, "text": "Welcome back to the programme."},
        {"start": 4.0, "end": 9.0, "text": "Our guest tonight is Mara Lindqvist."},
        {"start": 30.0, "end": 35.0, "text": "Next week, Jon Ek joins us."},
    ]
    app.objects.write_key(f"transcripts/{obj.sha256}.json", json.dumps({"segments": segments}).encode(), "text/json")
    track = photo_face(obj, kind="video", track_id=3, start=5.0, end=12.0, timestamp=6.0)
    (suggestion,) = suggest_names(app, [track, {**track, "timestamp": 8.0}])  # two keyframes: one observation
    assert suggestion.name == "Mara Lindqvist" and suggestion.score == pytest.approx(0.8)
    assert [(e.kind, e.timestamp, e.text) for e in suggestion.evidence] == [
        ("transcript", 4.0, "Our guest tonight is Mara Lindqvist.")
    ]


# --- a crawl of a local site


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><nav><a href='/'>Home</a></nav><main>{body}"
        "<p>Photographs by Anna Berg. This site is edited by Tom Walsh.</p></main></body></html>"
    ).encode()


def _figure(src: str, alt: str, caption: str) -> str:
    return f"<figure><img src='{src}' alt='{alt}'><figcaption>{caption} Photo: Anna Berg</figcaption></figure>"


KNN = "face_recognition_ageitgey/examples/knn_examples"
PHOTOS = {  # URL path → (photo in the labelled set, who it shows)
    "/img/o1.jpg": ("face_recognition_ageitgey/tests/test_images/obama.jpg", "Barack Obama"),
    "/img/o2.jpg": ("face_recognition_ageitgey/tests/test_images/obama2.jpg", "Barack Obama"),
    "/img/o3.jpg": ("face_recognition_ageitgey/tests/test_images/obama3.jpg", "Barack Obama"),
    "/img/k1.jpg": (f"{KNN}/train/kit_harington/john1.jpeg", "Kit Harington"),
    "/img/k2.jpg": (f"{KNN}/train/kit_harington/john2.jpeg", "Kit Harington"),
    "/img/r1.jpg": (f"{KNN}/train/rose_leslie/img1.jpg", "Rose Leslie"),
    "/img/r2.jpg": (f"{KNN}/train/rose_leslie/img2.jpg", "Rose Leslie"),
}
DISTRACTORS = {"Anna Berg", "Tom Walsh", "Lucy Grant"}  # photographer, editor on every page, one page only
PAGES = {
    "/obama-forum.html": _page("Forum opens", """
        <h1>Forum opens</h1><p>Barack Obama opened the Northwind Forum in Chicago on Monday.</p>"""
        + _figure("/img/o1.jpg", "Barack Obama at the lectern", "Barack Obama speaks to delegates.")
        + "<p>He spoke for an hour about energy and jobs.</p>"),
    "/obama-school.html": _page("A visit to Lincoln High", """
        <h1>A visit to Lincoln High</h1><p>The students had prepared questions for weeks.</p>"""
        + _figure("/img/o2.jpg", "The former president with students", "Barack Obama meets students.")
        + "<p>Lucy Grant, a senior, asked the first question.</p><p>Obama answered for twenty minutes.</p>"),
    "/obama-dinner.html": _page("Charity dinner", """
        <h1>Charity dinner</h1><p>The dinner raised money for the city's libraries.</p>"""
        + _figure("/img/o3.jpg", "Barack Obama", "Barack Obama thanks the volunteers.")
        + "<p>Guests stayed until midnight.</p>"),
    "/premiere.html": _page("Premiere night", """
        <h1>Premiere night</h1><p>Kit Harington arrived early at the Leicester Square premiere.</p>"""
        + _figure("/img/k1.jpg", "Kit Harington on the red carpet", "Kit Harington greets fans.")
        + "<p>The film opens on Friday.</p>"),
    "/award.html": _page("Award for Rose Leslie", """
        <h1>Award</h1><p>Rose Leslie won the award for best supporting actress.</p>"""
        + _figure("/img/r1.jpg", "Rose Leslie with the award", "Rose Leslie holds her award.")
        + "<p>It is her first award.</p>"),
    "/cast.html": _page("The cast", """
        <h1>The cast</h1><p>Two members of the cast talked to us about the new season.</p>"""
        + _figure("/img/k2.jpg", "Kit Harington", "Kit Harington plays the lead.")
        + _figure("/img/r2.jpg", "Rose Leslie", "Rose Leslie returns for the new season.")
        + "<p>The season starts in April.</p>"),
}  # fmt: skip


@pytest.fixture(scope="module")
def news_site(faces_dir: Path):
    home = _page("Northwind News", "<h1>Northwind News</h1>" + "".join(f"<a href='{p}'>{p}</a> " for p in PAGES))
    routes = {"/": (home, "text/html; charset=utf-8"), "/robots.txt": (b"User-agent: *\n", "text/plain")}
    routes |= {path: (body, "text/html; charset=utf-8") for path, body in PAGES.items()}
    routes |= {path: ((faces_dir / photo).read_bytes(), "image/jpeg") for path, (photo, _) in PHOTOS.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = routes.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server, root = start_server(Handler)
    yield root
    server.shutdown()


@pytest.fixture(scope="module")
def crawled(news_site: str, tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("names") / "data"
    env = {**os.environ, "LG_DATA_DIR": str(data_dir), "LG_CRAWL_ALLOW_PRIVATE": "127.0.0.1"}
    result = subprocess.run(
        [sys.executable, "-m", "lookingglass.cli", "crawl", news_site + "/", "--mode", "all", "--json", "--delay", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["errors"] == 0, summary
    return data_dir


def test_after_a_crawl_each_persons_first_suggestion_is_their_name(crawled: Path, faces_dir: Path):
    app = build(Settings(data_dir=crawled))
    try:
        people: dict[str, list[dict]] = {}
        for photo, who in PHOTOS.values():  # the three persons, by a lookup of each known photo
            sha256 = hashlib.sha256((faces_dir / photo).read_bytes()).hexdigest()
            hits = app.faces.scroll({"sha256": sha256}, limit=10)
            assert len(hits) == 1, f"{photo}: {len(hits)} faces"
            people.setdefault(who, []).append(hits[0].payload)
        for who, faces in people.items():
            suggestions = suggest_names(app, faces, limit=10)
            assert suggestions[0].name == who, [(s.name, s.score) for s in suggestions]
            assert not DISTRACTORS & {suggestions[0].name}
            kinds = {e.kind for e in suggestions[0].evidence}
            assert {"caption", "alt", "page"} <= kinds, kinds  # the figure, the image and the page's text
            named_with = {s.name for s in suggestions}
            assert "Anna Berg" in named_with  # the credit is seen, and ranked below the person
        obama = suggest_names(app, people["Barack Obama"], limit=10)
        assert "Lucy Grant" in {s.name for s in obama}
        pages = {e.page_url.rsplit("/", 1)[-1] for e in obama[0].evidence if e.page_url}
        assert pages == {"obama-forum.html", "obama-school.html", "obama-dinner.html"}
    finally:
        app.close()
