"""`lookingglass search`: what was said in videos and audio, and the text of pages."""

from __future__ import annotations

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option, print_rows
from lookingglass.services.search import SearchQuery


@click.command()
@click.argument("query")
@click.option("--kind", type=click.Choice(["transcript", "page"]), help="only transcripts, or only pages")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="most hits to show")
@json_option
@pass_runtime
def search(runtime: Runtime, query: str, kind: str | None, limit: int, as_json: bool) -> int:
    """Search what was said in videos (and page text): words, or "a phrase" in double quotes."""
    with runtime.service() as service:
        result = service.search_text(SearchQuery(q=query, kind=kind, limit=limit, format="text"))

    def line(hit: dict) -> str:
        where = hit["source_url"] or hit["sha256"][:12]
        if hit.get("start") is not None:
            where += f" @ {hit['start']:.1f}-{hit['end']:.1f} s"
        return f"{hit['score']:.2f}  {where}\n      {hit['snippet']}"

    if result.ignored and not as_json:
        click.echo(f"ignored as too common to search for: {', '.join(result.ignored)}", err=True)
    return print_rows(result, "hits", as_json=as_json, empty="no matches", line=line)


COMMANDS = [search]
