"""Helpers several test folders share (kept out of test modules so any folder can import them)."""

from __future__ import annotations

import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lookingglass.media.audio import extract_audio

SR = 16_000


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """16-bit PCM WAV with the standard library; `samples` float in [-1, 1], interleaved when channels > 1."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def write_media(
    path: Path,
    audio: np.ndarray | None,
    rate: int = SR,
    *,
    video_seconds: float | None = None,
    audio_codec: str = "aac",
    audio_start: float = 0.0,
    faststart: bool = False,
) -> Path:
    """A video (synthetic frames, H.264 at 10 fps) and/or audio track muxed with PyAV.

    `audio_start` delays the audio track's first timestamp (a track that begins after the pictures);
    `faststart` puts the index first, so a truncated copy still opens.
    """
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = None
        if video_seconds:
            video = container.add_stream("libx264", rate=10)
            video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream(audio_codec, rate=rate)
            sound.layout = "mono"
        if video is not None:
            for index in range(round(video_seconds * 10)):
                pixels = np.full((120, 160, 3), (index * 9) % 256, dtype=np.uint8)
                pixels[:, (index * 4) % 160] = 255  # something moves, so the encoder has work to do
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = index
                container.mux(video.encode(frame))
            container.mux(video.encode())
        if sound is not None:
            step = sound.codec_context.frame_size or 1024
            first = round(audio_start * rate)
            for start in range(0, len(audio), step):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(audio[start : start + step], dtype=np.float32).reshape(1, -1),
                    format="fltp",
                    layout="mono",
                )
                frame.sample_rate = rate
                frame.pts = first + start
                frame.time_base = Fraction(1, rate)
                container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path


ESPEAK = shutil.which("espeak-ng")


def speak(text: str, path: Path) -> np.ndarray:
    """16 kHz mono samples of `text` read by espeak-ng's American English voice (also left in `path`)."""
    subprocess.run([ESPEAK, "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    return extract_audio(path)


def face_on_screen_video(
    path: Path,
    photo: Path,
    *,
    before: float = 1.0,
    during: float = 2.0,
    after: float = 1.0,
    audio: np.ndarray | None = None,
) -> Path:
    """A small H.264 clip (10 fps): grey for `before` seconds, then `photo` held for `during`, then grey again, so
    the face in it is on screen for one known span (a track from `before` to about `before + during`). With `audio`
    (16 kHz mono samples, e.g. from `speak`) it has a sound track from 0 s too; the pictures last at least as long."""
    from PIL import Image

    picture = np.asarray(Image.open(photo).convert("RGB").resize((320, 400)))
    blank = np.full_like(picture, 128)
    seconds = max(before + during + after, 0 if audio is None else len(audio) / SR + 0.3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 400, "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=SR)
            sound.layout = "mono"
        for index in range(round(seconds * 10)):
            shown = before <= index / 10 < before + during
            frame = av.VideoFrame.from_ndarray(picture if shown else blank, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if sound is not None:
            step = sound.codec_context.frame_size or 1024
            for start in range(0, len(audio), step):
                chunk = np.ascontiguousarray(audio[start : start + step], dtype=np.float32).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = SR, start, Fraction(1, SR)
                container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path
