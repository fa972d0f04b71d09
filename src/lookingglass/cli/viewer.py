"""`lookingglass show`: what the evidence viewer shows about one stored object, for a terminal or a script."""

from __future__ import annotations

import json

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option


@click.command()
@click.argument("sha256")
@json_option
@pass_runtime
def show(runtime: Runtime, sha256: str, as_json: bool) -> int:
    """One stored object: where it came from, its faces (a video: when each is on screen), a page's entities."""
    with runtime.service() as service:
        view = service.view_object(sha256=sha256)
    if as_json:
        print(json.dumps(view.model_dump(mode="json")))
        return 0
    print(f"{view.kind}  {view.title or view.sha256}  ({view.size} bytes, {view.content_type})")
    for label, value in (("source", view.source_url), ("seen on", view.page_url), ("fetched", view.crawled_at)):
        if value:
            print(f"  {label}: {value}")
    for track in view.tracks:
        who = f"  [{track.person.name or track.person.id[:8]}]" if track.person else ""
        print(f"  face track {track.track_id}: on screen {track.start:.1f}-{track.end:.1f} s{who}")
    if not view.tracks and view.faces:
        print(f"  {len(view.faces)} face{'s' if len(view.faces) != 1 else ''}")
    if view.entities:
        print("  names: " + ", ".join(f"{e.name} ({e.type.lower()})" for e in view.entities))
    return 0


COMMANDS = [show]
