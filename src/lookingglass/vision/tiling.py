"""Faces the one 640 px view misses: those cut by the photo's edge, and small faces in large photos.

    found = detect_covered(models.detector, rgb, threshold, Coverage(pad=0.12, tile_above=1600))

- Edge: a detector proposes a face only around anchor centres inside its input, so a face whose centre lies
  outside the photo (half a face at the border) is never proposed. The analysed image gets a border (`pad` of its
  longest side on each side, rounded to whole 32 px anchor strides, mid-grey) and the content keeps its scale: the
  anchors sit where they sat without it, so faces inside the photo score as before (a border of 77 px moved them
  and lifted a dog face in dlib's dogs.jpg over the agreement threshold), and the border costs (1 + 2 pad)^2 of
  the pixels. A grey border finds more cut faces than replicated edge pixels (bench/detect_recall.py). Boxes
  come back clipped to the photo; landmarks keep the detector's estimate (an eye just outside the photo stays
  there: clipping it onto the edge would skew the alignment; align.py fills the part of the crop outside the
  photo by replicating its edge).
- Small faces: everything is analysed at 640 px, so in a 4000 px photo a 40 px face shrinks to 6 px, below what
  either detector sees. Photos longer than `tile_above` are also searched as overlapping 640 px tiles at native
  resolution. Each tile owns a core (the tile less half the overlap on its inner sides; the cores partition the
  photo) and keeps only faces centred in its core and no larger than the overlap: such a face lies whole in that
  tile, and a face cut by the tiling (a chin under a tile's top edge) is centred near the cut, outside the core,
  or its box ends at the cut (dlib's bald_guys.jpg: half a 160 px face, centred 1 px inside the core).
  Larger faces are the full frame's. Tile faces are merged with the full-frame ones by NMS, so a face seen by
  both counts once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from lookingglass.records import Detection
from lookingglass.vision.detect import FusedDetector, _clip_box, _reading_order, _resize, _scale_for, nms

ANALYSED_SIDE = 640  # the size both detectors see a photo at (FusedDetector's default) and the tile size
_STRIDE = 32  # both detectors' coarsest anchor stride: a border of whole strides keeps every anchor on the photo


@dataclass(frozen=True)
class Coverage:
    """Where detection looks beyond the one full-frame view; the defaults are LG_DETECT_PAD/LG_DETECT_TILE_ABOVE's."""

    pad: float = 0.12  # border on each side, a fraction of the analysed image's longest side; 0: none
    tile_above: int = 1600  # px on the long side above which a photo is also searched in tiles; 0: never
    tile: int = ANALYSED_SIDE
    overlap: float = 0.25  # of a tile: faces up to tile * overlap px (160) are whole in some tile
    border: Literal["constant", "replicate"] = "constant"


DEFAULT_COVERAGE = Coverage()
NO_COVERAGE = Coverage(pad=0.0, tile_above=0)


def pad_image(rgb: np.ndarray, top: int, bottom: int, left: int, right: int, border: str = "replicate") -> np.ndarray:
    if not (top or bottom or left or right):
        return rgb
    if border == "constant":
        return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(127, 127, 127))
    return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REPLICATE)


def _moved(det: Detection, scale: float, dx: float, dy: float, width: int, height: int) -> Detection:
    """A detection in analysed (padded, shrunk) pixels, in the photo's pixels: (v - offset) / scale, box clipped."""
    x1, y1, x2, y2 = det.box
    box = ((x1 - dx) / scale, (y1 - dy) / scale, (x2 - dx) / scale, (y2 - dy) / scale)
    points = tuple(((x - dx) / scale, (y - dy) / scale) for x, y in det.landmarks)
    clipped = _clip_box(box, width, height)
    return Detection(box=clipped, confidence=det.confidence, landmarks=points, detector=det.detector)


def _min_side(box: tuple[float, ...]) -> float:
    return min(box[2] - box[0], box[3] - box[1])


def _inside(det: Detection) -> bool:
    """Whether anything of the box is left in the photo after clipping (a box wholly in the border is no face)."""
    return det.box[2] > det.box[0] and det.box[3] > det.box[1]


def detect_full_frame(fused: FusedDetector, rgb: np.ndarray, threshold: float, coverage: Coverage) -> list[Detection]:
    """The whole photo at the analysed size, with a border so faces cut by the edge are proposed too."""
    h, w = rgb.shape[:2]
    if coverage.pad <= 0:
        return fused.detect(rgb, threshold)
    scale = _scale_for(w, h, ANALYSED_SIDE)
    small = _resize(rgb, scale)
    side = _border(coverage.pad, max(small.shape[:2]))
    padded = pad_image(small, side, side, side, side, coverage.border)
    # Native size for the padded image (the photo keeps the scale it had without a border); the retry on an
    # upscaled image stays decided by the photo's own size, as without padding.
    found = fused.detect(padded, threshold, max_side=max(padded.shape[:2]), retry=max(h, w) < fused.retry_below)
    return [moved for d in found if _inside(moved := _moved(d, scale, side, side, w, h))]


def _border(pad: float, side: int) -> int:
    return _STRIDE * max(1, round(pad * side / _STRIDE)) if pad > 0 else 0


def tile_grid(width: int, height: int, tile: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) tiles of `tile` px covering the photo, neighbours sharing at least `overlap` of a tile."""

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        step = tile * (1.0 - overlap)
        count = math.ceil((length - tile) / step) + 1
        return [round(i * (length - tile) / (count - 1)) for i in range(count)]

    return [(x, y, min(x + tile, width), min(y + tile, height)) for y in starts(height) for x in starts(width)]


def _owned(box: tuple[float, ...], tile: tuple[int, int, int, int], width: int, height: int, margin: float) -> bool:
    """Whether the box is centred in the tile's core (the tile less `margin`, half the overlap, on its inner sides)
    and does not run into an inner tile edge."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    tx1, ty1, tx2, ty2 = tile
    if (tx1 > 0 and box[0] <= tx1 + 1) or (ty1 > 0 and box[1] <= ty1 + 1):  # cut by the tiling: its box ends there
        return False
    if (tx2 < width and box[2] >= tx2 - 1) or (ty2 < height and box[3] >= ty2 - 1):
        return False
    left, top = (tx1 + margin if tx1 > 0 else 0), (ty1 + margin if ty1 > 0 else 0)
    right, bottom = (tx2 - margin if tx2 < width else width), (ty2 - margin if ty2 < height else height)
    return left <= cx < right and top <= cy < bottom


def detect_tiles(fused: FusedDetector, rgb: np.ndarray, threshold: float, coverage: Coverage) -> list[Detection]:
    """Every tile at native resolution; tiles on the photo's edge get the border there (and only there)."""
    h, w = rgb.shape[:2]
    side = _border(coverage.pad, coverage.tile)
    largest = coverage.tile * coverage.overlap
    found: list[Detection] = []
    for tile in tile_grid(w, h, coverage.tile, coverage.overlap):
        x1, y1, x2, y2 = tile
        top, left = (side if y1 == 0 else 0), (side if x1 == 0 else 0)
        bottom, right = (side if y2 == h else 0), (side if x2 == w else 0)
        crop = pad_image(rgb[y1:y2, x1:x2], top, bottom, left, right, coverage.border)
        for det in fused.detect(crop, threshold, max_side=max(crop.shape[:2]), retry=False):
            moved = _moved(det, 1.0, left - x1, top - y1, w, h)
            small = _min_side(moved.box) <= largest
            if _inside(moved) and small and _owned(moved.box, tile, w, h, largest / 2):
                found.append(moved)
    return found


def detect_covered(fused: FusedDetector, rgb: np.ndarray, threshold: float, coverage: Coverage) -> list[Detection]:
    """The full-frame faces (padded), plus, for a photo longer than `tile_above`, the tiles' faces, merged by NMS."""
    found = detect_full_frame(fused, rgb, threshold, coverage)
    if coverage.tile_above and max(rgb.shape[:2]) > coverage.tile_above:
        found = nms(found + detect_tiles(fused, rgb, threshold, coverage))
    return _reading_order(found)
