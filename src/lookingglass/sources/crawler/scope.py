"""Which URLs a crawl may visit, and the one spelling of each URL it records."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Query parameters that only say how someone arrived; two URLs differing only in these are the same page.
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga"})
SKIPPED_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "blob:", "about:", "ftp:")


def canonical_url(url: str) -> str:
    """One spelling per resource: lower-case scheme and host, default port dropped, query sorted, fragment and
    tracking parameters (utm_*, fbclid, ...) removed, percent-encoding normalised."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    netloc = (parts.hostname or "").lower()
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"  # kept so that the URL still names the same thing; rare on the web
    rebuilt = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def _is_tracking(name: str) -> bool:
    return name.lower().startswith("utm_") or name.lower() in TRACKING_PARAMS


def crawlable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class Scope:
    """Same site by default: the start URL's host and its subdomains (`www.` is dropped first, so example.com and
    www.example.com are one site); `allow_domains` adds other domains with their subdomains."""

    domains: tuple[str, ...]

    @classmethod
    def for_start(cls, start_url: str, allow_domains: tuple[str, ...] = ()) -> Scope:
        host = (urlsplit(start_url).hostname or "").lower()
        base = host.removeprefix("www.")
        extra = tuple(d.lower().strip().lstrip(".") for d in allow_domains if d.strip())
        return cls(domains=(base, *extra))

    def __contains__(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)
