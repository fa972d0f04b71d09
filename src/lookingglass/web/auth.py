"""Who may call what (issue 7). Every request is authenticated before it reaches a view, and denied by default.

Credentials, in this order:
- `Authorization: Bearer <token>`: the local token from server.json (the CLI on this machine, acting as admin), or
  an API key `lg_<id>_<secret>`. A wrong one is refused, never tried as something else.
- the session cookie that POST /login sets (Flask's signed cookie carrying a server-side session id).

A rule needs no credentials only when it is in PUBLIC_RULES; it needs the admin role when it is in ADMIN_RULES or
under ADMIN_PREFIXES; every other rule, and every URL that matches none, needs an analyst. So a route added later,
in any blueprint, is protected without anyone remembering to protect it. Views add nothing but `audit_event`.
"""

from __future__ import annotations

import hmac
import math
import os
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from lookingglass.app import App
from lookingglass.errors import BadInput, CsrfFailed, Forbidden, RateLimited, Unauthorized
from lookingglass.stores.private.accounts import SESSION_LIFETIME, AccountStore, Principal
from lookingglass.stores.private.audit import AuditLog
from lookingglass.web.params import check_lengths

PUBLIC_RULES = frozenset(
    {
        "/login",  # signing in cannot require being signed in
        "/logout",
        "/static/<path:filename>",  # the page's CSS and JS, the same for everyone
        "/health",  # load balancers and compose healthchecks; anonymous callers get only {"ok": ...}
        "/events/minio",  # bucket notifications: the view checks LG_EVENTS_TOKEN itself
        "/openapi.json",  # the API's shape, no data
    }
)
ALL_METHODS = None
ADMIN_RULES: dict[str, frozenset[str] | None] = {
    "/objects/<sha256>": frozenset({"DELETE"}),  # forgetting destroys what others may rely on
    "/queue/stats": ALL_METHODS,  # operations: job names, failures, worker state
    "/graph/analytics": frozenset({"POST"}),  # minutes of compute on demand
    "/entities/merge": frozenset({"POST"}),  # rewrites the graph for everyone (audited)
    "/entities/merge-candidates/reject": frozenset({"POST"}),
    "/queue": ALL_METHODS,  # the queue page (it shows failures and worker state, like /queue/stats)
    "/queue/failed/<job_id>/retry": ALL_METHODS,  # running failed jobs again, and dropping their records
    "/queue/failed/<job_id>": ALL_METHODS,
}
ADMIN_PREFIXES = ("/admin/", "/forget")  # the admin blueprint, and every erasure or opt-out route
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_KEY_FILE = "session.key"
HSTS = "max-age=31536000; includeSubDomains"
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*", re.IGNORECASE)
_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}

auth = Blueprint("auth", __name__, template_folder="templates")


def required_role(rule: str | None, method: str) -> str | None:
    """The least role a request needs: None for a public rule. An unknown URL (rule None) needs an analyst, so
    nobody without credentials can probe which URLs exist."""
    if rule in PUBLIC_RULES:
        return None
    if rule is not None:
        if rule == "/admin" or rule.startswith(ADMIN_PREFIXES):
            return "admin"
        if rule in ADMIN_RULES and (ADMIN_RULES[rule] is ALL_METHODS or method in ADMIN_RULES[rule]):
            return "admin"
    return "analyst"


def install(flask_app: Flask, app: App) -> None:
    """Open the account store and the audit log from the data dir and put the policy in front of every view."""
    data_dir = app.settings.data_dir
    flask_app.extensions["lookingglass.stores.private.accounts"] = app.accounts  # the one the admin services use
    flask_app.extensions["lookingglass.stores.private.audit"] = app.audit
    flask_app.extensions["lookingglass.lookup_limit"] = TokenBucket.parse(app.settings.lookup_rate)
    flask_app.secret_key = session_key(data_dir)
    flask_app.session_interface = _SessionInterface()
    flask_app.config.update(
        SESSION_COOKIE_NAME="lg_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    flask_app.jinja_env.globals["csrf_token"] = csrf_token
    flask_app.before_request(_enforce)
    flask_app.before_request(check_lengths)  # after _enforce: callers without credentials learn nothing more
    flask_app.after_request(_transport_headers)


def current_principal() -> Principal | None:
    """Who this request acts for; None only on public routes called without (valid) credentials."""
    return g.get("principal")


def audit_event(action: str, **fields) -> None:
    """Record `action` for the current principal (fields: target, query_sha256, query, results, status)."""
    principal = current_principal()
    fields.setdefault("status", 200)
    current_app.extensions["lookingglass.stores.private.audit"].record(
        principal.name if principal else "anonymous",
        principal.role if principal else "-",
        action,
        ip=request.remote_addr,
        **fields,
    )


def require_local() -> None:
    """Only the CLI on the serving machine (the local token) may do this, e.g. name a file:// path as a source."""
    principal = current_principal()
    if principal is None or principal.via != "local":
        raise Forbidden("only the CLI on this machine (the local token from server.json) may name a file:// source")


def csrf_token() -> str:
    """This session's CSRF token (created on first use): forms carry it as `csrf_token`, scripts as X-CSRF-Token."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def session_key(data_dir: Path) -> bytes:
    """The key that signs session cookies, created once (mode 0600) so sessions survive a restart."""
    path = Path(data_dir) / SESSION_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{SESSION_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # atomic and never overwrites: when two processes race, both read the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_bytes()
    if len(key) < 32:
        raise BadInput(f"{path} holds fewer than 32 bytes; delete it to make a new one (signs everyone out)")
    return key


class TokenBucket:
    """Per-principal allowance for one kind of request: up to `capacity` at once, refilled evenly over `period`
    seconds. In-process, which is enough because one `serve` owns the data dir (docs/architecture.md)."""

    def __init__(self, capacity: int, period: float, clock=time.monotonic) -> None:
        self.capacity = capacity
        self.rate = capacity / period
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str) -> TokenBucket | None:
        """`60/minute`, `5/s`, `1000/hour`, `10000/day`; `off` for no limit."""
        if text.strip().lower() in ("off", "none", "0"):
            return None
        match = _RATE.fullmatch(text)
        if not match or int(match.group(1)) < 1:
            raise BadInput(f"LG_LOOKUP_RATE must look like 60/minute (or off), got {text!r}")
        return cls(int(match.group(1)), _PERIODS[match.group(2).lower()])

    def take(self, name: str) -> float:
        """0 when `name` may go ahead (one token spent), else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, when = self._buckets.get(name, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - when) * self.rate)
            if tokens >= 1:
                self._buckets[name] = (tokens - 1, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / self.rate


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the request came over HTTPS, not only when LG_SECURE_COOKIES says so."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _enforce() -> Response | None:
    rule = request.url_rule.rule if request.url_rule is not None else None
    needed = required_role(rule, request.method)
    if needed is None:
        try:
            g.principal = _authenticate()
        except Unauthorized:
            g.principal = None  # e.g. /events/minio's own Bearer token, which is no API key
        return None
    principal = _authenticate()
    if principal is None:
        if wants_a_page():
            return redirect(url_for("auth.login_page", next=request.full_path.rstrip("?")))
        raise Unauthorized("sign in, or send an API key: Authorization: Bearer lg_...")
    g.principal = principal
    try:
        if not principal.allows(needed):
            if wants_a_page():  # a person in a browser gets a page that says why, not JSON
                audit_event("denied", target=f"{request.method} {request.path}"[:500], status=403)
                context = {"needed": needed, "user": principal.name, "role": principal.role, "is_admin": False}
                return Response(render_template("forbidden.html", page=None, **context), status=403)
            raise Forbidden(f"{request.method} {rule} needs the {needed} role; {principal.name} is an {principal.role}")
        if principal.via == "session" and request.method not in SAFE_METHODS:
            _check_csrf()
        if rule == "/lookup" and request.method == "POST" and principal.via != "local":
            _rate_limit(principal)
    except (Forbidden, RateLimited) as exc:
        # Someone known asked for what they may not have (another role's route, a forged form, too many lookups):
        # the trail shows the attempt, not only what succeeded.
        audit_event("denied", target=f"{request.method} {request.path}"[:500], status=exc.http_status)
        raise
    return None


def _authenticate() -> Principal | None:
    accounts: AccountStore = current_app.extensions["lookingglass.stores.private.accounts"]
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized("expected Authorization: Bearer <API key>")
        local = current_app.extensions.get("lookingglass.local_token")
        if local and hmac.compare_digest(given.encode(), local.encode()):
            return Principal("local", "admin", "local")
        principal = accounts.principal_for_key(given)
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        return principal
    session_id = session.get("sid")
    if not session_id:
        return None
    principal = accounts.principal_for_session(session_id)
    if principal is None:
        session.pop("sid")  # expired, signed out elsewhere, or the user was removed or disabled
    return principal


def _check_csrf() -> None:
    expected = session.get("csrf")
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfFailed("missing or wrong CSRF token (X-CSRF-Token header or csrf_token field); reload the page")


def _rate_limit(principal: Principal) -> None:
    bucket: TokenBucket | None = current_app.extensions["lookingglass.lookup_limit"]
    wait = bucket.take(principal.name) if bucket is not None else 0.0
    if wait > 0:
        raise RateLimited(f"too many lookups; try again in {math.ceil(wait)} s", wait)


def wants_a_page() -> bool:
    """A browser navigating (GET, HTML preferred) is sent to the login page; everything else gets JSON 401."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.method in ("GET", "HEAD") and best == "text/html"


def _transport_headers(response: Response) -> Response:
    if request.is_secure or current_app.extensions["lookingglass"].settings.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype in ("application/json", "text/csv"):
        response.headers.setdefault("Cache-Control", "no-store")  # lookups, searches, the audit log: personal data
    return response


# signing in and out


@auth.get("/login")
def login_page():
    principal = current_principal()
    if principal is not None and principal.via == "session":
        return redirect(_next_page())
    return _login_form()


@auth.post("/login")
def login():
    """Form fields username, password and csrf_token (the pre-session token the login page put in the cookie)."""
    accounts: AccountStore = current_app.extensions["lookingglass.stores.private.accounts"]
    audit: AuditLog = current_app.extensions["lookingglass.stores.private.audit"]
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    expected, given = session.get("csrf"), request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _login_form("The form expired. Please sign in again.", 403)
    ip = request.remote_addr
    throttled = accounts.login_retry_after(username, ip)
    if throttled is not None:
        wait, scope = throttled
        audit.record(username or "-", "-", "login_failed", status=429, ip=ip, target=f"throttled: {scope}")
        response = _login_form(f"Too many failed sign-ins. Try again in {_duration(wait)}.", 429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = accounts.verify_password(username, password)
    if user is None:
        accounts.note_failed_login(username, ip)
        audit.record(username or "-", "-", "login_failed", status=401, ip=ip)
        return _login_form("Wrong username or password.", 401)
    accounts.note_signed_in(user.username, ip)
    session.clear()  # a fresh session: nothing chosen before sign-in (fixation) carries over
    session.permanent = True
    session["sid"] = accounts.start_session(user.username)
    session["csrf"] = secrets.token_urlsafe(32)
    audit.record(user.username, user.role, "login", status=303, ip=request.remote_addr)
    return redirect(_next_page(), 303)


@auth.post("/logout")
def logout():
    session_id = session.get("sid")
    if session_id:
        _check_csrf()
        principal = current_principal()
        current_app.extensions["lookingglass.stores.private.accounts"].end_session(session_id)
        if principal is not None:
            audit_event("logout", status=303)
    session.clear()
    return redirect(url_for("auth.login_page"), 303)


def _duration(seconds: float) -> str:
    count, unit = (math.ceil(seconds), "second") if seconds < 90 else (math.ceil(seconds / 60), "minute")
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _login_form(error: str | None = None, status: int = 200) -> Response:
    username = request.form.get("username", "").strip() if request.method == "POST" else ""  # kept after an error
    body = render_template("login.html", error=error, next=_next_page(), username=username)
    return Response(body, status, {"Cache-Control": "no-store"}, mimetype="text/html")


def _next_page() -> str:
    """Where to go after signing in: a path on this site only (never `//elsewhere` or `https://elsewhere`)."""
    wanted = request.values.get("next", "")
    parts = urlsplit(wanted)
    if not wanted.startswith("/") or wanted.startswith("//") or "\\" in wanted or parts.scheme or parts.netloc:
        return "/"
    return wanted
