"""`lookingglass users | keys | audit`: manage who may use the server, and read what they did.

Through the `serve` that owns LG_DATA_DIR when one runs (its local token acts as admin), else on the account and
audit files directly, which are made for several processes (see private_sqlite), so these work beside anything.
Changes are audited by the service: actor `cli:<login name>` here, serve's local token through it. Nothing secret
is printed, except a new API key: alone on stdout, once. Password prompts stay here; the service gets the text.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from typing import TypeVar

import click
from pydantic import BaseModel, ValidationError

from lookingglass.cli import CONTEXT, Runtime, pass_runtime
from lookingglass.cli.output import json_option
from lookingglass.errors import BadInput
from lookingglass.services.admin import (
    AuditQuery,
    BlockFilter,
    NewKey,
    NewPassword,
    NewUser,
    RoleChange,
    UserChange,
)
from lookingglass.stores.private.accounts import ROLES, check_password
from lookingglass.stores.private.audit import MAX_PAGE, csv_chunks, json_chunks

M = TypeVar("M", bound=BaseModel)
role_option = click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True)
password_stdin = click.option(
    "--password-stdin", is_flag=True, help="read the password from the first line of stdin (no prompt)"
)


def _service(runtime: Runtime):
    from lookingglass.cli.service import open_service

    return open_service(runtime.settings, accounts_only=True)


def _request(model: type[M], **fields) -> M:
    """The request model, or a one-line BadInput (exit 2) naming the field that does not fit."""
    try:
        return model(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "request"
        raise BadInput(f"{where}: {error['msg']}") from None


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        check_password(password)
        if getpass.getpass("again: ") != password:
            raise BadInput("the passwords differ")
    check_password(password)
    return password


def _print_json(value) -> None:
    print(json.dumps(value))


# users


@click.group(context_settings=CONTEXT)
def users() -> None:
    """Add, list, remove, disable users (web sign-in), change their role, and see or forget sign-in waits."""


@users.command("add")
@click.argument("name")
@role_option
@password_stdin
@pass_runtime
def users_add(runtime: Runtime, name: str, role: str, password_stdin: bool) -> int:
    """Add a user (asks for the password twice, 12+ characters)."""
    request = _request(NewUser, username=name, password=_new_password(password_stdin), role=role)
    with _service(runtime) as service:
        user = service.add_user(request)
    print(f"added {user.role} {user.username}")
    return 0


@users.command("list")
@json_option
@pass_runtime
def users_list(runtime: Runtime, as_json: bool) -> int:
    """List users: name, role, when added, and whether disabled."""
    with _service(runtime) as service:
        found = service.list_users().users
    if as_json:
        _print_json([u.model_dump(mode="json") for u in found])
        return 0
    for user in found:
        state = "  disabled" if user.disabled else ""
        print(f"{user.username:<24} {user.role:<8} {datetime.fromisoformat(user.created_at):%Y-%m-%d %H:%M}{state}")
    return 0


@users.command("remove")
@click.argument("name")
@pass_runtime
def users_remove(runtime: Runtime, name: str) -> int:
    """Remove a user, revoke their keys and end their sessions (never the last admin)."""
    with _service(runtime) as service:
        user = service.remove_user(username=name)
    print(f"removed {user.username}; their keys are revoked and their sessions ended")
    return 0


@users.command("passwd")
@click.argument("name")
@password_stdin
@pass_runtime
def users_passwd(runtime: Runtime, name: str, password_stdin: bool) -> int:
    """Set a user's password (ends their sessions)."""
    request = _request(NewPassword, password=_new_password(password_stdin))
    with _service(runtime) as service:
        service.set_password(request, username=name)
    print(f"password of {name} changed; their sessions ended")
    return 0


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@pass_runtime
def users_role(runtime: Runtime, name: str, role: str) -> int:
    """Make a user an analyst or an admin (never demotes the last admin)."""
    with _service(runtime) as service:
        user = service.set_role(RoleChange(role=role), username=name)
    print(f"{user.username} is now an {user.role}")
    return 0


def _enable_command(verb: str, disabled: bool) -> click.Command:
    @click.command(verb, help=f"{verb.capitalize()} a user's sign-in, sessions and keys.")
    @click.argument("name")
    @pass_runtime
    def command(runtime: Runtime, name: str) -> int:
        with _service(runtime) as service:
            user = service.change_user(UserChange(disabled=disabled), username=name)
        print(f"{user.username} {'disabled' if user.disabled else 'enabled'}")
        return 0

    return command


users.add_command(_enable_command("disable", True))
users.add_command(_enable_command("enable", False))


@users.command("blocks")
@click.option("--clear", is_flag=True, help="forget the failed sign-ins (of --user, from --ip, or all)")
@click.option("--user", help="only this username")
@click.option("--ip", help="only this address")
@json_option
@pass_runtime
def users_blocks(runtime: Runtime, clear: bool, user: str | None, ip: str | None, as_json: bool) -> int:
    """Sign-in waits in force after failed sign-ins; --clear forgets them."""
    request = _request(BlockFilter, user=user, ip=ip)
    with _service(runtime) as service:
        if clear:
            cleared = service.clear_blocks(request).cleared
            print(json.dumps({"cleared": cleared}) if as_json else f"forgot {cleared} failed sign-ins")
            return 0
        found = service.list_blocks(request).blocks
    if as_json:
        _print_json([b.model_dump(mode="json") for b in found])
        return 0
    for block in found:
        who = " ".join(part for part in (block.username, block.ip) if part is not None)
        until = datetime.fromisoformat(block.until)
        print(f"{block.scope:<13} {who:<40} {block.failures:>5} failures  until {until:%Y-%m-%d %H:%M:%S}")
    return 0


# API keys


@click.group(context_settings=CONTEXT)
def keys() -> None:
    """Create, list, revoke API keys (Authorization: Bearer lg_...)."""


@keys.command("create")
@role_option
@click.option("--label", default="", help="what the key is for")
@click.option("--user", help="the user the key acts for (its role cannot exceed theirs)")
@pass_runtime
def keys_create(runtime: Runtime, role: str, label: str, user: str | None) -> int:
    """Create a key; prints only the key, which is shown this once."""
    request = _request(NewKey, role=role, label=label, user=user)
    with _service(runtime) as service:
        created = service.create_key(request)
    print(f"created {created.role} key {created.id}; it is shown only now", file=sys.stderr)
    print(created.key)
    return 0


@keys.command("list")
@json_option
@pass_runtime
def keys_list(runtime: Runtime, as_json: bool) -> int:
    """List keys (never their secrets)."""
    with _service(runtime) as service:
        found = service.list_keys().keys
    if as_json:
        _print_json([k.model_dump(mode="json") for k in found])
        return 0
    for key in found:
        used = f"used {datetime.fromisoformat(key.last_used_at):%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        state = f"revoked {datetime.fromisoformat(key.revoked_at):%Y-%m-%d}" if key.revoked_at else "active"
        print(f"{key.id}  {key.role:<8} {key.owner or '-':<16} {state:<18} {used:<22} {key.label}")
    return 0


@keys.command("revoke")
@click.argument("key_id", metavar="ID")
@pass_runtime
def keys_revoke(runtime: Runtime, key_id: str) -> int:
    """Revoke a key by its id."""
    with _service(runtime) as service:
        record = service.revoke_key(key_id=key_id)
    print(f"revoked key {record.id}")
    return 0


# the audit log


@click.group(context_settings=CONTEXT)
def audit() -> None:
    """The audit log of lookups, searches, uploads, forgets and sign-ins."""


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--since", help="ISO 8601 date or time (UTC unless it says otherwise)")
@click.option("--until", help="ISO 8601 date or time, exclusive")
@click.option("--actor", help="a username (matches their keys too) or key:<id>")
@click.option("--action", help="lookup, search, upload, forget, login, ...")
@pass_runtime
def audit_export(runtime: Runtime, fmt: str, since, until, actor, action) -> int:
    """Write the audit log to stdout, oldest first (read a page at a time: it can be longer than memory)."""
    query = _request(AuditQuery, since=since, until=until, actor=actor, action=action, order="oldest", limit=MAX_PAGE)
    with _service(runtime) as service:

        def entries():
            offset = 0
            while True:
                page = service.audit_entries(query.model_copy(update={"offset": offset})).entries
                yield from (entry.model_dump(mode="json") for entry in page)
                if len(page) < MAX_PAGE:
                    return
                offset += len(page)

        rows = entries()
        first = next(rows, None)  # a bad filter fails here, before anything is written
        chunks = (csv_chunks if fmt == "csv" else json_chunks)(_chain(first, rows))
        for chunk in chunks:
            sys.stdout.write(chunk)
    return 0


def _chain(first, rest):
    if first is not None:
        yield first
        yield from rest


@audit.command("verify")
@json_option
@pass_runtime
def audit_verify(runtime: Runtime, as_json: bool) -> int:
    """Check the hash chain; exit 1 naming the first broken entry."""
    with _service(runtime) as service:
        report = service.verify_audit()
    if as_json:
        _print_json(report.model_dump(mode="json"))
    elif report.ok:
        head = f"; head: entry {report.head_id} {report.head_hash}" if report.head_id else ""
        print(f"audit log intact: {report.entries} entries{head}")
    else:
        where = f"broken at entry {report.broken_at}" if report.broken_at is not None else "broken"
        print(f"audit log {where}: {report.problem}")
    return 0 if report.ok else 1


COMMANDS = [users, keys, audit]
