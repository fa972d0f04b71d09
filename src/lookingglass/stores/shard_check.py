"""Integrity of a qdrant-edge shard's files, checked before the engine maps them.

The engine trusts its files: random bytes over a vector chunk give scores of 1e37 for the wrong people, a truncated
id tracker silently drops points, a truncated chunk fails only on the first search. So we check, cheaply, on every
open:
- a manifest (`MANIFEST`) written at each clean close: every segment file's size, a BLAKE2b digest of the id trackers
  and the small files (configs, counters: the files whose damage loses points silently) and the point count. It is
  removed once the shard is open, so after a crash (no clean close) there is nothing to compare and only the
  checks below run: never a false alarm from a kill -9.
- the layout of dense vector storage: an appendable segment's chunk files must hold `count x dim x 4` bytes
  (its `status.dat` says how many vectors), an indexed segment's `matrix.dat` a whole number of vectors.
After loading, `EdgeShardIndex` reads a sample of points back (finite, unit-norm vectors; readable payloads), finds
one of them by its own vector, and compares the point count with the manifest's.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

from lookingglass.errors import CorruptStore

MANIFEST = "lookingglass-integrity.json"
# Digested: id trackers (damage there loses points silently) and small files (configs, counters). The rest (vector
# chunks, payload pages, index bitmaps: megabytes each) is covered by sizes, the read-back probes and --deep.
DIGEST_MAX_BYTES = 64 << 10
REBUILD_FIX = (
    "restore the data dir from a backup, or run `lookingglass rebuild-index` to re-derive it from the stored objects"
)
OPTOUT_FIX = "restore the data dir from a backup (the opt-out list cannot be re-derived from the stored objects)"


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def segment_files(shard: Path) -> dict[str, dict]:
    """Every file under `segments/` (the WAL is the engine's own journal and changes on every load): its size, and
    its digest when small."""
    found: dict[str, dict] = {}
    for root, _, names in os.walk(shard / "segments"):
        for name in names:
            path = Path(root) / name
            size = path.stat().st_size
            entry = {"size": size}
            if size <= DIGEST_MAX_BYTES or "id_tracker" in name:
                entry["blake2b"] = _digest(path)
            found[str(path.relative_to(shard))] = entry
    return found


def write_manifest(shard: Path, points: int) -> None:
    """After a clean close: what the next open must find."""
    body = {"version": 1, "points": points, "files": segment_files(shard)}
    tmp = shard / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(body, sort_keys=True))
    os.replace(tmp, shard / MANIFEST)


def read_manifest(shard: Path) -> dict | None:
    try:
        return json.loads((shard / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"unreadable": True}


def drop_manifest(shard: Path) -> None:
    """Once open: files change from now on, and a crash must not leave a stale manifest to accuse them."""
    (shard / MANIFEST).unlink(missing_ok=True)


def corrupt(what: str, shard: Path, problem: str, fix: str = REBUILD_FIX) -> CorruptStore:
    return CorruptStore(f"{what} {shard} is damaged: {problem}; {fix}")


def verify_files(shard: Path, what: str, fix: str = REBUILD_FIX) -> None:
    """Before loading: the manifest of the last clean close (when there is one) and the dense vector layout."""
    manifest = read_manifest(shard)
    if manifest is not None:
        if manifest.get("unreadable"):
            raise corrupt(what, shard, f"{MANIFEST} is unreadable", fix)
        for rel, expected in manifest.get("files", {}).items():
            path = shard / rel
            if not path.is_file():
                raise corrupt(what, shard, f"{rel} is missing", fix)
            size = path.stat().st_size
            if size != expected["size"]:
                raise corrupt(what, shard, f"{rel} is {size} bytes, {expected['size']} when last closed", fix)
            if "blake2b" in expected and _digest(path) != expected["blake2b"]:
                raise corrupt(what, shard, f"{rel} changed since it was last closed", fix)
    for problem in layout_problems(shard):
        raise corrupt(what, shard, problem, fix)


def layout_problems(shard: Path) -> list[str]:
    """Dense vector storage whose files cannot hold the vectors it says it has."""
    problems = []
    for config_path in sorted(shard.glob("segments/*/vector_storage*/vectors/config.json")):
        vectors = config_path.parent
        rel = vectors.relative_to(shard)
        try:
            config = json.loads(config_path.read_text())
            dim, per_chunk = int(config["dim"]), int(config["chunk_size_vectors"])
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{rel}/config.json is unreadable")
            continue
        status = vectors / "status.dat"
        if not status.is_file() or status.stat().st_size < 8:
            problems.append(f"{rel}/status.dat is missing or short")
            continue
        (count,) = struct.unpack("<Q", status.read_bytes()[:8])
        remaining, chunk = count, 0
        while remaining > 0:
            needed = min(remaining, per_chunk) * dim * 4
            path = vectors / f"chunk_{chunk}.mmap"
            size = path.stat().st_size if path.is_file() else -1
            if size < needed:
                problems.append(f"{rel}/chunk_{chunk}.mmap holds {max(size, 0)} bytes, {needed} needed for its vectors")
                break
            remaining -= per_chunk
            chunk += 1
    for matrix in sorted(shard.glob("segments/*/vector_storage/matrix.dat")):  # an indexed (immutable) segment
        try:
            segment = json.loads((matrix.parents[1] / "segment.json").read_text())
            dim = int(segment["config"]["vector_data"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a layout we do not know: the manifest and the probes still cover it
        if (matrix.stat().st_size - 4) % (dim * 4):
            problems.append(f"{matrix.relative_to(shard)} does not hold a whole number of {dim}-d vectors")
    return problems
