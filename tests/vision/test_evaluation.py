"""Evaluation: the scoring logic on made-up inputs, then the real models on the labelled photos.

The photos live outside the repository (LG_TEST_FACES, default ../shared/data/faces); without them the
real-data tests skip and say why. The face_recognition photos carry the expectations of that library's tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookingglass.media.decode import decode_image
from lookingglass.records import Detection, Face
from lookingglass.vision.evaluation import (
    best_threshold,
    detection_recall,
    format_report,
    identification,
    largest_face,
    match_boxes,
    no_face_paths,
    operating_point,
    run_eval,
    xywh_to_box,
)
from lookingglass.vision.faces import FaceModels, similarity

FACES = Path(os.environ.get("LG_TEST_FACES") or Path(__file__).parents[2].parent / "shared/data/faces")
LABELS = FACES / "labels.json"
FR_TESTS = "face_recognition_ageitgey/tests/test_images"
FR_EXAMPLES = "face_recognition_ageitgey/examples"


def dlib_importable() -> bool:
    try:
        import dlib  # noqa: F401
    except ImportError:
        return False
    return True


# --- scoring, no models needed


def test_no_face_entries_are_paths_before_the_first_space() -> None:
    labels = {"no_face": ["dlib_examples_faces/dogs.jpg (dog faces only)", "cats.png", "  "]}
    assert no_face_paths(labels) == ["dlib_examples_faces/dogs.jpg", "cats.png"]


def test_boxes_match_one_to_one_at_the_iou_threshold() -> None:
    truth = [xywh_to_box([0, 0, 10, 10]), xywh_to_box([100, 100, 10, 10])]
    assert truth[0] == (0.0, 0.0, 10.0, 10.0)
    # Two detections on the first face count once; the shifted one on the second overlaps 0.39 < 0.4.
    found = [(0.0, 0.0, 10.0, 10.0), (1.0, 0.0, 11.0, 10.0), (103.0, 103.0, 113.0, 113.0)]
    assert match_boxes(truth, found, 0.4) == 1
    assert match_boxes(truth, found, 0.3) == 2
    assert match_boxes(truth, [], 0.4) == 0


def test_operating_point_counts_accepts_at_or_above_the_threshold() -> None:
    same = np.array([0.9, 0.5, 0.3])
    different = np.array([0.1, 0.3, 0.2, 0.0])
    point = operating_point(same, different, 0.3)
    assert point.true_accept_rate == 1.0
    assert point.false_accept_rate == 0.25
    assert point.accuracy == 6 / 7
    assert point.balanced_accuracy == pytest.approx((1.0 + 0.75) / 2)


def test_best_threshold_cuts_halfway_through_the_widest_clean_gap() -> None:
    best = best_threshold(np.array([0.8, 0.6]), np.array([0.1, 0.2]))
    assert best.threshold == pytest.approx(0.4)
    assert best.accuracy == 1.0
    overlapping = best_threshold(np.array([0.8, 0.3]), np.array([0.1, 0.5, 0.2]))
    assert overlapping.accuracy == 4 / 5


class FakeEmbedder:
    name = "fake"
    dim = 2
    default_threshold = 0.5


class FakeModels:
    """Stands in for FaceModels: each image's single colour picks the detections and the embedding."""

    detector_threshold = 0.5
    embedder = FakeEmbedder()

    def __init__(self, by_colour: dict[int, list[tuple[tuple[float, float, float, float], list[float]]]]):
        self.by_colour = by_colour

    def _faces(self, rgb: np.ndarray) -> list[Face]:
        faces = []
        for box, vector in self.by_colour.get(int(rgb[0, 0, 0]), []):
            det = Detection(box=box, confidence=0.9, landmarks=((0.0, 0.0),) * 5, detector="fake")
            v = np.array(vector, dtype=np.float32)
            faces.append(Face(detection=det, embedding=v / np.linalg.norm(v)))
        return faces

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return [f.detection for f in self._faces(rgb)]

    def find_faces(self, rgb: np.ndarray) -> list[Face]:
        return self._faces(rgb)


@pytest.fixture
def tiny_labels(tmp_path: Path) -> Path:
    """Generated one-colour images (the colour is the fake models' key), and labels in the real format."""
    for name, colour in {"a1": 10, "a2": 20, "b1": 30, "c1": 40, "group": 50, "dog": 60}.items():
        Image.new("RGB", (64, 64), (colour, 0, 0)).save(tmp_path / f"{name}.png")
    labels = {
        "identities": {"a": ["a1.png", "a2.png"], "b": ["b1.png"], "c": ["c1.png"]},
        "no_face": ["dog.png (a dog)"],
        "detection_gt_xywh": {"group.png": [[0, 0, 10, 10], [20, 20, 10, 10]]},
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels))
    return path


def tiny_models() -> FakeModels:
    small, big = (0.0, 0.0, 5.0, 5.0), (0.0, 0.0, 40.0, 40.0)
    return FakeModels(
        {
            10: [(small, [0.0, 1.0]), (big, [1.0, 0.0])],  # the largest face is the subject
            20: [(big, [1.0, 0.1])],
            30: [(big, [0.0, 1.0])],
            40: [],  # no face found: a distractor lost, nothing else
            50: [((0.0, 0.0, 10.0, 10.0), [1.0, 0.0]), ((40.0, 40.0, 50.0, 50.0), [1.0, 0.0])],
            60: [((0.0, 0.0, 9.0, 9.0), [1.0, 0.0])],
        }
    )


def test_detection_recall_on_generated_labels(tiny_labels: Path) -> None:
    report = detection_recall(tiny_labels, tiny_models())  # type: ignore[arg-type]
    assert (report.labelled, report.found, report.extra) == (2, 1, 1)
    assert report.recall == 0.5
    assert (report.no_face_images, report.no_face_detections) == (1, 1)
    assert [r.path for r in report.images] == ["group.png", "dog.png"]


def test_identification_on_generated_labels(tiny_labels: Path) -> None:
    report = identification(tiny_labels, tiny_models())  # type: ignore[arg-type]
    assert report.photos == 4
    assert report.no_face == ("c1.png",)
    assert [p.path for p in report.probes] == ["a1.png", "a2.png"]  # b and c have one photo: distractors only
    assert report.rank1 == 1.0
    assert (report.same_pairs, report.different_pairs) == (1, 2)
    assert report.at_default.true_accept_rate == 1.0
    assert report.at_default.false_accept_rate == 0.0
    # a1 and a2 grouped into one person; b alone and c without a face stay unassigned
    assert report.clustering is not None
    assert (report.clustering.precision, report.clustering.recall, report.clustering.persons) == (1.0, 1.0, 1)


def test_run_eval_is_json_ready_and_formats_as_a_table(tiny_labels: Path) -> None:
    report = run_eval(tiny_labels, tiny_models())  # type: ignore[arg-type]
    assert json.loads(json.dumps(report)) == report
    text = format_report(report)
    assert "group.png" in text
    assert "rank-1" in text
    assert "no face found in: c1.png" in text
    assert report["clustering"]["identities"] == 3
    assert "pairwise precision 100.0 %   recall 100.0 %" in text


# --- real models, real photos

needs_faces = pytest.mark.skipif(
    not LABELS.is_file(), reason=f"labelled face photos not found at {FACES} (set LG_TEST_FACES)"
)


def faces_in(models: FaceModels, relative: str) -> list[Face]:
    return models.find_faces(decode_image((FACES / relative).read_bytes()).rgb)


def subject(models: FaceModels, relative: str) -> np.ndarray:
    face = largest_face(faces_in(models, relative))
    assert face is not None, f"no face found in {relative}"
    return face.embedding


@pytest.fixture(scope="module")
def sface() -> FaceModels:
    if not LABELS.is_file():
        pytest.skip(f"labelled face photos not found at {FACES} (set LG_TEST_FACES)")
    models = FaceModels.create(embedder="sface")
    models.load()
    return models


@pytest.fixture(
    scope="module",
    params=[
        "sface",
        pytest.param(
            "dlib",
            marks=pytest.mark.skipif(not dlib_importable(), reason="dlib is not installed (make install)"),
        ),
    ],
)
def models(request: pytest.FixtureRequest) -> FaceModels:
    """Each embedder once per module; the detector is the same for both."""
    if not LABELS.is_file():
        pytest.skip(f"labelled face photos not found at {FACES} (set LG_TEST_FACES)")
    models = FaceModels.create(embedder=request.param)
    models.load()
    return models


@needs_faces
def test_detection_recall_on_hand_labelled_faces(sface: FaceModels) -> None:
    report = detection_recall(LABELS, sface, iou_threshold=0.4)
    assert report.labelled == 43
    assert report.recall >= 0.95, format_report(run_eval(LABELS, sface))


@needs_faces
def test_no_detections_on_dog_faces(sface: FaceModels) -> None:
    assert sface.detect(decode_image((FACES / "dlib_examples_faces/dogs.jpg").read_bytes()).rgb) == []
    report = detection_recall(LABELS, sface)
    assert report.no_face_detections == 0


@needs_faces
def test_identification_finds_everyone(models: FaceModels) -> None:
    report = identification(LABELS, models)
    assert report.no_face == ()
    misses = [(p.path, p.nearest_path) for p in report.probes if not p.correct]
    assert report.rank1 == 1.0, misses
    assert report.same_pairs == 38
    # Every same-person pair accepted and every different-person pair rejected at the shipped threshold.
    assert report.at_default.true_accept_rate == 1.0
    assert report.at_default.false_accept_rate == 0.0


@needs_faces
def test_faces_of_the_labelled_photos_group_into_their_persons(sface: FaceModels) -> None:
    """The clustering rule's calibration (README, "People"): no two people merged, nearly every pair grouped."""
    scores = identification(LABELS, sface).clustering
    assert scores is not None
    assert scores.precision == 1.0
    assert scores.recall >= 0.95


@needs_faces
def test_obama_matches_obama_and_not_biden(models: FaceModels) -> None:
    threshold = models.embedder.default_threshold
    obama = subject(models, f"{FR_TESTS}/obama.jpg")
    for other in ("obama2.jpg", "obama3.jpg"):
        assert similarity(obama, subject(models, f"{FR_TESTS}/{other}")) >= threshold, other
    assert similarity(obama, subject(models, f"{FR_TESTS}/biden.jpg")) < threshold


@needs_faces
@pytest.mark.parametrize("partial", ["obama_partial_face.jpg", "obama_partial_face2.jpg"])
def test_partial_faces_match_obama(models: FaceModels, partial: str) -> None:
    obama = subject(models, f"{FR_TESTS}/obama.jpg")
    faces = faces_in(models, f"{FR_TESTS}/{partial}")
    assert faces, f"no face found in {partial}"
    assert max(similarity(obama, f.embedding) for f in faces) >= models.embedder.default_threshold


@needs_faces
def test_two_people_left_obama_right_biden(models: FaceModels) -> None:
    threshold = models.embedder.default_threshold
    obama = subject(models, f"{FR_TESTS}/obama.jpg")
    biden = subject(models, f"{FR_TESTS}/biden.jpg")
    faces = faces_in(models, f"{FR_EXAMPLES}/two_people.jpg")
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda f: f.box[0])
    assert similarity(left.embedding, obama) >= threshold
    assert similarity(left.embedding, biden) < threshold
    assert similarity(right.embedding, biden) >= threshold
    assert similarity(right.embedding, obama) < threshold
