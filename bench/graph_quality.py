"""How right the entity graph is on a corpus with expectations: entity types, typed relations, shared people.

    python bench/graph_quality.py                                # tests/data/graph_corpus
    python bench/graph_quality.py --corpus path/to/corpus        # any folder of *.html + expected.json alike
    python bench/graph_quality.py --verbose                      # list every miss and every extra

The pages go the way a crawl sends them: extract, then store in a fresh SQLite graph (short organisation names
folded as the pipeline does, every page stored twice so that the order of pages does not matter), then the graph is
read back. Scores are read from the graph, not from one page's extraction, because a type is decided there from
every page's evidence:
- entity type accuracy: of the (name, type) pairs the pages list, how many the graph holds with that type (GPE and
  LOC both count as a place; a name the graph does not hold counts as wrong);
- typed relations: precision and recall of (page, type, source, target) over what the pages state, read from the
  relations the graph keeps with evidence on that page;
- organisations sharing people: precision and recall of the pairs `shared_people` reports against the corpus's
  `shared_people` list.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lookingglass.stores.graph import SqliteGraphStore  # noqa: E402
from lookingglass.stores.graph.aliases import with_long_forms  # noqa: E402
from lookingglass.stores.graph.port import PERSON_ORG  # noqa: E402
from lookingglass.text.entities import EntityRecognizer  # noqa: E402
from lookingglass.text.graph_extract import extract_page  # noqa: E402
from lookingglass.text.names import canonical_key  # noqa: E402

PLACE = {"GPE": "PLACE", "LOC": "PLACE"}


def _kind(type_: str) -> str:
    return PLACE.get(type_, type_)


def score(corpus: Path, verbose: bool = False) -> dict:
    expected = json.loads((corpus / "expected.json").read_text(encoding="utf-8"))
    pages: dict[str, dict] = expected["pages"]
    recognizer = EntityRecognizer()
    extractions = {
        name: extract_page(recognizer, (corpus / name).read_bytes(), doc_id=name, url=f"https://news.example/{name}")
        for name in pages
    }
    with tempfile.TemporaryDirectory() as tmp:
        graph = SqliteGraphStore(Path(tmp) / "graph.sqlite3")
        for _ in range(2):
            for x in extractions.values():
                graph.put(with_long_forms(graph, x)[0])
        entities = graph.entities(limit=1000, sort="name")
        by_key: dict[str, list[dict]] = {}
        full = {}
        for e in entities:
            full[e["id"]] = graph.entity(e["id"], relation_limit=1000, evidence_limit=1000)
            by_key.setdefault(full[e["id"]]["key"], []).append(e)
        shared = graph.shared_people(limit=1000)
        graph.close()

    kinds_of: dict[str, set[str]] = {k: {_kind(e["type"]) for e in v} for k, v in by_key.items()}

    def held(name: str, type_: str) -> str:
        """The graph's key for a listed name: the same key, else its one longer form (aliases.py folds it)."""
        key = canonical_key(name, type_)
        if key in kinds_of:
            return key
        longer = [k for k in kinds_of if k.startswith(key + " ") and _kind(type_) in kinds_of[k]]
        return longer[0] if len(longer) == 1 else key

    right = wrong = 0
    type_misses = []
    for name, page in pages.items():
        for entity_name, type_ in page["entities"]:
            found = [e for e in by_key.get(held(entity_name, type_), ()) if _kind(e["type"]) == _kind(type_)]
            if found:
                right += 1
            else:
                wrong += 1
                kept = [e["type"] for e in by_key.get(held(entity_name, type_), ())]
                type_misses.append((name, entity_name, type_, kept))

    got = set()
    for e in full.values():
        for r in e["relations"]:
            if r["type"] == "co_mentioned" or r["direction"] != "out":
                continue
            target_key = full[r["target"]["id"]]["key"] if r["target"]["id"] in full else r["target"]["name"]
            for ev in r["evidence"]:
                got.add((ev["document"], r["type"], e["key"], target_key))
    stated = set()
    for name, page in pages.items():
        types = dict((n, t) for n, t in page["entities"])
        for kind, source, target in page["relations"]:
            stated.add((name, kind, held(source, types[source]), held(target, types[target])))
    hits = got & stated

    # The pairs a reader finds: those the corpus lists, and any two organisations one person has a stated
    # person → organisation relation with (never an organisation and a short form of its own name).
    want_pairs = {frozenset(held(o, "ORG") for o in p["organisations"]) for p in expected.get("shared_people", [])}
    tied: dict[str, set[str]] = {}
    for _, kind, source, target in stated:
        if kind in PERSON_ORG:
            tied.setdefault(source, set()).add(target)
    for orgs in tied.values():
        want_pairs |= {frozenset((a, b)) for a in orgs for b in orgs if a < b}
    key_of = {e_id: e["key"] for e_id, e in full.items()}
    got_pairs = {frozenset((key_of.get(p["a"]["id"], ""), key_of.get(p["b"]["id"], ""))) for p in shared}
    result = {
        "pages": len(pages),
        "entity_type_accuracy": right / max(right + wrong, 1),
        "entities": right + wrong,
        "relation_precision": len(hits) / max(len(got), 1),
        "relation_recall": len(hits) / max(len(stated), 1),
        "relations_stated": len(stated),
        "relations_found": len(got),
        "shared_precision": len(got_pairs & want_pairs) / max(len(got_pairs), 1),
        "shared_recall": len(got_pairs & want_pairs) / max(len(want_pairs), 1),
        "shared_found": len(got_pairs),
        "shared_stated": len(want_pairs),
    }
    if verbose:
        for miss in type_misses:
            print("type  ", *miss)
        for item in sorted(stated - got):
            print("missed", *item)
        for item in sorted(got - stated):
            print("extra ", *item)
        for pair in got_pairs - want_pairs:
            print("pair  ", *sorted(pair))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "tests" / "data" / "graph_corpus")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    r = score(args.corpus, args.verbose)
    print(f"corpus {args.corpus.name}: {r['pages']} pages")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| entity type accuracy | {r['entity_type_accuracy']:.3f} ({r['entities']} listed) |")
    print(f"| typed relations: precision | {r['relation_precision']:.3f} ({r['relations_found']} found) |")
    print(f"| typed relations: recall | {r['relation_recall']:.3f} ({r['relations_stated']} stated) |")
    print(f"| organisations sharing people: precision | {r['shared_precision']:.3f} ({r['shared_found']} found) |")
    print(f"| organisations sharing people: recall | {r['shared_recall']:.3f} ({r['shared_stated']} stated) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
