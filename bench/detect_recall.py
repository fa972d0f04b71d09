"""Detection recall where faces get missed: at the photo's edge and small in large photos; and what finding them costs.

    python bench/detect_recall.py                       # before (no padding, no tiles) vs after (the defaults)
    python bench/detect_recall.py --pads 0.1,0.15 --borders replicate,constant --rounds 3

Photo sets, all from `labels.json` (LG_TEST_FACES or --faces):
- labelled: the dlib group photos with hand-labelled boxes (`detection_gt_xywh`, recall at IoU 0.4 as `lookingglass
  eval`), and the group/crowded photos (`group_photos`: faces found vs the expected count, `faces` or dlib HOG's
  `faces_hog`).
- edge: every labelled face made a face cut by the edge: the photo cropped so the crop's edge nearest that face runs
  through the face's middle (half of it outside). Found: a detection overlaps the face's visible half at IoU >= 0.4.
- large: a 4000x3000 photo (dlib's dogs.jpg enlarged: a background with dog faces, none human) with the nine dlib
  group photos pasted at native size (faces 37-53 px, 6-8 px once the photo is analysed at 640 px), and the same at
  half size (faces 18-26 px). Recall as for the labelled set; extra = detections matching no pasted face.
- dogs: dlib's dogs.jpg (no human face) as it is, and searched in tiles even though it is small (tile_above 600).
Cost: ms per photo for a normal (500 px) and a large (4000x3000) photo, configurations interleaved photo by photo
(the machine is shared: alternating pairs), the median of `--rounds`, for the first two configurations (before and
the first after); the ratio to before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lookingglass.vision.evaluation import _read_rgb, match_boxes, no_face_paths, xywh_to_box  # noqa: E402
from lookingglass.vision.faces import FaceModels  # noqa: E402
from lookingglass.vision.tiling import NO_COVERAGE, Coverage, tile_grid  # noqa: E402

IOU = 0.4
LARGE = (4000, 3000)


def faces_root() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


def edge_cases(root: Path, labels: dict) -> list[tuple[str, np.ndarray, tuple[float, float, float, float]]]:
    """(name, cropped photo, the cut face's visible box) for every labelled face, cut through its middle."""
    cases = []
    for relative, boxes in sorted(labels["detection_gt_xywh"].items()):
        rgb = _read_rgb(root, relative)
        h, w = rgb.shape[:2]
        for n, xywh in enumerate(boxes):
            x1, y1, x2, y2 = xywh_to_box(xywh)
            cx, cy = round((x1 + x2) / 2), round((y1 + y2) / 2)
            side = min((cx, "left"), (w - cx, "right"), (cy, "top"), (h - cy, "bottom"))[1]
            if side == "left":
                crop, box = rgb[:, cx:], (0.0, y1, x2 - cx, y2)
            elif side == "right":
                crop, box = rgb[:, :cx], (x1, y1, float(cx), y2)
            elif side == "top":
                crop, box = rgb[cy:], (x1, 0.0, x2, y2 - cy)
            else:
                crop, box = rgb[:cy], (x1, y1, x2, float(cy))
            cases.append((f"{Path(relative).stem}#{n}", np.ascontiguousarray(crop), box))
    return cases


def large_photo(root: Path, labels: dict, shrink: float) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """dogs.jpg enlarged to 4000x3000 with the labelled group photos pasted on a 3x3 grid, and their face boxes."""
    width, height = LARGE
    canvas = cv2.resize(_read_rgb(root, "dlib_examples_faces/dogs.jpg"), LARGE, interpolation=cv2.INTER_LINEAR)
    truth: list[tuple[float, ...]] = []
    for i, (relative, boxes) in enumerate(sorted(labels["detection_gt_xywh"].items())):
        photo = _read_rgb(root, relative)
        if shrink != 1.0:
            photo = cv2.resize(photo, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        ph, pw = photo.shape[:2]
        ox, oy = 250 + (i % 3) * (width - 500) // 3, 200 + (i // 3) * (height - 400) // 3
        canvas[oy : oy + ph, ox : ox + pw] = photo
        for xywh in boxes:
            x1, y1, x2, y2 = xywh_to_box(xywh)
            truth.append((ox + x1 * shrink, oy + y1 * shrink, ox + x2 * shrink, oy + y2 * shrink))
    return canvas, truth


def recall_rows(models: FaceModels, root: Path, labels: dict, edge, large) -> dict[str, str]:
    row: dict[str, str] = {}
    labelled = found = extra = 0
    for relative, boxes in sorted(labels["detection_gt_xywh"].items()):
        truth = [xywh_to_box(b) for b in boxes]
        boxes_found = [d.box for d in models.detect(_read_rgb(root, relative))]
        matched = match_boxes(truth, boxes_found, IOU)
        labelled, found, extra = labelled + len(truth), found + matched, extra + len(boxes_found) - matched
    row["dlib labelled"] = f"{found}/{labelled} (+{extra})"
    expected = got = 0
    for relative, info in sorted(labels.get("group_photos", {}).items()):
        count = info.get("faces") or info.get("faces_hog") or 0
        expected, got = expected + count, got + len(models.detect(_read_rgb(root, relative)))
    row["group photos"] = f"{got}/{expected}"
    hits = sum(match_boxes([box], [d.box for d in models.detect(crop)], IOU) for _, crop, box in edge)
    row["edge (half cut)"] = f"{hits}/{len(edge)}"
    for name, (canvas, truth) in large.items():
        boxes_found = [d.box for d in models.detect(canvas)]
        matched = match_boxes(truth, boxes_found, IOU)
        row[name] = f"{matched}/{len(truth)} (+{len(boxes_found) - matched})"
    dogs = [_read_rgb(root, p) for p in no_face_paths(labels)]
    row["dogs"] = str(sum(len(models.detect(rgb)) for rgb in dogs))
    tiled = replace(models, coverage=replace(models.coverage, tile_above=600))
    row["dogs, tiled"] = str(sum(len(tiled.detect(rgb)) for rgb in dogs))
    return row


def cost(configs: dict[str, FaceModels], photos: dict[str, np.ndarray], rounds: int) -> dict[str, dict[str, float]]:
    """Median ms per photo and configuration, the configurations taking turns on each photo."""
    times: dict[str, dict[str, list[float]]] = {c: {p: [] for p in photos} for c in configs}
    for _ in range(rounds):
        for photo, rgb in photos.items():
            for name, models in configs.items():
                start = time.perf_counter()
                models.detect(rgb)
                times[name][photo].append((time.perf_counter() - start) * 1000)
    return {c: {p: statistics.median(v) for p, v in per.items()} for c, per in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=faces_root())
    parser.add_argument("--pads", default="0.12", help="padding fractions to try (comma-separated)")
    parser.add_argument("--borders", default="constant", help="constant (mid-grey) and/or replicate")
    parser.add_argument("--rounds", type=int, default=3, help="timed repetitions per photo (median)")
    args = parser.parse_args()
    if not (args.faces / "labels.json").is_file():
        print(f"no labels.json in {args.faces}: pass --faces or set LG_TEST_FACES", file=sys.stderr)
        return 2
    labels = json.loads((args.faces / "labels.json").read_text())
    base = FaceModels.create()
    base.load()
    configs = {"before (none)": replace(base, coverage=NO_COVERAGE)}
    for border in args.borders.split(","):
        for pad in (float(p) for p in args.pads.split(",")):
            configs[f"pad {pad:g} {border}, tiles"] = replace(base, coverage=Coverage(pad=pad, border=border))
    print("building the edge and large sets", file=sys.stderr)
    edge = edge_cases(args.faces, labels)
    large = {f"large 4000x3000, faces x{s:g}": large_photo(args.faces, labels, s) for s in (1.0, 0.5)}
    table = {}
    for name, models in configs.items():
        print(f"recall: {name}", file=sys.stderr)
        table[name] = recall_rows(models, args.faces, labels, edge, large)
    columns = list(next(iter(table.values())))
    print("| configuration | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(row[c] for c in columns) + " |")

    normal = _read_rgb(args.faces, "dlib_examples_faces/2008_002079.jpg")
    photos = {"500x375": normal, "4000x3000": large["large 4000x3000, faces x1"][0]}
    tiles = len(tile_grid(*LARGE, Coverage().tile, Coverage().overlap))
    print(f"timing, {args.rounds} rounds ({tiles} tiles for {LARGE[0]}x{LARGE[1]})", file=sys.stderr)
    timed = dict(list(configs.items())[:2])  # before, and the first configuration after
    ms = cost(timed, photos, args.rounds)
    first = next(iter(ms))
    print()
    print("| configuration | " + " | ".join(f"{p} ms (ratio)" for p in photos) + " |")
    print("|---|" + "---|" * len(photos))
    for name, per in ms.items():
        cells = [f"{per[p]:.0f} ({per[p] / ms[first][p]:.2f}x)" for p in photos]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\n{tiles} tiles of {Coverage().tile} px for a {LARGE[0]}x{LARGE[1]} photo; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
