"""Where an object was seen: the media URL, the page that showed it, the page's title, the alt text, the caption and
the text around it, and when.

An object is stored once per content (sha256); every place it was seen is kept in its metadata, so the same photo on
50 pages is one object with 50 sightings. `source_urls` and `page_urls` are the flat lists the face payload and the
API read; `sightings` keeps each place with its details. The store's metadata merge unions lists, so recording a
sighting twice is harmless; a sighting carries no time (a weekly re-crawl must not grow the list), the object's
`crawled_at` keeps the first crawl and the store's `last_seen` the latest.

`caption` (the `<figcaption>` of the image's figure) and `context` (the text just before and after it) say who a
photo shows (people/names.py reads them); older sightings simply lack them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from lookingglass.errors import BadInput

FIELDS = ("source_url", "page_url", "page_title", "alt", "caption", "context", "seen_at")
MAX_TEXT = 500  # alt text, captions, context and titles are capped: metadata is not a place for a page's whole text


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text[:MAX_TEXT] or None


@dataclass(frozen=True)
class Sighting:
    source_url: str  # the media's own URL (for a page: the page's URL)
    page_url: str | None = None  # the page it was seen on
    page_title: str | None = None
    alt: str | None = None
    caption: str | None = None  # the <figcaption> of the figure holding the image
    context: str | None = None  # the text right before and after the image (or its figure)
    seen_at: str | None = None  # ISO-8601 UTC; now when not given (becomes `crawled_at` on first sight)

    def __post_init__(self) -> None:
        for name in ("source_url", "page_url"):
            value = getattr(self, name)
            if value is not None and not value.startswith(("http://", "https://", "file://", "s3://")):
                raise BadInput(f"{name} must be an http(s), file or s3 URL, got {value[:100]!r}")

    def metadata(self) -> dict:
        """The metadata fragment to merge into the object (see `ObjectStore.put`/`annotate`)."""
        sighting = {k: v for k, v in asdict(self).items() if v is not None and k != "seen_at"}
        sighting["page_title"] = _clip(self.page_title)
        for name in ("alt", "caption", "context"):
            sighting[name] = _clip(getattr(self, name))
        out: dict = {
            "source_urls": [self.source_url],
            "sightings": [{k: v for k, v in sighting.items() if v is not None}],
            "crawled_at": self.seen_at or _now(),
        }
        if self.page_url:
            out["page_urls"] = [self.page_url]
        return out

    @classmethod
    def from_fields(cls, fields: dict) -> Sighting:
        """From API form fields or JSON (`source_url`, `page_url`, `page_title`, `alt`, `caption`, `context`,
        `seen_at`)."""
        if not isinstance(fields, dict):
            raise BadInput("a sighting is a JSON object")
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise BadInput(f"unknown sighting fields: {', '.join(sorted(unknown))}")
        values = {k: (str(v) if v is not None else None) for k, v in fields.items()}
        if not values.get("source_url"):
            raise BadInput("a sighting needs a source_url")
        return cls(**values)


def page_title_of(metadata: dict, page_url: str | None) -> str | None:
    """The title recorded for `page_url` among an object's sightings."""
    for sighting in metadata.get("sightings") or []:
        if isinstance(sighting, dict) and sighting.get("page_url") == page_url and sighting.get("page_title"):
            return sighting["page_title"]
    return None
