"""Recall@10, search latency and memory of the embedded face index with and without int8 quantization.

    python bench/vector_scale.py                          # N = 100,000 and 300,000, none and int8 (~10 min, 2 cores)
    python bench/vector_scale.py --sizes 1000000          # the HNSW build alone takes ~11-17 min per run at 1M
    python bench/vector_scale.py --sizes 20000 --queries 50   # a quick look

Each (N, quantization) is built in one process and measured in another, so RSS belongs to that index alone. It fills
an `EdgeVectorIndex` (what `lookingglass serve` owns) with N synthetic 128-d unit vectors clustered like faces
(identities as random centres with 8 noisy faces each: one person's faces ~0.6 cosine, strangers ~0 ± 0.09), a
payload per face as ingestion writes it, builds the HNSW index (`optimize()`), closes it, and computes the exact top
10 for each query with numpy. A fresh process notes its RSS, opens the index and runs the queries (a new noisy
face of a random identity each) through `search(top_k=10)` twice: the first pass warms the pages a search touches,
the second is timed. recall@10 = |ANN top 10 ∩ exact top 10| / 10, averaged; same-person recall counts only the
query identity's own faces among the exact top 10 (the matches a lookup is for; the rest of the top 10 are
strangers at noise level, ~0.1 cosine, which any HNSW graph finds only approximately in 128-d random data).

Memory: a third process opens the index and searches; "index RSS" is its RSS after the timed pass minus its RSS
before opening (anonymous and file-backed pages split: file pages are page cache the kernel can reclaim and
re-read; anonymous ones it cannot); "disk" is the shard directory's size. Bytes per face = those over N; both include
fixed costs (WAL files, preallocated pages), so the README's per-million figures use the difference between sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

DIM = 128
NAME = "faces_sface_128"
PER_IDENTITY = 8
NOISE = 1.1  # two faces of one identity ~0.6 cosine, strangers ~0 ± 0.09 (as bench/lookup_latency.py)


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // PER_IDENTITY + 1, DIM)).astype(np.float32)
    v = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):  # in chunks: one 1M x 128 float32 noise array is 512 MB
        stop = min(n, start + 100_000)
        idx = np.arange(start, stop) // PER_IDENTITY
        v[start:stop] = centres[idx] + NOISE * rng.standard_normal((stop - start, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def queries_for(n: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """New faces of existing identities (same centres as `clustered`, fresh noise), and those identities."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // PER_IDENTITY + 1, DIM)).astype(np.float32)
    pick = np.random.default_rng(seed + 1).integers(0, n // PER_IDENTITY, count)
    q = centres[pick] + NOISE * np.random.default_rng(seed + 2).standard_normal((count, DIM)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True), pick


def rss() -> dict[str, int]:
    """This process's resident memory in bytes: total, anonymous, file-backed (from /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build(n: int, quantization: str, count: int, seed: int, folder: Path) -> dict:
    """Fill and optimize the index under `folder`, and save the queries with their exact top 10 beside it."""
    from lookingglass.records import FacePoint
    from lookingglass.stores.vectors import EdgeVectorIndex

    vectors = clustered(n, seed)
    index = EdgeVectorIndex(folder, NAME, DIM, quantization=quantization)
    started = time.perf_counter()
    for start in range(0, n, 10_000):
        index.upsert(
            [
                FacePoint(str(uuid.UUID(int=i + 1)), vectors[i], {"sha256": f"{i // 3:064x}", "kind": "image"})
                for i in range(start, min(n, start + 10_000))
            ]
        )
    fill_s = time.perf_counter() - started
    started = time.perf_counter()
    index.optimize()
    optimize_s = time.perf_counter() - started
    index.close()
    queries, identities = queries_for(n, count, seed)
    exact = np.stack([np.argsort(-(vectors @ q))[:10] for q in queries])
    np.savez(folder / "queries.npz", queries=queries, exact=exact, identities=identities)
    return {"fill_s": round(fill_s, 1), "optimize_s": round(optimize_s, 1)}


def measure(folder: Path) -> dict:
    """In a fresh process: RSS before and after opening the index and searching, recall@10, latency."""
    from lookingglass.stores.vectors import EdgeVectorIndex

    saved = np.load(folder / "queries.npz")
    queries, exact, identities = saved["queries"], saved["exact"], saved["identities"]
    before = rss()
    index = EdgeVectorIndex(folder, NAME, DIM)
    for q in queries:  # warm: what a search touches comes into memory
        index.search(q, top_k=10)
    timings, recall, matches = [], [], []
    for q, truth, identity in zip(queries, exact, identities, strict=True):
        started = time.perf_counter()
        hits = index.search(q, top_k=10)
        timings.append((time.perf_counter() - started) * 1000)
        found = {int(uuid.UUID(h.id)) - 1 for h in hits}
        recall.append(len(found & set(truth.tolist())) / 10)
        same = {int(i) for i in truth if i // PER_IDENTITY == identity}  # the person's own faces in the exact top 10
        matches.append(len(found & same) / len(same) if same else 1.0)
    after = rss()
    health = index.health()
    index.close()
    return {
        "quantization": health["quantization"],
        "indexed": health["indexed_vectors"],
        "recall_at_10": round(float(np.mean(recall)), 4),
        "match_recall": round(float(np.mean(matches)), 4),
        "p50_ms": round(float(np.percentile(timings, 50)), 2),
        "p95_ms": round(float(np.percentile(timings, 95)), 2),
        "process_rss": after["VmRSS"],
        "index_rss": after["VmRSS"] - before["VmRSS"],
        "index_rss_anon": after["RssAnon"] - before["RssAnon"],
        "index_rss_file": after["RssFile"] - before["RssFile"],
        "disk": disk_bytes(folder / NAME),
    }


def child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-400:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_one(n: int, quantization: str, count: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lg-vector-scale-") as tmp:
        built = child("--build", str(n), quantization, tmp, "--queries", str(count), "--seed", str(seed))
        return {"n": n, **built, **child("--measure", tmp)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--quantizations", default="none,int8")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--build", nargs=3, metavar=("N", "QUANTIZATION", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        n, quantization, folder = args.build
        print(json.dumps(build(int(n), quantization, args.queries, args.seed, Path(folder))))
        return 0
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    mb = 1024 * 1024
    print(
        "| faces | quantization | fill s | optimize s | recall@10 | same-person recall | search p50 ms | p95 ms "
        "| index RSS MB (anon / file) | bytes/face in RAM | disk MB | bytes/face on disk |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        for quantization in args.quantizations.split(","):
            try:
                r = run_one(n, quantization, args.queries, args.seed)
            except RuntimeError as e:
                print(f"| {n:,} | {quantization} | failed: {e} |", flush=True)
                continue
            print(
                f"| {n:,} | {r['quantization']} | {r['fill_s']} | {r['optimize_s']} | {r['recall_at_10']:.4f} "
                f"| {r['match_recall']:.4f} "
                f"| {r['p50_ms']} | {r['p95_ms']} | {r['index_rss'] / mb:.0f} ({r['index_rss_anon'] / mb:.0f} / "
                f"{r['index_rss_file'] / mb:.0f}) | {r['index_rss'] / n:.0f} | {r['disk'] / mb:.0f} "
                f"| {r['disk'] / n:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
