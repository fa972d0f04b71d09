"""Lookup: a photo in, every face in it with the indexed faces that match, best first."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from lookingglass import people
from lookingglass.app import App
from lookingglass.errors import BadInput
from lookingglass.media.decode import decode_image
from lookingglass.records import Face, Hit, Match
from lookingglass.services.viewer import view_url


@dataclass(frozen=True)
class FaceMatches:
    face: Face
    matches: list[Match]

    def to_json(self) -> dict:
        det = self.face.detection
        return {
            "box": [round(v, 2) for v in det.box],
            "confidence": round(det.confidence, 4),
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in det.landmarks],
            "detector": det.detector,
            "matches": [match_json(m) for m in self.matches],
        }


def match_json(m: Match) -> dict:
    """A match as every answer shows it: its record and where the evidence viewer opens it."""
    return m.to_json() | {"view_url": view_url(m.sha256, m.kind, m.face_id, m.timestamp)}


def match_of(hit: Hit, grouped: int = 1) -> Match:
    """An indexed face found by a search, as the API shows it."""
    p = hit.payload
    return Match(
        score=hit.score,
        sha256=p["sha256"],
        source_url=p.get("source_url"),
        page_url=p.get("page_url"),
        page_title=p.get("page_title"),
        indexed_at=p.get("indexed_at"),
        box=tuple(p["box"]),
        kind=p.get("kind", "image"),
        timestamp=p.get("timestamp"),
        face_id=hit.id,
        track_id=p.get("track_id"),
        start=p.get("start"),
        end=p.get("end"),
        grouped=grouped,
        person={"id": p["person_id"], "name": None} if p.get("person_id") else None,
    )


def with_persons(app: App, matches: list[Match]) -> list[Match]:
    """The matches with their persons' names (one read for all); a person since gone becomes None."""
    names = people.person_names(app, [m.person["id"] for m in matches if m.person])
    return [
        replace(m, person={"id": m.person["id"], "name": names[m.person["id"]]} if m.person["id"] in names else None)
        if m.person
        else m
        for m in matches
    ]


def group_persons(matches: list[Match]) -> list[Match]:
    """One match per person (its best; `grouped` counts every match it stands for); faces with no person yet stay
    one by one. Best first, as the matches came."""
    best: dict[str, Match] = {}
    counts: dict[str, int] = {}
    out: list[Match] = []
    for m in matches:
        if m.person is None:
            out.append(m)
            continue
        key = m.person["id"]
        counts[key] = counts.get(key, 0) + m.grouped
        if key not in best:
            best[key] = m
            out.append(m)
    return [replace(m, grouped=counts[m.person["id"]]) if m.person else m for m in out]


def group_tracks(hits: list[Hit]) -> list[Match]:
    """One match per video face track (its best keyframe), so a long video cannot flood the list; best first."""
    best: dict[tuple, Hit] = {}
    counts: dict[tuple, int] = {}
    for hit in hits:
        track = hit.payload.get("track_id")
        key = (hit.payload["sha256"], track) if track is not None else ("face", hit.id)
        counts[key] = counts.get(key, 0) + 1
        if key not in best or hit.score > best[key].score:
            best[key] = hit
    return sorted((match_of(hit, counts[key]) for key, hit in best.items()), key=lambda m: m.score, reverse=True)


def lookup_image(
    app: App, data: bytes, *, top_k: int | None = None, threshold: float | None = None, group: str = "track"
) -> list[FaceMatches]:
    """Find every face in the photo and, for each, the indexed faces at or above the threshold (cosine).
    `group`: "track" (one match per video track) or "person" (also one match per person)."""
    top_k = app.settings.top_k if top_k is None else top_k
    threshold = app.match_threshold if threshold is None else threshold
    if not 1 <= top_k <= 1000:
        raise BadInput(f"top_k must be between 1 and 1000, got {top_k}")
    if not -1.0 <= threshold <= 1.0:
        raise BadInput(f"threshold is a cosine similarity between -1 and 1, got {threshold}")
    if group not in ("track", "person"):
        raise BadInput(f"group is track or person, got {group!r}")
    image = decode_image(data, max_pixels=app.settings.max_image_pixels)
    results = []
    for face in app.models.find_faces(image.rgb):
        # Ask for more than top_k: keyframes of one track (or faces of one person) collapse into one match.
        wanted = top_k * (16 if group == "person" else 4)
        hits = app.faces.search(face.embedding, top_k=min(wanted, 1000), threshold=threshold)
        matches = with_persons(app, group_tracks([h for h in hits if h.score >= threshold]))
        if group == "person":
            matches = group_persons(matches)
        matches = matches[:top_k]
        results.append(FaceMatches(face=face, matches=matches))
    return results


def annotate(data: bytes, results: list[FaceMatches], max_pixels: int) -> str:
    """The photo with every face boxed (green: has matches, grey: none), as a base64 PNG."""
    rgb = decode_image(data, max_pixels=max_pixels).rgb
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 300))
    for i, result in enumerate(results):
        colour = (40, 200, 90) if result.matches else (160, 160, 160)
        draw.rectangle(result.face.box, outline=colour, width=width)
        draw.text((result.face.box[0] + width, result.face.box[1] + width), str(i + 1), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def lookup_json(results: list[FaceMatches], threshold: float, top_k: int) -> dict:
    return {"faces": [r.to_json() for r in results], "threshold": threshold, "top_k": top_k}


__all__ = ["FaceMatches", "annotate", "group_persons", "lookup_image", "lookup_json", "match_of", "with_persons"]
