"""Who may use LookingGlass: users with a password and a role, API keys, and signed-in sessions (issue 7).

Face lookup can find a person anywhere they were photographed, so nobody uses it without credentials. Everything
lives in `LG_DATA_DIR/accounts.sqlite3` (see private_sqlite: the CLI edits it while `serve` runs).

No secret is stored: passwords as scrypt hashes with a per-user salt (slow, because people choose guessable
passwords); API keys and session ids as SHA-256 of 32 random bytes (fast is right for a secret nobody can guess).
An API key looks like `lg_<id>_<secret>`; its full text exists only in the answer that created it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import sqlite3
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lookingglass.errors import BadInput, NotFound
from lookingglass.stores.private.sqlite import connect, create_private

ACCOUNTS_FILE = "accounts.sqlite3"
ROLES = ("analyst", "admin")  # each role may do what the ones before it may
FIRST_ADMIN = "admin"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # scrypt hashes anything, but nobody needs more and it bounds the work per attempt
SESSION_LIFETIME = timedelta(hours=12)  # absolute: signing in again is cheap, a stolen cookie's use is bounded
MAX_LABEL = 200  # an API key's label says what the key is for, in a few words
# Sign-in throttling (issue 11): failed sign-ins are remembered for LOGIN_WINDOW and counted three ways. Past a
# counter's free failures, each further failure doubles the wait before the next attempt (1 s, 2 s, 4 s, ...) up to
# the counter's cap. Nothing is ever locked: the wait ends by itself, and it falls on the address that failed.
LOGIN_WINDOW = timedelta(hours=24)  # longer than any cap, so the waits keep growing instead of starting over
THROTTLES = {
    # scope: (free failures, longest wait in seconds)
    "address+user": (3, 15 * 60),  # one address guessing one user's password
    "address": (20, 15 * 60),  # one address trying many usernames (password spraying)
    "user": (100, 60),  # many addresses guessing one user (a botnet); never slows an address the user signed in from
}
KNOWN_ADDRESS_FOR = timedelta(days=90)  # an address the user signed in from is familiar this long
KEY_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is rewritten at most this often (a write per request is waste)

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1  # 16 MiB and ~50 ms per hash
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_KEY = re.compile(r"lg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
    owner TEXT,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at TEXT NOT NULL, ip TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS login_failures_by_user ON login_failures (username, at);
CREATE TABLE IF NOT EXISTS login_addresses (
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (username, ip)
);
"""
_THROTTLE_INDEXES = """
CREATE INDEX IF NOT EXISTS login_failures_by_address ON login_failures (ip, at);
CREATE INDEX IF NOT EXISTS login_failures_by_pair ON login_failures (username, ip, at);
"""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: datetime
    disabled: bool = False

    def as_json(self) -> dict:
        return {
            "username": self.username,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class ApiKey:
    """A key's record; never its secret."""

    id: str
    role: str
    owner: str | None
    label: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "role": self.role,
            "owner": self.owner,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass(frozen=True)
class Block:
    """Failed sign-ins that currently make someone wait. scope "address+user": `ip` trying `username`; "address":
    `ip` trying any username; "user": any unfamiliar address trying `username`."""

    scope: str
    username: str | None
    ip: str | None
    failures: int
    until: datetime

    def as_json(self, now: datetime) -> dict:
        return {
            "scope": self.scope,
            "username": self.username,
            "ip": self.ip,
            "failures": self.failures,
            "until": self.until.isoformat(),
            "retry_after": round(max(0.0, (self.until - now).total_seconds()), 3),
        }


@dataclass(frozen=True)
class Principal:
    """Who a request acts for. `name` is what the audit log records; `user` the person behind it, if any."""

    name: str
    role: str
    via: str  # "session" | "key" | "local" (the CLI on the serving machine, through server.json's token)
    user: str | None = None

    def allows(self, role: str) -> bool:
        return role_allows(self.role, role)


class AccountStore:
    """Users, API keys, sessions and failed sign-ins in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = _now  # what sign-in throttling takes as now (tests move it on instead of sleeping)
        create_private(path, SCHEMA)
        with connect(path, write=True) as db:  # files from before issue 11 count failures by username only
            if "ip" not in {row["name"] for row in db.execute("PRAGMA table_info(login_failures)")}:
                db.execute("ALTER TABLE login_failures ADD COLUMN ip TEXT NOT NULL DEFAULT ''")
        with connect(path) as db:
            db.executescript(_THROTTLE_INDEXES)

    @classmethod
    def open(cls, data_dir: Path) -> AccountStore:
        return cls(Path(data_dir) / ACCOUNTS_FILE)

    # users

    def add_user(self, username: str, password: str, role: str) -> User:
        name = check_username(username)
        check_role(role)
        hashed = hash_password(password)
        created = _now()
        try:
            with connect(self.path, write=True) as db:
                db.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                    (name, hashed, role, _iso(created)),
                )
        except sqlite3.IntegrityError:
            raise BadInput(f"user {name!r} exists") from None
        return User(name, role, created)

    def create_first_admin(self, password: str) -> bool:
        """Create user `admin` if there are no users at all; False when someone was first."""
        hashed = hash_password(password)
        with connect(self.path, write=True) as db:
            if db.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                return False
            db.execute(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, 'admin', ?)",
                (FIRST_ADMIN, hashed, _iso(_now())),
            )
        return True

    def users(self) -> list[User]:
        with connect(self.path) as db:
            return [_user(row) for row in db.execute("SELECT * FROM users ORDER BY username")]

    def user(self, username: str) -> User | None:
        with connect(self.path) as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", (username.strip().lower(),)).fetchone()
        return _user(row) if row else None

    def remove_user(self, username: str) -> User:
        """Delete the user, revoke their keys and end their sessions. The last admin cannot be removed."""
        name = username.strip().lower()
        with connect(self.path, write=True) as db:
            user = self._changeable(db, name, losing_admin=True)
            now = _iso(_now())
            db.execute("DELETE FROM users WHERE username = ?", (name,))
            db.execute("UPDATE api_keys SET revoked_at = ? WHERE owner = ? AND revoked_at IS NULL", (now, name))
            db.execute("DELETE FROM sessions WHERE username = ?", (name,))
        return user

    def set_disabled(self, username: str, disabled: bool) -> User:
        """A disabled user's password, sessions and keys stop working until enabled again."""
        name = username.strip().lower()
        with connect(self.path, write=True) as db:
            user = self._changeable(db, name, losing_admin=disabled)
            db.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), name))
        return User(user.username, user.role, user.created_at, disabled)

    def set_role(self, username: str, role: str) -> User:
        """A new role, at once for their sessions; their keys act with the lesser of the key's and theirs (see
        principal_for_key), so a demoted admin's admin keys act as an analyst. Never demotes the last admin."""
        check_role(role)
        name = username.strip().lower()
        with connect(self.path, write=True) as db:
            user = self._changeable(db, name, losing_admin=role != "admin")
            db.execute("UPDATE users SET role = ? WHERE username = ?", (role, name))
        return User(user.username, role, user.created_at, user.disabled)

    def set_password(self, username: str, password: str) -> None:
        """A new password ends the user's sessions (whoever knew the old one is signed out)."""
        name = username.strip().lower()
        hashed = hash_password(password)
        with connect(self.path, write=True) as db:
            if not db.execute("UPDATE users SET password_hash = ? WHERE username = ?", (hashed, name)).rowcount:
                raise NotFound(f"no user {name!r}")
            db.execute("DELETE FROM sessions WHERE username = ?", (name,))

    def verify_password(self, username: str, password: str) -> User | None:
        """The user when the password is theirs and they are enabled. An unknown name costs one scrypt as well, so
        timing does not tell which usernames exist."""
        name = username.strip().lower()
        with connect(self.path) as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", (name,)).fetchone()
        matches = password_matches(row["password_hash"] if row else _unknown_user_hash(), password)
        if row is None or not matches or row["disabled"]:
            return None
        return _user(row)

    def _changeable(self, db: sqlite3.Connection, name: str, *, losing_admin: bool) -> User:
        row = db.execute("SELECT * FROM users WHERE username = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no user {name!r}")
        if losing_admin and row["role"] == "admin" and not row["disabled"]:
            admins = db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetchone()[0]
            if admins <= 1:
                raise BadInput(f"{name!r} is the last admin; add another admin first")
        return _user(row)

    # API keys

    def create_key(self, role: str, *, owner: str | None = None, label: str = "") -> tuple[ApiKey, str]:
        """A new key and its full text `lg_<id>_<secret>`, which is shown once and never stored."""
        check_role(role)
        if len(label) > MAX_LABEL:
            raise BadInput(f"a key's label has at most {MAX_LABEL} characters, got {len(label):,}")
        if owner is not None:
            user = self.user(owner)
            if user is None or user.disabled:
                raise BadInput(f"no enabled user {owner!r} to own the key")
            if not role_allows(user.role, role):
                raise BadInput(f"{user.username!r} is an {user.role}; their keys cannot have the {role} role")
            owner = user.username
        secret = secrets.token_urlsafe(32)
        created = _now()
        for _ in range(5):  # 48-bit ids: a collision is unlikely, and retried when it happens
            key_id = secrets.token_hex(6)
            try:
                with connect(self.path, write=True) as db:
                    db.execute(
                        "INSERT INTO api_keys (id, secret_sha256, role, owner, label, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (key_id, _sha256(secret), role, owner, label, _iso(created)),
                    )
            except sqlite3.IntegrityError:
                continue
            return ApiKey(key_id, role, owner, label, created), f"lg_{key_id}_{secret}"
        raise RuntimeError("could not find a free key id")

    def api_keys(self) -> list[ApiKey]:
        with connect(self.path) as db:
            return [_key(row) for row in db.execute("SELECT * FROM api_keys ORDER BY created_at, id")]

    def revoke_key(self, key_id: str) -> ApiKey:
        with connect(self.path, write=True) as db:
            db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_iso(_now()), key_id))
            row = db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return _key(row)

    def principal_for_key(self, text: str) -> Principal | None:
        """Who a presented key acts for, or None when it is malformed, unknown, revoked, or its owner is gone or
        disabled. The role is the lesser of the key's and its owner's."""
        parsed = _KEY.fullmatch(text.strip())
        if parsed is None:
            return None
        key_id, secret = parsed.groups()
        with connect(self.path) as db:
            row = db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            owner = None
            if row is not None and row["owner"] is not None:
                owner = db.execute("SELECT * FROM users WHERE username = ?", (row["owner"],)).fetchone()
        if row is None or not hmac.compare_digest(_sha256(secret), row["secret_sha256"]) or row["revoked_at"]:
            return None
        role = row["role"]
        if row["owner"] is not None:
            if owner is None or owner["disabled"]:
                return None
            role = min(role, owner["role"], key=ROLES.index)
        self._touch_key(key_id, row["last_used_at"])
        name = f"{row['owner']}/key:{key_id}" if row["owner"] else f"key:{key_id}"
        return Principal(name, role, "key", row["owner"])

    def _touch_key(self, key_id: str, last_used: str | None) -> None:
        now = _now()
        if last_used is None or datetime.fromisoformat(last_used) <= now - KEY_TOUCH_EVERY:
            with connect(self.path) as db:
                db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_iso(now), key_id))

    # sessions (the cookie carries the id; the row lets logout and user removal end it for real)

    def start_session(self, username: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with connect(self.path, write=True) as db:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (_iso(now),))
            db.execute(
                "INSERT INTO sessions (id_sha256, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_sha256(session_id), username, _iso(now), _iso(now + SESSION_LIFETIME)),
            )
        return session_id

    def principal_for_session(self, session_id: str) -> Principal | None:
        with connect(self.path) as db:
            row = db.execute(
                "SELECT u.username, u.role, u.disabled FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.id_sha256 = ? AND s.expires_at > ?",
                (_sha256(session_id), _iso(_now())),
            ).fetchone()
        if row is None or row["disabled"]:
            return None
        return Principal(row["username"], row["role"], "session", row["username"])

    def end_session(self, session_id: str) -> None:
        with connect(self.path) as db:
            db.execute("DELETE FROM sessions WHERE id_sha256 = ?", (_sha256(session_id),))

    # sign-in throttling: persisted, so neither a restart nor a second process resets it

    def login_retry_after(self, username: str, ip: str | None) -> tuple[float, str] | None:
        """(seconds until `ip` may try `username` again, the scope that says so), or None when it may now."""
        name, address, now = _login_name(username), ip or "", self.clock()
        cutoff = _iso(now - LOGIN_WINDOW)
        counts = {
            "address+user": ("username = ? AND ip = ?", (name, address)),
            "address": ("ip = ?", (address,)),
            "user": ("username = ?", (name,)),
        }
        waits = []
        with connect(self.path) as db:
            if self._familiar(db, name, address, now):
                del counts["user"]  # the user's own address is never slowed by what others do
            for scope, (where, params) in counts.items():
                failures, last = db.execute(
                    f"SELECT COUNT(*), MAX(at) FROM login_failures WHERE {where} AND at > ?", (*params, cutoff)
                ).fetchone()
                until = _blocked_until(scope, failures, last)
                if until is not None and until > now:
                    waits.append(((until - now).total_seconds(), scope))
        return max(waits) if waits else None

    def note_failed_login(self, username: str, ip: str | None) -> None:
        now = self.clock()
        with connect(self.path, write=True) as db:
            db.execute("DELETE FROM login_failures WHERE at <= ?", (_iso(now - LOGIN_WINDOW),))
            db.execute(
                "INSERT INTO login_failures (username, ip, at) VALUES (?, ?, ?)",
                (_login_name(username), ip or "", _iso(now)),
            )

    def note_signed_in(self, username: str, ip: str | None) -> None:
        """Forget this address's failures for this user, and remember the address as familiar to them."""
        name, address, now = _login_name(username), ip or "", self.clock()
        with connect(self.path, write=True) as db:
            db.execute("DELETE FROM login_failures WHERE username = ? AND ip = ?", (name, address))
            db.execute(
                "INSERT INTO login_addresses (username, ip, last_at) VALUES (?, ?, ?) "
                "ON CONFLICT (username, ip) DO UPDATE SET last_at = excluded.last_at",
                (name, address, _iso(now)),
            )
            db.execute("DELETE FROM login_addresses WHERE last_at <= ?", (_iso(now - KNOWN_ADDRESS_FOR),))

    def blocks(self) -> list[Block]:
        """Every wait in force now, longest first."""
        now = self.clock()
        found = []
        with connect(self.path) as db:
            for scope, columns in (("address+user", "username, ip"), ("address", "ip"), ("user", "username")):
                rows = db.execute(
                    f"SELECT {columns}, COUNT(*) AS failures, MAX(at) AS last FROM login_failures WHERE at > ? "
                    f"GROUP BY {columns}",
                    (_iso(now - LOGIN_WINDOW),),
                ).fetchall()
                for row in rows:
                    until = _blocked_until(scope, row["failures"], row["last"])
                    if until is not None and until > now:
                        keys = row.keys()
                        username = row["username"] if "username" in keys else None
                        ip = row["ip"] if "ip" in keys else None
                        found.append(Block(scope, username, ip, row["failures"], until))
        return sorted(found, key=lambda b: b.until, reverse=True)

    def clear_blocks(self, username: str | None = None, ip: str | None = None) -> int:
        """Forget the failed sign-ins of `username`, from `ip`, or both (neither: all of them); how many."""
        clauses, params = [], []
        if username is not None:
            clauses.append("username = ?")
            params.append(_login_name(username))
        if ip is not None:
            clauses.append("ip = ?")
            params.append(ip)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with connect(self.path, write=True) as db:
            return db.execute(f"DELETE FROM login_failures{where}", params).rowcount

    def _familiar(self, db: sqlite3.Connection, name: str, address: str, now: datetime) -> bool:
        row = db.execute(
            "SELECT 1 FROM login_addresses WHERE username = ? AND ip = ? AND last_at > ?",
            (name, address, _iso(now - KNOWN_ADDRESS_FOR)),
        ).fetchone()
        return row is not None


def _blocked_until(scope: str, failures: int, last: str | None) -> datetime | None:
    """When the wait after `failures` failures in `scope` ends: 1 s after the first failure past the free ones,
    doubling with each further one, never longer than the scope's cap. None when there is no wait."""
    free, cap = THROTTLES[scope]
    if failures <= free or last is None:
        return None
    wait = min(float(cap), 2.0 ** min(failures - free - 1, 30))
    return datetime.fromisoformat(last) + timedelta(seconds=wait)


def ensure_first_admin(store: AccountStore, password_from_env: str | None) -> str | None:
    """Make sure someone can sign in: with no users at all, create `admin` with LG_ADMIN_PASSWORD, or with a random
    password that is returned so `serve` can show it once. None when nothing was generated."""
    if password_from_env:
        store.create_first_admin(password_from_env)
        return None
    generated = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(24))  # 142 bits; no leading "-"
    return generated if store.create_first_admin(generated) else None


# passwords


def hash_password(password: str) -> str:
    check_password(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(stored: str, password: str) -> bool:
    """Constant-time check of `password` against a hash_password() result (its own cost parameters)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        given = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(given, expected)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadInput(f"a password has at most {MAX_PASSWORD} characters")


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise BadInput("a username is 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")
    return name


def role_allows(held: str, needed: str) -> bool:
    """Whether the role `held` may do what `needed` may (an admin may do what an analyst may)."""
    return ROLES.index(held) >= ROLES.index(needed)


def check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_urlsafe(MIN_PASSWORD))


# rows and values


def _user(row: sqlite3.Row) -> User:
    return User(row["username"], row["role"], datetime.fromisoformat(row["created_at"]), bool(row["disabled"]))


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        row["id"],
        row["role"],
        row["owner"],
        row["label"],
        datetime.fromisoformat(row["created_at"]),
        _time(row["last_used_at"]),
        _time(row["revoked_at"]),
    )


def _login_name(username: str) -> str:
    return username.strip().lower()[:128]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    """UTC with microseconds, one fixed width, so SQLite compares the strings in time order."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
