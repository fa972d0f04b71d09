"""Five-point alignment to the 112x112 ArcFace template that SFace (and most modern embedders) were trained on."""

from __future__ import annotations

import cv2
import numpy as np

from lookingglass.records import Detection

ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def align_face(rgb: np.ndarray, detection: Detection, size: int = 112) -> np.ndarray:
    """An aligned size x size RGB crop: eyes, nose and mouth corners moved onto the template."""
    src = np.array(detection.landmarks, dtype=np.float32)
    dst = ARCFACE_112 * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks: fall back to the box, squared
        x1, y1, x2, y2 = detection.box
        side = max(x2 - x1, y2 - y1, 1.0)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        s = size / side
        matrix = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], dtype=np.float32)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
