"""The GraphStore contract, run against every adapter; then what only one adapter promises.

Adapters under contract:
- `sqlite`: SqliteGraphStore in tmp_path (the embedded default).
- `arcadedb`: Neo4jGraphStore over Bolt to ArcadeDB, started by this session (tests/arcadedb_server.py).
- `neo4j`: Neo4jGraphStore against a real Neo4j when NEO4J_URI is set. Point it at a scratch database: every test
  deletes all Document, Entity and AnalyticsRun nodes there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from arcadedb_server import ArcadeDBServer, arcadedb_available, free_port
from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.records import Document, Entity, Evidence, Extraction, Mention, Relation
from lookingglass.settings import Settings
from lookingglass.stores.graph import GraphStore, Neo4jGraphStore, SqliteGraphStore, open_graph_store
from lookingglass.stores.graph.analytics import run_analytics

# ----------------------------------------------------------------------------------------------------
# Building extractions by hand


def person(name: str) -> Entity:
    return Entity(id=f"person:{name.lower()}", name=name, type="PERSON", key=name.lower())


def org(name: str) -> Entity:
    return Entity(id=f"org:{name.lower()}", name=name, type="ORG", key=name.lower())


ADA, BOB, CYD = person("Ada"), person("Bob"), person("Cyd")
ACME, GLOBEX, INITECH = org("Acme"), org("Globex"), org("Initech")
ZURICH = Entity(id="gpe:zürich", name="Zürich", type="GPE", key="zürich")


def page(
    doc_id: str,
    sentences: list[str],
    mentions: list[tuple[Entity, int]] = (),
    relations: list[tuple[str, Entity, Entity, list[int]]] = (),
    title: str = "",
) -> Extraction:
    """A page whose sentences are numbered from 0; a mention or relation names the sentences it was read in."""

    def ev(i: int) -> Evidence:
        return Evidence(document=doc_id, sentence=i, text=sentences[i])

    named = {e.id: e for e, _ in mentions} | {e.id: e for _, a, b, _ in relations for e in (a, b)}
    return Extraction(
        document=Document(id=doc_id, kind="page", url=f"https://example.org/{doc_id}", title=title or doc_id),
        entities=tuple(named.values()),
        mentions=tuple(Mention(entity=e.id, surface=e.name, evidence=ev(i)) for e, i in mentions),
        relations=tuple(
            Relation(type=t, source=a.id, target=b.id, evidence=tuple(ev(i) for i in where))
            for t, a, b, where in relations
        ),
    )


def ada_works_for_acme(doc_id: str = "d1") -> Extraction:
    return page(
        doc_id,
        ["Ada works for Acme.", "Acme is in Zürich."],
        mentions=[(ADA, 0), (ACME, 0), (ACME, 1), (ZURICH, 1)],
        relations=[("works_for", ADA, ACME, [0]), ("located_in", ACME, ZURICH, [1])],
        title="About Ada",
    )


def relations_of(store: GraphStore, entity: Entity) -> dict[tuple[str, str, str], float]:
    """{(type, direction, other id): weight}"""
    return {(r["type"], r["direction"], r["target"]["id"]): r["weight"] for r in store.entity(entity.id)["relations"]}


# ----------------------------------------------------------------------------------------------------
# Adapters


@pytest.fixture(scope="session")
def arcadedb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArcadeDBServer]:
    if not arcadedb_available():
        pytest.skip("arcadedb-embedded is not installed: no Bolt server to run the contract against")
    server = ArcadeDBServer(tmp_path_factory.mktemp("arcadedb"))
    try:
        server.start()
    except RuntimeError as e:
        pytest.skip(f"ArcadeDB (Java) could not start: {str(e)[-800:]}")
    yield server
    server.stop()


def wiped(store: Neo4jGraphStore) -> Neo4jGraphStore:
    store.query(
        "MATCH (n) WHERE n:Document OR n:Entity OR n:AnalyticsRun OR n:EntityMerge OR n:MergeRejection DETACH DELETE n"
    )
    return store


@pytest.fixture(params=["sqlite", "arcadedb", "neo4j"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "sqlite":
        opened: GraphStore = SqliteGraphStore(tmp_path / "graph.sqlite3")
    elif request.param == "arcadedb":
        server: ArcadeDBServer = request.getfixturevalue("arcadedb")
        opened = wiped(Neo4jGraphStore(server.uri, server.auth, server.database))
    else:
        settings = Settings.from_env()
        if not settings.neo4j_uri:
            pytest.skip("NEO4J_URI not set: no Neo4j server to run the contract against")
        opened = wiped(Neo4jGraphStore(settings.neo4j_uri, settings.neo4j_auth, settings.neo4j_database))
    yield opened
    opened.close()


# ----------------------------------------------------------------------------------------------------
# The contract: every adapter behaves the same.


def test_an_empty_store_has_nothing_and_says_so(store: GraphStore) -> None:
    assert store.stats() == {"documents": 0, "entities": 0, "relations": 0, "mentions": 0, "evidence": 0}
    assert store.entities() == []
    assert list(store.nodes()) == [] and list(store.edges()) == []
    assert store.shared_people() == []
    assert store.last_analytics() is None


def test_a_put_document_reads_back_with_relations_evidence_and_sources(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    assert store.stats() == {"documents": 1, "entities": 3, "relations": 2, "mentions": 4, "evidence": 2}
    acme = store.entity(ACME.id)
    assert (acme["id"], acme["name"], acme["type"], acme["mentions"]) == (ACME.id, "Acme", "ORG", 2)
    assert acme["pagerank"] is None and acme["community"] is None  # never analysed yet
    assert acme["documents"] == [
        {"id": "d1", "url": "https://example.org/d1", "title": "About Ada", "kind": "page", "mentions": 2}
    ]
    by_type = {r["type"]: r for r in acme["relations"]}
    assert by_type["works_for"]["direction"] == "in"
    assert by_type["works_for"]["target"] == {"id": ADA.id, "name": "Ada", "type": "PERSON"}
    assert by_type["works_for"]["weight"] == 1
    assert by_type["works_for"]["evidence"] == [
        {"document": "d1", "sentence": 0, "text": "Ada works for Acme.", "url": "https://example.org/d1",
         "title": "About Ada"}
    ]  # fmt: skip
    assert by_type["located_in"]["direction"] == "out"
    assert by_type["located_in"]["target"]["id"] == ZURICH.id
    assert store.documents_for(ADA.id) == [
        {"id": "d1", "url": "https://example.org/d1", "title": "About Ada", "kind": "page", "mentions": 1}
    ]


def test_a_document_lists_the_entities_it_names_with_its_own_words(store: GraphStore) -> None:
    extraction = ada_works_for_acme()
    store.put(extraction)
    store.put(page("d2", ["Bob met Ada."], mentions=[(BOB, 0), (ADA, 0)]))

    named = store.entities_in("d1")

    assert [(e["id"], e["name"], e["type"], e["mentions"]) for e in named] == [
        (ACME.id, "Acme", "ORG", 2),
        (ADA.id, "Ada", "PERSON", 1),
        (ZURICH.id, "Zürich", "GPE", 1),
    ]  # most mentions first, then by name; Bob is only in d2
    assert [e["surfaces"] for e in named] == [["Acme"], ["Ada"], ["Zürich"]]
    assert store.entities_in("no-such-document") == []
    assert [e["id"] for e in store.entities_in("d1", limit=1)] == [ACME.id]


def test_putting_the_same_document_again_changes_no_count(store: GraphStore) -> None:
    store.put(ada_works_for_acme())
    before = (store.stats(), store.entities(sort="name"), relations_of(store, ACME))

    store.put(ada_works_for_acme())

    assert (store.stats(), store.entities(sort="name"), relations_of(store, ACME)) == before


def test_a_re_put_replaces_what_the_document_said_before(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    store.put(page("d1", ["Bob works for Acme."], [(BOB, 0), (ACME, 0)], [("works_for", BOB, ACME, [0])]))

    assert {e["id"] for e in store.entities()} == {BOB.id, ACME.id}  # Ada and Zürich were only in the old text
    assert relations_of(store, ACME) == {("works_for", "in", BOB.id): 1}
    assert store.stats() == {"documents": 1, "entities": 2, "relations": 1, "mentions": 2, "evidence": 1}


def test_co_mentions_are_symmetric_and_weigh_one_per_sentence_across_documents(store: GraphStore) -> None:
    sentences = ["Ada met Bob.", "Bob and Ada spoke.", "Ada thanked Bob."]
    store.put(page("d1", sentences, [(ADA, 0), (BOB, 0)], [("co_mentioned", ADA, BOB, [0, 1, 1])]))
    store.put(page("d2", sentences, [(ADA, 2), (BOB, 2)], [("co_mentioned", BOB, ADA, [2])]))  # other order

    assert relations_of(store, ADA) == {("co_mentioned", "both", BOB.id): 3}  # sentence 1 counted once
    assert relations_of(store, BOB) == {("co_mentioned", "both", ADA.id): 3}
    assert [(min(a, b), max(a, b), t, w) for a, b, t, w in store.edges()] == [
        (min(ADA.id, BOB.id), max(ADA.id, BOB.id), "co_mentioned", 3)
    ]


def test_typed_relations_weigh_their_evidence_items(store: GraphStore) -> None:
    store.put(
        page("d1", ["Ada works for Acme.", "Ada, of Acme, said."], [(ADA, 0)], [("works_for", ADA, ACME, [0, 1])])
    )
    store.put(page("d2", ["Ada works at Acme."], [(ADA, 0)], [("works_for", ADA, ACME, [0])]))

    assert relations_of(store, ADA) == {("works_for", "out", ACME.id): 3}
    assert len(store.entity(ADA.id, evidence_limit=2)["relations"][0]["evidence"]) == 2


def test_a_relation_given_without_evidence_contributes_its_own_weight(store: GraphStore) -> None:
    bulk = Extraction(
        document=Document(id="import-1", kind="page"),
        entities=(ADA, BOB),
        relations=(Relation(type="co_mentioned", source=ADA.id, target=BOB.id, weight=4.0),),
    )
    store.put(bulk)

    assert list(store.edges()) == [(min(ADA.id, BOB.id), max(ADA.id, BOB.id), "co_mentioned", 4.0)]
    assert store.entity(ADA.id)["relations"][0]["evidence"] == []


def test_put_many_stores_several_documents_at_once_or_none_of_them(store: GraphStore) -> None:
    d2 = page("d2", ["Ada works for Acme."], [(ADA, 0), (ACME, 0)], [("works_for", ADA, ACME, [0])])
    broken = Extraction(Document("d3", "page"), (ADA,), (Mention(BOB.id, "Bob", Evidence("d3", 0, "Bob.")),))

    with pytest.raises(BadInput):
        store.put_many([ada_works_for_acme(), d2, broken])
    assert store.stats()["documents"] == 0

    assert store.put_many([ada_works_for_acme(), d2, ada_works_for_acme()]) == 3  # d1 twice: the last one stands
    assert store.stats() == {"documents": 2, "entities": 3, "relations": 2, "mentions": 6, "evidence": 3}
    assert relations_of(store, ADA) == {("works_for", "out", ACME.id): 2}


def test_the_first_display_name_seen_is_kept(store: GraphStore) -> None:
    store.put(page("d1", ["Acme grew."], [(ACME, 0)]))
    store.put(page("d2", ["ACME Corp grew."], [(Entity(ACME.id, "ACME Corp", "ORG", "acme"), 0)]))

    assert store.entity(ACME.id)["name"] == "Acme"
    assert store.entity(ACME.id)["mentions"] == 2


def test_forget_removes_a_document_and_only_what_nothing_else_supports(store: GraphStore) -> None:
    store.put(
        page(
            "d1",
            ["Ada and Bob work for Acme."],
            [(ADA, 0), (BOB, 0), (ACME, 0)],
            [("works_for", ADA, ACME, [0]), ("works_for", BOB, ACME, [0]), ("co_mentioned", ADA, BOB, [0])],
        )
    )
    store.put(page("d2", ["Ada works for Acme."], [(ADA, 0), (ACME, 0)], [("works_for", ADA, ACME, [0])]))

    counts = store.forget("d1")

    assert counts == {"documents": 1, "mentions": 3, "evidence": 3, "relations": 2, "entities": 1}
    assert {e["id"] for e in store.entities()} == {ADA.id, ACME.id}  # Bob was only in d1
    assert relations_of(store, ACME) == {("works_for", "in", ADA.id): 1}  # d2's evidence stays
    assert store.documents_for(ACME.id) == [
        {"id": "d2", "url": "https://example.org/d2", "title": "d2", "kind": "page", "mentions": 1}
    ]
    with pytest.raises(NotFound):
        store.entity(BOB.id)
    assert store.stats() == {"documents": 1, "entities": 2, "relations": 1, "mentions": 2, "evidence": 1}


def test_forgetting_the_last_document_empties_the_graph_and_twice_is_harmless(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    assert store.forget("d1") == {"documents": 1, "mentions": 4, "evidence": 2, "relations": 2, "entities": 3}
    assert store.stats() == {"documents": 0, "entities": 0, "relations": 0, "mentions": 0, "evidence": 0}
    assert store.forget("d1") == {"documents": 0, "mentions": 0, "evidence": 0, "relations": 0, "entities": 0}


def test_shared_people_pairs_organisations_by_the_people_tied_to_both(store: GraphStore) -> None:
    s = ["x"]
    store.put(page("d1", s, relations=[("works_for", ADA, ACME, [0]), ("founded", ADA, GLOBEX, [0])]))
    store.put(page("d2", s, relations=[("ceo_of", BOB, ACME, [0]), ("member_of", BOB, GLOBEX, [0])]))
    store.put(page("d3", s, relations=[("works_for", CYD, GLOBEX, [0]), ("works_for", CYD, INITECH, [0])]))
    # Neither a co-mention nor a place ties people to organisations.
    store.put(page("d4", s, relations=[("co_mentioned", ADA, INITECH, [0]), ("located_in", ADA, ZURICH, [0])]))

    pairs = store.shared_people()

    assert [{k: p[k] for k in ("a", "b", "people")} for p in pairs] == [
        {"a": {"id": ACME.id, "name": "Acme"}, "b": {"id": GLOBEX.id, "name": "Globex"}, "people": ["Ada", "Bob"]},
        {"a": {"id": GLOBEX.id, "name": "Globex"}, "b": {"id": INITECH.id, "name": "Initech"}, "people": ["Cyd"]},
    ]
    assert store.shared_people(limit=1) == pairs[:1]
    assert store.shared_people(organisation=INITECH.id) == pairs[1:]


def test_each_shared_person_comes_with_the_relation_and_sentence_on_both_sides(store: GraphStore) -> None:
    """What makes a pair: the analyst sees why Ada ties Acme to Globex, one typed relation and its sentence each."""
    store.put(
        page(
            "d1",
            ["Ada works for Acme.", "Ada founded Globex."],
            relations=[("works_for", ADA, ACME, [0]), ("founded", ADA, GLOBEX, [1])],
        )
    )

    (pair,) = store.shared_people()

    assert pair["ties"] == [
        {
            "person": {"id": ADA.id, "name": "Ada"},
            "a": {"type": "works_for", "text": "Ada works for Acme.", "document": "d1"},
            "b": {"type": "founded", "text": "Ada founded Globex.", "document": "d1"},
        }
    ]


def test_an_organisation_is_not_paired_with_a_short_form_of_its_own_name(store: GraphStore) -> None:
    acme_labs = Entity(id="org:acme labs", name="Acme Labs", type="ORG", key="acme labs")
    acmeco = Entity(id="org:acmeco", name="Acmeco", type="ORG", key="acmeco")  # a prefix, but not a whole word
    s = ["x"]
    store.put(page("d1", s, relations=[("works_for", ADA, ACME, [0]), ("founded", ADA, acme_labs, [0])]))
    store.put(page("d2", s, relations=[("works_for", ADA, acmeco, [0])]))

    pairs = store.shared_people()

    assert {frozenset((p["a"]["name"], p["b"]["name"])) for p in pairs} == {
        frozenset(("Acme", "Acmeco")),
        frozenset(("Acme Labs", "Acmeco")),
    }


def test_analytics_mark_each_organisation_with_how_many_others_share_its_people(store: GraphStore) -> None:
    s = ["x"]
    store.put(page("d1", s, relations=[("works_for", ADA, ACME, [0]), ("founded", ADA, GLOBEX, [0])]))
    store.put(page("d2", s, relations=[("works_for", CYD, GLOBEX, [0]), ("works_for", CYD, INITECH, [0])]))
    store.put(page("d3", s, [(org("Umbrella"), 0), (BOB, 0)], relations=[("located_in", ACME, ZURICH, [0])]))

    report = run_analytics(store)

    marked = {e["name"]: e["shares_people"] for e in store.entities(limit=100)}
    assert marked == {"Acme": 1, "Globex": 2, "Initech": 1, "Umbrella": 0, "Ada": None, "Bob": None, "Cyd": None,
                      "Zürich": None}  # fmt: skip
    assert report["shared_people"]["organisations"] == 3
    assert store.entity(GLOBEX.id)["shares_people"] == 2

    store.forget("d2")  # Cyd's ties go; the next run counts again
    run_analytics(store)
    assert {e["name"]: e["shares_people"] for e in store.entities(type="ORG")} == {"Acme": 1, "Globex": 1,
                                                                                  "Umbrella": 0}  # fmt: skip


def test_organisations_are_found_by_key_and_by_a_shorter_form_of_it(store: GraphStore) -> None:
    labs = Entity(id="org:acme labs", name="Acme Labs", type="ORG", key="acme labs")
    acmeco = Entity(id="org:acmeco", name="Acmeco", type="ORG", key="acmeco")
    store.put(page("d1", ["x"], [(ACME, 0), (labs, 0), (acmeco, 0), (GLOBEX, 0), (ADA, 0)]))

    assert [o["name"] for o in store.organisations_extending("acme")] == ["Acme Labs"]  # not Acmeco: whole words
    assert store.organisations_extending("acme labs") == [] and store.organisations_extending("ada") == []
    keyed = store.organisations_keyed(["acme", "globex", "ada", "initech"])  # Ada is a person
    assert sorted((o["name"], o["key"]) for o in keyed) == [("Acme", "acme"), ("Globex", "globex")]
    assert store.organisations_keyed([]) == []


def test_entities_filter_sort_and_page(store: GraphStore) -> None:
    store.put(ada_works_for_acme())
    store.put(page("d2", ["Bob, Bob and Acme."], [(BOB, 0), (BOB, 0), (ACME, 0), (GLOBEX, 0)]))

    # ties in order of id: "gpe:zürich" < "org:globex" < "person:ada"
    assert [e["id"] for e in store.entities(sort="mentions")] == [ACME.id, BOB.id, ZURICH.id, GLOBEX.id, ADA.id]
    assert [e["mentions"] for e in store.entities(sort="mentions")] == [3, 2, 1, 1, 1]
    assert [e["name"] for e in store.entities(sort="name")] == ["Acme", "Ada", "Bob", "Globex", "Zürich"]
    assert [e["name"] for e in store.entities(sort="name", limit=2, offset=2)] == ["Bob", "Globex"]
    assert store.entities(sort="name", offset=10) == []
    assert [e["name"] for e in store.entities(type="PERSON", sort="name")] == ["Ada", "Bob"]
    assert [e["name"] for e in store.entities(query="AC", sort="name")] == ["Acme"]  # case-insensitive substring
    assert [e["name"] for e in store.entities(query="zÜ")] == ["Zürich"]  # beyond ASCII too
    assert store.entities(query="a", type="ORG", sort="name")[0]["name"] == "Acme"
    assert set(store.entities()[0]) >= {"id", "name", "type", "pagerank", "community", "leiden", "mentions"}
    with pytest.raises(BadInput, match="sort"):
        store.entities(sort="weight")
    with pytest.raises(BadInput, match="limit"):
        store.entities(limit=0)
    with pytest.raises(BadInput, match="offset"):
        store.entities(offset=-1)


def test_an_unknown_entity_is_not_found(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    with pytest.raises(NotFound):
        store.entity("person:nobody")
    with pytest.raises(NotFound):
        store.documents_for("person:nobody")


def test_analytics_results_are_written_onto_entities_and_the_run_is_kept(store: GraphStore) -> None:
    store.put(ada_works_for_acme())
    run = {"backend": "igraph", "finished_at": "2026-01-02T03:04:05+00:00", "nodes": 3, "edges": 2}

    store.write_analytics({ADA.id: 0.2, ACME.id: 0.5}, {ADA.id: 0, ACME.id: 0, ZURICH.id: 1}, {ADA.id: 7}, run)

    assert [(e["id"], e["pagerank"]) for e in store.entities()] == [(ACME.id, 0.5), (ADA.id, 0.2), (ZURICH.id, None)]
    acme = store.entity(ACME.id)
    assert (acme["pagerank"], acme["community"], acme["leiden"]) == (0.5, 0, None)
    assert store.last_analytics() == run

    later = {**run, "finished_at": "2026-01-03T00:00:00+00:00"}
    store.write_analytics({ZURICH.id: 0.9}, None, None, later)  # None: leave communities as they are

    assert [(e["id"], e["pagerank"]) for e in store.entities()] == [(ZURICH.id, 0.9), (ACME.id, None), (ADA.id, None)]
    assert store.entity(ADA.id)["leiden"] == 7 and store.entity(ZURICH.id)["community"] == 1
    assert store.last_analytics() == later


def test_run_analytics_exports_computes_and_writes_back(store: GraphStore) -> None:
    store.put(ada_works_for_acme())
    store.put(page("d2", ["Bob met Cyd."], [(BOB, 0), (CYD, 0)], [("co_mentioned", BOB, CYD, [0])]))

    report = run_analytics(store)

    assert report["backend"] == "igraph" and (report["nodes"], report["edges"]) == (5, 3)
    ranked = store.entities()
    assert all(e["pagerank"] is not None for e in ranked)
    assert ranked[0]["id"] == ACME.id  # the only entity with two relations
    assert sum(e["pagerank"] for e in ranked) == pytest.approx(1.0)
    community = {e["id"]: e["community"] for e in ranked}
    assert community[ADA.id] == community[ACME.id] == community[ZURICH.id] != community[BOB.id] == community[CYD.id]
    assert store.last_analytics()["backend"] == "igraph"


def test_nodes_and_edges_export_the_whole_graph(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    assert sorted(store.nodes()) == [(ZURICH.id, "GPE"), (ACME.id, "ORG"), (ADA.id, "PERSON")]
    assert sorted(store.edges()) == [(ACME.id, ZURICH.id, "located_in", 1.0), (ADA.id, ACME.id, "works_for", 1.0)]


def test_an_inconsistent_extraction_is_bad_input_and_stores_nothing(store: GraphStore) -> None:
    stray = Extraction(
        document=Document(id="d1", kind="page"),
        entities=(ADA,),
        mentions=(Mention(entity=ACME.id, surface="Acme", evidence=Evidence("d1", 0, "Acme.")),),
    )
    elsewhere = Extraction(
        document=Document(id="d1", kind="page"),
        entities=(ADA,),
        mentions=(Mention(entity=ADA.id, surface="Ada", evidence=Evidence("d9", 0, "Ada.")),),
    )

    with pytest.raises(BadInput, match="unknown entity"):
        store.put(stray)
    with pytest.raises(BadInput, match="d9"):
        store.put(elsewhere)
    assert store.stats()["documents"] == 0


def test_health_reports_backend_and_latency(store: GraphStore) -> None:
    health = store.health()

    assert health["ok"] is True
    assert health["backend"] == store.backend in {"sqlite", "neo4j"}
    assert health["ms"] >= 0
    assert isinstance(store.has_gds(), bool)


# ----------------------------------------------------------------------------------------------------
# The embedded adapter


def test_open_graph_store_is_sqlite_in_the_data_dir_without_a_bolt_server(tmp_path: Path) -> None:
    store = open_graph_store(Settings(data_dir=tmp_path / "data"))
    try:
        assert isinstance(store, SqliteGraphStore)
        assert store.path == tmp_path / "data" / "graph.sqlite3"
        assert store.has_gds() is False
    finally:
        store.close()


def test_sqlite_keeps_the_graph_across_reopening(tmp_path: Path) -> None:
    store = SqliteGraphStore(tmp_path / "graph.sqlite3")
    store.put(ada_works_for_acme())
    store.write_analytics({ADA.id: 1.0}, None, None, {"backend": "igraph"})
    store.close()

    reopened = SqliteGraphStore(tmp_path / "graph.sqlite3")
    try:
        assert reopened.stats()["relations"] == 2
        assert reopened.entity(ADA.id)["pagerank"] == 1.0
        assert reopened.last_analytics() == {"backend": "igraph"}
        (mode,) = reopened._db.execute("PRAGMA journal_mode").fetchone()
        assert mode == "wal"
    finally:
        reopened.close()


def test_sqlite_store_is_shared_by_writer_and_reader_threads(tmp_path: Path) -> None:
    """Request threads read while job threads write, all through one instance."""
    store = SqliteGraphStore(tmp_path / "graph.sqlite3")
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(25):
                doc = f"w{worker}-{i}"
                store.put(page(doc, ["Ada works for Acme."], [(ADA, 0), (ACME, 0)], [("works_for", ADA, ACME, [0])]))
                if i % 5 == 0:
                    store.forget(doc)
        except BaseException as e:
            errors.append(e)

    def reader() -> None:
        for _ in range(50):
            try:
                store.entities(sort="mentions")
                store.entity(ACME.id)
            except NotFound:
                pass  # before the first put, or between a forget and the next put, Acme may be gone
            except BaseException as e:
                errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert store.stats() == {"documents": 80, "entities": 2, "relations": 1, "mentions": 160, "evidence": 80}
        assert relations_of(store, ACME) == {("works_for", "in", ADA.id): 80}
    finally:
        store.close()


def test_sqlite_in_an_unwritable_place_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")

    with pytest.raises(Unavailable, match="graph database"):
        SqliteGraphStore(blocker / "graph.sqlite3")


# ----------------------------------------------------------------------------------------------------
# The Bolt adapter against ArcadeDB


def test_open_graph_store_picks_the_bolt_server_when_configured(arcadedb: ArcadeDBServer) -> None:
    settings = Settings(neo4j_uri=arcadedb.uri, neo4j_auth=arcadedb.auth, neo4j_database=arcadedb.database)

    store = open_graph_store(settings)
    try:
        assert isinstance(store, Neo4jGraphStore)
        assert "ArcadeDB" in store.health()["server"]
        assert store.schema_warnings == []  # ArcadeDB accepts every constraint and index we create
    finally:
        store.close()


def test_arcadedb_has_no_gds_so_analytics_run_in_igraph(arcadedb: ArcadeDBServer) -> None:
    store = Neo4jGraphStore(arcadedb.uri, arcadedb.auth, arcadedb.database)
    try:
        assert store.query("CALL gds.version()")  # ArcadeDB answers this one, with its own version ...
        assert store.has_gds() is False  # ... but has none of the procedures the analytics call
    finally:
        store.close()


def test_an_unreachable_bolt_server_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="unreachable"):
        Neo4jGraphStore(f"bolt://127.0.0.1:{free_port()}", ("neo4j", "secret"))


def test_wrong_credentials_are_unavailable(arcadedb: ArcadeDBServer) -> None:
    with pytest.raises(Unavailable, match="credentials"):
        Neo4jGraphStore(arcadedb.uri, ("root", "not-the-password"), arcadedb.database)


# ----------------------------------------------------------------------------------------------------
# One type per entity, from every document's votes; merges an admin makes, kept through re-processing.


def voting(entity: Entity, type_: str, weight: float) -> Entity:
    """The entity as a document that reads it as `type_` with `weight` sends it (text/entity_types.py votes)."""
    return Entity(id=entity.id, name=entity.name, type=type_, key=entity.key, votes=((type_, weight),))


LISBON = Entity(id="name:lisbon", name="Lisbon", type="ORG", key="lisbon")


def test_an_entity_takes_the_type_most_evidence_gives_and_changes_it_when_evidence_changes(store: GraphStore) -> None:
    """ "Lisbon announced new rules" reads like an organisation; "based in Lisbon" (a place slot, 5 votes) and the
    gazetteer outweigh it: the city is one place, on every page, and back to what is left when a page goes."""
    store.put(page("d1", ["Lisbon announced new rules."], [(voting(LISBON, "ORG", 1.0), 0)]))
    assert store.entity(LISBON.id)["type"] == "ORG"

    store.put(page("d2", ["Tern is based in Lisbon."], [(voting(LISBON, "GPE", 9.0), 0)]))
    assert store.entity(LISBON.id)["type"] == "GPE"
    assert [e["type"] for e in store.entities(query="lisbon")] == ["GPE"]
    assert store.names("GPE") == [{"id": LISBON.id, "name": "Lisbon", "key": "lisbon", "mentions": 2}]

    store.forget("d2")
    assert store.entity(LISBON.id)["type"] == "ORG"


def test_a_relation_whose_end_was_retyped_is_not_shown(store: GraphStore) -> None:
    """ "Ada works for Lisbon" read while Lisbon looked like an organisation: once it is a place, a person cannot
    work for it, and no organisation shares Ada through it."""
    store.put(page("d1", ["Ada works for Lisbon."], relations=[("works_for", ADA, voting(LISBON, "ORG", 1.0), [0])]))
    store.put(page("d1b", ["Ada works for Acme."], relations=[("works_for", ADA, ACME, [0])]))
    assert len(store.shared_people()) == 1

    store.put(page("d2", ["Tern is based in Lisbon."], [(voting(LISBON, "GPE", 9.0), 0)]))

    assert ("works_for", "out", LISBON.id) not in relations_of(store, ADA)
    assert ("works_for", "out", ACME.id) in relations_of(store, ADA)
    assert store.shared_people() == []


def test_a_relation_keeps_the_time_its_sentence_states(store: GraphStore) -> None:
    extraction = page("d1", ["Ada left Acme in 2021."], relations=[("works_for", ADA, ACME, [0])])
    (relation,) = extraction.relations
    store.put(replace(extraction, relations=(replace(relation, time="until 2021"),)))

    (shown,) = store.entity(ADA.id)["relations"]
    assert shown["time"] == "until 2021"
    assert shown["evidence"][0]["time"] == "until 2021"


NORHAVEN = org("Norhaven")
NORTHHAVEN = org("Northhaven")


def test_a_merge_moves_mentions_and_relations_and_survives_reprocessing(store: GraphStore) -> None:
    """Speech recognition wrote "Northhaven" for "Norhaven": the admin merges it, and processing the transcript
    again still stores Norhaven."""
    store.put(page("d1", ["Ada works for Norhaven."], [(NORHAVEN, 0)], [("works_for", ADA, NORHAVEN, [0])]))
    transcript = page(
        "d2", ["Ada runs Northhaven, she says.", "Bob founded Northhaven."], [(NORTHHAVEN, 0), (NORTHHAVEN, 1)],
        [("works_for", ADA, NORTHHAVEN, [0]), ("founded", BOB, NORTHHAVEN, [1])],
    )  # fmt: skip
    store.put(transcript)

    moved = store.merge_entities(NORTHHAVEN.id, NORHAVEN.id)

    assert moved == {"source": NORTHHAVEN.id, "target": NORHAVEN.id, "mentions": 2, "relations": 2}
    assert store.entities(query="northhaven") == []
    assert relations_of(store, NORHAVEN) == {
        ("works_for", "in", ADA.id): 2.0,
        ("founded", "in", BOB.id): 1.0,
    }
    assert {d["id"] for d in store.documents_for(NORHAVEN.id)} == {"d1", "d2"}
    assert store.merged_into([NORTHHAVEN.id, ADA.id]) == {NORTHHAVEN.id: NORHAVEN.id}

    store.put(transcript)  # processed again: it still names "Northhaven"

    assert store.entities(query="northhaven") == []
    assert relations_of(store, NORHAVEN) == {
        ("works_for", "in", ADA.id): 2.0,
        ("founded", "in", BOB.id): 1.0,
    }
    assert store.stats()["entities"] == 3


def test_a_merge_of_different_types_or_unknown_entities_is_refused(store: GraphStore) -> None:
    store.put(ada_works_for_acme())

    with pytest.raises(BadInput):
        store.merge_entities(ADA.id, ACME.id)
    with pytest.raises(BadInput):
        store.merge_entities(ACME.id, ACME.id)
    with pytest.raises(NotFound):
        store.merge_entities("org:nobody", ACME.id)


def test_a_rejected_pair_is_remembered_from_both_sides(store: GraphStore) -> None:
    store.put(page("d1", ["x"], [(NORHAVEN, 0), (NORTHHAVEN, 0)]))

    store.reject_merge(NORTHHAVEN.id, NORHAVEN.id)

    assert store.rejected_merges(NORHAVEN.id) == {NORTHHAVEN.id}
    assert store.rejected_merges(NORTHHAVEN.id) == {NORHAVEN.id}
