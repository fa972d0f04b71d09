"""A small sample set that works offline: the test photos shipped in the face_recognition 1.3.0 sdist on PyPI.

`make run` indexes these so a fresh install has something to find; tests use them as a second photo set.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST = "face_recognition==1.3.0"
MEMBER_PREFIX = "face_recognition-1.3.0/tests/test_images/"


def fetch_samples(dest: Path) -> list[Path]:
    """Download the sdist with pip (any configured index or mirror works) and extract its test photos to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(p for p in dest.iterdir() if p.suffix.lower() in {".jpg", ".png"})
    if existing:
        return existing
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-binary",
                ":all:",
                "--no-deps",
                SDIST,
                "-d",
                tmp,
            ],
            check=True,
        )
        archive = next(Path(tmp).glob("face_recognition-1.3.0.tar.gz"))
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = member.name
                if member.isfile() and name.startswith(MEMBER_PREFIX) and "/" not in name[len(MEMBER_PREFIX) :]:
                    source = tar.extractfile(member)
                    if source is not None:
                        (dest / Path(name).name).write_bytes(source.read())
    return sorted(p for p in dest.iterdir() if p.suffix.lower() in {".jpg", ".png"})


if __name__ == "__main__":
    for path in fetch_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "data/samples")):
        print(path)
