"""The one place that picks adapters: `build(settings)` returns the wired ports.

Application code (jobs, web, CLI) receives an `App` and never asks which adapter it got. Two roles:
- owner (`serve`, or a CLI command when no server runs): opens every store; with embedded stores it holds the
  data-dir lock (docs/architecture.md).
- worker (`lookingglass worker`): stateless compute. It reads objects and writes faces directly when the stores are
  servers; with embedded stores its writes travel through the `index` queue to the owner (`faces` is None here;
  `graph` is None unless it is a Neo4j server).

A third, `build_accounts`, opens only the account and audit files (the admin operations). A port an App does not
hold is `Absent`: using it raises one clear error instead of an AttributeError on None. The optional stores (`faces`,
`text`, `graph`, `optout`) are None where absent, and callers check for that.

Jobs are plain functions; they find the process's App through `current()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from lookingglass.errors import BadInput, Unavailable
from lookingglass.models.device import CPU, Choice, choose
from lookingglass.pipeline.queue import InlineQueue, Queue, RQQueue, policies_with
from lookingglass.settings import Settings
from lookingglass.stores.graph import GraphStore, open_graph_store
from lookingglass.stores.objects import ObjectStore, open_object_store
from lookingglass.stores.ownership import DataDirLock
from lookingglass.stores.private.accounts import AccountStore
from lookingglass.stores.private.audit import AuditLog
from lookingglass.stores.text import TextIndex, open_text_index
from lookingglass.stores.vectors import VectorIndex, collection_name, open_vector_index
from lookingglass.vision.embed import EMBEDDERS
from lookingglass.vision.faces import FaceModels
from lookingglass.vision.tiling import Coverage

NOT_CHOSEN = Choice("cpu", CPU, "no models here")  # an App that runs no model (build_accounts)


class Absent:
    """A port this App was built without (the admin App's object store, a worker's account files): any use of it
    says which and why, instead of failing on None somewhere further on."""

    def __init__(self, port: str, why: str) -> None:
        self._port = port
        self._why = why

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and friends probe for dunders: not a use of the port
            raise AttributeError(name)
        raise Unavailable(f"no {self._port} here (asked for its `{name}`): {self._why}")

    def __repr__(self) -> str:
        return f"Absent({self._port!r})"


def _held(port) -> bool:
    return port is not None and not isinstance(port, Absent)


@dataclass
class App:
    settings: Settings
    objects: ObjectStore
    faces: VectorIndex | None  # None in a worker whose stores are embedded (the owner writes)
    queue: Queue
    accounts: AccountStore  # users, API keys, sessions and failed sign-ins (Absent in a worker: never needed)
    audit: AuditLog  # the append-only audit log beside the data (Absent in a worker: workers never write it)
    text: TextIndex | None = None  # transcript segments (and page text); None where `faces` is None
    graph: GraphStore | None = None  # the entity graph; None in a worker when it is the owner's SQLite file
    optout: VectorIndex | None = None  # faces people asked never to be indexed; opened wherever `faces` is
    persons: VectorIndex | None = None  # faces grouped into persons (people/); opened wherever `faces` is
    role: str = "owner"
    lock: DataDirLock | None = None
    device: Choice = NOT_CHOSEN  # LG_DEVICE, chosen once by build()/build_worker()
    _models: FaceModels | None = field(default=None, repr=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _transcriber: object | None = field(default=None, repr=False)
    _recognizer: object | None = field(default=None, repr=False)

    @property
    def models(self) -> FaceModels:
        """Face models, created on first use and shared by every thread of this process."""
        with self._models_lock:
            if self._models is None:
                self._models = FaceModels.create(
                    device=self.device.device,
                    embedder=self.settings.embedder,
                    model_dir=self.settings.model_dir,
                    detector_threshold=self.settings.detector_threshold,
                    coverage=Coverage(pad=self.settings.detect_pad, tile_above=self.settings.detect_tile_above),
                )
            return self._models

    @property
    def transcriber(self):
        """Speech-to-text model, created on first use (the video queue's workers are the ones that pay for it)."""
        with self._models_lock:
            if self._transcriber is None:
                from lookingglass.media.speech import Transcriber

                self._transcriber = Transcriber(self.settings.whisper_model, device=self.device.device)
            return self._transcriber

    @property
    def recognizer(self):
        """spaCy NER + entity ruler, created on first use (the pages queue's workers are the ones that pay for it)."""
        with self._models_lock:
            if self._recognizer is None:
                from lookingglass.text.entities import EntityRecognizer

                self._recognizer = EntityRecognizer.from_settings(self.settings)
            return self._recognizer

    def placements(self) -> dict[str, str]:
        """Where each model runs (retinaface, yunet, the embedder, whisper), without loading any of them."""
        detector = self.models.detector
        found = {detector.primary.name: detector.primary.placement()}
        if detector.secondary is not None:
            found[detector.secondary.name] = detector.secondary.placement()
        found[self.models.embedder.name] = self.models.embedder.placement()
        found["whisper"] = self.transcriber.placement()
        return found

    def models_line(self) -> str:
        """The start line of serve and worker: "models: retinaface cuda:0, yunet cpu (OpenCV without CUDA), ..."."""
        line = ", ".join(f"{name} {where}" for name, where in self.placements().items())
        return f"models: {line} [LG_DEVICE={self.device.requested}: {self.device.reason}]"

    @property
    def match_threshold(self) -> float:
        if self.settings.match_threshold is not None:
            return self.settings.match_threshold
        return EMBEDDERS[self.settings.embedder].default_threshold

    @property
    def writes_directly(self) -> bool:
        """Whether this process may write the vector index itself (else: through the `index` queue)."""
        return self.faces is not None

    def health(self) -> dict:
        checks = {"objects": _probe(self.objects.health), "queue": _probe(self.queue.health)}
        if self.faces is not None:
            checks["faces"] = _probe(self.faces.health)
        if self.text is not None:
            checks["text"] = _probe(self.text.health)
        if self.graph is not None:
            checks["graph"] = _probe(self.graph.health)
        return checks

    def close(self) -> None:
        global _current
        if _current is self:
            _current = None
        for port in (self.queue, self.faces, self.optout, self.persons, self.text, self.graph):
            if _held(port):
                port.close()
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def _probe(check) -> dict:
    """Run one backend's health check, timed; a check that raises reports failure instead of failing."""
    started = time.perf_counter()
    try:
        result = dict(check())
    except Exception as exc:
        result = {"ok": False, "error": str(exc)}
    result.setdefault("latency_ms", round((time.perf_counter() - started) * 1000, 2))
    return result


def _embedder(settings: Settings):
    embedder = EMBEDDERS.get(settings.embedder)
    if embedder is None:
        raise BadInput(f"unknown LG_EMBEDDER '{settings.embedder}'; choose one of {sorted(EMBEDDERS)}")
    return embedder


def _queue(settings: Settings) -> Queue:
    policies = policies_with(settings.job_timeouts, settings.job_memory_mb)  # LG_JOB_TIMEOUT_*, LG_JOB_MEMORY_MB_*
    if settings.redis_url:
        return RQQueue(settings.redis_url, policies=policies)
    return InlineQueue(workers=settings.inline_workers, policies=policies, nice=settings.job_nice)


def build(settings: Settings, role: str = "cli") -> App:
    """The owner's App: every store opened; embedded stores take the data-dir lock first."""
    embedder = _embedder(settings)
    device = choose(settings.device, settings.cuda_visible_devices)  # LG_DEVICE=cuda without a GPU stops here
    lock = DataDirLock(settings.data_dir, role).acquire() if settings.embedded_stores else None
    opened: list = []
    try:
        objects = open_object_store(settings)
        faces = open_vector_index(settings, collection_name(embedder.name, embedder.dim), embedder.dim)
        opened.append(faces)
        optout = open_vector_index(settings, collection_name(embedder.name, embedder.dim, "optout"), embedder.dim)
        opened.append(optout)
        persons = open_vector_index(settings, collection_name(embedder.name, embedder.dim, "persons"), embedder.dim)
        opened.append(persons)
        text = open_text_index(settings)
        opened.append(text)
        graph = open_graph_store(settings)
        opened.append(graph)
        queue = _queue(settings)
        accounts = AccountStore.open(settings.data_dir)
        audit = AuditLog.open(settings.data_dir)
    except BaseException:
        for store in reversed(opened):
            store.close()
        if lock is not None:
            lock.close()
        raise
    return use(
        App(
            settings=settings,
            objects=objects,
            faces=faces,
            queue=queue,
            accounts=accounts,
            audit=audit,
            text=text,
            graph=graph,
            optout=optout,
            persons=persons,
            role="owner",
            lock=lock,
            device=device,
        )
    )


ADMIN_ONLY = "this App (build_accounts) opens only the account and audit files, for the admin operations"
WORKERS_ONLY_COMPUTE = "a worker computes; the owner (`serve`, or the CLI) answers for users and writes the audit log"


def build_accounts(settings: Settings) -> App:
    """An App for the admin operations only (`accounts` and `audit`): those files are made for several processes
    (private_sqlite), so no store is opened and no data-dir lock taken, and users can be managed beside whatever
    owns the data dir. Its object store and queue are `Absent`, its optional stores None: nothing else may be asked
    of it."""
    return App(
        settings=settings,
        objects=Absent("object store", ADMIN_ONLY),  # type: ignore[arg-type]
        faces=None,
        queue=Absent("queue", ADMIN_ONLY),  # type: ignore[arg-type]
        accounts=AccountStore.open(settings.data_dir),
        audit=AuditLog.open(settings.data_dir),
        role="accounts",
    )


def build_worker(settings: Settings) -> App:
    """A worker's App: no lock; the vector index only when it is a server."""
    embedder = _embedder(settings)
    if not settings.redis_url:
        raise BadInput("a worker needs REDIS_URL: without it, jobs run inside `serve` or the CLI")
    device = choose(settings.device, settings.cuda_visible_devices)
    faces = text = optout = persons = None
    if settings.distributed_vectors:
        faces = open_vector_index(settings, collection_name(embedder.name, embedder.dim), embedder.dim)
        optout = open_vector_index(settings, collection_name(embedder.name, embedder.dim, "optout"), embedder.dim)
        persons = open_vector_index(settings, collection_name(embedder.name, embedder.dim, "persons"), embedder.dim)
        text = open_text_index(settings)
    return use(
        App(
            settings=settings,
            objects=open_object_store(settings),
            faces=faces,
            text=text,
            optout=optout,
            persons=persons,
            graph=open_graph_store(settings) if settings.distributed_graph else None,
            queue=_queue(settings),
            accounts=Absent("account store", WORKERS_ONLY_COMPUTE),  # type: ignore[arg-type]
            audit=Absent("audit log", WORKERS_ONLY_COMPUTE),  # type: ignore[arg-type]
            role="worker",
            device=device,
        )
    )


_current: App | None = None


def use(app: App) -> App:
    """Make `app` the one jobs in this process run against."""
    global _current
    _current = app
    return app


def current() -> App:
    """The App jobs run against: the owner's or the worker's; built as a worker from env if nothing was set up
    (a plain `rq worker` process)."""
    if _current is None:
        return build_worker(Settings.from_env())
    return _current
