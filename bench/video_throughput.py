"""Video throughput: real-time factor (video seconds / processing seconds) of the video pipeline, and peak RSS.

    python bench/video_throughput.py                      # Hamilton clip + generated 360p and 720p clips (~3 min)
    python bench/video_throughput.py --seconds 60 --rounds 3 --cpus 0,1

Clips: face_recognition's `short_hamilton_clip.mp4` from the labelled set (640x360, 30 fps, people on a stage,
with its sound track), and two generated from it with PyAV: its frames and sound looped to `--seconds`, encoded as
H.264 at 640x360 and 1280x720 (30 fps, AAC). Each clip is run twice: "faces" (a copy without the sound track, so
only the faces stage runs) and "faces + speech" (faces, then Whisper over the sound track).

Each case runs in its own process pinned to `--cpus`, on a fresh embedded data dir, exactly as the `video` job does
(`ingest_file`: store, sample frames at LG_VIDEO_FPS, detect + embed, track, thumbnails, transcribe, index). Models
are loaded before the clock starts (their load time is printed apart); peak RSS is that process's, models included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = "face_recognition_ageitgey/examples/short_hamilton_clip.mp4"
TARGET = 2.0  # 360p, faces + speech, 2 cores


def default_faces_dir() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


# --- the clips


def remux_without_audio(source: Path, target: Path) -> Path:
    """The same video stream, no sound track (packets copied, nothing re-encoded)."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = copy
            out.mux(packet)
    return target


def generated_clip(source: Path, target: Path, height: int, seconds: float) -> Path:
    """`source`'s frames and sound looped to `seconds`, H.264 at `height` lines (16:9), 30 fps, AAC mono 16 kHz."""
    import av
    import numpy as np

    from lookingglass.media.audio import extract_audio

    with av.open(str(source)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    sound = extract_audio(source)  # 16 kHz mono float32
    width = round(height * 16 / 9 / 2) * 2
    fps, rate = 30, 16_000
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast"}
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frames[index % len(frames)], format="rgb24")
            frame = frame.reformat(width=width, height=height, format="yuv420p")
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode())
        looped = np.resize(sound, round(seconds * rate)).astype(np.float32)
        step = audio.codec_context.frame_size or 1024
        for start in range(0, len(looped), step):
            samples = looped[start : start + step].reshape(1, -1)
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = rate
            chunk.pts = start
            chunk.time_base = Fraction(1, rate)
            out.mux(audio.encode(chunk))
        out.mux(audio.encode())
    return target


# --- one case, in its own process


def run_case(path: Path) -> dict:
    """Ingest one video on a fresh data dir in this process; models loaded first, then the clock runs."""
    sys.path.insert(0, str(REPO / "src"))
    from lookingglass.app import build
    from lookingglass.media.video import probe
    from lookingglass.pipeline.submit import ingest_file
    from lookingglass.settings import Settings

    info = probe(path)
    with tempfile.TemporaryDirectory(prefix="lg-video-bench-") as data_dir:
        app = build(Settings.from_env({**os.environ, "LG_DATA_DIR": data_dir}), role="bench")
        try:
            started = time.perf_counter()
            app.models.load()
            if info.has_audio:
                app.transcriber.load()
            loaded = time.perf_counter() - started
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = ingest_file(app, path)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
        finally:
            app.close()
    return {
        "duration": info.duration,
        "width": info.width,
        "height": info.height,
        "has_audio": info.has_audio,
        "faces": result.get("faces"),
        "load_s": loaded,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(path: Path, cpus: set[int]) -> dict:
    command = [sys.executable, __file__, "--one", str(path)]
    done = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpus), check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{path.name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, default=default_faces_dir(), help="folder with labels.json")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the generated clips (default 30)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each case; the median counts")
    parser.add_argument("--cpus", default="0,1", help="CPU ids the runs are pinned to (default 0,1)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one)))
        return
    source = args.faces / CLIP
    if not source.is_file():
        raise SystemExit(f"{source} not found (set LG_TEST_FACES or --faces)")
    cpus = {int(c) for c in args.cpus.split(",")} & os.sched_getaffinity(0)
    sys.path.insert(0, str(REPO / "src"))
    with tempfile.TemporaryDirectory(prefix="lg-video-clips-") as folder:
        work = Path(folder)
        print("making clips ...", file=sys.stderr)
        clips = {
            "hamilton clip (640x360)": source,
            "generated 360p": generated_clip(source, work / "g360.mp4", 360, args.seconds),
            "generated 720p": generated_clip(source, work / "g720.mp4", 720, args.seconds),
        }
        rows = []
        for name, path in clips.items():
            silent = remux_without_audio(path, work / f"{path.stem}-silent.mp4")
            for mode, clip in (("faces", silent), ("faces + speech", path)):
                runs = []
                for round_ in range(args.rounds):
                    print(f"{name}, {mode}, round {round_ + 1} ...", file=sys.stderr)
                    runs.append(measure(clip, cpus))
                runs.sort(key=lambda r: r["wall_s"])
                rows.append((name, mode, runs[len(runs) // 2], statistics.median(r["wall_s"] for r in runs)))
    print(f"pinned to CPUs {sorted(cpus)}; LG_VIDEO_FPS={os.environ.get('LG_VIDEO_FPS', '3 (default)')}\n")
    header = "clip | mode | video s | faces | processing s | real-time factor | CPU s | video s per CPU s"
    print(f"| {header} | cores busy | model load s | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, mode, run, wall in rows:
        factor = run["duration"] / wall if wall else float("nan")
        print(
            f"| {name} | {mode} | {run['duration']:.1f} | {run['faces']} | {wall:.1f} | {factor:.2f}x"
            f" | {run['cpu_s']:.1f} | {run['duration'] / run['cpu_s']:.2f} | {run['cpu_s'] / wall:.2f}"
            f" | {run['load_s']:.1f} | {run['peak_rss_mb']:.0f} |"
        )
    print(f"\ntarget: 360p, faces + speech, at least {TARGET:.0f}x real time on 2 cores")


if __name__ == "__main__":
    main()
