"""One way to hold a model: verified files become a runtime object lazily, once per process, shared by every user.

Each model class says how to build its runtime from verified files (`_load`) and how to run it (`predict`); this
base decides when loading happens and keeps what was loaded, in one process-wide cache keyed by the class, the
device and the class's `cache_key()` (which files, which options). So two FaceModels, or two Transcribers, in one
process share the same weights, and two threads asking at once load them once. Runtimes that keep per-call state
(OpenCV's detectors, dlib, spaCy) are used under `exclusive()`, a lock that travels with the shared runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from lookingglass.errors import ModelIntegrityError
from lookingglass.models.device import Device, placement, resolve_device

R = TypeVar("R")


@dataclass(frozen=True)
class _Loaded:
    runtime: Any
    lock: threading.Lock  # taken by `exclusive()`, whichever instance holds the runtime


_LOADED: dict[tuple[Hashable, ...], _Loaded] = {}
_LOADING: dict[tuple[Hashable, ...], threading.Lock] = {}  # one lock per key: loading one model never waits for another
_GUARD = threading.Lock()


class Model(Generic[R]):
    """A model: `load()` once per process (thread-safe; lazily, on the first `predict()`), then `predict(...)`."""

    name: str = "model"
    engine: ClassVar[str] = "onnxruntime"  # the runtime that runs it: decides where it really runs (`placement`)

    def __init__(self, device: str | Device = "cpu") -> None:
        self.device = resolve_device(device)
        self._entry: _Loaded | None = None

    def placement(self) -> str:
        """Where this model runs: "cpu", "cuda:0", or "cpu (OpenCV without CUDA)" when its runtime cannot follow the
        device (/health and the start lines say it per model)."""
        return placement(self.device, self.engine)

    def cache_key(self) -> tuple[Hashable, ...]:
        """What, besides the class and the device, decides the loaded runtime: the files and the options."""
        return ()

    def _load(self) -> R:
        """Verify the files and build the runtime object (called once per process and cache key)."""
        raise NotImplementedError

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Run the model (loading it first if this process has not yet)."""
        raise NotImplementedError

    def load(self) -> R:
        """The loaded runtime; the first call in the process verifies and loads it, later ones reuse it."""
        return self._loaded().runtime

    @contextmanager
    def exclusive(self) -> Iterator[R]:
        """The runtime, held by this thread alone, for runtimes that are not safe to call from two threads."""
        entry = self._loaded()
        with entry.lock:
            yield entry.runtime

    def _loaded(self) -> _Loaded:
        entry = self._entry
        if entry is not None:
            return entry
        key = (type(self).__module__, type(self).__qualname__, str(self.device), *self.cache_key())
        with _GUARD:
            loading = _LOADING.setdefault(key, threading.Lock())
        with loading:
            entry = _LOADED.get(key)
            if entry is None:
                entry = _Loaded(self._load(), threading.Lock())
                _LOADED[key] = entry
        self._entry = entry
        return entry


@contextmanager
def unloadable(name: str) -> Iterator[None]:
    """Turn a runtime's parse failure (a verified file that is not a model it can run) into our error."""
    try:
        yield
    except ModelIntegrityError:
        raise
    except Exception as exc:  # cv2.error, onnxruntime's, dlib's and CTranslate2's errors have no common base
        raise ModelIntegrityError(f"model {name} passed its SHA-256 check but could not be loaded: {exc}") from exc


def onnx_session_options() -> Any:
    """onnxruntime options for every session we open: quiet, and one thread per run unless LG_MODEL_THREADS says.

    Ingest runs LG_INLINE_WORKERS images at once (and RQ workers one each): a run per core beats every run
    spreading over every core, where the threads of two runs fight and spin (measured in bench/README.md)."""
    import os

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    raw = os.environ.get("LG_MODEL_THREADS", "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        from lookingglass.errors import BadInput

        raise BadInput(f"LG_MODEL_THREADS={raw!r}: expected a whole number from 1 to 64")
    threads = int(raw)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if threads > 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
