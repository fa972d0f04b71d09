"""A polite crawl of one site (robots.txt, Crawl-delay): what it shows is stored and processed like any other object.

`crawl_site` is not an operation with a route: Scrapy's reactor runs once per process, so a crawl is a process of
its own (the `crawl` command, the compose `crawler` service). It stores through the service the command chose (the
stores opened here, or the `serve` that owns the data dir), each object like an upload, and writes the audit record
for the whole crawl.

`start_crawl` (the browser's way in) is an operation: the server starts that same `crawl` command as a child
process, which stores through the server like any other; `crawl_status` and `list_crawls` read how far each got
from the files it keeps under `LG_DATA_DIR/crawls/<id>/` (the request, progress every second, the summary, the
log), so they answer the same after a restart and from the command line.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from lookingglass.app import App
from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.settings import Settings

CRAWLS_DIR = "crawls"
MAX_RUNNING = 2  # crawls started from the browser that may run at once (each is a process with its own downloads)
LISTED = 50
CRAWL_ID = r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{6}$"


class CrawlRequest(Record):
    """What to crawl; None means the setting's default (START_URL, CRAWL_MODE, LG_CRAWL_*)."""

    start_url: str | None = Field(None, max_length=2000)
    mode: Literal["image", "page", "all"] | None = None
    max_pages: int | None = Field(None, ge=1)
    max_objects: int | None = Field(None, ge=1)
    max_bytes: int | None = Field(None, ge=1)
    depth: int | None = Field(None, ge=0, description="links to follow from the start page")
    allow_domains: list[str] = Field(default_factory=list, description="more domains in scope")
    offsite_media: bool = Field(False, description="fetch media hosted elsewhere (CDNs)")
    render: Literal["never", "auto", "always"] | None = None
    delay: float | None = Field(None, ge=0, description="seconds between requests to one host, at least")
    job_dir: str | None = Field(None, description="Scrapy JOBDIR, to resume an interrupted crawl")


class SkippedUrl(Record):
    url: str
    category: str
    reason: str


class CrawlSummary(Record):
    start_url: str
    mode: str
    user_agent: str
    finish_reason: str | None
    pages: int
    pages_stored: int
    pages_known: int
    media_stored: int
    media_known: int
    sightings: int
    rendered: int
    robots_forbidden: int
    refused_address: int
    skipped: dict[str, int] = Field(description="URLs not stored, by reason")
    errors: int = Field(description="skips that were failures (not robots.txt, noindex or not HTML)")
    bytes: int
    requests: int
    browser_refused: int = Field(description="the browser's connections to non-public addresses that were refused")
    processing: dict[str, int] = Field(description="faces indexed (processed here or by serve), or jobs queued")
    skipped_urls: list[SkippedUrl]
    seconds: float


def crawl_site(
    settings: Settings,
    service,
    caller: Caller,
    request: CrawlRequest,
    *,
    verbose: bool = False,
    quiet: bool = False,
    progress_file: str | None = None,
) -> CrawlSummary:
    """Crawl from the start URL until a budget or the site runs out (`quiet`: no progress lines; `verbose`:
    Scrapy's own log)."""
    from lookingglass.sources.crawler.options import CrawlOptions
    from lookingglass.sources.crawler.run import crawl
    from lookingglass.stores.private.audit import AuditLog

    start_url = request.start_url or settings.crawl_start_url
    if not start_url:
        raise BadInput("name a start URL (or set START_URL)")
    options = CrawlOptions.from_settings(
        settings,
        start_url,
        mode=request.mode or settings.crawl_mode,
        max_pages=request.max_pages,
        max_objects=request.max_objects,
        max_bytes=request.max_bytes,
        depth=request.depth,
        allow_domains=tuple(request.allow_domains),
        offsite_media=request.offsite_media or None,
        render=request.render,
        delay=request.delay,
        job_dir=Path(request.job_dir) if request.job_dir else None,
    )
    summary = CrawlSummary.model_validate(
        crawl(settings, options, service, verbose=verbose, quiet=quiet, progress_file=progress_file)
    )
    stored = summary.media_stored + summary.pages_stored
    AuditLog.open(settings.data_dir).record(caller.name, caller.role, "crawl", target=start_url, results=stored)
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Crawls started from the browser: a `crawl` process each, its progress read back from its folder


class StartCrawl(Record):
    """A crawl as the browser asks for one. The politeness rules are the installation's (robots.txt, Crawl-delay,
    LG_CRAWL_DELAY, the user agent, the address guard): they are not the caller's to change, nor where files go."""

    start_url: str = Field(min_length=1, max_length=2000, description="http(s) URL of the first page")
    mode: Literal["image", "page", "all"] | None = Field(None, description="what to store (default: CRAWL_MODE)")
    max_pages: int | None = Field(None, ge=1, le=100_000, description="pages to fetch at most")
    max_objects: int | None = Field(None, ge=1, le=1_000_000, description="media files to fetch at most")
    max_bytes: int | None = Field(None, ge=1, description="download budget for the whole crawl, in bytes")
    depth: int | None = Field(None, ge=0, le=50, description="links to follow from the start page")
    allow_domains: list[str] = Field(default_factory=list, max_length=20, description="more domains in scope")
    offsite_media: bool = Field(False, description="fetch media hosted elsewhere (CDNs)")
    render: Literal["never", "auto", "always"] | None = Field(None, description="run pages' JavaScript in Chromium")


class CrawlPath(Record):
    crawl_id: str = Field(pattern=CRAWL_ID, description="the id start_crawl answered")


class CrawlState(Record):
    id: str
    start_url: str
    mode: str | None
    state: Literal["running", "finished", "failed"] = Field(description="finished: the crawl ran to its end")
    started_at: str
    ended_at: str | None = None
    started_by: str
    seconds: float | None = Field(None, description="how long it has run")
    pages: int = 0
    pages_stored: int = 0
    media_stored: int = 0
    media_known: int = 0
    robots_forbidden: int = 0
    errors: int = Field(0, description="pages or files that failed (robots.txt and noindex are not failures)")
    bytes: int = 0
    processing: dict[str, int] | None = Field(None, description="once finished: faces indexed, or jobs queued")
    finish_reason: str | None = None
    message: str | None = Field(None, description="why it failed, in plain words")
    skipped_urls: list[SkippedUrl] = Field(default_factory=list, description="once finished: the first URLs skipped")


class CrawlList(Record):
    crawls: list[CrawlState] = Field(description="newest first")


_children: dict[str, subprocess.Popen] = {}  # this process's crawls, so each is waited for when it ends
_children_lock = threading.Lock()


@operation
def start_crawl(app: App, caller: Caller, request: StartCrawl) -> CrawlState:
    """Start a crawl in the background (a `lookingglass crawl` process that stores through this server); at most
    MAX_RUNNING at once (503 with Retry-After beyond). Answers at once: `crawl_status` says how far it got."""
    from urllib.parse import urlsplit

    if caller.via == "cli":
        raise BadInput("a crawl runs in the background only under `lookingglass serve`; here, run `lookingglass crawl`")
    parts = urlsplit(request.start_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"start_url must be an http(s) URL with a host, not {request.start_url!r}")
    if not _crawl_can_store(app.settings):
        raise Unavailable("a crawl started here needs `lookingglass serve` to own the data dir (it stores through it)")
    if len(_running_here()) >= MAX_RUNNING:
        raise Unavailable(f"{MAX_RUNNING} crawls are running already; try again when one ends", retry_after=60)
    now = datetime.now(UTC)
    crawl_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    folder = _crawls_dir(app.settings) / crawl_id
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "lookingglass.cli", "crawl", request.start_url.strip(), "--json"]
    command += ["--progress-file", str(folder / "progress.json")]
    asked = request.model_dump(include={"mode", "max_pages", "max_objects", "max_bytes", "depth", "render"})
    for name, value in asked.items():
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    for domain in request.allow_domains:
        command += ["--allow-domain", domain]
    if request.offsite_media:
        command.append("--offsite-media")
    env = {**os.environ, "LG_DATA_DIR": str(app.settings.data_dir)}
    with (folder / "summary.json").open("wb") as out, (folder / "log.txt").open("wb") as log:
        child = subprocess.Popen(command, stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=env)
    meta = {
        "id": crawl_id,
        "start_url": request.start_url.strip(),
        "mode": request.mode or app.settings.crawl_mode,
        "started_at": now.isoformat(timespec="seconds"),
        "started_by": caller.name,
        "pid": child.pid,
        "request": request.model_dump(mode="json"),
    }
    (folder / "crawl.json").write_text(json.dumps(meta))
    with _children_lock:
        _children[crawl_id] = child
    threading.Thread(target=_wait_for, args=(crawl_id, child, folder), daemon=True, name="lg-crawl").start()
    audit(app, caller, "crawl_started", target=meta["start_url"])
    return _state(folder)


@operation
def crawl_status(app: App, caller: Caller, *, crawl_id: str) -> CrawlState:
    """How far a crawl started from the browser got: running (pages, stored, errors so far), finished (its summary)
    or failed (why)."""
    folder = _crawls_dir(app.settings) / CrawlPath(crawl_id=crawl_id).crawl_id
    if not (folder / "crawl.json").is_file():
        raise NotFound(f"no crawl {crawl_id}")
    return _state(folder)


@operation
def list_crawls(app: App, caller: Caller) -> CrawlList:
    """The latest crawls started from the browser, newest first."""
    root = _crawls_dir(app.settings)
    folders = sorted((p for p in root.iterdir() if (p / "crawl.json").is_file()), reverse=True) if root.is_dir() else []
    return CrawlList(crawls=[_state(folder) for folder in folders[:LISTED]])


def _crawl_can_store(settings: Settings) -> bool:
    """The crawl process stores through the `serve` that owns the data dir, or straight into server stores."""
    from lookingglass.stores.ownership import read_server_info

    servers = settings.distributed_vectors and settings.distributed_objects
    return servers or read_server_info(settings.data_dir) is not None


def _crawls_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / CRAWLS_DIR


def _running_here() -> list[str]:
    with _children_lock:
        return [crawl_id for crawl_id, child in _children.items() if child.poll() is None]


def _wait_for(crawl_id: str, child: subprocess.Popen, folder: Path) -> None:
    """Reap the crawl process when it ends and note when that was (the summary is what it printed)."""
    code = child.wait()
    (folder / "ended.json").write_text(
        json.dumps({"ended_at": datetime.now(UTC).isoformat(timespec="seconds"), "exit_code": code})
    )
    with _children_lock:
        _children.pop(crawl_id, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


COUNTED = ("pages", "pages_stored", "media_stored", "media_known", "robots_forbidden", "errors", "bytes", "seconds")


def _state(folder: Path) -> CrawlState:
    """A crawl's state from its folder: the summary once it printed one, else its progress, and whether its
    process still runs."""
    meta = _read_json(folder / "crawl.json") or {}
    ended = _read_json(folder / "ended.json")
    summary = _read_json(folder / "summary.json")
    progress = _read_json(folder / "progress.json") or {}
    base = {
        "id": folder.name,
        "start_url": meta.get("start_url", ""),
        "mode": meta.get("mode"),
        "started_at": meta.get("started_at", ""),
        "started_by": meta.get("started_by", ""),
    }
    with _children_lock:
        child = _children.get(folder.name)
    running = child.poll() is None if child is not None else ended is None and _alive(int(meta.get("pid", 0) or 0))
    if running:
        return CrawlState(**base, state="running", **{k: progress[k] for k in COUNTED if k in progress})
    ended_at = (ended or {}).get("ended_at")
    if summary is None:
        return CrawlState(
            **base,
            state="failed",
            ended_at=ended_at,
            **{k: progress[k] for k in COUNTED if k in progress},
            message=_last_error(folder / "log.txt"),
        )
    counted = {k: summary[k] for k in COUNTED if k in summary}
    skipped = [SkippedUrl(**item) for item in summary.get("skipped_urls", [])[:50]]
    failed = not summary.get("pages")
    message = None
    if failed:
        reasons = "; ".join(f"{s.url}: {s.reason}" for s in skipped[:3])
        message = "nothing could be crawled" + (f" ({reasons})" if reasons else "")
    return CrawlState(
        **base,
        state="failed" if failed else "finished",
        ended_at=ended_at,
        **counted,
        processing=summary.get("processing"),
        finish_reason=summary.get("finish_reason"),
        message=message,
        skipped_urls=skipped,
    )


def _last_error(log: Path) -> str:
    """The crawl command's one-line error (`lookingglass: ...`), in plain words."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith("lookingglass: "):
            return line.removeprefix("lookingglass: ")
    return "the crawl stopped before it could finish" + (f": {lines[-1][:300]}" if lines else "")
