"""The audio track of any media file becomes mono float32 samples at 16 kHz, or a clear BadInput.

Every file here is generated with PyAV (tones, silence, synthetic video frames): no fixtures on disk, no system
ffmpeg. `write_media` is also used by test_speech.py to put spoken words into a video.
"""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from lookingglass.errors import BadInput, NotFound
from lookingglass.media.audio import audio_info, extract_audio, iter_audio
from media_files import SR, write_media, write_wav


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def first_loud(samples: np.ndarray, level: float = 0.1) -> float:
    loud = np.nonzero(np.abs(samples) > level)[0]
    return float(loud[0]) / SR if len(loud) else float("nan")


def dominant_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum)) * SR / len(samples)


# --- what decodes ---------------------------------------------------------------------------------------------------


def test_wav_is_resampled_to_16k_mono_float32(tmp_path: Path) -> None:
    left, right = tone(3.0, 44_100), tone(3.0, 44_100)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    path = write_wav(tmp_path / "stereo.wav", stereo, 44_100, channels=2)

    info = audio_info(path)
    samples = extract_audio(path)

    assert (info.codec, info.sample_rate, info.channels) == ("pcm_s16le", 44_100, 2)
    assert info.duration == pytest.approx(3.0, abs=0.01)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / SR == pytest.approx(3.0, abs=0.01)
    assert dominant_frequency(samples) == pytest.approx(440, abs=2)
    assert 0.4 < np.abs(samples).max() <= 1.0


def test_other_sample_rates(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "8k.wav", tone(2.0, 8_000, freq=300), 8_000)
    assert len(extract_audio(path, sample_rate=22_050)) == pytest.approx(44_100, abs=30)
    assert dominant_frequency(extract_audio(path)) == pytest.approx(300, abs=2)


@pytest.mark.parametrize("codec,suffix", [("aac", "m4a"), ("libmp3lame", "mp3"), ("libopus", "ogg"), ("flac", "flac")])
def test_compressed_audio_files(tmp_path: Path, codec: str, suffix: str) -> None:
    rate = 48_000 if codec == "libopus" else 44_100
    path = write_media(tmp_path / f"tone.{suffix}", tone(2.0, rate), rate, audio_codec=codec)
    samples = extract_audio(path)
    assert len(samples) / SR == pytest.approx(2.0, abs=0.1)
    assert dominant_frequency(samples) == pytest.approx(440, abs=3)


def test_audio_track_of_a_video(tmp_path: Path) -> None:
    speech_like = np.concatenate([np.zeros(2 * SR, np.float32), tone(1.0, SR)])
    path = write_media(tmp_path / "clip.mp4", speech_like, video_seconds=3.0)
    samples = extract_audio(path)
    assert first_loud(samples) == pytest.approx(2.0, abs=0.03)  # AAC priming samples are trimmed by the decoder


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_audio_track_starting_after_the_pictures_is_padded(tmp_path: Path, suffix: str) -> None:
    """Times are seconds from the start of the file, so they agree with the video's frame timestamps."""
    path = write_media(tmp_path / f"late.{suffix}", tone(1.0, SR), video_seconds=4.0, audio_start=2.0)
    samples = extract_audio(path)
    assert first_loud(samples) == pytest.approx(2.0, abs=0.03)
    assert len(samples) / SR == pytest.approx(3.0, abs=0.1)


def test_iter_audio_yields_fixed_chunks_with_bounded_memory(tmp_path: Path) -> None:
    minutes = 10
    path = write_wav(tmp_path / "long.wav", np.tile(tone(1.0, SR), 60 * minutes), SR)
    whole_bytes = minutes * 60 * SR * 4  # 38 MB as one float32 array

    tracemalloc.start()
    try:
        sizes = [len(chunk) for chunk in iter_audio(path, chunk_seconds=30.0)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sum(sizes) == minutes * 60 * SR
    assert set(sizes[:-1]) == {30 * SR}
    assert peak < whole_bytes / 4, f"iterating held {peak / 1e6:.1f} MB at once"


def test_silence_is_audio(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "quiet.wav", np.zeros(SR, np.float32), SR)
    samples = extract_audio(path)
    assert len(samples) == SR and not samples.any()


# --- bad input ------------------------------------------------------------------------------------------------------


def test_video_without_audio_track(tmp_path: Path) -> None:
    path = write_media(tmp_path / "silent-film.mp4", None, video_seconds=1.0)
    with pytest.raises(BadInput, match="has no audio track"):
        extract_audio(path)
    with pytest.raises(BadInput, match="has no audio track"):
        audio_info(path)


@pytest.mark.parametrize(
    "content,looks_like",
    [(b"Just some notes, not a recording.\n" * 20, "plain text"), (b"%PDF-1.7\n" + bytes(500), "PDF"), (b"", "empty")],
)
def test_not_a_media_file(tmp_path: Path, content: bytes, looks_like: str) -> None:
    path = tmp_path / "notes.mp3"
    path.write_bytes(content)
    with pytest.raises(BadInput, match="not a media file") as caught:
        extract_audio(path)
    assert looks_like in caught.value.message


def test_unsupported_codec(tmp_path: Path) -> None:
    """A WAV whose format tag names no codec FFmpeg knows."""
    fmt = struct.pack("<HHIIHH", 0x1234, 1, SR, 2 * SR, 2, 16)
    data = bytes(2 * SR)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(BadInput, match="unsupported audio codec"):
        extract_audio(path)


def test_truncated_wav_gives_what_decodes(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "full.wav", tone(4.0, SR), SR)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert len(extract_audio(cut)) / SR == pytest.approx(2.0, abs=0.05)


def test_truncated_mp4_with_index_first_gives_what_decodes(tmp_path: Path) -> None:
    path = write_media(tmp_path / "full.mp4", tone(6.0, SR), video_seconds=6.0, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert 0.5 < len(extract_audio(cut)) / SR < 6.0


def test_truncated_mp4_with_index_last_is_bad_input(tmp_path: Path) -> None:
    """Cameras write the index (moov) last: a cut file has no index, so nothing in it can be found."""
    path = write_media(tmp_path / "full.mp4", tone(6.0, SR), video_seconds=6.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BadInput, match="truncated or corrupt"):
        extract_audio(cut)


def test_header_only_is_bad_input(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "full.wav", tone(1.0, SR), SR)
    cut = tmp_path / "header.wav"
    cut.write_bytes(path.read_bytes()[:44])
    with pytest.raises(BadInput, match="no audio could be decoded"):
        extract_audio(cut)


def test_corrupt_bytes_inside_are_skipped(tmp_path: Path) -> None:
    path = write_media(tmp_path / "full.mp4", tone(6.0, SR), video_seconds=6.0, faststart=True)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(3)
    middle = len(data) // 2
    data[middle : middle + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    assert len(extract_audio(broken)) / SR > 3.0


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        extract_audio(tmp_path / "nothing-here.wav")


def test_a_directory_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="directory"):
        extract_audio(tmp_path)
