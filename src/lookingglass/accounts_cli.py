"""`lookingglass users | keys | audit`: manage who may use the server, and read what they did.

These open LG_DATA_DIR's accounts and audit files directly, so they work whether or not `serve` runs (the files
are made for several processes; see private_sqlite). Changes are audited with the actor `cli:<login name>`.
Nothing secret is printed, except a new API key: alone on stdout, once.
"""

from __future__ import annotations

import getpass
import json
import sys

from lookingglass.accounts import ROLES, AccountStore, User, check_password
from lookingglass.audit import AuditLog, record_command
from lookingglass.errors import BadInput
from lookingglass.settings import Settings


def add_parsers(sub) -> None:
    users = sub.add_parser("users", help="add, list, remove, disable users (web sign-in)")
    commands = users.add_subparsers(dest="users_command", required=True)
    p = commands.add_parser("add", help="add a user (asks for the password twice)")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, default="analyst")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.set_defaults(func=cmd_users_add)
    p = commands.add_parser("list", help="list users")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_list)
    p = commands.add_parser("remove", help="remove a user, revoke their keys and end their sessions")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_remove)
    p = commands.add_parser("passwd", help="set a user's password (ends their sessions)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.set_defaults(func=cmd_users_passwd)
    for verb, disabled in (("disable", True), ("enable", False)):
        p = commands.add_parser(verb, help=f"{verb} a user's sign-in, sessions and keys")
        p.add_argument("name")
        p.set_defaults(func=cmd_users_disable, disabled=disabled)
    p = commands.add_parser("blocks", help="sign-in waits in force after failed sign-ins; --clear forgets them")
    p.add_argument("--clear", action="store_true", help="forget the failed sign-ins (of --user, from --ip, or all)")
    p.add_argument("--user", help="only this username")
    p.add_argument("--ip", help="only this address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_users_blocks)

    keys = sub.add_parser("keys", help="create, list, revoke API keys (Authorization: Bearer lg_...)")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    p = commands.add_parser("create", help="create a key; prints only the key, which is shown this once")
    p.add_argument("--role", choices=ROLES, default="analyst")
    p.add_argument("--label", default="", help="what the key is for")
    p.add_argument("--user", help="the user the key acts for (its role cannot exceed theirs)")
    p.set_defaults(func=cmd_keys_create)
    p = commands.add_parser("list", help="list keys (never their secrets)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_list)
    p = commands.add_parser("revoke", help="revoke a key by its id")
    p.add_argument("id")
    p.set_defaults(func=cmd_keys_revoke)

    audit = sub.add_parser("audit", help="the audit log of lookups, searches, uploads, forgets and sign-ins")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    p = commands.add_parser("export", help="write the audit log to stdout, oldest first")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--since", help="ISO 8601 date or time (UTC unless it says otherwise)")
    p.add_argument("--until", help="ISO 8601 date or time, exclusive")
    p.add_argument("--actor", help="a username (matches their keys too) or key:<id>")
    p.add_argument("--action", help="lookup, search, upload, forget, login, ...")
    p.set_defaults(func=cmd_audit_export)
    p = commands.add_parser("verify", help="check the hash chain; exit 1 naming the first broken entry")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_verify)


def cmd_users_add(args, settings: Settings) -> int:
    password = _new_password(args.password_stdin)
    user = _accounts(settings).add_user(args.name, password, args.role)
    _record(settings, "user_added", user.username)
    print(f"added {user.role} {user.username}")
    return 0


def cmd_users_list(args, settings: Settings) -> int:
    users = _accounts(settings).users()
    if args.json:
        print(json.dumps([u.as_json() for u in users]))
        return 0
    for user in users:
        state = "  disabled" if user.disabled else ""
        print(f"{user.username:<24} {user.role:<8} {user.created_at:%Y-%m-%d %H:%M}{state}")
    return 0


def cmd_users_remove(args, settings: Settings) -> int:
    user = _accounts(settings).remove_user(args.name)
    _record(settings, "user_removed", user.username)
    print(f"removed {user.username}; their keys are revoked and their sessions ended")
    return 0


def cmd_users_passwd(args, settings: Settings) -> int:
    password = _new_password(args.password_stdin)
    _accounts(settings).set_password(args.name, password)
    _record(settings, "password_changed", args.name.strip().lower())
    print(f"password of {args.name} changed; their sessions ended")
    return 0


def cmd_users_disable(args, settings: Settings) -> int:
    user: User = _accounts(settings).set_disabled(args.name, args.disabled)
    _record(settings, "user_disabled" if args.disabled else "user_enabled", user.username)
    print(f"{user.username} {'disabled' if user.disabled else 'enabled'}")
    return 0


def cmd_users_blocks(args, settings: Settings) -> int:
    accounts = _accounts(settings)
    if args.clear:
        cleared = accounts.clear_blocks(args.user, args.ip)
        record_command(
            settings.data_dir, "blocks_cleared", target=f"user={args.user or '*'} ip={args.ip or '*'}", results=cleared
        )
        print(json.dumps({"cleared": cleared}) if args.json else f"forgot {cleared} failed sign-ins")
        return 0
    now = accounts.clock()
    user = args.user.strip().lower() if args.user else None
    blocks = [b for b in accounts.blocks() if user in (None, b.username) and args.ip in (None, b.ip)]
    if args.json:
        print(json.dumps([b.as_json(now) for b in blocks]))
        return 0
    for block in blocks:
        who = " ".join(part for part in (block.username, block.ip) if part is not None)
        print(f"{block.scope:<13} {who:<40} {block.failures:>5} failures  until {block.until:%Y-%m-%d %H:%M:%S}")
    return 0


def cmd_keys_create(args, settings: Settings) -> int:
    record, key = _accounts(settings).create_key(args.role, owner=args.user, label=args.label)
    _record(settings, "key_created", record.id)
    print(f"created {record.role} key {record.id}; it is shown only now", file=sys.stderr)
    print(key)
    return 0


def cmd_keys_list(args, settings: Settings) -> int:
    keys = _accounts(settings).api_keys()
    if args.json:
        print(json.dumps([k.as_json() for k in keys]))
        return 0
    for key in keys:
        used = f"used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        print(f"{key.id}  {key.role:<8} {key.owner or '-':<16} {state:<18} {used:<22} {key.label}")
    return 0


def cmd_keys_revoke(args, settings: Settings) -> int:
    record = _accounts(settings).revoke_key(args.id)
    _record(settings, "key_revoked", record.id)
    print(f"revoked key {record.id}")
    return 0


def cmd_audit_export(args, settings: Settings) -> int:
    log = AuditLog.open(settings.data_dir)
    for chunk in log.export(args.format, since=args.since, until=args.until, actor=args.actor, action=args.action):
        sys.stdout.write(chunk)
    return 0


def cmd_audit_verify(args, settings: Settings) -> int:
    report = AuditLog.open(settings.data_dir).verify()
    if args.json:
        print(json.dumps(report.as_json()))
    elif report.ok:
        head = f"; head: entry {report.head_id} {report.head_hash}" if report.head_id else ""
        print(f"audit log intact: {report.entries} entries{head}")
    else:
        where = f"broken at entry {report.broken_at}" if report.broken_at is not None else "broken"
        print(f"audit log {where}: {report.problem}")
    return 0 if report.ok else 1


def _accounts(settings: Settings) -> AccountStore:
    return AccountStore.open(settings.data_dir)


def _record(settings: Settings, action: str, target: str) -> None:
    record_command(settings.data_dir, action, target=target)


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
