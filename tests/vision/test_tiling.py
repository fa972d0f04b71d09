"""Faces cut by the photo's edge and small faces in large photos are found (vision/tiling.py).

These use the face_recognition sample photos (`test_images`), so they run on a fresh clone too.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import cv2
import numpy as np
import pytest

from lookingglass import load_image
from lookingglass.errors import BadInput
from lookingglass.settings import Settings
from lookingglass.vision.faces import FaceModels, similarity
from lookingglass.vision.tiling import (
    NO_COVERAGE,
    Coverage,
    detect_covered,
    detect_full_frame,
    detect_tiles,
    tile_grid,
)


@pytest.fixture(scope="module")
def obama(test_images) -> np.ndarray:
    return load_image(test_images / "obama.jpg")


@pytest.fixture(scope="module")
def without(models: FaceModels) -> FaceModels:
    """The same models analysing only the one 640 px view, as before padding and tiling."""
    return replace(models, coverage=NO_COVERAGE)


def _centre_x(models: FaceModels, rgb: np.ndarray) -> int:
    (face,) = models.detect(rgb)
    return round((face.box[0] + face.box[2]) / 2)


def on_background(face_photo: np.ndarray, face_px: int, size=(3000, 2000), at=(1400, 900)) -> np.ndarray:
    """The photo shrunk until its face is about `face_px` wide, pasted on a large plain background."""
    scale = face_px / 233  # obama.jpg's face is 233 px wide
    small = cv2.resize(face_photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((size[1], size[0], 3), (110, 120, 100), np.uint8)
    x, y = at
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def test_a_face_cut_in_half_by_the_left_edge_is_found_with_its_box_inside_the_photo(models, without, obama):
    cut = np.ascontiguousarray(obama[:, _centre_x(without, obama) :])  # the face's left half is outside
    height, width = cut.shape[:2]

    assert without.detect(cut) == []  # no anchor of the unpadded view lies under the face's centre
    (face,) = models.find_faces(cut)

    x1, y1, x2, y2 = face.detection.box
    assert x1 == 0.0 and 0 <= y1 < y2 <= height and 0 < x2 <= width
    assert face.detection.landmarks[0][0] < 0  # an eye outside the photo stays where the detector put it


def test_the_half_face_is_aligned_from_a_padded_crop_and_still_matches_its_person(models, without, obama):
    whole = models.find_faces(obama)[0]
    cut = np.ascontiguousarray(obama[:, _centre_x(without, obama) :])
    (half,) = models.find_faces(cut)
    assert similarity(half.embedding, whole.embedding) >= 0.363  # SFace's match threshold


def test_the_border_leaves_faces_inside_the_photo_as_they_were(models, without, obama):
    (padded,) = models.detect(obama)
    (plain,) = without.detect(obama)
    assert padded.box == pytest.approx(plain.box, abs=1.0)
    assert padded.confidence == pytest.approx(plain.confidence, abs=0.01)


@pytest.mark.parametrize("face_px", [20, 24])
def test_a_small_face_in_a_large_photo_is_found_in_the_tiles(models, without, obama, face_px):
    large = on_background(obama, face_px)

    assert without.detect(large) == []  # 640 px view: the face is 4 px wide
    (face,) = models.detect(large)
    x1, y1, x2, y2 = face.box
    assert 1400 <= x1 < x2 <= 1400 + obama.shape[1] * face_px / 233 and 900 <= y1 < y2
    assert abs((x2 - x1) - face_px) <= 0.3 * face_px


def test_tiling_is_off_at_and_below_tile_above(models, obama):
    large = on_background(obama, 24)
    assert models.detect(large) != []
    assert replace(models, coverage=Coverage(tile_above=3000)).detect(large) == []


def test_a_large_picture_without_faces_stays_empty_with_tiling_on(models, no_face_photo):
    plain = cv2.resize(load_image(no_face_photo), (3200, 2400), interpolation=cv2.INTER_LINEAR)
    assert detect_tiles(models.detector, plain, 0.5, Coverage()) == []
    assert models.detect(plain) == []


def test_a_face_seen_by_the_full_frame_and_a_tile_is_one_face(models, obama):
    large = on_background(obama, 120, size=(2000, 1500), at=(700, 500))  # 38 px at 640: both views see it
    coverage = Coverage()

    full = detect_full_frame(models.detector, large, 0.5, coverage)
    tiles = detect_tiles(models.detector, large, 0.5, coverage)
    merged = detect_covered(models.detector, large, 0.5, coverage)

    assert len(full) == 1 and len(tiles) == 1  # the tiles' cores partition the photo: one tile keeps it
    assert len(merged) == 1


def test_tiles_cover_a_4000x3000_photo_with_overlap_and_no_more_than_needed():
    grid = tile_grid(4000, 3000, 640, 0.25)
    assert len(grid) == 8 * 6
    assert {(x1, y1) for x1, y1, _, _ in grid} >= {(0, 0), (3360, 2360)}
    assert all(x2 - x1 == 640 and y2 - y1 == 640 for x1, y1, x2, y2 in grid)
    xs = sorted({x1 for x1, _, _, _ in grid})
    assert all(b - a <= 640 * 0.75 for a, b in itertools.pairwise(xs))  # neighbours share >= 160 px


def test_a_photo_narrower_than_a_tile_is_one_tile_across():
    assert tile_grid(500, 3000, 640, 0.25)[0] == (0, 0, 500, 640)
    assert {x1 for x1, _, _, _ in tile_grid(500, 3000, 640, 0.25)} == {0}


def test_padding_and_tiling_are_settings_with_bounds():
    settings = Settings.from_env({"LG_DETECT_PAD": "0", "LG_DETECT_TILE_ABOVE": "0"})
    assert (settings.detect_pad, settings.detect_tile_above) == (0.0, 0)
    assert (Settings().detect_pad, Settings().detect_tile_above) == (Coverage().pad, Coverage().tile_above)
    with pytest.raises(BadInput, match=r"LG_DETECT_PAD='0\.9'"):
        Settings.from_env({"LG_DETECT_PAD": "0.9"})
    with pytest.raises(BadInput, match="LG_DETECT_TILE_ABOVE='300'"):
        Settings.from_env({"LG_DETECT_TILE_ABOVE": "300"})
