"""What to do with what was found: hand it to the sink (the object store port), off the reactor thread."""

from __future__ import annotations

from scrapy.exceptions import DropItem
from twisted.internet.threads import deferToThread

from lookingglass.errors import LookingGlassError
from lookingglass.sources.crawler.items import MediaItem, PageItem, SightingItem
from lookingglass.sources.sightings import Sighting


class ObjectStorePipeline:
    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def spider(self):
        return self.crawler.spider

    def process_item(self, item):
        sink = self.spider.sink
        if isinstance(item, MediaItem):
            done = deferToThread(sink.store, item.body, item.filename, item.sightings)
            done.addCallback(self._media_stored, item)
        elif isinstance(item, PageItem):
            sighting = Sighting(item.url, page_url=item.url, page_title=item.title, seen_at=item.fetched_at)
            done = deferToThread(sink.store, item.body, "page.html", [sighting])
            done.addCallback(self._page_stored, item)
        elif isinstance(item, SightingItem):
            done = deferToThread(sink.add_sightings, item.sha256, [item.sighting])
            done.addCallback(lambda _: self.crawler.stats.inc_value("lookingglass/sightings") or item)
        else:
            return item
        done.addErrback(self._failed, item)
        return done

    def _media_stored(self, stored, item: MediaItem):
        stats = self.crawler.stats
        stats.inc_value("lookingglass/media_stored" if stored.new else "lookingglass/media_known")
        stats.inc_value(f"lookingglass/kind/{stored.kind}")
        late = self.spider.media_stored(item.url, stored.sha256)
        if not late:
            return item
        stats.inc_value("lookingglass/sightings", len(late))
        return deferToThread(self.spider.sink.add_sightings, stored.sha256, late).addCallback(lambda _: item)

    def _page_stored(self, stored, item: PageItem):
        self.crawler.stats.inc_value("lookingglass/pages_stored" if stored.new else "lookingglass/pages_known")
        return item

    def _failed(self, failure, item):
        if failure.check(DropItem):
            return failure
        exc = failure.value
        reason = exc.message if isinstance(exc, LookingGlassError) else f"{type(exc).__name__}: {exc}"
        category = getattr(exc, "code", "store_error") if isinstance(exc, LookingGlassError) else "store_error"
        if isinstance(item, MediaItem):
            self.spider.media_failed(item.url, category, reason)
        else:
            self.spider.skip(getattr(item, "url", "?"), category, reason)
        raise DropItem(reason)
