"""`lookingglass serve | ingest | lookup | forget | eval`: parse arguments, delegate, print.

When `lookingglass serve` owns the data dir, ingest/lookup/forget go through its API (DESIGN.md §7); otherwise the
command opens the stores itself. Errors print one line on stderr and exit with the error's code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from lookingglass.errors import BadInput, LookingGlassError
from lookingglass.settings import Settings

MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif"}


def _server(settings: Settings):
    from lookingglass.client import ServerClient
    from lookingglass.ownership import read_server_info

    if settings.distributed_vectors and settings.distributed_objects:
        return None
    info = read_server_info(settings.data_dir)
    return ServerClient(info) if info else None


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
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    files = list(iter_files(args.paths))
    console = Console(stderr=True)
    server = _server(settings)
    app = None
    if server is None:
        from lookingglass.app import build

        app = build(settings)
        app.models.load()
    objects = faces = 0
    errors: list[tuple[Path, str]] = []
    try:
        with Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[faces]} faces"),
            console=console,
            disable=args.quiet,
        ) as progress:
            task = progress.add_task("ingest", total=len(files), faces=0)
            for path in files:
                try:
                    if server is not None:
                        result = server.ingest_file(path)
                        if "error" in result:
                            raise BadInput(result["error"]["message"])
                        found = result["faces"]
                    else:
                        from lookingglass.pipeline.jobs import ingest_file

                        found = ingest_file(app, path).faces
                    objects += 1
                    faces += found
                except (LookingGlassError, OSError) as exc:
                    errors.append((path, getattr(exc, "message", None) or str(exc)))
                progress.update(task, advance=1, faces=faces)
        if app is not None and getattr(app.faces, "pending_optimize", 0) >= settings.optimize_threshold:
            console.print("building the vector index ...")
            app.faces.optimize()
    finally:
        if app is not None:
            app.close()
    for path, message in errors:
        console.print(f"[red]skipped[/red] {path}: {message}", highlight=False)
    summary = {"files": len(files), "objects": objects, "faces": faces, "errors": len(errors)}
    if args.json:
        print(json.dumps({**summary, "error_details": [{"path": str(p), "message": m} for p, m in errors]}))
    else:
        print(f"{objects} objects indexed, {faces} faces, {len(errors)} errors ({len(files)} files)")
    return 0 if objects or not files else 1


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
            body = lookup_json(lookup_image(app, path.read_bytes(), top_k=top_k, threshold=threshold), threshold, top_k)
        finally:
            app.close()
    if args.json:
        print(json.dumps(body))
    else:
        if not body["faces"]:
            print("no faces found")
        for i, face in enumerate(body["faces"], 1):
            box = ", ".join(f"{v:.0f}" for v in face["box"])
            print(f"face {i} [{box}] confidence {face['confidence']:.2f}: {len(face['matches'])} matches")
            for m in face["matches"]:
                print(f"  {m['score']:.3f}  {m['sha256'][:12]}  {m['source_url']}")
    return 0


def cmd_forget(args, settings: Settings) -> int:
    server = _server(settings)
    if server is not None:
        body = server.forget(args.sha256)
    else:
        from lookingglass.app import build
        from lookingglass.pipeline.jobs import forget_object

        app = build(settings)
        try:
            app.objects.get(args.sha256)
            body = {"sha256": args.sha256, "deleted": True, "faces_removed": forget_object(app, args.sha256)}
        finally:
            app.close()
    print(json.dumps(body) if args.json else f"forgot {args.sha256}: {body['faces_removed']} faces removed")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from lookingglass.evaluation import format_report, run_eval
    from lookingglass.vision.faces import FaceModels

    models = FaceModels.create(settings.embedder, settings.model_dir, settings.detector_threshold)
    report = run_eval(Path(args.labels), models)
    print(json.dumps(report, default=str) if args.json else format_report(report))
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from lookingglass.server import serve

    serve(settings.with_(host=args.host or settings.host, port=args.port or settings.port))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookingglass", description="Find every face; see where a person appears.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web UI and JSON API (owns the data dir while it runs)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ingest", help="store files/folders and index their faces")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

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


if __name__ == "__main__":
    sys.exit(main())
