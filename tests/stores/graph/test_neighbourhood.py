"""`neighbourhood()`: an entity and the entities tied to it, one or two relations out, on every adapter (the
`store` fixture of the contract module: SQLite, ArcadeDB over Bolt, Neo4j when NEO4J_URI is set)."""

from __future__ import annotations

import pytest
import test_graph_store as contract
from test_graph_store import ACME, ADA, BOB, CYD, GLOBEX, INITECH, ZURICH, page

from lookingglass.errors import BadInput, NotFound
from lookingglass.stores.graph import GraphStore

store = contract.store  # the contract's adapters, one run each
arcadedb = contract.arcadedb


def chain(store: GraphStore) -> None:
    """Ada works for Acme (twice), Acme is in Zürich, Bob works for Globex; Ada and Bob are named together;
    Cyd works for Initech, two hops from nobody Ada knows."""
    store.put(
        page(
            "d1",
            ["Ada works for Acme.", "Ada joined Acme.", "Acme is in Zürich.", "Ada met Bob.", "Bob works for Globex."],
            relations=[
                ("works_for", ADA, ACME, [0, 1]),
                ("located_in", ACME, ZURICH, [2]),
                ("co_mentioned", ADA, BOB, [3]),
                ("works_for", BOB, GLOBEX, [4]),
            ],
        )
    )
    store.put(page("d2", ["Cyd works for Initech."], relations=[("works_for", CYD, INITECH, [0])]))


def ids(found: dict) -> dict[str, int]:
    return {n["id"]: n["hops"] for n in found["nodes"]}


def test_one_hop_is_the_entity_and_what_it_is_tied_to(store: GraphStore) -> None:
    chain(store)
    found = store.neighbourhood(ADA.id, hops=1)
    assert found["nodes"][0]["id"] == ADA.id and found["nodes"][0]["hops"] == 0
    assert ids(found) == {ADA.id: 0, ACME.id: 1, BOB.id: 1}
    assert found["nodes"][1]["id"] == ACME.id  # the strongest tie first (two sentences)
    assert {(e["source"], e["target"], e["type"], e["weight"]) for e in found["edges"]} == {
        (ADA.id, ACME.id, "works_for", 2.0),
        (ADA.id, BOB.id, "co_mentioned", 1.0),
    }
    assert found["truncated"] is False


def test_two_hops_add_their_ties_and_the_edges_among_them(store: GraphStore) -> None:
    chain(store)
    found = store.neighbourhood(ADA.id, hops=2)
    assert ids(found) == {ADA.id: 0, ACME.id: 1, BOB.id: 1, ZURICH.id: 2, GLOBEX.id: 2}
    assert {e["type"] for e in found["edges"]} == {"works_for", "located_in", "co_mentioned"}
    assert len(found["edges"]) == 4
    assert CYD.id not in ids(found)


def test_a_limit_keeps_the_strongest_ties_and_says_so(store: GraphStore) -> None:
    chain(store)
    found = store.neighbourhood(ADA.id, hops=2, limit=2)
    assert ids(found) == {ADA.id: 0, ACME.id: 1}
    assert found["truncated"] is True
    assert [e["type"] for e in found["edges"]] == ["works_for"]


def test_an_entity_without_relations_is_alone(store: GraphStore) -> None:
    store.put(page("d3", ["Zürich is a city."], mentions=[(ZURICH, 0)]))
    found = store.neighbourhood(ZURICH.id, hops=2)
    assert ids(found) == {ZURICH.id: 0} and found["edges"] == []


def test_an_unknown_entity_or_a_third_hop_is_refused(store: GraphStore) -> None:
    with pytest.raises(NotFound):
        store.neighbourhood("person:nobody")
    chain(store)
    with pytest.raises(BadInput):
        store.neighbourhood(ADA.id, hops=3)


def test_relation_counts_count_what_the_entity_lists(store: GraphStore) -> None:
    chain(store)
    store.put(page("d4", ["Ada met Bob again."], relations=[("co_mentioned", BOB, ADA, [0])]))  # the same tie
    counts = store.relation_counts([ADA.id, BOB.id, CYD.id, "person:nobody"])
    assert counts == {ADA.id: 2, BOB.id: 2, CYD.id: 1}
    assert counts[ADA.id] == len(store.entity(ADA.id)["relations"])
    assert sum(store.relation_counts([n for n, _ in store.nodes()]).values()) == 2 * store.stats()["relations"]
