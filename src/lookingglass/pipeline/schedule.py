"""Periodic jobs: one list, run by RQ's cron scheduler in distributed mode and by a timer thread when embedded.

The list is the single place to add one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from lookingglass import people
from lookingglass.pipeline.graph import analyse_graph
from lookingglass.pipeline.queue import POLICIES, Queue
from lookingglass.pipeline.reconcile import reconcile

log = logging.getLogger("lookingglass.schedule")


@dataclass(frozen=True)
class Periodic:
    name: str
    func: object
    queue: str
    cron: str  # UTC


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("reconcile", reconcile, "maintenance", "30 3 * * *"),
    Periodic("analytics", analyse_graph, "maintenance", "0 4 * * *"),  # after the night's reconcile
    Periodic("people", people.recluster, "maintenance", "30 4 * * *"),  # faces into persons, all again
)


def cron_scheduler(connection, schedule: tuple[Periodic, ...] = SCHEDULE):
    """RQ's CronScheduler with our schedule registered (`lookingglass scheduler` runs `.start()`)."""
    from rq.cron import CronScheduler

    from lookingglass.pipeline.queue import job_path, run_job

    scheduler = CronScheduler(connection=connection, name=f"lookingglass-scheduler-{threading.get_native_id()}")
    for item in schedule:
        scheduler.register(
            run_job,
            item.queue,
            args=(job_path(item.func),),
            cron=item.cron,
            job_timeout=POLICIES[item.queue].timeout,
            name=item.name,
        )
    return scheduler


class TimerScheduler:
    """The embedded scheduler: a daemon thread that enqueues each job on the in-process queue when it is due."""

    def __init__(self, queue: Queue, schedule: tuple[Periodic, ...] = SCHEDULE) -> None:
        self.queue = queue
        self.schedule = schedule
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="scheduler")

    def next_runs(self, now: datetime | None = None) -> dict[str, datetime]:
        now = now or datetime.now(UTC)
        return {item.name: croniter(item.cron, now).get_next(datetime) for item in self.schedule}

    def start(self) -> TimerScheduler:
        self._thread.start()
        return self

    def _run(self) -> None:
        due = self.next_runs()
        while not self._stop.is_set():
            now = datetime.now(UTC)
            for item in self.schedule:
                if now >= due[item.name]:
                    log.info("running scheduled job %s", item.name)
                    self.queue.enqueue(item.queue, item.func)
                    due[item.name] = croniter(item.cron, now).get_next(datetime)
            wait = min((d - datetime.now(UTC)).total_seconds() for d in due.values())
            self._stop.wait(max(1.0, min(wait, 60.0)))

    def stop(self) -> None:
        self._stop.set()
