"""People (issue 14): faces grouped into persons as they are indexed, re-clustered on demand and daily.

    people.assign(app, points)     # the faces just stored for one object (pipeline/index.py `store_faces_now`)
    people.cluster(app, full=True) # every face again; persons keep their id and name where their faces stay
    people.forget_object(app, sha) # an erased object's faces leave their persons

The rule is in `clustering.py`, where persons live in `persons.py`. Every change to persons runs under one lock
(`app.queue.lock`: a thread lock inline, a Redis lock across RQ workers), so two workers indexing photos of one new
person at once create one person: the second sees the first's person on its neighbours.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.people.clustering import Rule, normalised, rule_for
from lookingglass.people.clustering import cluster as cluster_vectors
from lookingglass.people.persons import Person, PersonStore, new_id, now
from lookingglass.records import FacePoint

LOCK = "people"
LOCK_TIMEOUT = 120  # seconds; a full re-clustering of 100k faces takes well under this (README, "People")
FULL_LOCK_TIMEOUT = 3600
NEIGHBOURS = 64  # nearest faces asked for when a face is assigned


def store_of(app) -> PersonStore:
    if app.faces is None or app.persons is None:
        raise Unavailable("persons live beside the vector index: run this where it is open")
    return PersonStore(app.persons, app.faces, app.graph)


def rule(app) -> Rule:
    return rule_for(app.settings.embedder)


# A photo with this many faces is taken for a collage or a contact sheet (dlib's bald_guys.jpg: 24 portraits of 4
# men): each of its faces is a picture of its own, so two of them may be one person. In any smaller photo, two faces
# are never one person automatically. A crowd this large loses the same-photo guard and keeps the distance rule.
COLLAGE_MIN_FACES = 8


@dataclass
class Observation:
    """A photo's face, or a video track (its keyframes): what counts once."""

    key: str
    faces: dict[str, str]  # face id -> sha256
    vectors: dict[str, np.ndarray]
    photos: frozenset  # "sha256:frame" of every face: two observations sharing one are never one person
    video: bool
    collage: bool = False  # a face of a collage: its picture is its own (COLLAGE_MIN_FACES)

    @property
    def vector(self) -> np.ndarray:
        return normalised(np.mean(np.asarray(list(self.vectors.values())), axis=0))


def observation_key(face_id: str, payload: dict) -> str:
    if payload.get("kind") == "video" and payload.get("track_id") is not None:
        return f"{payload.get('sha256')}:track:{payload['track_id']}"
    return face_id


def _photo(payload: dict) -> str:
    return f"{payload.get('sha256', '')}:{payload.get('frame') or 0}"


def observations(points: Iterable[FacePoint]) -> list[Observation]:
    """`points` hold every face of the photos they come from (an object's faces, or the whole index), so a photo's
    faces can be counted here."""
    points = list(points)
    faces_in = Counter(_photo(p.payload) for p in points if p.payload.get("kind") != "video")
    grouped: dict[str, Observation] = {}
    for p in points:
        key = observation_key(p.id, p.payload)
        sha = p.payload.get("sha256", "")
        video = p.payload.get("kind") == "video"
        photo = _photo(p.payload)
        collage = not video and faces_in[photo] >= COLLAGE_MIN_FACES
        obs = grouped.setdefault(key, Observation(key, {}, {}, frozenset(), video, collage))
        obs.faces[p.id] = sha
        obs.vectors[p.id] = np.asarray(p.vector, np.float32)
        obs.photos = obs.photos | {f"{photo}:{p.id}" if collage else photo}
    return list(grouped.values())


def _conflicts(person: Person, obs: Observation) -> bool:
    """Whether the person already holds another face of this photo (a video's tracks may well be one person, and so
    may the faces of a collage)."""
    if obs.video or obs.collage:
        return False
    shas = set(obs.faces.values())
    return any(sha in shas and face not in obs.faces for face, sha in person.members().items())


# --- opt-outs: a face someone asked never to be indexed never joins a person


def _opted_out(app) -> np.ndarray | None:
    """The opt-out list's embeddings as one matrix (it is short), or None when it is empty or not open here."""
    optout = app.optout
    if optout is None or optout.count() == 0:
        return None
    return normalised(np.asarray([p.vector for p in optout.iter_points()], np.float32))


def _not_opted_out(app, points: list[FacePoint], optouts: np.ndarray | None = None) -> list[FacePoint]:
    """The faces that match nobody on the opt-out list (at the match threshold, as store() refuses them)."""
    optouts = _opted_out(app) if optouts is None else optouts
    if optouts is None or not points:
        return points
    sims = normalised(np.asarray([p.vector for p in points], np.float32)) @ optouts.T
    refused = sims.max(axis=1) >= app.match_threshold
    return [p for p, out in zip(points, refused, strict=True) if not out]


# --- incremental


def assign(app, sha256: str, points: list[dict] | list[FacePoint]) -> dict:
    """Assign the faces just stored for object `sha256` to persons (faces it no longer has leave theirs); returns
    counts. Runs where the index is open."""
    if app.persons is None:
        return {"assigned": 0, "unassigned": 0}
    face_points = [
        p if isinstance(p, FacePoint) else FacePoint(p["id"], np.asarray(p["vector"], np.float32), p["payload"])
        for p in points
    ]
    store = store_of(app)
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        current = {p.id for p in face_points}
        for person in store.holding_object(sha256):
            kept = {f: s for f, s in person.members().items() if s != sha256 or f in current}
            if len(kept) != len(person.faces):
                store.save(person.with_faces(kept))
        return _assign(store, app.faces, face_points, rule(app), lambda found: _not_opted_out(app, found))


def _assign(store: PersonStore, faces, points: list[FacePoint], rule: Rule, allowed=None) -> dict:
    """`allowed(points)`: those of the faces that may join a person (the opt-out filter); all when None."""
    allowed = allowed or (lambda found: found)
    assigned = unassigned = 0
    for obs in observations(allowed(points)):
        known = next((p for f in obs.faces if (p := store.holding_face(f)) is not None), None)
        if known is not None:  # re-ingest: the face keeps its person
            members = {**known.members(), **obs.faces}
            if members != known.members():
                _save_grown(store, known, members, obs.vectors)
            else:
                faces.set_payload(list(obs.faces), {"person_id": known.id})
            assigned += 1
            continue
        neighbours = _neighbours(faces, obs, rule)
        if 1 + len(neighbours) < rule.min_faces:
            unassigned += 1
            continue
        votes = Counter(n.person_id for n in neighbours if n.person_id)
        chosen = None
        for person_id, _ in votes.most_common():
            person = store.get(person_id)
            if person is not None and not _conflicts(person, obs):
                chosen = person
                break
        joining = [obs, *_unassigned_neighbours(faces, obs, neighbours, allowed)]
        if chosen is None:
            chosen = Person(id=new_id(), faces=(), face_objects=())
        members = chosen.members()
        vectors: dict[str, np.ndarray] = {}
        for o in joining:
            if o is not obs and _conflicts(chosen.with_faces(members), o):
                continue
            members.update(o.faces)
            vectors.update(o.vectors)
        _save_grown(store, chosen, members, vectors)
        assigned += 1
    return {"assigned": assigned, "unassigned": unassigned}


def _save_grown(store: PersonStore, person: Person, members: dict[str, str], new_vectors: dict) -> None:
    """Save a person that gained faces, updating its centroid from the old one (no read of every face)."""
    old = store.persons.points([person.id])
    added = [f for f in members if f not in person.faces]
    vectors = {f: new_vectors[f] for f in added if f in new_vectors}
    grown = person.with_faces(members)
    if old and len(person.faces) and len(vectors) == len(added):
        total = old[0].vector * len(person.faces) + np.sum(list(vectors.values()), axis=0)
        centroid = total / max(float(np.linalg.norm(total)), 1e-12)
        store.persons.upsert([FacePoint(id=grown.id, vector=centroid, payload=grown.payload())])
        store.faces.set_payload(added, {"person_id": grown.id})
    else:
        store.save(grown, vectors)


@dataclass(frozen=True)
class _Neighbour:
    key: str
    sha256: str
    person_id: str | None
    score: float


def _neighbours(faces, obs: Observation, rule: Rule) -> list[_Neighbour]:
    """Distinct other observations within the rule's distance, best first."""
    hits = faces.search(obs.vector, top_k=NEIGHBOURS, threshold=1.0 - rule.distance)
    seen: dict[str, _Neighbour] = {}
    for hit in hits:
        key = observation_key(hit.id, hit.payload)
        if key == obs.key or hit.id in obs.faces or key in seen:
            continue
        seen[key] = _Neighbour(key, hit.payload.get("sha256", ""), hit.payload.get("person_id"), hit.score)
    return list(seen.values())


def _unassigned_neighbours(faces, obs: Observation, neighbours: list[_Neighbour], allowed) -> list[Observation]:
    """Neighbours with no person yet join the core that reached them (one per photo: the closest)."""
    wanted = [n for n in neighbours if not n.person_id]
    if not wanted:
        return []
    points: list[FacePoint] = []
    for sha in {n.sha256 for n in wanted}:
        points += faces.iter_points({"sha256": sha})
    by_key = {o.key: o for o in observations(allowed(points))}
    found: list[Observation] = []
    photos: set = set(obs.photos)
    for n in wanted:
        o = by_key.get(n.key)
        if o is None or (photos & o.photos and not o.video):
            continue
        photos |= o.photos
        found.append(o)
    return found


# --- full re-clustering


def cluster(app, full: bool = False) -> dict:
    """`full`: every face again, persons matched to the new clusters by overlap; an analyst's persons (named, hidden,
    merged or split: `manual`) keep their faces together and apart from each other, and may gain faces. Else:
    retry the unassigned faces."""
    store = store_of(app)
    if not full:
        optouts = _opted_out(app)
        waiting = _not_opted_out(app, [p for p in app.faces.iter_points() if not p.payload.get("person_id")], optouts)
        with app.queue.lock(LOCK, FULL_LOCK_TIMEOUT):
            counts = _assign(store, app.faces, waiting, rule(app), lambda found: _not_opted_out(app, found, optouts))
        return {"full": False, "retried": len(observations(waiting)), **counts, "persons": app.persons.count()}
    with app.queue.lock(LOCK, FULL_LOCK_TIMEOUT):
        everyone = list(app.faces.iter_points())
        return _recluster(store, everyone, _not_opted_out(app, everyone), rule(app))


def _recluster(store: PersonStore, points: list[FacePoint], allowed: list[FacePoint], rule: Rule) -> dict:
    """`points`: every face; `allowed`: those that may join a person (the others lose theirs)."""
    obs = observations(allowed)
    vectors = np.asarray([o.vector for o in obs], np.float32) if obs else np.zeros((0, 1), np.float32)
    old = store.all()
    owner = {face: p.id for p in old for face in p.faces}
    # An analyst's persons are decisions, not guesses: their faces stay together and apart from each other's.
    manual = {p.id: i for i, p in enumerate(p for p in old if p.manual)}
    groups = [next((manual[owner[f]] for f in o.faces if owner.get(f) in manual), -1) for o in obs]
    labels = cluster_vectors(vectors, [o.photos for o in obs], rule, groups=groups)
    clusters: dict[int, dict[str, str]] = defaultdict(dict)
    for o, label in zip(obs, labels, strict=True):
        if label >= 0:
            clusters[int(label)].update(o.faces)
    kept: dict[int, Person] = {}
    used: set[str] = set()
    by_id = {p.id: p for p in old}
    for group, label in {g: int(label) for g, label in zip(groups, labels, strict=True) if g >= 0}.items():
        person = next(p for p in old if manual.get(p.id) == group)
        kept[label] = person
        used.add(person.id)
    overlaps = []
    for label, members in clusters.items():
        for person_id, n in Counter(owner[f] for f in members if f in owner).items():
            overlaps.append((n, label, person_id))
    for _n, label, person_id in sorted(overlaps, key=lambda t: (-t[0], t[1], t[2])):
        if label not in kept and person_id not in used:
            kept[label] = by_id[person_id]
            used.add(person_id)
    all_vectors = {p.id: p.vector for p in points}
    for label, members in clusters.items():
        person = kept.get(label) or Person(id=new_id(), faces=(), face_objects=())
        store.save(person.with_faces(members), {f: all_vectors[f] for f in members})
    for person in old:
        if person.id not in used:
            store.delete(person.id)
    clustered = {f for members in clusters.values() for f in members}
    loose = [p.id for p in points if p.id not in clustered and p.payload.get("person_id")]
    if loose:
        store.faces.set_payload(loose, {"person_id": None})
    return {
        "full": True,
        "faces": len(points),
        "observations": len(obs),
        "persons": len(clusters),
        "kept": len(kept),
        "unassigned": int(np.sum(labels < 0)),
    }


# --- changes made by a person (audited by the service)


def forget_object(app, sha256: str) -> int:
    """An erased object's faces leave their persons; a person left without faces disappears. Returns persons
    changed."""
    if app.persons is None:
        return 0
    store = store_of(app)
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        changed = store.holding_object(sha256)
        for person in changed:
            kept = {f: s for f, s in person.members().items() if s != sha256}
            store.save(person.with_faces(kept))
    return len(changed)


def forget_faces(app, face_ids: Iterable[str]) -> int:
    """These faces (erased, or opted out) leave their persons; a person left without faces disappears. Returns
    persons changed."""
    gone = set(face_ids)
    if app.persons is None or not gone:
        return 0
    store = store_of(app)
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        changed = {p.id: p for f in sorted(gone) if (p := store.holding_face(f)) is not None}
        for person in changed.values():
            store.save(person.with_faces({f: s for f, s in person.members().items() if f not in gone}))
        still_marked = [p.id for p in store.faces.points(sorted(gone))]
        if still_marked:  # an opted-out face left in the index keeps no person mark
            store.faces.set_payload(still_marked, {"person_id": None})
    return len(changed)


def person_names(app, person_ids: Iterable[str]) -> dict[str, str | None]:
    """{person id: name} of those of these persons that exist (lookups show whose face matched)."""
    wanted = sorted({p for p in person_ids if _is_uuid(p)})
    if not wanted or app.persons is None:
        return {}
    return {p.id: p.payload.get("name") for p in app.persons.points(wanted)}


def get(app, person_id: str) -> Person:
    person = store_of(app).get(person_id) if _is_uuid(person_id) else None
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except (ValueError, TypeError):
        return False
    return True


def update(app, person_id: str, **changes) -> Person:
    """Name, hide or link a person (only these fields)."""
    changes = {**changes, "manual": True}  # a decision the full re-clustering keeps
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        person = replace(get(app, person_id), **changes, updated=now())
        store_of(app).persons.set_payload([person.id], {**changes, "updated": person.updated})
        return person


def merge(app, into: str, others: list[str]) -> Person:
    """Move every face of `others` into `into`; the others disappear. A person names itself, so the photo rule
    does not apply: an analyst may know better."""
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        target = get(app, into)
        sources = [get(app, o) for o in others if o != into]
        if not sources:
            raise BadInput("merge needs at least one other person")
        members = target.members()
        for source in sources:
            members.update(source.members())
        store = store_of(app)
        for source in sources:
            store.persons.delete_ids([source.id])
            if store.graph is not None:  # the merged person's own name link goes; the target keeps its own
                store.graph.forget(f"person:{source.id}")
        merged = replace(target, manual=True, name=target.name or next((s.name for s in sources if s.name), None))
        return store.save(merged.with_faces(members)) or merged


def split(app, person_id: str, face_ids: list[str]) -> Person:
    """Move these faces out of the person into a new person (returned)."""
    with app.queue.lock(LOCK, LOCK_TIMEOUT):
        person = get(app, person_id)
        members = person.members()
        unknown = [f for f in face_ids if f not in members]
        if unknown:
            raise BadInput(f"person {person_id} holds no face {unknown[0]}")
        moved = {f: members.pop(f) for f in face_ids}
        if not moved:
            raise BadInput("split needs at least one face")
        store = store_of(app)
        # Both are decisions now: the moved faces stay apart from the person they left, and together.
        created = store.save(Person(id=new_id(), faces=(), face_objects=(), manual=True).with_faces(moved))
        store.save(replace(person, manual=True).with_faces(members))
        return created


def recluster() -> dict:
    """Job (daily schedule, maintenance queue): every face again. A worker without the face index (embedded stores
    behind Redis: the owner's files) hands it to the owner's `index` consumer, as it does the embedded writes."""
    from lookingglass.app import current

    app = current()
    if app.faces is None or app.persons is None:
        handle = app.queue.enqueue("index", recluster, job_id="recluster_people.owner")
        return {"handed_to_owner": handle.id}
    return cluster(app, full=True)
