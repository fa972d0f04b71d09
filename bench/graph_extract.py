"""Knowledge-graph extraction throughput: pages/s through html → NER → relations, one process.

    python bench/graph_extract.py                     # the test corpus cycled to 200 pages, batches of 16
    python bench/graph_extract.py --pages 1000 --batch-size 32 --rounds 3

The pages are tests/data/graph_corpus/*.html (short fictional news articles with the usual site chrome; the script
prints their mean HTML and text size), repeated until --pages. Real articles are often 5-10x longer: the text
characters/s column is the figure that carries over. Each round times, on the same pages:
- html: `page_text` alone (trafilatura main text, title, language, links, date);
- extract one by one: `extract_page` per page, as a job handling one crawled page does;
- extract batched: `page_text` then `extract_documents` in batches (spaCy's nlp.pipe), as a bulk re-index would.
Model loading (SHA-256 of every model file, then spaCy) is timed once, separately. spaCy runs single-threaded
here; set OMP_NUM_THREADS/OPENBLAS_NUM_THREADS=1 to be sure no BLAS threads help it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import cycle, islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CORPUS = REPO / "tests" / "data" / "graph_corpus"

from lookingglass.text.entities import EntityRecognizer  # noqa: E402
from lookingglass.text.graph_extract import extract_documents, extract_page  # noqa: E402
from lookingglass.text.html import page_text  # noqa: E402


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pages(count: int) -> list[tuple[str, bytes]]:
    files = sorted(CORPUS.glob("*.html"))
    return [(f"{n}-{path.name}", path.read_bytes()) for n, path in enumerate(islice(cycle(files), count))]


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def run_html(batch: list[tuple[str, bytes]]) -> list:
    return [page_text(html, f"https://news.example/{name}") for name, html in batch]


def run_one_by_one(recognizer: EntityRecognizer, batch: list[tuple[str, bytes]]) -> list:
    return [extract_page(recognizer, html, doc_id=name, url=f"https://news.example/{name}") for name, html in batch]


def run_batched(recognizer: EntityRecognizer, batch: list[tuple[str, bytes]], batch_size: int) -> list:
    from lookingglass.records import Document

    items = []
    for name, html in batch:
        page = page_text(html, f"https://news.example/{name}")
        document = Document(id=name, kind="page", url=f"https://news.example/{name}", title=page.title)
        items.append((document, page.text, page.language or ""))
    return list(extract_documents(recognizer, items, batch_size=batch_size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="repeat each measurement; the median counts")
    args = parser.parse_args(argv)

    batch = pages(args.pages)
    html_bytes = sum(len(html) for _, html in batch)
    load_s, recognizer = timed(lambda: _loaded())
    progress(f"model loaded and verified in {load_s:.2f} s")

    text_chars = sum(len(p.text) for p in run_html(batch))
    run_one_by_one(recognizer, batch[:8])  # warm up: first-call allocations, lazy imports

    times: dict[str, list[float]] = {"html": [], "one by one": [], "batched": []}
    results = None
    for round_ in range(args.rounds):
        progress(f"round {round_ + 1}/{args.rounds}")
        times["html"].append(timed(lambda: run_html(batch))[0])
        elapsed, results = timed(lambda: run_one_by_one(recognizer, batch))
        times["one by one"].append(elapsed)
        elapsed, batched = timed(lambda: run_batched(recognizer, batch, args.batch_size))
        times["batched"].append(elapsed)
        assert batched == results, "batched extraction must equal one-by-one extraction"

    entities = sum(len(x.entities) for x in results)
    typed = sum(1 for x in results for r in x.relations if r.type != "co_mentioned")
    co = sum(1 for x in results for r in x.relations if r.type == "co_mentioned")
    cpu = os.cpu_count()
    print(
        f"{cpu} cores (single process); {len(batch)} pages ({len(set(n.split('-', 1)[1] for n, _ in batch))} distinct),"
        f" {html_bytes / len(batch) / 1024:.1f} KB HTML and {text_chars / len(batch):.0f} characters of text per page;"
        f" model load {load_s:.2f} s; rounds {args.rounds} (median)\n"
    )
    print("| stage | seconds | pages/s | ms/page | text chars/s |")
    print("|---|---:|---:|---:|---:|")
    for stage, values in times.items():
        seconds = statistics.median(values)
        label = f"html → NER → relations, {stage}" if stage != "html" else "html → main text only"
        if stage == "batched":
            label += f" (nlp.pipe, batch {args.batch_size})"
        print(
            f"| {label} | {seconds:.2f} | {len(batch) / seconds:.1f} | {1000 * seconds / len(batch):.1f}"
            f" | {text_chars / seconds:,.0f} |"
        )
    print(f"\nper page: {entities / len(batch):.1f} entities, {typed / len(batch):.1f} typed relations,"
          f" {co / len(batch):.1f} co-mention edges")  # fmt: skip
    return 0


def _loaded() -> EntityRecognizer:
    recognizer = EntityRecognizer()
    recognizer.load()
    return recognizer


if __name__ == "__main__":
    raise SystemExit(main())
