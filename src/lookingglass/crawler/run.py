"""Run one crawl in this process: choose the sink, start Scrapy (and, when rendering, the browser guard), wait,
summarise.

Scrapy's reactor can start once per process, so `lookingglass crawl` is one crawl per process (tests run the CLI).
"""

from __future__ import annotations

import time

from lookingglass.crawler.options import CrawlOptions
from lookingglass.crawler.progress import counts
from lookingglass.settings import Settings


def open_sink(settings: Settings):
    """`serve` when it owns the data dir; otherwise this process's own stores (and, embedded, its own models)."""
    from lookingglass.client import running_server
    from lookingglass.crawler.sinks import AppSink, ServerSink

    server = running_server(settings)
    if server is not None:
        return ServerSink(server)
    from lookingglass.app import build

    app = build(settings)
    if app.queue.backend == "inline":
        app.models.load()
    return AppSink(app)


def crawl(settings: Settings, options: CrawlOptions, *, verbose: bool = False, quiet: bool = False) -> dict:
    from scrapy.crawler import CrawlerProcess

    from lookingglass.crawler.addresses import AddressPolicy
    from lookingglass.crawler.browser_guard import BrowserGuard
    from lookingglass.crawler.politeness import scrapy_settings, user_agent
    from lookingglass.crawler.spider import SiteSpider

    # Chromium resolves names itself; unless an egress proxy carries its traffic, it connects only through the
    # guard, which checks the address it really connects to (DNS rebinding).
    guard = BrowserGuard(AddressPolicy(settings.crawl_allow_private))
    guarded = options.render != "never" and not settings.crawl_proxy
    sink = open_sink(settings)
    started = time.monotonic()
    try:
        browser_proxy = guard.start() if guarded else None
        process = CrawlerProcess(
            {**scrapy_settings(settings, options, verbose=verbose, browser_proxy=browser_proxy), "LG_QUIET": quiet}
        )
        crawler = process.create_crawler(SiteSpider)
        process.crawl(crawler, options=options, sink=sink)
        process.start()
        processing = sink.finish()
    finally:
        guard.stop()
        sink.close()
    stats = crawler.stats.get_stats()
    spider = crawler.spider
    return {
        "start_url": options.start_url,
        "mode": options.mode,
        "user_agent": user_agent(settings),
        "finish_reason": stats.get("finish_reason"),
        **counts(stats),
        "browser_refused": len(guard.refused),  # Chromium's connections the guard refused
        "processing": processing,
        "skipped_urls": spider.skipped if spider is not None else [],
        "seconds": round(time.monotonic() - started, 1),
    }
