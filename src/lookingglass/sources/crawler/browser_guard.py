"""A local forward proxy that Chromium must use while it renders, so its connections obey the address policy too.

Scrapy's own requests are checked at connect time (`GuardedResolver`): the address checked is the address
connected to. Chromium's were only checked by URL before it fetched them (`browser_request_filter`), and Chromium then
resolves the host itself: a name that answers with a public address for our lookup and a private one for Chromium's
(DNS rebinding) would let a rendered page reach the inside network. Nor does that filter see everything a page opens
(WebSockets, for one). So while rendering, Chromium is launched with this proxy (`--proxy-server`, loopback
included), which resolves every host itself, refuses unless `AddressPolicy` allows every address the name resolves
to, and connects to exactly the address it checked, never looking the name up again.

It speaks just enough HTTP/1.1 for a browser: `CONNECT host:port` (https, wss) becomes a byte tunnel; an
absolute-URI request (`GET http://host/path`) is sent on in origin form with `Connection: close`, and the origin's
answer is relayed with `Connection: close` too, so one proxy connection only ever carries one checked destination.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from lookingglass.sources.crawler.addresses import AddressPolicy

log = logging.getLogger("lookingglass.sources.crawler")

MAX_HEADER_BYTES = 64 * 1024
TIMEOUT = 30.0  # seconds: connecting, and the longest a connection may sit idle
CHUNK = 64 * 1024
LINGER = 1.0  # seconds a closing connection waits for the client's own close
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "upgrade"}
)


@dataclass(frozen=True)
class Refusal:
    """One connection the guard refused: the host Chromium asked for, the address it resolved to, and why."""

    host: str
    address: str
    reason: str


class _Reject(Exception):
    """Answer the client with this status and text, then close."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status, self.reason, self.text = status, reason, text


@dataclass(frozen=True)
class _Head:
    """A parsed header block: the start line, the header lines in order, and the bytes read after it."""

    start: str
    headers: list[tuple[str, str]]
    rest: bytes

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def _read_head(sock: socket.socket, data: bytes = b"", *, limit: int = MAX_HEADER_BYTES) -> _Head | None:
    """Read one header block (start line and headers, up to the blank line), after the bytes `data` already read.
    None if the peer closed before sending anything."""
    while b"\r\n\r\n" not in data:
        if len(data) > limit:
            raise _Reject(431, "Request Header Fields Too Large", "the header block is larger than 64 KiB")
        chunk = sock.recv(CHUNK)
        if not chunk:
            if data:
                raise _Reject(400, "Bad Request", "the connection closed in the middle of the header block")
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if len(head) > limit:
        raise _Reject(431, "Request Header Fields Too Large", "the header block is larger than 64 KiB")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _Reject(400, "Bad Request", f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return _Head(lines[0], headers, rest)


def _response(status: int, reason: str, text: str) -> bytes:
    body = (text + "\n").encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    """'host:port', '[v6]:port' or 'host' → (host, port)."""
    parts = urlsplit("//" + authority)
    try:
        port = parts.port or default_port
    except ValueError:
        raise _Reject(400, "Bad Request", f"bad port in {authority[:200]!r}") from None
    if not parts.hostname:
        raise _Reject(400, "Bad Request", f"no host in {authority[:200]!r}")
    return parts.hostname, port


class BrowserGuard:
    """The proxy: `start()` it, point Chromium at the URL it returns, `stop()` it after the crawl.

    `refused` lists every connection it refused (thread-safe). Usable as a context manager.
    """

    def __init__(self, policy: AddressPolicy, *, timeout: float = TIMEOUT) -> None:
        self.policy = policy
        self.timeout = timeout
        self._lock = threading.Lock()
        self._refused: list[Refusal] = []
        self._open: set[socket.socket] = set()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the browser guard is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Listen on a free port of 127.0.0.1 (in a daemon thread); returns the proxy URL for Chromium."""
        if self._server is not None:
            return self.url
        guard = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                guard._handle(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True  # an open tunnel never holds the crawl's exit
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="browser-guard", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop listening and close the connections still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            still_open, self._open = list(self._open), set()
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BrowserGuard:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def refused(self) -> list[Refusal]:
        with self._lock:
            return list(self._refused)

    # --- one client connection

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _untrack_and_close(self, *socks: socket.socket | None) -> None:
        for sock in socks:
            if sock is None:
                continue
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def _handle(self, client: socket.socket) -> None:
        self._track(client)
        try:
            client.settimeout(self.timeout)
            head = _read_head(client)
            if head is None:
                return
            method, target, version = self._request_line(head.start)
            if method == "CONNECT":
                self._connect_tunnel(client, target, head)
            else:
                self._forward(client, method, target, version, head)
        except _Reject as reject:
            with contextlib.suppress(OSError):
                client.sendall(_response(reject.status, reject.reason, reject.text))
        except (OSError, ValueError) as exc:  # a client or origin that went away, timed out or spoke nonsense
            log.debug("browser guard: connection ended: %s", exc)
        except Exception:  # never let one bad connection take the thread down noisily
            log.exception("browser guard: unexpected error")
        finally:
            self._linger(client)
            self._untrack_and_close(client)

    @staticmethod
    def _linger(client: socket.socket) -> None:
        """Close gracefully: send our FIN, then read what the client still sends (briefly, dropped), so closing with
        unread bytes does not reset the connection before it has read the answer."""
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)
            client.settimeout(LINGER)
            for _ in range(16):
                if not client.recv(CHUNK):
                    break

    def _connect_tunnel(self, client: socket.socket, target: str, head: _Head) -> None:
        """`CONNECT host:port`: once the address is allowed and connected, relay bytes both ways."""
        host, port = _split_authority(target, 443)
        upstream = self._connect(host, port)
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if head.rest:
                upstream.sendall(head.rest)
            self._tunnel(client, upstream)
        finally:
            self._untrack_and_close(upstream)

    @staticmethod
    def _request_line(line: str) -> tuple[str, str, str]:
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Reject(400, "Bad Request", f"malformed request line {line[:200]!r}")
        return parts[0].upper(), parts[1], parts[2]

    def _connect(self, host: str, port: int) -> socket.socket:
        """Resolve `host` here, refuse unless every address is allowed, connect to an address that was checked."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise _Reject(502, "Bad Gateway", f"cannot resolve {host}: {exc}") from None
        if not infos:
            raise _Reject(502, "Bad Gateway", f"cannot resolve {host}: no addresses")
        own_port = self._server.server_address[1] if self._server is not None else None
        for info in infos:
            address = info[4][0]
            if not self.policy.allows_address(host, address):
                self._refuse(host, address, "a non-public address (allow it with LG_CRAWL_ALLOW_PRIVATE if intended)")
            if port == own_port and address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
                self._refuse(host, address, "the browser guard itself")
        last: OSError | None = None
        for family, type_, proto, _, sockaddr in infos:  # exactly the addresses checked above, no second lookup
            sock = socket.socket(family, type_, proto)
            try:
                sock.settimeout(self.timeout)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            self._track(sock)
            return sock
        raise _Reject(502, "Bad Gateway", f"cannot connect to {host} port {port}: {last}")

    def _refuse(self, host: str, address: str, why: str) -> None:
        refusal = Refusal(host, address, why)
        with self._lock:
            self._refused.append(refusal)
        log.warning("browser guard refused %s (%s): %s", host, address, why)
        raise _Reject(403, "Forbidden", f"refused {host}: it resolves to {address}, {why}")

    def _forward(self, client: socket.socket, method: str, target: str, version: str, head: _Head) -> None:
        """An absolute-URI request: send it on in origin form, relay the answer with `Connection: close`."""
        url = urlsplit(target)
        if url.scheme.lower() != "http" or not url.netloc:
            raise _Reject(400, "Bad Request", f"a proxy request needs an absolute http:// URL, got {target[:200]!r}")
        host, port = _split_authority(url.netloc.rpartition("@")[2], 80)
        if head.get("Transfer-Encoding") is not None:
            raise _Reject(411, "Length Required", "request bodies must have a Content-Length")
        length = head.get("Content-Length")
        try:
            body_length = int(length) if length is not None else 0
        except ValueError:
            raise _Reject(400, "Bad Request", f"bad Content-Length {length[:40]!r}") from None
        if body_length < 0:
            raise _Reject(400, "Bad Request", "negative Content-Length")
        named = {n.strip().lower() for n in (head.get("Connection") or "").split(",")}
        dropped = HOP_BY_HOP | named | {"host"}
        authority = url.netloc.rpartition("@")[2]
        start = f"{method} {url.path or '/'}{'?' + url.query if url.query else ''} {version}"
        headers = [("Host", authority), *((k, v) for k, v in head.headers if k.lower() not in dropped)]
        upstream = self._connect(host, port)
        try:
            upstream.sendall(_serialise(start, [*headers, ("Connection", "close")]))
            self._send_body(client, upstream, head.rest, body_length)
            self._relay_response(client, upstream, head_only=method == "HEAD")
        finally:
            self._untrack_and_close(upstream)

    def _send_body(self, client: socket.socket, upstream: socket.socket, buffered: bytes, length: int) -> None:
        """Exactly `length` bytes of request body; anything the client sends after it is never forwarded."""
        upstream.sendall(buffered[:length])
        left = length - min(len(buffered), length)
        while left > 0:
            chunk = client.recv(min(CHUNK, left))
            if not chunk:
                raise ConnectionError("the client closed in the middle of the request body")
            upstream.sendall(chunk)
            left -= len(chunk)

    def _relay_response(self, client: socket.socket, upstream: socket.socket, *, head_only: bool = False) -> None:
        """The origin's header block with `Connection: close` (1xx answers passed on first), then the body raw: its
        Content-Length when it has one (an origin that keeps the connection open anyway does not hold us), else
        up to the origin's close."""
        pending = b""
        while True:
            try:
                head = _read_head(upstream, pending)
            except _Reject:
                raise _Reject(502, "Bad Gateway", "the origin sent a malformed or oversized header block") from None
            if head is None:
                raise _Reject(502, "Bad Gateway", "the origin closed without answering")
            status = head.start.partition(" ")[2][:3]
            if status == "101":  # switching protocols: relay as it is, both ways
                client.sendall(_serialise(head.start, head.headers) + head.rest)
                self._tunnel(client, upstream)
                return
            if status.startswith("1"):  # 100 Continue, 103 Early Hints: passed on; the final answer follows
                client.sendall(_serialise(head.start, head.headers))
                pending = head.rest
                continue
            hop = ("connection", "keep-alive", "proxy-connection")
            headers = [(k, v) for k, v in head.headers if k.lower() not in hop]
            length = _body_length(head, status, head_only)
            rest = head.rest if length is None else head.rest[:length]
            client.sendall(_serialise(head.start, [*headers, ("Connection", "close")]) + rest)
            self._drain(client, upstream, None if length is None else length - len(rest))
            return

    def _drain(self, client: socket.socket, upstream: socket.socket, left: int | None) -> None:
        """Origin → client: `left` more bytes, or (None) until the origin closes. The client's own bytes are read and
        dropped, never forwarded; its half-close only stops that."""
        with selectors.DefaultSelector() as sel:
            sel.register(upstream, selectors.EVENT_READ, client)
            sel.register(client, selectors.EVENT_READ, None)
            while left is None or left > 0:
                ready = sel.select(self.timeout)
                if not ready:
                    return  # idle too long
                for key, _ in ready:
                    data = key.fileobj.recv(CHUNK if left is None else min(CHUNK, left))  # type: ignore[union-attr]
                    if key.data is None:  # the client
                        if not data:
                            sel.unregister(client)
                        continue
                    if not data:
                        return
                    client.sendall(data)
                    if left is not None:
                        left -= len(data)

    def _tunnel(self, a: socket.socket, b: socket.socket) -> None:
        """Bytes both ways until both sides are done (a half-close is passed on) or the tunnel sits idle."""
        open_for_reading = {a: b, b: a}
        with selectors.DefaultSelector() as sel:
            for src, dst in open_for_reading.items():
                sel.register(src, selectors.EVENT_READ, dst)
            while open_for_reading:
                ready = sel.select(self.timeout)
                if not ready:
                    return
                for key, _ in ready:
                    src, dst = key.fileobj, key.data
                    try:
                        data = src.recv(CHUNK)  # type: ignore[union-attr]
                    except ConnectionResetError:
                        return
                    if data:
                        dst.sendall(data)
                        continue
                    sel.unregister(src)
                    del open_for_reading[src]  # type: ignore[arg-type]
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)


def _body_length(head: _Head, status: str, head_only: bool) -> int | None:
    """How many body bytes follow a response header block; None: up to the close (chunked, or no length given)."""
    if head_only or status in ("204", "304"):
        return 0
    if head.get("Transfer-Encoding") is not None:
        return None
    length = head.get("Content-Length")
    if length is None:
        return None
    try:
        value = int(length)
    except ValueError:
        raise _Reject(502, "Bad Gateway", f"the origin sent a bad Content-Length {length[:40]!r}") from None
    if value < 0:
        raise _Reject(502, "Bad Gateway", "the origin sent a negative Content-Length")
    return value


def _serialise(start: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start, *(f"{k}: {v}" for k, v in headers)]) + "\r\n\r\n").encode("latin-1")
