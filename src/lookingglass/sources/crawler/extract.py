"""What a page offers: media references (with their alt text, caption and the text around them), links to follow,
and the page's robots directives.

Pure functions over HTML text and the page URL, so they are tested without a network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from lookingglass.sources.crawler.scope import SKIPPED_SCHEMES, canonical_url, crawlable

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
MEDIA_SUFFIXES = IMAGE_SUFFIXES + VIDEO_SUFFIXES
NOT_PAGES = (".pdf", ".zip", ".gz", ".tar", ".exe", ".dmg", ".iso", ".mp3", ".wav", ".ogg", ".css", ".js", ".svg",
             ".ico", ".woff", ".woff2", ".ttf", ".xml", ".json", ".rss")  # fmt: skip
_WIDTH = re.compile(r"^\s*(\S+)\s+(\d+(?:\.\d+)?)([wx])\s*$")
CONTEXT_CHARS = 240  # of text taken from each side of an image: the sentence or two that say who is in it
_TEXT = "descendant-or-self::text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"


@dataclass(frozen=True)
class MediaRef:
    url: str  # canonical, absolute
    alt: str | None
    via: str  # img | srcset | picture | og:image | video | poster | link
    caption: str | None = None  # the <figcaption> of the <figure> holding it
    context: str | None = None  # the text right before and after it (or its figure), a few sentences at most


@dataclass(frozen=True)
class RobotsDirectives:
    """`<meta name="robots">` and X-Robots-Tag: a site's wishes for this page, honoured like robots.txt."""

    noindex: bool = False  # do not store the page
    nofollow: bool = False  # do not follow its links
    noimageindex: bool = False  # do not store its images

    @classmethod
    def parse(cls, values: list[str]) -> RobotsDirectives:
        words = {w.strip().lower() for value in values for w in value.split(",")}
        none = "none" in words
        return cls(
            noindex=none or "noindex" in words,
            nofollow=none or "nofollow" in words,
            noimageindex="noimageindex" in words,
        )


def _absolute(base: str, raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.strip()
    if not raw or raw.lower().startswith(SKIPPED_SCHEMES):
        return None
    url = urljoin(base, raw)
    return canonical_url(url) if crawlable(url) else None


def best_srcset(srcset: str) -> str | None:
    """The largest candidate of a srcset ("a.jpg 480w, b.jpg 1080w" → b.jpg): more pixels, better faces."""
    best, best_size = None, -1.0
    for candidate in srcset.split(","):
        candidate = candidate.strip()
        if not candidate:
            continue
        match = _WIDTH.match(candidate)
        url, size = (match.group(1), float(match.group(2))) if match else (candidate.split()[0], 1.0)
        if size > best_size:
            best, best_size = url, size
    return best


def base_url(selector: Selector, page_url: str) -> str:
    href = selector.css("base::attr(href)").get()
    return urljoin(page_url, href) if href else page_url


def find_media(html: str, page_url: str) -> list[MediaRef]:
    """Every image and video the page references, once each (first reference wins), in document order."""
    sel = Selector(text=html)
    base = base_url(sel, page_url)
    found: dict[str, MediaRef] = {}

    def add(raw: str | None, alt: str | None, via: str, el: Selector | None = None) -> None:
        url = _absolute(base, raw)
        if url and url not in found:
            caption, context = surroundings(el) if el is not None else (None, None)
            found[url] = MediaRef(url=url, alt=(alt or "").strip() or None, via=via, caption=caption, context=context)

    title = sel.css("title::text").get()
    for prop in ("og:image", "og:image:url", "og:image:secure_url"):
        for content in sel.css(f'meta[property="{prop}"]::attr(content)').getall():
            add(content, sel.css('meta[property="og:image:alt"]::attr(content)').get() or title, "og:image")
    for content in sel.css('meta[name="twitter:image"]::attr(content)').getall():
        add(content, title, "og:image")
    # One URL per picture: the largest candidate of the same photo. Taking every size (or every format of a
    # <picture>) would index the same faces several times under different bytes.
    for el in sel.xpath("//img | //picture[not(.//img)]"):
        is_img = el.root.tag == "img"
        srcset = (el.attrib.get("srcset") or el.attrib.get("data-srcset")) if is_img else None
        plain = (el.attrib.get("src") or el.attrib.get("data-src")) if is_img else None
        chosen = best_srcset(srcset) if srcset else plain
        if not chosen:
            sources = el.xpath(("ancestor::picture[1]" if is_img else ".") + "/source/@srcset").getall()
            chosen = best_srcset(sources[0]) if sources else None
        add(chosen, el.attrib.get("alt"), "srcset" if srcset else "img" if is_img else "picture", el)
    for video in sel.css("video"):
        label = video.attrib.get("title") or video.attrib.get("aria-label")
        add(video.attrib.get("src"), label, "video", video)
        for source in video.css("source::attr(src)").getall():
            add(source, label, "video", video)
        add(video.attrib.get("poster"), label, "poster", video)
    for a in sel.css("a[href]"):
        href = a.attrib["href"]
        if urlsplit(href).path.lower().endswith(MEDIA_SUFFIXES):
            add(href, " ".join(a.css("::text").getall()) or a.attrib.get("title"), "link")
    return list(found.values())


def _text(nodes: list[Selector]) -> str:
    return " ".join(" ".join(t for node in nodes for t in node.xpath(_TEXT).getall()).split())


def _words(text: str, last: bool) -> str:
    """At most CONTEXT_CHARS of `text`, from its end or its start, cut between words (never half a name)."""
    if len(text) <= CONTEXT_CHARS:
        return text
    return text[-CONTEXT_CHARS:].split(" ", 1)[-1] if last else text[:CONTEXT_CHARS].rsplit(" ", 1)[0]


def surroundings(el: Selector) -> tuple[str | None, str | None]:
    """(caption, context) of an image or video: its figure's <figcaption>, and the text of the elements right before
    and after it (or its figure), up to CONTEXT_CHARS from each side. This is what says who a photo shows; the
    page's other text may be about anyone."""
    figure = el.xpath("ancestor::figure[1]")
    caption = _text(figure.xpath(".//figcaption")) if figure else ""
    block = figure[0] if figure else el
    if not figure and el.xpath("parent::picture"):
        block = el.xpath("parent::picture")[0]
    before, after = "", ""
    while block is not None and not (before and after):  # climb until there is text on both sides, or none left
        if not before:
            before = _words(_text(block.xpath("preceding-sibling::*[1]")), last=True)
        if not after:
            after = _words(_text(block.xpath("following-sibling::*[1]")), last=False)
        parent = block.xpath("parent::*")
        block = parent[0] if parent and parent[0].root.tag not in ("body", "html") else None
    context = " ".join(part for part in (before, after) if part)
    return caption or None, context or None


def find_links(html: str, page_url: str) -> list[str]:
    """Links to other pages (media and obvious non-pages left out), canonical, once each, in document order."""
    sel = Selector(text=html)
    base = base_url(sel, page_url)
    links: dict[str, None] = {}
    for a in sel.css("a[href], area[href]"):
        if "download" in a.attrib:
            continue
        url = _absolute(base, a.attrib["href"])
        if url and not urlsplit(url).path.lower().endswith(MEDIA_SUFFIXES + NOT_PAGES):
            links[url] = None
    return list(links)


def page_title(html: str) -> str | None:
    sel = Selector(text=html)
    title = sel.css("title::text").get() or sel.css('meta[property="og:title"]::attr(content)').get()
    return " ".join(title.split()) or None if title else None


def robots_meta(html: str) -> list[str]:
    sel = Selector(text=html)
    return sel.css('meta[name="robots" i]::attr(content), meta[name="lookingglass" i]::attr(content)').getall()


def needs_rendering(html: str) -> bool:
    """Whether a page shows (almost) nothing without JavaScript: scripts, no images, and a near-empty body or a
    <noscript> plea. Such pages are fetched again with Chromium in `--render auto`."""
    sel = Selector(text=html)
    if not sel.css("script"):
        return False
    if sel.css("noscript"):
        return True
    words = " ".join(
        sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]").getall()
    ).split()
    return len(words) < 50 and not sel.css("img")
