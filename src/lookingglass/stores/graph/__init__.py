"""The entity graph: who works where, read from pages and transcripts.

- port.py: what a graph store does, as three small Protocols (write, read, analytics) and `GraphStore`, all three;
- merge.py: one document's contribution, checked and merged, which both adapters store as it is;
- sqlite.py (`SqliteGraphStore`, the default) and neo4j.py (`Neo4jGraphStore`, any Bolt server): the adapters, one
  contract (tests/stores/graph/test_graph_store.py);
- analytics.py: PageRank and communities, computed in igraph or in the server, written back onto entities;
- aliases.py: short names of organisations across documents.

`open_graph_store(settings)` picks an adapter; `app.build` calls it, and nothing else asks which one it got.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lookingglass.stores.graph.neo4j import Neo4jGraphStore
from lookingglass.stores.graph.port import (
    MAX_LIMIT,
    SORTS,
    GraphAnalytics,
    GraphReader,
    GraphStore,
    GraphWriter,
)
from lookingglass.stores.graph.sqlite import SqliteGraphStore

if TYPE_CHECKING:
    from lookingglass.settings import Settings

__all__ = [
    "MAX_LIMIT",
    "SORTS",
    "GraphAnalytics",
    "GraphReader",
    "GraphStore",
    "GraphWriter",
    "Neo4jGraphStore",
    "SqliteGraphStore",
    "open_graph_store",
]


def open_graph_store(settings: Settings) -> GraphStore:
    """The Bolt server when NEO4J_URI/NEO4J_HOST is set, else SQLite at LG_DATA_DIR/graph.sqlite3."""
    if settings.neo4j_uri:
        return Neo4jGraphStore(settings.neo4j_uri, settings.neo4j_auth, settings.neo4j_database)
    return SqliteGraphStore(Path(settings.data_dir) / "graph.sqlite3")
