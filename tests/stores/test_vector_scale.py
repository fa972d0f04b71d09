"""Scale settings of the face index (issue 16): int8 scalar quantization on both adapters, and the shard / replica /
write-consistency layout a Qdrant server collection is created with.

Quantization only touches segments the engine has optimized (HNSW built), so the search test fills enough
background faces to pass the engine's ~10 MB indexing threshold and optimizes before comparing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from lookingglass.errors import BadInput
from lookingglass.media.decode import decode_image
from lookingglass.records import FacePoint, Hit
from lookingglass.settings import Settings
from lookingglass.stores.vectors import (
    CollectionLayout,
    EdgeVectorIndex,
    QdrantServerIndex,
    collection_name,
    open_vector_index,
)
from qdrant_server import scratch_collection

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DIM = 128
NAME = collection_name("sface", DIM)
BACKGROUND = 24_000  # 12 MB of float32 vectors: above the engine's indexing threshold, so optimize() quantizes
SAME_PERSON = 0.4  # above every stranger here (synthetic faces score 0 ± 0.09 against real ones)
SAMPLES = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg")


def background_faces(n: int, seed: int = 7) -> list[FacePoint]:
    """Synthetic strangers: identities as random centres with 8 noisy faces each, as bench/vector_scale.py makes."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 8 + 1, DIM)).astype(np.float32)
    v = np.repeat(centres, 8, axis=0)[:n] + 1.1 * rng.standard_normal((n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return [FacePoint(str(uuid.UUID(int=i + 1)), v[i], {"sha256": f"bg{i // 8}"}) for i in range(n)]


@pytest.fixture(scope="module")
def sample_faces(test_images: Path, models) -> list[FacePoint]:
    """Every face the embedder finds in the sample photos, with its photo's name."""
    points = []
    for name in SAMPLES:
        for i, face in enumerate(models.find_faces(decode_image((test_images / name).read_bytes()).rgb)):
            point_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}"))
            points.append(FacePoint(point_id, face.embedding, {"sha256": name}))
    assert len(points) >= len(SAMPLES)
    return points


def test_a_new_edge_collection_is_created_int8_and_keeps_it_when_reopened(tmp_path: Path):
    with EdgeVectorIndex(tmp_path, NAME, DIM, quantization="int8") as index:
        assert index.quantization == "int8"
        assert index.health()["quantization"] == "int8"
    with EdgeVectorIndex(tmp_path, NAME, DIM) as reopened:  # the setting changed back: the collection keeps int8
        assert reopened.quantization == "int8"
    with EdgeVectorIndex(tmp_path, "faces_plain_128", DIM) as plain:
        assert plain.health()["quantization"] == "none"
    with EdgeVectorIndex(tmp_path, "faces_plain_128", DIM, quantization="int8") as still_plain:
        assert still_plain.quantization == "none"  # existing collections keep their config: rebuild-index changes it


def test_open_vector_index_applies_the_setting(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, vector_quantization="int8")
    index = open_vector_index(settings, NAME, DIM)
    try:
        assert index.health()["quantization"] == "int8"
    finally:
        index.close()


def test_an_unknown_quantization_is_refused(tmp_path: Path):
    with pytest.raises(BadInput, match="int4"):
        EdgeVectorIndex(tmp_path, NAME, DIM, quantization="int4")
    with pytest.raises(BadInput, match="int4"):
        QdrantServerIndex(QdrantClient(":memory:"), NAME, DIM, CollectionLayout(quantization="int4"))


def test_int8_finds_the_same_top_match_for_every_sample_face(tmp_path: Path, sample_faces: list[FacePoint]):
    background = background_faces(BACKGROUND)
    found: dict[str, list[list[Hit]]] = {}
    for quantization in ("none", "int8"):
        with EdgeVectorIndex(tmp_path / quantization, NAME, DIM, quantization=quantization) as index:
            index.upsert(background)
            index.upsert(sample_faces)
            index.optimize()
            assert index.pending_optimize == 0  # every point is in an HNSW (and, for int8, quantized) segment
            codes = list((tmp_path / quantization).rglob("quantized.data"))  # the engine's int8 codes
            assert bool(codes) == (quantization == "int8")
        # reopened: the open-time check searches the quantized segment too (int8 scores alone can exceed 1)
        with EdgeVectorIndex(tmp_path / quantization, NAME, DIM) as index:
            found[quantization] = [index.search(face.vector, top_k=5) for face in sample_faces]
    for plain, quantized, face in zip(found["none"], found["int8"], sample_faces, strict=True):
        assert quantized[0].id == plain[0].id == face.id
        if plain[1].score >= SAME_PERSON:  # another photo of the person: found first by both
            assert quantized[1].id == plain[1].id, face.payload["sha256"]


def test_settings_for_the_server_layout_are_checked():
    settings = Settings.from_env(
        {
            "LG_VECTOR_QUANTIZATION": "INT8",
            "LG_QDRANT_SHARDS": "6",
            "LG_QDRANT_REPLICAS": "3",
            "LG_QDRANT_WRITE_CONSISTENCY": "2",
        }
    )
    assert (settings.vector_quantization, settings.qdrant_shards) == ("int8", 6)
    assert (settings.qdrant_replicas, settings.qdrant_write_consistency) == (3, 2)
    assert Settings.from_env({}).vector_quantization == "none"
    for env, message in [
        ({"LG_VECTOR_QUANTIZATION": "int4"}, "LG_VECTOR_QUANTIZATION='int4' is not valid: expected none or int8"),
        ({"LG_QDRANT_SHARDS": "0"}, "LG_QDRANT_SHARDS='0' is not valid"),
        ({"LG_QDRANT_REPLICAS": "two"}, "LG_QDRANT_REPLICAS='two' is not valid"),
        ({"LG_QDRANT_WRITE_CONSISTENCY": "2"}, "expected a whole number from 1 to the replicas"),
    ]:
        with pytest.raises(BadInput, match=message.replace("(", r"\(")):
            Settings.from_env(env)


def test_the_server_collection_is_created_with_the_configured_layout():
    """Sharding and replication need a real server (qdrant-client's local mode drops them): QDRANT_URL, else skip."""
    layout = CollectionLayout(quantization="int8", shards=2, replicas=1, write_consistency=1)
    with scratch_collection(NAME) as (client, name):
        index = QdrantServerIndex(client, name, DIM, layout)
        params = client.get_collection(name).config.params
        assert (params.shard_number, params.replication_factor, params.write_consistency_factor) == (2, 1, 1)
        assert params.vectors.on_disk is True  # the originals, for rescoring
        assert index.quantization == "int8"
        index.upsert([FacePoint(str(uuid.UUID(int=1)), np.ones(DIM, np.float32), {"sha256": "a"})])
        assert [h.id for h in index.search(np.ones(DIM, np.float32), top_k=1)] == [str(uuid.UUID(int=1))]


def test_the_local_server_api_accepts_the_layout_and_searches():
    """qdrant-client's in-process mode takes the same create call (it ignores sharding and quantization)."""
    layout = CollectionLayout(quantization="int8", shards=3, replicas=2, write_consistency=2)
    index = QdrantServerIndex(QdrantClient(":memory:"), NAME, DIM, layout)
    try:
        point = FacePoint(str(uuid.UUID(int=1)), np.ones(DIM, np.float32), {"sha256": "a"})
        index.upsert([point])
        assert [h.id for h in index.search(np.ones(DIM, np.float32), top_k=1)] == [point.id]
    finally:
        index.close()
