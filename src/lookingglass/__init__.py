"""LookingGlass: find every face, index it, and show where a person appears.

The library verbs, face_recognition style (importing the package loads no model; the first `find_faces` does):

    import lookingglass as lg
    image = lg.load_image("photo.jpg")        # RGB uint8 array, EXIF-oriented, checked like an upload
    faces = lg.find_faces(image)              # each with .box, .confidence, .landmarks, .embedding
    lg.compare(faces[0], faces[1])            # cosine similarity, 1.0 = identical
    lg.is_match(faces[0], faces[1])           # at the embedder's calibrated threshold
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    import numpy as np

    from lookingglass.records import Face
    from lookingglass.vision.faces import FaceModels

__all__ = ["__version__", "compare", "find_faces", "is_match", "load_image"]

_models: dict[str, FaceModels] = {}
_models_lock = threading.Lock()


def load_image(source: str | os.PathLike | bytes, *, max_pixels: int = 50_000_000) -> np.ndarray:
    """A photo (a path or its bytes) as an RGB uint8 array in its displayed orientation (EXIF applied).

    Checked like an upload: a damaged or non-image file raises `BadInput`, one over `max_pixels` `TooLarge`,
    before its pixels are decoded."""
    from lookingglass.media.decode import decode_image

    data = source if isinstance(source, bytes) else open(os.fspath(source), "rb").read()  # noqa: SIM115
    return decode_image(data, max_pixels=max_pixels).rgb


def find_faces(image: np.ndarray, *, embedder: str = "sface") -> list[Face]:
    """Every face in an RGB image: `box` (x1, y1, x2, y2 in its pixels), `confidence`, five `landmarks` and a
    128-d L2-normalised `embedding`. The models load on the first call and stay loaded."""
    return _loaded(embedder).find_faces(image)


def compare(a: Face | np.ndarray, b: Face | np.ndarray) -> float:
    """Cosine similarity of two faces (or embeddings) from the same embedder: 1.0 is identical."""
    from lookingglass.vision.faces import similarity

    return similarity(_embedding(a), _embedding(b))


def is_match(a: Face | np.ndarray, b: Face | np.ndarray, *, embedder: str = "sface") -> bool:
    """Whether two faces are the same person, at the embedder's calibrated threshold (`lookingglass eval`)."""
    from lookingglass.vision.embed import EMBEDDERS

    return compare(a, b) >= EMBEDDERS[embedder].default_threshold


def _embedding(face) -> np.ndarray:
    return getattr(face, "embedding", face)


def _loaded(embedder: str) -> FaceModels:
    from lookingglass.vision.faces import FaceModels

    with _models_lock:
        if embedder not in _models:
            models = FaceModels.create(embedder=embedder)
            models.load()
            _models[embedder] = models
        return _models[embedder]
