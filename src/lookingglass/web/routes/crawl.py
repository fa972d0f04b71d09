"""Crawls started from the browser: start one (a `crawl` process the server runs), see how far each got."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from lookingglass.services.crawl import (
    CrawlList,
    CrawlPath,
    CrawlState,
    StartCrawl,
    crawl_status,
    list_crawls,
    start_crawl,
)
from lookingglass.web.routes import answer, caller, the_app

crawls = APIBlueprint("crawls", __name__, abp_tags=[Tag(name="crawls")])


@crawls.post("/crawls", operation_id="start_crawl", responses={202: CrawlState})
def start_crawl_route(body: StartCrawl):
    """Start a polite crawl in the background (robots.txt, Crawl-delay and the address guard as configured); 503
    with Retry-After while as many crawls run as allowed."""
    return answer(start_crawl(the_app(), caller(), body), 202)


@crawls.get("/crawls", operation_id="list_crawls", responses={200: CrawlList})
def list_crawls_route():
    """The latest crawls started from the browser, newest first."""
    return answer(list_crawls(the_app(), caller()))


@crawls.get("/crawls/<crawl_id>", operation_id="crawl_status", responses={200: CrawlState})
def crawl_status_route(path: CrawlPath):
    """How far one crawl got: running (counts so far), finished (its summary) or failed (why)."""
    return answer(crawl_status(the_app(), caller(), crawl_id=path.crawl_id))
