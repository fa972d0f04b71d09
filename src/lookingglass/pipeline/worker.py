"""`lookingglass worker`: an RQ worker that loads the models once and runs jobs in its own process.

RQ's forking worker would give each job a fresh process (and lose the loaded models), so we run jobs in the worker
process itself (SimpleWorker) and keep a heartbeat going from a side thread while a job runs. The started-job
registry entry then expires ~20 s after a worker dies (SIGKILL, OOM, power cut), and RQ's registry maintenance
(run by the surviving workers every few seconds) retries the abandoned job on another worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

HEARTBEAT_EVERY = 5  # seconds between heartbeats while a job runs
HEARTBEAT_TTL = 20  # a started job whose worker stays silent this long is abandoned
WORKER_TTL = 30  # also bounds the blocking dequeue (ttl - 15 s), i.e. how often maintenance runs
MAINTENANCE_EVERY = 10

log = logging.getLogger("lookingglass.worker")


class LookingGlassWorker(SimpleWorker):
    """SimpleWorker plus a heartbeat thread during jobs, short TTLs and frequent registry maintenance."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_EVERY)
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_EVERY)
        kwargs.setdefault("name", f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job) -> int:
        return HEARTBEAT_TTL

    def execute_job(self, job, queue) -> None:
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(job, done), daemon=True, name="heartbeat")
        self.prepare_execution(job)
        beating.start()
        try:
            self.perform_job(job, queue)
        finally:
            done.set()
            beating.join(timeout=HEARTBEAT_EVERY + 1)
        self.set_state("idle")

    def _beat(self, job, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_EVERY):
            try:
                self.maintain_heartbeats(job)
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                log.warning("heartbeat failed: %s", exc)


class ThreadWorker(LookingGlassWorker):
    """A worker inside another process's thread (the owner consuming the `index` queue): no signals there."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def is_registered(connection, name_prefix: str) -> bool:
    """Whether a worker whose name starts with `name_prefix` is registered and heartbeating (for healthchecks)."""
    from rq import Worker

    return any(w.name.startswith(name_prefix) for w in Worker.all(connection=connection))
