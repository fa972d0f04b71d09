"""A small real web site on 127.0.0.1 for the crawler tests, with a log of every request it answered.

Pages link to each other; photos with and without faces come from ../shared/data/faces; the same photo is shown on two
pages (and its bytes again under a second URL); a gallery is only filled in by JavaScript; robots.txt disallows
/private/ and asks for a Crawl-delay; there is a redirect loop, a redirect to the cloud metadata address, a 404
image, a 50 MB "image" and a .jpg that is an HTML page.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CRAWL_DELAY = 0.3
HUGE = 50 * 1024 * 1024
ARCHIVE = 24  # /archive.html links /archive/1.html ... /archive/24.html: a crawl long enough to interrupt


@dataclass
class Hit:
    at: float
    path: str
    user_agent: str


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><nav><a href='/'>Home</a></nav><main>{body}</main></body></html>"
    ).encode()


def build_routes(faces: Path) -> dict[str, tuple[int, dict, bytes]]:
    images = faces / "face_recognition_ageitgey/tests/test_images"
    knn = faces / "face_recognition_ageitgey/examples/knn_examples/train"
    jpeg = {"Content-Type": "image/jpeg"}
    html = {"Content-Type": "text/html; charset=utf-8"}
    obama = (images / "obama.jpg").read_bytes()
    gallery_script = """
      <script>
        const photos = ["/img/gallery/kit1.jpeg", "/img/gallery/rose1.jpg"];
        for (const src of photos) {
          const img = document.createElement("img"); img.src = src; img.alt = "gallery photo";
          document.getElementById("gallery").appendChild(img);
        }
      </script>"""
    return {
        "/robots.txt": (200, {"Content-Type": "text/plain"},
                        f"User-agent: *\nDisallow: /private/\nCrawl-delay: {CRAWL_DELAY}\n".encode()),
        "/": (200, html, _page("Home", """
            <h1>Welcome</h1><p>Photos of the people we work with.</p>
            <img src="/img/dogs.jpg" alt="Two dogs">
            <a href="/people.html?utm_source=newsletter">People</a> <a href="/team.html#top">Team</a>
            <a href="/gallery.html">Gallery</a> <a href="/private/secret.html">Private</a>
            <a href="/loop/a">Loop</a> <a href="/chain/1">Chain</a> <a href="/away">Elsewhere</a>
            <a href="/broken.html">Broken</a>
            <a href="mailto:someone@example.org">Mail</a>""")),
        "/people.html": (200, html, _page("Our people", """
            <h1>Our people</h1><img src="/img/obama.jpg?utm_campaign=x" alt="Barack Obama at the launch">
            <a href="/team.html">Team</a>""", head='<meta property="og:image" content="/img/biden.jpg">')),
        "/team.html": (200, html, _page("The team", """
            <h1>The team</h1>
            <img srcset="/img/obama-small.jpg 120w, /img/obama.jpg 600w" src="/img/obama-small.jpg" alt="Team day">
            <p>Also on our press page:</p><img src="/copies/obama.jpg" alt="Press photo">""")),
        "/gallery.html": (200, html, _page("Gallery", "<h1>Gallery</h1><div id='gallery'></div>" + gallery_script)),
        "/archive.html": (200, html, _page("Archive", " ".join(
            f'<a href="/archive/{n}.html">Story {n}</a>' for n in range(1, ARCHIVE + 1)))),
        **{f"/archive/{n}.html": (200, html, _page(f"Story {n}", f"<p>Story number {n}.</p>"))
           for n in range(1, ARCHIVE + 1)},
        "/private/secret.html": (200, html, _page("Secret", '<img src="/private/secret.jpg">')),
        "/private/secret.jpg": (200, jpeg, obama),
        "/loop/a": (302, {"Location": "/loop/b"}, b""),
        "/loop/b": (302, {"Location": "/loop/a"}, b""),
        "/away": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/broken.html": (200, html, _page("Broken things", """
            <img src="/img/missing.jpg" alt="gone"><img src="/img/huge.jpg" alt="too big">
            <img src="/img/fake.jpg" alt="not a photo">""")),
        "/img/dogs.jpg": (200, jpeg, (faces / "dlib_examples_faces/dogs.jpg").read_bytes()),
        "/img/obama.jpg": (200, jpeg, obama),
        "/copies/obama.jpg": (200, jpeg, obama),
        "/img/biden.jpg": (200, jpeg, (images / "biden.jpg").read_bytes()),
        "/img/gallery/kit1.jpeg": (200, jpeg, (knn / "kit_harington/john1.jpeg").read_bytes()),
        "/img/gallery/rose1.jpg": (200, jpeg, (knn / "rose_leslie/img1.jpg").read_bytes()),
        "/img/fake.jpg": (200, jpeg, _page("Not found", "<p>Sorry, this photo is gone.</p>")),
        "/img/huge.jpg": (200, {**jpeg, "Content-Length": str(HUGE)}, b""),  # streamed on demand
    }  # fmt: skip


@dataclass
class Site:
    root: str
    hits: list[Hit] = field(default_factory=list)
    bytes_sent: int = 0

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def url(self, path: str) -> str:
        return self.root + path


def start_server(
    handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", server_class: type = ThreadingHTTPServer
) -> tuple[ThreadingHTTPServer, str]:
    """Serve `handler` on a free port of `host` in a daemon thread: (the server, its root URL)."""
    server = server_class((host, 0), handler)
    server.daemon_threads = True  # a request still open never holds the test run's exit
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def serve_site(faces: Path) -> tuple[Site, ThreadingHTTPServer]:
    routes = build_routes(faces)
    lock = threading.Lock()
    site = Site(root="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                site.hits.append(Hit(time.monotonic(), self.path, self.headers.get("User-Agent", "")))
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            status, headers, body = routes.get(path, (404, {"Content-Type": "text/plain"}, b"not found"))
            if path.startswith("/chain/"):  # /chain/1 → /chain/2 → ... for ever
                status, headers, body = 302, {"Location": f"/chain/{int(path.rsplit('/', 1)[1]) + 1}"}, b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if path == "/img/huge.jpg":
                    chunk = b"\xff\xd8\xff\xe0" + bytes(64 * 1024 - 4)
                    for _ in range(HUGE // len(chunk)):
                        self.wfile.write(chunk)
                        with lock:
                            site.bytes_sent += len(chunk)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler gave up on it, as it should

        def log_message(self, *args) -> None:
            pass

    server, site.root = start_server(Handler)
    return site, server


@dataclass
class Proxy:
    url: str
    seen: list[str] = field(default_factory=list)  # the absolute URLs it forwarded


def serve_proxy() -> tuple[Proxy, ThreadingHTTPServer]:
    """A forwarding HTTP proxy on 127.0.0.1 that logs what passes through it (LG_CRAWL_PROXY's test peer)."""
    import urllib.error
    import urllib.request

    proxy = Proxy(url="")
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            proxy.seen.append(self.path)  # absolute-form: http://host:port/path
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
            try:
                with direct.open(urllib.request.Request(self.path, headers=headers), timeout=30) as upstream:
                    status, body, upstream_headers = upstream.status, upstream.read(), upstream.headers
            except urllib.error.HTTPError as exc:
                status, body, upstream_headers = exc.code, exc.read(), exc.headers
            self.send_response(status)
            for name in ("Content-Type", "Location"):
                if upstream_headers.get(name):
                    self.send_header(name, upstream_headers[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server, proxy.url = start_server(Handler)
    return proxy, server
