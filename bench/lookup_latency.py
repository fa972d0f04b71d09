"""Lookup latency at N indexed faces: a real photo in, matches out, on the embedded index (qdrant-edge).

    python bench/lookup_latency.py                          # N = 10,000 and 100,000
    python bench/lookup_latency.py --sizes 1000000          # optional: building HNSW at 1M took ~17 min on 2 cores

For each N the embedded index (`EdgeVectorIndex`, the one `lookingglass serve` owns) is filled with N synthetic
face-like unit vectors: identities are random centres with a few noisy faces each, spread so two faces of one
identity score ~0.6 cosine and strangers ~0 +- 0.09, as real embeddings do. The query photo's own face is planted
too (with noisy siblings), so every lookup has true matches to find. Then `optimize()` builds HNSW and a lookup is
timed end to end, as `POST /lookup` runs it minus HTTP: decode the JPEG bytes, detect, align and embed every face,
search each face (top 10, the embedder's threshold). The search alone is timed too, before and after optimize().
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lookingglass.media.decode import decode_image  # noqa: E402
from lookingglass.records import FacePoint  # noqa: E402
from lookingglass.stores.vectors import EdgeVectorIndex, collection_name  # noqa: E402
from lookingglass.vision.faces import FaceModels  # noqa: E402

FACES_PER_IDENTITY = 8
SAME_PERSON_COSINE = 0.6  # typical same-person score for SFace on the labelled photos (0.44-0.9 measured)
FILL_CHUNK = 10_000
NAMESPACE = uuid.UUID("1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed")
DEFAULT_PHOTO = "face_recognition_ageitgey/tests/test_images/obama.jpg"


def default_faces_dir() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


def photo_640(path: Path) -> bytes:
    """The photo as JPEG bytes with its longest side 640 px: what a phone upload to /lookup is often shrunk to."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.thumbnail((640, 640), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def face_like(rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around the given centres: cosine to each other ~SAME_PERSON_COSINE."""
    dim = centres.shape[1]
    # cos(a, b) ~ 1 / (1 + dim * sigma^2) for two noisy copies of one unit centre.
    sigma = np.sqrt((1 / SAME_PERSON_COSINE - 1) / dim)
    noisy = centres + rng.standard_normal(centres.shape).astype(np.float32) * sigma
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def points(vectors: np.ndarray, start: int, identity_of: np.ndarray) -> list[FacePoint]:
    return [
        FacePoint(
            id=str(uuid.uuid5(NAMESPACE, str(start + i))),
            vector=v,
            payload={"sha256": f"{start + i:064x}", "kind": "image", "identity": int(identity_of[i])},
        )
        for i, v in enumerate(vectors)
    ]


def fill(index: EdgeVectorIndex, n: int, query: np.ndarray, seed: int) -> None:
    """N points: the query's identity (FACES_PER_IDENTITY faces around its embedding) and random identities."""
    rng = np.random.default_rng(seed)
    dim = index.dim
    planted = face_like(rng, np.repeat(query[None], FACES_PER_IDENTITY, axis=0))
    index.upsert(points(planted, 0, np.full(len(planted), -1)))
    done = len(planted)
    while done < n:
        size = min(FILL_CHUNK, n - done)
        identities = -(-size // FACES_PER_IDENTITY)
        centres = np.repeat(unit(rng, identities, dim), FACES_PER_IDENTITY, axis=0)[:size]
        identity_of = np.repeat(np.arange(identities) + done, FACES_PER_IDENTITY)[:size]
        index.upsert(points(face_like(rng, centres), done, identity_of))
        done += size


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


@dataclass(frozen=True)
class Result:
    n: int
    fill_s: float
    optimize_s: float
    search_before_ms: tuple[float, ...]
    total_ms: tuple[float, ...]
    search_ms: tuple[float, ...]
    planted_found: float  # share of query faces whose top hit is a planted face of the same person


def time_search(index: EdgeVectorIndex, vectors: list[np.ndarray], threshold: float, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        for v in vectors:
            started = time.perf_counter()
            index.search(v, top_k=10, threshold=threshold)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure(n: int, models: FaceModels, photo: bytes, queries: int, workdir: Path, seed: int) -> Result:
    embedder = models.embedder
    query_faces = models.find_faces(decode_image(photo).rgb)
    if not query_faces:
        raise SystemExit("no face found in the query photo: pass --photo with a one-face photo")
    vectors = [f.embedding for f in query_faces]
    index = EdgeVectorIndex(workdir / f"n{n}", collection_name(embedder.name, embedder.dim), embedder.dim)
    try:
        started = time.perf_counter()
        fill(index, n, vectors[0], seed)
        fill_s = time.perf_counter() - started
        before = time_search(index, vectors, embedder.default_threshold, max(1, queries // len(vectors)))
        started = time.perf_counter()
        index.optimize()
        optimize_s = time.perf_counter() - started

        total, search, planted = [], [], []
        for i in range(queries + 3):  # 3 warm-up lookups are not counted
            started = time.perf_counter()
            faces = models.find_faces(decode_image(photo).rgb)
            search_started = time.perf_counter()
            hits = [index.search(f.embedding, top_k=10, threshold=embedder.default_threshold) for f in faces]
            done = time.perf_counter()
            if i >= 3:
                total.append((done - started) * 1000)
                search.append((done - search_started) * 1000)
                best = hits[0][0] if hits and hits[0] else None
                planted.append(best is not None and best.payload.get("identity") == -1)
        return Result(
            n=n,
            fill_s=fill_s,
            optimize_s=optimize_s,
            search_before_ms=tuple(before),
            total_ms=tuple(total),
            search_ms=tuple(search),
            planted_found=sum(planted) / len(planted) if planted else 0.0,
        )
    finally:
        index.close()


def table(results: list[Result], embedder: str, faces_in_photo: int) -> str:
    lines = [
        f"embedder {embedder}, {faces_in_photo} face(s) in the 640 px query photo, top 10 per face",
        "",
        "| faces indexed | fill s | optimize s | search p50 ms (before optimize) | lookup p50 ms | lookup p95 ms "
        "| search p50 ms | search p95 ms | top hit is the person |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.n:,} | {r.fill_s:.1f} | {r.optimize_s:.1f} | {statistics.median(r.search_before_ms):.2f} "
            f"| {percentile(list(r.total_ms), 50):.1f} | {percentile(list(r.total_ms), 95):.1f} "
            f"| {percentile(list(r.search_ms), 50):.2f} | {percentile(list(r.search_ms), 95):.2f} "
            f"| {100 * r.planted_found:.0f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="faces to index, comma-separated")
    parser.add_argument("--queries", type=int, default=50, help="timed lookups per size (default 50)")
    parser.add_argument("--embedder", default="sface", choices=["sface", "dlib"])
    parser.add_argument("--photo", type=Path, default=None, help=f"query photo (default {DEFAULT_PHOTO})")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the indexes go (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    photo_path = args.photo or default_faces_dir() / DEFAULT_PHOTO
    if not photo_path.is_file():
        print(f"query photo {photo_path} not found: pass --photo or set LG_TEST_FACES", file=sys.stderr)
        return 2
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    photo = photo_640(photo_path)
    models = FaceModels.create(embedder=args.embedder)
    models.load()
    faces_in_photo = len(models.find_faces(decode_image(photo).rgb))

    results = []
    with tempfile.TemporaryDirectory(prefix="lg-lookup-bench-", dir=args.data_dir) as tmp:
        for n in sizes:
            print(f"filling {n:,} faces ...", file=sys.stderr)
            results.append(measure(n, models, photo, args.queries, Path(tmp), args.seed))
            print(table(results[-1:], models.embedder.name, faces_in_photo).splitlines()[-1], file=sys.stderr)
    print(table(results, models.embedder.name, faces_in_photo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
