"""A page's readable text: the article, not the site around it.

`page_text(html, url)` gives title, main text (one paragraph per line), language, the links inside the article and
the publication date. Menus, footers, sidebars, cookie banners and reader comments stay out, so names that appear
there never become facts about the article.
"""

from __future__ import annotations

import pytest

from graph_fixtures import CORPUS, PAGES, html_of, page_url
from lookingglass.text.html import PageText, guess_language, page_text

PAGES_WITH_BOILERPLATE = [name for name, page in PAGES.items() if page["boilerplate"]]


@pytest.mark.parametrize("name", PAGES_WITH_BOILERPLATE)
def test_menus_footers_sidebars_and_comments_are_not_in_the_main_text(name: str) -> None:
    page = page_text(html_of(name), page_url(name))

    leaked = [phrase for phrase in PAGES[name]["boilerplate"] if phrase in page.text]
    assert not leaked, f"boilerplate in the main text of {name}: {leaked}"
    assert all(n in page.text for n, _ in PAGES[name]["entities"][:2]), "the article itself is there"


@pytest.mark.parametrize("name", [n for n, page in PAGES.items() if "title" in page])
def test_the_title_is_the_articles_headline(name: str) -> None:
    assert page_text(html_of(name)).title == PAGES[name]["title"]


@pytest.mark.parametrize("name", [n for n, page in PAGES.items() if "published" in page])
def test_the_publication_date_comes_from_the_pages_metadata(name: str) -> None:
    assert page_text(html_of(name)).published == PAGES[name]["published"]


def test_a_year_in_the_prose_is_not_taken_for_the_publication_date() -> None:
    html = "<html><body><article><p>" + "Veldt Analytics was founded in 2012 in Munich by Anke Vogel. " * 5
    html += "</p></article></body></html>"

    assert page_text(html).published is None


def test_paragraphs_are_lines_and_the_headline_is_its_own_line() -> None:
    page = page_text(html_of("norhaven-aurora.html"))
    lines = page.text.splitlines()

    assert lines[0] == "Norhaven Corp. bets on grid storage with Project Aurora"
    assert lines[1].startswith("Norhaven Corp. on Tuesday unveiled Project Aurora")
    assert len(lines) == 6
    assert all(line == " ".join(line.split()) for line in lines)  # whitespace inside a paragraph collapsed


def test_links_are_those_of_the_article_made_absolute() -> None:
    html = """<html lang="en"><body>
      <nav><a href="/">Home</a> <a href="/markets">Markets</a></nav>
      <article><h1>Norhaven opens a second control room</h1>
        <p>Norhaven Corp. said on Monday that it would open a second control room in
        <a href="/places/tartu#map">Tartu</a>, next to its <a href="https://norhaven.example/sites">existing sites</a>.
        The company already runs one in Tallinn, where most of its engineers work.</p>
        <p>Read the <a href="/places/tartu">Tartu guide</a> or <a href="mailto:desk@news.example">write to us</a>.</p>
      </article>
      <footer><a href="/privacy">Privacy</a></footer></body></html>"""

    page = page_text(html, "https://news.example/companies/norhaven-tartu")

    assert page.links == ("https://news.example/places/tartu", "https://norhaven.example/sites")


def test_a_tiny_page_still_gives_its_text() -> None:
    page = page_text(html_of("orrin-denver-note.html"))

    assert page.text == "Orrin Mobility LLC opens an office in Denver."
    assert page.title == "Orrin Mobility opens Denver office"


def test_a_table_layout_press_note_is_read_by_the_plain_fallback() -> None:
    # trafilatura (tables excluded, for precision) finds nothing here; the lxml fallback reads the cells.
    html = """<html><head><title>Press</title><script>var tracking = 1;</script></head><body>
      <nav><a href="/">Home</a></nav>
      <table><tr><td><b>Press release</b></td></tr>
      <tr><td>Orrin Mobility LLC opens an office in <a href="/denver">Denver</a>.</td></tr></table>
      <footer>Contact us</footer></body></html>"""

    page = page_text(html, "https://orrin.example/press/")

    assert page.text == "Press release\nOrrin Mobility LLC opens an office in Denver."
    assert page.title == "Press"
    assert page.links == ("https://orrin.example/denver",)


def test_list_items_lose_their_bullets() -> None:
    html = "<html><body><ul><li>Orrin Mobility LLC opens an office in Denver.</li></ul><footer>x</footer></body></html>"

    assert page_text(html).text == "Orrin Mobility LLC opens an office in Denver."


def test_bytes_are_decoded_with_the_charset_the_page_declares() -> None:
    html = (
        '<html><head><meta charset="iso-8859-1"></head><body><article><p>The first site near Pärnu will be connected'
        " next spring, Norhaven said on Tuesday in a statement to the exchange.</p></article></body></html>"
    ).encode("latin-1")

    assert "near Pärnu will" in page_text(html).text


def test_an_empty_document_gives_an_empty_page() -> None:
    assert page_text(b"") == PageText(title="", text="", language=None, links=())


# --- language


def test_a_german_page_is_reported_as_german_so_ner_can_skip_it() -> None:
    page = page_text(html_of("veldt-analytics-de.html"))

    assert page.language == "de"
    assert not page.is_english


@pytest.mark.parametrize("name", [n for n, page in PAGES.items() if page["language"] == "en"])
def test_english_pages_are_english(name: str) -> None:
    page = page_text(html_of(name))

    assert page.language == "en"
    assert page.is_english


def test_the_words_win_over_a_templated_lang_attribute() -> None:
    html = """<html lang="en"><body><article><p>La société Veldt Analytics a ouvert un bureau à Vienne. Elle
    est dirigée par Anke Vogel et compte plus de soixante salariés dans la région, selon un communiqué publié par
    le groupe.</p></article></body></html>"""

    assert page_text(html).language == "fr"


def test_a_page_too_short_to_judge_goes_by_its_declared_language() -> None:
    assert page_text('<html lang="nl-BE"><body><p>Welkom bij Norhaven.</p></body></html>').language == "nl"
    assert page_text("<html><body><p>Welcome to Norhaven.</p></body></html>").language is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Priya Raman, the chief executive of Brightwater Labs, said the money would pay for a pilot factory.", "en"),
        ("Anke Vogel hat Veldt Analytics im Jahr 2012 gegründet, nachdem sie zehn Jahre lang geforscht hatte.", "de"),
        ("La empresa tiene su sede en Madrid y fue fundada por dos ingenieros que trabajaban para el gobierno.", "es"),
        (
            "Brightwater Labs Norhaven Corp Calder Systems Veldt Analytics Orrin Mobility Kestrel Aerospace Halloran",
            None,
        ),
        ("Too short to tell.", None),
    ],
)
def test_guess_language_reads_the_common_function_words(text: str, language: str | None) -> None:
    assert guess_language(text) == language


def test_every_corpus_page_is_listed_in_expected_json() -> None:
    assert {p.name for p in CORPUS.glob("*.html")} == set(PAGES)
    assert 12 <= len(PAGES) <= 18
