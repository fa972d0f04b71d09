"""How requests are made: only to allowed addresses, through the one configured proxy, within the byte budget."""

from __future__ import annotations

import asyncio

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.error import DNSLookupError
from twisted.internet.threads import deferToThread

from lookingglass.sources.crawler.addresses import AddressPolicy, RefusedAddress


class AddressGuardMiddleware:
    """Refuse requests whose host resolves to a private, loopback or link-local address. Runs before robots.txt
    (whose own request passes through here too) and again for every redirect, which Scrapy issues as a new request."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.policy = AddressPolicy(tuple(crawler.settings.getlist("LG_ALLOW_PRIVATE")))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request) -> None:
        try:  # resolution blocks, so it runs on a thread, not the reactor
            await maybe_deferred_to_future(deferToThread(self.policy.check, request.url))
        except RefusedAddress as exc:
            self.crawler.stats.inc_value("lookingglass/refused_address")
            raise IgnoreRequest(exc.message) from None


def browser_request_filter(policy: AddressPolicy):
    """PLAYWRIGHT_ABORT_REQUEST: what Chromium may not fetch while it renders a page. Images, media and fonts are not
    needed to read the DOM (the spider fetches the media it wants politely itself); refused addresses never."""

    async def abort(request) -> bool:
        if request.resource_type in ("image", "media", "font"):
            return True
        if not request.url.startswith(("http://", "https://")):
            return request.url.startswith("file:")
        return not await asyncio.to_thread(policy.allows, request.url)

    return abort


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's DNS resolver, refusing at connect time the addresses the policy refuses (DNS_RESOLVER)."""

    policy = AddressPolicy()

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = AddressPolicy(tuple(crawler.settings.getlist("LG_ALLOW_PRIVATE")))
        return resolver

    def getHostByName(self, name: str, timeout=()):
        def check(address: str) -> str:
            if not self.policy.allows_address(name, address):
                raise DNSLookupError(f"refused {name}: it resolves to {address}, a non-public address")
            return address

        return super().getHostByName(name, timeout).addCallback(check)


class ProxyMiddleware:
    """One egress proxy for every request, when the operator sets LG_CRAWL_PROXY. Never a rotation."""

    def __init__(self, proxy: str | None) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("LG_PROXY"))

    def process_request(self, request) -> None:
        if self.proxy:
            request.meta.setdefault("proxy", self.proxy)


class ByteBudgetMiddleware:
    """Stop the crawl once the downloaded bytes pass the budget (LG_CRAWL_MAX_BYTES)."""

    def __init__(self, crawler, budget: int) -> None:
        self.crawler = crawler
        self.budget = budget
        self.closing = False
        crawler.signals.connect(self._reset, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.getint("LG_MAX_BYTES"))

    def _reset(self, spider) -> None:
        self.closing = False

    def process_response(self, request, response):
        total = self.crawler.stats.get_value("lookingglass/bytes", 0) + len(response.body)
        self.crawler.stats.set_value("lookingglass/bytes", total)
        if self.budget and total >= self.budget and not self.closing:
            self.closing = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="byte_budget"))
        return response
