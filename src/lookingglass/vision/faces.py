"""The vision vocabulary in a few plain calls, face_recognition style.

    models = FaceModels.create(embedder="sface")
    faces = models.find_faces(rgb)            # detect + align + embed, every face in the image
    similarity(faces[0].embedding, other)     # cosine, 1.0 = identical

Models load lazily, once per process, and are shared by every caller (lookingglass.models.base): a second
FaceModels for the same files and device reuses the weights the first one loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookingglass.errors import BadInput
from lookingglass.models.device import Device, resolve_device
from lookingglass.records import Detection, Face
from lookingglass.vision.detect import FusedDetector, RetinaFaceDetector, YuNetDetector
from lookingglass.vision.embed import EMBEDDERS, Embedder
from lookingglass.vision.tiling import DEFAULT_COVERAGE, Coverage, detect_covered


@dataclass
class FaceModels:
    detector: FusedDetector
    embedder: Embedder
    detector_threshold: float = 0.5
    coverage: Coverage = DEFAULT_COVERAGE  # edge padding and tiling of large photos (tiling.py)

    @classmethod
    def create(
        cls,
        embedder: str = "sface",
        model_dir: Path | None = None,
        detector_threshold: float = 0.5,
        device: str | Device = "cpu",
        coverage: Coverage | None = None,
    ) -> FaceModels:
        if embedder not in EMBEDDERS:
            raise BadInput(f"unknown embedder '{embedder}'; choose one of {sorted(EMBEDDERS)}")
        chosen = resolve_device(device)  # once, for every model of the set
        return cls(
            detector=FusedDetector(
                RetinaFaceDetector(model_dir, device=chosen), YuNetDetector(model_dir, device=chosen)
            ),
            embedder=EMBEDDERS[embedder](model_dir, device=chosen),
            detector_threshold=detector_threshold,
            coverage=coverage or DEFAULT_COVERAGE,
        )

    def load(self) -> None:
        """Load every model now (workers and servers call this at start so the first request is not slow)."""
        self.detector.load()
        self.embedder.load()

    def detect(self, rgb: np.ndarray, threshold: float | None = None) -> list[Detection]:
        chosen = self.detector_threshold if threshold is None else threshold
        return detect_covered(self.detector, rgb, chosen, self.coverage)

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> list[Face]:
        vectors = self.embedder.embed(rgb, detections)
        return [Face(detection=d, embedding=v) for d, v in zip(detections, vectors, strict=True)]

    def find_faces(self, rgb: np.ndarray, threshold: float | None = None) -> list[Face]:
        """Every face in an RGB uint8 image, with boxes in its pixels and L2-normalised embeddings."""
        return self.embed(rgb, self.detect(rgb, threshold))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (both already L2-normalised by the embedders)."""
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
