"""The readable part of a web page: main text, title, language and the links inside the text.

`page_text(html, url=...)` runs trafilatura in precision mode, so navigation, footers, cookie banners, comments and
"related stories" stay out of the text the knowledge graph is built from (a name in a site's menu is not a fact
about the article). When trafilatura finds nothing (tiny pages, odd markup) a plain lxml pass takes the text of the
`<article>`, `<main>` or `<body>` minus the usual boilerplate elements, so a short press note still yields text.

Paragraphs are separated by newlines: the entity recogniser treats a newline as a sentence boundary, so a heading
never runs into the first sentence below it.

Language is decided cheaply: which of a handful of languages' most common function words make up the text
(`guess_language`), falling back to the page's declared `lang` when the text is too short to tell. Pages often
declare `lang="en"` in a template whatever the article's language, so the words win when there are enough of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

# The most frequent function words of each language (short, mostly language-specific). Shared words such as "in" or
# "a" are fine: the language with the highest share of its own words wins.
_COMMON_WORDS = {
    "en": (
        "the of and to in is that for it was on with as are by this be at from has have had were which an or "
        "its their will would said not but who been after also"
    ),
    "de": (
        "der die das und ist nicht mit den dem des ein eine einen sich auf für von zu im auch wird wurde "
        "sind bei nach aus oder über hat werden"
    ),
    "fr": (
        "le la les des et est une un du dans pour que qui sur pas au aux avec par ce cette sont été il elle "
        "ont mais plus son ses"
    ),
    "es": "el la los las de y que en un una es por con para del se al como su sus más pero fue este esta son han ha lo",
    "it": (
        "il la le di e che è un una per non con del della dei nel sono gli come anche ha da alla più questo questa al"
    ),
    "nl": (
        "de het een en van is dat op te in voor met zijn niet aan er ook bij door naar om werd wordt als maar dan hij"
    ),
    "pt": "o a os as de e que do da em um uma para com não por dos das se mais foi são como ao seu sua pelo pela",
    "sv": "och att det är som en på av för med den till har inte om ett var men från de sig han hon vid eller efter",
}
STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _COMMON_WORDS.items()}
MIN_WORDS_FOR_GUESS = 12  # below this the declared `lang` is all we go by
MIN_STOPWORD_SHARE = 0.12  # English news prose runs at 0.3-0.5; names, lists and code at under 0.1
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
BOILERPLATE_TAGS = (
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg",
    "button", "select", "figure",
)  # fmt: skip
# Dates only from where pages state them (meta tags, JSON-LD, <time>, URLs); htmldate's extensive search also takes
# any year in the prose ("founded in 2012" → 2012-01-01), which is worse than no date.
DATE_PARAMS = {"extensive_search": False, "original_date": True}
BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "dt")


@dataclass(frozen=True)
class PageText:
    """What a page says, without its chrome. `language` is an ISO 639-1 code or None when it cannot be told."""

    title: str
    text: str  # paragraphs separated by "\n"
    language: str | None
    links: tuple[str, ...]  # absolute http(s) URLs linked from the main text, in order, without duplicates
    published: str | None = None  # YYYY-MM-DD when the page states it (meta tags, JSON-LD, visible dateline)

    @property
    def is_english(self) -> bool:
        """Whether the English entity recogniser should read this page (unknown counts as English)."""
        return self.language in (None, "en")


def page_text(html: bytes | str, url: str | None = None) -> PageText:
    """Main text, title, language, links and publication date of an HTML page (bytes in any declared charset)."""
    tree = load_html(html)
    if tree is None:
        return PageText(title="", text="", language=None, links=())
    declared = _declared_language(tree)
    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_links=True,
        with_metadata=True,
        date_extraction_params=DATE_PARAMS,
    )
    title, text, links, published = "", "", (), None
    if extracted is not None and extracted.body is not None:
        body = extracted.body
        links = _unique_links(ref.get("target") for ref in body.iter("ref"))
        etree.strip_tags(body, "ref")  # keep the link text, drop the markup trafilatura would render as markdown
        text = _tidy(xmltotxt(body, include_formatting=False) or "")
        title = (extracted.title or "").strip()
        published = extracted.date
    if not text:
        fallback = load_html(html)  # trafilatura prunes the tree it is given; start again from the bytes
        if fallback is not None:
            text, links = _plain_text(fallback, url)
            title = title or _plain_title(fallback)
    return PageText(
        title=title,
        text=text,
        language=guess_language(text) or declared,
        links=links,
        published=published,
    )


def guess_language(text: str) -> str | None:
    """The language whose common function words make up most of `text`; None when the text is too short to tell.

    Good enough to keep German or French pages away from an English NER model; not a general language identifier.
    """
    words = [w.lower() for w in WORD.findall(text)]
    if len(words) < MIN_WORDS_FOR_GUESS:
        return None
    shares = {lang: sum(w in common for w in words) / len(words) for lang, common in STOPWORDS.items()}
    best = max(shares, key=shares.__getitem__)
    return best if shares[best] >= MIN_STOPWORD_SHARE else None


def _declared_language(tree: HtmlElement) -> str | None:
    """The primary subtag of `<html lang>` or `<meta http-equiv="content-language">` ("en-GB" → "en")."""
    value = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not value:
        for meta in tree.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "content-language":
                value = meta.get("content")
                break
    if not value:
        return None
    primary = value.strip().split(",")[0].replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _tidy(text: str) -> str:
    """One paragraph per line, whitespace inside a paragraph collapsed, list bullets and empty lines gone."""
    lines = (" ".join(line.split()).removeprefix("- ") for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _unique_links(hrefs, base: str | None = None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for href in hrefs:
        if not href:
            continue
        absolute = urldefrag(urljoin(base, href.strip()) if base else href.strip())[0]
        if absolute.startswith(("http://", "https://")):
            seen.setdefault(absolute, None)
    return tuple(seen)


def _plain_text(tree: HtmlElement, url: str | None) -> tuple[str, tuple[str, ...]]:
    """The fallback: block texts of the article (or main, or body) with boilerplate elements removed."""
    for element in list(tree.iter(*BOILERPLATE_TAGS)):
        if element.getparent() is not None:
            element.drop_tree()
    root = next(iter(tree.iter("article", "main")), None)
    if root is None:
        root = next(iter(tree.iter("body")), tree)
    blocks = [
        element.text_content()
        for element in root.iter(*BLOCK_TAGS)
        if not any(ancestor.tag in BLOCK_TAGS for ancestor in element.iterancestors())  # a <p> in an <li> once
    ]
    if not blocks:  # text straight inside <body> or <div>s
        blocks = [root.text_content()]
    base = next((b.get("href") for b in tree.iter("base") if b.get("href")), None)
    base = urljoin(url, base) if url and base else (base or url)
    return _tidy("\n".join(blocks)), _unique_links((a.get("href") for a in root.iter("a")), base)


def _plain_title(tree: HtmlElement) -> str:
    for element in (*tree.iter("title"), *tree.iter("h1")):
        text = " ".join(element.text_content().split())
        if text:
            return text
    return ""
