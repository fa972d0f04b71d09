"""`lookingglass entities [list] | entities candidates | entities merge | entities reject | entity | shared-people |
analytics`: the entity graph from the command line."""

from __future__ import annotations

import json

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option, print_rows
from lookingglass.services.graph import (
    CandidatesQuery,
    EntityMergeRequest,
    EntityQuery,
    NeighbourhoodQuery,
    RejectMergeRequest,
    SharedPeopleQuery,
)
from lookingglass.stores.graph import MAX_LIMIT, SORTS
from lookingglass.stores.graph.neighbourhood import MAX_HOPS, NEIGHBOURHOOD_LIMIT
from lookingglass.text.entities import TYPES

limit_option = click.option(
    "--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True, help="rows to show at most"
)


def _as_found(model) -> dict:
    """The record with the keys it was given (as the API answers it): no nulls for what does not apply."""
    return model.model_dump(mode="json", exclude_unset=True)


class _ListByDefault(click.Group):
    """`entities Lindqvist --type PERSON` is `entities list Lindqvist --type PERSON`: a first word that is not a
    subcommand (or none, or --help) lists, as `entities` always did."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ListByDefault)
def entities() -> None:
    """People, organisations, places and projects found in pages and transcripts; `entities QUERY` lists them,
    `candidates`, `merge` and `reject` handle duplicates."""


@entities.command("list")
@click.argument("query", required=False)
@click.option("--type", "type_", type=click.Choice(TYPES, case_sensitive=False), help="only entities of this type")
@click.option("--sort", type=click.Choice(SORTS), default="pagerank", show_default=True, help="order of the list")
@limit_option
@json_option
@pass_runtime
def list_entities(runtime: Runtime, query: str | None, type_: str | None, sort: str, limit: int, as_json: bool) -> int:
    """People, organisations, places and projects found in pages and transcripts (QUERY: part of a name).

    Duplicates: `entities candidates [ID]`, `entities merge SOURCE TARGET`, `entities reject A B` (see their --help).
    """
    request = EntityQuery(q=query, type=type_.upper() if type_ else None, sort=sort, limit=limit)
    with runtime.service() as service:
        found = service.list_entities(request)

    def line(e: dict) -> str:
        rank = f"{e['pagerank']:.4f}" if e.get("pagerank") is not None else "  -   "
        community = e.get("community") if e.get("community") is not None else "-"
        return f"{rank}  {e['type']:<8} {e['name']:<40} mentions {e['mentions']:<4} community {community}  {e['id']}"

    return print_rows(found, "entities", as_json=as_json, empty="no entities", line=line)


@click.command()
@click.argument("entity_id", metavar="ID")
@json_option
@pass_runtime
def entity(runtime: Runtime, entity_id: str, as_json: bool) -> int:
    """One entity: its relations with evidence, documents and community (ID from `lookingglass entities`)."""
    with runtime.service() as service:
        body = _as_found(service.entity_detail(entity_id=entity_id))
    if as_json:
        print(json.dumps(body))
        return 0
    print(f"{body['name']} ({body['type']}), community {body.get('community')}, pagerank {body.get('pagerank')}")
    for r in body.get("relations", []):
        arrow = "->" if r.get("direction", "out") == "out" else "<-"
        when = f" ({r['time']})" if r.get("time") else ""
        print(
            f"  {r['type']:<13} {arrow} {r['target']['name']} ({r['target']['type']}){when}, weight {r.get('weight')}"
        )
        for ev in r.get("evidence", [])[:2]:
            print(f"      \u201c{ev['text']}\u201d  {ev.get('url') or ev['document'][:12]}")
    for shared in body.get("shared_people", []):
        print(f"  shares people with {shared['organisation']['name']}: {', '.join(shared['people'])}")
        for tie in shared.get("ties", []):
            print(f"      {tie['person']['name']}: {tie['a']['type']} here, {tie['b']['type']} there")
    for d in body.get("documents", []):
        print(f"  seen in: {d.get('title') or ''} {d.get('url') or d['id']}")
    return 0


@click.command()
@click.argument("entity_id", metavar="ID")
@click.option("--hops", type=click.IntRange(1, MAX_HOPS), default=1, show_default=True, help="relations out")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=NEIGHBOURHOOD_LIMIT,
    show_default=True,
    help="entities at most",
)
@json_option
@pass_runtime
def neighbourhood(runtime: Runtime, entity_id: str, hops: int, limit: int, as_json: bool) -> int:
    """An entity and the entities tied to it, one or two relations out (what the entity page draws)."""
    with runtime.service() as service:
        found = service.entity_neighbourhood(NeighbourhoodQuery(hops=hops, limit=limit), entity_id=entity_id)
    body = found.model_dump(mode="json")
    if as_json:
        print(json.dumps(body))
        return 0
    names = {n["id"]: n["name"] for n in body["nodes"]}
    for n in body["nodes"]:
        print(f"{n['hops']}  {n['type']:<8} {n['name']:<40} {n['id']}")
    for e in body["edges"]:
        print(f"   {names[e['source']]} -{e['type']}-> {names[e['target']]}, weight {e['weight']:g}")
    if body["truncated"]:
        print(f"(more entities are tied to it than --limit {limit} shows)")
    return 0


@click.command("shared-people")
@limit_option
@json_option
@pass_runtime
def shared_people(runtime: Runtime, limit: int, as_json: bool) -> int:
    """Organisations that share people (persons tied to both by a typed relation), most shared first."""
    with runtime.service() as service:
        pairs = service.shared_people(SharedPeopleQuery(limit=limit))
    return print_rows(
        pairs,
        "pairs",
        as_json=as_json,
        empty="no organisations share people yet",
        line=lambda p: f"{p['a']['name']} \u2194 {p['b']['name']}: {', '.join(p['people'])}",
    )


@click.command()
@json_option
@pass_runtime
def analytics(runtime: Runtime, as_json: bool) -> int:
    """PageRank, Louvain and Leiden communities over the entity graph, now; the report says how long each took."""
    with runtime.service() as service:
        body = _as_found(service.run_graph_analytics())
    if as_json:
        print(json.dumps(body))
        return 0
    if "job" in body:
        print(f"analytics queued for the workers (job {body['job']})")
        return 0
    parts = [f"{body.get('nodes', 0)} entities, {body.get('relations', body.get('edges', 0))} relations"]
    for name in ("pagerank", "louvain", "leiden"):
        if isinstance(body.get(name), dict):
            r = body[name]
            extra = ""
            if "communities" in r:
                modularity = f"{r['modularity']:.3f}" if r.get("modularity") is not None else "-"
                extra = f", {r['communities']} communities, modularity {modularity}"
            parts.append(f"{name} {r['duration_s']:.2f} s{extra}")
    if isinstance(body.get("shared_people"), dict):
        parts.append(f"{body['shared_people']['organisations']} organisations share people")
    print(f"analytics ({body.get('backend')}): " + "; ".join(parts))
    return 0


def _candidate_line(c: dict) -> str:
    return (
        f"{c['type']:<7} {c['a']['name']} \u2190 {c['b']['name']}  ({'; '.join(c['reasons'])})"
        f"  merge: lookingglass entities merge {c['b']['id']} {c['a']['id']}"
    )


@entities.command("candidates")
@click.argument("entity_id", metavar="[ID]", required=False)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, show_default=True, help="pairs at most")
@json_option
@pass_runtime
def candidates(runtime: Runtime, entity_id: str | None, limit: int, as_json: bool) -> int:
    """Entities that are probably one name written differently (for one entity ID, or across the graph)."""
    with runtime.service() as service:
        if entity_id:
            found = service.entity_merge_candidates(entity_id=entity_id)
        else:
            found = service.merge_candidates(CandidatesQuery(limit=limit))
    return print_rows(found, "candidates", as_json=as_json, empty="no merge candidates", line=_candidate_line)


@entities.command("merge")
@click.argument("source", metavar="SOURCE")
@click.argument("target", metavar="TARGET")
@json_option
@pass_runtime
def merge(runtime: Runtime, source: str, target: str, as_json: bool) -> int:
    """Merge entity SOURCE into TARGET (admin, audited): its mentions and relations move, and pages processed again
    keep pointing at TARGET."""
    with runtime.service() as service:
        report = service.merge_entities(EntityMergeRequest(source=source, target=target))
    body = report.model_dump(mode="json")
    if as_json:
        print(json.dumps(body))
    else:
        print(f"merged {source} into {target}: {body['mentions']} mentions, {body['relations']} relations moved")
    return 0


@entities.command("reject")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@json_option
@pass_runtime
def reject(runtime: Runtime, a: str, b: str, as_json: bool) -> int:
    """Entities A and B are different: never propose them as a merge again (admin, audited)."""
    with runtime.service() as service:
        body = service.reject_merge_candidate(RejectMergeRequest(a=a, b=b)).model_dump(mode="json")
    print(json.dumps(body) if as_json else f"{a} and {b} will not be proposed again")
    return 0


COMMANDS = [entities, entity, neighbourhood, shared_people, analytics]
