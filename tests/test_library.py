"""The library verbs a Python user imports (face_recognition style), and the README's example, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lookingglass as lg
from lookingglass.errors import BadInput, TooLarge

README = Path(__file__).resolve().parents[1] / "README.md"


def test_importing_the_package_loads_no_model_and_no_vision_library():
    heavy = "('cv2', 'onnxruntime', 'lookingglass.vision')"
    code = f"import sys, lookingglass; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


def test_find_faces_gives_boxes_confidence_landmarks_and_unit_embeddings(sample_photos):
    image = lg.load_image(sample_photos / "obama.jpg")

    (face,) = lg.find_faces(image)

    x1, y1, x2, y2 = face.box
    assert image.dtype == np.uint8 and image.shape[2] == 3
    assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    assert 0.5 <= face.confidence <= 1.0 and len(face.landmarks) == 5
    assert face.embedding.shape == (128,) and abs(float(np.linalg.norm(face.embedding)) - 1) < 1e-3


def test_compare_and_is_match_tell_one_person_from_another(sample_photos):
    obama = lg.find_faces(lg.load_image(sample_photos / "obama.jpg"))[0]
    obama_again = lg.find_faces(lg.load_image((sample_photos / "obama2.jpg").read_bytes()))[0]
    biden = lg.find_faces(lg.load_image(sample_photos / "biden.jpg"))[0]

    assert lg.compare(obama, obama_again) > lg.compare(obama, biden)
    assert lg.is_match(obama, obama_again) and not lg.is_match(obama, biden)
    assert lg.compare(obama.embedding, obama.embedding) == pytest.approx(1.0, abs=1e-5)


def test_load_image_refuses_what_an_upload_would(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")

    with pytest.raises(BadInput):
        lg.load_image(broken)
    with pytest.raises(TooLarge):
        lg.load_image(np.zeros(1).tobytes() and _png(64, 64), max_pixels=100)


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_readme_example_runs_as_written(sample_photos, tmp_path):
    example = re.search(r"<!-- library example -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert example, "README's library example (marked <!-- library example -->) is missing"
    samples = tmp_path / "data" / "samples"
    samples.mkdir(parents=True)
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        (samples / name).write_bytes((sample_photos / name).read_bytes())

    run = subprocess.run(
        [sys.executable, "-c", example.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )

    assert run.returncode == 0, run.stderr
    assert "same person" in run.stdout and "someone else" in run.stdout
