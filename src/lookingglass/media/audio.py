"""The audio track of a media file as mono float32 samples, decoded with PyAV (no system ffmpeg needed).

- `audio_info` reads only the header: codec, rate, channels, duration. It raises the same errors as decoding would
  for files that are not media, have no audio track, or use a codec this build of FFmpeg cannot decode.
- `iter_audio` streams: it decodes packet by packet and yields fixed-size chunks, so a 2-hour file never sits in
  memory (2 h of 16 kHz float32 would be 460 MB). `extract_audio` joins the chunks, for short files.
- Sample 0 is the start of the file, not of the audio stream: when the audio track starts later than the container
  (a video whose sound begins after its pictures), the gap is filled with silence, so times agree with video frames.
- A truncated or partly corrupt file yields whatever audio decodes; only a file with no decodable audio at all is
  a `BadInput`. Every PyAV error becomes `BadInput` (or `NotFound` for a missing file) with a message that says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from lookingglass.errors import BadInput, NotFound
from lookingglass.media.sniff import describe_bytes, sniff_media

DEFAULT_SAMPLE_RATE = 16_000  # what Whisper expects
DEFAULT_CHUNK_SECONDS = 30.0
# A leading gap longer than this is not padded (a broken timestamp must not make us emit hours of zeros);
# the audio then starts at sample 0.
MAX_LEADING_GAP_SECONDS = 600.0

MediaPath = str | os.PathLike[str]


@dataclass(frozen=True)
class AudioInfo:
    """What a file's audio track says about itself, before decoding."""

    codec: str
    sample_rate: int  # of the stored track, before resampling
    channels: int
    duration: float | None  # seconds, from the header; None when the container does not say


def audio_info(path: MediaPath) -> AudioInfo:
    """Codec, rate, channels and duration of the audio track, from the header only.

    Raises `BadInput` for a file that is not media, has no audio track or an unsupported codec; `NotFound`.
    """
    with _open(path) as container:
        stream = _audio_stream(container, path)
        return AudioInfo(
            codec=stream.codec_context.name,
            sample_rate=int(stream.codec_context.sample_rate or 0),
            channels=int(stream.codec_context.channels or 0),
            duration=_duration(container, stream),
        )


def iter_audio(
    path: MediaPath, sample_rate: int = DEFAULT_SAMPLE_RATE, chunk_seconds: float = DEFAULT_CHUNK_SECONDS
) -> Iterator[np.ndarray]:
    """Mono float32 samples in [-1, 1] at `sample_rate`, as chunks of `chunk_seconds` (the last one shorter).

    Memory stays at about one chunk whatever the file's length. Raises `BadInput` (before the first chunk) when
    the file has no audio track or no audio decodes at all; a truncated file yields what decodes.
    """
    if sample_rate <= 0 or chunk_seconds <= 0:
        raise BadInput(f"sample_rate and chunk_seconds must be positive, got {sample_rate} and {chunk_seconds}")
    chunk_samples = max(1, round(chunk_seconds * sample_rate))
    pending: list[np.ndarray] = []
    pending_samples = 0
    for samples in _decoded_samples(path, sample_rate):
        pending.append(samples)
        pending_samples += len(samples)
        if pending_samples >= chunk_samples:
            joined = np.concatenate(pending)
            cut = len(joined) - len(joined) % chunk_samples
            for start in range(0, cut, chunk_samples):
                yield joined[start : start + chunk_samples]
            rest = joined[cut:]
            pending, pending_samples = ([rest], len(rest)) if len(rest) else ([], 0)
    if pending_samples:
        yield np.concatenate(pending)


def extract_audio(path: MediaPath, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """The whole audio track as one mono float32 array at `sample_rate` (use `iter_audio` for long files)."""
    chunks = list(iter_audio(path, sample_rate=sample_rate, chunk_seconds=60.0))
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _decoded_samples(path: MediaPath, sample_rate: int) -> Iterator[np.ndarray]:
    """Resampled mono float32 arrays of whatever size the decoder produces; at least one, or BadInput."""
    with _open(path) as container:
        stream = _audio_stream(container, path)
        origin = container.start_time / av.time_base if container.start_time is not None else None
        resampler: _Resampler | None = None
        produced = 0
        bad_packets = 0
        last_error = ""
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:  # truncated or corrupt container: keep what decoded so far
                last_error = _reason(exc)
                break
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:  # one corrupt packet: skip it, like a player would
                bad_packets += 1
                last_error = _reason(exc)
                continue
            for frame in frames:
                if produced == 0 and resampler is None:
                    gap = _leading_gap(frame, origin)
                    if gap:
                        silence = np.zeros(round(gap * sample_rate), dtype=np.float32)
                        produced += len(silence)
                        yield silence
                if resampler is None or not resampler.accepts(frame):
                    if resampler is not None:
                        for samples in resampler.flush():
                            produced += len(samples)
                            yield samples
                    resampler = _Resampler(frame, sample_rate)
                for samples in resampler.push(frame):
                    produced += len(samples)
                    yield samples
        if resampler is not None:
            for samples in resampler.flush():
                produced += len(samples)
                yield samples
        if produced == 0 or resampler is None:
            detail = f" ({bad_packets} corrupt packets; last error: {last_error})" if last_error else ""
            raise BadInput(
                f"{_name(path)}: no audio could be decoded from its {stream.codec_context.name} track{detail}"
            )


class _Resampler:
    """av.AudioResampler for one input layout: a stream that changes rate or layout midway gets a new one."""

    def __init__(self, first: av.AudioFrame, sample_rate: int) -> None:
        self.signature = _signature(first)
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)

    def accepts(self, frame: av.AudioFrame) -> bool:
        return _signature(frame) == self.signature

    def push(self, frame: av.AudioFrame) -> Iterator[np.ndarray]:
        frame.pts = None  # we count samples ourselves; broken timestamps must not upset the filter graph
        for out in self.resampler.resample(frame):
            yield _mono(out)

    def flush(self) -> Iterator[np.ndarray]:
        for out in self.resampler.resample(None):
            yield _mono(out)


def _signature(frame: av.AudioFrame) -> tuple[str, str, int]:
    return (frame.format.name, frame.layout.name, frame.sample_rate)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    samples = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    return np.clip(samples, -1.0, 1.0, out=samples) if samples.size else samples


def _leading_gap(frame: av.AudioFrame, origin: float | None) -> float:
    """Seconds between the start of the file and the first audio sample, when worth padding."""
    if frame.time is None or origin is None:
        return 0.0
    gap = float(frame.time) - origin
    return gap if 0.01 < gap <= MAX_LEADING_GAP_SECONDS else 0.0


def _open(path: MediaPath) -> av.container.InputContainer:
    try:
        return av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except FileNotFoundError as exc:
        raise NotFound(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise BadInput(f"{path} is a directory, not a media file") from exc
    except av.error.FFmpegError as exc:
        raise BadInput(_unreadable(path, exc)) from exc


def _audio_stream(container: av.container.InputContainer, path: MediaPath) -> av.AudioStream:
    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise BadInput(f"{_name(path)} has no audio track (it has: {', '.join(kinds)})")
    stream = container.streams.best("audio") or container.streams.audio[0]
    if stream.codec_context is None:
        raise BadInput(f"{_name(path)}: unsupported audio codec (FFmpeg has no decoder for it)")
    return stream


def _duration(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _reason(exc: av.error.FFmpegError) -> str:
    return exc.strerror or type(exc).__name__


def _name(path: MediaPath) -> str:
    return Path(os.fspath(path)).name or os.fspath(path)


def _unreadable(path: MediaPath, exc: av.error.FFmpegError) -> str:
    """Why FFmpeg could not open a file, in words: broken media, or not media at all."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        head = b""
    if not head:
        return f"{_name(path)} is not a media file we can read (empty file)"
    try:
        ext, _, kind = sniff_media(head)
    except BadInput:
        return f"{_name(path)} is not a media file we can read (looks like {describe_bytes(head)}): {_reason(exc)}"
    if kind in ("audio", "video"):
        return f"{_name(path)} looks like {kind} ({ext}) but cannot be opened: truncated or corrupt ({_reason(exc)})"
    return f"{_name(path)} is not a media file we can read (it is {kind} data, {ext}): {_reason(exc)}"
