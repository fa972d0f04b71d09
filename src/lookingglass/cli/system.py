"""Commands about the installation itself: its configuration."""

from __future__ import annotations

import json

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option


@click.command()
@json_option
@pass_runtime
def config(runtime: Runtime, as_json: bool) -> int:
    """Print the effective configuration (environment + defaults), secrets masked."""
    rows = runtime.settings.effective()
    if as_json:
        print(json.dumps({variable: value for variable, value, _ in rows}, indent=2))
        return 0
    width = max(len(variable) for variable, _, _ in rows)
    for variable, value, _ in rows:
        print(f"{variable:<{width}}  {value}")
    return 0


COMMANDS = [config]
