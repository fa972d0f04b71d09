"""What to follow: pages in scope up to the depth and page budget; media those pages show, once per URL.

The spider keeps, per media URL, the sha256 it became (in `self.state`, which Scrapy saves in JOBDIR, so a resumed
crawl remembers): a URL seen again on another page adds a sighting instead of a download, and a download still in
flight collects the sightings that arrive meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from lookingglass.errors import BadInput
from lookingglass.media.sniff import describe_bytes, sniff_media
from lookingglass.sources.crawler.extract import (
    RobotsDirectives,
    find_links,
    find_media,
    needs_rendering,
    page_title,
    robots_meta,
)
from lookingglass.sources.crawler.items import MediaItem, PageItem, SightingItem
from lookingglass.sources.crawler.options import CrawlOptions
from lookingglass.sources.crawler.scope import Scope, canonical_url
from lookingglass.sources.sightings import Sighting

MEDIA_KINDS = ("image", "video")
MAX_SKIP_RECORDS = 500
FAILED = ""  # a media URL whose download failed: not fetched again in this crawl


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _filename(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or "index"


def failure_reason(failure) -> tuple[str, str]:
    """(category, reason) for a failed request, worded for the person reading the crawl summary."""
    exc = failure.value
    name = type(exc).__name__
    if isinstance(exc, HttpError):
        return "http_error", f"HTTP {exc.response.status}"
    message = str(exc)
    if name == "IgnoreRequest":
        if "robots.txt" in message:
            return "robots", "disallowed by robots.txt"
        if "redirections" in message:
            return "redirects", "too many redirects (a redirect loop?)"
        if message.startswith("refused") or "non-public" in message or "cannot resolve" in message:
            return "refused_address", message
        return "ignored", message or "ignored"
    if name in ("DownloadCancelledError", "CancelledError") or "maxsize" in message.lower():
        return "too_large", f"larger than the download limit ({message})" if message else "larger than the limit"
    if name in ("TimeoutError", "TCPTimedOutError", "DownloadTimeoutError"):
        return "network", "timed out"
    return "network", f"{name}: {message}"[:300]


class SiteSpider(scrapy.Spider):
    name = "lookingglass"

    def __init__(self, options: CrawlOptions, sink=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.sink = sink
        self.scope = Scope.for_start(options.start_url, options.allow_domains)
        self.skipped: list[dict] = []
        self.pending: dict[str, list[Sighting]] = {}

    # --- bookkeeping (on the reactor thread only)

    def _state(self) -> dict:
        if not hasattr(self, "state"):  # Scrapy sets `state` (persisted) only when JOBDIR is set
            self.state = {}
        for name, empty in (("media", {}), ("pages", 0), ("objects", 0)):
            self.state.setdefault(name, empty)
        return self.state

    def skip(self, url: str, category: str, reason: str) -> None:
        self.crawler.stats.inc_value(f"lookingglass/skipped/{category}")
        if len(self.skipped) < MAX_SKIP_RECORDS:
            self.skipped.append({"url": url, "category": category, "reason": reason})

    def media_stored(self, url: str, sha256: str) -> list[Sighting]:
        """The pipeline stored `url` as `sha256`; returns sightings that arrived while it was in flight."""
        self._state()["media"][url] = sha256
        return self.pending.pop(url, [])

    def media_failed(self, url: str, category: str, reason: str) -> None:
        self._state()["media"][url] = FAILED
        self.pending.pop(url, None)
        self.skip(url, category, reason)

    # --- requests

    async def start(self):
        self._state()
        yield self._page_request(canonical_url(self.options.start_url), depth=0)

    def _page_request(self, url: str, depth: int, render: bool | None = None) -> Request:
        state = self._state()
        state["pages"] += 1
        render = self.options.render == "always" if render is None else render
        meta = {"page_depth": depth, "playwright": render}
        if render:
            meta["playwright_page_goto_kwargs"] = {"wait_until": "networkidle"}
        return Request(url, callback=self.parse_page, errback=self.failed, meta=meta)

    def _media_requests(self, url: str, sighting: Sighting):
        state = self._state()
        if url in state["media"]:
            known = state["media"][url]
            if known:
                yield SightingItem(known, sighting)
            elif known is None:
                self.pending.setdefault(url, []).append(sighting)
            return
        if state["objects"] >= self.options.max_objects:
            self.crawler.stats.inc_value("lookingglass/over_object_budget")
            return
        state["objects"] += 1
        state["media"][url] = None
        yield Request(
            url,
            callback=self.parse_media,
            errback=self.failed,
            priority=10,  # finish what pages showed before opening new pages
            headers={"Accept": "image/*,video/*;q=0.9,*/*;q=0.5"},
            meta={"media_url": url, "sightings": [sighting], "download_maxsize": self.options.max_object_bytes},
        )

    # --- callbacks

    def parse_page(self, response):
        page_url = canonical_url(response.url)
        depth = response.meta.get("page_depth", 0)
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        if not isinstance(response, TextResponse) or "html" not in content_type:
            self.skip(page_url, "not_html", f"not an HTML page ({content_type or 'no content type'})")
            return
        html = response.text
        if self.options.render == "auto" and not response.meta.get("playwright") and needs_rendering(html):
            self.crawler.stats.inc_value("lookingglass/rendered")
            yield self._page_request(page_url, depth, render=True).replace(dont_filter=True)
            return
        self.crawler.stats.inc_value("lookingglass/pages")
        header_directives = [v.decode("latin-1") for v in response.headers.getlist(b"X-Robots-Tag")]
        directives = RobotsDirectives.parse(robots_meta(html) + header_directives)
        title = page_title(html)
        fetched_at = _now()
        if self.options.stores_pages:
            if directives.noindex:
                self.skip(page_url, "noindex", "the page asks not to be indexed (noindex)")
            else:
                yield PageItem(page_url, response.body, title, fetched_at, bool(response.meta.get("playwright")))
        if self.options.stores_media and not directives.noimageindex:
            for ref in find_media(html, response.url):
                if ref.url not in self.scope and not self.options.offsite_media:
                    self.crawler.stats.inc_value("lookingglass/offsite_media")
                    continue
                sighting = Sighting(
                    ref.url,
                    page_url=page_url,
                    page_title=title,
                    alt=ref.alt,
                    caption=ref.caption,
                    context=ref.context,
                    seen_at=fetched_at,
                )
                yield from self._media_requests(ref.url, sighting)
        if directives.nofollow or depth >= self.options.depth:
            return
        for link in find_links(html, response.url):
            if link not in self.scope:
                continue
            if self._state()["pages"] >= self.options.max_pages:
                self.crawler.stats.inc_value("lookingglass/over_page_budget")
                break
            yield self._page_request(link, depth + 1)

    def parse_media(self, response):
        url = response.meta["media_url"]
        data = response.body
        served_as = response.headers.get(b"Content-Type", b"").decode("latin-1") or "no content type"
        try:
            _ext, _type, kind = sniff_media(data, _filename(url))
        except BadInput:
            kind = None
        if kind not in MEDIA_KINDS:
            looks = describe_bytes(data) if data else "empty"
            self.media_failed(url, "not_media", f"not an image or video: looks like {looks} (served as {served_as})")
            return
        yield MediaItem(url, data, _filename(url), list(response.meta["sightings"]))

    def failed(self, failure):
        request = failure.request
        category, reason = failure_reason(failure)
        if request.callback == self.parse_media:
            self.media_failed(request.meta["media_url"], category, reason)
        else:
            self.skip(request.url, category, reason)
