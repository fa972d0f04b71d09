"""Who may use LookingGlass, and what they did: users, API keys, sign-in waits and the audit log. Admins only.

Each operation checks the caller's role itself (the web policy admits only admins under /admin/ too; two locks,
so moving a route could not open it up) and writes the audit record of every change, the same from the web and
the CLI. Nothing secret leaves here, except a new API key, in the one answer that creates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from lookingglass.app import App
from lookingglass.errors import Forbidden, NotFound
from lookingglass.services import Caller, Record, audit, operation
from lookingglass.stores.private.accounts import MAX_LABEL, MAX_PASSWORD, MIN_PASSWORD
from lookingglass.stores.private.audit import MAX_ACTOR_FILTER, MAX_PAGE

Role = Literal["analyst", "admin"]
USERNAME = 64  # accounts.check_username: 1-64 of a-z 0-9 . _ -
ISO = "ISO 8601 date or time (UTC unless it says otherwise)"


def _admins_only(caller: Caller) -> None:
    if caller.role != "admin":
        raise Forbidden(f"only admins manage users, keys and the audit log; {caller.name} is an {caller.role}")


def _blank_is_none(value):
    """`?user=` in a URL means "not given", as it did before the routes were typed."""
    return None if value == "" else value


# users


class UserRecord(Record):
    username: str
    role: Role
    created_at: str = Field(description="ISO 8601, UTC")
    disabled: bool


class UserList(Record):
    users: list[UserRecord]


class NewUser(Record):
    username: str = Field(max_length=USERNAME, description="1-64 of a-z 0-9 . _ - (stored lower-case)")
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    role: Role = "analyst"


class NewPassword(Record):
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class RoleChange(Record):
    role: Role = Field(description="a demoted admin's admin keys act as an analyst too")


class UserChange(Record):
    disabled: bool = Field(description="a disabled user's password, sessions and keys stop working")


@operation
def list_users(app: App, caller: Caller) -> UserList:
    """Every user, by name (never a password)."""
    _admins_only(caller)
    return UserList(users=[UserRecord(**u.as_json()) for u in app.accounts.users()])


@operation
def add_user(app: App, caller: Caller, request: NewUser) -> UserRecord:
    """Add a user who signs in to the web UI with `password`."""
    _admins_only(caller)
    user = app.accounts.add_user(request.username, request.password, request.role)
    audit(app, caller, "user_added", target=user.username, status=201)
    return UserRecord(**user.as_json())


@operation
def remove_user(app: App, caller: Caller, username: str) -> UserRecord:
    """Remove a user, revoke their keys and end their sessions (never the last admin)."""
    _admins_only(caller)
    user = app.accounts.remove_user(username)
    audit(app, caller, "user_removed", target=user.username)
    return UserRecord(**user.as_json())


@operation
def set_password(app: App, caller: Caller, request: NewPassword, username: str) -> UserRecord:
    """Give a user a new password; their sessions end (whoever knew the old one is signed out)."""
    _admins_only(caller)
    app.accounts.set_password(username, request.password)
    audit(app, caller, "password_changed", target=username.strip().lower())
    user = app.accounts.user(username)
    if user is None:  # removed in between
        raise NotFound(f"no user {username!r}")
    return UserRecord(**user.as_json())


@operation
def change_user(app: App, caller: Caller, request: UserChange, username: str) -> UserRecord:
    """Disable a user (sign-in, sessions and keys stop working; never the last admin) or enable them again."""
    _admins_only(caller)
    user = app.accounts.set_disabled(username, request.disabled)
    audit(app, caller, "user_disabled" if request.disabled else "user_enabled", target=user.username)
    return UserRecord(**user.as_json())


@operation
def set_role(app: App, caller: Caller, request: RoleChange, username: str) -> UserRecord:
    """Make a user an analyst or an admin, at once for their sessions and keys (never demotes the last admin)."""
    _admins_only(caller)
    user = app.accounts.set_role(username, request.role)
    audit(app, caller, "role_changed", target=f"{user.username}: {user.role}")
    return UserRecord(**user.as_json())


# sign-in waits (accounts.THROTTLES)


class BlockFilter(Record):
    user: str | None = Field(None, max_length=USERNAME, description="only this username")
    ip: str | None = Field(None, max_length=64, description="only this address")

    _blank = field_validator("user", "ip", mode="before")(_blank_is_none)


class BlockRecord(Record):
    scope: Literal["address+user", "address", "user"]
    username: str | None
    ip: str | None
    failures: int
    until: str = Field(description="ISO 8601, UTC: when the next attempt is allowed")
    retry_after: float = Field(description="seconds until then")


class BlockList(Record):
    blocks: list[BlockRecord]


class Cleared(Record):
    cleared: int = Field(description="failed sign-ins forgotten")


@operation
def list_blocks(app: App, caller: Caller, request: BlockFilter) -> BlockList:
    """Sign-in waits in force now, longest first: who or which address, how many failures, until when."""
    _admins_only(caller)
    accounts = app.accounts
    now = accounts.clock()
    user = request.user.strip().lower() if request.user else None
    found = [b for b in accounts.blocks() if user in (None, b.username) and request.ip in (None, b.ip)]
    return BlockList(blocks=[BlockRecord(**b.as_json(now)) for b in found])


@operation
def clear_blocks(app: App, caller: Caller, request: BlockFilter) -> Cleared:
    """Forget failed sign-ins of a user and/or from an address (neither: all), e.g. once a person has proven who
    they are."""
    _admins_only(caller)
    cleared = app.accounts.clear_blocks(request.user, request.ip)
    audit(app, caller, "blocks_cleared", target=f"user={request.user or '*'} ip={request.ip or '*'}", results=cleared)
    return Cleared(cleared=cleared)


# API keys


class KeyRecord(Record):
    id: str
    role: Role
    owner: str | None = Field(description="the user the key acts for; its role never exceeds theirs")
    label: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class KeyList(Record):
    keys: list[KeyRecord]


class NewKey(Record):
    role: Role = "analyst"
    # The store checks the label's length (a message naming the bound); the description says it.
    label: str = Field("", description="what the key is for", json_schema_extra={"maxLength": MAX_LABEL})
    user: str | None = Field(None, max_length=USERNAME, description="the owner (default: the caller's user)")


class CreatedKey(KeyRecord):
    key: str = Field(description="lg_<id>_<secret>: shown in this answer only, never stored")


@operation
def list_keys(app: App, caller: Caller) -> KeyList:
    """Every API key, oldest first (never its secret)."""
    _admins_only(caller)
    return KeyList(keys=[KeyRecord(**k.as_json()) for k in app.accounts.api_keys()])


@operation
def create_key(app: App, caller: Caller, request: NewKey) -> CreatedKey:
    """A new API key (`Authorization: Bearer lg_...`) owned by `user`, by default the caller's user."""
    _admins_only(caller)
    owner = request.user or caller.user
    record, key = app.accounts.create_key(request.role, owner=owner, label=request.label)
    audit(app, caller, "key_created", target=record.id, status=201)
    return CreatedKey(**record.as_json(), key=key)


@operation
def revoke_key(app: App, caller: Caller, key_id: str) -> KeyRecord:
    """Revoke an API key by its id: it stops working at once."""
    _admins_only(caller)
    record = app.accounts.revoke_key(key_id)
    audit(app, caller, "key_revoked", target=key_id)
    return KeyRecord(**record.as_json())


# the audit log


class AuditQuery(Record):
    since: str | None = Field(None, max_length=64, description=f"{ISO}; since <= at")
    until: str | None = Field(None, max_length=64, description=f"{ISO}; at < until")
    actor: str | None = Field(
        None, max_length=MAX_ACTOR_FILTER, description="a username (matches their keys too) or key:<id>"
    )
    action: str | None = Field(None, max_length=64, description="lookup, search, upload, forget, login, ...")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=10**9)
    order: Literal["newest", "oldest"] = Field("newest", description="oldest: pages stay put as entries are added")
    format: Literal["json", "csv"] = Field("json", description="csv: a download of every match, oldest first")

    _blank = field_validator("since", "until", "actor", "action", mode="before")(_blank_is_none)


class AuditEntryRecord(Record):
    id: int
    at: str = Field(description="ISO 8601, UTC")
    actor: str
    role: str
    action: str
    target: str | None = Field(description="what an admin action was about: a sha256, a key id, a username")
    query_sha256: str | None = Field(description="the SHA-256 of a lookup's photo or an upload's bytes")
    query: str | None = Field(description="a text search's query")
    results: int | None
    status: int | None = Field(description="the HTTP status answered")
    ip: str | None


class AuditPage(Record):
    """A page of the audit log. `GET /admin/audit?format=csv` answers text/csv instead: every match."""

    model_config = ConfigDict(openapi_extra={"content": {"text/csv": {"schema": {"type": "string"}}}})

    entries: list[AuditEntryRecord]
    limit: int
    offset: int


class AuditChain(Record):
    entries: int
    ok: bool
    broken_at: int | None = Field(description="the first broken entry (None: the head file is the problem)")
    problem: str | None
    head_id: int | None = Field(description="the chain's head: keep a copy elsewhere, the strongest anchor")
    head_hash: str | None


@operation
def audit_entries(app: App, caller: Caller, request: AuditQuery) -> AuditPage:
    """A page of the audit log, newest first (or oldest first), filtered by time, actor and action."""
    _admins_only(caller)
    found = app.audit.entries(
        request.since,
        request.until,
        request.actor,
        request.action,
        limit=request.limit,
        offset=request.offset,
        oldest_first=request.order == "oldest",
    )
    entries = [AuditEntryRecord(**e.as_json()) for e in found]
    return AuditPage(entries=entries, limit=request.limit, offset=request.offset)


def audit_csv(app: App, caller: Caller, request: AuditQuery) -> Iterator[str]:
    """Every match as CSV, oldest first, in chunks (the log can be longer than memory should hold); bad filters
    raise here, before the first chunk. The web's download; the CLI pages through `audit_entries` instead."""
    _admins_only(caller)
    return app.audit.export("csv", request.since, request.until, request.actor, request.action)


@operation
def verify_audit(app: App, caller: Caller) -> AuditChain:
    """Walk the audit log's hash chain: intact, or the first entry that was edited, forged or removed."""
    _admins_only(caller)
    return AuditChain(**app.audit.verify().as_json())
