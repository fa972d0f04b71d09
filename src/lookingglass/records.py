"""Records that flow between modules. Boxes are (x1, y1, x2, y2) floats in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """A face found by a detector, before embedding."""

    box: Box
    confidence: float
    landmarks: tuple[Point, ...]  # 5 points: right eye, left eye, nose, right mouth, left mouth (image left to right)
    detector: str


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face with its embedding (L2-normalised)."""

    detection: Detection
    embedding: np.ndarray

    @property
    def box(self) -> Box:
        return self.detection.box

    @property
    def confidence(self) -> float:
        return self.detection.confidence

    @property
    def landmarks(self) -> tuple[Point, ...]:
        return self.detection.landmarks


@dataclass(frozen=True)
class MediaObject:
    """A stored object: identity is the content hash; where it came from lives in `metadata`."""

    sha256: str
    key: str
    size: int
    content_type: str
    kind: str  # "image" | "video" | "audio" | "page"
    metadata: dict = field(default_factory=dict)

    @property
    def source_url(self) -> str | None:
        urls = self.metadata.get("source_urls") or []
        return urls[0] if urls else None


@dataclass(frozen=True)
class FacePoint:
    """One indexed face: what goes into the vector index."""

    id: str
    vector: np.ndarray
    payload: dict


@dataclass(frozen=True)
class Hit:
    """One search result from the vector index."""

    id: str
    score: float
    payload: dict


@dataclass(frozen=True)
class Match:
    """A lookup result for one query face, shaped for the API."""

    score: float
    sha256: str
    source_url: str | None
    box: Box
    kind: str
    timestamp: float | None
    page_url: str | None = None
    face_id: str | None = None
    track_id: int | None = None  # video: the face track this keyframe belongs to
    start: float | None = None  # video: when the track starts and ends (seconds)
    end: float | None = None
    grouped: int = 1  # how many matching keyframes of the same track this match stands for
    page_title: str | None = None
    indexed_at: str | None = None  # when this face was indexed (ISO-8601 UTC)
    person: dict | None = None  # {"id", "name"} of the person the face belongs to (people/), None if none yet

    def to_json(self) -> dict:
        return {
            "score": round(self.score, 6),
            "sha256": self.sha256,
            "source_url": self.source_url,
            "page_url": self.page_url,
            "page_title": self.page_title,
            "indexed_at": self.indexed_at,
            "box": [round(v, 2) for v in self.box],
            "kind": self.kind,
            "timestamp": self.timestamp,
            "track_id": self.track_id,
            "start": self.start,
            "end": self.end,
            "grouped": self.grouped,
            "face_id": self.face_id,
            "person": self.person,
        }


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One sampled frame, already rotated to display orientation."""

    index: int  # position in the stream (decode order of frames)
    timestamp: float  # seconds from the start
    rgb: np.ndarray  # HxWx3 uint8
    scene_cut: bool = False  # sampled because the picture changed a lot, not because of the sampling rate


@dataclass(frozen=True, eq=False)
class TrackedFace:
    """A face seen in one sampled frame, with how good a keyframe it would make."""

    timestamp: float
    frame_index: int
    face: Face
    quality: float  # higher is better: sharp, frontal, confident


@dataclass(frozen=True, eq=False)
class Track:
    """One person's face followed over time in a video."""

    track_id: int
    start: float
    end: float
    faces: tuple[TrackedFace, ...]
    keyframes: tuple[TrackedFace, ...]  # the best few, best first
    mean_embedding: np.ndarray  # L2-normalised


@dataclass(frozen=True)
class Segment:
    """A stretch of transcribed speech."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...]


# --- the knowledge graph (pages and transcripts → entities and relations)


@dataclass(frozen=True)
class Document:
    """A text the graph was built from: a crawled page (its object's sha256) or a transcript."""

    id: str  # the object's sha256
    kind: str  # "page" | "transcript"
    url: str | None = None
    title: str = ""
    fetched_at: str | None = None  # ISO-8601 UTC


@dataclass(frozen=True)
class Entity:
    """A person, organisation, place or project. `id` is stable: derived from the canonical name (text/names.py)."""

    id: str
    name: str  # display name (the first or most common surface form)
    type: str  # PERSON | ORG | GPE | LOC | PROJECT (spaCy labels; PROJECT from the entity ruler)
    key: str = ""  # canonical key the id is derived from ("microsoft" for "Microsoft Corp.")
    # What this document says the entity is: (type, weight) summed over its mentions (text/entity_types.py); the
    # graph sums every document's votes and gives the entity the type with most.
    votes: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Evidence:
    """Where a mention or relation was read: one sentence of one document."""

    document: str  # Document.id
    sentence: int  # index of the sentence within the document
    text: str  # the sentence


@dataclass(frozen=True)
class Mention:
    entity: str  # Entity.id
    surface: str  # the text as written
    evidence: Evidence


@dataclass(frozen=True)
class Relation:
    """A typed edge (works_for, ceo_of, founded, located_in, member_of, advises, ...: text/relations.py) or a
    `co_mentioned` edge whose weight is the number of sentences naming both."""

    type: str
    source: str  # Entity.id
    target: str  # Entity.id
    evidence: tuple[Evidence, ...] = ()
    weight: float = 1.0
    time: str = ""  # when the sentence dates it: "former", "since 2019", "until 2021" (text/relations.py)


@dataclass(frozen=True)
class Extraction:
    """Everything one document contributes to the graph; stores replace a document's earlier contribution whole."""

    document: Document
    entities: tuple[Entity, ...] = ()
    mentions: tuple[Mention, ...] = ()
    relations: tuple[Relation, ...] = ()
