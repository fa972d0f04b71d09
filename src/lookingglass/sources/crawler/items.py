"""What the spider hands to the pipeline: plain records, no Scrapy types."""

from __future__ import annotations

from dataclasses import dataclass, field

from lookingglass.sources.sightings import Sighting


@dataclass
class MediaItem:
    """An image or video downloaded and checked (magic bytes, size); `sightings` are the pages that showed it."""

    url: str
    body: bytes
    filename: str
    sightings: list[Sighting] = field(default_factory=list)


@dataclass
class PageItem:
    """An HTML page to store for the entity graph (modes `page` and `all`)."""

    url: str
    body: bytes
    title: str | None
    fetched_at: str
    rendered: bool = False


@dataclass
class SightingItem:
    """A medium already stored, seen on one more page: only its metadata grows."""

    sha256: str
    sighting: Sighting
