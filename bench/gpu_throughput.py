"""GPU vs CPU: `lookingglass ingest` images/s on the labelled photos with LG_DEVICE=cpu, then LG_DEVICE=cuda.

    python bench/gpu_throughput.py                    # the labelled photos x3, cpu then cuda, side by side
    python bench/gpu_throughput.py --repeat 10 --rounds 3 --video clip.mp4

The real pipeline, as a user runs it: one `lookingglass ingest` process per run on a fresh embedded data dir (decode,
both detectors, alignment, the embedder, the vector index), LG_INLINE_WORKERS images at once. Each row says where
each model ran (`lookingglass health` with the same settings), so a "cuda" row whose YuNet ran on the CPU says so.
`--video FILE` adds the real-time factor of one video (face tracks and speech): its duration / the ingest's wall time.

What the cuda rows need: onnxruntime-gpu (`make install-gpu`) and a GPU CTranslate2 sees. Without them the cuda row
is the refusal line (exit 9), never a CPU run under a GPU label. Target (issue 16): >= 10x the 2-core CPU images/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from ingest_throughput import default_faces_dir, labelled_images, stage  # noqa: E402


@dataclass
class Run:
    device: str
    images: int
    faces: int | None
    wall_s: float | None
    models: str
    error: str = ""

    @property
    def per_s(self) -> float | None:
        return self.images / self.wall_s if self.wall_s else None


def lookingglass(*args: str, env: dict[str, str], timeout: float = 3600) -> tuple[subprocess.CompletedProcess, float]:
    """`lookingglass ARGS` from this checkout (PYTHONPATH=src), timed from process start to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lookingglass.cli", *args],
        env={**env, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.perf_counter() - started


def bench_env(device: str, data_dir: Path, workers: int) -> dict[str, str]:
    """Embedded stores on a fresh data dir, the device asked for, nothing that selects a server."""
    drop = ("LG_", "REDIS_", "QDRANT_", "MINIO_", "S3_", "AWS_", "NEO4J_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "LG_DATA_DIR": str(data_dir), "LG_DEVICE": device, "LG_INLINE_WORKERS": str(workers)}


def where_models_run(env: dict[str, str]) -> str:
    done, _ = lookingglass("health", "--json", env=env, timeout=600)
    if done.returncode != 0:
        return ""
    report = json.loads(done.stdout).get("device") or {}
    return ", ".join(f"{name} {where}" for name, where in (report.get("models") or {}).items())


def ingest(device: str, inputs: list[Path], images: int, workdir: Path, workers: int) -> Run:
    data_dir = Path(tempfile.mkdtemp(prefix=f"data-{device}-", dir=workdir))
    env = bench_env(device, data_dir, workers)
    models = where_models_run(env)
    done, wall = lookingglass("ingest", "--json", "--quiet", *map(str, inputs), env=env)
    if done.returncode not in (0, 1):  # 1: finished, some files failed (the no-face photos are not failures)
        line = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return Run(device, images, None, None, models, f"exit {done.returncode}: {line[0]}")
    summary = json.loads(done.stdout)
    return Run(device, images, summary.get("faces"), wall, models)


def video_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


def table(runs: list[Run]) -> str:
    lines = [f"{'LG_DEVICE':<10} {'images':>7} {'faces':>6} {'wall s':>8} {'images/s':>9}  models (or why not)"]
    for run in runs:
        if run.error:
            lines.append(f"{run.device:<10} {run.images:>7} {'-':>6} {'-':>8} {'-':>9}  {run.error}")
            continue
        lines.append(
            f"{run.device:<10} {run.images:>7} {run.faces if run.faces is not None else '?':>6} "
            f"{run.wall_s:>8.1f} {run.per_s:>9.2f}  {run.models}"
        )
    return "\n".join(lines)


def median(runs: list[Run]) -> Run:
    ok = [r for r in runs if not r.error]
    if not ok:
        return runs[-1]
    return sorted(ok, key=lambda r: r.wall_s or 0)[len(ok) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=default_faces_dir(), help="the labelled photos (labels.json)")
    parser.add_argument("--repeat", type=int, default=3, help="copies of each photo (distinct bytes)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per device, alternating; the median counts")
    parser.add_argument("--workers", type=int, default=2, help="LG_INLINE_WORKERS (images at once)")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated LG_DEVICE values")
    parser.add_argument("--video", type=Path, help="also the real-time factor of this video (faces + speech)")
    args = parser.parse_args(argv)

    labels = args.faces / "labels.json"
    if not labels.is_file():
        print(f"no labelled photos at {args.faces} (--faces or LG_TEST_FACES)", file=sys.stderr)
        return 2
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    with tempfile.TemporaryDirectory(prefix="lg-gpu-bench-") as tmp:
        workdir = Path(tmp)
        known, unknown = labelled_images(labels)
        images = stage(args.faces, known + unknown, workdir / "photos", args.repeat)
        runs: dict[str, list[Run]] = {d: [] for d in devices}
        for _ in range(args.rounds):
            for device in devices:  # alternating, so a busy spell hurts both alike
                runs[device].append(ingest(device, [workdir / "photos"], images, workdir, args.workers))
        rows = [median(runs[d]) for d in devices]
        print(
            f"{images} photos ({len(known) + len(unknown)} labelled x{args.repeat}), {args.workers} at once, "
            f"median of {args.rounds} round(s)"
        )
        print(table(rows))
        cpu = next((r for r in rows if r.device == "cpu" and not r.error), None)
        for row in rows:
            if cpu is not None and row is not cpu and not row.error and row.per_s and cpu.per_s:
                print(f"{row.device} / cpu: {row.per_s / cpu.per_s:.1f}x images/s (target 10x)")
        if args.video is not None:
            duration = video_seconds(args.video)
            print(f"\nvideo {args.video.name}: {duration:.1f} s")
            for device in devices:
                run = ingest(device, [args.video], 1, workdir, args.workers)
                if run.error or not run.wall_s:
                    print(f"  {device:<8} {run.error}")
                else:
                    print(f"  {device:<8} {duration / run.wall_s:.2f}x real time ({run.wall_s:.1f} s wall)")
        if any(run.error for rs in runs.values() for run in rs):
            print("\nsome runs were refused or failed: see the rows above", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
