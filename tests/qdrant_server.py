"""A scratch collection on the Qdrant server named by QDRANT_URL / QDRANT_HOST, for the server contract tests;
they skip, visibly, when none is set."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from qdrant_client import QdrantClient

from lookingglass.settings import Settings
from lookingglass.stores.vectors import connect_qdrant


@contextlib.contextmanager
def scratch_collection(prefix: str) -> Iterator[tuple[QdrantClient, str]]:
    """(client, a fresh collection name), deleted afterwards: the server may be shared."""
    settings = Settings.from_env()
    if not settings.distributed_vectors:
        pytest.skip("QDRANT_URL not set: no Qdrant server to run the contract against")
    client = connect_qdrant(settings)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        yield client, name
    finally:
        client.delete_collection(name)
