"""`lookingglass ingest | reconcile | lookup | forget | eval`: faces and the objects they come from.

Each file is stored through the service (`store_objects`, here or through `serve`); waiting polls
`object_outcome` in every mode. Exit codes: 0 every file indexed (or queued), PARTIAL_FAILURE_EXIT some failed, an
error class's own code when all failed for the same reason (errors.batch_exit_code).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option
from lookingglass.errors import LookingGlassError, exit_code_of
from lookingglass.services.lookup import LookupRequest
from lookingglass.services.objects import OutcomeQuery, StoredObject, StoreRequest, store_patiently

MEDIA_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif",  # images
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi",  # videos
    ".mp3", ".wav", ".m4a", ".ogg", ".flac", ".opus",  # audio
    ".html", ".htm",  # pages: text for the entity graph
}  # fmt: skip
Failure = tuple[str, str, int]  # (where, message, exit code)


def iter_files(paths: list[str] | tuple[str, ...]) -> Iterator[Path]:
    """Files named directly, and media files found recursively in folders (sorted, so runs are repeatable)."""
    from lookingglass.errors import BadInput

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in MEDIA_SUFFIXES:
                    yield child
        elif path.exists():
            yield path
        else:
            raise BadInput(f"no such file or folder: {raw}")


wait_option = click.option("--wait", is_flag=True, help="wait until workers (REDIS_URL, or behind serve) are done")
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), help="with --wait: give up waiting after this many seconds"
)
quiet_option = click.option("--quiet", is_flag=True, help="no progress bar")


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--bucket", is_flag=True, help="reconcile: queue what the object store holds unprocessed")
@wait_option
@timeout_option
@json_option
@quiet_option
@pass_runtime
def ingest(
    runtime: Runtime,
    paths: tuple[str, ...],
    bucket: bool,
    wait: bool,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Store files and folders and index their faces (and a page's or a recording's text).

    Processed in this process, by the `serve` that owns the data dir, or by workers (REDIS_URL: stored and queued;
    --wait waits for them). Exit 0 when every file was indexed (or queued), 1 when some failed, an error's own code
    when all did."""
    from rich.console import Console

    from lookingglass.errors import BadInput, batch_exit_code

    _ = runtime.settings  # a bad setting is what is reported first, whatever else is wrong
    if bucket:
        return _reconcile(runtime, as_json=as_json, wait=wait, timeout=timeout, quiet=quiet)
    if not paths:
        raise BadInput("name files or folders to ingest (or --bucket to reconcile the object store)")
    files = list(iter_files(paths))
    console = Console(stderr=True)
    objects = faces = queued = entities = 0
    errors: list[Failure] = []
    waiting: list[tuple[str, str, str | None]] = []  # stored, processed elsewhere: (path, sha256, job id)
    with runtime.service() as service, _progress(console, quiet) as bar:
        task = bar.add_task("ingest", total=len(files), faces=0)
        # As many files in flight as the owner runs jobs at once (LG_INLINE_WORKERS): each call waits for its file
        # to be processed, so one at a time would leave a core idle. Results are taken in the files' order.
        with ThreadPoolExecutor(max_workers=runtime.settings.inline_workers) as pool:
            for path, stored in zip(files, pool.map(lambda p: _store_or_failure(service, p), files), strict=True):
                if isinstance(stored, BaseException):
                    errors.append((str(path), *_reason(stored)))
                elif stored.error is not None:
                    errors.append((str(path), stored.error.message, exit_code_of(stored.error.code)))
                elif stored.faces is not None:
                    objects += 1
                    faces += stored.faces
                    entities += stored.entities or 0
                else:
                    waiting.append((str(path), stored.sha256 or "", stored.job))
                bar.update(task, advance=1, faces=faces)
        if waiting and wait:
            for path, done in _wait_for(waiting, _outcome(service), bar, timeout):
                if done["state"] == "done":
                    objects += 1
                    faces += done["faces"]
                    entities += done["entities"]
                else:
                    errors.append((path, done["error"], exit_code_of(done.get("code") or "")))
        elif waiting:
            objects += len(waiting)
            queued += len(waiting)
    for path, message, _code in errors:
        console.print(f"[red]skipped[/red] {path}: {message}", highlight=False)
    summary = {
        "files": len(files),
        "objects": objects,
        "faces": faces,
        "entities": entities,
        "queued": queued,
        "errors": len(errors),
    }
    if as_json:
        details = [{"path": p, "message": m} for p, m, _ in errors]
        print(json.dumps({**summary, "error_details": details}))
    elif queued:
        print(f"{objects} objects stored, {queued} queued for the workers, {len(errors)} errors ({len(files)} files)")
    else:
        found = f", {entities} entity mentions" if entities else ""
        print(f"{objects} objects indexed, {faces} faces{found}, {len(errors)} errors ({len(files)} files)")
    return batch_exit_code(objects, [code for _, _, code in errors])


def _store_or_failure(service, path: Path) -> StoredObject | LookingGlassError | OSError:
    try:
        return _store(service, path)
    except (LookingGlassError, OSError) as exc:
        return exc


def _store(service, path: Path) -> StoredObject:
    """Store one local file; its file:// URL is where it was seen."""
    request = StoreRequest(source_url=path.resolve().as_uri(), filename=path.name)
    return store_patiently(service, request, path.read_bytes())


def _outcome(service) -> Callable[[str, str | None], dict]:
    def outcome(sha256: str, job: str | None) -> dict:
        return service.object_outcome(OutcomeQuery(job=job), sha256=sha256).model_dump(mode="json")

    return outcome


def _reason(exc: BaseException) -> tuple[str, int]:
    """A per-file failure as (message, exit code of its error class); an unreadable file is bad input."""
    from lookingglass.errors import BadInput

    if isinstance(exc, LookingGlassError):
        return exc.message, exc.exit_code
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out", exit_code_of("unavailable")
    return str(exc), BadInput.exit_code


def _progress(console, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TextColumn("{task.fields[faces]} faces"), console=console, disable=quiet)


def _wait_for(waiting: list[tuple[str, str, str | None]], outcome, bar, timeout: float | None):
    """Poll `outcome(sha256, job)` until every object is done or failed; yields (where, outcome) as each finishes.
    Past `timeout` seconds the rest are failures."""
    task = bar.add_task("wait", total=len(waiting), faces=0)
    deadline = None if not timeout else time.monotonic() + timeout
    left = list(waiting)
    faces = 0
    while left:
        still = []
        for where, sha, job in left:
            done = outcome(sha, job)
            if done["state"] == "pending":
                still.append((where, sha, job))
                continue
            faces += done.get("faces", 0)
            bar.update(task, advance=1, faces=faces)
            yield where, done
        left = still
        if left and deadline is not None and time.monotonic() > deadline:
            for where, _sha, _job in left:
                message = f"still being processed after {timeout:g} s (it may yet finish: see `lookingglass reconcile`)"
                yield where, {"state": "pending", "error": message, "code": "unavailable"}
            return
        if left:
            time.sleep(0.5)


@click.command()
@json_option
@wait_option
@timeout_option
@quiet_option
@pass_runtime
def reconcile(runtime: Runtime, as_json: bool, wait: bool, timeout: float | None, quiet: bool) -> int:
    """Queue whatever the object store holds that is not processed yet: a missed notification is never permanent.

    Without workers the work happens now, so whatever is still unprocessed afterwards failed; with workers
    (REDIS_URL), --wait waits for them. Exit codes as for ingest."""
    return _reconcile(runtime, as_json=as_json, wait=wait, timeout=timeout, quiet=quiet)


def _reconcile(runtime: Runtime, *, as_json: bool, wait: bool, timeout: float | None, quiet: bool) -> int:
    """Reconcile works on the stores opened here (it lists the whole store): the owner's own maintenance."""
    from rich.console import Console

    from lookingglass.app import build
    from lookingglass.cli.service import Local
    from lookingglass.errors import batch_exit_code
    from lookingglass.services.objects import reconcile_here

    console = Console(stderr=True)
    errors: list[Failure] = []
    app = build(runtime.settings)
    try:
        result, failures, left = reconcile_here(app, wait=wait)
        errors += [(where, message, exit_code_of(code)) for where, message, code in failures]
        with _progress(console, quiet or as_json) as bar:
            for where, done in _wait_for([(sha, sha, None) for sha in left], _outcome(Local(app)), bar, timeout):
                if done["state"] != "done":
                    errors.append((where, done["error"], exit_code_of(done.get("code") or "")))
    finally:
        app.close()
    for where, message, _code in errors:
        console.print(f"[red]failed[/red] {where}: {message}", highlight=False)
    result["errors"] = len(errors)
    if as_json:
        print(json.dumps({**result, "error_details": [{"object": w, "message": m} for w, m, _ in errors]}))
    else:
        print(f"queued {result['queued_objects']} objects and {result['queued_keys']} new keys, {len(errors)} errors")
    done = result["queued_objects"] + result["queued_keys"] - len(errors)
    return batch_exit_code(max(done, 0), [code for _, _, code in errors])


@click.command()
@click.argument("image")
@json_option
@click.option("--top-k", type=click.IntRange(1, 1000), help="matches per face at most (default: LG_TOP_K)")
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), help="least cosine similarity (default: the model's)")
@click.option("--by-person", is_flag=True, help="one match per person (its best), as faces are grouped into persons")
@pass_runtime
def lookup(
    runtime: Runtime, image: str, as_json: bool, top_k: int | None, threshold: float | None, by_person: bool
) -> int:
    """Find where the faces in a photo appear: every face in it, with the indexed faces that match, best first."""
    from lookingglass.errors import BadInput

    _ = runtime.settings  # a bad setting is what is reported first, whatever else is wrong
    path = Path(image)
    if not path.is_file():
        raise BadInput(f"no such file: {image}")
    with runtime.service() as service:
        request = LookupRequest(top_k=top_k, threshold=threshold, group="person" if by_person else "track")
        result = service.lookup_faces(request, image=path.read_bytes())
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
        return 0
    if not result.faces:
        print("no faces found")
    for i, face in enumerate(result.faces, 1):
        box = ", ".join(f"{v:.0f}" for v in face.box)
        print(f"face {i} [{box}] confidence {face.confidence:.2f}: {len(face.matches)} matches")
        for m in face.matches:
            at = f"  at {m.timestamp:.1f} s (seen {m.start:.1f}-{m.end:.1f} s)" if m.track_id is not None else ""
            who = f"  [{m.person.name or m.person.id[:8]}]" if m.person else ""
            print(f"  {m.score:.3f}  {m.sha256[:12]}  {m.source_url}{at}{who}")
    return 0


@click.command()
@click.argument("sha256")
@json_option
@pass_runtime
def forget(runtime: Runtime, sha256: str, as_json: bool) -> int:
    """Remove an object and every face, thumbnail, transcript and text passage derived from it."""
    with runtime.service() as service:
        result = service.forget_object(sha256=sha256)
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        print(f"forgot {sha256}: {result.faces_removed} faces removed")
    return 0


@click.command(name="eval")
@click.argument("labels")
@json_option
@pass_runtime
def evaluate(runtime: Runtime, labels: str, as_json: bool) -> int:
    """Pair verification, rank-1 identification and detection recall on a labels.json of face photos."""
    from lookingglass.models.device import choose
    from lookingglass.vision.evaluation import format_report, run_eval
    from lookingglass.vision.faces import FaceModels
    from lookingglass.vision.tiling import Coverage

    settings = runtime.settings
    device = choose(settings.device, settings.cuda_visible_devices).device
    coverage = Coverage(pad=settings.detect_pad, tile_above=settings.detect_tile_above)
    models = FaceModels.create(
        settings.embedder, settings.model_dir, settings.detector_threshold, device=device, coverage=coverage
    )
    report = run_eval(Path(labels), models)
    print(json.dumps(report, default=str) if as_json else format_report(report))
    return 0


COMMANDS = [ingest, reconcile, lookup, forget, evaluate]
