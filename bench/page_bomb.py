"""Peak memory of `lookingglass serve` (and its children) while it processes the issue-11 page bomb, and whether it
keeps answering lookups meanwhile.

    python bench/page_bomb.py                          # 8 MB: "John Smith works at Acme Corporation. " * 6600 per <p>
    python bench/page_bomb.py --megabytes 1 --unique   # 1 MB of distinct sentences (the text cap bounds it)

A real `serve` (embedded, fresh LG_DATA_DIR) is started and warmed up with one lookup (model loading is not what is
measured). Then the page is uploaded through `POST /objects` while a side thread posts a face photo to `POST /lookup`
once a second; the resident memory of serve and every process under it (/proc, VmRSS summed) is sampled every
0.2 s throughout. Prints one markdown table: RSS before and peak during the page, the upload's status and time, the
page's processing facts, and how the lookups fared.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import faces_root  # noqa: E402
from serve_process import running_serve  # noqa: E402

SENTENCE = "John Smith works at Acme Corporation. "


def page(megabytes: float, unique: bool) -> bytes:
    if unique:
        count = int(megabytes * 1024 * 1024 / 55)
        body = " ".join(f"Person{i} Smith works at Acme{i} Corporation in Paris." for i in range(count))
        return f"<html><body><p>{body}</p></body></html>".encode()
    paragraph = "<p>" + SENTENCE * 6600 + "</p>"
    count = max(1, round(megabytes * 1024 * 1024 / len(paragraph)))
    return f"<html><body>{paragraph * count}</body></html>".encode()


def tree_rss_mb(pid: int) -> float:
    """VmRSS of `pid` and all its descendants, in MB."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=8)
    parser.add_argument("--unique", action="store_true", help="distinct sentences instead of one repeated")
    args = parser.parse_args()
    photo = next(p for p in sorted(faces_root().rglob("*.jpg")))
    html = page(args.megabytes, args.unique)
    with tempfile.TemporaryDirectory() as tmp, running_serve(Path(tmp) / "data", Path(tmp) / "serve.log") as (info, p):
        auth = {"Authorization": f"Bearer {info.token}"}

        def lookup() -> tuple[int, float]:
            started = time.perf_counter()
            answer = requests.post(f"{info.url}/lookup", files={"image": photo.read_bytes()}, headers=auth, timeout=120)
            return answer.status_code, time.perf_counter() - started

        lookup()  # warm: models loaded
        before = tree_rss_mb(p.pid)
        peak = [before]
        lookups: list[tuple[int, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], tree_rss_mb(p.pid))

        def keep_looking_up() -> None:
            while not done.wait(1.0):
                lookups.append(lookup())

        threads = [threading.Thread(target=sample), threading.Thread(target=keep_looking_up)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        upload = requests.post(f"{info.url}/objects", files={"file": ("bomb.html", html)}, headers=auth, timeout=900)
        upload_s = time.perf_counter() - started
        sha = upload.json()["objects"][0]["sha256"]
        while True:  # a 202 goes on in the background: wait for the object to say how it ended
            metadata = requests.get(f"{info.url}/objects/{sha}", headers=auth, timeout=60).json()["metadata"]
            if (metadata.get("processed") or {}).get("graph") or metadata.get("processing_error"):
                break
            time.sleep(0.5)
        total_s = time.perf_counter() - started
        time.sleep(1)
        done.set()
        for thread in threads:
            thread.join()
    kind = "distinct sentences" if args.unique else "one sentence repeated"
    ok = [t for status, t in lookups if status == 200]
    print(f"| page | {len(html) / 2**20:.1f} MB, {kind} |")
    print("|---|---|")
    print(f"| serve + children RSS before | {before:,.0f} MB |")
    print(f"| serve + children RSS peak | {peak[0]:,.0f} MB |")
    print(f"| upload answer | {upload.status_code} after {upload_s:.1f} s |")
    ended = (metadata.get("processed") or {}).get("graph") or metadata.get("processing_error")
    print(f"| page ended | {total_s:.1f} s after upload: {ended} |")
    print(f"| lookups during | {len(ok)}/{len(lookups)} answered 200, slowest {max(ok, default=0):.2f} s |")


if __name__ == "__main__":
    main()
