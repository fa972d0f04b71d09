"""The TextIndex contract, run against every adapter; then what only the embedded engine promises; then snippets.

Adapters under contract:
- `edge`: EdgeTextIndex on qdrant-edge in tmp_path (the real embedded engine).
- `qdrant-local`: QdrantServerTextIndex over `QdrantClient(":memory:")` (the server's API in-process, no network).
- `qdrant-server`: QdrantServerTextIndex against a real server when QDRANT_URL or QDRANT_HOST is set.

Expected scores are BM25 computed by hand (`bm25` below) from the documented formula: both adapters must
produce exactly those numbers, which proves the IDF modifier is on and the documents' term weights are BM25's.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from lookingglass.errors import BadInput, DataDirBusy, Unavailable
from lookingglass.settings import Settings
from lookingglass.stores.text import (
    EdgeTextIndex,
    QdrantServerTextIndex,
    TextDoc,
    TextHit,
    TextIndex,
    doc_id,
    open_text_index,
)
from lookingglass.text.snippets import snippet, snippet_plain
from lookingglass.text.terms import BM25_AVG_LEN, parse_query
from qdrant_server import scratch_collection

# qdrant-client's local mode accepts payload indexes but warns that they do nothing there.
pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

NAME = "text_test"
K, B = 1.2, 0.75


def bm25(tf: int, length: int, n_docs: int, n_with_term: int) -> float:
    """One term's BM25 contribution: IDF as Qdrant's modifier computes it times the TF part of the document."""
    idf = math.log(1 + (n_docs - n_with_term + 0.5) / (n_with_term + 0.5))
    return idf * tf * (K + 1) / (tf + K * (1 - B + B * length / BM25_AVG_LEN))


def docs_of(sha256: str, *texts: str, kind: str = "transcript") -> list[TextDoc]:
    """One document per text, the way transcription makes them: segment i spans seconds [10·i, 10·i + 5)."""
    return [
        TextDoc.make(
            sha256, i, t, kind=kind, source_url=f"https://example.org/{sha256[:4]}", start=10.0 * i, end=10.0 * i + 5
        )
        for i, t in enumerate(texts)
    ]


def texts(hits: list[TextHit]) -> list[str]:
    return [h.text for h in hits]


@pytest.fixture(params=["edge", "qdrant-local", "qdrant-server"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TextIndex]:
    if request.param == "edge":
        idx: TextIndex = EdgeTextIndex(tmp_path, NAME)
        yield idx
        idx.close()
    elif request.param == "qdrant-local":
        idx = QdrantServerTextIndex(QdrantClient(":memory:"), NAME)
        yield idx
        idx.close()
    else:
        with scratch_collection(NAME) as (client, name):
            idx = QdrantServerTextIndex(client, name)
            yield idx
            idx.close()


# ----------------------------------------------------------------------------------------------------
# The contract: every adapter behaves the same.


def test_a_rare_query_term_outranks_a_common_one_by_exactly_its_idf(index: TextIndex) -> None:
    index.upsert(
        docs_of("a" * 64, "zebra grazing", "cat sleeping", "cat playing", "cat eating", "dog barking"),
    )

    hits = index.search("zebra cat", limit=10)

    assert texts(hits)[0] == "zebra grazing"
    assert sorted(texts(hits)[1:]) == ["cat eating", "cat playing", "cat sleeping"]  # the dog shares no term
    assert hits[0].score == pytest.approx(bm25(1, 2, 5, 1), rel=1e-4)
    assert [h.score for h in hits[1:]] == pytest.approx([bm25(1, 2, 5, 3)] * 3, rel=1e-4)


def test_term_frequency_raises_the_score_of_equally_long_documents(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "dog cat bird horse", "dog dog dog cat", "cow sheep goat pig"))

    hits = index.search("dog", limit=10)

    assert texts(hits) == ["dog dog dog cat", "dog cat bird horse"]
    assert [h.score for h in hits] == pytest.approx([bm25(3, 4, 3, 2), bm25(1, 4, 3, 2)], rel=1e-4)


def test_scores_sum_over_query_terms_weighted_by_idf(index: TextIndex) -> None:
    """Computed by hand: 'fig' is in 2 of 6 documents, 'apple' in 5, so one fig beats three apples."""
    index.upsert(
        docs_of(
            "a" * 64,
            "apple banana",
            "apple cherry",
            "apple date",
            "apple elderberry",
            "fig grape",
            "fig apple apple apple",
        )
    )
    expected_mixed = bm25(1, 4, 6, 2) + bm25(3, 4, 6, 5)  # ≈ 2.07
    expected_fig = bm25(1, 2, 6, 2)  # ≈ 1.67
    expected_apple = bm25(1, 2, 6, 5)  # ≈ 0.39

    hits = index.search("apple fig", limit=10)

    assert texts(hits)[:2] == ["fig apple apple apple", "fig grape"]
    assert len(hits) == 6
    assert [h.score for h in hits] == pytest.approx([expected_mixed, expected_fig] + [expected_apple] * 4, rel=1e-4)


def test_stemming_and_case_let_word_forms_match(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "The Runner was RUNNING fast", "slow walkers"))

    assert texts(index.search("runs", limit=10)) == ["The Runner was RUNNING fast"]
    assert texts(index.search("WALKER", limit=10)) == ["slow walkers"]  # Snowball keeps -er: not "walk"


def test_hits_carry_text_and_payload(index: TextIndex) -> None:
    (doc,) = docs_of("a" * 64, "hello there")
    index.upsert([doc])

    (hit,) = index.search("hello", limit=5)

    assert hit.id == doc.id == doc_id("a" * 64, "transcript", 0)
    assert hit.text == "hello there"
    assert hit.payload == {
        "kind": "transcript",
        "sha256": "a" * 64,
        "source_url": "https://example.org/aaaa",
        "start": 0.0,
        "end": 5.0,
    }
    assert hit.to_json("<mark>hello</mark> there") == {
        "text": "hello there",
        "snippet": "<mark>hello</mark> there",
        "score": round(hit.score, 6),
        "sha256": "a" * 64,
        "source_url": "https://example.org/aaaa",
        "kind": "transcript",
        "start": 0.0,
        "end": 5.0,
        "title": None,
    }


def test_limit_caps_the_number_of_hits_best_first(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, *[f"river {'river ' * i}bank" for i in range(8)]))

    hits = index.search("river", limit=3)

    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].text.count("river") == 8


def test_a_quoted_phrase_must_appear_in_order(index: TextIndex) -> None:
    index.upsert(
        docs_of(
            "a" * 64,
            "I love New York pizza",
            "New York is big",
            "york new is strange",
            "new and york",
            "pizza in Naples",
        )
    )

    assert sorted(texts(index.search('"new york"', limit=10))) == ["I love New York pizza", "New York is big"]
    assert sorted(texts(index.search('"NEW YORK"', limit=10))) == ["I love New York pizza", "New York is big"]
    # Words outside the quotes rank; the phrase filters.
    assert texts(index.search('pizza "new york"', limit=10))[0] == "I love New York pizza"
    assert texts(index.search('pizza "new york"', limit=10)) == ["I love New York pizza", "New York is big"]
    assert index.search('"york new york"', limit=10) == []


def test_a_phrase_counts_stopwords_and_exact_words(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "the end of the world is near", "end world of the", "ends of the worlds"))

    assert texts(index.search('"end of the world"', limit=10)) == ["the end of the world is near"]


def test_a_phrase_of_stopwords_alone_still_finds_its_documents(index: TextIndex) -> None:
    """BM25 has no terms to rank by (all stopwords), so the phrase filter alone decides, with score 0."""
    index.upsert(docs_of("a" * 64, "to be or not to be", "not to be confused", "hamlet"))

    hits = index.search('"to be or not"', limit=10)

    assert texts(hits) == ["to be or not to be"]
    assert hits[0].score == 0.0


def test_a_query_of_stopwords_only_finds_nothing(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "the cat and the hat"))

    assert index.search("the and of", limit=10) == []


def test_kind_and_filters_restrict_results(index: TextIndex) -> None:
    index.upsert(
        docs_of("a" * 64, "election results tonight", "election debate")
        + docs_of("b" * 64, "election coverage on the page", kind="page")
    )

    assert texts(index.search("election", limit=10, kind="page")) == ["election coverage on the page"]
    assert len(index.search("election", limit=10, kind="transcript")) == 2
    assert index.search("election", limit=10, kind="video") == []
    assert index.search("election", limit=10, filters={"sha256": "b" * 64, "kind": "transcript"}) == []  # AND
    assert texts(index.search("election", limit=10, filters={"sha256": "a" * 64})) != []
    assert index.count({"kind": "page"}) == 1
    assert index.count({"sha256": "a" * 64}) == 2


def test_delete_where_removes_exactly_one_objects_documents(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "alpha one", "alpha two", "alpha three") + docs_of("b" * 64, "alpha four"))

    assert index.delete_where("sha256", "a" * 64) == 3

    assert index.count() == 1
    assert index.count({"sha256": "a" * 64}) == 0
    assert texts(index.search("alpha", limit=10)) == ["alpha four"]
    assert index.delete_where("sha256", "a" * 64) == 0  # forgetting twice is harmless


def test_upserting_the_same_id_again_overwrites_instead_of_duplicating(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "first draft of the transcript", "second segment"))
    index.upsert(docs_of("a" * 64, "first draft of the transcript", "second segment"))  # a retried job
    assert index.count() == 2

    index.upsert(docs_of("a" * 64, "better transcription"))  # re-transcribed: segment 0 replaced

    assert index.count() == 2
    assert index.search("draft", limit=10) == []
    assert texts(index.search("transcription", limit=10)) == ["better transcription"]


def test_search_on_an_empty_index_returns_nothing(index: TextIndex) -> None:
    assert index.count() == 0
    assert index.search("anything at all", limit=10) == []
    assert index.search('"a phrase"', limit=10) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "!!! ... ???", '""'])
def test_an_empty_query_is_bad_input(index: TextIndex, query: str) -> None:
    with pytest.raises(BadInput):
        index.search(query, limit=10)


def test_bad_limits_filters_and_documents_are_bad_input(index: TextIndex) -> None:
    with pytest.raises(BadInput, match="limit"):
        index.search("word", limit=0)
    with pytest.raises(BadInput, match="exact match"):
        index.search("word", limit=5, filters={"start": 1.5})  # floats have no exact match in Qdrant
    with pytest.raises(BadInput, match="not a UUID"):
        index.upsert([TextDoc("segment-1", "text", {"kind": "transcript", "sha256": "a" * 64})])
    with pytest.raises(BadInput, match="'kind'"):
        index.upsert([TextDoc(doc_id("a" * 64, "x", 0), "text", {"sha256": "a" * 64})])
    with pytest.raises(BadInput, match="reserved"):
        index.upsert([TextDoc(doc_id("a" * 64, "page", 0), "words", {"kind": "page", "sha256": "a" * 64, "text": "x"})])
    assert index.count() == 0


def test_health_names_backend_collection_and_size(index: TextIndex) -> None:
    index.upsert(docs_of("a" * 64, "one", "two", "three"))

    health = index.health()

    assert health["ok"] is True
    assert health["backend"] in {"qdrant-edge", "qdrant"}
    assert health["collection"] == index.name
    assert health["points"] == 3
    assert isinstance(index.optimize(), bool)


# ----------------------------------------------------------------------------------------------------
# The embedded engine: persistence, IDF after deletes, one owner per directory.


def test_edge_reopened_after_close_keeps_documents_and_scores(tmp_path: Path) -> None:
    with EdgeTextIndex(tmp_path, NAME) as first:
        first.upsert(docs_of("a" * 64, "zebra grazing", "cat sleeping", "cat playing"))
        before = first.search("zebra cat", limit=10)

    with EdgeTextIndex(tmp_path, NAME) as again:
        assert again.count() == 3
        assert again.count({"sha256": "a" * 64}) == 3
        after = again.search("zebra cat", limit=10)
        assert [(h.id, h.text, h.payload) for h in after] == [(h.id, h.text, h.payload) for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before], rel=1e-6)
        assert texts(again.search('"cat playing"', limit=10)) == ["cat playing"]  # the phrase index came back


def test_edge_idf_counts_only_live_documents_once_reopened(tmp_path: Path) -> None:
    """The live shard keeps counting deleted documents in IDF until a vacuum; reopening recomputes it."""
    with EdgeTextIndex(tmp_path, NAME) as idx:
        idx.upsert(docs_of("a" * 64, "dog one", "dog two") + docs_of("b" * 64, "dog three", "bird", "fish", "cow"))
        idx.delete_where("sha256", "a" * 64)

    with EdgeTextIndex(tmp_path, NAME) as again:
        (hit,) = again.search("dog", limit=10)
        assert hit.score == pytest.approx(bm25(1, 2, 4, 1), rel=1e-4)


def test_edge_sparse_vectors_are_searchable_without_optimize(tmp_path: Path) -> None:
    with EdgeTextIndex(tmp_path, NAME) as idx:
        idx.upsert(docs_of("a" * 64, *[f"word{i} common" for i in range(300)]))
        assert idx.health()["points"] == 300
        assert texts(idx.search("word123", limit=1)) == ["word123 common"]
        assert idx.optimize() in (True, False)
        assert texts(idx.search("word123", limit=1)) == ["word123 common"]


def test_edge_threads_can_share_one_index(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                idx.upsert(docs_of(f"{n:064d}", f"thread {n} line {i}"))
                assert idx.search(f"thread {n}", limit=5)
        except BaseException as e:  # reported below, from the main thread
            errors.append(e)

    with EdgeTextIndex(tmp_path, NAME) as idx:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert idx.count() == 6  # each thread overwrote its own segment 0


def test_edge_closed_index_is_unavailable(tmp_path: Path) -> None:
    idx = EdgeTextIndex(tmp_path, NAME)
    idx.close()
    idx.close()  # twice is fine

    assert idx.health()["ok"] is False
    with pytest.raises(Unavailable, match="closed"):
        idx.search("word", limit=1)


def test_edge_second_open_of_the_same_directory_is_busy(tmp_path: Path) -> None:
    with EdgeTextIndex(tmp_path, NAME), pytest.raises(DataDirBusy, match="open in another process"):
        EdgeTextIndex(tmp_path, NAME)


def test_edge_refuses_a_shard_that_is_not_a_text_index(tmp_path: Path) -> None:
    from lookingglass.stores.vectors import EdgeVectorIndex

    EdgeVectorIndex(tmp_path, NAME, 8).close()
    with pytest.raises(Unavailable, match="cannot open text index"):
        EdgeTextIndex(tmp_path, NAME)


# ----------------------------------------------------------------------------------------------------
# Choosing an adapter, and the query language.


def test_without_a_qdrant_server_the_index_is_embedded_under_the_data_dir(tmp_path: Path) -> None:
    idx = open_text_index(Settings(data_dir=tmp_path))
    try:
        assert isinstance(idx, EdgeTextIndex)
        assert (tmp_path / "text").is_dir()
    finally:
        idx.close()


def test_an_unreachable_qdrant_server_is_unavailable_and_named() -> None:
    settings = Settings(qdrant_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(Unavailable, match=r"http://127\.0\.0\.1:9"):
        open_text_index(settings)


def test_the_server_adapter_refuses_a_collection_that_is_not_a_text_index() -> None:
    from qdrant_client import models

    client = QdrantClient(":memory:")
    client.create_collection("faces", vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE))
    with pytest.raises(Unavailable, match="not a text index"):
        QdrantServerTextIndex(client, "faces")


def test_parse_query_splits_words_from_phrases() -> None:
    parsed = parse_query('pizza "New  York" "" "the END" stray"')

    assert parsed.phrases == ("new york", "the end")
    assert parsed.text == "pizza New York the END stray"


def test_doc_ids_are_deterministic_per_object_kind_and_position() -> None:
    assert doc_id("a" * 64, "transcript", 3) == doc_id("a" * 64, "transcript", 3)
    assert len({doc_id("a" * 64, "transcript", 3), doc_id("a" * 64, "page", 3), doc_id("b" * 64, "transcript", 3)}) == 3
    assert uuid.UUID(doc_id("a" * 64, "transcript", 0)).version == 5


# ----------------------------------------------------------------------------------------------------
# Snippets


def test_snippet_marks_matches_including_other_word_forms() -> None:
    assert snippet("She runs; the runner kept RUNNING past the dogs", "run dog") == (
        "She <mark>runs</mark>; the runner kept <mark>RUNNING</mark> past the <mark>dogs</mark>"
    )  # Snowball leaves "runner" alone, and so does the index


def test_snippet_escapes_markup_in_the_text_so_it_cannot_inject_html() -> None:
    text = 'He said <script>alert("x")</script> & <img src=x onerror=alert(1)> about the script'

    out = snippet(text, "script")

    assert "<script" not in out and "<img" not in out
    assert out == (
        "He said &lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; &amp; "
        "&lt;img src=x onerror=alert(1)&gt; about the <mark>script</mark>"
    )
    assert out.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_snippet_escapes_what_looks_escaped_already_and_never_marks_inside_an_entity() -> None:
    assert snippet("a &lt;b&gt; amp", "amp lt") == "a &amp;<mark>lt</mark>;b&amp;gt; <mark>amp</mark>"


def test_snippet_query_cannot_inject_markup_either() -> None:
    out = snippet("plain words here", '<b>plain</b> "words"')
    assert out == "<mark>plain</mark> <mark>words</mark> here"


def test_snippet_marks_a_quoted_phrase_as_one_and_keeps_its_stopwords() -> None:
    assert snippet_plain("the end of the world, the end", '"end of the world"') == (
        "the **end of the world**, the **end**"
    )  # the phrase's words are query terms too


def test_snippet_windows_long_text_around_the_matches_with_ellipses() -> None:
    text = " ".join(["filler"] * 60) + " the volcano erupted at dawn " + " ".join(["padding"] * 60)

    out = snippet_plain(text, "volcano dawn", width=60)

    assert out.startswith("…") and out.endswith("…")
    assert "**volcano** erupted at **dawn**" in out
    body = out.strip("…")
    assert len(body.replace("**", "")) <= 60
    assert not body.startswith(" ") and not body.endswith(" ")
    assert all(w in {"filler", "padding", "the", "**volcano**", "erupted", "at", "**dawn**"} for w in body.split())


def test_snippet_prefers_the_window_with_the_most_distinct_terms() -> None:
    text = "apple apple apple apple. " + "x " * 100 + "an apple and a pear together. " + "y " * 100

    out = snippet_plain(text, "apple pear", width=40)

    assert "**apple** and a **pear**" in out


def test_snippet_without_a_match_is_the_beginning_of_the_text() -> None:
    text = "First words of a long text " + "and more " * 50

    out = snippet_plain(text, "absent", width=30)

    assert out == "First words of a long text and…"


def test_snippet_of_short_text_is_the_whole_text_with_whitespace_collapsed() -> None:
    assert snippet_plain("  line one\n\n line   two ", "two") == "line one line **two**"
    assert snippet("", "word") == ""


def test_snippet_plain_takes_other_markers_and_width_must_be_positive() -> None:
    assert snippet_plain("find me here", "find", before="[", after="]") == "[find] me here"
    with pytest.raises(BadInput, match="width"):
        snippet("text", "text", width=0)
