"""Who a person probably is: names ranked from the evidence we already hold about their faces. Never applied.

The evidence, per observation of the person (a photo, or a video's face track):
- where the photo was published (its sightings, sightings.py): the `<figcaption>`, the alt text, the text right
  before and after it, and the page's title; and the page itself, through the entity graph: a name in the page's
  text is a PERSON entity with a mention in that page's document;
- what was said while the face was on screen: transcript segments overlapping the track's start..end;
- the file's own name ("mara_lindqvist.jpg").
Names are read with the same NER as the graph (text/entities.py), so "Dr. Mara Lindqvist" and "Mara Lindqvist" are
one candidate (the canonical key), and "Lindqvist" alone is folded into the one longer name ending with it.

Ranking is tf-idf-like: `support` is the share of the person's observations a name comes with (each counted once,
by its strongest source: a caption says more than the page around it), `idf` is how rare the name is across the
graph's documents (ln((N + 1) / (df + 1)) + 1). A name on most of a person's photos and rarely elsewhere ranks first;
a name on every page of a site (an editor, a photographer's byline) or with one photo only ranks low. A photo credit
("Photo: Anna Berg", "© Anna Berg") names who took the photo, not who is in it, and counts for little.

Suggestions only: nothing here writes anything; an analyst confirms a name (people engineer's operations).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from lookingglass.app import App
from lookingglass.errors import NotFound

PERSON = "PERSON"
# How much one source says about who is in the photo (per observation, the strongest counts).
WEIGHTS = {"caption": 1.0, "alt": 1.0, "transcript": 0.8, "context": 0.8, "filename": 0.7, "title": 0.6, "page": 0.4}
CREDIT_WEIGHT = 0.1  # "Photo: X": X took it
MAX_EVIDENCE = 10  # per suggestion: enough to judge, not the whole archive
MAX_DOCUMENTS = 1000  # the graph's page limit: a name in more documents than this is common anyway
_CREDIT = re.compile(
    r"(?:photo(?:graph)?s?|image|picture|pictures|credits?|courtesy(?: of)?|©|\(c\)|copyright|photographed|"
    r"taken|shot|captured)(?:\s+by)?\s*[:\-–—/|]?\s*$",
    re.IGNORECASE,
)
_FILE_WORDS = re.compile(r"[\s_\-.+]+|(?<=[a-z])(?=[A-Z])")


class NameEvidence(BaseModel):
    """One place a name came with the person: which page (or file), which sentence."""

    kind: str  # caption | alt | context | title | page | transcript | filename
    page_url: str | None = None
    title: str | None = None
    text: str | None = None  # the sentence naming them (or the file name)
    sha256: str  # the object the face is in
    timestamp: float | None = None  # seconds into a video (the track's first moment)


class Suggestion(BaseModel):
    name: str
    score: float
    evidence: list[NameEvidence]


@dataclass(frozen=True)
class Said:
    """A text that came with one observation, before NER."""

    observation: tuple[str, int | None]  # (sha256, track id or None)
    kind: str
    text: str
    page_url: str | None = None
    title: str | None = None
    timestamp: float | None = None


@dataclass(frozen=True)
class Named:
    """A PERSON name found with one observation: the input of the ranking (tests build these by hand)."""

    observation: tuple[str, int | None]
    key: str  # canonical key (text/entities.py)
    name: str  # as displayed
    weight: float
    evidence: NameEvidence


def suggest_names(app: App, faces: list[dict], limit: int = 5) -> list[Suggestion]:
    """Ranked name suggestions for one person, from the payloads of their faces (as stored in the vector index)."""
    if not faces:
        return []
    observations = {_observation(face) for face in faces}
    named = _named_in(app, _said(app, faces))
    pages = _pages_of(faces)
    frequency, documents = _document_frequency(app, {n.key for n in named}, pages, named)
    named += documents
    total = _total_documents(app)
    return rank(named, len(observations), frequency, total, limit)


def rank(
    named: list[Named], observations: int, frequency: dict[str, int], total: int, limit: int = 5
) -> list[Suggestion]:
    """Names by support across the person's observations × rarity across the graph's `total` documents
    (`frequency`: documents naming each key; a key the graph does not know counts as named by none)."""
    named = _folded(named)
    best: dict[str, dict[tuple, float]] = defaultdict(dict)  # key → observation → strongest weight
    shown: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    evidence: dict[str, list[Named]] = defaultdict(list)
    for n in named:
        per = best[n.key]
        per[n.observation] = max(per.get(n.observation, 0.0), n.weight)
        shown[n.key][n.name] += 1
        evidence[n.key].append(n)
    suggestions = []
    for key, per in best.items():
        support = sum(per.values()) / max(observations, 1)
        idf = math.log((total + 1) / (frequency.get(key, 0) + 1)) + 1
        name = max(shown[key].items(), key=lambda kv: (len(kv[0].split()), kv[1], kv[0]))[0]
        suggestions.append(Suggestion(name=name, score=round(support * idf, 4), evidence=_evidence(evidence[key])))
    suggestions.sort(key=lambda s: (-s.score, s.name))
    return suggestions[:limit]


# --- what came with the faces


def _observation(face: dict) -> tuple[str, int | None]:
    """A photo is one observation; so is a video's face track, however many keyframes it indexed."""
    track = face.get("track_id") if face.get("kind") == "video" else None
    return face["sha256"], track


def _said(app: App, faces: list[dict]) -> list[Said]:
    said: list[Said] = []
    by_object: dict[str, list[dict]] = defaultdict(list)
    for face in faces:
        by_object[face["sha256"]].append(face)
    for sha256, object_faces in by_object.items():
        try:
            metadata = app.objects.get(sha256).metadata
        except NotFound:  # erased meanwhile: its faces are on their way out too
            continue
        tracks = {_observation(f) for f in object_faces}
        for observation in tracks:
            said += _sightings_text(observation, metadata)
            said += _file_names(observation, metadata, object_faces)
        if any(f.get("kind") == "video" for f in object_faces):
            said += _transcript_text(app, sha256, object_faces)
    return said


def _sightings_text(observation: tuple[str, int | None], metadata: dict) -> list[Said]:
    out: list[Said] = []
    titles: set[tuple[str | None, str]] = set()
    for sighting in metadata.get("sightings") or []:
        if not isinstance(sighting, dict):
            continue
        page, title = sighting.get("page_url"), sighting.get("page_title")
        for kind in ("caption", "alt", "context"):
            if sighting.get(kind):
                out.append(Said(observation, kind, sighting[kind], page, title))
        if title and (page, title) not in titles:
            titles.add((page, title))
            out.append(Said(observation, "title", title, page, title))
    return out


def _file_names(observation: tuple[str, int | None], metadata: dict, faces: list[dict]) -> list[Said]:
    """ "mara_lindqvist.jpg" → "Mara Lindqvist"; "IMG_2041.jpg" and "john1.jpeg" say nothing."""
    urls = set(metadata.get("source_urls") or []) | {u for f in faces for u in f.get("source_urls") or []}
    out = []
    for file_name in sorted({unquote(urlsplit(url).path.rsplit("/", 1)[-1]) for url in urls}):
        words = [w for w in _FILE_WORDS.split(file_name.rsplit(".", 1)[0]) if w]
        if 2 <= len(words) <= 4 and all(w.isalpha() and len(w) > 1 for w in words):
            # the file's name rides in `title`: it is what the evidence shows
            out.append(Said(observation, "filename", " ".join(w.capitalize() for w in words), None, file_name))
    return out


def _transcript_text(app: App, sha256: str, faces: list[dict]) -> list[Said]:
    """The segments spoken while each track was on screen (overlapping its start..end)."""
    try:
        transcript = json.loads(app.objects.read_key(f"transcripts/{sha256}.json"))
    except (NotFound, ValueError):
        return []
    spans = {}
    for face in faces:
        if face.get("start") is not None and face.get("end") is not None:
            spans[_observation(face)] = (float(face["start"]), float(face["end"]))
    out = []
    for observation, (start, end) in spans.items():
        for segment in transcript.get("segments") or []:
            text = (segment.get("text") or "").strip()
            if text and segment.get("start", 0) <= end and segment.get("end", 0) >= start:
                out.append(Said(observation, "transcript", text, None, None, float(segment.get("start", 0))))
    return out


def _named_in(app: App, said: list[Said]) -> list[Named]:
    """PERSON names in each text, through the graph's own NER (one parse per distinct text)."""
    texts = sorted({s.text for s in said})
    if not texts:
        return []
    recognized = dict(zip(texts, app.recognizer.pipe(texts), strict=True))
    named = []
    for s in said:
        rec = recognized[s.text]
        for span in rec.spans:
            if span.entity.type != PERSON or not span.entity.key:
                continue
            credit = s.kind != "filename" and _is_credit(span)
            weight = WEIGHTS[s.kind] * (CREDIT_WEIGHT if credit else 1.0)
            sha256, _track = s.observation
            if s.kind == "filename":
                evidence = NameEvidence(kind=s.kind, text=s.title, sha256=sha256)
            else:
                sentence = rec.sentence_text(span.sentence)
                evidence = NameEvidence(
                    kind=s.kind, page_url=s.page_url, title=s.title, text=sentence, sha256=sha256, timestamp=s.timestamp
                )
            named.append(Named(s.observation, span.entity.key, span.entity.name, weight, evidence))
    return named


def _is_credit(span) -> bool:
    """Whether the words right before the name make it a photo credit ("Photo: ", "Photograph by", "©")."""
    doc_text = span.span.doc.text
    before = doc_text[max(0, span.span.start_char - 40) : span.span.start_char]
    return bool(_CREDIT.search(before))


# --- the graph: names on the pages, and how common a name is


def _pages_of(faces: list[dict]) -> dict[str, list[tuple[tuple[str, int | None], str | None]]]:
    """page URL → the observations seen on it (with the page title where known)."""
    pages: dict[str, list] = defaultdict(list)
    for face in faces:
        for url in face.get("page_urls") or ([face["page_url"]] if face.get("page_url") else []):
            entry = (_observation(face), face.get("page_title"))
            if entry not in pages[url]:
                pages[url].append(entry)
    return pages


def _document_frequency(
    app: App, keys: Iterable[str], pages: dict, named: list[Named]
) -> tuple[dict[str, int], list[Named]]:
    """For each candidate: how many of the graph's documents name it, and a `page` evidence for each of the
    person's pages among them (the name is in that page's text, wherever the photo sat). A full name's surname
    alone counts as the name when no other candidate shares it (close names are one candidate)."""
    frequency: dict[str, int] = {}
    found: list[Named] = []
    if app.graph is None:
        return frequency, found
    names = {n.key: n.name for n in named}
    keys = sorted(keys)
    surnames = defaultdict(list)  # a page may call "Mara Lindqvist" just "Lindqvist": the graph's key "lindqvist"
    for key in keys:
        if " " in key:
            surnames[key.rsplit(" ", 1)[1]].append(key)
    for key in keys:
        forms = [key]
        if " " in key and len(surnames[key.rsplit(" ", 1)[1]]) == 1:
            forms.append(key.rsplit(" ", 1)[1])
        documents = list({d["id"]: d for form in forms for d in _documents_naming(app, form)}.values())
        frequency[key] = len(documents)
        for document in documents:
            for observation, title in pages.get(document.get("url") or "", []):
                evidence = NameEvidence(
                    kind="page",
                    page_url=document["url"],
                    title=document.get("title") or title,
                    text=None,
                    sha256=observation[0],
                )
                found.append(Named(observation, key, names[key], WEIGHTS["page"], evidence))
    return frequency, found


def _documents_naming(app: App, key: str) -> list[dict]:
    from lookingglass.text.names import entity_id

    try:
        return app.graph.documents_for(entity_id(PERSON, key), limit=MAX_DOCUMENTS)
    except NotFound:
        return []


def _total_documents(app: App) -> int:
    if app.graph is None:
        return 0
    return int(app.graph.stats().get("documents") or 0)


# --- folding and evidence


def _folded(named: list[Named]) -> list[Named]:
    """ "Lindqvist" alone is "Mara Lindqvist" when exactly one longer candidate ends (or starts) with it."""
    keys = {n.key for n in named}
    longer = [k for k in keys if " " in k]
    into: dict[str, str] = {}
    for key in keys:
        if " " in key:
            continue
        matches = [k for k in longer if k.endswith(" " + key) or k.startswith(key + " ")]
        if len(matches) == 1:
            into[key] = matches[0]
    if not into:
        return named
    full = {n.key: n.name for n in named if n.key in into.values()}
    return [
        Named(n.observation, into[n.key], full[into[n.key]], n.weight, n.evidence) if n.key in into else n
        for n in named
    ]


def _evidence(named: list[Named]) -> list[NameEvidence]:
    """Each place once, at most MAX_EVIDENCE: the strongest of each kind first (so a page mention is shown beside
    ten captions), then the rest, strongest first."""
    seen: set[tuple] = set()
    unique = []
    for n in sorted(named, key=lambda n: -n.weight):
        e = n.evidence
        where = (e.kind, e.page_url, e.text, e.sha256, e.timestamp)
        if where not in seen:
            seen.add(where)
            unique.append(n)
    kinds: set[str] = set()
    firsts = [n for n in unique if n.evidence.kind not in kinds and not kinds.add(n.evidence.kind)]
    rest = [n for n in unique if all(n is not f for f in firsts)]
    chosen = firsts + rest[: max(MAX_EVIDENCE - len(firsts), 0)]
    chosen.sort(key=lambda n: -n.weight)
    return [n.evidence for n in chosen[:MAX_EVIDENCE]]
