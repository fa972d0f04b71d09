"""Run one crawl in this process: start Scrapy (and, when rendering, the browser guard) with a sink over the service
the command chose, wait, summarise.

Scrapy's reactor can start once per process, so `lookingglass crawl` is one crawl per process (tests run the CLI).
"""

from __future__ import annotations

import time

from lookingglass.settings import Settings
from lookingglass.sources.crawler.options import CrawlOptions
from lookingglass.sources.crawler.progress import counts


def crawl(
    settings: Settings,
    options: CrawlOptions,
    service,
    *,
    verbose: bool = False,
    quiet: bool = False,
    progress_file: str | None = None,
) -> dict:
    from scrapy.crawler import CrawlerProcess

    from lookingglass.sources.crawler.addresses import AddressPolicy
    from lookingglass.sources.crawler.browser_guard import BrowserGuard
    from lookingglass.sources.crawler.politeness import scrapy_settings, user_agent
    from lookingglass.sources.crawler.spider import SiteSpider

    # Chromium resolves names itself; unless an egress proxy carries its traffic, it connects only through the
    # guard, which checks the address it really connects to (DNS rebinding).
    guard = BrowserGuard(AddressPolicy(settings.crawl_allow_private))
    guarded = options.render != "never" and not settings.crawl_proxy
    from lookingglass.sources.crawler.sinks import ServiceSink

    sink = ServiceSink(service)
    started = time.monotonic()
    try:
        browser_proxy = guard.start() if guarded else None
        process = CrawlerProcess(
            {
                **scrapy_settings(settings, options, verbose=verbose, browser_proxy=browser_proxy),
                "LG_QUIET": quiet,
                "LG_PROGRESS_FILE": progress_file,
            }
        )
        crawler = process.create_crawler(SiteSpider)
        process.crawl(crawler, options=options, sink=sink)
        process.start()
        processing = sink.finish()
    finally:
        guard.stop()
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
