"""The settings that make the crawler a good citizen, and the throttle that honours robots.txt's Crawl-delay.

An honest User-Agent naming LookingGlass with a contact URL; robots.txt obeyed (Protego) for every request,
including media; its Crawl-delay honoured (Scrapy ignores it by default; `PoliteThrottle` keeps AutoThrottle from
going below it); AutoThrottle on; at most two requests in flight per host (one when a Crawl-delay is set); no
random jitter games; cookies off. Chromium (Debian's, at LG_CHROMIUM) only when rendering is asked for; it sends
the same honest User-Agent.
"""

from __future__ import annotations

import logging
from time import monotonic

from scrapy import signals
from scrapy.core.downloader import Downloader, Slot
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response
from scrapy.utils.defer import _process_pending_io

from lookingglass import __version__
from lookingglass.settings import Settings
from lookingglass.sources.crawler.addresses import AddressPolicy
from lookingglass.sources.crawler.options import CrawlOptions

ROBOTS_TOKEN = "LookingGlass"  # the product token robots.txt groups are matched against
MAX_CRAWL_DELAY = 60.0  # a Crawl-delay above this is honoured as this (and reported), so a crawl can finish
log = logging.getLogger(__name__)


def user_agent(settings: Settings) -> str:
    return f"{ROBOTS_TOKEN}/{__version__} (+{settings.crawl_contact})"


def chromium_args() -> list[str]:
    """Flags for a headless Chromium in a container or CI: no sandbox (root), and no calls home to Google."""
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]


def scrapy_settings(
    settings: Settings, options: CrawlOptions, *, verbose: bool = False, browser_proxy: str | None = None
) -> dict:
    """Scrapy's settings for this crawl. `browser_proxy`: the `BrowserGuard` Chromium must connect through (when
    no egress proxy is configured), loopback included."""
    from lookingglass.sources.crawler.middlewares import browser_request_filter

    out = {
        "BOT_NAME": "lookingglass",
        "USER_AGENT": user_agent(settings),
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_PARSER": "scrapy.robotstxt.ProtegoRobotParser",
        "ROBOTSTXT_USER_AGENT": ROBOTS_TOKEN,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": options.delay,
        "AUTOTHROTTLE_MAX_DELAY": MAX_CRAWL_DELAY,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_DELAY": options.delay,
        "DOWNLOAD_DELAY_JITTER": 0.0,  # the delay is a promise to the site, not a disguise
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": options.max_object_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": 5,
        "RETRY_TIMES": 2,
        "COOKIES_ENABLED": False,
        "DEPTH_LIMIT": 0,  # the spider counts page depth itself, so media on the deepest pages is still fetched
        "TELNETCONSOLE_ENABLED": False,
        "DOWNLOADER": "lookingglass.sources.crawler.politeness.PoliteDownloader",
        "DNS_RESOLVER": "lookingglass.sources.crawler.middlewares.GuardedResolver",  # checks the address it connects to
        "LOG_LEVEL": "INFO" if verbose else "ERROR",
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            "lookingglass.sources.crawler.politeness.PoliteThrottle": 0,
            "lookingglass.sources.crawler.progress.CrawlProgress": 10,
        },
        "DOWNLOADER_MIDDLEWARES": {
            "lookingglass.sources.crawler.middlewares.AddressGuardMiddleware": 50,  # before robots.txt is fetched
            "lookingglass.sources.crawler.middlewares.ProxyMiddleware": 740,  # before HttpProxyMiddleware (750)
            "lookingglass.sources.crawler.middlewares.ByteBudgetMiddleware": 950,
        },
        "ITEM_PIPELINES": {"lookingglass.sources.crawler.pipelines.ObjectStorePipeline": 300},
        "LG_ALLOW_PRIVATE": list(settings.crawl_allow_private),
        "LG_PROXY": settings.crawl_proxy,
        "LG_MAX_BYTES": options.max_bytes,
    }
    if options.job_dir is not None:
        out["JOBDIR"] = str(options.job_dir)
    if options.render != "never":
        launch = {"executable_path": str(settings.chromium), "headless": True, "args": chromium_args()}
        if settings.crawl_proxy:
            launch["proxy"] = {"server": settings.crawl_proxy}
        elif browser_proxy:
            launch["proxy"] = {"server": browser_proxy}
            # Playwright adds <-loopback> itself unless PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK is set;
            # said again here (the last flag wins) so loopback never bypasses the guard. WebRTC: no direct UDP.
            launch["args"] += [
                "--proxy-bypass-list=<-loopback>",
                "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            ]
        out |= {
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
            "DOWNLOAD_HANDLERS": {
                "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
                "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            },
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
            "PLAYWRIGHT_ABORT_REQUEST": browser_request_filter(AddressPolicy(settings.crawl_allow_private)),
        }
    return out


class PoliteThrottle(AutoThrottle):
    """AutoThrottle that never goes below a host's robots.txt Crawl-delay (and then keeps one request in flight)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.floors: dict[str, float] = {}
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def _robots_parsed(self, robotparser, request) -> None:
        delay = getattr(robotparser, "crawl_delay", lambda _ua: None)(ROBOTS_TOKEN)
        if not delay:
            return
        if delay > MAX_CRAWL_DELAY:
            log.warning("%s asks for a Crawl-delay of %ss; waiting %ss", request.url, delay, MAX_CRAWL_DELAY)
            delay = MAX_CRAWL_DELAY
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        self.floors[key] = delay
        # New slots for this host start at the delay, with one request at a time; an existing slot is raised now.
        downloader.per_slot_settings[key] = {"delay": delay, "concurrency": 1, "jitter": 0.0}
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, delay)
            slot.concurrency = 1
        self.crawler.stats.set_value(f"lookingglass/crawl_delay/{key}", delay)

    def _response_downloaded(self, response, request, spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        floor = self.floors.get(key)
        if floor and slot is not None:
            slot.delay = max(slot.delay, floor)


class PoliteDownloader(Downloader):
    """Scrapy's downloader with a host's delay counted from when its previous request *finished*.

    Scrapy counts it from when the previous request was handed to the reactor. When the reactor is busy (the
    crawl's own processing shares the process) that request goes out late and the next follows at once: CI saw
    two requests 4 ms apart under a 0.3 s Crawl-delay. Counting from the end (response or error) means the site
    never sees two requests closer than the delay while one is in flight per host, whatever the reactor does.
    The body is Scrapy 2.19's `_download` (pinned in pyproject) with the two stamps added.
    """

    async def _download(self, slot: Slot, request: Request) -> Response:
        slot.transferring.add(request)
        slot.lastseen = max(slot.lastseen, monotonic())  # it really starts now, maybe later than scheduled
        try:
            response: Response = await self.handlers.download_request_async(request)
            self.signals.send_catch_log(
                signal=signals.response_downloaded, response=response, request=request, spider=self.crawler.spider
            )
            return response
        except Exception:
            await _process_pending_io()
            raise
        finally:
            slot.transferring.remove(request)
            slot.lastseen = max(slot.lastseen, monotonic())  # the next request waits its delay from here
            self._process_queue(slot)
            self.signals.send_catch_log(
                signal=signals.request_left_downloader, request=request, spider=self.crawler.spider
            )
