"""Video decoding on the real Hamilton clip and on videos made here with PyAV: rotated, variable-rate, truncated,
audio-only, not-a-video, and a 10-minute one for memory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lookingglass.errors import BadInput
from lookingglass.media.video import frames_at, picture_change, probe, sample_frames

CLIP = "face_recognition_ageitgey/examples/short_hamilton_clip.mp4"
REPO = Path(__file__).resolve().parents[2]


def encode_video(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    rate: int = 10,
    pts_ms: list[int] | None = None,
    rotation: float | None = None,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Write RGB frames as a video with PyAV; `pts_ms` gives each frame's time (variable frame rate)."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", **(options or {})} if codec == "libx264" else dict(options or {})
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def encode_audio(path: Path, codec: str, seconds: float = 1.0, rate: int = 16000) -> Path:
    """A sine tone, mono, written with PyAV."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        sample_format = "s16" if codec == "pcm_s16le" else "fltp"
        samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
        block = 1024
        for start in range(0, samples.size, block):
            chunk = samples[start : start + block]
            data = (chunk * 12000).astype(np.int16) if sample_format == "s16" else chunk.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(data[None, :], format=sample_format, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def flat_frames(count: int, size: tuple[int, int] = (64, 48), step: int = 12) -> list[np.ndarray]:
    """Frame i is a flat grey of level 10 + step*i, so a decoded frame says which one it was."""
    width, height = size
    return [np.full((height, width, 3), 10 + step * i, np.uint8) for i in range(count)]


def frame_number(rgb: np.ndarray, step: int = 12) -> int:
    return round((float(rgb.mean()) - 10) / step)


# -- the Hamilton clip ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(faces_dir: Path) -> Path:
    path = faces_dir / CLIP
    if not path.is_file():
        pytest.skip(f"{CLIP} not found under {faces_dir}")
    return path


def test_probe_reads_the_hamilton_clip(clip: Path, labels: dict) -> None:
    expected = labels["video"][CLIP]
    info = probe(clip)
    assert info.has_video and info.has_audio
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == tuple(expected["size"])
    assert info.fps == pytest.approx(expected["fps"], abs=0.01)
    assert info.frame_count == expected["frames"]
    assert info.rotation == 0
    assert info.duration == pytest.approx(10.02, abs=0.05)
    # the audio starts first: the video's first frame is 0.84 s into the file, the clock every timestamp uses
    assert info.video_start == pytest.approx(0.844, abs=0.01)
    assert info.warnings == ()


def test_sampling_at_3_fps_covers_the_clip_and_finds_its_cuts(clip: Path, labels: dict) -> None:
    info = probe(clip)
    fractions: list[float] = []
    sampler = sample_frames(clip, fps=3.0, progress=fractions.append)
    frames = list(sampler)

    times = np.array([f.timestamp for f in frames])
    assert np.all(np.diff(times) > 0)
    assert times[0] == pytest.approx(info.video_start, abs=1e-3)
    last_frame = info.video_start + (info.frame_count - 1) / info.fps
    grid = times[0] + np.arange(int((last_frame - times[0]) * 3) + 1) / 3  # every 1/3 s to the last frame
    on_grid = [times[(times >= g - 1e-3) & (times < g + 1 / info.fps)] for g in grid]
    assert all(len(hit) == 1 for hit in on_grid), "one frame for each 1/3 s"
    assert last_frame - 1 / 3 <= times[-1] <= last_frame + 1e-3
    off_grid = [f for f in frames if not np.any(np.isclose(f.timestamp, np.concatenate(on_grid)))]
    assert all(f.scene_cut for f in off_grid)
    for frame in frames:  # the index is the frame number; the timestamp is that frame's time
        assert frame.timestamp == pytest.approx(info.video_start + frame.index / info.fps, abs=2e-3)
        assert frame.rgb.shape == (360, 640, 3) and frame.rgb.dtype == np.uint8

    # labels.json's shots start at frames 20, 82 and 211: exactly those are the scene cuts
    segments = labels["video"][CLIP]["segments"]
    starts = sorted(int(span.split("-")[0]) for spans in segments for span in spans.split(","))
    assert [f.index for f in frames if f.scene_cut] == [s for s in starts if s > 0] == [20, 82, 211]
    assert sampler.frames_decoded == info.frame_count and sampler.warnings == []

    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(fractions) >= 10


def test_frames_are_shrunk_to_max_side_and_never_enlarged(clip: Path) -> None:
    small = next(iter(sample_frames(clip, max_side=320)))
    assert small.rgb.shape == (180, 320, 3)
    assert next(iter(sample_frames(clip, max_side=4000))).rgb.shape == (360, 640, 3)


def test_frames_at_decodes_the_same_pictures_again(clip: Path) -> None:
    sampled = list(sample_frames(clip, fps=3.0))
    chosen = [sampled[i] for i in (2, 11, 12, 28)]
    again = frames_at(clip, [f.timestamp for f in chosen])
    for frame in chosen:
        twin = again[frame.timestamp]
        assert twin.index == frame.index
        assert np.array_equal(twin.rgb, frame.rgb)
    assert frames_at(clip, [99.0])[99.0].index == probe(clip).frame_count - 1  # past the end: the last frame


# -- videos made here -----------------------------------------------------------------------------------------------


def _marked_frame(width: int = 96, height: int = 64) -> np.ndarray:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:16, :16] = (255, 0, 0)  # red in the stored top-left corner
    rgb[-16:, -16:] = (0, 0, 255)  # blue in the stored bottom-right corner
    return rgb


def _corner_colours(rgb: np.ndarray) -> dict[str, tuple[int, ...]]:
    points = {"top_left": (3, 3), "top_right": (3, -4), "bottom_left": (-4, 3), "bottom_right": (-4, -4)}
    return {name: tuple(int(v) // 64 for v in rgb[y, x]) for name, (y, x) in points.items()}


def test_rotated_phone_video_comes_out_in_display_orientation(tmp_path: Path) -> None:
    # A phone held upright records landscape pixels plus a display matrix saying "turn 90 degrees clockwise"
    # (ffprobe shows rotation=-90; older files had the tag rotate=90).
    path = encode_video(tmp_path / "phone.mp4", [_marked_frame()] * 10, rotation=-90)
    info = probe(path)
    assert info.rotation == -90
    assert (info.width, info.height) == (64, 96)

    frame = next(iter(sample_frames(path)))
    assert frame.rgb.shape == (96, 64, 3)
    corners = _corner_colours(frame.rgb)
    assert corners["top_right"] == (3, 0, 0)  # turned clockwise: the stored top-left is now top-right
    assert corners["bottom_left"] == (0, 0, 3)

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("Debian's ffmpeg is not installed: the cross-check against its autorotate did not run")
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert len(raw) == frame.rgb.size
    reference = np.frombuffer(raw, np.uint8).reshape(frame.rgb.shape)
    assert _corner_colours(reference) == corners


@pytest.mark.parametrize("degrees", [90, 180])
def test_other_rotations(tmp_path: Path, degrees: int) -> None:
    path = encode_video(tmp_path / f"r{degrees}.mp4", [_marked_frame()] * 3, rotation=degrees)
    frame = next(iter(sample_frames(path)))
    corners = _corner_colours(frame.rgb)
    if degrees == 90:  # counter-clockwise: the stored top-left goes to the bottom-left
        assert frame.rgb.shape == (96, 64, 3) and corners["bottom_left"] == (3, 0, 0)
    else:
        assert frame.rgb.shape == (64, 96, 3) and corners["bottom_right"] == (3, 0, 0)
    assert probe(path).rotation == degrees


def test_variable_frame_rate_is_sampled_by_time(tmp_path: Path) -> None:
    times_ms = [0, 40, 80, 400, 420, 440, 460, 1300, 1333, 1366, 2500, 2510, 2520, 2530, 3100]
    path = encode_video(tmp_path / "vfr.mp4", flat_frames(len(times_ms)), pts_ms=times_ms)
    frames = list(sample_frames(path, fps=2.0, scene_threshold=None))
    # the first frame at or after each half second (0, 0.5, 1.5, 3.0; nothing new starts in 1.0-1.3 or 2.0-2.5)
    assert [round(f.timestamp, 3) for f in frames] == [0.0, 1.3, 2.5, 3.1]
    assert [frame_number(f.rgb) for f in frames] == [0, 7, 10, 14]
    indexes = [f.index for f in frames]
    assert indexes == sorted(set(indexes))


def test_truncated_mp4_yields_the_frames_before_the_cut(tmp_path: Path) -> None:
    frames = flat_frames(40, step=6)
    whole = encode_video(
        tmp_path / "whole.mp4", frames, options={"g": "5"}, container_options={"movflags": "faststart"}
    )
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.5)])

    sampler = sample_frames(cut, fps=10.0, scene_threshold=None)
    got = list(sampler)
    assert 3 <= len(got) < 40
    assert [frame_number(f.rgb, step=6) for f in got] == list(range(len(got)))
    assert any("truncated" in w for w in sampler.warnings)


def test_truncated_mp4_with_nothing_decodable_is_bad_input(tmp_path: Path) -> None:
    whole = encode_video(tmp_path / "whole.mp4", flat_frames(20), container_options={"movflags": "faststart"})
    data = whole.read_bytes()
    header_end = data.index(b"mdat") + 8  # the index survives, not one frame's bytes
    (tmp_path / "empty.mp4").write_bytes(data[:header_end])
    with pytest.raises(BadInput, match="no video frame"):
        list(sample_frames(tmp_path / "empty.mp4"))

    plain = encode_video(tmp_path / "plain.mp4", flat_frames(20))  # index (moov) at the end: cut off with it
    (tmp_path / "no_index.mp4").write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    with pytest.raises(BadInput, match="not a readable"):
        probe(tmp_path / "no_index.mp4")


@pytest.mark.parametrize(
    "content", [b"this is a text file, not a video\n" * 50, b"", b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n"]
)
def test_non_video_bytes_named_mp4_are_bad_input(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(BadInput):
        probe(path)
    with pytest.raises(BadInput):
        sample_frames(path)


def test_images_and_missing_files_are_bad_input(tmp_path: Path, faces_dir: Path) -> None:
    with pytest.raises(BadInput, match="not a supported"):
        probe(faces_dir / "face_recognition_ageitgey/examples/lin-manuel-miranda.png")
    with pytest.raises(BadInput, match="no such"):
        probe(tmp_path / "missing.mp4")


def test_unsupported_codec_is_bad_input(tmp_path: Path) -> None:
    good = encode_video(tmp_path / "good.mp4", flat_frames(5))
    data = good.read_bytes()
    assert data.count(b"avc1") >= 1
    (tmp_path / "odd.mp4").write_bytes(data.replace(b"avc1", b"zzzz"))  # a codec tag no decoder knows
    with pytest.raises(BadInput, match="codec"):
        probe(tmp_path / "odd.mp4")


@pytest.mark.parametrize(("name", "codec"), [("tone.wav", "pcm_s16le"), ("tone.m4a", "aac")])
def test_audio_only_files_probe_without_video(tmp_path: Path, name: str, codec: str) -> None:
    path = encode_audio(tmp_path / name, codec)
    info = probe(path)
    assert not info.has_video and info.has_audio
    assert info.audio_codec == ("aac" if codec == "aac" else "pcm_s16le")
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert (info.width, info.height, info.fps, info.video_codec) == (0, 0, 0.0, None)
    with pytest.raises(BadInput, match="no video"):
        sample_frames(path)


def test_scene_cuts_are_rate_limited_on_a_strobe(tmp_path: Path) -> None:
    black, white = np.zeros((48, 64, 3), np.uint8), np.full((48, 64, 3), 255, np.uint8)
    path = encode_video(tmp_path / "strobe.mp4", [white if i % 2 else black for i in range(50)], rate=10)
    sampler = sample_frames(path, fps=1.0, min_scene_gap_s=1.0)
    frames = list(sampler)
    cuts = [f.timestamp for f in frames if f.scene_cut]
    assert 3 <= len(cuts) <= 5  # 5 s of strobe: about one cut a second, not 49
    assert np.all(np.diff(cuts) >= 1.0 - 1e-6)


def test_picture_change_scores() -> None:
    y, x = np.mgrid[0:18, 0:32].astype(np.float32)
    scene = 128 + 100 * np.sin(x / 5) * np.cos(y / 4)  # a smooth picture, like a downscaled frame
    assert picture_change(scene, scene) == pytest.approx(0.0, abs=1e-6)
    assert picture_change(scene, np.roll(scene, 1, axis=1)) < 0.35  # the camera pans a little: same shot
    assert picture_change(scene, scene * 0.9 + 5) < 0.35  # the light dims a little
    other = 60 + 30 * np.cos(x / 3 + y / 7)  # another shot: other structure, other grey levels
    assert picture_change(scene, other) > 0.35


MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys
    from lookingglass.media.video import sample_frames

    def kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1])

    sampler = sample_frames(sys.argv[1], fps=2.0)
    count, warm = 0, None
    for frame in sampler:
        count += 1
        if count == 100:
            warm = kib("VmRSS:")
    print(json.dumps({"count": count, "warm": warm, "peak": kib("VmHWM:"), "decoded": sampler.frames_decoded}))
    """
)


def test_ten_minute_video_samples_in_bounded_memory(tmp_path: Path) -> None:
    # 10 minutes at 5 fps, 160x96: keeping the sampled frames would cost 55 MB, the decoded ones 69 MB
    square = np.zeros((96, 160, 3), np.uint8)

    def frames() -> Iterable[np.ndarray]:
        for i in range(3000):
            rgb = square.copy()
            rgb[30:50, (i * 3) % 140 : (i * 3) % 140 + 20] = (200, 100, 50)
            rgb[..., 2] = (i // 10) % 200
            yield rgb

    path = encode_video(tmp_path / "long.mp4", frames(), rate=5, options={"tune": "zerolatency"})
    assert probe(path).duration == pytest.approx(600.0, abs=1.0)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    measured = json.loads(result.stdout)
    assert measured["decoded"] == 3000
    assert 1200 <= measured["count"] <= 1300  # 2 fps for 600 s, plus a few scene cuts
    growth_mib = (measured["peak"] - measured["warm"]) / 1024
    assert growth_mib < 20, f"peak RSS grew {growth_mib:.1f} MiB after the first 100 frames"
