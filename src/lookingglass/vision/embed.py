"""Face embedders behind one interface: `embed(rgb, detections) -> (n, dim)` L2-normalised float32.

Each embedder has its own vector space, so each gets its own collection (`faces_<name>_<dim>`) and its own
calibrated cosine threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from lookingglass.errors import DeviceUnavailable, ModelIntegrityError
from lookingglass.models.base import Model, onnx_session_options, unloadable
from lookingglass.models.device import Device
from lookingglass.models.registry import DLIB_RESNET, DLIB_SHAPE5, SFACE, source_of, verified_bytes, verified_path
from lookingglass.records import Detection
from lookingglass.vision.align import align_face
from lookingglass.vision.onnx_graph import batched_float_graph


class Embedder(Protocol):
    name: str
    dim: int
    default_threshold: float  # cosine similarity at or above which two faces are called the same person

    def load(self) -> object: ...

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SFaceEmbedder(Model):
    """SFace 2021dec (the pinned int8 file) through onnxruntime, every face of an image in one batch.

    The file's block-quantized weights are expanded to float once at load (vision/onnx_graph.py), so a face costs
    the network's arithmetic alone; the answers are OpenCV's FaceRecognizerSF's (the runtime this model was first
    run with) within float rounding. The session is safe to run from several threads at once: no lock."""

    name = "sface"
    dim = 128
    default_threshold = 0.363  # OpenCV's published cosine threshold for SFace; see `lookingglass eval`
    batch = 16  # faces per run: a crowd's activations stay tens of MB, not hundreds

    def __init__(self, model_dir: Path | None = None, device: str | Device = "cpu") -> None:
        super().__init__(device)
        self._model_dir = model_dir

    def cache_key(self) -> tuple[str, ...]:
        return (source_of(SFACE, self._model_dir),)

    def _load(self):
        import onnxruntime as ort

        data = verified_bytes(SFACE, self._model_dir)
        with unloadable(SFACE.filename):
            graph = batched_float_graph(data)
            options = onnx_session_options()
            # Batches vary in size: onnxruntime's arena would keep the largest batch's activations for good (RSS
            # doubled, measured), so each run allocates what it needs and gives it back.
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            options.add_session_config_entry("session.disable_prepacking", "1")  # no second copy of the weights
            session = ort.InferenceSession(graph, options, providers=self.device.onnx_providers)
        if self.device.kind == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
            raise DeviceUnavailable(f"onnxruntime could not put {SFACE.filename} on {self.device}")
        return session

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        return self.predict(rgb, detections)

    def predict(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self.load()
        name = session.get_inputs()[0].name
        # SFace takes RGB 0-255 floats, channels first (OpenCV feeds it BGR with swapRB): the crops are RGB already.
        crops = np.stack([align_face(rgb, d) for d in detections]).transpose(0, 3, 1, 2).astype(np.float32)
        features = [session.run(None, {name: crops[i : i + self.batch]})[0] for i in range(0, len(crops), self.batch)]
        return _normalise(np.vstack(features))


class DlibEmbedder(Model):
    """dlib's ResNet (the face_recognition library's model), for seed compatibility. Batched per image by dlib.

    dlib-bin is a CPU build: this model runs on the CPU whatever the device; a dlib built with CUDA uses the GPU."""

    name = "dlib"
    engine = "dlib"
    dim = 128
    # face_recognition's Euclidean 0.6 on dlib's raw vectors (norm ~1.42, measured 1.32-1.52) is cosine
    # 1 - 0.36 / (2 * 1.42**2) ~ 0.91; on the labelled photos same-person pairs score >= 0.932, others <= 0.898.
    default_threshold = 0.91

    def __init__(
        self, model_dir: Path | None = None, cache_dir: Path | None = None, device: str | Device = "cpu"
    ) -> None:
        super().__init__(device)
        self._model_dir = model_dir
        self._cache_dir = cache_dir or Path.home() / ".cache" / "lookingglass"

    def cache_key(self) -> tuple[str, ...]:
        return (source_of(DLIB_SHAPE5, self._model_dir), source_of(DLIB_RESNET, self._model_dir))

    def _load(self):
        try:
            import dlib
        except ImportError as exc:
            raise ModelIntegrityError(
                "LG_EMBEDDER=dlib needs dlib: `make install` installs dlib-bin and face-recognition-models"
            ) from exc
        if self.device.kind == "cuda" and dlib.DLIB_USE_CUDA:
            dlib.cuda.set_device(self.device.index)
        shape_path = verified_path(DLIB_SHAPE5, self._model_dir, self._cache_dir)
        net_path = verified_path(DLIB_RESNET, self._model_dir, self._cache_dir)
        with unloadable(f"{DLIB_SHAPE5.filename}, {DLIB_RESNET.filename}"):
            return dlib.shape_predictor(str(shape_path)), dlib.face_recognition_model_v1(str(net_path))

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        return self.predict(rgb, detections)

    def predict(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        import dlib

        shape, net = self.load()
        shapes = dlib.full_object_detections()
        for det in detections:
            x1, y1, x2, y2 = det.box
            shapes.append(shape(rgb, dlib.rectangle(round(x1), round(y1), round(x2), round(y2))))
        with self.exclusive():
            vectors = net.compute_face_descriptor(np.ascontiguousarray(rgb), shapes)
        return _normalise(np.array([np.array(v) for v in vectors]))


EMBEDDERS = {"sface": SFaceEmbedder, "dlib": DlibEmbedder}
