"""`lookingglass people [list] | show | cluster | name | merge | split | hide`: persons from the command line."""

from __future__ import annotations

import json

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option, print_rows
from lookingglass.services.people import ClusterRequest, MergeRequest, NameRequest, PersonQuery, SplitRequest


def _line(p: dict) -> str:
    return f"{p['faces']:>5} faces {p['objects']:>4} objects  {p['name'] or '(unnamed)':<30} {p['id']}"


@click.group(invoke_without_command=True)
@click.pass_context
def people(ctx: click.Context) -> None:
    """Faces grouped into persons (`people` alone lists them)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@people.command("list")
@click.option("--show", type=click.Choice(["visible", "named", "unnamed", "hidden"]), default="visible")
@click.option("--name", "q", help="part of a name")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@pass_runtime
def list_(runtime: Runtime, show: str = "visible", q: str | None = None, limit: int = 100, as_json: bool = False):
    """Persons, most faces first."""
    with runtime.service() as service:
        found = service.list_people(PersonQuery(show=show, q=q, limit=limit))
    return print_rows(found, "people", as_json=as_json, empty="no persons", line=_line)


@people.command()
@click.argument("person_id", metavar="ID")
@json_option
@pass_runtime
def show(runtime: Runtime, person_id: str, as_json: bool) -> int:
    """One person and every face they hold."""
    with runtime.service() as service:
        body = service.person_detail(person_id=person_id).model_dump(mode="json")
    if as_json:
        print(json.dumps(body))
        return 0
    print(f"{body['name'] or '(unnamed)'}  {body['id']}{'  (hidden)' if body['hidden'] else ''}")
    for f in body["faces"]:
        when = f" at {f['timestamp']} s" if f["timestamp"] is not None else ""
        print(f"  {f['kind']:<6} {f['sha256'][:12]}{when}  {f['source_url'] or ''}  face {f['face_id']}")
    return 0


def _print_one(body, as_json: bool) -> int:
    body = body.model_dump(mode="json")
    print(json.dumps(body) if as_json else _line(body))
    return 0


@people.command()
@click.option("--full", is_flag=True, help="every face again (else: retry the faces still waiting)")
@json_option
@pass_runtime
def cluster(runtime: Runtime, full: bool, as_json: bool) -> int:
    """Group faces into persons now."""
    with runtime.service() as service:
        body = service.cluster_people(ClusterRequest(full=full)).model_dump(mode="json")
    print(json.dumps(body) if as_json else ", ".join(f"{k} {v}" for k, v in body.items() if v is not None))
    return 0


@people.command()
@click.argument("person_id", metavar="ID")
@click.argument("name")
@json_option
@pass_runtime
def name(runtime: Runtime, person_id: str, name: str, as_json: bool) -> int:
    """Confirm a person's NAME."""
    with runtime.service() as service:
        return _print_one(service.name_person(NameRequest(name=name), person_id=person_id), as_json)


@people.command()
@click.argument("person_id", metavar="ID")
@click.argument("others", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_runtime
def merge(runtime: Runtime, person_id: str, others: tuple[str, ...], as_json: bool) -> int:
    """Move the faces of the other persons into the first."""
    with runtime.service() as service:
        return _print_one(service.merge_people(MergeRequest(others=list(others)), person_id=person_id), as_json)


@people.command()
@click.argument("person_id", metavar="ID")
@click.argument("face_ids", metavar="FACE_ID...", nargs=-1, required=True)
@json_option
@pass_runtime
def split(runtime: Runtime, person_id: str, face_ids: tuple[str, ...], as_json: bool) -> int:
    """Move these faces out into a new person (printed)."""
    with runtime.service() as service:
        return _print_one(service.split_person(SplitRequest(face_ids=list(face_ids)), person_id=person_id), as_json)


@people.command()
@click.argument("person_id", metavar="ID")
@json_option
@pass_runtime
def hide(runtime: Runtime, person_id: str, as_json: bool) -> int:
    """Hide a person from the default list."""
    with runtime.service() as service:
        return _print_one(service.hide_person(person_id=person_id), as_json)


COMMANDS = [people]
