"""Distributed throughput: photos/s through Redis + RQ with 1 and 2 workers, and what the queue costs per job.

    python bench/queue_throughput.py                   # 80 photos with 1 and 2 workers; 200 empty jobs
    python bench/queue_throughput.py --rounds 3        # each worker count 3 times, interleaved; the median counts
    python bench/queue_throughput.py --workers 1,2,3 --photos 160 --jobs 500

Throughput: for each worker count, a fresh stack as `make stack` runs it — Debian's redis-server on a free port,
`lookingglass serve` (owner of a fresh embedded LG_DATA_DIR, consuming the `index` queue) and N
`lookingglass worker` processes, all on this machine's cores. Once every process is up (model loading is not
timed), the photos are uploaded through `POST /objects` (10 per request) and the clock runs until every one is
processed and its faces stored by the owner: upload, queue, decode/detect/embed in a worker, the `index` queue,
the upsert. Photos are the labelled set's images, cycled with a few distinct trailing bytes per copy (decoders
ignore them) so content addressing cannot skip any.

Queue overhead: one worker, an empty job (`noop` below, imported by the worker from this file) enqueued through
`RQQueue.enqueue` — the project's own path, `run_job` wrapper included — one at a time: the client's round trip
(enqueue, then poll the job's status every millisecond until it is finished) and RQ's own enqueue→end timestamps;
then the same number enqueued at once and timed until the last is done (empty jobs/s).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "tests"))  # redis_server.py: the tests' helper that starts a real Redis


def noop() -> None:
    """The empty job."""


def default_faces_dir() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the photos


def labelled_images(faces_dir: Path) -> list[Path]:
    labels = json.loads((faces_dir / "labels.json").read_text(encoding="utf-8"))
    named = [p for paths in labels.get("identities", {}).values() for p in paths]
    named += list(labels.get("group_photos", {}))
    named += list(labels.get("detection_gt_xywh", {}))
    seen: list[Path] = []
    for rel in named:
        path = faces_dir / rel
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"} and path.is_file() and path not in seen:
            seen.append(path)
    return seen


def photo_set(faces_dir: Path, count: int) -> list[tuple[str, bytes]]:
    images = labelled_images(faces_dir)
    if not images:
        raise SystemExit(f"no labelled images under {faces_dir} (set LG_TEST_FACES)")
    photos = []
    for i in range(count):
        path = images[i % len(images)]
        data = path.read_bytes()
        copy = i // len(images)
        if copy:
            data += b"\0lookingglass-bench-copy-%d\0" % copy
        photos.append((f"{copy}-{path.name}", data))
    return photos


# --- the processes


class Stack:
    """redis-server + serve + N workers in a temporary folder; everything is killed on close."""

    def __init__(self, root: Path, workers: int, worker_args: tuple[str, ...] = (), serve: bool = True) -> None:
        from redis_server import RedisServer, free_port

        self.root = root
        self.redis = RedisServer(root / "redis").start()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QDRANT_", "S3_", "MINIO_", "LG_"))}
        self.env = {
            **env,
            "LG_DATA_DIR": str(root / "data"),
            "REDIS_URL": self.redis.url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")])),
        }
        self.processes: list[tuple[str, subprocess.Popen]] = []
        try:
            if serve:
                self._spawn("serve", "serve", "--port", str(self.port))
            for i in range(workers):
                self._spawn(f"worker-{i + 1}", "worker", *worker_args)
            self._wait_ready(workers, serve)
        except BaseException:
            self.close()
            raise

    def _spawn(self, name: str, *args: str) -> None:
        with (self.root / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "lookingglass.cli", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((name, process))

    def _wait_ready(self, workers: int, serve: bool, timeout: float = 120) -> None:
        import requests
        from rq import Worker

        from lookingglass.pipeline.queue import redis_connection

        connection = redis_connection(self.redis.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise SystemExit(f"{name} exited with {process.returncode}:\n{self.logs()}")
            ours = {p.pid for name, p in self.processes if name.startswith("worker")}
            registered = {w.pid for w in Worker.all(connection=connection)}
            up = ours <= registered
            if up and serve:
                try:
                    up = requests.get(self.url + "/health", timeout=5).status_code == 200
                except requests.ConnectionError:
                    up = False
            if up:
                connection.close()
                return
            time.sleep(0.1)
        raise SystemExit(f"the stack did not start within {timeout} s:\n{self.logs()}")

    @property
    def headers(self) -> dict[str, str]:
        """The local token serve wrote to server.json: the bench calls the API as the CLI on this machine does."""
        from lookingglass.stores.ownership import read_server_info

        info = read_server_info(self.root / "data")
        assert info is not None, "serve is not running"
        return {"Authorization": f"Bearer {info.token}"}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of redis, serve and the workers (summed), from /proc."""
        ticks = os.sysconf("SC_CLK_TCK")
        pids = [("redis", self.redis.process.pid)] + [(n.split("-")[0], p.pid) for n, p in self.processes]
        out: dict[str, float] = {}
        for kind, pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return out

    def logs(self, tail: int = 30) -> str:
        out = []
        for name, _ in self.processes:
            path = self.root / f"{name}.log"
            lines = path.read_text(errors="replace").splitlines()[-tail:] if path.exists() else []
            out.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(out)

    def close(self) -> None:
        import signal

        for _, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # stragglers, RQ's scheduler children
            process.wait(10)
        self.redis.stop()


# --- throughput


@dataclass(frozen=True)
class Throughput:
    workers: int
    photos: int
    faces: int
    wall_s: float
    upload_s: float
    cpu_s: dict[str, float]  # CPU seconds each kind of process used while the clock ran


def throughput(workers: int, photos: list[tuple[str, bytes]], batch: int, timeout: float) -> Throughput:
    import requests

    with tempfile.TemporaryDirectory(prefix="lg-queue-bench-") as tmp:
        stack = Stack(Path(tmp), workers)
        try:
            log(f"{workers} worker(s): stack up, uploading {len(photos)} photos")
            cpu_before = stack.cpu_seconds()
            started = time.perf_counter()
            shas = []
            for i in range(0, len(photos), batch):
                files = [("file", (name, data)) for name, data in photos[i : i + batch]]
                response = requests.post(stack.url + "/objects", files=files, headers=stack.headers, timeout=120)
                response.raise_for_status()
                shas += [o["sha256"] for o in response.json()["objects"]]
            uploaded = time.perf_counter() - started
            expected = {hashlib.sha256(d).hexdigest() for _, d in photos}
            assert set(shas) == expected, "every photo stored under its own sha"
            while True:
                stats = requests.get(stack.url + "/queue/stats", headers=stack.headers, timeout=30).json()["queues"]
                faces, index = stats["faces"], stats["index"]
                if faces["failed"] or index["failed"]:
                    raise SystemExit(f"jobs failed: {stats}\n{stack.logs()}")
                if faces["finished"] >= len(shas) and index["finished"] >= len(shas):
                    break
                if time.perf_counter() - started > timeout:
                    raise SystemExit(f"not done after {timeout} s: {stats}\n{stack.logs()}")
                time.sleep(0.05)
            wall = time.perf_counter() - started
            cpu = {k: v - cpu_before.get(k, 0.0) for k, v in stack.cpu_seconds().items()}
            total = 0
            for sha in shas:
                record = requests.get(f"{stack.url}/objects/{sha}", headers=stack.headers, timeout=30).json()
                assert "sface" in record["metadata"].get("processed", {}), sha
                total += record["faces"]
            log(f"{workers} worker(s): {len(shas)} photos, {total} faces in {wall:.1f} s")
            return Throughput(workers, len(shas), total, wall, uploaded, cpu)
        finally:
            stack.close()


# --- queue overhead


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def overhead(jobs: int) -> dict:
    from rq.job import Job, JobStatus

    import queue_throughput  # this file, as the worker imports it: the job's path is queue_throughput.noop
    from lookingglass.pipeline.queue import RQQueue

    with tempfile.TemporaryDirectory(prefix="lg-queue-bench-") as tmp:
        stack = Stack(Path(tmp), 1, worker_args=("--queues", "faces"), serve=False)
        queue = RQQueue(stack.redis.url)
        connection = queue.connection
        try:
            log(f"queue overhead: {jobs} empty jobs one at a time, then {jobs} at once")
            for _ in range(10):  # warm up: imports in the worker, connections
                queue.enqueue("faces", queue_throughput.noop).result(timeout=30)
            round_trips, server_side = [], []
            for _ in range(jobs):
                started = time.perf_counter()
                job_id = queue.enqueue("faces", queue_throughput.noop).id
                while True:
                    status = connection.hget(f"rq:job:{job_id}", "status")
                    if status == b"finished":
                        break
                    if status == JobStatus.FAILED.value.encode():
                        raise SystemExit(f"the empty job failed:\n{stack.logs()}")
                    time.sleep(0.001)
                round_trips.append((time.perf_counter() - started) * 1000)
                job = Job.fetch(job_id, connection=connection)
                server_side.append((job.ended_at - job.enqueued_at).total_seconds() * 1000)
            started = time.perf_counter()
            burst = [queue.enqueue("faces", queue_throughput.noop) for _ in range(jobs)]
            enqueued = time.perf_counter() - started
            for handle in burst:
                handle.result(timeout=120)
            burst_s = time.perf_counter() - started
        finally:
            queue.close()
            stack.close()
    return {
        "round_trip": round_trips,
        "server_side": server_side,
        "burst_jobs_per_s": jobs / burst_s,
        "enqueue_per_s": jobs / enqueued,
    }


# --- output


def table(results: list[Throughput], cost: dict, jobs: int) -> str:
    single = next((r for r in results if r.workers == 1), None)
    lines = [
        "| workers | photos | faces | wall s | of which upload s | photos/s | faces/s | vs 1 worker "
        "| cores busy (workers / serve / redis) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        speedup = f"{(r.photos / r.wall_s) / (single.photos / single.wall_s):.2f}x" if single else "-"
        busy = {k: v / r.wall_s for k, v in r.cpu_s.items()}
        cores = f"{sum(busy.values()):.2f} ({busy.get('worker', 0):.2f} / {busy.get('serve', 0):.2f} / "
        cores += f"{busy.get('redis', 0):.2f})"
        lines.append(
            f"| {r.workers} | {r.photos} | {r.faces} | {r.wall_s:.1f} | {r.upload_s:.1f} | {r.photos / r.wall_s:.2f} "
            f"| {r.faces / r.wall_s:.2f} | {speedup} | {cores} |"
        )
    if cost:
        lines += [
            "",
            f"| queue overhead, empty job, 1 worker ({jobs} jobs) | p50 ms | mean ms | p95 ms |",
            "|---|---:|---:|---:|",
        ]
        for label, key in (
            ("round trip seen by the client (enqueue → finished)", "round_trip"),
            ("RQ's timestamps (enqueued_at → ended_at)", "server_side"),
        ):
            values = cost[key]
            lines.append(
                f"| {label} | {statistics.median(values):.2f} | {statistics.fmean(values):.2f} "
                f"| {percentile(values, 95):.2f} |"
            )
        lines += [
            "",
            f"Enqueued at once: {cost['enqueue_per_s']:.0f} enqueues/s; "
            f"all done at {cost['burst_jobs_per_s']:.0f} empty jobs/s (one worker).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated (default 1,2)")
    parser.add_argument("--photos", type=int, default=80, help="photos per run (default 80)")
    parser.add_argument("--batch", type=int, default=10, help="files per POST /objects (default 10)")
    parser.add_argument("--jobs", type=int, default=200, help="empty jobs for the overhead (default 200; 0: skip)")
    parser.add_argument("--faces-dir", type=Path, default=default_faces_dir())
    parser.add_argument("--timeout", type=float, default=600, help="seconds a run may take")
    parser.add_argument("--rounds", type=int, default=1, help="runs per worker count, interleaved; the median counts")
    args = parser.parse_args(argv)

    from redis_server import REDIS_SERVER, redis_available

    if not redis_available():
        raise SystemExit(f"redis-server not found at {REDIS_SERVER} (apt install redis-server)")
    photos = photo_set(args.faces_dir, args.photos)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    runs: dict[int, list[Throughput]] = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n in counts:
            runs[n].append(throughput(n, photos, args.batch, args.timeout))
    results = [sorted(rs, key=lambda r: r.wall_s)[len(rs) // 2] for rs in runs.values()]
    cost = overhead(args.jobs) if args.jobs else {}
    rounds = f"; median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"{os.cpu_count()} cores; {args.photos} photos, {args.batch} per upload request{rounds}\n")
    print(table(results, cost, args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
