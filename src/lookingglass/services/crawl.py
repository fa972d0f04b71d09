"""A polite crawl of one site (robots.txt, Crawl-delay): what it shows is stored and processed like any other object.

Not an operation with a route: Scrapy's reactor runs once per process, so a crawl is a process of its own (the
`crawl` command, the compose `crawler` service). It stores through the service the command chose (the stores
opened here, or the `serve` that owns the data dir), each object like an upload, and writes the audit record for
the whole crawl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from lookingglass.errors import BadInput
from lookingglass.services import Caller, Record
from lookingglass.settings import Settings


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
    summary = CrawlSummary.model_validate(crawl(settings, options, service, verbose=verbose, quiet=quiet))
    stored = summary.media_stored + summary.pages_stored
    AuditLog.open(settings.data_dir).record(caller.name, caller.role, "crawl", target=start_url, results=stored)
    return summary
