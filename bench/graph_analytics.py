"""Knowledge-graph analytics at scale: a 100k-entity / 1M-relation graph in the embedded SQLite store.

    python bench/graph_analytics.py                          # Barabási–Albert, 100k nodes, m=10 (≈1M edges)
    python bench/graph_analytics.py --model sbm              # planted partition: 100 communities of 1,000
    python bench/graph_analytics.py --nodes 20000 --bare     # smaller; relations carry weights, no sentences

What it does, in a fresh temporary folder (or `--db PATH`):
1. Generates the graph with igraph (seeded). `ba`: preferential attachment, heavy-tailed degrees like real entity
   graphs, little community structure. `sbm`: a planted partition (80 % of each node's edges inside its block),
   whose communities Louvain and Leiden should find.
2. Stores it through `SqliteGraphStore.put`, the path the pipeline uses: documents of `--per-document` relations
   (default 100), each relation a `co_mentioned` edge with one evidence sentence, and both ends mentioned in it
   (so per relation: a sentence, two mentions, an evidence row). `--bare` stores weights only (no sentences,
   mentions or evidence): the graph alone. Timed: the put rate.
3. Runs `lookingglass.stores.graph.analytics.run_analytics` (export from SQLite into igraph, PageRank, Louvain,
   Leiden, write back onto every entity) and prints its timings.
Prints a markdown table on stdout, progress on stderr. Quote the machine (printed) with any number.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import igraph

from lookingglass.records import Document, Entity, Evidence, Extraction, Mention, Relation
from lookingglass.stores.graph import SqliteGraphStore
from lookingglass.stores.graph.analytics import run_analytics


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def generate(model: str, nodes: int, per_node: int, seed: int) -> igraph.Graph:
    """A seeded random graph with about nodes × per_node edges."""
    import random

    random.seed(seed)  # igraph's default random generator is Python's `random`
    if model == "ba":
        return igraph.Graph.Barabasi(nodes, per_node)
    blocks = max(1, nodes // 1000)
    sizes = [nodes // blocks] * blocks
    sizes[-1] += nodes - sum(sizes)
    inside = 0.8 * per_node / (sizes[0] - 1) * 2  # expected degree 2·per_node, 80 % of it inside the block
    outside = 0.2 * per_node / (nodes - sizes[0]) * 2
    preference = [[inside if i == j else outside for j in range(blocks)] for i in range(blocks)]
    return igraph.Graph.SBM(preference, sizes)


def entity(index: int) -> Entity:
    return Entity(id=f"e{index:07d}", name=f"Entity {index}", type="PERSON" if index % 2 else "ORG")


def documents(graph: igraph.Graph, per_document: int, bare: bool) -> Iterator[Extraction]:
    edges = graph.get_edgelist()
    for number, start in enumerate(range(0, len(edges), per_document)):
        doc = f"doc{number:07d}"
        chunk = edges[start : start + per_document]
        ends = sorted({i for edge in chunk for i in edge})
        named = {i: entity(i) for i in ends}
        mentions: list[Mention] = []
        relations: list[Relation] = []
        for sentence, (a, b) in enumerate(chunk):
            if bare:
                relations.append(Relation("co_mentioned", named[a].id, named[b].id, weight=1.0))
                continue
            ev = Evidence(doc, sentence, f"{named[a].name} met {named[b].name}.")
            mentions += [Mention(named[a].id, named[a].name, ev), Mention(named[b].id, named[b].name, ev)]
            relations.append(Relation("co_mentioned", named[a].id, named[b].id, (ev,)))
        yield Extraction(Document(doc, "page", url=f"https://example.org/{doc}"), tuple(named.values()),
                         tuple(mentions), tuple(relations))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("ba", "sbm"), default="ba")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--per-node", type=int, default=10, help="edges added per node (≈ edges / nodes)")
    parser.add_argument("--per-document", type=int, default=100, help="relations per stored document")
    parser.add_argument("--batch", type=int, default=1, help="documents per transaction (>1: put_many)")
    parser.add_argument("--bare", action="store_true", help="weights only: no sentences, mentions or evidence")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, help="SQLite file to (re)create; default: a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lg-graph-bench-") as tmp:
        path = args.db or Path(tmp) / "graph.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

        t = time.perf_counter()
        graph = generate(args.model, args.nodes, args.per_node, args.seed)
        took = time.perf_counter() - t
        log(f"generated {args.model}: {graph.vcount():,} nodes, {graph.ecount():,} edges in {took:.1f} s")

        store = SqliteGraphStore(path)
        t = time.perf_counter()
        puts, pending = 0, []
        for extraction in documents(graph, args.per_document, args.bare):
            pending.append(extraction)
            if len(pending) >= args.batch:
                if args.batch > 1:
                    store.put_many(pending)
                else:
                    store.put(pending[0])  # the pipeline's path: one document, one transaction
                puts, pending = puts + len(pending), []
                if puts % 1000 < args.batch:
                    rate = puts * args.per_document / (time.perf_counter() - t)
                    log(f"  put {puts:,} documents ({rate:,.0f} relations/s)")
        if pending:
            puts += store.put_many(pending)  # the last, partial batch
        put_s = time.perf_counter() - t
        stats = store.stats()
        log(f"stored: {stats}")

        report = run_analytics(store)
        store.close()
        size_mb = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()) / 1e6

    relations = stats["relations"]
    print(f"\n{cpu_model()}, {os.cpu_count()} cores; igraph {igraph.__version__}; model {args.model}, seed {args.seed}")
    print(f"graph: {report['nodes']:,} nodes, {report['edges']:,} edges; SQLite file {size_mb:,.0f} MB"
          f" ({'weights only' if args.bare else 'with sentences, mentions and evidence'})\n")  # fmt: skip
    put_notes = f"{puts / put_s:,.0f} documents/s, {relations / put_s:,.0f} relations/s"
    export_notes = f"{report['edges'] / max(report['export_s'], 1e-9):,.0f} edges/s"
    rows = [
        (f"put {puts:,} documents ({args.batch} per transaction)", put_s, put_notes),
        ("export SQLite → igraph", report["export_s"], export_notes),
        ("PageRank", report["pagerank"]["duration_s"], "undirected, weighted, damping 0.85"),
    ]
    for name in ("louvain", "leiden"):
        r = report[name]
        rows.append(
            (name.capitalize(), r["duration_s"], f"{r['communities']:,} communities, modularity {r['modularity']:.3f}")
        )
    rows.append(("write back", report["write_s"], f"pagerank, community, leiden on {report['nodes']:,} entities"))
    rows.append(("analytics total", report["duration_s"] + report["write_s"], "export + algorithms + write back"))
    print("| step | seconds | notes |")
    print("|---|---:|---|")
    for step, seconds, notes in rows:
        print(f"| {step} | {seconds:.1f} | {notes} |")


if __name__ == "__main__":
    main()
