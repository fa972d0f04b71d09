"""How commands print: the record as the API gives it (`--json`), or one line per row for people."""

from __future__ import annotations

import json
from collections.abc import Callable

import click
from pydantic import BaseModel

json_option = click.option("--json", "as_json", is_flag=True, help="print the answer as JSON (the API's shape)")


def print_rows(body: dict | BaseModel, key: str, *, as_json: bool, empty: str, line: Callable[[dict], str]) -> int:
    """Print `body` as JSON, or `line(row)` for each row of `body[key]` (`empty` when there is none); exit code 0."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    if as_json:
        print(json.dumps(body))
        return 0
    if not body[key]:
        print(empty)
    for row in body[key]:
        print(line(row))
    return 0
