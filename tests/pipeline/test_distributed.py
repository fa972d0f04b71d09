"""The distributed shape as `make stack` runs it: a real redis-server, `lookingglass serve` (the owner of an embedded
data dir) and two `lookingglass worker` processes — then faults: a worker SIGKILLed mid-job, duplicate and
out-of-order bucket events, a poison file, transient failures (retried after their backoff), Redis restarted
during a run.

Each test starts its own stack on a fresh data dir and Redis (about a second: the models are small), so queue
counts are exact. The expected faces come from the same models run in this process. When a test fails, the
processes' logs are attached to the failure.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import requests

from lookingglass.media.decode import decode_image
from lookingglass.stores.ownership import read_server_info
from lookingglass.vision.embed import EMBEDDERS
from lookingglass.vision.faces import similarity
from redis_server import REDIS_SERVER, RedisServer, free_port, redis_available
from waiting import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_available(), reason=f"redis-server not found at {REDIS_SERVER} (apt install it)"),
]

TESTS = Path(__file__).resolve().parents[1]  # the helper modules (slow_jobs) the workers import
TOKEN = "secret"
THRESHOLD = EMBEDDERS["sface"].default_threshold
HELD_OUT = ("obama2.jpg", "biden2.jpg", "johnsnow_test1.jpg")  # lookup queries, never uploaded
SERVER_ENV = ("QDRANT_URL", "QDRANT_HOST", "S3_ENDPOINT", "MINIO_ENDPOINT")  # the stack's stores stay embedded


# ---------------------------------------------------------------------------------------------------------------
# The stack: real processes, logs in files, everything killed at the end.


class Stack:
    """redis-server + `lookingglass serve` + N `lookingglass worker` on one embedded data dir."""

    def __init__(self, root: Path, redis: RedisServer, workers: int = 2) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.redis = redis
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.worker_count = workers
        env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV and not k.startswith("LG_")}  # defaults
        pythonpath = [str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
        self.env = {
            **env,
            "LG_DATA_DIR": str(self.data_dir),
            "REDIS_URL": redis.url,
            "LG_EVENTS_TOKEN": TOKEN,
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}
        self._connection = None

    # processes

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = self.root / f"{name}.log"
        self._logs[name] = log
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "lookingglass.cli", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: RQ's scheduler child is killed with it
            )
        self.processes[name] = process
        return process

    def start(self) -> Stack:
        self.spawn("serve", "serve", "--port", str(self.port))
        for i in range(1, self.worker_count + 1):
            self.spawn(f"worker-{i}", "worker")
        self.wait_ready()
        return self

    @property
    def workers(self) -> dict[str, subprocess.Popen]:
        return {name: p for name, p in self.processes.items() if name.startswith("worker") and p.poll() is None}

    def wait_ready(self, timeout: float = 120) -> None:
        def ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited with {process.returncode}")
            try:
                if requests.get(self.url + "/health", timeout=5).status_code != 200:
                    return False
            except requests.ConnectionError:
                return False
            return {p.pid for p in self.workers.values()} <= set(self.registered_workers())

        wait_for(ready, timeout, "serve and the workers to start")

    def registered_workers(self) -> dict[int, object]:
        """pid → rq Worker, for the workers registered in Redis."""
        from rq import Worker

        return {w.pid: w for w in Worker.all(connection=self.connection)}

    @property
    def connection(self):
        if self._connection is None:
            from lookingglass.pipeline.queue import redis_connection

            self._connection = redis_connection(self.redis.url)
        return self._connection

    def stop(self) -> None:
        alive = [p for p in self.processes.values() if p.poll() is None]
        for process in alive:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for process in alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # what is left: a stuck process, RQ's scheduler children
            process.wait(10)
        if self._connection is not None:
            self._connection.close()

    def logs(self, tail: int = 60) -> str:
        parts = []
        for name, path in self._logs.items():
            lines = path.read_text(errors="replace").splitlines()[-tail:] if path.exists() else []
            parts.append(f"----- {name} ({path}) -----\n" + "\n".join(lines))
        parts.append(f"----- redis ({self.redis.log_path}) -----\n{self.redis.log(tail)}")
        return "\n".join(parts)

    # the HTTP API, as the CLI on this machine calls it

    @property
    def headers(self) -> dict[str, str]:
        """The local token from server.json (a new one each time serve starts)."""
        info = read_server_info(self.data_dir)
        assert info is not None, "serve is not running"
        return {"Authorization": f"Bearer {info.token}"}

    def upload(self, photos: list[tuple[str, bytes]]) -> list[dict]:
        files = [("file", (name, data)) for name, data in photos]
        response = requests.post(self.url + "/objects", files=files, headers=self.headers, timeout=60)
        assert response.status_code == 202, response.text
        return response.json()["objects"]

    def object(self, sha: str) -> dict | None:
        response = requests.get(f"{self.url}/objects/{sha}", headers=self.headers, timeout=30)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def processed(self, sha: str) -> dict | None:
        """The object's record once its faces are stored, else None."""
        obj = self.object(sha)
        return obj if obj is not None and "sface" in (obj["metadata"].get("processed") or {}) else None

    def delete(self, sha: str) -> dict:
        response = requests.delete(f"{self.url}/objects/{sha}", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def lookup(self, data: bytes) -> list[dict]:
        """Every face of the photo with its matches (top 50 at the embedder's threshold)."""
        response = requests.post(
            self.url + "/lookup",
            files={"image": ("query.jpg", data)},
            data={"top_k": "50", "threshold": str(THRESHOLD)},
            headers=self.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()["faces"]

    def matched(self, data: bytes) -> set[str]:
        return {m["sha256"] for face in self.lookup(data) for m in face["matches"]}

    def stats(self) -> dict:
        response = requests.get(self.url + "/queue/stats", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def event(self, action: str, key: str) -> list[dict]:
        """A bucket notification as MinIO sends it (URL-encoded key), through the webhook."""
        name = "s3:ObjectCreated:Put" if action == "created" else "s3:ObjectRemoved:Delete"
        record = {"eventName": name, "s3": {"bucket": {"name": "lookingglass"}, "object": {"key": quote_plus(key)}}}
        response = requests.post(
            self.url + "/events/minio",
            json={"EventName": name, "Key": f"lookingglass/{key}", "Records": [record]},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["events"]

    def idle(self) -> bool:
        """Nothing waiting, running, scheduled or deferred on any queue."""
        busy = ("queued", "started", "scheduled", "deferred")
        return all(q[k] == 0 for q in self.stats()["queues"].values() for k in busy)

    def wait_processed(self, shas, timeout: float = 120) -> dict[str, dict]:
        records: dict[str, dict] = {}

        def done():
            for sha in shas:
                if sha not in records and (obj := self.processed(sha)) is not None:
                    records[sha] = obj
            return len(records) == len(set(shas))

        wait_for(done, timeout, lambda: f"{len(set(shas)) - len(records)} of {len(set(shas))} objects to be processed")
        return records

    def wait_idle(self, timeout: float = 120) -> None:
        wait_for(self.idle, timeout, lambda: f"the queues to drain: {self.stats()['queues']}")


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def shows_logs(test):
    """Attach the stack's process logs to a failing test's report."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except BaseException as exc:
            for value in kwargs.values():
                if isinstance(value, Stack):
                    exc.add_note(value.logs())
            raise

    return wrapper


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path: Path, redis_server: RedisServer):
    running = Stack(tmp_path, redis_server)
    try:
        running.start()
    except BaseException as exc:
        exc.add_note(running.logs())
        running.stop()
        raise
    yield running
    running.stop()


# ---------------------------------------------------------------------------------------------------------------
# Photos and what the models find in them, computed here in-process.


@pytest.fixture(scope="module")
def photos(faces_dir: Path, labels: dict) -> dict[str, bytes]:
    """20 distinct photos of the labelled identities (file name → bytes), without the held-out queries."""
    paths = [faces_dir / p for ps in labels["identities"].values() for p in ps if Path(p).name not in HELD_OUT]
    chosen = {p.name: p.read_bytes() for p in paths[:20]}
    originals = list(chosen.items())
    for i in range(20 - len(chosen)):  # a smaller photo set: distinct bytes (so a new sha), the same pixels
        name, data = originals[i % len(originals)]
        chosen[f"variant{i}-{name}"] = data + b"\0lookingglass test variant %d" % i
    assert len({hashlib.sha256(d).hexdigest() for d in chosen.values()}) == 20
    return chosen


@pytest.fixture(scope="module")
def queries(faces_dir: Path, labels: dict) -> dict[str, bytes]:
    paths = [faces_dir / p for ps in labels["identities"].values() for p in ps]
    return {p.name: p.read_bytes() for p in paths if p.name in HELD_OUT}


class Expected:
    """Faces per photo as the models find them in this process: the fault-free result."""

    def __init__(self, models) -> None:
        self.models = models
        self._faces: dict[str, list] = {}

    def faces(self, data: bytes) -> list:
        sha = sha256(data)
        if sha not in self._faces:
            self._faces[sha] = self.models.find_faces(decode_image(data).rgb)
        return self._faces[sha]

    def count(self, data: bytes) -> int:
        return len(self.faces(data))

    def matches(self, query: bytes, indexed: dict[str, bytes]) -> set[str]:
        """The shas of `indexed` photos with a face at or above the threshold for some face of `query`."""
        return {
            sha
            for sha, data in indexed.items()
            for q in self.faces(query)
            for f in self.faces(data)
            if similarity(q.embedding, f.embedding) >= THRESHOLD
        }


@pytest.fixture(scope="module")
def expected(models) -> Expected:
    return Expected(models)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def truncated(data: bytes) -> bytes:
    """A JPEG cut in half: the right magic bytes (so it is stored), undecodable (so its job fails)."""
    assert data[:3] == b"\xff\xd8\xff"
    return data[: len(data) // 2]


# ---------------------------------------------------------------------------------------------------------------
# 1. End to end through the API, with two workers.


@shows_logs
def test_uploads_are_indexed_once_by_two_workers_and_deletes_remove_their_faces(
    stack, photos, queries, expected, faces_dir
):
    objects = stack.upload(list(photos.items()))

    assert [o["filename"] for o in objects] == list(photos)
    by_sha = {o["sha256"]: photos[o["filename"]] for o in objects}
    assert all(o["job"] for o in objects) and "faces" not in objects[0]  # queued, not processed inline
    records = stack.wait_processed(by_sha)
    stack.wait_idle()
    for sha, data in by_sha.items():
        assert records[sha]["faces"] == expected.count(data), f"{sha} indexed with a different number of faces"
        assert records[sha]["metadata"]["processed"]["sface"]["faces"] == expected.count(data)
    stats = stack.stats()
    assert stats["queues"]["faces"]["finished"] == 20  # each object processed once ...
    assert stats["queues"]["index"]["finished"] == 20  # ... and stored once, by the owner
    assert stats["queues"]["faces"]["failed"] == stats["queues"]["index"]["failed"] == 0
    assert stats["failed"] == []
    busy_workers = [w for w in stats["workers"] if w["queues"] != ["index"] and w["successful_jobs"]]
    assert len(busy_workers) == 2, "both workers should have taken jobs"

    for name, query in queries.items():
        found = stack.matched(query)
        assert found == expected.matches(query, by_sha), name
        assert found, f"{name} should find its person among the uploads"

    deleted = list(by_sha)[:5]
    for sha in deleted:
        assert stack.delete(sha)["faces_removed"] == expected.count(by_sha[sha])
    kept = {sha: data for sha, data in by_sha.items() if sha not in deleted}

    for sha in deleted:
        assert stack.object(sha) is None
        assert sha not in stack.matched(by_sha[sha])  # the photo itself no longer finds itself
    for name, query in queries.items():
        assert stack.matched(query) == expected.matches(query, kept), name
    assert sum(stack.object(sha)["faces"] for sha in kept) == sum(expected.count(d) for d in kept.values())


# ---------------------------------------------------------------------------------------------------------------
# 2. A worker SIGKILLed in the middle of a job.


@shows_logs
def test_a_page_is_read_by_a_worker_and_its_entities_land_in_the_owners_graph(stack):
    """The graph is the owner's SQLite file: the worker extracts, the `index` queue carries the result to serve."""
    page = (TESTS / "data" / "graph_corpus" / "calder-board.html").read_bytes()
    (obj,) = stack.upload([("calder-board.html", page)])
    assert obj["kind"] == "page"

    def graphed():
        found = stack.object(obj["sha256"])
        return found is not None and "graph" in (found["metadata"].get("processed") or {})

    wait_for(graphed, 120, "the page's entities to be stored")
    entities = requests.get(f"{stack.url}/entities", params={"q": "Calder"}, headers=stack.headers, timeout=30)
    assert any(e["type"] == "ORG" for e in entities.json()["entities"])
    search = {"q": "Calder", "kind": "page"}
    hits = requests.get(f"{stack.url}/search", params=search, headers=stack.headers, timeout=30)
    assert hits.json()["hits"][0]["sha256"] == obj["sha256"]

    stack.delete(obj["sha256"])
    after = requests.get(f"{stack.url}/entities", params={"q": "Calder"}, headers=stack.headers, timeout=30)
    assert after.json()["entities"] == []
    assert stack.stats()["failed"] == []


@shows_logs
def test_a_job_whose_worker_is_killed_is_rerun_by_the_other_worker(stack, photos, expected):
    from rq.job import Job, JobStatus

    from lookingglass.media.sniff import sniff_media
    from lookingglass.pipeline.queue import RQQueue
    from lookingglass.stores.objects import LocalObjectStore
    from slow_jobs import slow_process

    name, data = next(iter(photos.items()))
    ext, content_type, kind = sniff_media(data, name)
    # Stored, not yet processed: the killed job is the only thing that will index it.
    obj = LocalObjectStore(stack.data_dir / "objects").put(data, ext=ext, content_type=content_type, kind=kind)
    assert stack.object(obj.sha256)["faces"] == 0

    job_id = RQQueue(stack.redis.url).enqueue("faces", slow_process, obj.sha256, 8).id

    def taken_by():
        return next((w for w in stack.registered_workers().values() if w.get_current_job_id() == job_id), None)

    first = wait_for(taken_by, 30, "a worker to take the slow job")
    (victim,) = [(n, p) for n, p in stack.workers.items() if p.pid == first.pid]
    time.sleep(1.0)  # well inside the 8 s job
    os.kill(first.pid, signal.SIGKILL)
    killed_at = time.time()
    assert victim[1].wait(10) == -signal.SIGKILL
    assert stack.processed(obj.sha256) is None  # the job died before it could store anything

    def finished():
        job = Job.fetch(job_id, connection=stack.connection)
        status = job.get_status(refresh=True)
        assert status not in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED), job.exc_info
        return job if status == JobStatus.FINISHED else None

    job = wait_for(finished, 120, "the abandoned job to be retried and finish", every=0.5)
    assert job.worker_name != first.name, "re-run by the other worker"
    assert job.return_value()["faces"] == expected.count(data)
    record = stack.wait_processed([obj.sha256])[obj.sha256]
    stack.wait_idle()
    assert record["faces"] == expected.count(data)  # the fault-free result, no duplicates
    processed_at = datetime.fromisoformat(record["metadata"]["processed"]["sface"]["at"]).timestamp()
    assert processed_at >= int(killed_at), "stored by the re-run, after the kill"
    print(f"killed at +1 s; the job finished {time.time() - killed_at:.1f} s after the kill")


# ---------------------------------------------------------------------------------------------------------------
# 3. Bucket notifications: duplicates, out of order, files dropped into the store.


@shows_logs
def test_a_created_event_delivered_twice_leaves_one_set_of_faces(stack, photos, expected):
    name, data = list(photos.items())[1]
    (obj,) = stack.upload([(name, data)])

    for _ in range(2):  # while the upload's own job is queued or running
        (answer,) = stack.event("created", obj["key"])
        assert "job" in answer or answer.get("skipped") == "already processed"
    stack.wait_processed([obj["sha256"]])
    stack.wait_idle()
    for _ in range(2):  # and after it is done
        (answer,) = stack.event("created", obj["key"])
        assert answer["skipped"] == "already processed"
    stack.wait_idle()

    assert stack.object(obj["sha256"])["faces"] == expected.count(data)
    hits = [m for face in stack.lookup(data) for m in face["matches"] if m["sha256"] == obj["sha256"]]
    assert len(hits) == expected.count(data)  # each face of the photo finds itself once
    assert stack.stats()["failed"] == []


@shows_logs
def test_events_out_of_order_leave_nothing_for_a_removed_object(stack, photos):
    (name_b, data_b), (name_c, data_c) = list(photos.items())[2:4]
    (b,) = stack.upload([(name_b, data_b)])
    stack.wait_processed([b["sha256"]])
    stack.delete(b["sha256"])

    stack.event("removed", b["key"])  # the removal's notification overtakes the creation's
    stack.event("created", b["key"])

    (c,) = stack.upload([(name_c, data_c)])  # removed while its job is still waiting or running
    stack.delete(c["sha256"])
    stack.event("created", c["key"])
    stack.event("removed", c["key"])
    stack.wait_idle()

    for obj, data in ((b, data_b), (c, data_c)):
        assert stack.object(obj["sha256"]) is None
        assert obj["sha256"] not in stack.matched(data)
    assert not (stack.data_dir / "objects" / b["key"]).exists()
    assert stack.stats()["failed"] == []


@shows_logs
def test_a_file_dropped_into_the_store_is_ingested_and_forgotten_by_events(stack, photos, expected):
    data = list(photos.values())[4]
    dropped = stack.data_dir / "objects" / "incoming" / "x.jpg"
    dropped.parent.mkdir(parents=True)
    dropped.write_bytes(data)
    url = dropped.resolve().as_uri()

    (answer,) = stack.event("created", "incoming/x.jpg")
    assert "job" in answer
    record = stack.wait_processed([sha256(data)])[sha256(data)]
    stack.wait_idle()

    assert record["metadata"]["source_urls"] == [url]
    assert record["faces"] == expected.count(data)
    matches = [m for face in stack.lookup(data) for m in face["matches"] if m["sha256"] == sha256(data)]
    assert matches and all(m["source_url"] == url for m in matches)

    dropped.unlink()
    stack.event("removed", "incoming/x.jpg")
    wait_for(lambda: stack.object(sha256(data)) is None, 60, "the dropped file's object to be forgotten")
    stack.wait_idle()
    assert sha256(data) not in stack.matched(data)
    assert stack.stats()["failed"] == []


# ---------------------------------------------------------------------------------------------------------------
# 4. A poison file among good ones.


@shows_logs
def test_a_poison_file_fails_once_with_its_reason_and_the_rest_of_the_batch_finishes(stack, photos, expected):
    from rq.job import Job, JobStatus

    jpegs = [(n, d) for n, d in photos.items() if d[:3] == b"\xff\xd8\xff"]
    (bad_name, bad_source), *good = jpegs[5:9]
    batch = [good[0], (f"truncated-{bad_name}", truncated(bad_source)), *good[1:]]

    objects = stack.upload(batch)

    assert all("sha256" in o for o in objects), "a truncated JPEG looks like a JPEG: it is stored"
    poison = objects[1]
    good_shas = {o["sha256"]: d for o, (_, d) in zip(objects, batch, strict=True) if o is not poison}
    records = stack.wait_processed(good_shas)
    for sha, data in good_shas.items():
        assert records[sha]["faces"] == expected.count(data)

    def failure():
        return next((f for f in stack.stats()["failed"] if poison["sha256"] in (f["description"] or "")), None)

    failed = wait_for(failure, 60, "the poison file's job in the failed registry")
    assert failed["queue"] == "faces"
    assert "truncated" in failed["reason"] or "corrupt" in failed["reason"], failed["reason"]
    assert "BadInput" not in failed["reason"]  # the reason in plain words, not a Python exception name

    time.sleep(7)  # past the first retry's backoff (5 s): a retry would show by now
    stats = stack.stats()
    faces = stats["queues"]["faces"]
    assert (faces["failed"], faces["scheduled"], faces["queued"], faces["started"]) == (1, 0, 0, 0)
    assert faces["finished"] == 3
    assert sum(w["failed_jobs"] for w in stats["workers"]) == 1, "run once, not retried"
    job = Job.fetch(poison["job"], connection=stack.connection)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    record = stack.object(poison["sha256"])
    assert record["faces"] == 0 and "processed" not in record["metadata"]


@shows_logs
def test_a_transient_failure_is_retried_after_its_backoff_on_the_workers_and_on_the_owner(stack):
    from rq.job import Job, JobStatus

    from lookingglass.pipeline.queue import RQQueue
    from slow_jobs import fail_once

    queue = RQQueue(stack.redis.url)
    # `faces` runs in the workers, whose RQ scheduler moves retries back after the backoff (5 s); `index` runs in
    # serve, which does that for its own queue (1 s).
    handles = {name: queue.enqueue(name, fail_once, str(stack.root / f"failed-{name}")) for name in ("faces", "index")}

    def done():
        statuses = {n: Job.fetch(h.id, connection=stack.connection).get_status() for n, h in handles.items()}
        assert JobStatus.FAILED not in statuses.values(), statuses
        return all(s == JobStatus.FINISHED for s in statuses.values())

    wait_for(done, 60, "both retries to run")
    for handle in handles.values():
        assert handle.result(timeout=5) == "ok on retry"
    assert stack.stats()["failed"] == []


# ---------------------------------------------------------------------------------------------------------------
# 5. Redis restarted while jobs are queued and running.


@shows_logs
def test_redis_restarted_during_a_run_loses_nothing(stack, photos, expected):
    from rq.job import Job, JobStatus

    from lookingglass.media.sniff import sniff_media
    from lookingglass.pipeline.queue import RQQueue
    from lookingglass.stores.objects import LocalObjectStore
    from slow_jobs import nothing, slow_process

    items = list(photos.items())
    first, second, slow_photos = items[:10], items[10:16], items[16:18]
    store = LocalObjectStore(stack.data_dir / "objects")
    queue = RQQueue(stack.redis.url)
    slow_shas = []
    for name, data in slow_photos:  # stored, then processed only by a slow job: both workers busy for a while
        ext, content_type, kind = sniff_media(data, name)
        slow_shas.append(store.put(data, ext=ext, content_type=content_type, kind=kind).sha256)
    slow = [queue.enqueue("faces", slow_process, sha, 6).id for sha in slow_shas]

    def running():
        return all(Job.fetch(j, connection=stack.connection).get_status() == JobStatus.STARTED for j in slow)

    wait_for(running, 60, "both workers to be inside a slow job")
    objects = stack.upload(first)  # these wait in the queue ...
    assert stack.stats()["queues"]["faces"]["queued"] >= 8
    stack.redis.restart(down_for=1.0)  # ... while Redis goes away and comes back from its append-only file
    objects += stack.upload(second)  # the owner reconnects too

    by_sha = {o["sha256"]: d for o, (_, d) in zip(objects, first + second, strict=True)}
    by_sha.update({sha: data for sha, (_, data) in zip(slow_shas, slow_photos, strict=True)})
    records = stack.wait_processed(by_sha)
    stack.wait_idle()

    for sha, data in by_sha.items():
        assert records[sha]["faces"] == expected.count(data)
        assert stack.object(sha)["faces"] == expected.count(data)
    assert all(Job.fetch(j, connection=stack.connection).is_finished for j in slow)
    stats = stack.stats()
    assert stats["failed"] == []
    assert stats["queues"]["faces"]["finished"] == 18  # 16 uploads + 2 slow jobs, each once
    assert stats["queues"]["index"]["finished"] == 18
    assert len(stack.workers) == 2, "both workers survived the outage"
    assert {p.pid for p in stack.workers.values()} <= set(stack.registered_workers())

    # RQ's scheduler (a worker's child process, which moves retries due after a backoff back to their queue) dies
    # when Redis goes away; its worker restarts it. A job scheduled now must still run.
    later = queue.queue("faces").enqueue_in(timedelta(seconds=1), nothing)
    wait_for(lambda: Job.fetch(later.id, connection=stack.connection).is_finished, 90, "a scheduled job to run")
