"""`lookingglass counts`: what is indexed, in numbers."""

from __future__ import annotations

import json

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option


@click.command()
@json_option
@pass_runtime
def counts(runtime: Runtime, as_json: bool) -> int:
    """How many faces, page passages, transcript segments, documents and entities are indexed."""
    with runtime.service() as service:
        body = service.index_counts().model_dump(mode="json")
    if as_json:
        print(json.dumps(body))
        return 0
    for name, value in body.items():
        print(f"{name:<10} {'-' if value is None else value}")
    return 0


COMMANDS = [counts]
