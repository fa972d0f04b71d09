"""Face embedders behind one interface: `embed(rgb, detections) -> (n, dim)` L2-normalised float32.

Each embedder has its own vector space, so each gets its own collection (`faces_<name>_<dim>`) and its own
calibrated cosine threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from lookingglass.errors import ModelIntegrityError
from lookingglass.records import Detection
from lookingglass.vision.align import align_face
from lookingglass.vision.models import (
    DLIB_RESNET,
    DLIB_SHAPE5,
    SFACE,
    load_model_bytes,
    unloadable_model,
    verified_model_path,
)


class Embedder(Protocol):
    name: str
    dim: int
    default_threshold: float  # cosine similarity at or above which two faces are called the same person

    def load(self) -> None: ...

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SFaceEmbedder:
    """SFace 2021dec int8 via OpenCV. The int8 graph has a fixed batch of 1, so faces run one after another."""

    name = "sface"
    dim = 128
    default_threshold = 0.363  # OpenCV's published cosine threshold for SFace; see `lookingglass eval`

    def __init__(self, model_dir: Path | None = None) -> None:
        self._model_dir = model_dir
        self._model = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is None:
                data = np.frombuffer(load_model_bytes(SFACE, self._model_dir), dtype=np.uint8)
                with unloadable_model(SFACE.filename):
                    self._model = cv2.FaceRecognizerSF.create("onnx", data, np.empty(0, np.uint8))

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        crops = [np.ascontiguousarray(align_face(rgb, d)[..., ::-1]) for d in detections]  # SFace wants BGR
        with self._lock:
            features = [self._model.feature(crop) for crop in crops]
        return _normalise(np.vstack(features))


class DlibEmbedder:
    """dlib's ResNet (the face_recognition library's model), for seed compatibility. Batched per image by dlib."""

    name = "dlib"
    dim = 128
    # face_recognition's Euclidean 0.6 on dlib's raw vectors (norm ~1.42, measured 1.32-1.52) is cosine
    # 1 - 0.36 / (2 * 1.42**2) ~ 0.91; on the labelled photos same-person pairs score >= 0.932, others <= 0.898.
    default_threshold = 0.91

    def __init__(self, model_dir: Path | None = None, cache_dir: Path | None = None) -> None:
        self._model_dir = model_dir
        self._cache_dir = cache_dir or Path.home() / ".cache" / "lookingglass"
        self._shape = None
        self._net = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._net is None:
                try:
                    import dlib
                except ImportError as exc:
                    raise ModelIntegrityError(
                        "LG_EMBEDDER=dlib needs dlib: `make install` installs dlib-bin and face-recognition-models"
                    ) from exc
                shape_path = verified_model_path(DLIB_SHAPE5, self._model_dir, self._cache_dir)
                net_path = verified_model_path(DLIB_RESNET, self._model_dir, self._cache_dir)
                with unloadable_model(f"{DLIB_SHAPE5.filename}, {DLIB_RESNET.filename}"):
                    self._shape = dlib.shape_predictor(str(shape_path))
                    self._net = dlib.face_recognition_model_v1(str(net_path))

    def embed(self, rgb: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if not detections:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        import dlib

        shapes = dlib.full_object_detections()
        for det in detections:
            x1, y1, x2, y2 = det.box
            shapes.append(self._shape(rgb, dlib.rectangle(round(x1), round(y1), round(x2), round(y2))))
        with self._lock:
            vectors = self._net.compute_face_descriptor(np.ascontiguousarray(rgb), shapes)
        return _normalise(np.array([np.array(v) for v in vectors]))


EMBEDDERS = {"sface": SFaceEmbedder, "dlib": DlibEmbedder}
