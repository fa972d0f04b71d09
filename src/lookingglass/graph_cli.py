"""`lookingglass entities | entity | shared-people | analytics`: the entity graph from the command line.

Through `serve` when it owns the data dir (the same JSON as the API), else on the stores opened here
(`client.ask`). Imports happen inside the commands: parsing any command line builds these parsers.
"""

from __future__ import annotations

import json

from lookingglass.cli.output import print_rows
from lookingglass.settings import Settings


def cmd_entities(args, settings: Settings) -> int:
    from lookingglass.client import ask
    from lookingglass.graph_queries import list_entities

    params = {"q": args.query, "type": args.type, "sort": args.sort, "limit": args.limit}
    body = ask(
        settings,
        lambda server: server.get("/entities", {k: v for k, v in params.items() if v is not None}),
        lambda app: list_entities(app, args.query, args.type, args.sort, args.limit),
    )

    def line(e: dict) -> str:
        rank = f"{e['pagerank']:.4f}" if e.get("pagerank") is not None else "  -   "
        community = e.get("community") if e.get("community") is not None else "-"
        return f"{rank}  {e['type']:<8} {e['name']:<40} mentions {e['mentions']:<4} community {community}  {e['id']}"

    return print_rows(body, "entities", as_json=args.json, empty="no entities", line=line)


def cmd_entity(args, settings: Settings) -> int:
    from lookingglass.client import ask
    from lookingglass.graph_queries import entity_detail

    body = ask(settings, lambda server: server.get(f"/entities/{args.id}"), lambda app: entity_detail(app, args.id))
    if args.json:
        print(json.dumps(body))
        return 0
    print(f"{body['name']} ({body['type']}), community {body.get('community')}, pagerank {body.get('pagerank')}")
    for r in body.get("relations", []):
        arrow = "->" if r.get("direction", "out") == "out" else "<-"
        print(f"  {r['type']:<13} {arrow} {r['target']['name']} ({r['target']['type']}), weight {r.get('weight')}")
        for ev in r.get("evidence", [])[:2]:
            print(f"      \u201c{ev['text']}\u201d  {ev.get('url') or ev['document'][:12]}")
    for shared in body.get("shared_people", []):
        print(f"  shares people with {shared['organisation']['name']}: {', '.join(shared['people'])}")
    for d in body.get("documents", []):
        print(f"  seen in: {d.get('title') or ''} {d.get('url') or d['id']}")
    return 0


def cmd_shared_people(args, settings: Settings) -> int:
    from lookingglass.client import ask
    from lookingglass.graph_queries import shared_people

    body = ask(
        settings,
        lambda server: server.get("/graph/shared-people", {"limit": args.limit}),
        lambda app: shared_people(app, args.limit),
    )
    return print_rows(
        body,
        "pairs",
        as_json=args.json,
        empty="no organisations share people yet",
        line=lambda p: f"{p['a']['name']} \u2194 {p['b']['name']}: {', '.join(p['people'])}",
    )


def cmd_analytics(args, settings: Settings) -> int:
    """PageRank, Louvain, Leiden and organisations sharing people now; the report says how long each took."""
    from lookingglass.client import ask

    def local(app) -> dict:
        from lookingglass.analytics import run_analytics

        return run_analytics(app.graph)

    body = ask(settings, lambda server: server.post("/graph/analytics"), local)
    if args.json:
        print(json.dumps(body))
        return 0
    if "job" in body:
        print(f"analytics queued for the workers (job {body['job']})")
        return 0
    parts = [f"{body.get('nodes', 0)} entities, {body.get('edges', 0)} relations"]
    for name in ("pagerank", "louvain", "leiden"):
        if isinstance(body.get(name), dict):
            r = body[name]
            extra = f", {r['communities']} communities, modularity {r['modularity']:.3f}" if "communities" in r else ""
            parts.append(f"{name} {r['duration_s']:.2f} s{extra}")
    if isinstance(body.get("shared_people"), dict):
        parts.append(f"{body['shared_people']['organisations']} organisations share people")
    print(f"analytics ({body.get('backend')}): " + "; ".join(parts))
    return 0


# The graph's entity types and sort orders (text/entities.py TYPES, stores/graph.py SORTS), spelled out so that
# parsing a command line does not import the stores; a test keeps them equal.
TYPES = ("PERSON", "ORG", "GPE", "LOC", "PROJECT")
SORTS = ("pagerank", "mentions", "name")


def add_parsers(sub) -> None:
    p = sub.add_parser("entities", help="people, organisations, places and projects found in pages and transcripts")
    p.add_argument("query", nargs="?", help="part of a name")
    p.add_argument("--type", choices=TYPES, type=str.upper)
    p.add_argument("--sort", choices=SORTS, default="pagerank")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_entities)

    p = sub.add_parser("entity", help="one entity: its relations with evidence, documents and community")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_entity)

    p = sub.add_parser("shared-people", help="organisations that share people (persons linked to both)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_shared_people)

    p = sub.add_parser("analytics", help="PageRank, Louvain and Leiden communities over the entity graph, now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_analytics)
