"""Where persons live: points of their own vector collection `persons_<model>_<dim>`, beside the faces.

Why a vector collection: it is the one store every process that writes faces already reaches — the embedded
engine in the owner, or the Qdrant server from RQ workers — so persons work the same everywhere without another
database. A person point holds the centroid of its faces (searchable later) and its payload: name, hidden,
entity_id, manual (an analyst's decision: see people.cluster), faces (face point ids, keyword-indexed: "whose
face is this?"), face_objects (the sha256 of each face, aligned), objects (distinct sha256, keyword-indexed:
forgetting an object finds its persons), created/updated.
The face point carries a copy, `person_id`, so lookups answer with the person without a second read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from lookingglass.records import FacePoint
from lookingglass.stores.vectors import VectorIndex


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Person:
    id: str
    faces: tuple[str, ...]  # face point ids
    face_objects: tuple[str, ...]  # sha256 of each face, aligned with `faces`
    name: str | None = None
    hidden: bool = False
    entity_id: str | None = None
    manual: bool = False  # an analyst named, hid, merged or split it: the full re-clustering keeps its faces together
    created: str = field(default_factory=now)
    updated: str = field(default_factory=now)

    @property
    def objects(self) -> list[str]:
        return sorted(set(self.face_objects))

    def with_faces(self, members: dict[str, str]) -> Person:
        """This person holding exactly `members` ({face_id: sha256})."""
        return replace(self, faces=tuple(members), face_objects=tuple(members.values()), updated=now())

    def members(self) -> dict[str, str]:
        return dict(zip(self.faces, self.face_objects, strict=True))

    def payload(self) -> dict:
        return {
            "name": self.name,
            "hidden": self.hidden,
            "entity_id": self.entity_id,
            "manual": self.manual,
            "faces": list(self.faces),
            "face_objects": list(self.face_objects),
            "objects": self.objects,
            "created": self.created,
            "updated": self.updated,
        }

    @classmethod
    def from_payload(cls, person_id: str, payload: dict) -> Person:
        return cls(
            id=person_id,
            faces=tuple(payload.get("faces") or ()),
            face_objects=tuple(payload.get("face_objects") or ()),
            name=payload.get("name"),
            hidden=bool(payload.get("hidden")),
            entity_id=payload.get("entity_id"),
            manual=bool(payload.get("manual")),
            created=payload.get("created") or now(),
            updated=payload.get("updated") or now(),
        )


class PersonStore:
    """Persons over a VectorIndex; the face index is updated with each person's `person_id` as it is saved."""

    def __init__(self, persons: VectorIndex, faces: VectorIndex, graph=None) -> None:
        self.persons = persons
        self.faces = faces
        self.graph = graph  # where a confirmed name links the person to its PERSON entity (services/people.py)

    def get(self, person_id: str) -> Person | None:
        payload = self.persons.payload(person_id)
        return Person.from_payload(person_id, payload) if payload is not None else None

    def all(self) -> list[Person]:
        return [Person.from_payload(p.id, p.payload) for p in self.persons.iter_points()]

    def holding_face(self, face_id: str) -> Person | None:
        found = self.persons.scroll({"faces": face_id}, limit=1)
        return Person.from_payload(found[0].id, found[0].payload) if found else None

    def holding_object(self, sha256: str) -> list[Person]:
        return [Person.from_payload(h.id, h.payload) for h in self.persons.scroll({"objects": sha256}, limit=10_000)]

    def save(self, person: Person, vectors: dict[str, np.ndarray] | None = None) -> Person | None:
        """Write the person (its centroid from its faces' vectors) and mark its faces; a person without faces is
        deleted instead (returns None)."""
        if not person.faces:
            self.delete(person.id)
            return None
        vectors = dict(vectors or {})
        missing = [f for f in person.faces if f not in vectors]
        if missing:
            vectors.update({p.id: p.vector for p in self.faces.points(missing)})
        stack = [vectors[f] for f in person.faces if f in vectors]
        if not stack:  # every face is gone from the index
            self.delete(person.id)
            return None
        centroid = np.mean(np.asarray(stack, np.float32), axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        self.persons.upsert([FacePoint(id=person.id, vector=centroid, payload=person.payload())])
        self.faces.set_payload(list(person.faces), {"person_id": person.id})
        return person

    def delete(self, person_id: str) -> None:
        """The person goes, with the graph's link to their PERSON entity (an erased person leaves no name behind)."""
        self.persons.delete_ids([person_id])
        self.faces_unmarked(person_id)
        if self.graph is not None:
            self.graph.forget(f"person:{person_id}")

    def faces_unmarked(self, person_id: str) -> None:
        """Faces still marked with a person that no longer holds them lose the mark."""
        marked = [h.id for h in self.faces.scroll({"person_id": person_id}, limit=100_000)]
        person = self.get(person_id)
        held = set(person.faces) if person is not None else set()
        stale = [f for f in marked if f not in held]
        if stale:
            self.faces.set_payload(stale, {"person_id": None})
