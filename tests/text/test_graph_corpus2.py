"""The second evaluation corpus (tests/data/graph_corpus2, issue 17) and its scorer, bench/graph_quality.py.

The corpus is a measurement, not a target: these tests check that its expectations are well formed and true to its
pages, that the scorer counts what it says it counts (on a small hand-made case, so it cannot pass silently), and
that the corpus runs end to end through the pipeline into the graph store. The quality figures themselves are bench
output (bench/README.md), never asserted here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from lookingglass.settings import Settings
from lookingglass.text.html import page_text
from lookingglass.text.names import TYPES

REPO = Path(__file__).resolve().parents[2]
CORPUS2 = REPO / "tests" / "data" / "graph_corpus2"


def _load_scorer():
    spec = importlib.util.spec_from_file_location("graph_quality", REPO / "bench" / "graph_quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["graph_quality"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


quality = _load_scorer()
RAW = json.loads((CORPUS2 / "expected.json").read_text(encoding="utf-8"))
CORPUS = quality.load_corpus(CORPUS2)
PAGES = CORPUS.pages


# --- the corpus is well formed


def test_every_page_has_expectations_and_there_are_at_least_40() -> None:
    assert {p.name for p in CORPUS2.glob("*.html")} == set(PAGES)
    assert len(PAGES) >= 40


def test_entities_have_a_known_type_and_one_entry_per_name() -> None:
    for name, page in PAGES.items():
        listed = [e for e in page["entities"]]
        assert all(e[1] in TYPES and len(e) in (2, 3) for e in listed), name
        assert all(isinstance(s, str) for e in listed if len(e) == 3 for s in e[2]), name
        assert len({e[0] for e in listed}) == len(listed), f"{name}: a name listed twice"
        assert all(t in TYPES for _, t in page["not_entities"]), name


@pytest.mark.parametrize("key", ["relations", "not_relations"])
def test_relations_name_listed_entities_of_the_right_types(key: str) -> None:
    for name, page in PAGES.items():
        types = {e.name: e.type for e in CORPUS.entities(name).values()}
        for type_, source, target, *qualifiers in page[key]:
            assert type_ in quality.RELATION_TYPES, f"{name}: {type_}"
            assert source in types and target in types, f"{name}: {source} / {target} not in its entities"
            assert (quality.kind(types[source]), quality.kind(types[target])) == quality.ENDS[type_], name
            assert len(qualifiers) <= 1 and all(set(q) <= set(quality.QUALIFIERS) for q in qualifiers), name
        if key == "not_relations":
            stated = {tuple(r[:3]) for r in page["relations"]}
            assert not stated & {tuple(r[:3]) for r in page["not_relations"]}, f"{name}: stated and not stated"


def test_aliases_join_names_the_corpus_lists() -> None:
    listed = {
        (t, s) for page in PAGES for e in CORPUS.entities(page).values() for t, s in [(e.type, x) for x in e.spellings]
    }
    for type_, names in CORPUS.aliases:
        assert all((type_, n) in listed for n in names), names


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_expected_name_is_in_its_page_and_the_boilerplate_in_its_html(name: str) -> None:
    html = (CORPUS2 / name).read_bytes()
    page = page_text(html, f"https://news.example/{name}")
    text = f"{page.title}\n{page.text}"
    missing = [s for e in CORPUS.entities(name).values() for s in e.spellings if s not in text]
    assert not missing, f"not in the page's title or main text: {missing}"
    raw = html.decode()
    assert all(b in raw or b.replace("&", "&amp;") in raw for b in PAGES[name]["boilerplate"])


def test_the_shared_people_listed_are_the_ones_the_relations_imply() -> None:
    identity = quality.Identity(CORPUS)
    listed = {
        frozenset(identity.of(o, "ORG") for o in pair["organisations"]): {
            identity.of(p, "PERSON") for p in pair["people"]
        }
        for pair in RAW["shared_people"]
    }
    assert listed == quality.expected_pairs(CORPUS, identity)
    assert len(listed) == len(RAW["shared_people"])  # no pair written twice under two spellings


# --- the scorer counts what it says


TINY = quality.corpus_from(
    Path("."),
    {
        "pages": {
            "a.html": {
                "entities": [
                    ["Ada Ford", "PERSON"], ["Ford Analytics Ltd", "ORG", ["Ford Analytics"]], ["Lincoln", "GPE"],
                ],
                "relations": [
                    ["ceo_of", "Ada Ford", "Ford Analytics Ltd"], ["located_in", "Ford Analytics Ltd", "Lincoln"],
                ],
            },
            "b.html": {
                "entities": [["Ada Ford", "PERSON"], ["Paris Group", "ORG"], ["Tidewell", "ORG"]],
                "relations": [
                    ["adviser_to", "Ada Ford", "Paris Group"],
                    ["works_for", "Ada Ford", "Tidewell", {"former": True}],
                ],
            },
        }
    },
)  # fmt: skip
ADA, FORD, LINCOLN = ("PERSON", "ada ford"), ("ORG", "ford analytics"), ("ORG", "lincoln")


def tiny_facts() -> dict:
    return {
        "a.html": quality.PageFacts(
            entities={ADA, FORD, LINCOLN},  # Lincoln, a city, typed as an organisation
            relations={("ceo_of", ADA, FORD), ("works_for", ADA, LINCOLN)},
        ),
        "b.html": quality.PageFacts(
            entities={ADA, ("ORG", "paris group"), ("PERSON", "tidewell"), ("PERSON", "ford")},
            relations={("works_for", ADA, ("ORG", "paris group"))},  # the right people, the wrong relation type
        ),
    }


def test_the_scorer_counts_entities_types_and_relations_page_by_page() -> None:
    s = quality.score(TINY, tiny_facts(), None)

    assert (s.entity_recall.hits, s.entity_recall.total) == (6, 6)  # found, whatever their type
    assert (s.type_accuracy.hits, s.type_accuracy.total) == (4, 6)  # Lincoln and Tidewell typed wrongly
    assert (s.entity_precision.hits, s.entity_precision.total) == (4, 7)  # + a stray "Ford"
    assert (s.relation_precision.hits, s.relation_precision.total) == (1, 3)
    assert (s.relation_recall.hits, s.relation_recall.total) == (1, 4)
    assert (s.any_type_precision.hits, s.any_type_precision.total) == (2, 3)
    assert (s.any_type_recall.hits, s.any_type_recall.total) == (2, 4)
    assert s.shared_precision.value is None and str(s.shared_precision) == "—"
    assert "b.html: relation missed: adviser_to ada ford -> paris group" in s.problems


def test_the_scorer_reads_shared_people_by_identity_and_counts_one_organisation_paired_with_itself() -> None:
    pairs = [
        ("Ford Analytics Ltd", "Paris Group"),  # right
        ("Paris Group", "Ford Analytics"),  # the same pair again, another spelling: not counted twice
        ("Ford Analytics", "Ford Analytics Ltd"),  # one organisation under two names: a false pair
        ("Paris Group", "Lincoln"),  # a false pair
    ]

    s = quality.score(TINY, tiny_facts(), pairs)

    assert len(quality.expected_pairs(TINY)) == 3  # Ada ties Ford Analytics, Paris Group and Tidewell together
    assert (s.shared_precision.hits, s.shared_precision.total) == (1, 3)
    assert (s.shared_recall.hits, s.shared_recall.total) == (1, 3)


def test_a_perfect_extraction_scores_one_everywhere() -> None:
    identity = quality.Identity(TINY)
    facts = {}
    for page, expected in TINY.pages.items():
        entities = TINY.entities(page)
        ends = {n: (e.type, identity.of(n, e.type)[1]) for n, e in entities.items()}
        facts[page] = quality.PageFacts(
            entities=set(ends.values()), relations={(t, ends[a], ends[b]) for t, a, b, *_ in expected["relations"]}
        )
    pairs = [tuple(sorted(k for _, k in p)) for p in quality.expected_pairs(TINY)]

    s = quality.score(TINY, facts, pairs)

    assert all(getattr(s, a).value == 1.0 for _, a in quality.COLUMNS)
    assert s.problems == []


# --- end to end


def test_the_second_corpus_runs_through_the_pipeline_into_the_graph_and_is_scored(tmp_path: Path) -> None:
    facts, pairs, stats = quality.through_pipeline(CORPUS, Settings(data_dir=tmp_path / "data"))

    assert stats["documents"] == len(PAGES) and set(facts) == set(PAGES)
    assert all(facts[name].entities for name in PAGES)  # every document was read back and mapped to its page
    s = quality.score(CORPUS, facts, pairs)
    assert s.entity_recall.total == sum(len(p["entities"]) for p in PAGES.values())
    assert s.relation_recall.total == sum(len(p["relations"]) for p in PAGES.values())
    assert s.shared_recall.total == len(RAW["shared_people"])
    assert s.relation_precision.total > 0 and s.shared_precision.total > 0
    assert all(0 <= getattr(s, a).value <= 1 for _, a in quality.COLUMNS)
