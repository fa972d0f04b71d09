"""`lookingglass check [--deep]` and `lookingglass rebuild-index`: integrity of the data dir, and the way back.

Every embedded store checks itself cheaply when it opens (stores/shard_check.py, private_sqlite.open_sqlite) and
refuses to serve from damaged files. `check` opens each one on its own, so one damaged store does not hide the
others, and `--deep` reads every point back and runs SQLite's `PRAGMA integrity_check` on every SQLite file.
It also warns about files and folders that others may read: face embeddings are personal data.

`rebuild-index` re-derives what is derived (the face index, the text index, the graph) from the stored objects:
the damaged files are moved aside, every object is processed again, and the moved files are deleted once that
worked. The opt-out list, accounts and the audit log are not derived from anything: they are never touched.

Both need the data dir to themselves: while `serve` runs they refuse (DataDirBusy) and say to stop it first.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from lookingglass.errors import BadInput, LookingGlassError
from lookingglass.settings import Settings
from lookingglass.stores.ownership import DataDirLock
from lookingglass.stores.private.sqlite import integrity_problems, open_sqlite

SQLITE_FILES = {"graph.sqlite3": "graph database", "accounts.sqlite3": "database", "audit.sqlite3": "database"}
DERIVED_SQLITE = ("graph.sqlite3",)
TEXT_DIR = "text"


@dataclass
class Finding:
    """One store's verdict: ok, or the one-line error it gave (`level` "error"), or a warning."""

    store: str
    path: str
    level: str  # "ok" | "warning" | "error"
    detail: str


@dataclass
class Report:
    deep: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def to_json(self) -> dict:
        return {
            "ok": not self.errors,
            "deep": self.deep,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [asdict(f) for f in self.findings],
        }


# ----------------------------------------------------------------------------------------------------
# Permissions


def private_umask() -> None:
    """Files 0600 and folders 0700 for everything this process creates, the engine's own files included (it writes
    from Rust, so the umask is the one lever). Called where our entry points start."""
    os.umask(0o077)


def loose_permissions(data_dir: Path) -> list[str]:
    """Files and folders under the data dir that anyone but the owner may read, write or enter."""
    found = []
    for root, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files]:
            path = Path(root) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if stat.S_IMODE(mode) & 0o077:
                found.append(f"{path} is {stat.S_IMODE(mode):04o}")
    if data_dir.is_dir() and stat.S_IMODE(data_dir.stat().st_mode) & 0o077:
        found.insert(0, f"{data_dir} is {stat.S_IMODE(data_dir.stat().st_mode):04o}")
    return found


# ----------------------------------------------------------------------------------------------------
# check


def _vector_dims(vectors_dir: Path) -> list[tuple[str, int]]:
    """Every face collection in the data dir (any embedder), with its dimension from the shard's own config."""
    found = []
    for shard in sorted(p for p in vectors_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            dim = int(json.loads((shard / "edge_config.json").read_text())["vectors"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            dim = 0
        found.append((shard.name, dim))
    return found


def _check_shard(report: Report, store: str, path: Path, open_index: Callable, deep: bool) -> None:
    try:
        index = open_index()
    except LookingGlassError as exc:
        report.findings.append(Finding(store, str(path), "error", exc.message))
        return
    try:
        points = index.verify_deep()["points"] if deep else index.count()
        report.findings.append(Finding(store, str(path), "ok", f"{points} points"))
    except LookingGlassError as exc:
        report.findings.append(Finding(store, str(path), "error", exc.message))
    finally:
        index.close()


def _check_sqlite(report: Report, path: Path, what: str, deep: bool) -> None:
    try:
        if deep:
            problems = integrity_problems(path, what=what)
        else:
            open_sqlite(path, what=what).close()
            problems = []
    except LookingGlassError as exc:
        report.findings.append(Finding(path.name, str(path), "error", exc.message))
        return
    if problems:
        fix = "restore it from a backup"
        if path.name in DERIVED_SQLITE:
            fix += ", or run `lookingglass rebuild-index`"
        detail = f"{path} failed PRAGMA integrity_check: {'; '.join(problems[:3])}; {fix}"
        report.findings.append(Finding(path.name, str(path), "error", detail))
    else:
        report.findings.append(Finding(path.name, str(path), "ok", "integrity_check ok" if deep else "opens"))


def check(settings: Settings, *, deep: bool = False) -> Report:
    """Every embedded store in the data dir, each on its own; then the permissions."""
    from lookingglass.stores.text import EdgeTextIndex
    from lookingglass.stores.vectors import EdgeVectorIndex

    data_dir = Path(settings.data_dir)
    report = Report(deep=deep)
    if not data_dir.is_dir():
        raise BadInput(f"no data directory at {data_dir} (set LG_DATA_DIR)")
    lock = DataDirLock(data_dir, "check").acquire()
    try:
        vectors_dir = data_dir / "vectors"
        if not settings.distributed_vectors:
            for name, dim in _vector_dims(vectors_dir) if vectors_dir.is_dir() else []:
                opener = partial(EdgeVectorIndex, vectors_dir, name, dim)
                _check_shard(report, f"vectors/{name}", vectors_dir / name, opener, deep)
            if (data_dir / TEXT_DIR).is_dir():
                _check_shard(report, TEXT_DIR, data_dir / TEXT_DIR, partial(EdgeTextIndex, data_dir, TEXT_DIR), deep)
        for file_name, what in SQLITE_FILES.items():
            if (data_dir / file_name).is_file():
                _check_sqlite(report, data_dir / file_name, what, deep)
        for line in loose_permissions(data_dir):
            report.findings.append(
                Finding("permissions", line.split(" is ")[0], "warning", f"{line}: run `chmod -R go= {data_dir}`")
            )
    finally:
        lock.close()
    return report


# ----------------------------------------------------------------------------------------------------
# rebuild-index


def _derived_paths(settings: Settings) -> list[Path]:
    """What rebuild-index replaces: every face collection but the opt-out lists, the text index, the graph file."""
    data_dir = Path(settings.data_dir)
    paths = []
    vectors_dir = data_dir / "vectors"
    if vectors_dir.is_dir():
        paths += [p for p in sorted(vectors_dir.iterdir()) if p.is_dir() and not p.name.startswith(("optout", "."))]
    if (data_dir / TEXT_DIR).exists():
        paths.append(data_dir / TEXT_DIR)
    for name in DERIVED_SQLITE:
        paths += [p for p in (data_dir / f"{name}{s}" for s in ("", "-wal", "-shm")) if p.exists()]
    return paths


def move_derived_aside(settings: Settings) -> Path:
    """Under the data-dir lock: move the derived stores into one folder, so a failed rebuild loses nothing."""
    data_dir = Path(settings.data_dir)
    aside = data_dir / f".rebuild-{time.strftime('%Y%m%d-%H%M%S')}"
    lock = DataDirLock(data_dir, "rebuild-index").acquire()
    try:
        aside.mkdir()
        for path in _derived_paths(settings):
            target = aside / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
    finally:
        lock.close()
    return aside


def rebuild_index(settings: Settings, progress: Callable[[int, int, str | None], None] | None = None) -> dict:
    """Move the derived stores aside, process every stored object again, and delete what was moved aside once
    every object went through (else it stays, named in the result, for a retry or a restore)."""
    from lookingglass.app import build
    from lookingglass.pipeline.submit import process_now

    if settings.distributed_vectors or settings.distributed_graph:
        raise BadInput(
            "rebuild-index rebuilds the embedded stores in LG_DATA_DIR; with Qdrant or Neo4j servers, restore "
            "those servers' collections instead"
        )
    aside = move_derived_aside(settings)
    app = build(settings)
    objects = faces = 0
    errors: list[dict] = []
    try:
        stored = [obj for obj in app.objects.list() if obj.kind in ("image", "video", "audio", "page")]
        for i, obj in enumerate(stored):
            if progress is not None:
                progress(i, len(stored), obj.sha256)
            try:
                result = process_now(app, obj.sha256)
                faces += result.get("faces", 0)
                objects += 1
            except (LookingGlassError, OSError) as exc:
                errors.append({"sha256": obj.sha256, "message": getattr(exc, "message", None) or str(exc)})
        if progress is not None:
            progress(len(stored), len(stored), None)
        if app.faces is not None and app.faces.pending_optimize >= settings.optimize_threshold:
            app.faces.optimize()
    finally:
        app.close()
    kept = str(aside) if errors else None
    if not errors:
        shutil.rmtree(aside, ignore_errors=True)
    return {"objects": objects, "faces": faces, "errors": errors, "previous_stores_kept_at": kept}
