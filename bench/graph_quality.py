"""Entity-graph quality on the evaluation corpora: entity types, typed relations, organisations sharing people.

    python bench/graph_quality.py                  # both corpora through the pipeline into SQLite
    python bench/graph_quality.py --bolt           # ... and into a Bolt server (ArcadeDB, started here)
    python bench/graph_quality.py --details        # every miss and false positive, on stderr

The corpora are tests/data/graph_corpus (16 pages, written alongside the extraction) and tests/data/graph_corpus2
(43 pages, written for issue 17 before anyone tuned to them); each has an expected.json saying what a reader finds on
every page. Each corpus is ingested as a user would (`ingest_file` on every page: main text, NER, relations, short
forms folded into long ones, the graph store), then read back through the graph port, and scored page by page:

- entity recall: expected entities found on their page under any type; type accuracy: of those, the share found
  under the expected type only (a place typed as an organisation on one mention and a place on another is wrong);
  entity precision: extracted entities that are expected on their page with that type (corpus 2 lists every entity
  by intent; corpus 1 does not, so its precision is a lower bound);
- relation precision / recall: typed relations (type, source, target) against the ones the page states; "any type"
  ignores the relation's type (a person tied to the right organisation as works_for where the page says
  partner_at) — the figure to read when the relation vocabularies differ;
- shared people precision / recall: `shared_people()` pairs against the pairs the expected relations imply (two
  organisations with a person tied to both by a person -> organisation relation on any page). A pair of one
  organisation under two spellings counts as a false pair.

Names match by identity, not by spelling: the canonical key, the page's other spellings, the corpus's `aliases`, and
an organisation's short form (a whole-word prefix of its key: "Halyard" and "Halyard Robotics") are one entity.
GPE and LOC both count as a place. A row "extraction" scores `extract_page` alone, without the store.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CORPORA = {"corpus 1": REPO / "tests" / "data" / "graph_corpus", "corpus 2": REPO / "tests" / "data" / "graph_corpus2"}

from lookingglass.text.names import canonical_key  # noqa: E402

PERSON_TO_ORG = (
    "works_for", "ceo_of", "founded", "member_of", "director_of", "chair_of", "adviser_to", "partner_at",
)  # fmt: skip
ENDS = {t: ("PERSON", "ORG") for t in PERSON_TO_ORG} | {"located_in": ("ORG", "PLACE"), "runs": ("ORG", "PROJECT")}
RELATION_TYPES = tuple(ENDS)
# The graph's names for relations the corpora spell differently: one relation, two vocabularies.
SAME_RELATION = {"advises": "adviser_to"}
QUALIFIERS = ("since", "until", "former")
CO_MENTIONED = "co_mentioned"
CLASSES = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "PLACE", "LOC": "PLACE", "PROJECT": "PROJECT"}
_KEY_TYPE = {"PERSON": "PERSON", "ORG": "ORG", "PLACE": "GPE", "PROJECT": "PROJECT"}  # how each class keys a name

Node = tuple[str, str]  # (class, canonical key)


def kind(type_: str) -> str:
    """PERSON, ORG, PLACE or PROJECT: GPE and LOC are one class (spaCy's split between them is not the point)."""
    return CLASSES.get(type_, type_)


def node(name: str, type_: str) -> Node:
    cls = kind(type_)
    return cls, canonical_key(name, _KEY_TYPE.get(cls, type_))


# ----------------------------------------------------------------------------------------------------
# The expectations


@dataclass(frozen=True)
class Expected:
    name: str
    type: str
    spellings: tuple[str, ...]  # the name and its other spellings on the page


@dataclass
class Corpus:
    directory: Path
    pages: dict[str, dict]  # file name -> the page's expectations, as in expected.json
    aliases: list[tuple[str, list[str]]] = field(default_factory=list)
    shared_people: list[dict] = field(default_factory=list)

    def entities(self, page: str) -> dict[str, Expected]:
        return {e.name: e for e in (expected_entity(item) for item in self.pages[page]["entities"])}


def expected_entity(item: list) -> Expected:
    name, type_, *rest = item
    return Expected(name, type_, (name, *(rest[0] if rest else ())))


def load_corpus(directory: Path) -> Corpus:
    data = json.loads((Path(directory) / "expected.json").read_text(encoding="utf-8"))
    return corpus_from(Path(directory), data)


def corpus_from(directory: Path, data: Mapping) -> Corpus:
    return Corpus(
        directory=directory,
        pages=dict(data["pages"]),
        aliases=[(t, list(names)) for t, names in data.get("aliases", [])],
        shared_people=list(data.get("shared_people", [])),
    )


class Identity:
    """Which spellings are one entity: union-find over (class, key), seeded from the expectations."""

    def __init__(self, corpus: Corpus) -> None:
        self.parent: dict[Node, Node] = {}
        for page in corpus.pages:
            for e in corpus.entities(page).values():
                self.union(*(node(s, e.type) for s in e.spellings))
        for type_, names in corpus.aliases:
            self.union(*(node(n, type_) for n in names))
        orgs = sorted(k for cls, k in self.parent if cls == "ORG")
        for short in orgs:  # "Halyard" is "Halyard Robotics"; the store pairs neither with the other either
            for long in orgs:
                if long.startswith(short + " "):
                    self.union(("ORG", short), ("ORG", long))

    def find(self, item: Node) -> Node:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, first: Node, *others: Node) -> None:
        root = self.find(first)
        for other in others:
            self.parent[self.find(other)] = root

    def of(self, name: str, type_: str) -> Node:
        return self.find(node(name, type_))


def expected_pairs(corpus: Corpus, identity: Identity | None = None) -> dict[frozenset[Node], set[Node]]:
    """Organisation pairs sharing people, as the expected relations imply them: {pair of orgs: people}."""
    identity = identity or Identity(corpus)
    orgs_of: dict[Node, set[Node]] = {}
    for page, expected in corpus.pages.items():
        entities = corpus.entities(page)
        for type_, source, target, *_ in expected["relations"]:
            if type_ in PERSON_TO_ORG:
                person = identity.of(source, entities[source].type)
                orgs_of.setdefault(person, set()).add(identity.of(target, entities[target].type))
    pairs: dict[frozenset[Node], set[Node]] = {}
    for person, orgs in orgs_of.items():
        for a in orgs:
            for b in orgs:
                if a < b:
                    pairs.setdefault(frozenset((a, b)), set()).add(person)
    return pairs


# ----------------------------------------------------------------------------------------------------
# What the extraction found, per page


@dataclass
class PageFacts:
    entities: set[tuple[str, str]] = field(default_factory=set)  # (type, key)
    relations: set[tuple[str, tuple[str, str], tuple[str, str]]] = field(default_factory=set)  # (type, end, end)


def facts_from_extraction(extraction) -> PageFacts:
    """One `Extraction`'s entities and typed relations."""
    ends = {e.id: (e.type, e.key) for e in extraction.entities}
    return PageFacts(
        entities=set(ends.values()),
        relations={
            (SAME_RELATION.get(r.type, r.type), ends[r.source], ends[r.target])
            for r in extraction.relations
            if r.type != CO_MENTIONED
        },
    )


def facts_from_store(reader, page_of: Mapping[str, str]) -> dict[str, PageFacts]:
    """Entities and typed relations per page, read back through the graph port (`page_of`: document id -> page)."""
    details: dict[str, dict] = {}
    while batch := reader.entities(sort="name", limit=1000, offset=len(details)):
        details |= {row["id"]: reader.entity(row["id"], relation_limit=1000, evidence_limit=1000) for row in batch}
    ends = {id_: (d["type"], d["key"]) for id_, d in details.items()}
    facts = {page: PageFacts() for page in page_of.values()}
    for id_, detail in details.items():
        for document in detail["documents"]:
            if document["id"] in page_of:
                facts[page_of[document["id"]]].entities.add(ends[id_])
        for relation in detail["relations"]:
            if relation["type"] == CO_MENTIONED or relation["direction"] != "out":
                continue
            for evidence in relation["evidence"]:
                if evidence["document"] in page_of:
                    facts[page_of[evidence["document"]]].relations.add(
                        (
                            SAME_RELATION.get(relation["type"], relation["type"]),
                            ends[id_],
                            ends[relation["target"]["id"]],
                        )
                    )
    return facts


# ----------------------------------------------------------------------------------------------------
# Scores


@dataclass
class Ratio:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value:.2f} ({self.hits}/{self.total})"


@dataclass
class Scores:
    entity_recall: Ratio = field(default_factory=Ratio)
    type_accuracy: Ratio = field(default_factory=Ratio)
    entity_precision: Ratio = field(default_factory=Ratio)
    relation_precision: Ratio = field(default_factory=Ratio)
    relation_recall: Ratio = field(default_factory=Ratio)
    any_type_precision: Ratio = field(default_factory=Ratio)
    any_type_recall: Ratio = field(default_factory=Ratio)
    shared_precision: Ratio = field(default_factory=Ratio)
    shared_recall: Ratio = field(default_factory=Ratio)
    problems: list[str] = field(default_factory=list)  # one line per miss or false positive, for --details


def score(corpus: Corpus, facts: Mapping[str, PageFacts], reported_pairs: Iterable[tuple[str, str]] | None) -> Scores:
    """Score what was found (`facts` per page; `reported_pairs`: organisation names as `shared_people` pairs them,
    None to leave shared people unscored) against the corpus's expectations."""
    identity = Identity(corpus)
    s = Scores()
    for page, expected in corpus.pages.items():
        found = facts.get(page, PageFacts())
        entities = corpus.entities(page)
        want = {identity.of(e.name, e.type): e for e in entities.values()}
        got = {(t, k): identity.find((kind(t), k)) for t, k in found.entities}

        for root, e in want.items():
            spelled = {node(sp, t) for sp in e.spellings for t in _KEY_TYPE.values()}  # its spellings, any type
            classes = {kind(t) for (t, k), r in got.items() if r == root or (kind(t), k) in spelled}
            s.entity_recall.total += 1
            if not classes:
                s.problems.append(f"{page}: entity not found: {e.name} ({e.type})")
                continue
            s.entity_recall.hits += 1
            s.type_accuracy.total += 1
            if classes == {kind(e.type)}:
                s.type_accuracy.hits += 1
            else:
                s.problems.append(f"{page}: {e.name} typed {sorted(classes)}, expected {kind(e.type)}")
        for (t, k), root in got.items():
            s.entity_precision.total += 1
            if root in want:
                s.entity_precision.hits += 1
            else:
                s.problems.append(f"{page}: unexpected entity {k!r} ({t})")

        stated = {
            (type_, identity.of(a, entities[a].type), identity.of(b, entities[b].type))
            for type_, a, b, *_ in expected["relations"]
        }
        read = {
            (t, identity.find((kind(a[0]), a[1])), identity.find((kind(b[0]), b[1]))) for t, a, b in found.relations
        }
        s.relation_recall.total += len(stated)
        s.relation_recall.hits += len(stated & read)
        s.relation_precision.total += len(read)
        s.relation_precision.hits += len(read & stated)
        s.problems += [f"{page}: relation missed: {_relation(r)}" for r in sorted(stated - read)]
        s.problems += [f"{page}: relation not stated: {_relation(r)}" for r in sorted(read - stated)]
        stated_pairs = {(a, b) for _, a, b in stated}
        read_pairs = {(a, b) for _, a, b in read}
        s.any_type_recall.total += len(stated_pairs)
        s.any_type_recall.hits += len(stated_pairs & read_pairs)
        s.any_type_precision.total += len(read_pairs)
        s.any_type_precision.hits += len(read_pairs & stated_pairs)

    if reported_pairs is not None:
        truth = expected_pairs(corpus, identity)
        mapped: set[frozenset[Node]] = set()
        for a, b in reported_pairs:
            ra, rb = identity.of(a, "ORG"), identity.of(b, "ORG")
            if ra == rb:
                s.shared_precision.total += 1
                s.problems.append(f"shared people: one organisation under two names: {a} / {b}")
            else:
                mapped.add(frozenset((ra, rb)))
        s.shared_precision.total += len(mapped)
        s.shared_precision.hits += len(mapped & truth.keys())
        s.shared_recall.total = len(truth)
        s.shared_recall.hits = len(mapped & truth.keys())
        s.problems += [f"shared people: false pair {_pair(p)}" for p in sorted(mapped - truth.keys(), key=_pair)]
        s.problems += [f"shared people: missed pair {_pair(p)}" for p in sorted(truth.keys() - mapped, key=_pair)]
    return s


def _relation(r: tuple[str, Node, Node]) -> str:
    return f"{r[0]} {r[1][1]} -> {r[2][1]}"


def _pair(p: frozenset[Node]) -> str:
    return " + ".join(sorted(k for _, k in p))


# ----------------------------------------------------------------------------------------------------
# Running a corpus


def page_files(corpus: Corpus) -> dict[str, Path]:
    return {name: corpus.directory / name for name in corpus.pages}


def through_pipeline(corpus: Corpus, settings) -> tuple[dict[str, PageFacts], list[tuple[str, str]], dict]:
    """Ingest every page as `lookingglass ingest` does, read the graph back: (facts per page, shared pairs, stats)."""
    from lookingglass.app import build
    from lookingglass.pipeline.submit import ingest_file

    app = build(settings)
    try:
        page_of = {}
        for name, path in page_files(corpus).items():
            page_of[hashlib.sha256(path.read_bytes()).hexdigest()] = name
            ingest_file(app, path)
        app.queue.drain()
        facts = facts_from_store(app.graph, page_of)
        pairs = [(p["a"]["name"], p["b"]["name"]) for p in app.graph.shared_people(limit=1000)]
        stats = app.graph.stats()
        for document in page_of:  # a Bolt server outlives this run: leave it empty for the next corpus
            app.graph.forget(document)
        return facts, pairs, stats
    finally:
        app.close()


def through_extraction(corpus: Corpus, recognizer) -> dict[str, PageFacts]:
    from lookingglass.text.graph_extract import extract_page

    return {
        name: facts_from_extraction(
            extract_page(recognizer, path.read_bytes(), doc_id=name, url=f"https://news.example/{name}")
        )
        for name, path in page_files(corpus).items()
    }


COLUMNS = [
    ("entity recall", "entity_recall"),
    ("type accuracy", "type_accuracy"),
    ("entity precision", "entity_precision"),
    ("relation P", "relation_precision"),
    ("relation R", "relation_recall"),
    ("any-type P", "any_type_precision"),
    ("any-type R", "any_type_recall"),
    ("shared people P", "shared_precision"),
    ("shared people R", "shared_recall"),
]


def table_row(corpus: str, path: str, scores: Scores) -> str:
    return f"| {corpus} | {path} | " + " | ".join(str(getattr(scores, a)) for _, a in COLUMNS) + " |"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bolt", action="store_true", help="also through a Bolt server (ArcadeDB, started here)")
    parser.add_argument("--details", action="store_true", help="print every miss and false positive on stderr")
    parser.add_argument("--corpus", choices=sorted(CORPORA), action="append", help="only this corpus (repeatable)")
    args = parser.parse_args(argv)

    from lookingglass.settings import Settings
    from lookingglass.text.entities import EntityRecognizer

    corpora = {name: load_corpus(CORPORA[name]) for name in (args.corpus or CORPORA)}
    recognizer = EntityRecognizer()
    recognizer.load()
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lg-graph-quality-") as tmp:
        server = None
        if args.bolt:
            sys.path.insert(0, str(REPO / "tests"))
            from arcadedb_server import ArcadeDBServer

            progress("starting ArcadeDB (Bolt) ...")
            server = ArcadeDBServer(Path(tmp) / "arcadedb").start()
        try:
            for name, corpus in corpora.items():
                started = time.perf_counter()
                results = [("extraction", score(corpus, through_extraction(corpus, recognizer), None))]
                stores = [("SQLite", Settings(data_dir=Path(tmp) / f"{name}-sqlite"))]
                if server is not None:
                    stores.append(
                        (
                            "Bolt (ArcadeDB)",
                            Settings(
                                data_dir=Path(tmp) / f"{name}-bolt",
                                neo4j_uri=server.uri,
                                neo4j_auth=server.auth,
                                neo4j_database=server.database,
                            ),
                        )
                    )
                for label, settings in stores:
                    facts, pairs, _ = through_pipeline(corpus, settings)
                    results.append((label, score(corpus, facts, pairs)))
                progress(f"{name}: {len(corpus.pages)} pages scored in {time.perf_counter() - started:.1f} s")
                for label, scores in results:
                    rows.append(table_row(f"{name} ({len(corpus.pages)} pages)", label, scores))
                    if args.details:
                        progress(f"\n## {name}, {label}")
                        for line in scores.problems:
                            progress(f"  {line}")
        finally:
            if server is not None:
                server.stop()
    print("| corpus | path | " + " | ".join(c for c, _ in COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
