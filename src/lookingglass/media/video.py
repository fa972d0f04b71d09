"""Video decoding with PyAV: what a file holds (`probe`) and the frames worth looking at (`sample_frames`).

    info = probe(path)                                   # VideoInfo, or BadInput
    sampler = sample_frames(path, fps=3.0)               # FrameSampler: iterate it for VideoFrame records
    for frame in sampler: ...                            # streaming; memory does not grow with the video's length
    sampler.warnings                                     # what went wrong on the way (truncation, corrupt packets)

Every failure to read a file is a `BadInput` with a message a person can act on; no raw `av` exception escapes.

Time: every timestamp is in seconds from the start of the *container* (ffmpeg's clock, and the one the decoded audio,
so a transcript, counts from). A video stream may start later than that: `VideoInfo.video_start` says by how much
(0.84 s in the Hamilton clip, whose audio starts first).

Frames come out in display orientation (the stream's display matrix applied, the way `ffmpeg` autorotates:
quarter turns and mirroring) with square pixels, shrunk so the longest side is at most `max_side` and never enlarged.
Boxes found on a frame are in that frame's pixels; `VideoInfo.width/height` is the full display size, so
`info.width / frame.rgb.shape[1]` scales them back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter

from lookingglass.errors import BadInput
from lookingglass.records import VideoFrame

log = logging.getLogger("lookingglass.video")

# Demuxers we let FFmpeg pick from (`format_whitelist`). Others are refused before they read a byte past the probe:
# playlists (hls, dash, concat) would open further files or URLs named inside the upload, image demuxers would make
# a photo a one-frame video, and `tty` would render a text file as a video.
_DEMUXERS = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "ogg",
    "wav", "w64", "mp3", "aac", "flac", "asf", "caf", "aiff", "amr", "ivf", "gif",
)  # fmt: skip
_OPEN_OPTIONS = {"format_whitelist": ",".join(_DEMUXERS), "protocol_whitelist": "file"}

_THUMB_SIZE = (32, 18)  # luma thumbnail for scene-cut scores (width, height)
_HIST_BINS = 16
_HIST_FULL_SCALE = 0.15  # histogram distance at which the histogram stops discounting the picture change
_MAX_DECODE_ERRORS = 50  # corrupt packets skipped before giving up on a stream
_MAX_WARNINGS = 20
_SEEK_INSTEAD_S = 5.0  # frames_at: seek again rather than decode forward this far
_SKIP_NONREF_RATIO = 4.0  # skip non-reference frames when the stream has >= 4x more frames than we sample


@dataclass(frozen=True)
class VideoInfo:
    """What a media file holds. Audio-only files are fine: `has_video` is False and the video fields are 0/None."""

    duration: float  # seconds (container duration; 0.0 when the file does not say)
    fps: float  # average frame rate of the video stream (0.0 without video)
    width: int  # display size: after the display matrix's rotation and the pixel aspect ratio
    height: int
    rotation: int  # display matrix rotation, degrees counter-clockwise (ffprobe's `rotation`): 0, 90, -90 or 180
    has_video: bool
    has_audio: bool
    video_codec: str | None
    audio_codec: str | None
    frame_count: int  # from the container's index when it has one, else duration x fps
    video_start: float = 0.0  # seconds from the container start to the video stream's first frame
    container: str = ""  # demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    warnings: tuple[str, ...] = ()  # e.g. an audio track no decoder here can read


def _open(path: str | Path) -> av.container.InputContainer:
    """Open a media file for reading, turning every failure into BadInput."""
    name = Path(path).name
    try:
        return av.open(str(path), mode="r", options=_OPEN_OPTIONS)
    except av.error.FileNotFoundError as exc:
        raise BadInput(f"no such media file: {name}") from exc
    except av.error.ArgumentError as exc:
        # FFmpeg recognised the bytes but as a format outside the whitelist (an image, a playlist, ...)
        raise BadInput(f"{name} is not a supported audio/video container (images and playlists are refused)") from exc
    except av.error.InvalidDataError as exc:
        raise BadInput(f"{name} is not a readable audio/video file (unknown format, or truncated/corrupt)") from exc
    except av.error.FFmpegError as exc:
        raise BadInput(f"cannot open {name} as media: {exc.strerror or exc}") from exc


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first real video stream (cover art in a music file is a video stream too, flagged `attached_pic`)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _codec_name(stream: av.stream.Stream) -> str | None:
    context = stream.codec_context
    return context.name if context is not None else None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _container_start(container: av.container.InputContainer) -> float:
    start = container.start_time
    return start / av.time_base if start is not None else 0.0


# -- display orientation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orientation:
    """How to turn a decoded picture into what a player displays, as `ffmpeg`'s autorotate does."""

    quarter_turns: int = 0  # counter-clockwise, as np.rot90's k
    transpose: bool = False  # mirror across the main diagonal (with quarter_turns, covers the flipped 90/270 cases)
    hflip: bool = False
    vflip: bool = False
    odd_angle: float | None = None  # a rotation that is not a multiple of 90 degrees: left unapplied

    @property
    def swaps_sides(self) -> bool:
        return self.transpose or self.quarter_turns % 2 == 1

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        out = rgb
        if self.transpose:
            out = out.transpose(1, 0, 2)
        if self.quarter_turns:
            out = np.rot90(out, self.quarter_turns)
        if self.hflip:
            out = out[:, ::-1]
        if self.vflip:
            out = out[::-1]
        return out if out is rgb else np.ascontiguousarray(out)


_UPRIGHT = _Orientation()


def _orientation(matrix: np.ndarray | None) -> _Orientation:
    """Decode a 3x3 display matrix (16.16 fixed point, FFmpeg layout) the way fftools/ffmpeg_filter.c does."""
    if matrix is None:
        return _UPRIGHT
    m = [float(v) for v in matrix[:9]]
    scale0, scale1 = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if scale0 == 0 or scale1 == 0:
        return _UPRIGHT
    # av_display_rotation_get() is -atan2(m1/s1, m0/s0); ffmpeg's get_rotation() negates it again (clockwise theta)
    theta = float(round(math.degrees(math.atan2(m[1] / scale1, m[0] / scale0))))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:  # transpose=clock, or cclock_flip (= transpose) when mirrored
        return _Orientation(transpose=True) if m[3] > 0 else _Orientation(quarter_turns=-1)
    if abs(theta - 180) < 1:
        return _Orientation(hflip=m[0] < 0, vflip=m[4] < 0)
    if abs(theta - 270) < 1:  # transpose=cclock, or clock_flip (anti-transpose) when mirrored
        return _Orientation(quarter_turns=-1, vflip=True) if m[3] < 0 else _Orientation(quarter_turns=1)
    if abs(theta) > 1:
        return _Orientation(odd_angle=theta)
    return _Orientation(vflip=m[4] < 0)


def _display_matrix(frame: av.VideoFrame) -> np.ndarray | None:
    for side_data in frame.side_data:
        if side_data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            data = bytes(side_data)
            if len(data) >= 36:
                return np.frombuffer(data[:36], dtype=np.int32)
    return None


def _display_rotation(orientation: _Orientation, frame: av.VideoFrame) -> int:
    """The rotation a viewer reports (degrees counter-clockwise, ffprobe's convention), normalised to -90..180."""
    degrees = int(frame.rotation)
    if orientation.odd_angle is None:
        degrees = round(degrees / 90.0) * 90
    return 180 if degrees == -180 else degrees


def _sample_aspect(stream: av.video.stream.VideoStream, frame: av.VideoFrame | None = None) -> Fraction:
    for sar in (getattr(frame, "sample_aspect_ratio", None), stream.sample_aspect_ratio):
        if sar and sar > 0:
            return Fraction(sar)
    return Fraction(1)


def _display_size(width: int, height: int, sar: Fraction, orientation: _Orientation) -> tuple[int, int]:
    """Square-pixel size in display orientation."""
    if sar != 1:
        width = max(1, round(width * sar))
    return (height, width) if orientation.swaps_sides else (width, height)


# -- probe --------------------------------------------------------------------------------------------------------


def probe(path: str | Path) -> VideoInfo:
    """What `path` holds: duration, frame rate, display size and rotation, codecs; BadInput if it is not usable media.

    Raises BadInput for: a file FFmpeg cannot parse (text, truncated before its index, unknown format), a container
    outside the accepted list (images, playlists), a file with neither video nor audio, and a video (or, for an
    audio-only file, audio) codec that this PyAV build cannot decode. Decodes the first video frame to read the
    display matrix (PyAV exposes it per frame).
    """
    name = Path(path).name
    with _open(path) as container:
        video = _video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise BadInput(f"{name} has no video or audio stream")
        warnings: list[str] = []
        if video is not None and video.codec_context is None:
            raise BadInput(f"{name}: its video codec cannot be decoded here (no decoder in this PyAV build)")
        if audio is not None and audio.codec_context is None:
            if video is None:
                raise BadInput(f"{name}: its audio codec cannot be decoded here (no decoder in this PyAV build)")
            warnings.append("the audio track's codec cannot be decoded here; treating the file as silent")
            audio = None

        origin = _container_start(container)
        duration = container.duration / av.time_base if container.duration else 0.0
        if video is None:
            if not duration and audio is not None:
                duration = _seconds(audio.duration, audio.time_base) or 0.0
            return VideoInfo(
                duration=duration, fps=0.0, width=0, height=0, rotation=0, has_video=False, has_audio=True,
                video_codec=None, audio_codec=_codec_name(audio), frame_count=0, container=container.format.name,
                warnings=tuple(warnings),
            )  # fmt: skip

        rate = video.average_rate or video.guessed_rate or video.base_rate
        fps = float(rate) if rate else 0.0
        if not duration:
            duration = _seconds(video.duration, video.time_base) or 0.0
        frame_count = int(video.frames) if video.frames else round(duration * fps)
        first_pts = _seconds(video.start_time, video.time_base)
        video_start = max(0.0, first_pts - origin) if first_pts is not None else 0.0

        first = _first_frame(container, video)
        if first is None:
            raise BadInput(f"{name}: no video frame could be decoded (truncated or corrupt)")
        orientation = _orientation(_display_matrix(first))
        if orientation.odd_angle is not None:
            warnings.append(f"display rotation of {orientation.odd_angle:.0f} degrees is not a quarter turn; ignored")
        width, height = _display_size(first.width, first.height, _sample_aspect(video, first), orientation)
        return VideoInfo(
            duration=duration,
            fps=fps,
            width=width,
            height=height,
            rotation=_display_rotation(orientation, first),
            has_video=True,
            has_audio=audio is not None,
            video_codec=_codec_name(video),
            audio_codec=_codec_name(audio) if audio is not None else None,
            frame_count=frame_count,
            video_start=video_start,
            container=container.format.name,
            warnings=tuple(warnings),
        )


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> av.VideoFrame | None:
    frames = _decoded(container, stream, lambda message: None)
    try:
        return next(frames, None)
    finally:
        frames.close()


# -- sampling -----------------------------------------------------------------------------------------------------


def _luma_thumbnail(frame: av.VideoFrame, reformatter: VideoReformatter) -> np.ndarray:
    width, height = _THUMB_SIZE
    small = reformatter.reformat(frame, format="gray", width=width, height=height, interpolation="AREA")
    return small.to_ndarray().astype(np.float32)


def picture_change(previous: np.ndarray, current: np.ndarray) -> float:
    """How much the picture changed between two luma thumbnails: 0 (same) .. 1 (a different shot).

    (1 - normalised cross-correlation) says the *structure* changed; it is discounted by how much the grey-level
    histogram moved (full weight at a total-variation distance of 0.15), because motion within one shot changes
    structure but hardly the histogram. Measured on the Hamilton clip: its three cuts score 0.78-1.0, the busiest
    in-shot motion 0.21.
    """
    a = previous.ravel()
    b = current.ravel()
    za = (a - a.mean()) / (a.std() + 4.0)  # +4 grey levels keeps flat frames (fades, black) from amplifying noise
    zb = (b - b.mean()) / (b.std() + 4.0)
    structure = min(1.0, max(0.0, 1.0 - float(np.mean(za * zb))))
    ha = np.histogram(a, bins=_HIST_BINS, range=(0, 256))[0] / a.size
    hb = np.histogram(b, bins=_HIST_BINS, range=(0, 256))[0] / b.size
    histogram = 0.5 * float(np.abs(ha - hb).sum())
    return structure * min(1.0, histogram / _HIST_FULL_SCALE)


class _Clock:
    """Frame times in seconds from the container start, and frame numbers at the stream's average rate."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream, rate: float):
        self.time_base = stream.time_base or Fraction(1, 90000)
        self.origin = _container_start(container)
        stream_start = _seconds(stream.start_time, self.time_base)
        self.stream_offset = stream_start - self.origin if stream_start is not None else 0.0
        self.rate = rate
        self.last: float | None = None

    def seconds(self, frame: av.VideoFrame) -> float:
        if frame.pts is not None:
            t = float(frame.pts * self.time_base) - self.origin
        elif self.last is not None:  # no timestamp (rare, broken muxers): continue the clock at the average rate
            t = self.last + 1.0 / self.rate
        else:
            t = self.stream_offset
        self.last = max(0.0, t)
        return self.last

    def index(self, seconds: float) -> int:
        return max(0, round((seconds - self.stream_offset) * self.rate))


class _Pictures:
    """Decoded frames to RGB uint8 in display orientation, square pixels, longest side <= max_side."""

    def __init__(self, max_side: int, warn: Callable[[str], None]) -> None:
        self.max_side = max_side
        self._warn = warn
        self._reformatter = VideoReformatter()  # keeps its SwsContext: 4x cheaper than frame.to_ndarray(...)
        self._matrix: bytes | None = None
        self._orientation = _UPRIGHT

    def rgb(self, frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> np.ndarray:
        matrix = _display_matrix(frame)
        key = matrix.tobytes() if matrix is not None else None
        if key != self._matrix:
            self._matrix, self._orientation = key, _orientation(matrix)
            if self._orientation.odd_angle is not None:
                self._warn(f"display rotation of {self._orientation.odd_angle:.0f} degrees ignored")
        sar = _sample_aspect(stream, frame)
        width = max(1, round(frame.width * sar)) if sar != 1 else frame.width
        height = frame.height
        scale = min(1.0, self.max_side / max(width, height))
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if target == (frame.width, frame.height):
            converted = self._reformatter.reformat(frame, format="rgb24")
        else:
            converted = self._reformatter.reformat(
                frame, format="rgb24", width=target[0], height=target[1], interpolation="AREA"
            )
        return self._orientation.apply(converted.to_ndarray())


class FrameSampler:
    """Iterate for `VideoFrame`s; read `warnings`, `frames_decoded` and `info` during or after the iteration.

    Create it with `sample_frames`. One pass only; the file is closed when the iteration ends, fails or is
    abandoned (`close()`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float,
        scene_threshold: float | None,
        max_side: int,
        progress: Callable[[float], None] | None,
        min_scene_gap_s: float,
        skip_nonref: bool | None,
    ) -> None:
        if not fps > 0:
            raise BadInput(f"sampling rate must be positive, got {fps}")
        if max_side < 16:
            raise BadInput(f"max_side must be at least 16 pixels, got {max_side}")
        self.path = Path(path)
        self.fps = float(fps)
        self.scene_threshold = scene_threshold
        self.max_side = int(max_side)
        self.progress = progress
        self.min_scene_gap_s = float(min_scene_gap_s)
        self.info = probe(path)
        if not self.info.has_video:
            raise BadInput(f"{self.path.name} has no video stream (audio only)")
        self.skip_nonref = self.info.fps >= _SKIP_NONREF_RATIO * self.fps if skip_nonref is None else bool(skip_nonref)
        self.warnings: list[str] = list(self.info.warnings)
        self.frames_decoded = 0
        self.frames_emitted = 0
        self.scene_cuts = 0
        self.last_timestamp: float | None = None
        self._thumbs = VideoReformatter()
        self._iterator: Iterator[VideoFrame] | None = None

    def __iter__(self) -> Iterator[VideoFrame]:
        if self._iterator is None:
            self._iterator = self._frames()
        return self._iterator

    def __next__(self) -> VideoFrame:
        return next(iter(self))

    def close(self) -> None:
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]

    def _warn(self, message: str) -> None:
        log.warning("%s: %s", self.path.name, message)
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(message)

    def _report(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(min(1.0, max(0.0, fraction)))

    def _frames(self) -> Iterator[VideoFrame]:
        with _open(self.path) as container:
            stream = _video_stream(container)
            if stream is None or stream.codec_context is None:  # probe said otherwise a moment ago: file changed
                raise BadInput(f"{self.path.name} has no decodable video stream")
            stream.thread_type = "AUTO"
            if self.skip_nonref:
                stream.codec_context.skip_frame = "NONREF"
            yield from self._sample(container, stream)

    def _sample(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream
    ) -> Iterator[VideoFrame]:
        clock = _Clock(container, stream, self.info.fps or self.fps)
        pictures = _Pictures(self.max_side, self._warn)
        interval = 1.0 / self.fps
        duration = self.info.duration or 0.0
        grid_origin: float | None = None
        next_due = 0.0
        last_cut = -math.inf
        previous_thumb: np.ndarray | None = None
        last_index = -1
        progress_at, progress_wall = -1.0, time.monotonic()

        for frame in _decoded(container, stream, self._warn):
            self.frames_decoded += 1
            t = self.last_timestamp = clock.seconds(frame)
            if grid_origin is None:
                grid_origin = next_due = t
            due = t >= next_due - 1e-3
            if due:  # the next point of the grid after t (points missed in a gap are skipped, not made up)
                next_due = grid_origin + (math.floor((t - grid_origin + 1e-3) * self.fps) + 1) * interval

            cut = False
            if self.scene_threshold is not None:
                thumb = _luma_thumbnail(frame, self._thumbs)
                if previous_thumb is not None and t - last_cut >= self.min_scene_gap_s:
                    cut = picture_change(previous_thumb, thumb) >= self.scene_threshold
                previous_thumb = thumb
            if cut:
                last_cut = t
                self.scene_cuts += 1

            if due or cut:
                last_index = max(clock.index(t), last_index + 1)
                self.frames_emitted += 1
                yield VideoFrame(index=last_index, timestamp=t, rgb=pictures.rgb(frame, stream), scene_cut=cut)

            if duration > 0:
                now = time.monotonic()
                if t / duration - progress_at >= 0.01 or now - progress_wall >= 2.0:
                    progress_at, progress_wall = t / duration, now
                    self._report(progress_at)

        if self.frames_decoded == 0:
            raise BadInput(f"{self.path.name}: no video frame could be decoded (truncated or corrupt)")
        expected_end = self._expected_end(stream, clock)
        stopped = clock.last if clock.last is not None else 0.0
        if expected_end is not None and expected_end - stopped > 1.0 + 2.0 / clock.rate:
            self._warn(f"video stops at {stopped:.2f} s of {expected_end:.2f} s: the file is truncated or corrupt")
        self._report(1.0)

    def _expected_end(self, stream: av.video.stream.VideoStream, clock: _Clock) -> float | None:
        """Start of the last frame the container announces, in our clock."""
        length = _seconds(stream.duration, clock.time_base)
        last_frame = 1.0 / self.info.fps if self.info.fps else 0.0
        if stream.start_time is not None and length:
            return clock.stream_offset + length - last_frame
        if self.info.duration:
            return self.info.duration - last_frame
        return None


def _decoded(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, warn: Callable[[str], None]
) -> Iterator[av.VideoFrame]:
    """Decoded frames in presentation order; corrupt packets are skipped, a broken container ends the stream."""
    errors = 0
    packets = container.demux(stream)
    try:
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                warn(f"demuxing stopped at a damaged part of the file: {exc.strerror or exc}")
                return
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                errors += 1
                if errors > _MAX_DECODE_ERRORS:
                    warn(f"gave up after {_MAX_DECODE_ERRORS} undecodable packets: {exc.strerror or exc}")
                    return
                continue
            yield from frames
    finally:
        if 0 < errors <= _MAX_DECODE_ERRORS:
            warn(f"{errors} corrupt packet(s) skipped")


def frames_at(path: str | Path, timestamps: Iterable[float], max_side: int = 1280) -> dict[float, VideoFrame]:
    """The frames shown at `timestamps` (seconds, as `sample_frames` reported them), decoded again.

    For keyframe thumbnails after tracking: seeks to the key frame before each wanted time and decodes forward
    (wanted times a few seconds apart share one pass). Each result is the last frame starting at or before its
    time, converted like `sample_frames` does (`scene_cut` False); times past the end get the last frame.
    """
    wanted = sorted({float(t) for t in timestamps})
    found: dict[float, VideoFrame] = {}
    if not wanted:
        return found
    info = probe(path)
    if not info.has_video:
        raise BadInput(f"{Path(path).name} has no video stream (audio only)")

    def warn(message: str) -> None:
        log.warning("%s: %s", Path(path).name, message)

    with _open(path) as container:
        stream = _video_stream(container)
        if stream is None or stream.codec_context is None:
            raise BadInput(f"{Path(path).name} has no decodable video stream")
        stream.thread_type = "AUTO"
        clock = _Clock(container, stream, info.fps or 25.0)
        pictures = _Pictures(int(max_side), warn)

        def keep(target: float, frame: av.VideoFrame, t: float) -> None:
            found[target] = VideoFrame(index=clock.index(t), timestamp=t, rgb=pictures.rgb(frame, stream))

        i = 0
        while i < len(wanted):
            try:
                container.seek(int((wanted[i] + clock.origin) / clock.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0, stream=stream, backward=True)
            first_of_pass = i
            previous: tuple[av.VideoFrame, float] | None = None
            for frame in _decoded(container, stream, warn):
                t = clock.seconds(frame)
                while i < len(wanted) and t > wanted[i] + 1e-4:
                    keep(wanted[i], *(previous or (frame, t)))
                    i += 1
                if i == len(wanted) or (i > first_of_pass and wanted[i] - t > _SEEK_INSTEAD_S):
                    break
                previous = (frame, t)
            else:  # end of stream: the remaining times get the last frame
                for target in wanted[i:]:
                    if previous is not None:
                        keep(target, *previous)
                break
    return found


def sample_frames(
    path: str | Path,
    fps: float = 3.0,
    scene_threshold: float | None = 0.35,
    max_side: int = 1280,
    progress: Callable[[float], None] | None = None,
    *,
    min_scene_gap_s: float = 1.0,
    skip_nonref: bool | None = None,
) -> FrameSampler:
    """The frames of `path` worth analysing, decoded as a stream: iterate the result for `VideoFrame`s.

    - One frame per 1/`fps` seconds of *presentation time* (frame timestamps, so variable-frame-rate video is
      sampled evenly): the first frame at or after each point of a grid that starts at the first frame.
    - Plus scene cuts: a frame whose `picture_change` from the previous decoded frame is >= `scene_threshold`
      (`scene_cut=True`; also set when the cut frame was due anyway), at most one per `min_scene_gap_s` so a
      strobe or flicker cannot emit every frame. `scene_threshold=None` turns cut detection off.
    - Frames in display orientation, square pixels, longest side <= `max_side` (smaller videos keep their size).
    - `VideoFrame.index` is the frame number at the stream's average rate (exact for constant-rate video),
      strictly increasing; `timestamp` is seconds from the container start.
    - `progress(fraction)` is called about every 1% of the duration (or every 2 s) and with 1.0 at the end.
    - `skip_nonref`: do not decode non-reference frames (B-frames that nothing depends on). Default: when the
      stream has at least 4x more frames than we sample; about 40% faster decoding on x264 video with B-frames,
      and a sampled frame lands at most one frame later than it would otherwise.
    - A file that stops early (truncated download) or has corrupt packets yields what decodes and records why in
      `sampler.warnings`; BadInput (at creation) for anything `probe` refuses or audio-only files, and (during
      the iteration) when no frame at all decodes.
    """
    return FrameSampler(
        path,
        fps=fps,
        scene_threshold=scene_threshold,
        max_side=max_side,
        progress=progress,
        min_scene_gap_s=min_scene_gap_s,
        skip_nonref=skip_nonref,
    )
