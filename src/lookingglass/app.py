"""The one place that picks adapters: `build(settings)` returns the wired ports.

Application code (jobs, web, CLI) receives an `App` and never asks which adapter it got.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from lookingglass.ownership import DataDirLock
from lookingglass.settings import Settings
from lookingglass.stores.objects import ObjectStore, open_object_store
from lookingglass.stores.vectors import VectorIndex, collection_name, open_vector_index
from lookingglass.vision.embed import EMBEDDERS
from lookingglass.vision.faces import FaceModels


@dataclass
class App:
    settings: Settings
    objects: ObjectStore
    faces: VectorIndex
    lock: DataDirLock | None = None
    _models: FaceModels | None = field(default=None, repr=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def models(self) -> FaceModels:
        """Face models, created on first use and shared by every thread of this process."""
        with self._models_lock:
            if self._models is None:
                self._models = FaceModels.create(
                    embedder=self.settings.embedder,
                    model_dir=self.settings.model_dir,
                    detector_threshold=self.settings.detector_threshold,
                )
            return self._models

    @property
    def match_threshold(self) -> float:
        if self.settings.match_threshold is not None:
            return self.settings.match_threshold
        return EMBEDDERS[self.settings.embedder].default_threshold

    def health(self) -> dict:
        return {"objects": _probe(self.objects.health), "faces": _probe(self.faces.health)}

    def close(self) -> None:
        self.faces.close()
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def _probe(check) -> dict:
    try:
        return check()
    except Exception as exc:  # a health check reports failure instead of failing
        return {"ok": False, "error": str(exc)}


def build(settings: Settings, role: str = "cli") -> App:
    """Open the stores the settings select. Embedded stores take the data-dir lock first (DESIGN.md §7)."""
    embedder = EMBEDDERS.get(settings.embedder)
    if embedder is None:
        from lookingglass.errors import BadInput

        raise BadInput(f"unknown LG_EMBEDDER '{settings.embedder}'; choose one of {sorted(EMBEDDERS)}")
    lock = None
    if not (settings.distributed_vectors and settings.distributed_objects):
        lock = DataDirLock(settings.data_dir, role).acquire()
    try:
        objects = open_object_store(settings)
        faces = open_vector_index(settings, collection_name(embedder.name, embedder.dim), embedder.dim)
    except BaseException:
        if lock is not None:
            lock.close()
        raise
    return App(settings=settings, objects=objects, faces=faces, lock=lock)
