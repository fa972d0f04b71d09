"""Progress while crawling (a line on stderr every few seconds) and the final summary."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from scrapy import signals
from twisted.internet import task

INTERVAL = 5.0
FILE_INTERVAL = 1.0  # how often the progress file (a crawl started from the browser) is rewritten


def counts(stats: dict) -> dict:
    """The numbers a person wants from a crawl, out of Scrapy's stats."""

    def get(name: str) -> int:
        return int(stats.get(name, 0) or 0)

    skipped = {k.rsplit("/", 1)[-1]: int(v) for k, v in stats.items() if k.startswith("lookingglass/skipped/")}
    return {
        "pages": get("lookingglass/pages"),
        "pages_stored": get("lookingglass/pages_stored"),
        "pages_known": get("lookingglass/pages_known"),
        "media_stored": get("lookingglass/media_stored"),
        "media_known": get("lookingglass/media_known"),
        "sightings": get("lookingglass/sightings"),
        "rendered": get("lookingglass/rendered"),
        "robots_forbidden": get("robotstxt/forbidden"),
        "refused_address": get("lookingglass/refused_address"),
        "skipped": skipped,
        "errors": sum(v for k, v in skipped.items() if k not in ("robots", "noindex", "not_html")),
        "bytes": get("lookingglass/bytes"),
        "requests": get("downloader/request_count"),
    }


class CrawlProgress:
    """Prints `pages · media stored · robots · errors · MB` to stderr while the crawl runs (LG progress, not logs)."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.quiet = crawler.settings.getbool("LG_QUIET")
        progress_file = crawler.settings.get("LG_PROGRESS_FILE")
        self.progress_file = Path(progress_file) if progress_file else None
        self.loop: task.LoopingCall | None = None
        self.file_loop: task.LoopingCall | None = None
        self.started = time.monotonic()
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _opened(self, spider) -> None:
        self.started = time.monotonic()
        if not self.quiet:
            self.loop = task.LoopingCall(self.report)
            self.loop.start(INTERVAL, now=False)
        if self.progress_file is not None:
            self.file_loop = task.LoopingCall(self.write)
            self.file_loop.start(FILE_INTERVAL, now=True)

    def _closed(self, spider, reason) -> None:
        for loop in (self.loop, self.file_loop):
            if loop is not None and loop.running:
                loop.stop()
        if self.progress_file is not None:
            self.write()

    def write(self) -> None:
        """The counts so far as JSON in the progress file (replaced whole, so a reader never sees half of it)."""
        c = counts(self.crawler.stats.get_stats())
        c["seconds"] = round(time.monotonic() - self.started, 1)
        temporary = self.progress_file.with_name(self.progress_file.name + ".tmp")
        temporary.write_text(json.dumps(c))
        os.replace(temporary, self.progress_file)

    def report(self) -> None:
        c = counts(self.crawler.stats.get_stats())
        print(
            f"crawl {time.monotonic() - self.started:5.0f}s: {c['pages']} pages, {c['media_stored']} media stored "
            f"({c['media_known']} known), {c['pages_stored']} pages stored, {c['robots_forbidden']} robots.txt, "
            f"{c['errors']} errors, {c['bytes'] / 1e6:.1f} MB",
            file=sys.stderr,
            flush=True,
        )
