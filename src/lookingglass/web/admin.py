"""Admin JSON routes: the audit log, API keys and users. The policy in auth.py admits only admins under /admin/;
these views check again, so moving them elsewhere could not open them up."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from lookingglass.accounts import AccountStore
from lookingglass.audit import AuditLog
from lookingglass.errors import BadInput, Forbidden
from lookingglass.web.auth import audit_event, current_principal
from lookingglass.web.params import number

admin = Blueprint("admin", __name__, url_prefix="/admin")


@admin.before_request
def _admins_only() -> None:
    principal = current_principal()
    if principal is None or not principal.allows("admin"):
        raise Forbidden("admins only")


def _accounts() -> AccountStore:
    return current_app.extensions["lookingglass.accounts"]


def _audit() -> AuditLog:
    return current_app.extensions["lookingglass.audit"]


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("expected a JSON object")
    return body


@admin.get("/audit")
def audit_entries():
    """`?since=&until=` (ISO 8601; since <= at < until), `actor=` (a username matches their keys too), `action=`;
    `format=json` (default: a page, newest first, `limit`/`offset`) or `format=csv` (a download of every match)."""
    filters = {k: request.args.get(k) or None for k in ("since", "until", "actor", "action")}
    fmt = request.args.get("format", "json")
    if fmt == "csv":
        chunks = _audit().export("csv", **filters)
        headers = {"Content-Disposition": "attachment; filename=lookingglass-audit.csv", "Cache-Control": "no-store"}
        return Response(chunks, mimetype="text/csv", headers=headers)
    if fmt != "json":
        raise BadInput(f"format is json or csv, got {fmt!r}")
    limit, offset = number("limit", int, 100, minimum=1), number("offset", int, 0, minimum=0)
    entries = _audit().entries(**filters, limit=limit, offset=offset)
    return jsonify({"entries": [e.as_json() for e in entries], "limit": limit, "offset": offset})


@admin.get("/keys")
def list_keys():
    return jsonify({"keys": [k.as_json() for k in _accounts().api_keys()]})


@admin.post("/keys")
def create_key():
    """`{"role": "analyst"|"admin", "label": "...", "user": "name"}` (user: the owner, default the caller) -> the
    key's record and, this once, the key itself."""
    body = _body()
    owner = body.get("user") or current_principal().user
    record, key = _accounts().create_key(
        str(body.get("role") or "analyst"), owner=owner, label=str(body.get("label") or "")
    )
    audit_event("key_created", target=record.id, status=201)
    return jsonify({**record.as_json(), "key": key}), 201


@admin.delete("/keys/<key_id>")
def revoke_key(key_id: str):
    record = _accounts().revoke_key(key_id)
    audit_event("key_revoked", target=key_id)
    return jsonify(record.as_json())


@admin.get("/users")
def list_users():
    return jsonify({"users": [u.as_json() for u in _accounts().users()]})


@admin.post("/users")
def add_user():
    """`{"username": ..., "password": ... (12+ characters), "role": "analyst"|"admin"}`."""
    body = _body()
    if not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        raise BadInput('expected {"username": ..., "password": ..., "role": ...}')
    user = _accounts().add_user(body["username"], body["password"], str(body.get("role") or "analyst"))
    audit_event("user_added", target=user.username, status=201)
    return jsonify(user.as_json()), 201


@admin.delete("/users/<username>")
def remove_user(username: str):
    user = _accounts().remove_user(username)
    audit_event("user_removed", target=user.username)
    return jsonify(user.as_json())


@admin.get("/blocks")
def list_blocks():
    """Sign-in waits in force now (accounts.THROTTLES): who or which address, how many failures, until when."""
    accounts = _accounts()
    now = accounts.clock()
    return jsonify({"blocks": [b.as_json(now) for b in accounts.blocks()]})


@admin.delete("/blocks")
def clear_blocks():
    """Forget failed sign-ins: `?user=` and/or `?ip=` (neither: all), e.g. once a person has proven who they are."""
    user, ip = request.args.get("user") or None, request.args.get("ip") or None
    cleared = _accounts().clear_blocks(user, ip)
    audit_event("blocks_cleared", target=f"user={user or '*'} ip={ip or '*'}", results=cleared)
    return jsonify({"cleared": cleared})
