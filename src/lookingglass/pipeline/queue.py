"""Queue port: where jobs wait. Two adapters run the same plain job functions.

- `InlineQueue` (embedded default): a thread pool in this process.
- `RQQueue` (REDIS_URL set): Redis + RQ; `lookingglass worker` processes run the jobs.
Callers never ask which: the port says whether work `runs_here`, why a job `failure` happened, and builds the
`worker` / `retry_scheduler` that consume what other processes submit (RQ only; the pool has nothing to consume).

Queues are split by cost so a long video never holds up photos; each has its own timeout and retry policy.
Retries, timeouts and failure bookkeeping are properties of the queue, never of the job (jobs stay plain functions).
A job that fails on bad input (`BadInput`) is not retried: the same bytes would fail the same way.

Budgets: every queue's policy has a time and a memory budget. A job over either fails with `BudgetExceeded` (a
`BadInput`: not retried) and a plain reason. Where jobs run in threads of a process (inline, and the RQ worker's
main thread) a watchdog enforces them: every WATCH_EVERY seconds it compares each running job's elapsed time and
the process's resident memory growth since the job started with the budget, and raises `BudgetExceeded` inside the
job's thread (at its next Python step: spaCy, ONNX and ffmpeg return to Python often). In a worker RQ's own job
timeout kills an overrun too. Memory is the process's, so two jobs running at once are charged each other's growth.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from lookingglass.errors import BadInput, BudgetExceeded, Unavailable


@dataclass(frozen=True)
class QueuePolicy:
    timeout: int  # seconds a job may run (its time budget)
    retries: int  # extra attempts after a failure
    backoff: tuple[int, ...]  # seconds before each retry
    memory_mb: int = 1536  # how far a job may grow its process's resident memory (its memory budget)


POLICIES: dict[str, QueuePolicy] = {
    "faces": QueuePolicy(timeout=300, retries=3, backoff=(5, 30, 120), memory_mb=1024),
    "video": QueuePolicy(timeout=3 * 3600, retries=2, backoff=(30, 300), memory_mb=2048),
    "pages": QueuePolicy(timeout=600, retries=3, backoff=(10, 60, 300), memory_mb=1536),
    "maintenance": QueuePolicy(timeout=3600, retries=1, backoff=(300,), memory_mb=2048),
    "index": QueuePolicy(timeout=120, retries=5, backoff=(1, 5, 15, 60, 120), memory_mb=1024),
}
QUEUE_NAMES = tuple(POLICIES)
WATCH_EVERY = 0.5  # seconds between the budget watchdog's looks
SATURATED_RETRY_AFTER = 30  # seconds a caller is told to wait when every inline worker is busy and jobs wait


def policies_with(timeouts: dict[str, int], memory_mb: dict[str, int]) -> dict[str, QueuePolicy]:
    """The policies with the operator's budgets (LG_JOB_TIMEOUT_<QUEUE>, LG_JOB_MEMORY_MB_<QUEUE>) applied."""
    for name in (*timeouts, *memory_mb):
        _policy(name)  # an unknown queue name in a budget variable is a configuration error, said once at start
    return {
        name: replace(
            policy, timeout=timeouts.get(name, policy.timeout), memory_mb=memory_mb.get(name, policy.memory_mb)
        )
        for name, policy in POLICIES.items()
    }


def resident_mb() -> float:
    """This process's resident memory in MB (Linux /proc; 0 elsewhere, which turns memory budgets off)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class _OverBudget(BudgetExceeded):
    """What the watchdog raises inside a job's thread (an exception class without arguments); the job's queue turns
    it into a BudgetExceeded with the reason the watchdog wrote down."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or _WATCHDOG.reason(threading.get_ident()) or "job went over its budget")


@dataclass
class _Watched:
    queue: str
    policy: QueuePolicy
    started: float
    start_mb: float
    reason: str | None = None  # set once the watchdog has stopped the job


class BudgetWatchdog:
    """One side thread that stops jobs over their time or memory budget (see the module's docstring)."""

    def __init__(self, every: float = WATCH_EVERY) -> None:
        self._every = every
        self._lock = threading.Lock()
        self._jobs: dict[int, _Watched] = {}  # thread ident → the job it runs
        self._thread: threading.Thread | None = None

    def reason(self, ident: int) -> str | None:
        """Why the job on thread `ident` was stopped (read by the exception the watchdog raised there)."""
        with self._lock:
            job = self._jobs.get(ident)
            return job.reason if job is not None else None

    @contextlib.contextmanager
    def watching(self, queue: str, policy: QueuePolicy):
        """Run the body as a job under `policy`'s budgets; an overrun leaves the body as BudgetExceeded(reason)."""
        ident = threading.get_ident()
        watched = _Watched(queue, policy, time.monotonic(), resident_mb())
        with self._lock:
            self._jobs[ident] = watched
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True, name="lg-budgets")
                self._thread.start()
        try:
            yield watched
        except _OverBudget as exc:
            raise BudgetExceeded(watched.reason or exc.message) from None
        finally:
            with self._lock:
                self._jobs.pop(ident, None)

    def _watch(self) -> None:
        while True:
            time.sleep(self._every)
            now, memory = time.monotonic(), resident_mb()
            with self._lock:
                for ident, job in self._jobs.items():
                    if job.reason is None and (reason := _over(job, now, memory)) is not None:
                        job.reason = reason
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(_OverBudget))


def _over(job: _Watched, now: float, memory: float) -> str | None:
    if now - job.started > job.policy.timeout:
        return f"{job.queue} job went over its {job.policy.timeout} s time budget"
    if memory and memory - job.start_mb > job.policy.memory_mb:
        return (
            f"{job.queue} job went over its {job.policy.memory_mb} MB memory budget "
            f"(the process grew by {memory - job.start_mb:,.0f} MB while it ran)"
        )
    return None


_WATCHDOG = BudgetWatchdog()  # one per process: inline threads and a worker's jobs alike


def job_path(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def resolve_job(path: str) -> Callable:
    from lookingglass.pipeline.renamed_jobs import RENAMED_JOBS

    module, _, name = RENAMED_JOBS.get(path, path).rpartition(".")
    return getattr(importlib.import_module(module), name)


class JobHandle(Protocol):
    id: str
    queue: str

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the job (inline only; RQ jobs are waited for by polling their status)."""


class Queue(Protocol):
    backend: str  # a name for health and stats output only: callers ask the methods below, never this
    runs_here: bool  # whether submitted work runs in this process (a caller may wait for it; it ends with us)

    def enqueue(self, queue: str, func: Callable, *args: Any, job_id: str | None = None) -> JobHandle: ...

    def failure(self, job_ids: Sequence[str]) -> str | None:
        """Why one of the jobs submitted under these ids failed for good (retries used up, bad input), or None
        when none of them did (not submitted, waiting, running, finished, or forgotten)."""

    def worker(self, queues: Sequence[str], *, in_thread: bool = False, name: str | None = None) -> Any:
        """A worker that consumes `queues` from other processes' submissions: `.work(burst=..., ...)` runs it.
        `in_thread`: one that can run in a thread of a busy process (the owner consuming `index`). Raises
        BadInput where submitted work runs here (nothing to consume)."""

    def retry_scheduler(self, queues: Sequence[str], *, name: str) -> Any:
        """What puts `queues`' retries back once their backoff is over (`acquire_locks()` then
        `enqueue_scheduled_jobs()` each round, `release_locks()` at the end). Raises BadInput where work runs here
        (the in-process queue retries inside the job's own thread)."""

    def stats(self) -> dict:
        """Counts per queue (with `recent_job_s`, the mean run time of its latest jobs), workers with the job they
        run, the first jobs waiting and the latest failures; every job as `{id, queue, function, sha256,
        description}` (`sha256`: the object it works on, when its first argument names one)."""

    def retry_failed(self, job_id: str) -> JobHandle:
        """Queue a failed job again, same function and arguments, and drop its failure record; NotFound when no
        failed job has that id."""

    def remove_failed(self, job_id: str) -> None:
        """Drop a failed job's record (its reason goes with it); NotFound when no failed job has that id."""

    def saturated(self) -> bool: ...

    def lock(self, name: str, timeout: float) -> contextlib.AbstractContextManager:
        """A lock named `name` held by one job at a time wherever jobs run (threads here, worker processes with
        Redis); held at most `timeout` seconds, so a crashed holder cannot block the others for ever."""

    def health(self) -> dict: ...

    def close(self) -> None: ...


def _policy(queue: str) -> QueuePolicy:
    policy = POLICIES.get(queue)
    if policy is None:
        raise BadInput(f"unknown queue '{queue}'; queues are {', '.join(QUEUE_NAMES)}")
    return policy


_running = threading.local()  # the inline job this thread is running, for progress reports


def report_progress(fraction: float, stage: str = "") -> None:
    """Jobs call this during long work (a 2-hour video); `GET /queue/stats` shows it with the running job.

    The queue decides where it goes: RQ job meta in a worker, the in-process queue's table otherwise; a call outside
    any job does nothing. Jobs stay plain functions: this is the only thing they may say to the queue.
    """
    fraction = round(min(max(float(fraction), 0.0), 1.0), 3)
    report = _running.__dict__.get("report")
    if report is not None:
        report(fraction, stage)
        return
    try:
        from rq import get_current_job
    except ImportError:
        return
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = {"fraction": fraction, "stage": stage}
        with contextlib.suppress(Exception):  # progress is best effort: never fail a job over it
            job.save_meta()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


RECENT_JOBS = 20  # run times kept per queue for `recent_job_s` (what an ETA is estimated from)
WAITING_SHOWN = 20  # waiting jobs listed per queue in the stats
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def job_subject(args: Sequence[Any]) -> str | None:
    """The object a job works on: its first argument when that is a SHA-256 (every per-object job takes it first)."""
    return args[0] if args and isinstance(args[0], str) and _SHA256.match(args[0]) else None


def _job_view(job_id: str, queue: str, function: str, args: Sequence[Any], description: str) -> dict:
    return {"id": job_id, "queue": queue, "function": function, "sha256": job_subject(args), "description": description}


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


# ---------------------------------------------------------------------------------------------------------------
# Embedded: a thread pool in this process.


@dataclass
class _InlineJob:
    id: str
    queue: str
    description: str
    future: Future
    enqueued_at: float

    def result(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)


def _background_priority(nice: int) -> None:
    """Job threads run at a higher nice value than the request threads (LG_JOB_NICE), so on a busy machine the
    kernel gives lookups the CPU first; native threads a job starts (Whisper's CTranslate2 pool) inherit it. Linux
    applies setpriority to the one thread whose id it is given; elsewhere this does nothing."""
    if nice:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class InlineQueue:
    """Runs jobs in this process: the embedded shape. Same policies as RQ (timeout is advisory: threads can't be
    killed, so an overrun is recorded as a failure when the job finally ends)."""

    backend = "inline"
    runs_here = True

    def __init__(
        self,
        workers: int = 2,
        keep_failures: int = 200,
        policies: dict[str, QueuePolicy] | None = None,
        nice: int = 0,
    ) -> None:
        self.policies = policies or POLICIES
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="lg-job", initializer=_background_priority, initargs=(nice,)
        )
        self._lock = threading.Lock()
        self._counts: dict[str, Counter] = {name: Counter() for name in QUEUE_NAMES}
        self._waiting: dict[str, dict[str, float]] = {name: {} for name in QUEUE_NAMES}
        self._jobs: dict[str, dict] = {}  # job id → its view and what to run again (waiting or running)
        self._durations: dict[str, deque[float]] = {name: deque(maxlen=RECENT_JOBS) for name in QUEUE_NAMES}
        self._running: dict[str, str] = {}
        self._running_ids: dict[str, str] = {}  # thread name → job id
        self._progress: dict[str, dict] = {}
        self._failures: deque[dict] = deque(maxlen=keep_failures)
        self._ids = 0
        self._futures: set[Future] = set()
        self._named_locks: dict[str, threading.Lock] = {}
        self.workers = workers

    def enqueue(self, queue: str, func: Callable, *args: Any, job_id: str | None = None) -> _InlineJob:
        _policy(queue)
        policy = self.policies[queue]
        with self._lock:
            self._ids += 1
            job_id = job_id or f"inline-{self._ids}"
            self._waiting[queue][job_id] = time.time()
            self._counts[queue]["queued"] += 1
        description = f"{job_path(func)}{args!r}"
        with self._lock:
            view = _job_view(job_id, queue, func.__name__, args, description)
            self._jobs[job_id] = {**view, "func": func, "args": args}
        future = self._pool.submit(self._run, queue, job_id, description, policy, func, args)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget_future)
        return _InlineJob(job_id, queue, description, future, time.time())

    def _forget_future(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every job given so far (and any job those jobs queued) has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                futures = list(self._futures)
            if not futures:
                return
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait(futures, timeout=remaining)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("inline queue still busy")

    def _run(self, queue: str, job_id: str, description: str, policy: QueuePolicy, func: Callable, args: tuple):
        with self._lock:
            self._waiting[queue].pop(job_id, None)
            self._counts[queue]["queued"] -= 1
            self._counts[queue]["started"] += 1
            self._running[threading.current_thread().name] = description
            self._running_ids[threading.current_thread().name] = job_id
        thread = threading.current_thread().name
        started = time.monotonic()

        def report(fraction: float, stage: str) -> None:
            with self._lock:
                self._progress[thread] = {"fraction": fraction, "stage": stage}

        _running.report = report
        attempt = 0
        try:
            while True:
                try:
                    with _WATCHDOG.watching(queue, policy):
                        result = func(*args)
                    with self._lock:
                        self._counts[queue]["finished"] += 1
                    return result
                except BadInput as exc:
                    self._fail(queue, job_id, description, exc)
                    raise
                except Exception as exc:
                    if attempt >= policy.retries:
                        self._fail(queue, job_id, description, exc)
                        raise
                    time.sleep(min(policy.backoff[min(attempt, len(policy.backoff) - 1)], 2))  # in-process: short
                    attempt += 1
        finally:
            _running.report = None
            with self._lock:
                self._counts[queue]["started"] -= 1
                self._running.pop(thread, None)
                self._running_ids.pop(thread, None)
                self._progress.pop(thread, None)
                self._durations[queue].append(time.monotonic() - started)
                self._jobs.pop(job_id, None)

    def _fail(self, queue: str, job_id: str, description: str, exc: BaseException) -> None:
        with self._lock:
            job = self._jobs.get(job_id) or {}
            self._counts[queue]["failed"] += 1
            self._failures.append(
                {
                    "id": job_id,
                    "queue": queue,
                    "function": job.get("function"),
                    "sha256": job.get("sha256"),
                    "description": description,
                    "reason": _reason(exc),
                    "ended_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "_again": (job.get("func"), job.get("args", ())),
                }
            )

    def _take_failure(self, job_id: str) -> dict:
        """Remove the latest failure record of `job_id` (the failed count goes down with it, as RQ's registry)."""
        from lookingglass.errors import NotFound

        with self._lock:
            for failure in reversed(self._failures):
                if failure["id"] == job_id:
                    self._failures.remove(failure)
                    self._counts[failure["queue"]]["failed"] -= 1
                    return failure
        raise NotFound(f"no failed job {job_id!r}")

    def retry_failed(self, job_id: str) -> _InlineJob:
        failure = self._take_failure(job_id)
        func, args = failure["_again"]
        if func is None:
            raise BadInput(f"job {job_id} cannot be run again: what it ran was not kept")
        return self.enqueue(failure["queue"], func, *args, job_id=job_id)

    def remove_failed(self, job_id: str) -> None:
        self._take_failure(job_id)

    def stats(self) -> dict:
        now = time.time()
        with self._lock:
            queues = {}
            for name in QUEUE_NAMES:
                waiting = self._waiting[name]
                counts = self._counts[name]
                queues[name] = {
                    "queued": max(0, counts["queued"]),
                    "started": counts["started"],
                    "finished": counts["finished"],
                    "failed": counts["failed"],
                    "deferred": 0,
                    "scheduled": 0,
                    "oldest_queued_age_s": round(now - min(waiting.values()), 3) if waiting else None,
                    "recent_job_s": _mean(self._durations[name]),
                }
            waiting_jobs = [
                {k: v for k, v in self._jobs[job_id].items() if k not in ("func", "args")}
                for name in QUEUE_NAMES
                for job_id in sorted(self._waiting[name], key=self._waiting[name].get)[:WAITING_SHOWN]
                if job_id in self._jobs
            ]
            workers = [
                {"name": f"inline-{i}", "state": "busy" if i < len(self._running) else "idle"}
                for i in range(self.workers)
            ]
            for worker, thread in zip(workers, list(self._running), strict=False):
                worker["current_job"] = self._running[thread]
                running = self._jobs.get(self._running_ids.get(thread, ""))
                if running is not None:
                    worker["job"] = {k: v for k, v in running.items() if k not in ("func", "args")}
                if thread in self._progress:
                    worker["progress"] = self._progress[thread]
            failed = [{k: v for k, v in f.items() if k != "_again"} for f in self._failures]
            return {
                "backend": self.backend,
                "queues": queues,
                "workers": workers,
                "waiting": waiting_jobs,
                "failed": failed,
            }

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float):
        """One process runs every inline job, so a thread lock per name is enough."""
        with self._lock:
            named = self._named_locks.setdefault(name, threading.Lock())
        if not named.acquire(timeout=timeout):
            raise Unavailable(f"lock {name!r} still held after {timeout} s")
        try:
            yield
        finally:
            named.release()

    def saturated(self) -> bool:
        """Every worker busy and at least as many jobs waiting as there are workers: an interactive request that
        queued more work now would wait without a useful bound, so it is told to come back (503 + Retry-After)."""
        with self._lock:
            waiting = sum(len(jobs) for jobs in self._waiting.values())
            return len(self._running) >= self.workers and waiting >= self.workers

    def failure(self, job_ids: Sequence[str]) -> str | None:
        wanted = set(job_ids)
        with self._lock:
            failures = list(self._failures)
        for failure in reversed(failures):  # the latest first
            if failure["id"] in wanted:
                return failure["reason"]
        return None

    def worker(self, queues: Sequence[str], *, in_thread: bool = False, name: str | None = None) -> Any:
        raise BadInput("jobs run in this process's threads: there is no queue to consume; workers need REDIS_URL")

    def retry_scheduler(self, queues: Sequence[str], *, name: str) -> Any:
        raise BadInput("jobs run in this process's threads and retry there: nothing to schedule without REDIS_URL")

    def health(self) -> dict:
        return {"backend": self.backend, "ok": True, "workers": self.workers}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


# ---------------------------------------------------------------------------------------------------------------
# Distributed: Redis + RQ.


def run_job(path: str, *args: Any) -> Any:
    """What RQ actually runs: the job named by `path` under its queue's budgets, so that a bad input or a job over
    budget is marked not worth retrying (RQ's own timeout, the time budget, ends up the same way)."""
    from rq import get_current_job
    from rq.timeouts import JobTimeoutException

    job = get_current_job()
    queue = job.origin if job is not None else "faces"
    policy = POLICIES.get(queue, POLICIES["faces"])
    if job is not None:
        policy = replace(
            policy,
            timeout=job.timeout or policy.timeout,
            memory_mb=job.meta.get("memory_mb", policy.memory_mb),
        )
    try:
        with _WATCHDOG.watching(queue, policy):
            return resolve_job(path)(*args)
    except JobTimeoutException as exc:
        if job is not None:
            job.retries_left = 0
        raise BudgetExceeded(f"{queue} job went over its {policy.timeout} s time budget") from exc
    except BadInput:
        if job is not None:
            job.retries_left = 0  # RQ retries only while retries_left > 0; this read of bytes will never succeed
        raise


@dataclass
class _RQJob:
    id: str
    queue: str
    connection: Any

    def result(self, timeout: float | None = None) -> Any:
        """Poll until the job finishes (used by the CLI's `--wait` and by tests)."""
        from rq.job import Job, JobStatus

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = Job.fetch(self.id, connection=self.connection)
            status = job.get_status(refresh=True)
            if status == JobStatus.FINISHED:
                return job.return_value()
            if status in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED):
                raise Unavailable(f"job {self.id} {status.value}: {_failure_reason(job)}")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} still {status.value}")
            time.sleep(0.1)


def _failure_reason(job) -> str:
    result = job.latest_result()
    return _last_line(result.exc_string if result is not None else None)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no reason recorded"


def rq_job_id(job_id: str) -> str:
    """RQ (2.x) accepts only letters, digits, `_` and `-` in a job id; ours read like `process_image.<sha>`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", job_id)


def redis_connection(url: str):
    from redis import Redis

    return Redis.from_url(url, health_check_interval=10, socket_connect_timeout=5, retry_on_timeout=True)


class RQQueue:
    """Redis + RQ. Job ids are deterministic where the caller gives one, so an event delivered twice while its job
    is still waiting does not queue the work twice (and a repeat that does run is idempotent anyway)."""

    backend = "rq"
    runs_here = False

    def __init__(self, url: str, policies: dict[str, QueuePolicy] | None = None) -> None:
        from rq import Queue as RQ

        self.policies = policies or POLICIES
        self.url = url
        self.connection = redis_connection(url)
        self._queues = {name: RQ(name, connection=self.connection) for name in QUEUE_NAMES}

    def queue(self, name: str):
        _policy(name)
        return self._queues[name]

    def enqueue(self, queue: str, func: Callable, *args: Any, job_id: str | None = None) -> _RQJob:
        from redis.exceptions import RedisError
        from rq import Retry
        from rq.job import Job, JobStatus

        waiting_or_running = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.STARTED)
        _policy(queue)
        policy = self.policies[queue]
        rq_queue = self._queues[queue]
        if job_id is not None:
            job_id = rq_job_id(job_id)
        try:
            if job_id is not None:
                try:
                    existing = Job.fetch(job_id, connection=self.connection)
                    if existing.get_status(refresh=True) in waiting_or_running:
                        return _RQJob(job_id, queue, self.connection)  # the same work is waiting or running
                except Exception:  # NoSuchJobError, or a job hash from an older version: enqueue afresh
                    pass
            job = rq_queue.enqueue(
                run_job,
                job_path(func),
                *args,
                job_id=job_id,
                description=f"{func.__name__}{args!r}"[:300],
                job_timeout=policy.timeout,
                retry=Retry(max=policy.retries, interval=list(policy.backoff)),
                result_ttl=24 * 3600,
                failure_ttl=30 * 24 * 3600,
                meta={"memory_mb": policy.memory_mb},
            )
        except RedisError as exc:
            raise Unavailable(f"Redis at {self.url} refused the job: {exc}") from exc
        return _RQJob(job.id, queue, self.connection)

    def failure(self, job_ids: Sequence[str]) -> str | None:
        from rq.job import Job, JobStatus

        for job_id in job_ids:
            try:
                job = Job.fetch(rq_job_id(job_id), connection=self.connection)
            except Exception:  # NoSuchJobError: not submitted (yet), or expired
                continue
            if job.get_status(refresh=True) in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED):
                return f"job {job.id} failed: {_failure_reason(job)}"
        return None

    def worker(self, queues: Sequence[str], *, in_thread: bool = False, name: str | None = None) -> Any:
        from lookingglass.pipeline.worker import LookingGlassWorker, ThreadWorker

        for queue in queues:
            _policy(queue)
        kind = ThreadWorker if in_thread else LookingGlassWorker
        return kind(list(queues), connection=self.connection, **({"name": name} if name else {}))

    def retry_scheduler(self, queues: Sequence[str], *, name: str) -> Any:
        from rq.scheduler import RQScheduler

        return RQScheduler(list(queues), connection=self.connection, name=name)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float):
        """A Redis lock: it holds across every worker process that shares this Redis."""
        from redis.exceptions import LockError

        held = self.connection.lock(f"lookingglass:lock:{name}", timeout=timeout, blocking_timeout=timeout)
        if not held.acquire():
            raise Unavailable(f"lock {name!r} still held after {timeout} s")
        try:
            yield
        finally:
            with contextlib.suppress(LockError):  # expired meanwhile: someone else may hold it now
                held.release()

    def _failed_job(self, job_id: str):
        """The job in some queue's failed registry under `job_id`, and that queue; NotFound otherwise."""
        from rq.job import Job

        from lookingglass.errors import NotFound

        for q in self._queues.values():
            if job_id in q.failed_job_registry:
                job = Job.fetch(job_id, connection=self.connection)
                return job, q
        raise NotFound(f"no failed job {job_id!r}")

    def retry_failed(self, job_id: str) -> _RQJob:
        job, q = self._failed_job(job_id)
        job.meta.pop("progress", None)
        job.save_meta()
        q.failed_job_registry.requeue(job)  # same function and arguments, back at the end of its queue
        return _RQJob(job.id, q.name, self.connection)

    def remove_failed(self, job_id: str) -> None:
        job, q = self._failed_job(job_id)
        q.failed_job_registry.remove(job, delete_job=True)

    def saturated(self) -> bool:
        """Workers pull at their own pace and enqueueing never waits on them: an RQ queue is never full to a caller."""
        return False

    def stats(self) -> dict:
        from rq import Worker
        from rq.job import Job

        queues = {}
        failed = []
        waiting = []
        for name, q in self._queues.items():
            oldest_age = None
            first = q.get_job_ids(0, 0)
            if first:
                job = Job.fetch(first[0], connection=self.connection) if q.fetch_job(first[0]) else None
                if job is not None and job.enqueued_at is not None:
                    oldest_age = round((datetime.now(UTC) - job.enqueued_at.replace(tzinfo=UTC)).total_seconds(), 3)
            queues[name] = {
                "queued": q.count,
                "started": q.started_job_registry.count,
                "finished": q.finished_job_registry.count,
                "failed": q.failed_job_registry.count,
                "deferred": q.deferred_job_registry.count,
                "scheduled": q.scheduled_job_registry.count,
                "oldest_queued_age_s": oldest_age,
                "recent_job_s": _mean(_run_times(q.finished_job_registry, self.connection)),
            }
            for job in Job.fetch_many(q.get_job_ids(0, WAITING_SHOWN - 1), connection=self.connection):
                if job is not None:
                    waiting.append(_rq_view(job, name))
            for job_id in q.failed_job_registry.get_job_ids(0, 49):
                job = q.fetch_job(job_id)
                if job is not None:
                    failed.append(
                        {
                            **_rq_view(job, name),
                            "reason": _failure_reason(job),
                            "ended_at": job.ended_at.isoformat(timespec="seconds") if job.ended_at else None,
                        }
                    )
        workers = []
        for worker in Worker.all(connection=self.connection):
            job = worker.get_current_job()
            workers.append(
                {
                    "name": worker.name,
                    "state": str(worker.get_state()),
                    "queues": worker.queue_names(),
                    "current_job": job.description if job is not None else None,
                    "job": _rq_view(job, job.origin) if job is not None else None,
                    "progress": job.meta.get("progress") if job is not None else None,
                    "last_heartbeat": worker.last_heartbeat.isoformat(timespec="seconds")
                    if worker.last_heartbeat
                    else None,
                    "successful_jobs": worker.successful_job_count,
                    "failed_jobs": worker.failed_job_count,
                }
            )
        return {"backend": self.backend, "queues": queues, "workers": workers, "waiting": waiting, "failed": failed}

    def health(self) -> dict:
        started = time.perf_counter()
        try:
            self.connection.ping()
        except Exception as exc:
            return {"backend": self.backend, "ok": False, "url": _safe_url(self.url), "error": str(exc)}
        return {
            "backend": self.backend,
            "ok": True,
            "url": _safe_url(self.url),
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def close(self) -> None:
        self.connection.close()


def _rq_view(job, queue: str) -> dict:
    """A job as the stats show it: RQ runs `run_job(path, *args)`, so the job's own function and arguments follow."""
    args = tuple(job.args or ())
    path, rest = (args[0], args[1:]) if job.func_name.endswith(".run_job") and args else (job.func_name, args)
    return _job_view(job.id, queue, str(path).rpartition(".")[2], rest, job.description or "")


def _run_times(registry, connection) -> list[float]:
    """How long the latest finished jobs of a queue ran (seconds), from their start and end times."""
    from rq.job import Job

    ids = registry.get_job_ids(-RECENT_JOBS, -1)
    times = []
    for job in Job.fetch_many(ids, connection=connection):
        if job is not None and job.started_at is not None and job.ended_at is not None:
            times.append(max(0.0, (job.ended_at - job.started_at).total_seconds()))
    return times


def _safe_url(url: str) -> str:
    """The URL without its password, for health output."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
