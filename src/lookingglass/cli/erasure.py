"""`lookingglass forget-person | opt-outs`: erase a person after showing what goes; the opt-out list."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from lookingglass.cli import Runtime, pass_runtime
from lookingglass.cli.output import json_option, print_rows
from lookingglass.errors import BadInput
from lookingglass.services.erasure import MAX_NOTE, ForgetPersonRequest, OptOutsQuery, PersonPreviewRequest


def _bounded_note(_ctx: click.Context, _param: click.Parameter, note: str | None) -> str | None:
    if note is not None and len(note) > MAX_NOTE:
        raise click.BadParameter(f"at most {MAX_NOTE} characters, got {len(note)}")
    return note


@click.command("forget-person")
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--threshold",
    type=click.FloatRange(-1.0, 1.0),
    help="cosine similarity (default: the embedder's match threshold)",
)
@click.option("--face", type=click.IntRange(min=0), help="which face of the photo, when it shows several (0-based)")
@click.option("--opt-out", is_flag=True, help="never index this face again (checked at every ingest)")
@click.option("--note", callback=_bounded_note, help=f"with --opt-out: why (up to {MAX_NOTE} characters)")
@click.option("--yes", is_flag=True, help="do not ask")
@json_option
@pass_runtime
def forget_person(
    runtime: Runtime,
    photo: Path,
    threshold: float | None,
    face: int | None,
    opt_out: bool,
    note: str | None,
    yes: bool,
    as_json: bool,
) -> int:
    """Remove every indexed face of the person in PHOTO: shows what matches, asks, then removes exactly that.

    Exits 1 when you decline. `--opt-out` keeps the face out of every later ingest and crawl (see `opt-outs`)."""
    image = photo.read_bytes()
    with runtime.service() as service:
        preview = service.forget_person_preview(PersonPreviewRequest(threshold=threshold), image=image)
        faces = preview.faces
        index = face if face is not None else (0 if len(faces) == 1 else None)
        if index is None:
            raise BadInput(f"the photo shows {len(faces)} faces: choose one with --face 0-{len(faces) - 1}")
        if not 0 <= index < len(faces):
            raise BadInput(f"--face must be 0-{len(faces) - 1}")
        matches = faces[index].matches
        if not as_json or not yes:
            print(f"{len(matches)} indexed faces match (threshold {preview.threshold}):", file=sys.stderr)
            for m in matches:
                print(f"  {m.score:.3f}  {m.source_url or m.sha256}  {m.page_url or ''}", file=sys.stderr)
        if not matches and not opt_out:
            print(json.dumps({"removed": 0}) if as_json else "nothing to remove")
            return 0
        if not yes:
            answer = input("remove them" + (" and opt this face out" if opt_out else "") + "? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                print("nothing removed", file=sys.stderr)
                return 1
        request = ForgetPersonRequest(
            face_ids=[m.face_id for m in matches if m.face_id],
            face_index=index,
            threshold=threshold,
            opt_out=opt_out,
            note=note,
        )
        result = service.forget_person(request, image=image)
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        opted = "; the face is on the opt-out list" if result.opted_out else ""
        print(f"removed {result.removed} faces{opted}")
    return 0


@click.command("opt-outs")
@click.argument("action", type=click.Choice(["list", "remove"]), default="list")
@click.argument("optout_id", metavar="[ID]", required=False)
@json_option
@pass_runtime
def opt_outs(runtime: Runtime, action: str, optout_id: str | None, as_json: bool) -> int:
    """List the faces kept out of the index (when and why), or `remove ID` to withdraw one made by mistake."""
    if action == "list":
        with runtime.service() as service:
            listed = service.list_opt_outs(OptOutsQuery())
        return print_rows(
            listed,
            "opt_outs",
            as_json=as_json,
            empty="no opt-outs",
            line=lambda e: f"{e['id']}  {e['added_at'] or '-'}  {e['note']}",
        )
    if not optout_id:
        raise BadInput("opt-outs remove needs the opt-out's id (see `lookingglass opt-outs`)")
    with runtime.service() as service:
        withdrawn = service.withdraw_opt_out(optout_id=optout_id)
    print(
        json.dumps(withdrawn.model_dump(mode="json"))
        if as_json
        else f"withdrew opt-out {optout_id}: that face may be indexed again"
    )
    return 0


COMMANDS = [forget_person, opt_outs]
