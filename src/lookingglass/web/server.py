"""`lookingglass serve`: own the data dir, serve the app, and do the owner's background work.

Background work of the owner process:
- keep the embedded vector index built (off the request path, see `_optimizer`);
- with workers (REDIS_URL) and embedded stores: consume the `index` queue, where workers send the faces they
  computed (`Queue.worker`, `Queue.retry_scheduler`);
- when jobs run in this process (`Queue.runs_here`): run the periodic jobs on a timer (with Redis,
  `lookingglass scheduler` does that).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from lookingglass.app import App, build
from lookingglass.settings import Settings
from lookingglass.stores.ownership import SERVER_NAME, new_local_token, remove_server_info, write_server_info
from lookingglass.stores.private.accounts import FIRST_ADMIN, ensure_first_admin
from lookingglass.web import create_app

log = logging.getLogger("lookingglass.web.server")


def _optimizer(app: App, stop: threading.Event, every: float = 10.0) -> None:
    """qdrant-edge has no background optimizer: the owner rebuilds the index when enough points are unindexed.

    It builds on a copy in a child process (`optimize_aside`), because the engine's optimize() holds the GIL and
    would freeze every request for minutes; lookups meanwhile search the new points brute force. A Qdrant server
    optimizes by itself: its index never has points pending here, so this loop never starts a build.
    """
    while not stop.wait(every):
        pending = app.faces.pending_optimize
        if pending >= app.settings.optimize_threshold:
            log.info("building the vector index aside (%d new points)", pending)
            started = time.monotonic()
            try:
                swapped = app.faces.optimize_aside()
                took = time.monotonic() - started
                log.info("vector index %s in %.1f s", "swapped in" if swapped else "unchanged", took)
            except Exception:
                log.exception("vector index build failed; lookups still work (brute force)")


def _index_consumer(app: App, stop: threading.Event) -> None:
    """Run the `index` queue here, the one process allowed to write the embedded stores."""
    worker = app.queue.worker(["index"], in_thread=True, name=f"owner-index-{os.getpid()}")
    while not stop.is_set():
        try:
            # Returns after 2 s without work, so a stop request is seen promptly and shutdown never has to close
            # Redis under a blocked dequeue; Redis outages are retried inside.
            worker.work(max_idle_time=2, logging_level="WARNING")
        except Exception:
            log.exception("index consumer failed; restarting it")
            stop.wait(1.0)


def _index_retries(app: App, stop: threading.Event, every: float = 1.0) -> None:
    """Put the `index` queue's retries back on it once their backoff is over.

    RQ parks a retry with a backoff in the queue's scheduled registry until a scheduler moves it; the workers'
    schedulers cover only the queues they consume, and `index` is consumed here. RQ's scheduler forks; this runs
    its lock-and-enqueue step in a thread instead (no fork of a process full of threads).
    """
    scheduler = app.queue.retry_scheduler(["index"], name=f"owner-index-{os.getpid()}")
    while not stop.wait(every):
        try:
            if scheduler.acquire_locks():
                scheduler.enqueue_scheduled_jobs()
        except Exception as exc:  # Redis away for a moment: the next round tries again
            log.warning("index retries not moved: %s", exc)
    try:
        scheduler.release_locks()
    except Exception as exc:
        log.warning("index scheduler lock not released (it expires by itself): %s", exc)


def serve(settings: Settings) -> None:
    from waitress import create_server

    from lookingglass.pipeline.schedule import TimerScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    app = build(settings, role="serve")
    if app.lock is not None:  # we own the data dir now: a server.json left here is a crashed server's (kill -9)
        (settings.data_dir / SERVER_NAME).unlink(missing_ok=True)
    stop = threading.Event()
    scheduler = None
    index_thread = None
    try:
        existing = len(app.accounts.users()) if settings.admin_password else 0  # before the first admin is made
        first_password = ensure_first_admin(app.accounts, settings.admin_password)
        app.models.load()
        token = new_local_token() if app.lock is not None else None
        server = create_server(create_app(app, local_token=token), host=settings.host, port=settings.port, threads=8)
        host, port = server.effective_host, server.effective_port
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
        if token is not None:
            write_server_info(settings.data_dir, url, token)
        threading.Thread(target=_optimizer, args=(app, stop), daemon=True, name="optimizer").start()
        if not app.queue.runs_here and settings.embedded_stores:
            index_thread = threading.Thread(target=_index_consumer, args=(app, stop), daemon=True, name="index-queue")
            index_thread.start()
            threading.Thread(target=_index_retries, args=(app, stop), daemon=True, name="index-retries").start()
        if app.queue.runs_here:
            scheduler = TimerScheduler(app.queue).start()
        print(f"LookingGlass serving on {url} (data: {settings.data_dir}); {app.models_line()}", flush=True)
        if first_password is not None:
            _announce_first_admin(first_password, url)
        if existing:
            _announce_unused_admin_password(existing)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.stop()
        if index_thread is not None:
            index_thread.join(timeout=10)
        remove_server_info(settings.data_dir)
        app.close()


def _announce_first_admin(password: str, url: str) -> None:
    """The generated password of the first admin, once, where the operator looks: stderr, in a box."""
    lines = [
        "LookingGlass created the first admin account (nobody could sign in before).",
        f"  sign in at  {url}/login",
        f"  username    {FIRST_ADMIN}",
        f"  password    {password}",
        "It is shown only this once. Set your own with `lookingglass users passwd admin`,",
        "or set LG_ADMIN_PASSWORD before the first start.",
    ]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    box = [rule, *(f"| {line.ljust(width)} |" for line in lines), rule]
    print("\n".join(["", *box, ""]), file=sys.stderr, flush=True)


def _announce_unused_admin_password(users: int) -> None:
    """LG_ADMIN_PASSWORD only creates the first admin: an operator who sets it later expects it to work, and would
    otherwise search for minutes why the password they set is refused."""
    message = (
        f"LG_ADMIN_PASSWORD is set but not used: {users} user{'' if users == 1 else 's'} already exist, and it only"
        " sets the first admin's password when there are no users. To change a password: `lookingglass users passwd"
        " NAME`."
    )
    print(message, file=sys.stderr, flush=True)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # unwinds serve() so server.json is removed and the index flushed
