"""Ingest throughput: `lookingglass ingest` against face_recognition 1.3.0's CLI, same photos, same cores.

    python bench/ingest_throughput.py                 # the labelled photos x3, each tool once, side by side
    python bench/ingest_throughput.py --rounds 3      # each tool 3 times, interleaved; the median run counts
    python bench/ingest_throughput.py --install-fr    # make bench/.venv-fr with face_recognition 1.3.0 first

Both tools see the same image files: a `known` folder with one photo per identity and an `unknown` folder with
every other image the labels name. face_recognition encodes the known faces then checks every unknown image
against them (`face_recognition --cpus N KNOWN UNKNOWN`); lookingglass stores and indexes both folders
(`lookingglass ingest KNOWN UNKNOWN`, embedded mode, a fresh LG_DATA_DIR). Each process is pinned to the same
CPUs. Wall time includes process start and model loading, as a user would see it.

Copies made by --repeat get a few distinct bytes after the image data (decoders ignore them), so lookingglass's
content-hash deduplication cannot skip them: every copy is really processed by both tools.

Target: lookingglass (SFace) at least 4x face_recognition's images/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FR_VENV = REPO / "bench" / ".venv-fr"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}  # all that face_recognition's CLI reads from a folder
TARGET = 4.0
INSTALL_FR = [
    f"python3 -m venv {FR_VENV.relative_to(REPO)}",
    f"{FR_VENV.relative_to(REPO)}/bin/pip install dlib-bin face-recognition-models click Pillow numpy",
    f"{FR_VENV.relative_to(REPO)}/bin/pip install --no-deps face_recognition==1.3.0",
]


def default_faces_dir() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


# --- the photos


def labelled_images(labels_path: Path) -> tuple[list[str], list[str]]:
    """(known, unknown) relative paths: the first photo of each identity, then every other image named."""
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    known = [paths[0] for _, paths in sorted(labels.get("identities", {}).items()) if paths]
    named = [p for paths in labels.get("identities", {}).values() for p in paths]
    named += list(labels.get("group_photos", {}))
    named += [entry.split(" ", 1)[0] for entry in labels.get("no_face", [])]
    named += list(labels.get("detection_gt_xywh", {}))
    unknown: list[str] = []
    for path in named:
        if Path(path).suffix.lower() in IMAGE_SUFFIXES and path not in known and path not in unknown:
            unknown.append(path)
    return known, unknown


def stage(faces_dir: Path, relative: list[str], target: Path, repeat: int) -> int:
    """Copy images into `target` under flat unique names; copies past the first get distinct trailing bytes."""
    target.mkdir(parents=True, exist_ok=True)
    for n in range(repeat):
        for rel in relative:
            data = (faces_dir / rel).read_bytes()
            if n:
                data += b"\0lookingglass-bench-copy-%d\0" % n
            flat = rel.replace("/", "__")
            stem, suffix = os.path.splitext(flat)
            (target / f"{stem}{'' if n == 0 else f'__copy{n}'}{suffix}").write_bytes(data)
    return len(relative) * repeat


# --- measuring a process


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user + system seconds of the process and all its descendants
    peak_rss_mb: float | None  # the largest single process (GNU time / getrusage)
    tree_rss_mb: float | None  # all processes of the run together, sampled every 50 ms from /proc


def _process_table() -> dict[int, tuple[int, int, int]]:
    """{pid: (parent pid, start time, CPU ticks used)} for every process, from /proc/<pid>/stat."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # fields[0] is field 3 (state) of proc(5)
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]))
    return table


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ProcessTree:
    """Samples a process and all its descendants every 50 ms: peak summed RSS and CPU seconds used.

    GNU time and getrusage only count children that were waited for; face_recognition's forkserver workers are
    not, so their CPU time would be missing. A process's last < 50 ms before it exits can be missed here.
    """

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid = pid
        self.every = every
        self.peak_kb = 0
        self._ticks: dict[tuple[int, int], int] = {}  # (pid, start time) -> CPU ticks last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_s(self) -> float:
        return sum(self._ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children.get(pid, []))
        for pid in pids:
            if pid in table:
                _, started, ticks = table[pid]
                self._ticks[(pid, started)] = ticks
        self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in pids))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> ProcessTree:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(command: list[str], env: dict[str, str], cpus: set[int]) -> Measured:
    """Run `command` pinned to `cpus`, with wall time and peak memory."""
    gnu_time = Path("/usr/bin/time")
    report: str | None = None
    if gnu_time.is_file():
        fd, report = tempfile.mkstemp(prefix="lg-bench-time-", suffix=".txt")
        os.close(fd)
        command = [str(gnu_time), "-v", "-o", report, *command]
    before = _children_usage()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )
    with ProcessTree(process.pid) as tree:
        stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    after = _children_usage()
    peak_kb: float | None = None
    if report is not None:
        text = Path(report).read_text()
        os.unlink(report)
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak_kb = float(found.group(1)) if found else None
    elif after.ru_maxrss > before.ru_maxrss:  # ru_maxrss only rises: a child smaller than an earlier is hidden
        peak_kb = float(after.ru_maxrss)
    return Measured(
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        wall_s=wall,
        cpu_s=max(tree.cpu_s, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)),
        peak_rss_mb=peak_kb / 1024 if peak_kb else None,
        tree_rss_mb=tree.peak_kb / 1024 if tree.peak_kb else None,
    )


def _children_usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_CHILDREN)  # ru_maxrss in kilobytes on Linux


# --- the two tools


@dataclass(frozen=True)
class Row:
    tool: str
    images: int
    faces: int | None
    wall_s: float | None
    cpu_s: float | None
    peak_rss_mb: float | None
    tree_rss_mb: float | None
    note: str = ""

    @classmethod
    def failed(cls, tool: str, images: int, note: str) -> Row:
        return cls(tool, images, None, None, None, None, None, note)

    @property
    def images_per_s(self) -> float | None:
        return self.images / self.wall_s if self.wall_s else None

    @property
    def cores_busy(self) -> float | None:
        return self.cpu_s / self.wall_s if self.wall_s and self.cpu_s is not None else None

    @property
    def faces_per_s(self) -> float | None:
        return self.faces / self.wall_s if self.wall_s and self.faces is not None else None


def lookingglass_cli() -> Path | None:
    for candidate in (REPO / ".venv" / "bin" / "lookingglass", Path(sys.prefix) / "bin" / "lookingglass"):
        if candidate.is_file():
            return candidate
    found = shutil.which("lookingglass")
    return Path(found) if found else None


def indexed_faces(data_dir: Path, embedder: str) -> int | None:
    """Faces in the index after the run: the ground truth, whatever the CLI's summary line looks like."""
    try:
        sys.path.insert(0, str(REPO / "src"))
        from lookingglass.app import build
        from lookingglass.settings import Settings
    except ImportError:
        return None
    app = build(Settings.from_env({"LG_DATA_DIR": str(data_dir), "LG_EMBEDDER": embedder}), role="bench")
    try:
        return app.faces.count()
    finally:
        app.close()


def run_lookingglass(folders: list[Path], images: int, embedder: str, cpus: set[int], workdir: Path) -> Row:
    tool = f"lookingglass ingest ({embedder})"
    cli = lookingglass_cli()
    if cli is None:
        return Row.failed(tool, images, "not found: `make install` (or pip install -e .)")
    data_dir = Path(tempfile.mkdtemp(prefix=f"data-{embedder}-", dir=workdir))  # fresh every round
    env = {**os.environ, "LG_DATA_DIR": str(data_dir), "LG_EMBEDDER": embedder}
    env.pop("QDRANT_URL", None)  # embedded mode: the same single machine face_recognition gets
    env.pop("QDRANT_HOST", None)
    env.pop("MINIO_ENDPOINT", None)
    env.pop("S3_ENDPOINT", None)
    done = measure([str(cli), "ingest", *map(str, folders)], env, cpus)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Row.failed(tool, images, f"exit {done.returncode}: {' | '.join(tail)}")
    faces = indexed_faces(data_dir, embedder)
    if faces is None:
        summary = re.search(r"(\d[\d,]*) faces", done.stdout + done.stderr)
        faces = int(summary.group(1).replace(",", "")) if summary else None
    return Row(tool, images, faces, done.wall_s, done.cpu_s, done.peak_rss_mb, done.tree_rss_mb)


def face_recognition_cli() -> Path | None:
    candidate = FR_VENV / "bin" / "face_recognition"
    if candidate.is_file():
        return candidate
    found = shutil.which("face_recognition")
    return Path(found) if found else None


def install_face_recognition() -> None:
    """A separate venv: face_recognition declares `dlib` (a source build); dlib-bin is the same module, prebuilt."""
    for step in INSTALL_FR:
        print(f"$ {step}", file=sys.stderr)
        subprocess.run(step, shell=True, check=True, cwd=REPO)


def run_face_recognition(known: Path, unknown: Path, images: int, cpus: set[int]) -> Row:
    tool = "face_recognition 1.3.0 CLI (dlib HOG)"
    cli = face_recognition_cli()
    if cli is None:
        hint = "not installed: python bench/ingest_throughput.py --install-fr"
        return Row.failed(tool, images, hint)
    env = dict(os.environ)
    # --tolerance=-1: no face matches anyone, so the CLI prints exactly one line per face ("unknown_person");
    # the work is the same (the distances are still computed), only the printing changes.
    command = [str(cli), "--cpus", str(len(cpus)), "--tolerance=-1", str(known), str(unknown)]
    done = measure(command, env, cpus)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Row.failed(tool, images, f"exit {done.returncode}: {' | '.join(tail)}")
    # One line per face found in an unknown image ("no_persons_found" for none); every known image with a face
    # was encoded too (the CLI warns about the ones without, and uses only the first face of the others).
    unknown_faces = sum(1 for line in done.stdout.splitlines() if line.endswith(",unknown_person"))
    known_images = sum(1 for p in known.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    known_faces = known_images - done.stdout.count("WARNING: No faces found")
    faces = unknown_faces + known_faces
    return Row(tool, images, faces, done.wall_s, done.cpu_s, done.peak_rss_mb, done.tree_rss_mb)


# --- the table


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def median_run(runs: list[Row]) -> Row:
    """The run with the median wall time (a failed run counts only when every run failed)."""
    timed = sorted((r for r in runs if r.wall_s is not None), key=lambda r: r.wall_s or 0.0)
    if not timed:
        return runs[-1]
    row = timed[(len(timed) - 1) // 2]
    if len(runs) > 1:
        walls = ", ".join(f"{r.wall_s:.1f}" for r in timed)
        row = replace(row, note=f"median of {len(runs)} runs (wall s: {walls}) {row.note}".strip())
    return row


def table(rows: list[Row]) -> str:
    baseline = next((r for r in rows if r.tool.startswith("face_recognition") and r.images_per_s), None)
    lines = [
        "| tool | images | faces | wall s | images/s | faces/s | vs face_recognition | cores busy "
        "| peak RSS MB (largest process) | peak RSS MB (all processes) | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        speedup = f"{r.images_per_s / baseline.images_per_s:.1f}x" if baseline and r.images_per_s else "–"
        lines.append(
            f"| {r.tool} | {r.images} | {'–' if r.faces is None else r.faces} | {_fmt(r.wall_s, 2)} "
            f"| {_fmt(r.images_per_s, 2)} | {_fmt(r.faces_per_s, 2)} | {speedup} | {_fmt(r.cores_busy, 2)} "
            f"| {_fmt(r.peak_rss_mb, 0)} | {_fmt(r.tree_rss_mb, 0)} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=default_faces_dir(), help="folder with labels.json")
    parser.add_argument("--repeat", type=int, default=3, help="distinct copies of every photo (default 3)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tool, interleaved; the median counts")
    parser.add_argument("--cpus", default="0,1", help="CPU ids both tools are pinned to (default 0,1)")
    parser.add_argument("--embedders", default="sface", help="lookingglass embedders, comma-separated")
    parser.add_argument("--skip-lookingglass", action="store_true")
    parser.add_argument("--skip-face-recognition", action="store_true")
    parser.add_argument("--install-fr", action="store_true", help="create bench/.venv-fr with face_recognition")
    args = parser.parse_args(argv)

    labels = args.faces / "labels.json"
    if not labels.is_file():
        print(f"no labels.json in {args.faces}: pass --faces or set LG_TEST_FACES", file=sys.stderr)
        return 2
    if args.install_fr and face_recognition_cli() is None:
        install_face_recognition()
    available = os.sched_getaffinity(0)
    cpus = {int(c) for c in args.cpus.split(",")} & available or available

    known_rel, unknown_rel = labelled_images(labels)
    with tempfile.TemporaryDirectory(prefix="lg-ingest-bench-") as tmp:
        work = Path(tmp)
        known, unknown = work / "known", work / "unknown"
        images = stage(args.faces, known_rel, known, 1) + stage(args.faces, unknown_rel, unknown, args.repeat)
        print(
            f"{images} images ({len(known_rel)} known, {images - len(known_rel)} unknown), "
            f"pinned to CPUs {sorted(cpus)}",
            file=sys.stderr,
        )
        runs: dict[str, list[Row]] = {}
        for round_ in range(1, args.rounds + 1):
            if not args.skip_face_recognition:
                print(f"round {round_}: face_recognition ...", file=sys.stderr)
                row = run_face_recognition(known, unknown, images, cpus)
                runs.setdefault(row.tool, []).append(row)
            if not args.skip_lookingglass:
                for embedder in [e.strip() for e in args.embedders.split(",") if e.strip()]:
                    print(f"round {round_}: lookingglass ingest ({embedder}) ...", file=sys.stderr)
                    row = run_lookingglass([known, unknown], images, embedder, cpus, work)
                    runs.setdefault(row.tool, []).append(row)
    rows = [median_run(tool_runs) for tool_runs in runs.values()]
    print(table(rows))
    print(f"\ntarget: lookingglass ingest >= {TARGET:.0f}x face_recognition's images/s on the same cores")
    if not any(r.images_per_s for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
