"""Lookup latency with 4 clients, idle and while `lookingglass serve` ingests photos and videos with speech.

    python bench/lookup_under_load.py                    # 40 photos + the Hamilton clip + 3 spoken clips (~4 min)
    python bench/lookup_under_load.py --rounds 2 --photos 80 --clips 4

A real `serve` (embedded stores, the in-process queue, LG_LOOKUP_RATE=off so the clients are not throttled) on a
fresh data dir, warmed with one lookup. Each round: 4 client threads post a 640 px one-face photo to `POST /lookup`
back to back for --idle-s seconds (idle); then a folder is uploaded through `POST /objects` (10 files a request) —
labelled photos, the Hamilton clip and generated clips with a face on screen and espeak-ng speech (Whisper's work) —
and the 4 clients keep looking up until every queued job has finished (busy). Every file gets distinct trailing
bytes per round so content addressing processes each again. Prints p50/p95 of the lookups idle and busy and the
ratio busy / idle (issue 16's target: p95 within 2x of idle), and how long the ingest took.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from conftest import faces_root  # noqa: E402
from lookup_latency import photo_640  # noqa: E402  (bench/ is this script's own folder on sys.path)
from media_files import face_on_screen_video, speak  # noqa: E402
from serve_process import running_serve  # noqa: E402

CLIENTS = 4
HAMILTON = "face_recognition_ageitgey/examples/short_hamilton_clip.mp4"
QUERY = "face_recognition_ageitgey/tests/test_images/obama.jpg"
SPEECH = (
    "The committee met on Tuesday in Brussels to discuss the new harbour project. "
    "Maria Lopez, the director of the port authority, said the work would start in the spring "
    "and that three hundred people would be hired before the end of the year."
)


def make_folder(root: Path, workdir: Path, photos: int, clips: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of what is ingested: labelled photos, the Hamilton clip, spoken clips with a face on screen."""
    jpgs = sorted(p for p in root.rglob("*.jpg") if p.stat().st_size < 4_000_000)[:photos]
    files = [(p.name, p.read_bytes()) for p in jpgs]
    if (root / HAMILTON).is_file():
        files.append(("hamilton.mp4", (root / HAMILTON).read_bytes()))
    faces = [p for p in jpgs if "obama" in p.name or "biden" in p.name] or jpgs
    for i in range(clips):
        audio = speak(SPEECH, workdir / f"speech{i}.wav")
        clip = face_on_screen_video(workdir / f"clip{i}.mp4", faces[i % len(faces)], before=1, during=8, audio=audio)
        files.append((clip.name, clip.read_bytes()))
    return files


def busy_jobs(url: str, auth: dict) -> int:
    stats = requests.get(f"{url}/queue/stats", headers=auth, timeout=60).json()
    return sum(q["queued"] + q["started"] + q["deferred"] for q in stats["queues"].values())


def lookups(url: str, auth: dict, photo: bytes, until: threading.Event, out: list[float]) -> None:
    while not until.is_set():
        started = time.perf_counter()
        answer = requests.post(f"{url}/lookup", files={"image": ("q.jpg", photo)}, headers=auth, timeout=300)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code == 200:
            out.append(elapsed)
        else:
            print(f"lookup answered {answer.status_code}: {answer.text[:200]}", file=sys.stderr)


def clients(url: str, auth: dict, photo: bytes, stop: threading.Event) -> tuple[list[threading.Thread], list[float]]:
    out: list[float] = []
    threads = [threading.Thread(target=lookups, args=(url, auth, photo, stop, out)) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads, out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--clips", type=int, default=3, help="generated clips with speech (about 12 s each)")
    parser.add_argument("--idle-s", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for serve (repeatable)")
    args = parser.parse_args()
    root = faces_root()
    env = {"LG_LOOKUP_RATE": "off", **dict(e.split("=", 1) for e in args.env)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="lg-under-load-") as tmp:
        files = make_folder(root, Path(tmp), args.photos, args.clips)
        photo = photo_640(root / QUERY)
        with running_serve(Path(tmp) / "data", Path(tmp) / "serve.log", env) as (info, _process):
            auth = {"Authorization": f"Bearer {info.token}"}
            requests.post(f"{info.url}/lookup", files={"image": ("q.jpg", photo)}, headers=auth, timeout=300)
            for round_ in range(args.rounds):
                stop = threading.Event()
                threads, idle = clients(info.url, auth, photo, stop)
                time.sleep(args.idle_s)
                stop.set()
                for t in threads:
                    t.join()

                stop = threading.Event()
                threads, busy = clients(info.url, auth, photo, stop)
                started = time.perf_counter()
                tail = f"\n<!-- round {round_} -->".encode() if round_ else b""  # a fresh data dir needs none
                for start in range(0, len(files), 10):
                    batch = [("file", (name, data + tail)) for name, data in files[start : start + 10]]
                    answer = requests.post(f"{info.url}/objects", files=batch, headers=auth, timeout=600)
                    answer.raise_for_status()
                while busy_jobs(info.url, auth):
                    time.sleep(1)
                ingest_s = time.perf_counter() - started
                stop.set()
                for t in threads:
                    t.join()
                rows.append((idle, busy, ingest_s))
                print(
                    f"round {round_}: idle p95 {pct(idle, 95):.0f} ms, busy p95 {pct(busy, 95):.0f} ms, "
                    f"ingest {ingest_s:.0f} s",
                    file=sys.stderr,
                )
            log = (Path(tmp) / "serve.log").read_text()
    videos = sum(1 for name, _ in files if name.endswith(".mp4"))
    print(f"{CLIENTS} lookup clients; ingest of {len(files) - videos} photos and {videos} videos (with speech)")
    print()
    print(
        "| round | idle lookups | idle p50 ms | idle p95 ms | busy lookups | busy p50 ms | busy p95 ms "
        "| p50 ratio | p95 ratio | ingest s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, (idle, busy, ingest_s) in enumerate(rows):
        print(
            f"| {i} | {len(idle)} | {pct(idle, 50):.0f} | {pct(idle, 95):.0f} | {len(busy)} | {pct(busy, 50):.0f} "
            f"| {pct(busy, 95):.0f} | {pct(busy, 50) / pct(idle, 50):.2f}x | {pct(busy, 95) / pct(idle, 95):.2f}x "
            f"| {ingest_s:.0f} |"
        )
    if len(rows) > 1:
        ratios = [pct(b, 95) / pct(i, 95) for i, b, _ in rows]
        print(f"\nmedian p95 ratio over {len(rows)} rounds: {statistics.median(ratios):.2f}x")
    errors = [line for line in log.splitlines() if "Traceback" in line or "ERROR" in line]
    if errors:
        print(f"\nserve logged {len(errors)} error lines, first: {errors[0][:200]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
