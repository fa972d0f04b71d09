"""What one crawl is asked to do: the command line's options as one record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lookingglass.errors import BadInput
from lookingglass.settings import Settings

MODES = ("image", "page", "all")  # image: store media; page: store HTML for the graph; all: both
RENDER = ("never", "auto", "always")


@dataclass(frozen=True)
class CrawlOptions:
    start_url: str
    mode: str = "all"
    max_pages: int = 1000
    max_objects: int = 10_000
    max_bytes: int = 2 * 1024**3
    max_object_bytes: int = 25 * 1024 * 1024
    depth: int = 3  # links followed from the start page
    allow_domains: tuple[str, ...] = ()
    offsite_media: bool = False  # media on other hosts (CDNs) referenced by in-scope pages
    render: str = "never"  # Chromium: never, auto (pages that show nothing without JavaScript), always
    delay: float = 1.0  # seconds between requests to one host, at least; robots.txt Crawl-delay raises it
    job_dir: Path | None = None  # Scrapy JOBDIR: stop with Ctrl-C, run again to resume

    def __post_init__(self) -> None:
        if not self.start_url.lower().startswith(("http://", "https://")):
            raise BadInput(f"the start URL must be http(s)://..., got {self.start_url!r}")
        if self.mode not in MODES:
            raise BadInput(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.render not in RENDER:
            raise BadInput(f"--render must be one of {', '.join(RENDER)}, got {self.render!r}")
        for name in ("max_pages", "max_objects", "max_bytes", "max_object_bytes"):
            if getattr(self, name) < 1:
                raise BadInput(f"{name.replace('_', '-')} must be at least 1")
        if self.depth < 0 or self.delay < 0:
            raise BadInput("--depth and the delay cannot be negative")

    @property
    def stores_media(self) -> bool:
        return self.mode in ("image", "all")

    @property
    def stores_pages(self) -> bool:
        return self.mode in ("page", "all")

    @classmethod
    def from_settings(cls, settings: Settings, start_url: str, **given) -> CrawlOptions:
        """Defaults from settings (LG_CRAWL_*), overridden by what the command line gave (None: not given)."""
        defaults = {
            "max_pages": settings.crawl_max_pages,
            "max_bytes": settings.crawl_max_bytes,
            "max_object_bytes": settings.crawl_max_object_bytes,
            "delay": settings.crawl_delay,
        }
        values = {**defaults, **{k: v for k, v in given.items() if v is not None}}
        return cls(start_url=start_url, **values)
