"""Faces into persons at N faces: the cost of assigning one more face, and of a full re-clustering.

    python bench/people_cluster.py                      # N = 10,000 and 100,000 (each in its own process)
    python bench/people_cluster.py --sizes 10000 --assign 500

For each N a fresh data folder gets an embedded App (qdrant-edge, inline queue: what `lookingglass serve` owns) whose
face index holds N synthetic 128-d unit vectors (SFace's dimension), N / 10 identities of 10 faces each, spread so
two faces of one identity score ~0.6 cosine and strangers ~0 +- 0.09 (as bench/lookup_latency.py), one photo each.
Then, timed: `people.cluster(app, full=True)` from no persons (scroll every vector, chunked exact cosine, persons
written); the same again over the persons it made (ids kept by overlap); and `--assign` more faces of known
identities, each stored and assigned as `store()` does (`faces.upsert` + `people.assign`), one photo at a time.
Pairwise precision/recall against the synthetic identities says whether the timings are of a sensible clustering.
Each N runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lookingglass import people  # noqa: E402
from lookingglass.app import build  # noqa: E402
from lookingglass.people.clustering import pairwise  # noqa: E402
from lookingglass.records import FacePoint  # noqa: E402
from lookingglass.settings import Settings  # noqa: E402

FACES_PER_IDENTITY = 10
SAME_PERSON_COSINE = 0.6
FILL_CHUNK = 5_000
NAMESPACE = uuid.UUID("5d0c5f7e-3c55-4a4e-9a55-2f4d6c0b1e11")


def face_like(rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around the given centres: cosine to each other ~SAME_PERSON_COSINE."""
    sigma = np.sqrt((1 / SAME_PERSON_COSINE - 1) / centres.shape[1])
    noisy = centres + rng.standard_normal(centres.shape).astype(np.float32) * sigma
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def face_point(i: int, vector: np.ndarray, identity: int) -> FacePoint:
    payload = {"sha256": f"{i:064x}", "kind": "image", "frame": 0, "box": [0, 0, 1, 1], "identity": identity}
    return FacePoint(id=str(uuid.uuid5(NAMESPACE, str(i))), vector=vector, payload=payload)


def one_size(n: int, assign: int, seed: int, workdir: Path) -> dict:
    app = build(Settings(data_dir=workdir, embedder="sface"))
    rng = np.random.default_rng(seed)
    dim = 128
    identities = -(-n // FACES_PER_IDENTITY)
    centres = rng.standard_normal((identities, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth: dict[str, int] = {}
    try:
        started = time.perf_counter()
        for start in range(0, n, FILL_CHUNK):
            ids = np.arange(start, min(n, start + FILL_CHUNK)) // FACES_PER_IDENTITY
            batch = [face_point(start + k, v, int(ids[k])) for k, v in enumerate(face_like(rng, centres[ids]))]
            app.faces.upsert(batch)
            truth.update({p.id: p.payload["identity"] for p in batch})
        app.faces.optimize()
        fill_s = time.perf_counter() - started

        started = time.perf_counter()
        first = people.cluster(app, full=True)
        full_s = time.perf_counter() - started
        started = time.perf_counter()
        again = people.cluster(app, full=True)
        again_s = time.perf_counter() - started

        owner = {f: number for number, p in enumerate(people.store_of(app).all()) for f in p.faces}
        scores = pairwise([owner.get(f, -1) for f in truth], list(truth.values()))

        timings, added = [], []
        known = rng.integers(0, identities, size=assign)
        for k, identity in enumerate(known):
            point = face_point(n + k, face_like(rng, centres[[identity]])[0], int(identity))
            started = time.perf_counter()
            app.faces.upsert([point])
            people.assign(app, point.payload["sha256"], [point])
            timings.append(time.perf_counter() - started)
            added.append(point.id)
        joined = sum(1 for f in added if people.store_of(app).holding_face(f) is not None)
    finally:
        app.close()
    return {
        "n": n,
        "fill_s": fill_s,
        "full_s": full_s,
        "again_s": again_s,
        "persons": first["persons"],
        "kept": again["kept"],
        "precision": scores.precision,
        "recall": scores.recall,
        "assign_ms_p50": 1000 * statistics.median(timings) if timings else None,
        "assign_ms_p95": 1000 * float(np.percentile(timings, 95)) if timings else None,
        "assigned": joined,
        "assign": assign,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def table(rows: list[dict]) -> str:
    lines = [
        f"synthetic 128-d faces, {FACES_PER_IDENTITY} per identity (same-person cosine ~{SAME_PERSON_COSINE}), "
        "embedded engine, SFace rule",
        "",
        "| faces | fill + optimize s | full re-clustering s (from none) | again s (ids kept) | persons "
        "| pairwise precision | recall | assign one face p50 ms | p95 ms | new faces that joined | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['fill_s']:.1f} | {r['full_s']:.1f} | {r['again_s']:.1f} | {r['persons']:,} "
            f"| {100 * r['precision']:.1f} % | {100 * r['recall']:.1f} % | {r['assign_ms_p50']:.1f} "
            f"| {r['assign_ms_p95']:.1f} | {r['assigned']}/{r['assign']} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="faces in the index, comma-separated")
    parser.add_argument("--assign", type=int, default=200, help="faces assigned one by one after clustering")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: one size, JSON out
    args = parser.parse_args(argv)
    if args.one:
        with tempfile.TemporaryDirectory(prefix="people-bench-") as workdir:
            print(json.dumps(one_size(args.one, args.assign, args.seed, Path(workdir))))
        return 0
    rows = []
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()):
        print(f"N = {n:,} ...", file=sys.stderr, flush=True)
        child = [sys.executable, __file__, "--one", str(n), "--assign", str(args.assign), "--seed", str(args.seed)]
        done = subprocess.run(child, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
