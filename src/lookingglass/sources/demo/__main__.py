"""`python -m lookingglass.sources.demo fetch DIR` builds the demo set; `... ingest DIR` builds it (if needed) and
ingests it into LG_DATA_DIR (what `make run` does)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from lookingglass.sources import demo


@click.group()
def main() -> None:
    """The demo set: photos of several people, a video with speech, pages for the entity graph."""


@main.command()
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
def fetch(root: Path) -> None:
    """Build the demo set under ROOT (cached: a second run fetches nothing)."""
    built = demo.fetch(root)
    for path in built.files():
        print(path)
    for note in built.notes or []:
        print(f"note: {note}", file=sys.stderr)


@main.command()
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def ingest(root: Path, as_json: bool) -> None:
    """Build the demo set under ROOT if needed and ingest it into LG_DATA_DIR (then analytics and people)."""
    from lookingglass.settings import Settings

    built = demo.fetch(root)
    for note in built.notes or []:
        print(f"note: {note}", file=sys.stderr)
    report = demo.ingest(built, Settings.from_env())
    if as_json:
        print(json.dumps(report))
    else:
        print(
            f"demo: {report['files']} files indexed now ({report['already_indexed']} already were), "
            f"{report['faces']} faces found, {report['people'].get('persons')} persons, "
            f"{report['shared_people']} organisation pairs sharing people, {len(report['errors'])} errors"
        )
    for error in report["errors"]:
        print(f"error: {error}", file=sys.stderr)
    sys.exit(1 if report["errors"] else 0)


if __name__ == "__main__":
    main()
