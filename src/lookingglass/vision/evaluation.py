"""How well the face models work on a labelled photo set, in numbers an operator can act on.

    models = FaceModels.create(embedder="sface")
    report = run_eval("faces/labels.json", models)   # plain dict, JSON-ready
    print(format_report(report))

The labels file (paths relative to its folder) holds:
- `detection_gt_xywh`: {image: [[x, y, w, h], ...]} hand-labelled faces -> detection recall at an IoU;
- `no_face`: ["image.jpg (why)", ...] images with no human face -> false positives;
- `identities`: {identity: [image, ...]} one person per photo (the largest face counts) -> rank-1
  identification and pair verification: how the embedder's match threshold gets calibrated
  (`lookingglass eval`); and the pairwise precision/recall of grouping those faces into persons with the
  embedder's clustering rule (people/clustering.py), how that rule gets calibrated.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lookingglass.errors import BadInput, NotFound
from lookingglass.media.decode import decode_image
from lookingglass.people.clustering import PairScores, cluster, pairwise, rule_for
from lookingglass.records import Box, Face
from lookingglass.vision.detect import iou
from lookingglass.vision.faces import FaceModels

# dlib's hand-labelled boxes are tight squares (brows to lips); each detector draws its own kind of box.
# Measured with the fused detector: every labelled face overlaps its detection by 0.55-0.82 IoU, so 0.4
# judges whether a face was found, not whose box-drawing convention won.
DEFAULT_IOU = 0.4


# --- labels


def load_labels(labels_path: str | Path) -> dict:
    """The parsed labels file; NotFound/BadInput instead of a traceback when it is missing or broken."""
    path = Path(labels_path)
    if not path.is_file():
        raise NotFound(f"labels file {path} does not exist")
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"labels file {path} is not valid JSON: {exc}") from exc
    if not isinstance(labels, dict):
        raise BadInput(f"labels file {path} must hold a JSON object")
    return labels


def no_face_paths(labels: dict) -> list[str]:
    """Entries read like "dlib_examples_faces/dogs.jpg (dog faces only)": the path comes before a space."""
    return [entry.split(" ", 1)[0] for entry in labels.get("no_face", []) if entry.strip()]


def xywh_to_box(xywh: list[float]) -> Box:
    x, y, w, h = (float(v) for v in xywh)
    return (x, y, x + w, y + h)


def _read_rgb(root: Path, relative: str) -> np.ndarray:
    path = root / relative
    if not path.is_file():
        raise NotFound(f"labelled image {path} does not exist")
    return decode_image(path.read_bytes()).rgb


# --- detection


@dataclass(frozen=True)
class ImageDetection:
    """One image's detection outcome; for a `no_face` image every detection is an extra."""

    path: str
    labelled: int
    found: int  # labelled faces matched one-to-one by a detection at IoU >= threshold
    extra: int  # detections that match no labelled face (false positives, or faces nobody labelled)
    no_face: bool = False


@dataclass(frozen=True)
class DetectionReport:
    """Detection over a labels file: recall says whether faces get missed, no-face detections whether junk gets in."""

    iou_threshold: float
    labelled: int
    found: int
    extra: int  # on the labelled images
    no_face_images: int
    no_face_detections: int  # detections on images that hold no human face: certain false positives
    images: tuple[ImageDetection, ...]

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 0.0


def match_boxes(truth: list[Box], found: list[Box], iou_threshold: float) -> int:
    """How many labelled boxes detections claim, one-to-one, best overlaps first (greedy, as VOC scores)."""
    pairs = sorted(
        ((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
        reverse=True,
    )
    used_truth: set[int] = set()
    used_found: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < iou_threshold:
            break
        if i not in used_truth and j not in used_found:
            used_truth.add(i)
            used_found.add(j)
    return len(used_truth)


def detection_recall(
    labels_path: str | Path, models: FaceModels, iou_threshold: float = DEFAULT_IOU
) -> DetectionReport:
    """Recall over `detection_gt_xywh`, and detections on `no_face` images, at the models' threshold."""
    labels_path = Path(labels_path)
    labels = load_labels(labels_path)
    root = labels_path.parent
    rows: list[ImageDetection] = []
    for relative, boxes in sorted(labels.get("detection_gt_xywh", {}).items()):
        truth = [xywh_to_box(b) for b in boxes]
        found = [d.box for d in models.detect(_read_rgb(root, relative))]
        matched = match_boxes(truth, found, iou_threshold)
        rows.append(ImageDetection(relative, len(truth), matched, len(found) - matched))
    for relative in no_face_paths(labels):
        found = models.detect(_read_rgb(root, relative))
        rows.append(ImageDetection(relative, 0, 0, len(found), no_face=True))
    labelled_rows = [r for r in rows if not r.no_face]
    no_face_rows = [r for r in rows if r.no_face]
    return DetectionReport(
        iou_threshold=iou_threshold,
        labelled=sum(r.labelled for r in labelled_rows),
        found=sum(r.found for r in labelled_rows),
        extra=sum(r.extra for r in labelled_rows),
        no_face_images=len(no_face_rows),
        no_face_detections=sum(r.extra for r in no_face_rows),
        images=tuple(rows),
    )


# --- identification


@dataclass(frozen=True)
class Probe:
    """Leave-one-out for one photo: its nearest other photo, and whether that is the same person."""

    path: str
    identity: str
    nearest_path: str | None  # None when the photo yielded no face
    nearest_identity: str | None
    score: float | None
    correct: bool


@dataclass(frozen=True)
class Operating:
    """Verification outcome at one cosine threshold (a pair is accepted when its similarity >= threshold)."""

    threshold: float
    true_accept_rate: float  # same-person pairs accepted
    false_accept_rate: float  # different-person pairs accepted
    accuracy: float  # all pairs decided correctly / all pairs
    balanced_accuracy: float  # (TAR + 1 - FAR) / 2: accuracy if same and different pairs were as many


@dataclass(frozen=True)
class IdentReport:
    """Identification over a labels file: rank-1 says whether search finds the person, the operating points where
    to set the match threshold."""

    embedder: str
    photos: int
    no_face: tuple[str, ...]  # identity photos where no face was found (each counts as a rank-1 miss)
    probes: tuple[Probe, ...]  # photos of identities with >= 2 photos; the others are distractors only
    same_pairs: int
    different_pairs: int
    at_default: Operating  # at the embedder's `default_threshold`
    best: Operating  # the threshold with the highest accuracy over these pairs
    same_scores: tuple[float, ...]
    different_scores: tuple[float, ...]
    clustering: PairScores | None = None  # the photos grouped into persons by the embedder's rule, pair by pair
    distance: float | None = None  # that rule's cosine distance and min_faces
    min_faces: int | None = None
    identities: int = 0

    @property
    def rank1(self) -> float:
        return sum(p.correct for p in self.probes) / len(self.probes) if self.probes else 0.0


def largest_face(faces: list[Face]) -> Face | None:
    """The subject of a portrait: the biggest box (bystanders and posters are smaller)."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def operating_point(same: np.ndarray, different: np.ndarray, threshold: float) -> Operating:
    tar = float(np.mean(same >= threshold)) if same.size else 0.0
    far = float(np.mean(different >= threshold)) if different.size else 0.0
    correct = int(np.sum(same >= threshold)) + int(np.sum(different < threshold))
    total = same.size + different.size
    return Operating(
        threshold=float(threshold),
        true_accept_rate=tar,
        false_accept_rate=far,
        accuracy=correct / total if total else 0.0,
        balanced_accuracy=(tar + 1.0 - far) / 2.0,
    )


def best_threshold(same: np.ndarray, different: np.ndarray) -> Operating:
    """The cut between two adjacent observed scores with the highest accuracy; ties go to the widest gap.

    Cutting halfway between the highest rejected and the lowest accepted score keeps the margin on both sides,
    so the calibrated value does not sit exactly on one photo pair's score.
    """
    scores = np.unique(np.concatenate([same, different]))
    if scores.size == 0:
        return operating_point(same, different, 0.0)
    cuts = np.concatenate([[scores[0] - 1e-3], (scores[:-1] + scores[1:]) / 2, [scores[-1] + 1e-3]])
    gaps = np.concatenate([[1e-3], np.diff(scores), [1e-3]])
    best = max(
        range(len(cuts)),
        key=lambda i: (operating_point(same, different, cuts[i]).accuracy, gaps[i]),
    )
    return operating_point(same, different, float(cuts[best]))


def identification(labels_path: str | Path, models: FaceModels) -> IdentReport:
    """Rank-1 leave-one-out identification and same/different pair verification over `identities`."""
    labels_path = Path(labels_path)
    labels = load_labels(labels_path)
    root = labels_path.parent
    identities: dict[str, list[str]] = labels.get("identities", {})
    photos: list[tuple[str, str]] = [(who, p) for who, paths in sorted(identities.items()) for p in paths]
    embedded: list[tuple[str, str, np.ndarray]] = []
    missing: list[str] = []
    for who, relative in photos:
        face = largest_face(models.find_faces(_read_rgb(root, relative)))
        if face is None:
            missing.append(relative)
        else:
            embedded.append((who, relative, np.asarray(face.embedding, dtype=np.float32)))

    vectors = np.vstack([e[2] for e in embedded]) if embedded else np.zeros((0, models.embedder.dim))
    sims = vectors @ vectors.T  # cosine: the embedders L2-normalise
    probes: list[Probe] = []
    for who, relative in photos:
        if len(identities[who]) < 2:
            continue  # nobody else to find: a distractor in the gallery only
        index = next((i for i, e in enumerate(embedded) if e[1] == relative), None)
        if index is None or len(embedded) < 2:
            probes.append(Probe(relative, who, None, None, None, False))
            continue
        row = sims[index].copy()
        row[index] = -np.inf
        nearest = int(np.argmax(row))
        probes.append(
            Probe(
                relative,
                who,
                embedded[nearest][1],
                embedded[nearest][0],
                float(row[nearest]),
                embedded[nearest][0] == who,
            )
        )

    same_scores: list[float] = []
    different_scores: list[float] = []
    for i, j in itertools.combinations(range(len(embedded)), 2):
        (same_scores if embedded[i][0] == embedded[j][0] else different_scores).append(float(sims[i, j]))
    same = np.array(same_scores, dtype=np.float64)
    different = np.array(different_scores, dtype=np.float64)
    rule = rule_for(models.embedder.name)
    grouped = cluster(vectors, [frozenset({e[1]}) for e in embedded], rule) if embedded else np.zeros(0, np.int64)
    label = {e[1]: int(g) for e, g in zip(embedded, grouped, strict=True)}
    return IdentReport(
        embedder=models.embedder.name,
        photos=len(photos),
        no_face=tuple(missing),
        probes=tuple(probes),
        same_pairs=len(same_scores),
        different_pairs=len(different_scores),
        at_default=operating_point(same, different, models.embedder.default_threshold),
        best=best_threshold(same, different),
        same_scores=tuple(same_scores),
        different_scores=tuple(different_scores),
        # A photo without a face is a face the clustering could not place: unassigned, it pairs with nobody.
        clustering=pairwise([label.get(p, -1) for _, p in photos], [who for who, _ in photos]),
        distance=rule.distance,
        min_faces=rule.min_faces,
        identities=len(identities),
    )


# --- report


def run_eval(labels_path: str | Path, models: FaceModels, iou_threshold: float = DEFAULT_IOU) -> dict:
    """Every measure as one JSON-ready dict: what `lookingglass eval --json` prints."""
    detection = detection_recall(labels_path, models, iou_threshold)
    ident = identification(labels_path, models)
    same = np.array(ident.same_scores)
    different = np.array(ident.different_scores)
    return {
        "labels": str(labels_path),
        "embedder": ident.embedder,
        "detector_threshold": models.detector_threshold,
        "detection": {
            **asdict(detection),
            "images": [asdict(row) for row in detection.images],
            "recall": detection.recall,
        },
        "identification": {
            "photos": ident.photos,
            "no_face": list(ident.no_face),
            "probes": [asdict(p) for p in ident.probes],
            "rank1": ident.rank1,
            "same_pairs": ident.same_pairs,
            "different_pairs": ident.different_pairs,
            "at_default": asdict(ident.at_default),
            "best": asdict(ident.best),
            "same_min": float(same.min()) if same.size else None,
            "different_max": float(different.max()) if different.size else None,
        },
        "clustering": {
            "distance": ident.distance,
            "min_faces": ident.min_faces,
            "identities": ident.identities,
            **asdict(ident.clustering),
        },
    }


def _pct(value: float) -> str:
    return f"{100 * value:5.1f} %"


def format_report(report: dict) -> str:
    """The dict from `run_eval` as a plain-text table for a terminal."""
    det = report["detection"]
    ident = report["identification"]
    lines = [
        f"labels: {report['labels']}",
        f"embedder: {report['embedder']}   detector threshold: {report['detector_threshold']}",
        "",
        f"Detection (IoU >= {det['iou_threshold']})",
        f"  {'image':<48} {'labelled':>8} {'found':>6} {'extra':>6}",
    ]
    for row in det["images"]:
        labelled = "no face" if row["no_face"] else str(row["labelled"])
        lines.append(f"  {row['path']:<48} {labelled:>8} {row['found']:>6} {row['extra']:>6}")
    lines += [
        f"  {'total':<48} {det['labelled']:>8} {det['found']:>6} {det['extra']:>6}",
        f"  recall {_pct(det['recall'])}   detections on no-face images: {det['no_face_detections']}"
        f" ({det['no_face_images']} images)",
        "",
        f"Identification ({ident['photos']} photos, largest face each)",
        f"  rank-1 leave-one-out: {_pct(ident['rank1'])} of {len(ident['probes'])} probes",
    ]
    for probe in ident["probes"]:
        if not probe["correct"]:
            nearest = probe["nearest_path"] or "no face found"
            lines.append(f"    miss: {probe['path']} ({probe['identity']}) -> {nearest}")
    if ident["no_face"]:
        lines.append(f"  no face found in: {', '.join(ident['no_face'])}")
    lines += [
        f"  pairs: {ident['same_pairs']} same person, {ident['different_pairs']} different",
        f"  {'operating point':<18} {'threshold':>9} {'TAR':>8} {'FAR':>8} {'accuracy':>9} {'balanced':>9}",
    ]
    for name, point in (("default", ident["at_default"]), ("best on this set", ident["best"])):
        lines.append(
            f"  {name:<18} {point['threshold']:>9.3f} {_pct(point['true_accept_rate']):>8}"
            f" {_pct(point['false_accept_rate']):>8} {_pct(point['accuracy']):>9}"
            f" {_pct(point['balanced_accuracy']):>9}"
        )
    if ident["same_min"] is not None and ident["different_max"] is not None:
        lines.append(
            f"  lowest same-person score {ident['same_min']:.3f}, "
            f"highest different-person score {ident['different_max']:.3f}"
        )
    grouped = report["clustering"]
    lines += [
        "",
        f"Persons (faces grouped: distance {grouped['distance']}, min_faces {grouped['min_faces']})",
        f"  {grouped['persons']} persons for {grouped['identities']} identities, {grouped['unassigned']} unassigned",
        f"  pairwise precision {_pct(grouped['precision'])}   recall {_pct(grouped['recall'])}"
        f"   ({grouped['predicted_pairs']} pairs grouped, {grouped['true_pairs']} true)",
    ]
    return "\n".join(lines)
