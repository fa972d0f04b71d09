"""Follow faces over time: detections in sampled frames linked into one `Track` per person-appearance.

    tracker = FaceTracker(similarity_threshold=models.embedder.default_threshold)
    for frame in sample_frames(path):
        tracker.update(frame, models.find_faces(frame.rgb))
    tracks = tracker.finish()                     # list[Track], track_id 0..n-1 in start order

Linking: a face joins the open track it fits best, by a combined affinity
    affinity = (1 - iou_weight) x similarity + iou_weight x IoU(box, track's last box)
where similarity is the cosine of the face's embedding with the track's (the better of its mean and its latest).
A pair may link when the similarity reaches `similarity_threshold` (the same person by the embedder's standard), or
when the boxes overlap (IoU >= `min_iou`) and the similarity is within `continuity_margin` below the threshold:
a face turning away keeps its track while it stays in place. Overlap only counts between consecutive samples in
one shot (no scene cut in between, at most `continuity_gap_s` apart). Pairs are taken greedily, best affinity first,
one face per track per frame. A track not seen for more than `max_gap_s` is closed; a face that re-appears within
that gap and is similar enough continues it.

Keyframe quality (higher is better, 0..1), `face_quality`:
    quality   = confidence x sharpness x frontalness
    sharpness = v / (v + 100), v = variance of the Laplacian of the face crop resampled to 64x64 grey
                (resampling makes it size-independent, and an upscaled tiny face is blurry, so it scores low;
                measured: out-of-focus faces v ~ 2-40, sharp ones 300-1300)
    frontal   = max(0.05, yaw) x level
                yaw   = 1 - 2 |p - 0.5|, p = where the nose projects on the eye-to-eye segment (0.5 = centred;
                        in profile the nose leaves the segment and yaw is 0, kept at 0.05 so ranking still works)
                level = max(0, cos(angle of the eye line))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from lookingglass.records import Detection, Face, Track, TrackedFace, VideoFrame
from lookingglass.vision.detect import iou

_SHARPNESS_HALF = 100.0  # Laplacian variance (64x64 grey crop) that scores 0.5
_QUALITY_CROP = 64
_MIN_FRONTAL = 0.05
_KEYFRAME_SPREAD_FLOOR = 0.5  # a keyframe picked for spread must be at least half as good as the best


def sharpness(rgb: np.ndarray, box: Sequence[float]) -> float:
    """0..1: variance of the Laplacian of the face crop (resampled to 64x64 grey), squashed as v / (v + 100)."""
    height, width = rgb.shape[:2]
    x1, y1 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x2, y2 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    shrinking = grey.shape[0] > _QUALITY_CROP or grey.shape[1] > _QUALITY_CROP
    grey = cv2.resize(
        grey, (_QUALITY_CROP, _QUALITY_CROP), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return variance / (variance + _SHARPNESS_HALF)


def frontalness(detection: Detection) -> float:
    """0.05..1 from the five landmarks: nose centred between the eyes (yaw) times a level eye line (roll)."""
    if len(detection.landmarks) < 3:
        return _MIN_FRONTAL
    right_eye, left_eye, nose = (np.asarray(p, dtype=np.float64) for p in detection.landmarks[:3])
    eyes = left_eye - right_eye
    span = float(eyes @ eyes)
    if span < 1.0:
        return _MIN_FRONTAL
    position = float((nose - right_eye) @ eyes) / span
    yaw = min(1.0, max(0.0, 1.0 - 2.0 * abs(position - 0.5)))
    level = max(0.0, float(eyes[0]) / math.sqrt(span))  # cos of the eye line's angle to the horizontal
    return max(_MIN_FRONTAL, yaw) * level


def face_quality(rgb: np.ndarray, face: Face) -> float:
    """How good a keyframe this face makes: confidence x sharpness x frontalness (see the module docstring)."""
    confidence = min(1.0, max(0.0, float(face.detection.confidence)))
    return confidence * sharpness(rgb, face.box) * frontalness(face.detection)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


@dataclass
class _OpenTrack:
    """A track still being built."""

    key: int  # order of creation; final ids are assigned by start time
    faces: list[TrackedFace] = field(default_factory=list)
    embedding_sum: np.ndarray | None = None
    last_embedding: np.ndarray | None = None

    @property
    def last(self) -> TrackedFace:
        return self.faces[-1]

    def add(self, tracked: TrackedFace) -> None:
        embedding = np.asarray(tracked.face.embedding, dtype=np.float64)
        self.faces.append(tracked)
        self.embedding_sum = embedding.copy() if self.embedding_sum is None else self.embedding_sum + embedding
        self.last_embedding = embedding

    def similarity(self, embedding: np.ndarray) -> float:
        assert self.embedding_sum is not None and self.last_embedding is not None
        vector = np.asarray(embedding, dtype=np.float64)
        return max(float(_unit(self.embedding_sum) @ vector), float(self.last_embedding @ vector))


class FaceTracker:
    """Streaming face tracker: `update(frame, faces)` per sampled frame in time order, then `finish()`."""

    def __init__(
        self,
        similarity_threshold: float,
        *,
        iou_weight: float = 0.3,
        min_iou: float = 0.3,
        continuity_margin: float = 0.15,
        continuity_gap_s: float = 0.75,
        max_gap_s: float = 1.5,
        keyframes_per_track: int = 3,
        min_single_confidence: float = 0.8,
    ) -> None:
        """`similarity_threshold`: cosine at which the embedder calls two faces the same person
        (`models.embedder.default_threshold`). A track with one detection is kept only if that detection's
        confidence is at least `min_single_confidence`."""
        if not 0.0 <= iou_weight <= 1.0:
            raise ValueError(f"iou_weight must be within 0..1, got {iou_weight}")
        if keyframes_per_track < 1:
            raise ValueError(f"keyframes_per_track must be at least 1, got {keyframes_per_track}")
        self.similarity_threshold = float(similarity_threshold)
        self.iou_weight = float(iou_weight)
        self.min_iou = float(min_iou)
        self.continuity_margin = float(continuity_margin)
        self.continuity_gap_s = float(continuity_gap_s)
        self.max_gap_s = float(max_gap_s)
        self.keyframes_per_track = int(keyframes_per_track)
        self.min_single_confidence = float(min_single_confidence)
        self._open: list[_OpenTrack] = []
        self._closed: list[_OpenTrack] = []
        self._next_key = 0
        self._last_cut = -math.inf
        self._last_time = -math.inf

    def update(self, frame: VideoFrame, faces: Sequence[Face]) -> None:
        """Add one sampled frame's faces (boxes in `frame.rgb` pixels). Frames must come in time order."""
        now = float(frame.timestamp)
        if now < self._last_time:
            raise ValueError(f"frames must come in time order: {now:.3f} s after {self._last_time:.3f} s")
        self._last_time = now
        if frame.scene_cut:
            self._last_cut = now
        still_open = []
        for track in self._open:
            (still_open if now - track.last.timestamp <= self.max_gap_s else self._closed).append(track)
        self._open = still_open
        if not faces:
            return

        pairs: list[tuple[float, int, int]] = []
        for t_index, track in enumerate(self._open):
            last = track.last
            if last.timestamp >= now:  # already has a face from this frame (duplicate timestamps)
                continue
            same_shot = self._last_cut <= last.timestamp and now - last.timestamp <= self.continuity_gap_s
            for f_index, face in enumerate(faces):
                similarity = track.similarity(face.embedding)
                overlap = iou(last.face.box, face.box) if same_shot else 0.0
                linked = similarity >= self.similarity_threshold or (
                    overlap >= self.min_iou and similarity >= self.similarity_threshold - self.continuity_margin
                )
                if linked:
                    affinity = (1.0 - self.iou_weight) * similarity + self.iou_weight * overlap
                    pairs.append((affinity, t_index, f_index))

        assigned: dict[int, int] = {}
        used_tracks: set[int] = set()
        for _, t_index, f_index in sorted(pairs, key=lambda p: -p[0]):
            if t_index in used_tracks or f_index in assigned:
                continue
            assigned[f_index] = t_index
            used_tracks.add(t_index)

        for f_index, face in enumerate(faces):
            tracked = TrackedFace(
                timestamp=now, frame_index=frame.index, face=face, quality=face_quality(frame.rgb, face)
            )
            if f_index in assigned:
                self._open[assigned[f_index]].add(tracked)
            else:
                track = _OpenTrack(key=self._next_key)
                self._next_key += 1
                track.add(tracked)
                self._open.append(track)

    def finish(self) -> list[Track]:
        """Close every track and return them, `track_id` 0..n-1 in order of start time. The tracker is then empty."""
        built = self._closed + self._open
        self._open, self._closed = [], []
        kept = [t for t in built if self._keep(t)]
        kept.sort(key=lambda t: (t.faces[0].timestamp, t.faces[0].frame_index, t.key))
        return [self._track(track_id, t) for track_id, t in enumerate(kept)]

    def _keep(self, track: _OpenTrack) -> bool:
        if len(track.faces) >= 2:
            return True
        return track.faces[0].face.detection.confidence >= self.min_single_confidence

    def _track(self, track_id: int, track: _OpenTrack) -> Track:
        assert track.embedding_sum is not None
        return Track(
            track_id=track_id,
            start=track.faces[0].timestamp,
            end=track.faces[-1].timestamp,
            faces=tuple(track.faces),
            keyframes=pick_keyframes(track.faces, self.keyframes_per_track),
            mean_embedding=_unit(track.embedding_sum).astype(np.float32),
        )


def pick_keyframes(faces: Sequence[TrackedFace], k: int) -> tuple[TrackedFace, ...]:
    """The best `k` faces by quality, best first, spread in time when the track allows it.

    Greedy: take the best face, then the best one at least span / (k + 1) seconds from every face taken, as long
    as it is at least half as good as the best; then fill up with the best remaining regardless of time.
    """
    if not faces:
        return ()
    ranked = sorted(faces, key=lambda f: (-f.quality, f.timestamp))
    span = faces[-1].timestamp - faces[0].timestamp
    spacing = span / (k + 1)
    good_enough = _KEYFRAME_SPREAD_FLOOR * ranked[0].quality
    chosen: list[TrackedFace] = []
    for candidate in ranked:
        if len(chosen) == k or candidate.quality < good_enough:
            break
        if all(abs(candidate.timestamp - c.timestamp) >= spacing for c in chosen):
            chosen.append(candidate)
    for candidate in ranked:
        if len(chosen) == k:
            break
        if all(candidate is not c for c in chosen):
            chosen.append(candidate)
    return tuple(sorted(chosen, key=lambda f: (-f.quality, f.timestamp)))


def track_faces(
    frames_with_faces: Iterable[tuple[VideoFrame, Sequence[Face]]], similarity_threshold: float, **options: float
) -> list[Track]:
    """All tracks of a sequence of (sampled frame, its faces) pairs; `options` as for `FaceTracker`."""
    tracker = FaceTracker(similarity_threshold, **options)
    for frame, faces in frames_with_faces:
        tracker.update(frame, faces)
    return tracker.finish()
