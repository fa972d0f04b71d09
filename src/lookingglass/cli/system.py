"""Commands about the installation itself: its configuration, its processes (serve, worker, scheduler, crawl), the
data dir's upkeep (check, rebuild-index), and shell completion.

serve, worker and scheduler are long-running processes, not calls to a service: they start what they name.
"""

from __future__ import annotations

import json
import sys

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option, print_rows
from lookingglass.errors import PARTIAL_FAILURE_EXIT, BadInput, CorruptStore
from lookingglass.sources.crawler.options import MODES, RENDER

quiet_option = click.option("--quiet", is_flag=True, help="no progress lines")


@click.command()
@json_option
@pass_runtime
def config(runtime: Runtime, as_json: bool) -> int:
    """Print the effective configuration (environment + defaults), secrets masked."""
    rows = runtime.settings.effective()
    if as_json:
        print(json.dumps({variable: value for variable, value, _ in rows}, indent=2))
        return 0
    width = max(len(variable) for variable, _, _ in rows)
    for variable, value, _ in rows:
        print(f"{variable:<{width}}  {value}")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Processes


@click.command()
@click.option("--host", help="address to listen on (default: LG_HOST)")
@click.option("--port", type=int, help="port to listen on (default: LG_PORT)")
@pass_runtime
def serve(runtime: Runtime, host: str | None, port: int | None) -> int:
    """Run the web UI and JSON API; it owns the data dir while it runs (the CLI then works through it)."""
    from lookingglass.web.server import serve as run_server

    settings = runtime.settings
    run_server(settings.with_(host=host or settings.host, port=port or settings.port))
    return 0


@click.command()
@click.option("--queues", help="comma-separated (default: faces,video,pages,maintenance[,index])")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--check", is_flag=True, help="exit 0 when a worker of this host is registered (healthcheck)")
@pass_runtime
def worker(runtime: Runtime, queues: str | None, burst: bool, check: bool) -> int:
    """Run a queue worker (needs REDIS_URL); it loads the models once."""
    from lookingglass.app import build_worker
    from lookingglass.pipeline.queue import QUEUE_NAMES, redis_connection
    from lookingglass.pipeline.worker import is_registered

    settings = runtime.settings
    if check:
        import socket

        from redis.exceptions import RedisError

        try:
            connection = redis_connection(settings.redis_url or "redis://localhost:6379/0")
            return 0 if is_registered(connection, socket.gethostname() + ".") else 1
        except RedisError as exc:
            print(f"lookingglass: Redis unreachable: {exc}", file=sys.stderr)
            return 1
    app = build_worker(settings)
    names = [q.strip() for q in (queues or "").split(",") if q.strip()]
    if not names:
        # `index` writes the stores: a worker takes it only when the stores are servers (else the owner does).
        names = [q for q in QUEUE_NAMES if q != "index" or not settings.embedded_stores]
    unknown = set(names) - set(QUEUE_NAMES)
    if unknown:
        raise BadInput(f"unknown queues {sorted(unknown)}; queues are {', '.join(QUEUE_NAMES)}")
    if "index" in names and settings.embedded_stores:
        raise BadInput("the index queue belongs to `lookingglass serve` while the stores are embedded")
    app.models.load()  # once per process, before the first job
    rq_worker = app.queue.worker(names)
    print(f"worker {rq_worker.name} on {', '.join(names)}; {app.models_line()}", flush=True)
    # with_scheduler: retries with backoff (and abandoned jobs' retries) wait in RQ's scheduled registry until a
    # scheduler moves them back to their queue; one worker per queue takes the lock and runs it in a child process.
    rq_worker.work(burst=burst, logging_level="INFO", with_scheduler=True)
    return 0


@click.command()
@click.option("--check", is_flag=True, help="exit 0 when a scheduler is registered (healthcheck)")
@pass_runtime
def scheduler(runtime: Runtime, check: bool) -> int:
    """Enqueue the periodic jobs (the daily reconcile) on RQ (needs REDIS_URL)."""
    from lookingglass.pipeline.queue import redis_connection
    from lookingglass.pipeline.schedule import SCHEDULE, cron_scheduler

    settings = runtime.settings
    if not settings.redis_url:
        raise BadInput("the scheduler needs REDIS_URL (embedded, `serve` runs the schedule on a timer)")
    connection = redis_connection(settings.redis_url)
    if check:
        from redis.exceptions import RedisError
        from rq.cron import CronScheduler

        try:
            return 0 if any(s.name.startswith("lookingglass-scheduler") for s in CronScheduler.all(connection)) else 1
        except RedisError as exc:
            print(f"lookingglass: Redis unreachable: {exc}", file=sys.stderr)
            return 1
    cron = cron_scheduler(connection)
    print("scheduler: " + ", ".join(f"{p.name} ({p.cron} UTC)" for p in SCHEDULE), flush=True)
    cron.start()
    return 0


@click.command()
@click.argument("url", required=False)
@click.option("--mode", type=click.Choice(MODES), help="what to store (default: $CRAWL_MODE or all)")
@click.option("--max-pages", type=click.IntRange(min=1), help="pages to fetch at most (default: LG_CRAWL_MAX_PAGES)")
@click.option("--max-objects", type=click.IntRange(min=1), help="media files to fetch at most (default 10000)")
@click.option("--max-bytes", type=click.IntRange(min=1), help="download budget for the crawl (LG_CRAWL_MAX_BYTES)")
@click.option("--depth", type=click.IntRange(min=0), help="links to follow from the start page (default 3)")
@click.option("--allow-domain", multiple=True, metavar="DOMAIN", help="also crawl this domain (repeatable)")
@click.option("--offsite-media", is_flag=True, help="fetch media hosted elsewhere (CDNs)")
@click.option(
    "--render",
    type=click.Choice(RENDER),
    is_flag=False,
    flag_value="always",
    help="run JavaScript in Chromium: always (bare --render), auto (pages that need it), never (default)",
)
@click.option("--delay", type=click.FloatRange(min=0), help="seconds between requests to a host, at least (default 1)")
@click.option("--job-dir", help="Scrapy JOBDIR: interrupt with Ctrl-C and run again to resume")
@click.option("--progress-file", hidden=True, help="rewrite this file with the counts as JSON every second")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@quiet_option
@click.option("--verbose", is_flag=True, help="Scrapy's own log at INFO level")
@pass_runtime
def crawl(
    runtime: Runtime, url: str | None, as_json: bool, quiet: bool, verbose: bool, progress_file: str | None, **options
) -> int:
    """Crawl a site politely (robots.txt, Crawl-delay) and index what it shows (URL default: $START_URL).

    Exit 1 when nothing could be crawled or when some page or file failed (robots.txt and noindex are not
    failures), 0 otherwise."""
    from lookingglass.services import Caller
    from lookingglass.services.crawl import CrawlRequest, crawl_site

    request = CrawlRequest(start_url=url, allow_domains=list(options.pop("allow_domain")), **options)
    with runtime.service() as service:
        summary = crawl_site(
            runtime.settings,
            service,
            Caller.command_line(),
            request,
            verbose=verbose,
            quiet=quiet or as_json,
            progress_file=progress_file,
        )
    if as_json:
        print(json.dumps(summary.model_dump(mode="json")))
    else:
        _print_crawl_summary(summary.model_dump(mode="json"))
    if not summary.pages:
        return 1  # nothing could be crawled (the reasons are in the summary)
    failed = summary.errors + summary.processing.get("processing_errors", 0)
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


@click.command()
@json_option
@pass_runtime
def health(runtime: Runtime, as_json: bool) -> int:
    """Each backend's status and latency, here or from the running serve (exit 5 when one is down)."""
    from lookingglass.errors import Unavailable

    with runtime.service() as service:
        result = service.health()
    if as_json:
        print(json.dumps(result.model_dump(mode="json", exclude_none=True)))
    else:
        for name, check in (result.backends or {}).items():
            details = ", ".join(f"{k}={v}" for k, v in check.items() if k not in ("ok", "latency_ms"))
            latency = f"{check['latency_ms']} ms" if "latency_ms" in check else ""
            print(f"{'ok' if check.get('ok') else 'DOWN':<5} {name:<8} {latency:>10}  {details}".rstrip())
        if result.device is not None:
            models = ", ".join(f"{name} {where}" for name, where in result.device.models.items())
            print(f"models: {models} [LG_DEVICE={result.device.requested}: {result.device.reason}]")
        print(("ok" if result.ok else "down") + f" (embedder {result.embedder})")
    return 0 if result.ok else Unavailable.exit_code


# ---------------------------------------------------------------------------------------------------------------
# The data dir's upkeep (serve stopped)


@click.command()
@click.option("--deep", is_flag=True, help="read every vector back; PRAGMA integrity_check every SQLite file")
@json_option
@pass_runtime
def check(runtime: Runtime, deep: bool, as_json: bool) -> int:
    """Check every embedded store's files and the data dir's permissions (exit 5 when a store is damaged)."""
    from lookingglass.services.system import CheckRequest, check_data_dir

    report = check_data_dir(runtime.settings, CheckRequest(deep=deep))
    if as_json:
        print(json.dumps(report.model_dump(mode="json")))
    else:
        for f in report.findings:
            print(f"{f.level:<7} {f.store}: {f.detail}" if f.level != "error" else f"error   {f.detail}")
        print(f"{report.errors} errors, {report.warnings} warnings" + (" (deep)" if deep else ""))
    return CorruptStore.exit_code if report.errors else 0


@click.command("rebuild-index")
@json_option
@quiet_option
@pass_runtime
def rebuild_index(runtime: Runtime, as_json: bool, quiet: bool) -> int:
    """Re-derive the face index, the text index and the graph from the stored objects (exit 1 when one failed)."""
    from rich.console import Console

    from lookingglass.services.system import rebuild_indexes

    console = Console(stderr=True)

    def progress(done: int, total: int, sha256: str | None) -> None:
        if not quiet and (sha256 is None or done % 10 == 0):
            console.print(f"rebuild-index: {done}/{total} objects", highlight=False)

    result = rebuild_indexes(runtime.settings, progress)
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        for error in result.errors:
            console.print(f"[red]failed[/red] {error.sha256}: {error.message}", highlight=False)
        kept = result.previous_stores_kept_at
        print(
            f"rebuilt from {result.objects} objects: {result.faces} faces, {len(result.errors)} errors"
            + (f"; the previous stores are kept at {kept}" if kept else "")
        )
    return 1 if result.errors else 0


# ---------------------------------------------------------------------------------------------------------------
# Shell completion


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> int:
    """Print the shell completion script for bash, zsh or fish.

    Add `eval "$(lookingglass completion bash)"` to ~/.bashrc (zsh: the same with zsh, in ~/.zshrc); fish:
    `lookingglass completion fish > ~/.config/fish/completions/lookingglass.fish`."""
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(ctx.find_root().command, {}, "lookingglass", "_LOOKINGGLASS_COMPLETE")
    print(script.source())
    return 0


def _crawl_line(c: dict) -> str:
    counts = (
        f"{c['pages']} pages, {c['media_stored']} media stored, {c['pages_stored']} pages stored, {c['errors']} errors"
    )
    why = f" ({c['message']})" if c.get("message") else ""
    return f"{c['id']}  {c['state']:<8} {c['start_url']}  {counts}{why}"


@click.command()
@click.argument("crawl_id", metavar="[ID]", required=False)
@json_option
@pass_runtime
def crawls(runtime: Runtime, crawl_id: str | None, as_json: bool) -> int:
    """Crawls started from the browser (newest first), or one of them: running, finished or failed, with counts."""
    with runtime.service() as service:
        if crawl_id:
            one = service.crawl_status(crawl_id=crawl_id).model_dump(mode="json")
            print(json.dumps(one) if as_json else _crawl_line(one))
            return 0
        listed = service.list_crawls()
    return print_rows(listed, "crawls", as_json=as_json, empty="no crawls started from the browser", line=_crawl_line)


def _job_line(job: dict) -> str:
    what = f"{job['file'] or job['sha256'] or job['id']} ({job['kind'] or job['queue']}): {job['task']}"
    return f"{job['id']}  {what}\n      {job['reason']}" if "reason" in job else f"{job['id']}  {what}"


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def queue(ctx: click.Context, as_json: bool) -> int | None:
    """The queues: counts, progress and ETA, and failed jobs by file name (`retry JOB`, `remove JOB`; admin)."""
    if ctx.invoked_subcommand is not None:
        return None
    runtime = ctx.ensure_object(Runtime)
    with runtime.service() as service:
        stats = service.queue_stats().model_dump(mode="json")
    if as_json:
        print(json.dumps(stats))
        return 0
    for name, q in stats["queues"].items():
        eta = f", about {q['eta_s']:.0f} s left" if q.get("eta_s") else ""
        print(
            f"{name:<12} {q['queued']} waiting, {q['started']} running, {q['finished']} done, {q['failed']} failed{eta}"
        )
    for failure in stats["failed"]:
        print("failed " + _job_line(failure))
    return 0


@queue.command("retry")
@click.argument("job_id", metavar="JOB")
@json_option
@pass_runtime
def queue_retry(runtime: Runtime, job_id: str, as_json: bool) -> int:
    """Run a failed job again (same function, same file)."""
    with runtime.service() as service:
        retried = service.retry_job(job_id=job_id).model_dump(mode="json")
    print(json.dumps(retried) if as_json else f"queued {retried['id']} again on {retried['queue']}")
    return 0


@queue.command("remove")
@click.argument("job_id", metavar="JOB")
@json_option
@pass_runtime
def queue_remove(runtime: Runtime, job_id: str, as_json: bool) -> int:
    """Drop a failed job's record."""
    with runtime.service() as service:
        removed = service.remove_job(job_id=job_id).model_dump(mode="json")
    print(json.dumps(removed) if as_json else f"removed failed job {job_id}")
    return 0


COMMANDS = [config, health, serve, worker, scheduler, crawl, crawls, queue, check, rebuild_index, completion]
