"""The browser guard (sources/crawler/browser_guard.py): the proxy Chromium renders through, over real sockets.

Two small sites: one on 127.0.0.1 (allow-listed, as the crawler tests do) and one on 127.0.0.2, which is loopback
on Linux but not allow-listed, so a request that reaches it is one the guard should have refused. The last test
runs a real `lookingglass crawl --render always` with Debian's Chromium against a page whose scripts try to reach
127.0.0.2.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from test_crawler import crawl, stored_objects

from crawl_site import start_server
from lookingglass.settings import Settings
from lookingglass.sources.crawler.addresses import AddressPolicy
from lookingglass.sources.crawler.browser_guard import BrowserGuard, Refusal
from lookingglass.sources.crawler.options import CrawlOptions
from lookingglass.sources.crawler.politeness import scrapy_settings

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
KNN = "face_recognition_ageitgey/examples/knn_examples/train"


@dataclass
class Server:
    """A tiny web site: `routes` by path, a log of every connection accepted and every request answered."""

    root: str
    connections: list[tuple[str, int]] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)  # path, method, headers, body

    def url(self, path: str) -> str:
        return self.root + path


def serve(host: str, routes: dict[str, tuple[int, str, bytes]] | None = None):
    routes = routes or {}
    lock = threading.Lock()
    server = Server(root="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                server.requests.append(
                    {"path": self.path, "method": self.command, "headers": dict(self.headers), "body": body}
                )
            status, kind, content = routes.get(
                self.path.split("?", 1)[0], (200, "text/plain", f"{self.command} {self.path} {body!r}".encode())
            )
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Connection", "keep-alive")  # the guard must turn this into close
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args) -> None:
            pass

    class Logged(ThreadingHTTPServer):
        def verify_request(self, request, client_address) -> bool:
            with lock:
                server.connections.append(client_address)
            return True

    httpd, server.root = start_server(Handler, host, Logged)
    return server, httpd


@contextlib.contextmanager
def served(host: str):
    server, httpd = serve(host)
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def allowed():
    with served("127.0.0.1") as server:
        yield server


@pytest.fixture
def inside():
    """127.0.0.2: loopback, not allow-listed. Its port is open, so a refusal can only be the guard's."""
    with served("127.0.0.2") as server:
        yield server


@pytest.fixture
def guard():
    with BrowserGuard(AddressPolicy(("127.0.0.1",)), timeout=5) as running:
        yield running


def proxies(guard: BrowserGuard) -> dict:
    return {"http": guard.url, "https": guard.url}


def guard_address(guard: BrowserGuard) -> tuple[str, int]:
    host, port = guard.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw(guard: BrowserGuard, data: bytes) -> bytes:
    """Send `data` on one connection to the guard (then half-close); everything it answers until it closes."""
    with socket.create_connection(guard_address(guard), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_get_and_a_post_are_relayed_to_an_allowed_server(guard, allowed):
    got = requests.get(allowed.url("/hello?x=1"), proxies=proxies(guard), timeout=10)
    assert got.status_code == 200 and got.text == "GET /hello?x=1 b''"
    assert got.headers["Connection"] == "close"  # the origin said keep-alive; Chromium must not reuse it
    sent = requests.post(allowed.url("/upload"), data=b"x" * 200_000, proxies=proxies(guard), timeout=10)
    assert sent.status_code == 200 and sent.text.startswith("POST /upload b'xxxx")
    assert allowed.requests[1]["body"] == b"x" * 200_000
    # What reached the origin: origin-form, Host kept, Connection: close, no proxy headers.
    first = allowed.requests[0]
    assert first["path"] == "/hello?x=1"
    assert first["headers"]["Host"] == allowed.root.removeprefix("http://")
    assert first["headers"]["Connection"] == "close"
    assert not [h for h in first["headers"] if h.lower().startswith("proxy-")]
    assert guard.refused == []


def test_a_connect_tunnel_is_relayed_to_an_allowed_server(guard, allowed):
    host, port = guard_address(guard)
    target = allowed.root.removeprefix("http://")
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.set_tunnel(target)  # CONNECT 127.0.0.1:PORT, then plain HTTP inside the tunnel
    conn.request("GET", "/through-the-tunnel")
    answer = conn.getresponse()
    assert answer.status == 200 and answer.read() == b"GET /through-the-tunnel b''"
    conn.close()
    assert [r["path"] for r in allowed.requests] == ["/through-the-tunnel"]
    assert raw(guard, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()).startswith(
        b"HTTP/1.1 200 Connection Established\r\n"
    )


def test_a_loopback_address_that_is_not_allow_listed_is_refused_and_recorded(guard, inside, caplog):
    refused = requests.get(inside.url("/secret"), proxies=proxies(guard), timeout=10)
    assert refused.status_code == 403
    assert refused.headers["Connection"] == "close"
    assert "127.0.0.2" in refused.text and "non-public" in refused.text
    target = inside.root.removeprefix("http://")
    tunnel = raw(guard, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert tunnel.startswith(b"HTTP/1.1 403 Forbidden\r\n") and b"127.0.0.2" in tunnel
    assert inside.connections == []  # the port is open: only the guard kept them apart
    assert guard.refused == [Refusal("127.0.0.2", "127.0.0.2", guard.refused[0].reason)] * 2
    assert "LG_CRAWL_ALLOW_PRIVATE" in guard.refused[0].reason
    warnings = [r for r in caplog.records if r.name == "lookingglass.sources.crawler" and r.levelname == "WARNING"]
    assert len(warnings) == 2 and "127.0.0.2" in warnings[0].getMessage()


def test_a_host_that_does_not_resolve_gets_502_and_is_not_a_refusal(guard):
    answer = requests.get("http://nothing-here.invalid/", proxies=proxies(guard), timeout=10)
    assert answer.status_code == 502 and "cannot resolve nothing-here.invalid" in answer.text
    assert raw(guard, b"CONNECT nothing-here.invalid:443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 502 ")
    assert guard.refused == []


def test_one_proxy_connection_never_carries_a_second_destination(guard, allowed, inside):
    """A second request pipelined on the same connection (to another host) is never forwarded."""
    first = allowed.root.removeprefix("http://")
    second = inside.root.removeprefix("http://")
    answer = raw(
        guard,
        f"GET http://{first}/one HTTP/1.1\r\nHost: {first}\r\nProxy-Connection: keep-alive\r\n\r\n"
        f"GET http://{second}/two HTTP/1.1\r\nHost: {second}\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1
    assert b"\r\nConnection: close\r\n" in answer and b"keep-alive" not in answer
    assert [r["path"] for r in allowed.requests] == ["/one"]
    assert inside.connections == []


def test_bad_clients_get_an_answer_and_the_guard_keeps_serving(guard, allowed):
    too_big = raw(guard, b"GET http://example.org/ HTTP/1.1\r\nX-Padding: " + b"a" * 70_000 + b"\r\n\r\n")
    assert too_big.startswith(b"HTTP/1.1 431 ")
    assert raw(guard, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(guard, b"GET /not-absolute HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(guard, b"GET http://127.0.0.1:99999/ HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    with socket.create_connection(guard_address(guard), timeout=10) as sock:
        sock.sendall(b"GET http://exa")  # and goes away mid-header
    assert requests.get(allowed.url("/still-here"), proxies=proxies(guard), timeout=10).status_code == 200


def test_the_guard_does_not_proxy_to_itself_and_stops_listening(allowed):
    guard = BrowserGuard(AddressPolicy(("127.0.0.1",)))
    url = guard.start()
    port = guard_address(guard)[1]
    loop = raw(guard, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
    assert loop.startswith(b"HTTP/1.1 403 ") and guard.refused[0].reason == "the browser guard itself"
    guard.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(allowed.url("/"), proxies={"http": url}, timeout=5)
    assert allowed.requests == []


def test_chromium_is_launched_through_the_guard_unless_an_egress_proxy_is_set():
    options = CrawlOptions("https://example.org/", render="always")
    launch = scrapy_settings(Settings(), options, browser_proxy="http://127.0.0.1:4321")["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["proxy"] == {"server": "http://127.0.0.1:4321"}
    assert "--proxy-bypass-list=<-loopback>" in launch["args"]  # loopback too goes through the guard
    operator = Settings(crawl_proxy="http://proxy.example:3128")
    launch = scrapy_settings(operator, options, browser_proxy=None)["PLAYWRIGHT_LAUNCH_OPTIONS"]
    assert launch["proxy"] == {"server": "http://proxy.example:3128"}
    assert "proxy" not in scrapy_settings(Settings(), options)["PLAYWRIGHT_LAUNCH_OPTIONS"]


# --- a real crawl, rendered by Chromium


def rendering_site(faces: Path, inside: Server) -> dict[str, tuple[int, str, bytes]]:
    """A page whose gallery is built by a script, which also tries to reach 127.0.0.2 twice: with fetch()
    (which the crawler's request filter sees) and with a WebSocket (which Playwright's routing does not see)."""
    script = f"""
      <script>
        for (const src of ["/img/kit1.jpeg", "/img/rose1.jpg"]) {{
          const img = document.createElement("img"); img.src = src; img.alt = "gallery photo";
          document.getElementById("gallery").appendChild(img);
        }}
        fetch("{inside.url("/fetched")}").catch(() => {{}});
        try {{ new WebSocket("{inside.url("/socket").replace("http:", "ws:")}"); }} catch (e) {{}}
      </script>"""
    page = (
        f"<!doctype html><html><head><title>Gallery</title></head><body><div id='gallery'></div>{script}</body></html>"
    )
    return {
        "/robots.txt": (200, "text/plain", b"User-agent: *\nAllow: /\n"),
        "/gallery.html": (200, "text/html; charset=utf-8", page.encode()),
        "/img/kit1.jpeg": (200, "image/jpeg", (faces / KNN / "kit_harington/john1.jpeg").read_bytes()),
        "/img/rose1.jpg": (200, "image/jpeg", (faces / KNN / "rose_leslie/img1.jpg").read_bytes()),
    }


@needs_chromium
def test_chromium_renders_through_the_guard_and_never_reaches_a_refused_address(faces_dir, inside, tmp_path):
    site, httpd = serve("127.0.0.1", rendering_site(faces_dir, inside))
    try:
        code, summary = crawl(tmp_path / "data", site.url("/gallery.html"), "--render", "always", "--depth", "0")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 0, summary
    # The allowed gallery is still found: rendered through the guard, its photos fetched by the spider.
    gallery = [o for o in stored_objects(tmp_path / "data") if o.kind == "image"]
    assert sorted(o.metadata["source_urls"][0].rsplit("/", 1)[1] for o in gallery) == ["kit1.jpeg", "rose1.jpg"]
    # Chromium's own requests (they carry Sec-Fetch-*) reached the site through the guard: it says Connection: close
    # where Chromium itself says keep-alive.
    chromium = [r for r in site.requests if "Sec-Fetch-Mode" in r["headers"]]
    assert [r["path"] for r in chromium] == ["/gallery.html"]
    assert {r["headers"]["Connection"] for r in chromium} == {"close"}
    # 127.0.0.2 was never reached: fetch() was stopped by the request filter, the WebSocket by the guard.
    assert inside.connections == [] and inside.requests == []
    assert summary["browser_refused"] == 1
