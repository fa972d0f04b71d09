"""The VectorIndex contract, run against every adapter; then what only the embedded engine promises.

Adapters under contract:
- `edge`: EdgeVectorIndex on qdrant-edge in tmp_path (the real embedded engine).
- `qdrant-local`: QdrantServerIndex over `QdrantClient(":memory:")` (the server's API in-process, no network).
- `qdrant-server`: QdrantServerIndex against a real server when QDRANT_URL or QDRANT_HOST is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

import lookingglass
from lookingglass.errors import BadInput, DataDirBusy, Unavailable
from lookingglass.records import FacePoint
from lookingglass.settings import Settings
from lookingglass.stores.vectors import (
    EdgeVectorIndex,
    QdrantServerIndex,
    VectorIndex,
    collection_name,
    open_vector_index,
)
from qdrant_server import scratch_collection

# qdrant-client's local mode accepts payload indexes but warns that they do nothing there.
pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DIM = 8
NAME = collection_name("test", DIM)
ID_NAMESPACE = uuid.UUID("6f1e0c1a-4d3b-4b8e-9a51-2f0f6f3c9a10")


def unit_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    """Deterministic random unit vectors: far enough apart in 8-d that the nearest is unambiguous."""
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def face_point(sha256: str, face_index: int, vector: np.ndarray, **payload: object) -> FacePoint:
    """A point the way ingestion makes one: a uuid5 id from (object, frame, face, model)."""
    point_id = str(uuid.uuid5(ID_NAMESPACE, f"{sha256}:0:{face_index}:test"))
    return FacePoint(point_id, vector, {"sha256": sha256, "kind": "image", "face_index": face_index, **payload})


def faces_of(sha256: str, vectors: np.ndarray, first: int = 0) -> list[FacePoint]:
    return [face_point(sha256, first + i, v) for i, v in enumerate(vectors)]


@pytest.fixture(params=["edge", "qdrant-local", "qdrant-server"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    if request.param == "edge":
        idx: VectorIndex = EdgeVectorIndex(tmp_path / "vectors", NAME, DIM)
        yield idx
        idx.close()
    elif request.param == "qdrant-local":
        idx = QdrantServerIndex(QdrantClient(":memory:"), NAME, DIM)
        yield idx
        idx.close()
    else:
        with scratch_collection(NAME) as (client, name):
            idx = QdrantServerIndex(client, name, DIM)
            yield idx
            idx.close()


# ----------------------------------------------------------------------------------------------------
# The contract: every adapter behaves the same.


def test_an_identical_vector_is_the_nearest_with_cosine_score_one(index: VectorIndex) -> None:
    vectors = unit_vectors(20)
    index.upsert(faces_of("a" * 64, vectors))

    hits = index.search(vectors[7], top_k=5)

    assert len(hits) == 5
    assert hits[0].id == face_point("a" * 64, 7, vectors[7]).id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].payload == {"sha256": "a" * 64, "kind": "image", "face_index": 7}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_vectors_need_not_be_normalised_for_cosine(index: VectorIndex) -> None:
    vectors = unit_vectors(5)
    index.upsert(faces_of("a" * 64, vectors * 3.0))

    assert index.search(vectors[2] * 0.5, top_k=1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_threshold_drops_weak_matches(index: VectorIndex) -> None:
    vectors = unit_vectors(20)
    index.upsert(faces_of("a" * 64, vectors))

    everything = index.search(vectors[0], top_k=20)
    strong = index.search(vectors[0], top_k=20, threshold=0.9)

    assert len(everything) == 20
    assert [h.id for h in strong] == [everything[0].id]
    assert all(h.score >= 0.9 for h in strong)


def test_upserting_the_same_id_again_overwrites_instead_of_duplicating(index: VectorIndex) -> None:
    vectors = unit_vectors(3)
    index.upsert(faces_of("a" * 64, vectors))

    retried = face_point("a" * 64, 1, vectors[1], page_url="https://example.org/page")
    index.upsert([retried])

    assert index.count() == 3
    (hit,) = index.search(vectors[1], top_k=1)
    assert hit.id == retried.id
    assert hit.payload["page_url"] == "https://example.org/page"


def test_filters_restrict_results_to_matching_payload(index: VectorIndex) -> None:
    vectors = unit_vectors(6)
    index.upsert(faces_of("a" * 64, vectors[:3]) + faces_of("b" * 64, vectors[3:]))

    hits = index.search(vectors[0], top_k=10, filters={"sha256": "b" * 64})

    assert len(hits) == 3
    assert {h.payload["sha256"] for h in hits} == {"b" * 64}
    assert index.count({"sha256": "a" * 64}) == 3
    assert index.count({"sha256": "a" * 64, "face_index": 2}) == 1  # several keys: all must match
    assert index.search(vectors[0], top_k=10, filters={"kind": "video"}) == []


def test_scroll_lists_the_faces_matching_a_filter_and_lists_match_any_element(index: VectorIndex) -> None:
    vectors = unit_vectors(3)
    index.upsert(
        [
            face_point("a" * 64, 0, vectors[0], page_urls=["https://e.org/1", "https://e.org/2"]),
            face_point("b" * 64, 0, vectors[1], page_urls=["https://e.org/2"]),
            face_point("c" * 64, 0, vectors[2], page_urls=[]),
        ]
    )

    on_page_2 = index.scroll({"page_urls": "https://e.org/2"})

    assert sorted(h.payload["sha256"][0] for h in on_page_2) == ["a", "b"]
    assert [h.payload["sha256"][0] for h in index.scroll({"page_urls": "https://e.org/1"})] == ["a"]
    assert index.scroll({"page_urls": "https://e.org/3"}) == []
    assert len(index.scroll({"kind": "image"}, limit=2)) == 2


def test_delete_where_removes_exactly_one_objects_points(index: VectorIndex) -> None:
    vectors = unit_vectors(7)
    index.upsert(faces_of("a" * 64, vectors[:4]) + faces_of("b" * 64, vectors[4:]))

    assert index.delete_where("sha256", "a" * 64) == 4

    assert index.count() == 3
    assert index.count({"sha256": "a" * 64}) == 0
    assert {h.payload["sha256"] for h in index.search(vectors[0], top_k=10)} == {"b" * 64}
    assert index.delete_where("sha256", "a" * 64) == 0  # forgetting twice is harmless


def test_delete_ids_removes_exactly_those_points(index: VectorIndex) -> None:
    vectors = unit_vectors(4)
    points = faces_of("a" * 64, vectors)
    index.upsert(points)

    assert index.delete_ids([points[1].id, points[3].id, face_point("b" * 64, 0, vectors[0]).id]) == 2

    assert sorted(h.payload["face_index"] for h in index.scroll({"sha256": "a" * 64})) == [0, 2]
    assert index.delete_ids([]) == 0


def test_a_point_payload_can_be_read_by_id(index: VectorIndex) -> None:
    point = face_point("a" * 64, 0, unit_vectors(1)[0], thumbnail="thumbs/x.jpg")
    index.upsert([point])

    assert index.payload(point.id)["thumbnail"] == "thumbs/x.jpg"
    assert index.payload(str(uuid.uuid4())) is None


def test_set_payload_marks_points_and_keeps_their_other_keys(index: VectorIndex) -> None:
    points = faces_of("a" * 64, unit_vectors(3))
    index.upsert(points)

    index.set_payload([points[0].id, points[2].id, str(uuid.uuid4())], {"person_id": "p1"})  # unknown id ignored

    assert sorted(h.payload["face_index"] for h in index.scroll({"person_id": "p1"})) == [0, 2]
    assert index.payload(points[0].id)["sha256"] == "a" * 64  # the rest of the payload stays
    index.set_payload([points[0].id], {"person_id": None})
    assert [h.payload["face_index"] for h in index.scroll({"person_id": "p1"})] == [2]


def test_points_and_iter_points_give_vectors_back_with_their_payloads(index: VectorIndex) -> None:
    vectors = unit_vectors(5)
    points = faces_of("a" * 64, vectors[:3]) + faces_of("b" * 64, vectors[3:])
    index.upsert(points)

    (first, missing_left_out) = index.points([points[1].id, str(uuid.uuid4()), points[4].id])
    assert {first.id, missing_left_out.id} == {points[1].id, points[4].id}
    by_id = {p.id: p for p in index.points([points[1].id])}
    assert np.allclose(by_id[points[1].id].vector, vectors[1], atol=1e-5)
    assert by_id[points[1].id].payload["face_index"] == 1

    every = list(index.iter_points(batch=2))  # several pages
    assert sorted(p.id for p in every) == sorted(p.id for p in points)
    assert {p.payload["sha256"][0] for p in index.iter_points({"sha256": "b" * 64})} == {"b"}


def test_search_on_an_empty_collection_returns_nothing(index: VectorIndex) -> None:
    assert index.count() == 0
    assert index.search(unit_vectors(1)[0], top_k=10) == []


def test_optimize_then_search_still_finds_the_same_points(index: VectorIndex) -> None:
    vectors = unit_vectors(50)
    index.upsert(faces_of("a" * 64, vectors))

    assert isinstance(index.optimize(), bool)

    assert index.count() == 50
    assert index.search(vectors[42], top_k=1)[0].id == face_point("a" * 64, 42, vectors[42]).id


def test_index_maintenance_is_asked_of_the_port_and_loses_no_point(index: VectorIndex) -> None:
    vectors = unit_vectors(30)
    index.upsert(faces_of("b" * 64, vectors))

    pending = index.pending_optimize
    changed = index.optimize_aside(timeout=300)

    if isinstance(index, QdrantServerIndex):  # the server indexes by itself: nothing pending, nothing to build
        assert (pending, changed) == (0, False)
    else:  # the embedded engine: every new point waits for its owner to build the index
        assert pending == 30 and isinstance(changed, bool)
    assert index.pending_optimize <= pending
    assert index.count() == 30
    assert index.search(vectors[7], top_k=1)[0].id == face_point("b" * 64, 7, vectors[7]).id


def test_a_vector_of_the_wrong_size_is_bad_input(index: VectorIndex) -> None:
    with pytest.raises(BadInput, match="expects 8"):
        index.upsert([face_point("a" * 64, 0, np.ones(DIM + 1, dtype=np.float32))])
    with pytest.raises(BadInput, match="expects 8"):
        index.search(np.ones(3, dtype=np.float32), top_k=1)


def test_point_ids_must_be_uuid_strings(index: VectorIndex) -> None:
    with pytest.raises(BadInput, match="not a UUID"):
        index.upsert([FacePoint("face-1", unit_vectors(1)[0], {})])


def test_health_names_backend_collection_and_size(index: VectorIndex) -> None:
    index.upsert(faces_of("a" * 64, unit_vectors(4)))

    health = index.health()

    assert health["ok"] is True
    assert health["backend"] in {"qdrant-edge", "qdrant"}
    assert health["collection"] == index.name
    assert health["points"] == 4


# ----------------------------------------------------------------------------------------------------
# The embedded engine: persistence, optimisation bookkeeping, one owner per directory.


def test_edge_reopened_after_close_keeps_points_and_payload_indexes(tmp_path: Path) -> None:
    vectors = unit_vectors(10)
    with EdgeVectorIndex(tmp_path, NAME, DIM) as first:
        first.upsert(faces_of("a" * 64, vectors))

    with EdgeVectorIndex(tmp_path, NAME, DIM) as again:
        assert again.count() == 10
        assert again.search(vectors[3], top_k=1)[0].payload["face_index"] == 3
        assert again.count({"sha256": "a" * 64}) == 10


def test_edge_keeps_one_shard_directory_per_collection(tmp_path: Path) -> None:
    with EdgeVectorIndex(tmp_path, "faces_sface_128", 128), EdgeVectorIndex(tmp_path, "faces_dlib_128", 128):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces_dlib_128", "faces_sface_128"]


def test_edge_refuses_a_collection_of_another_dimension(tmp_path: Path) -> None:
    EdgeVectorIndex(tmp_path, NAME, DIM).close()
    with pytest.raises(Unavailable, match="vector size"):
        EdgeVectorIndex(tmp_path, NAME, DIM * 2)


def test_edge_counts_points_waiting_for_optimize(tmp_path: Path) -> None:
    """New points are searched brute force until optimize(); the owner watches this number to decide when."""
    with EdgeVectorIndex(tmp_path, NAME, DIM) as idx:
        assert idx.pending_optimize == 0
        idx.upsert(faces_of("a" * 64, unit_vectors(30)))
        assert idx.pending_optimize == 30
        assert idx.health()["pending_optimize"] == 30


def test_edge_optimize_reports_whether_it_changed_anything(tmp_path: Path) -> None:
    """Deleting half the points makes the vacuum optimizer rewrite the segment; then nothing is left to do."""
    vectors = unit_vectors(2000)
    with EdgeVectorIndex(tmp_path, NAME, DIM) as idx:
        idx.upsert(faces_of("a" * 64, vectors[:1000]) + faces_of("b" * 64, vectors[1000:]))
        idx.delete_where("sha256", "a" * 64)

        assert idx.optimize() is True
        assert idx.optimize() is False
        assert idx.count() == 1000
        assert idx.search(vectors[1500], top_k=1)[0].payload["face_index"] == 500


@pytest.mark.slow
def test_edge_optimize_builds_hnsw_once_past_the_engines_indexing_threshold(tmp_path: Path) -> None:
    """Under ~10 MB of vectors (20k at 128-d) the engine stays brute force; past it optimize() builds HNSW."""
    vectors = unit_vectors(20_500, dim=128)
    with EdgeVectorIndex(tmp_path, "faces_sface_128", 128) as idx:
        idx.upsert(faces_of("a" * 64, vectors))
        assert idx.pending_optimize == 20_500

        assert idx.optimize() is True

        assert idx.pending_optimize == 0
        assert idx.health()["indexed_vectors"] == 20_500
        assert idx.search(vectors[123], top_k=1)[0].payload["face_index"] == 123


@pytest.mark.slow
def test_edge_builds_the_index_aside_while_it_keeps_serving_and_loses_no_update(tmp_path: Path) -> None:
    """optimize() freezes the process (the engine keeps the GIL), so the owner builds on a copy in a child."""
    vectors = unit_vectors(20_600, dim=128)
    with EdgeVectorIndex(tmp_path, "faces_sface_128", 128) as idx:
        idx.upsert(faces_of("a" * 64, vectors[:20_500]))
        outcome: list[bool] = []
        builder = threading.Thread(target=lambda: outcome.append(idx.optimize_aside()))
        builder.start()
        while not idx._aside("building").exists() and builder.is_alive():
            time.sleep(0.01)

        # Meanwhile this process keeps answering and accepting writes.
        served_during_build = 0
        while builder.is_alive():
            assert idx.search(vectors[7], top_k=1)[0].payload["face_index"] == 7
            served_during_build += 1
            if served_during_build == 3:
                idx.upsert(faces_of("b" * 64, vectors[20_500:], first=0))
                idx.upsert([face_point("c" * 64, 0, vectors[20_599])])
                assert idx.delete_where("sha256", "c" * 64) == 1
            time.sleep(0.02)
        builder.join()

        assert outcome == [True]
        assert served_during_build >= 3, "the build finished before we could check it kept serving"
        assert idx.health()["indexed_vectors"] >= 20_500  # the built index was swapped in
        assert idx.count() == 20_600  # the 100 'b' faces written during the build were replayed ...
        assert idx.count({"sha256": "c" * 64}) == 0  # ... and so was the delete
        assert idx.search(vectors[20_550], top_k=1)[0].payload["sha256"] == "b" * 64
        assert not idx._aside("building").exists() and not idx._aside("old").exists()


def test_edge_repairs_a_swap_interrupted_between_its_two_renames(tmp_path: Path) -> None:
    vectors = unit_vectors(3)
    with EdgeVectorIndex(tmp_path, NAME, DIM) as idx:
        idx.upsert(faces_of("a" * 64, vectors))
    (tmp_path / NAME).rename(tmp_path / f".{NAME}.old")  # the crash: live shard moved away, new one not yet in

    with EdgeVectorIndex(tmp_path, NAME, DIM) as reopened:
        assert reopened.count() == 3
    assert not (tmp_path / f".{NAME}.old").exists()


def test_edge_closed_index_is_unavailable(tmp_path: Path) -> None:
    idx = EdgeVectorIndex(tmp_path, NAME, DIM)
    idx.close()
    idx.close()  # twice is fine

    assert idx.health()["ok"] is False
    with pytest.raises(Unavailable, match="closed"):
        idx.count()


OPEN_IN_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from lookingglass.errors import DataDirBusy
from lookingglass.stores.vectors import EdgeVectorIndex
try:
    EdgeVectorIndex(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])).close()
except DataDirBusy as e:
    print("DataDirBusy:", e.message)
    sys.exit(6)
print("opened")
"""


def open_in_another_process(path: Path) -> subprocess.CompletedProcess[str]:
    src = str(Path(lookingglass.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-c", OPEN_IN_ANOTHER_PROCESS, str(path), NAME, str(DIM)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_edge_second_owner_in_another_process_gets_data_dir_busy(tmp_path: Path) -> None:
    with EdgeVectorIndex(tmp_path, NAME, DIM):
        busy = open_in_another_process(tmp_path)
        assert busy.returncode == 6, busy.stderr
        assert "open in another process" in busy.stdout

    released = open_in_another_process(tmp_path)  # close() let go of the lock
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == "opened"


def test_edge_second_open_in_the_same_process_is_busy_too(tmp_path: Path) -> None:
    """The WAL lock is per open file, not per process: even this process cannot open the directory twice."""
    with EdgeVectorIndex(tmp_path, NAME, DIM), pytest.raises(DataDirBusy):
        EdgeVectorIndex(tmp_path, NAME, DIM)


# ----------------------------------------------------------------------------------------------------
# Choosing an adapter.


def test_collection_name_keeps_each_embedders_space_apart() -> None:
    assert collection_name("sface", 128) == "faces_sface_128"
    assert collection_name("dlib", 128) != collection_name("sface", 128)


def test_without_a_qdrant_server_the_index_is_embedded_under_the_data_dir(tmp_path: Path) -> None:
    idx = open_vector_index(Settings(data_dir=tmp_path), NAME, DIM)
    try:
        assert isinstance(idx, EdgeVectorIndex)
        assert (tmp_path / "vectors" / NAME).is_dir()
    finally:
        idx.close()


def test_an_unreachable_qdrant_server_is_unavailable_and_named() -> None:
    settings = Settings(qdrant_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(Unavailable, match=r"http://127\.0\.0\.1:9"):
        open_vector_index(settings, NAME, DIM)


def test_data_dir_busy_is_an_unavailable_error() -> None:
    """Callers that handle Unavailable (HTTP 503) also handle a busy data directory."""
    assert issubclass(DataDirBusy, Unavailable)
