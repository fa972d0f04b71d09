"""`lookingglass serve | ingest | lookup | forget | eval`: parse arguments, delegate, print.

When `lookingglass serve` owns the data dir, ingest/lookup/forget go through its API (DESIGN.md §7); otherwise the
command opens the stores itself. Errors print one line on stderr and exit with the error's code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lookingglass.cli.output import print_rows
from lookingglass.errors import PARTIAL_FAILURE_EXIT, BadInput, LookingGlassError
from lookingglass.settings import Settings


def _server(settings: Settings):
    from lookingglass.client import running_server

    return running_server(settings)


def _audit_here(settings: Settings, action: str, **fields) -> None:
    """Commands that open the stores themselves are audited like the API (audit.record_command)."""
    from lookingglass.audit import record_command

    record_command(settings.data_dir, action, **fields)


def cmd_worker(args, settings: Settings) -> int:
    from lookingglass.app import build_worker
    from lookingglass.pipeline.queue import QUEUE_NAMES, redis_connection
    from lookingglass.pipeline.worker import LookingGlassWorker, is_registered

    if args.check:
        import socket

        from redis.exceptions import RedisError

        try:
            connection = redis_connection(settings.redis_url or "redis://localhost:6379/0")
            return 0 if is_registered(connection, socket.gethostname() + ".") else 1
        except RedisError as exc:
            print(f"lookingglass: Redis unreachable: {exc}", file=sys.stderr)
            return 1
    app = build_worker(settings)
    queues = [q.strip() for q in (args.queues or "").split(",") if q.strip()]
    if not queues:
        # `index` writes the stores: a worker takes it only when the stores are servers (else the owner does).
        queues = [q for q in QUEUE_NAMES if q != "index" or not settings.embedded_stores]
    unknown = set(queues) - set(QUEUE_NAMES)
    if unknown:
        raise BadInput(f"unknown queues {sorted(unknown)}; queues are {', '.join(QUEUE_NAMES)}")
    if "index" in queues and settings.embedded_stores:
        raise BadInput("the index queue belongs to `lookingglass serve` while the stores are embedded (DESIGN.md §7)")
    app.models.load()  # once per process, before the first job
    worker = LookingGlassWorker(queues, connection=app.queue.connection)
    print(f"worker {worker.name} on {', '.join(queues)}", flush=True)
    # with_scheduler: retries with backoff (and abandoned jobs' retries) wait in RQ's scheduled registry until a
    # scheduler moves them back to their queue; one worker per queue takes the lock and runs it in a child process.
    worker.work(burst=args.burst, logging_level="INFO", with_scheduler=True)
    return 0


def cmd_scheduler(args, settings: Settings) -> int:
    from lookingglass.pipeline.queue import redis_connection
    from lookingglass.pipeline.schedule import SCHEDULE, cron_scheduler

    if not settings.redis_url:
        raise BadInput("the scheduler needs REDIS_URL (embedded, `serve` runs the schedule on a timer)")
    connection = redis_connection(settings.redis_url)
    if args.check:
        from redis.exceptions import RedisError
        from rq.cron import CronScheduler

        try:
            return 0 if any(s.name.startswith("lookingglass-scheduler") for s in CronScheduler.all(connection)) else 1
        except RedisError as exc:
            print(f"lookingglass: Redis unreachable: {exc}", file=sys.stderr)
            return 1
    scheduler = cron_scheduler(connection)
    print("scheduler: " + ", ".join(f"{p.name} ({p.cron} UTC)" for p in SCHEDULE), flush=True)
    scheduler.start()
    return 0


def cmd_opt_outs(args, settings: Settings) -> int:
    """`opt-outs [list]` shows when and why each face was opted out; `opt-outs remove ID` withdraws one."""
    from lookingglass.client import ask
    from lookingglass.erasure import list_opt_outs, withdraw_opt_out

    if args.action == "list":
        body = ask(settings, lambda server: server.get("/forget/opt-outs"), list_opt_outs)
        return print_rows(
            body,
            "opt_outs",
            as_json=args.json,
            empty="no opt-outs",
            line=lambda e: f"{e['id']}  {e['added_at'] or '-'}  {e['note']}",
        )
    if not args.id:
        raise BadInput("opt-outs remove needs the opt-out's id (see `lookingglass opt-outs`)")

    def here(app) -> dict:
        body = withdraw_opt_out(app, args.id)
        _audit_here(settings, "optout_withdrawn", target=args.id)
        return body

    body = ask(settings, lambda server: server.delete(f"/forget/opt-outs/{args.id}"), here)
    print(json.dumps(body) if args.json else f"withdrew opt-out {args.id}: that face may be indexed again")
    return 0


def cmd_forget_person(args, settings: Settings) -> int:
    """Show every indexed face of the person in the photo, ask, remove them; `--opt-out` keeps them out for good."""
    photo = Path(args.photo).read_bytes()
    fields = {"threshold": args.threshold, "face_index": args.face, "opt_out": "true" if args.opt_out else None}
    fields = {k: v for k, v in fields.items() if v is not None}
    server = _server(settings)
    app = None
    if server is None:
        from lookingglass.app import build

        app = build(settings)
    try:
        if server is not None:
            preview = server.post_form("/forget/person/preview", {"image": photo}, fields)
        else:
            from lookingglass.erasure import find_person

            preview = find_person(app, photo, threshold=args.threshold)
        faces = preview["faces"]
        index = args.face if args.face is not None else (0 if len(faces) == 1 else None)
        if index is None:
            raise BadInput(f"the photo shows {len(faces)} faces: choose one with --face 0-{len(faces) - 1}")
        if not 0 <= index < len(faces):
            raise BadInput(f"--face must be 0-{len(faces) - 1}")
        matches = faces[index]["matches"]
        if not args.json or not args.yes:
            print(f"{len(matches)} indexed faces match (threshold {preview['threshold']}):", file=sys.stderr)
            for m in matches:
                where = m["source_url"] or m["sha256"]
                print(f"  {m['score']:.3f}  {where}  {m.get('page_url') or ''}", file=sys.stderr)
        if not matches and not args.opt_out:
            print(json.dumps({"removed": 0}) if args.json else "nothing to remove")
            return 0
        if not args.yes:
            answer = input("remove them" + (" and opt this face out" if args.opt_out else "") + "? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                print("nothing removed", file=sys.stderr)
                return 1
        ids = [m["face_id"] for m in matches]
        if server is not None:
            result = server.post_form("/forget/person", {"image": photo}, {**fields, "face_ids": ",".join(ids)})
        else:
            from lookingglass.erasure import erase_person

            result = erase_person(app, photo, ids, face_index=index, threshold=args.threshold, opt_out=args.opt_out)
    finally:
        if app is not None:
            app.close()
    if args.json:
        print(json.dumps(result))
    else:
        opted = "; the face is on the opt-out list" if result.get("opted_out") else ""
        print(f"removed {result['removed']} faces{opted}")
    return 0


def cmd_crawl(args, settings: Settings) -> int:
    """Crawl politely from a start URL; what is found is stored and processed like any other object. Exit 1 when
    nothing was crawled, PARTIAL_FAILURE_EXIT when some page or file failed (robots.txt and noindex are not
    failures), 0 otherwise."""
    from lookingglass.crawler.options import CrawlOptions
    from lookingglass.crawler.run import crawl

    start_url = args.url or settings.crawl_start_url
    if not start_url:
        raise BadInput("name a start URL (or set START_URL)")
    options = CrawlOptions.from_settings(
        settings,
        start_url,
        mode=args.mode or settings.crawl_mode,
        max_pages=args.max_pages,
        max_objects=args.max_objects,
        max_bytes=args.max_bytes,
        depth=args.depth,
        allow_domains=tuple(args.allow_domain or ()),
        offsite_media=args.offsite_media or None,
        render=args.render,
        delay=args.delay,
        job_dir=Path(args.job_dir) if args.job_dir else None,
    )
    summary = crawl(settings, options, verbose=args.verbose, quiet=args.quiet or args.json)
    _audit_here(settings, "crawl", target=start_url, results=summary["media_stored"] + summary["pages_stored"])
    if args.json:
        print(json.dumps(summary))
    else:
        _print_crawl_summary(summary)
    if not summary["pages"]:
        return 1  # nothing could be crawled (the reasons are in the summary)
    failed = summary["errors"] + summary["processing"].get("processing_errors", 0)
    return PARTIAL_FAILURE_EXIT if failed else 0


def _print_crawl_summary(s: dict) -> None:
    processing = s["processing"]
    done = f"{processing['faces']} faces indexed" if "faces" in processing else f"{processing.get('queued', 0)} queued"
    print(
        f"crawled {s['pages']} pages in {s['seconds']}s ({s['finish_reason']}): {s['media_stored']} media stored, "
        f"{s['media_known']} already known, {s['sightings']} more sightings, {s['pages_stored']} pages stored; "
        f"{done}; {s['robots_forbidden']} disallowed by robots.txt, {s['errors']} errors, {s['bytes'] / 1e6:.1f} MB"
    )
    if s.get("browser_refused"):
        print(f"  the browser was refused {s['browser_refused']} connections to non-public addresses", file=sys.stderr)
    for item in s["skipped_urls"]:
        print(f"  skipped {item['url']}: {item['reason']}", file=sys.stderr)


def cmd_check(args, settings: Settings) -> int:
    """Check every embedded store (and, with --deep, every point and SQLite page); warn about loose permissions."""
    from lookingglass.errors import CorruptStore
    from lookingglass.integrity import check

    if _server(settings) is not None:
        raise _serve_running("check")
    report = check(settings, deep=args.deep)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        for f in report.findings:
            print(f"{f.level:<7} {f.store}: {f.detail}" if f.level != "error" else f"error   {f.detail}")
        print(f"{len(report.errors)} errors, {len(report.warnings)} warnings" + (" (deep)" if args.deep else ""))
    return CorruptStore.exit_code if report.errors else 0


def cmd_rebuild_index(args, settings: Settings) -> int:
    """Re-derive the face index, the text index and the graph from the stored objects."""
    from rich.console import Console

    from lookingglass.integrity import rebuild_index

    if _server(settings) is not None:
        raise _serve_running("rebuild-index")
    console = Console(stderr=True)

    def progress(done: int, total: int, sha256: str | None) -> None:
        if not args.quiet and (sha256 is None or done % 10 == 0):
            console.print(f"rebuild-index: {done}/{total} objects", highlight=False)

    result = rebuild_index(settings, progress)
    if args.json:
        print(json.dumps(result))
    else:
        for error in result["errors"]:
            console.print(f"[red]failed[/red] {error['sha256']}: {error['message']}", highlight=False)
        kept = result["previous_stores_kept_at"]
        print(
            f"rebuilt from {result['objects']} objects: {result['faces']} faces, {len(result['errors'])} errors"
            + (f"; the previous stores are kept at {kept}" if kept else "")
        )
    return 1 if result["errors"] else 0


def _serve_running(command: str):
    from lookingglass.errors import DataDirBusy

    return DataDirBusy(f"`lookingglass serve` owns the data dir: stop it first, then run `lookingglass {command}`")


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

    p = sub.add_parser("worker", help="run a queue worker (needs REDIS_URL); loads the models once")
    p.add_argument("--queues", help="comma-separated (default: faces,video,pages,maintenance[,index])")
    p.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    p.add_argument("--check", action="store_true", help="exit 0 when a worker of this host is registered (healthcheck)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="enqueue the periodic jobs (daily reconcile) on RQ (needs REDIS_URL)")
    p.add_argument("--check", action="store_true", help="exit 0 when a scheduler is registered (healthcheck)")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("crawl", help="crawl a site politely (robots.txt, Crawl-delay) and index what it shows")
    p.add_argument("url", nargs="?", help="start URL (default: $START_URL)")
    p.add_argument("--mode", choices=["image", "page", "all"], help="what to store (default: $CRAWL_MODE or all)")
    p.add_argument("--max-pages", type=int, help="pages to fetch at most (default: LG_CRAWL_MAX_PAGES or 1000)")
    p.add_argument("--max-objects", type=int, help="media files to fetch at most (default 10000)")
    p.add_argument("--max-bytes", type=int, help="download budget for the whole crawl (default: LG_CRAWL_MAX_BYTES)")
    p.add_argument("--depth", type=int, help="links to follow from the start page (default 3)")
    p.add_argument("--allow-domain", action="append", metavar="DOMAIN", help="also crawl this domain (repeatable)")
    p.add_argument("--offsite-media", action="store_true", help="fetch media hosted elsewhere (CDNs)")
    p.add_argument(
        "--render",
        nargs="?",
        const="always",
        choices=["never", "auto", "always"],
        help="run JavaScript in Chromium: always (bare --render), auto (pages that need it), never (default)",
    )
    p.add_argument("--delay", type=float, help="seconds between requests to one host, at least (default 1)")
    p.add_argument("--job-dir", help="Scrapy JOBDIR: interrupt with Ctrl-C and run again to resume")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--verbose", action="store_true", help="Scrapy's own log at INFO level")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("forget-person", help="remove every indexed face of the person in a photo (after asking)")
    p.add_argument("photo")
    p.add_argument("--threshold", type=float, help="cosine similarity (default: the embedder's match threshold)")
    p.add_argument("--face", type=int, help="which face of the photo, when it shows several (0-based)")
    p.add_argument("--opt-out", action="store_true", help="never index this face again (checked at every ingest)")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_forget_person)

    p = sub.add_parser("opt-outs", help="list the faces kept out of the index, or withdraw one made by mistake")
    p.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    p.add_argument("id", nargs="?", help="with remove: the opt-out's id (from the list)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_opt_outs)

    p = sub.add_parser("check", help="check every embedded store's files and the data dir's permissions")
    p.add_argument("--deep", action="store_true", help="read every vector back; PRAGMA integrity_check every SQLite")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("rebuild-index", help="re-derive faces, text and graph from the stored objects")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_rebuild_index)

    from lookingglass import accounts_cli

    accounts_cli.add_parsers(sub)  # users, keys, audit

    from lookingglass import graph_cli

    graph_cli.add_parsers(sub)
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
