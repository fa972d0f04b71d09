"""`lookingglass serve | ingest | lookup | forget | eval`: parse arguments, delegate, print.

When `lookingglass serve` owns the data dir, ingest/lookup/forget go through its API (DESIGN.md §7); otherwise the
command opens the stores itself. Errors print one line on stderr and exit with the error's code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from lookingglass.errors import BadInput, LookingGlassError, exit_code_of
from lookingglass.settings import Settings

MEDIA_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif",  # images
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi",  # videos
    ".mp3", ".wav", ".m4a", ".ogg", ".flac", ".opus",  # audio
    ".html", ".htm",  # pages: text for the entity graph
}  # fmt: skip


def _server(settings: Settings):
    from lookingglass.client import running_server

    return running_server(settings)


def _audit_here(settings: Settings, action: str, **fields) -> None:
    """Commands that open the stores themselves are audited like the API (audit.record_command)."""
    from lookingglass.audit import record_command

    record_command(settings.data_dir, action, **fields)


def iter_files(paths: list[str]) -> Iterator[Path]:
    """Files named directly, and media files found recursively in folders (sorted, so runs are repeatable)."""
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


def cmd_ingest(args, settings: Settings) -> int:
    """Store files and get them processed: in this process (embedded), by `serve` when it owns the data dir, or by
    workers (REDIS_URL: store and enqueue only; `--wait` waits for them). Exit 0 when every file was indexed (or
    queued), PARTIAL_FAILURE_EXIT when some failed, an error class's code when all did (errors.batch_exit_code)."""
    from rich.console import Console

    from lookingglass.errors import batch_exit_code

    if args.bucket:
        return cmd_reconcile(args, settings)
    if not args.paths:
        raise BadInput("name files or folders to ingest (or --bucket to reconcile the object store)")
    files = list(iter_files(args.paths))
    console = Console(stderr=True)
    server = _server(settings)
    app = None
    if server is None:
        from lookingglass.app import build

        app = build(settings)
        if app.queue.backend == "inline":
            app.models.load()
    objects = faces = queued = entities = 0
    errors: list[tuple[Path, str, int]] = []
    pending: list[tuple[Path, object]] = []  # stored here: (path, job handle)
    waiting: list[tuple[Path, str, str | None]] = []  # stored, processed elsewhere: (path, sha256, job id)
    try:
        with _progress(console, args.quiet) as bar:
            task = bar.add_task("ingest", total=len(files), faces=0)
            for path in files:
                try:
                    if server is not None:
                        result = server.ingest_file(path)
                        if "error" in result:
                            raise BadInput(result["error"]["message"])
                        if "faces" in result:
                            objects += 1
                            faces += result["faces"]
                            entities += result.get("entities", 0)
                        else:
                            waiting.append((path, result["sha256"], result.get("job")))
                        bar.update(task, advance=1, faces=faces)
                        continue
                    from lookingglass.pipeline.jobs import store_bytes, submit

                    obj = store_bytes(
                        app, path.read_bytes(), filename=path.name, metadata={"source_urls": [path.resolve().as_uri()]}
                    )
                    if app.queue.backend == "inline":
                        pending.append((path, submit(app, obj.sha256, obj.kind)))
                    else:
                        waiting.append((path, obj.sha256, submit(app, obj.sha256, obj.kind).id))
                        bar.update(task, advance=1)
                except (LookingGlassError, OSError) as exc:
                    errors.append((path, *_reason(exc)))
                    bar.update(task, advance=1)
            if pending:
                bar.update(task, description="process")
                for path, handle in pending:
                    try:
                        result = handle.result()
                        faces += result.get("faces", 0)
                        entities += result.get("entities", 0)
                        objects += 1
                    except (LookingGlassError, OSError, TimeoutError) as exc:
                        errors.append((path, *_reason(exc)))
                    bar.update(task, advance=1, faces=faces)
            if waiting and args.wait:
                if server is not None:
                    outcome = server.outcome
                else:
                    from lookingglass.pipeline.outcome import object_outcome

                    def outcome(sha: str, job: str | None) -> dict:
                        return object_outcome(app, sha, job).as_dict()

                with _owner_index_queue(app):
                    for path, done in _wait_for(waiting, outcome, bar, args.timeout):
                        if done["state"] == "done":
                            objects += 1
                            faces += done["faces"]
                            entities += done["entities"]
                        else:
                            errors.append((path, done["error"], exit_code_of(done.get("code") or "")))
            elif waiting:
                objects += len(waiting)
                queued += len(waiting)
        if (
            app is not None
            and app.faces is not None
            and getattr(app.faces, "pending_optimize", 0) >= settings.optimize_threshold
        ):
            console.print("building the vector index ...")
            app.faces.optimize()
    finally:
        if app is not None:
            app.close()
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
    if args.json:
        details = [{"path": str(p), "message": m} for p, m, _ in errors]
        print(json.dumps({**summary, "error_details": details}))
    elif queued:
        print(f"{objects} objects stored, {queued} queued for the workers, {len(errors)} errors ({len(files)} files)")
    else:
        found = f", {entities} entity mentions" if entities else ""
        print(f"{objects} objects indexed, {faces} faces{found}, {len(errors)} errors ({len(files)} files)")
    return batch_exit_code(objects, [code for _, _, code in errors])


def _reason(exc: BaseException) -> tuple[str, int]:
    """A per-file failure as (message, exit code of its error class); an unreadable file is bad input."""
    if isinstance(exc, LookingGlassError):
        return exc.message, exc.exit_code
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out", exit_code_of("unavailable")
    return str(exc), BadInput.exit_code


def _progress(console, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TextColumn("{task.fields[faces]} faces"), console=console, disable=quiet)


def _wait_for(waiting: list[tuple[Path, str, str | None]], outcome, bar, timeout: float | None):
    """Poll `outcome(sha256, job)` (pipeline/outcome.py, here or through `serve`) until every object is done or
    failed; yields (path, outcome) as each finishes. Past `timeout` seconds the rest are failures."""
    import time

    task = bar.add_task("wait", total=len(waiting), faces=0)
    deadline = None if not timeout else time.monotonic() + timeout
    left = list(waiting)
    faces = 0
    while left:
        still = []
        for path, sha, job in left:
            done = outcome(sha, job)
            if done["state"] == "pending":
                still.append((path, sha, job))
                continue
            faces += done.get("faces", 0)
            bar.update(task, advance=1, faces=faces)
            yield path, done
        left = still
        if left and deadline is not None and time.monotonic() > deadline:
            for path, _sha, _job in left:
                message = f"still being processed after {timeout:g} s (it may yet finish: see `lookingglass reconcile`)"
                yield path, {"state": "pending", "error": message, "code": "unavailable"}
            return
        if left:
            time.sleep(0.5)


def _owner_index_queue(app):
    """While `--wait` waits here with workers and embedded stores, this process owns the data dir: it stores what
    the workers send through the `index` queue, as `serve` does (else the wait would never end)."""
    import contextlib
    import threading

    if app is None or app.queue.backend != "rq" or not app.settings.embedded_stores:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def consuming():
        from lookingglass.server import _index_consumer

        stop = threading.Event()
        thread = threading.Thread(target=_index_consumer, args=(app, stop), daemon=True, name="index-queue")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)

    return consuming()


def cmd_reconcile(args, settings: Settings) -> int:
    """List the object store and queue whatever is not processed: missed notifications are never permanent.

    Embedded, the work happens now, so whatever is still unprocessed afterwards failed; with workers, `--wait`
    waits for them. Exit codes as for ingest (errors.batch_exit_code)."""
    from rich.console import Console

    from lookingglass.app import build
    from lookingglass.errors import batch_exit_code
    from lookingglass.pipeline.jobs import is_processed, reconcile
    from lookingglass.pipeline.outcome import object_outcome

    console = Console(stderr=True)
    wait = getattr(args, "wait", False)
    errors: list[tuple[str, str, int]] = []  # (sha256 or key, message, exit code)
    app = build(settings)
    try:
        result = reconcile()
        inline = app.queue.backend == "inline"
        if inline:
            app.queue.drain()  # embedded: the work happens now, in this process
            for failure in app.queue.stats()["failed"]:
                if ".ingest_key(" in failure["description"]:  # a dropped-in file that never became an object
                    errors.append((failure["description"], failure["reason"], exit_code_of("unavailable")))
        if inline or wait:
            kinds = ("image", "video", "audio", "page")
            left = [
                (Path(o.sha256), o.sha256, None)
                for o in app.objects.list()
                if o.kind in kinds and not is_processed(app, o)
            ]

            def outcome(sha: str, job: str | None) -> dict:
                return object_outcome(app, sha, job).as_dict()

            with _progress(console, getattr(args, "quiet", False) or args.json) as bar, _owner_index_queue(app):
                for path, done in _wait_for(left, outcome, bar, getattr(args, "timeout", None)):
                    if done["state"] != "done":
                        errors.append((str(path), done["error"], exit_code_of(done.get("code") or "")))
    finally:
        app.close()
    for where, message, _code in errors:
        console.print(f"[red]failed[/red] {where}: {message}", highlight=False)
    result["errors"] = len(errors)
    if getattr(args, "json", False):
        print(json.dumps({**result, "error_details": [{"object": w, "message": m} for w, m, _ in errors]}))
    else:
        print(f"queued {result['queued_objects']} objects and {result['queued_keys']} new keys, {len(errors)} errors")
    done = result["queued_objects"] + result["queued_keys"] - len(errors)
    return batch_exit_code(max(done, 0), [code for _, _, code in errors])


def cmd_lookup(args, settings: Settings) -> int:
    path = Path(args.image)
    if not path.is_file():
        raise BadInput(f"no such file: {args.image}")
    server = _server(settings)
    if server is not None:
        body = server.lookup(path, args.top_k, args.threshold)
    else:
        from lookingglass.app import build
        from lookingglass.lookup import lookup_image, lookup_json

        app = build(settings)
        try:
            top_k = args.top_k or settings.top_k
            threshold = app.match_threshold if args.threshold is None else args.threshold
            photo = path.read_bytes()
            body = lookup_json(lookup_image(app, photo, top_k=top_k, threshold=threshold), threshold, top_k)
        finally:
            app.close()
        matches = sum(len(f["matches"]) for f in body["faces"])
        _audit_here(settings, "lookup", query_sha256=hashlib.sha256(photo).hexdigest(), results=matches)
    if args.json:
        print(json.dumps(body))
    else:
        if not body["faces"]:
            print("no faces found")
        for i, face in enumerate(body["faces"], 1):
            box = ", ".join(f"{v:.0f}" for v in face["box"])
            print(f"face {i} [{box}] confidence {face['confidence']:.2f}: {len(face['matches'])} matches")
            for m in face["matches"]:
                at = (
                    f"  at {m['timestamp']:.1f} s (seen {m['start']:.1f}-{m['end']:.1f} s)"
                    if m.get("track_id") is not None
                    else ""
                )
                print(f"  {m['score']:.3f}  {m['sha256'][:12]}  {m['source_url']}{at}")
    return 0


def cmd_forget(args, settings: Settings) -> int:
    from lookingglass.client import ask

    def here(app) -> dict:
        from lookingglass.pipeline.jobs import forget

        app.objects.get(args.sha256)  # NotFound, like the API's 404
        body = forget(app, args.sha256)
        _audit_here(settings, "forget", target=args.sha256)
        return body

    body = ask(settings, lambda server: server.forget(args.sha256), here)
    print(json.dumps(body) if args.json else f"forgot {args.sha256}: {body['faces_removed']} faces removed")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from lookingglass.evaluation import format_report, run_eval
    from lookingglass.vision.faces import FaceModels

    models = FaceModels.create(settings.embedder, settings.model_dir, settings.detector_threshold)
    report = run_eval(Path(args.labels), models)
    print(json.dumps(report, default=str) if args.json else format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookingglass", description="Find every face; see where a person appears.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="store files/folders and index their faces")
    p.add_argument("paths", nargs="*")
    p.add_argument("--bucket", action="store_true", help="reconcile: queue what the object store holds unprocessed")
    p.add_argument("--wait", action="store_true", help="wait until workers (REDIS_URL, or behind serve) are done")
    p.add_argument("--timeout", type=float, help="with --wait: give up waiting after this many seconds")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("reconcile", help="queue whatever the object store holds that is not processed yet")
    p.add_argument("--json", action="store_true")
    p.add_argument("--wait", action="store_true", help="with workers (REDIS_URL): wait until they are done")
    p.add_argument("--timeout", type=float, help="with --wait: give up waiting after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("lookup", help="find where the faces in a photo appear")
    p.add_argument("image")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top-k", type=int, dest="top_k")
    p.add_argument("--threshold", type=float, help="minimum cosine similarity (default: the embedder's)")
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("forget", help="remove an object and every face derived from it")
    p.add_argument("sha256")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("eval", help="pair verification, rank-1 identification, detection recall on labels.json")
    p.add_argument("labels")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, Settings.from_env())
    except LookingGlassError as exc:
        print(f"lookingglass: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lookingglass lookup --json x | head` is fine
        sys.stderr.close()
        return 0
