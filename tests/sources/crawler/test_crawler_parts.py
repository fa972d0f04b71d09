"""The crawler's pure parts: what a page offers, which URLs are in scope, which addresses may be reached."""

from __future__ import annotations

import pytest

from lookingglass.errors import BadInput
from lookingglass.settings import Settings
from lookingglass.sources.crawler.addresses import AddressPolicy, RefusedAddress
from lookingglass.sources.crawler.extract import RobotsDirectives, best_srcset, find_links, find_media, needs_rendering
from lookingglass.sources.crawler.options import CrawlOptions
from lookingglass.sources.crawler.scope import Scope, canonical_url
from lookingglass.sources.sightings import Sighting

PAGE = """<!doctype html><html><head><title>Launch day</title>
<meta property="og:image" content="/share.jpg"><meta property="og:image:alt" content="The team on stage">
</head><body>
<img src="a.jpg?utm_source=mail#top" alt="Ann">
<img srcset="small.jpg 320w, large.jpg 1280w" src="small.jpg" alt="Bo">
<picture><source srcset="p.avif 1x, p2.avif 2x" type="image/avif"><img src="p.jpg" alt="In a picture"></picture>
<video poster="poster.png"><source src="/clips/talk.mp4" type="video/mp4"></video>
<a href="/photos/full.JPG">Full size</a> <a href="next.html?b=2&a=1#section">Next</a>
<a href="mailto:press@example.org">Press</a> <a href="report.pdf">Report</a> <a href="javascript:void(0)">x</a>
</body></html>"""


def test_every_kind_of_media_reference_is_found_once_with_its_alt_text():
    media = {m.url: m for m in find_media(PAGE, "https://Example.org/news/launch.html")}
    assert media["https://example.org/share.jpg"].alt == "The team on stage"  # og:image
    assert media["https://example.org/news/a.jpg"].alt == "Ann"  # tracking parameters and fragment dropped
    assert "https://example.org/news/large.jpg" in media  # the largest srcset candidate ...
    assert "https://example.org/news/small.jpg" not in media  # ... and not the same photo again in a smaller size
    assert media["https://example.org/news/p.jpg"].alt == "In a picture"  # <picture>: its <img>, once
    assert "https://example.org/news/p2.avif" not in media
    assert media["https://example.org/clips/talk.mp4"].via == "video"
    assert "https://example.org/news/poster.png" in media
    assert media["https://example.org/photos/full.JPG"].alt == "Full size"  # a link to a media file


def test_a_photo_keeps_its_caption_and_the_text_around_it_which_say_who_it_shows():
    page = """<html><head><title>Summit</title></head><body><nav><a href="/">Home</a></nav><main>
    <p>Mara Lindqvist opened the summit on Monday.</p>
    <figure><img src="/a.jpg" alt="On stage"><figcaption>Mara Lindqvist, CEO. Photo: Anna Berg</figcaption></figure>
    <p>She spoke for an hour.</p><img src="/b.jpg"><p>Jon Ek closed it.</p></main></body></html>"""
    media = {m.url: m for m in find_media(page, "https://example.org/")}
    first, second = media["https://example.org/a.jpg"], media["https://example.org/b.jpg"]
    assert (first.alt, first.caption) == ("On stage", "Mara Lindqvist, CEO. Photo: Anna Berg")
    assert first.context == "Mara Lindqvist opened the summit on Monday. She spoke for an hour."
    assert (second.caption, second.context) == (None, "She spoke for an hour. Jon Ek closed it.")
    long = "<p>" + "word " * 200 + "Mara Lindqvist</p><img src='/c.jpg'>"
    (third,) = find_media(long, "https://example.org/")
    assert third.context.endswith("word Mara Lindqvist") and len(third.context) <= 240  # cut between words


def test_links_to_follow_are_canonical_pages_only():
    links = find_links(PAGE, "https://example.org/news/launch.html")
    assert links == ["https://example.org/news/next.html?a=1&b=2"]  # no media, PDF, mailto or javascript:


def test_srcset_picks_the_largest_candidate():
    assert best_srcset("a.jpg 1x, b.jpg 3x, c.jpg 2x") == "b.jpg"
    assert best_srcset("only.jpg") == "only.jpg"


def test_canonical_urls_spell_one_resource_one_way():
    assert canonical_url("HTTP://Example.org:80/a/../b?utm_medium=x&z=1&a=2#frag") == "http://example.org/b?a=2&z=1"
    assert canonical_url("https://example.org") == "https://example.org/"
    assert canonical_url("https://example.org:8443/x?fbclid=abc") == "https://example.org:8443/x"


def test_scope_is_the_start_site_and_its_subdomains_plus_allowed_domains():
    scope = Scope.for_start("https://www.example.org/start", ("partner.net",))
    assert "https://example.org/a" in scope
    assert "https://img.example.org/a.jpg" in scope
    assert "https://cdn.partner.net/a.jpg" in scope
    assert "https://example.org.evil.com/" not in scope
    assert "https://notexample.org/" not in scope


def test_robots_meta_directives():
    assert RobotsDirectives.parse(["noindex, nofollow"]) == RobotsDirectives(noindex=True, nofollow=True)
    assert RobotsDirectives.parse(["none"]) == RobotsDirectives(noindex=True, nofollow=True)
    assert RobotsDirectives.parse(["noimageindex"]).noimageindex
    assert RobotsDirectives.parse([]) == RobotsDirectives()


def test_pages_that_show_nothing_without_javascript_are_recognised():
    assert needs_rendering("<html><body><div id=app></div><script src=app.js></script></body></html>")
    assert needs_rendering("<html><body><noscript>Enable JavaScript</noscript><script></script><p>x</p></body>")
    assert not needs_rendering(PAGE)  # images are already in the HTML
    assert not needs_rendering("<html><body><p>Plain text, no scripts.</p></body></html>")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://0.0.0.0/",
        "http://localhost/",  # resolved first: loopback
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(RefusedAddress):
        AddressPolicy().check(url)


def test_the_allow_list_takes_hosts_and_networks():
    policy = AddressPolicy(("127.0.0.1", "10.0.0.0/8", "intranet.example"))
    policy.check("http://127.0.0.1:8080/")
    policy.check("http://10.20.30.40/")
    policy.check("http://intranet.example/")  # named hosts are allowed without resolving
    with pytest.raises(RefusedAddress):
        policy.check("http://192.168.1.1/")


def test_the_address_a_connection_is_made_to_is_judged_by_the_same_policy():
    """What Scrapy's resolver (GuardedResolver) asks at connect time, against DNS rebinding."""
    policy = AddressPolicy(("10.0.0.0/8", "intranet.example"))
    assert not policy.allows_address("public.example", "127.0.0.1")
    assert not policy.allows_address("public.example", "169.254.169.254")
    assert policy.allows_address("public.example", "93.184.215.14")
    assert policy.allows_address("anything.example", "10.1.2.3")
    assert policy.allows_address("intranet.example", "192.168.1.1")


def test_the_crawl_settings_wire_the_guards_and_an_honest_user_agent():
    from lookingglass.sources.crawler.politeness import scrapy_settings

    options = CrawlOptions.from_settings(Settings(), "https://example.org/")
    wired = scrapy_settings(Settings(crawl_contact="https://ops.example/crawler"), options)
    assert wired["DNS_RESOLVER"].endswith("GuardedResolver")
    assert "AddressGuardMiddleware" in next(iter(wired["DOWNLOADER_MIDDLEWARES"]))
    assert wired["ROBOTSTXT_OBEY"] is True and wired["COOKIES_ENABLED"] is False
    assert wired["USER_AGENT"].startswith("LookingGlass/") and "(+https://ops.example/crawler)" in wired["USER_AGENT"]
    assert wired["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2 and wired["DOWNLOAD_DELAY_JITTER"] == 0


def test_public_addresses_are_allowed():
    AddressPolicy().check("http://93.184.215.14/")
    AddressPolicy().check("https://[2606:4700::1111]/")


def test_crawl_options_refuse_nonsense():
    settings = Settings()
    with pytest.raises(BadInput, match="http"):
        CrawlOptions.from_settings(settings, "ftp://example.org/")
    with pytest.raises(BadInput, match="mode"):
        CrawlOptions.from_settings(settings, "https://example.org/", mode="everything")
    with pytest.raises(BadInput, match="max-pages"):
        CrawlOptions.from_settings(settings, "https://example.org/", max_pages=0)
    options = CrawlOptions.from_settings(settings.with_(crawl_max_pages=7), "https://example.org/", depth=None)
    assert (options.max_pages, options.depth) == (7, 3)  # settings fill what the command line left out


def test_a_sighting_becomes_mergeable_metadata():
    meta = Sighting("https://e.org/a.jpg", page_url="https://e.org/p", page_title="  A   page ", alt="Ann").metadata()
    assert meta["source_urls"] == ["https://e.org/a.jpg"] and meta["page_urls"] == ["https://e.org/p"]
    assert meta["sightings"] == [
        {"source_url": "https://e.org/a.jpg", "page_url": "https://e.org/p", "page_title": "A page", "alt": "Ann"}
    ]
    with pytest.raises(BadInput):
        Sighting("javascript:alert(1)")
    described = Sighting("https://e.org/a.jpg", caption=" Ann,\n CEO ", context="x" * 900).metadata()["sightings"][0]
    assert described["caption"] == "Ann, CEO" and len(described["context"]) == 500  # capped like alt text
    assert Sighting.from_fields({"source_url": "https://e.org/a.jpg", "caption": "Ann"}).caption == "Ann"
