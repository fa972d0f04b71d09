"""Issue 16's CPU work: the faster paths give the answers the slower ones gave.

- SFace runs through onnxruntime on its weights expanded once, every face of an image in one batch: the vectors are
  OpenCV's FaceRecognizerSF's (the runtime it ran on before) and one-at-a-time's, within 1e-4.
- Both detectors see one shared shrunk copy of the image: the faces are those each finds at its own resize.
- Photos ingested two at a time store exactly the points that one-at-a-time finding gives.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from lookingglass.media.decode import decode_image
from lookingglass.models.registry import SFACE, verified_bytes
from lookingglass.pipeline.images import face_point_id
from lookingglass.pipeline.submit import ingest_file
from lookingglass.records import Detection
from lookingglass.vision.align import align_face
from lookingglass.vision.detect import nms
from lookingglass.vision.embed import SFaceEmbedder
from lookingglass.vision.faces import FaceModels
from lookingglass.vision.onnx_graph import batched_float_graph

SAMPLES = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"]


def rgb_of(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes()).rgb


def opencv_sface(rgb: np.ndarray, detections: list[Detection]) -> np.ndarray:
    """SFace as OpenCV's FaceRecognizerSF computes it, one face at a time: the reference."""
    model = cv2.FaceRecognizerSF.create("onnx", np.frombuffer(verified_bytes(SFACE), np.uint8), np.empty(0, np.uint8))
    vectors = np.vstack([model.feature(np.ascontiguousarray(align_face(rgb, d)[..., ::-1])) for d in detections])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def group(two_people: Path, test_images: Path) -> np.ndarray:
    """The two-people photo beside a third face, so one image has three faces to batch."""
    left, right = rgb_of(two_people), rgb_of(test_images / "obama2.jpg")
    height = left.shape[0]
    right = cv2.resize(right, (round(right.shape[1] * height / right.shape[0]), height))
    return np.ascontiguousarray(np.hstack([left, right]))


def test_batched_sface_equals_opencv_and_one_face_at_a_time(models: FaceModels, group: np.ndarray) -> None:
    detections = models.detect(group)
    assert len(detections) == 3
    embedder = SFaceEmbedder()

    together = embedder.embed(group, detections)
    one_by_one = np.vstack([embedder.embed(group, [d]) for d in detections])

    np.testing.assert_allclose(together, one_by_one, atol=1e-4)
    np.testing.assert_allclose(together, opencv_sface(group, detections), atol=1e-4)


def test_more_faces_than_one_batch_are_embedded_in_several_runs(models: FaceModels, group: np.ndarray) -> None:
    detections = models.detect(group)
    embedder = SFaceEmbedder()
    embedder.batch = 2  # three faces: a run of two, then a run of one

    np.testing.assert_allclose(embedder.embed(group, detections), opencv_sface(group, detections), atol=1e-4)


def test_the_rewritten_graph_has_a_batch_axis_and_no_int8_weights_left() -> None:
    import onnxruntime as ort

    graph = batched_float_graph(verified_bytes(SFACE))
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])

    assert [i.name for i in session.get_inputs()] == ["data"]  # the stale weight-named inputs are gone
    assert session.get_inputs()[0].shape == ["N", 3, 112, 112]
    assert session.get_outputs()[0].shape[0] == "N"
    assert b"DequantizeLinear" not in graph


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "two_people"])
def test_both_detectors_on_one_shrunk_copy_find_what_each_finds_at_its_own_resize(
    models: FaceModels, test_images: Path, two_people: Path, name: str
) -> None:
    image = rgb_of(two_people if name == "two_people" else test_images / name)
    fused = models.detector
    own = fused.fuse(nms(fused.primary.detect(image, 0.5)), nms(fused.secondary.detect(image, 0.5)), 0.5)

    shared = fused.detect(image, 0.5)

    assert max(image.shape[:2]) > fused.max_side or name == "two_people"  # the shrinking is exercised
    assert len(shared) == len(own) > 0
    for a, b in zip(sorted(shared, key=lambda d: d.box), sorted(own, key=lambda d: d.box), strict=True):
        assert a.detector == b.detector
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)


def test_photos_ingested_two_at_a_time_store_the_points_of_one_at_a_time(
    app, models: FaceModels, test_images: Path, two_people: Path
) -> None:
    paths = [test_images / name for name in SAMPLES] + [two_people]
    expected = {}
    for path in paths:  # one photo, one face after another
        image = rgb_of(path)
        for index, detection in enumerate(models.detect(image)):
            sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            point_id = face_point_id(sha256, 0, index, "sface")
            expected[point_id] = (detection, opencv_sface(image, [detection])[0])

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda p: ingest_file(app, p), paths))

    assert sum(d["faces"] for d in done) == len(expected) == 6
    stored = {p.id: p for p in app.faces.iter_points()}
    assert set(stored) == set(expected)
    for point_id, (detection, vector) in expected.items():
        point = stored[point_id]
        assert point.payload["box"] == [round(v, 2) for v in detection.box]
        assert point.payload["detector"] == detection.detector
        np.testing.assert_allclose(point.vector, vector, atol=1e-4)


def test_model_threads_default_to_one_per_run_and_a_bad_value_is_a_clear_error(monkeypatch) -> None:
    from lookingglass.errors import BadInput
    from lookingglass.models.base import onnx_session_options

    monkeypatch.delenv("LG_MODEL_THREADS", raising=False)
    assert onnx_session_options().intra_op_num_threads == 1
    monkeypatch.setenv("LG_MODEL_THREADS", "2")
    assert onnx_session_options().intra_op_num_threads == 2
    monkeypatch.setenv("LG_MODEL_THREADS", "two")
    with pytest.raises(BadInput, match="LG_MODEL_THREADS"):
        onnx_session_options()
