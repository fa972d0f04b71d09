"""Users, API keys, sign-in waits and the audit log (admins only: web/auth.py by the /admin/ prefix, and the
services again)."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from lookingglass.services import Record
from lookingglass.services.admin import (
    AuditChain,
    AuditPage,
    AuditQuery,
    BlockFilter,
    BlockList,
    Cleared,
    CreatedKey,
    KeyList,
    KeyRecord,
    NewKey,
    NewPassword,
    NewUser,
    RoleChange,
    UserChange,
    UserList,
    UserRecord,
    add_user,
    audit_csv,
    audit_entries,
    change_user,
    clear_blocks,
    create_key,
    list_blocks,
    list_keys,
    list_users,
    remove_user,
    revoke_key,
    set_password,
    set_role,
    verify_audit,
)
from lookingglass.web.auth import wants_a_page
from lookingglass.web.params import MAX_PATH_VALUE
from lookingglass.web.routes import answer, caller, the_app
from lookingglass.web.views import admin_page

admin = APIBlueprint("admin", __name__, url_prefix="/admin", abp_tags=[Tag(name="admin")])


class UserPath(Record):
    username: str = Field(max_length=MAX_PATH_VALUE)


class KeyPath(Record):
    key_id: str = Field(max_length=MAX_PATH_VALUE)


@admin.get("/users", operation_id="list_users", responses={200: UserList})
def users_route():
    """Users (admin). A browser gets the admin console's Users page."""
    if wants_a_page():
        return admin_page("users")
    return _json(answer(list_users(the_app(), caller())))


@admin.post("/users", operation_id="add_user", responses={201: UserRecord})
def add_user_route(body: NewUser):
    """Add a user (admin, audited)."""
    return answer(add_user(the_app(), caller(), body), 201)


@admin.delete("/users/<username>", operation_id="remove_user", responses={200: UserRecord})
def remove_user_route(path: UserPath):
    """Remove a user, revoke their keys and end their sessions; never the last admin (admin, audited)."""
    return answer(remove_user(the_app(), caller(), path.username))


@admin.patch("/users/<username>", operation_id="change_user", responses={200: UserRecord})
def change_user_route(path: UserPath, body: UserChange):
    """Disable or enable a user; never the last admin (admin, audited)."""
    return answer(change_user(the_app(), caller(), body, path.username))


@admin.put("/users/<username>/password", operation_id="set_password", responses={200: UserRecord})
def set_password_route(path: UserPath, body: NewPassword):
    """Set a user's password; their sessions end (admin, audited)."""
    return answer(set_password(the_app(), caller(), body, path.username))


@admin.put("/users/<username>/role", operation_id="set_role", responses={200: UserRecord})
def set_role_route(path: UserPath, body: RoleChange):
    """Make a user an analyst or an admin; never demotes the last admin (admin, audited)."""
    return answer(set_role(the_app(), caller(), body, path.username))


@admin.get("/blocks", operation_id="list_blocks", responses={200: BlockList})
def blocks_route(query: BlockFilter):
    """Sign-in waits in force after failed sign-ins, of `user` and/or from `ip` (admin)."""
    return answer(list_blocks(the_app(), caller(), query))


@admin.delete("/blocks", operation_id="clear_blocks", responses={200: Cleared})
def clear_blocks_route(query: BlockFilter):
    """Forget failed sign-ins of a user and/or from an address; neither: all (admin, audited)."""
    return answer(clear_blocks(the_app(), caller(), query))


@admin.get("/keys", operation_id="list_keys", responses={200: KeyList})
def keys_route():
    """API keys, never their secrets (admin). A browser gets the admin console's API keys page."""
    if wants_a_page():
        return admin_page("keys")
    return _json(answer(list_keys(the_app(), caller())))


@admin.post("/keys", operation_id="create_key", responses={201: CreatedKey})
def create_key_route(body: NewKey):
    """Create an API key; the answer holds the key, once (admin, audited)."""
    return answer(create_key(the_app(), caller(), body), 201)


@admin.delete("/keys/<key_id>", operation_id="revoke_key", responses={200: KeyRecord})
def revoke_key_route(path: KeyPath):
    """Revoke an API key (admin, audited)."""
    return answer(revoke_key(the_app(), caller(), path.key_id))


@admin.get("/audit", operation_id="audit_entries", responses={200: AuditPage})
def audit_route(query: AuditQuery):
    """Audit entries, newest first (`order=oldest`: oldest first); `format=csv` downloads every match (admin). A
    browser gets the admin console's audit page (a download link, `format=csv`, still gets the CSV)."""
    if query.format == "csv":
        chunks = audit_csv(the_app(), caller(), query)
        headers = {"Content-Disposition": "attachment; filename=lookingglass-audit.csv", "Cache-Control": "no-store"}
        return Response(chunks, mimetype="text/csv", headers=headers)
    if wants_a_page():
        return admin_page("audit")
    return _json(answer(audit_entries(the_app(), caller(), query)))


@admin.get("/audit/verify", operation_id="verify_audit", responses={200: AuditChain})
def verify_audit_route():
    """Walk the audit log's hash chain: intact (with its head), or the first broken entry (admin)."""
    return answer(verify_audit(the_app(), caller()))


def _json(answered):
    """The JSON answer of a URL that is also a page: marked as chosen by the Accept header."""
    body, status = answered
    return body, status, {"Vary": "Accept"}
