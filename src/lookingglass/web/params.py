"""A request's query string and form, checked once: a bad or absurd value is a 400, never a 500 or a 503.

`check_lengths` runs before every view (web/auth.install), so a route added later is bounded without anyone
remembering to bound it; `number` checks the numbers a view reads."""

from __future__ import annotations

import math

from flask import request

from lookingglass.errors import BadInput
from lookingglass.stores.private.accounts import MAX_LABEL, MAX_PASSWORD
from lookingglass.stores.private.audit import MAX_ACTOR_FILTER

LARGEST = 10**9  # no count, page offset or limit we accept is larger (SQLite integers overflow at 2**63)
MAX_VALUE = 2000  # characters in any query parameter or form field not named in MAX_LENGTHS
MAX_LENGTHS = {
    "username": 64,  # accounts.check_username
    "user": 64,
    "password": MAX_PASSWORD,
    "actor": MAX_ACTOR_FILTER,
    "action": 64,
    "since": 64,
    "until": 64,
    "format": 16,
    "kind": 32,
    "type": 32,
    "sort": 32,
    "ip": 64,
    "q": 1000,  # a text search or an entity name
    "label": MAX_LABEL,
    "note": 1000,
    "next": 2000,
    "csrf_token": 100,
    "face_ids": 100_000,  # the ids a person erasure confirms (comma-separated); thousands of faces is possible
    "source_url": 8192,  # URLs can be long; browsers and servers commonly stop near 8 KiB
    "page_url": 8192,
    "token": 1000,
}
MAX_NAME = 64  # characters in a parameter's name
MAX_PATH_VALUE = 256  # characters in a URL part a route names (<sha256>, <entity_id>, <key_id>, ...)


def number(name: str, kind: type[int] | type[float], default, *, minimum=None, maximum=None):
    """`request.values[name]` as `kind`, or `default` when absent or empty."""
    raw = request.values.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadInput(f"'{name}' must be a {'whole number' if kind is int else 'number'}, got {raw[:50]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"'{name}' must be a finite number")
    low = -LARGEST if minimum is None else minimum
    high = LARGEST if maximum is None else maximum
    if not low <= value <= high:
        raise BadInput(f"'{name}' must be between {low} and {high}, got {raw[:50]}")
    return value


def check_lengths() -> None:
    """Every query parameter, form field and named URL part within its bound, before any work is done (an overlong
    audit filter once reached SQLite's LIKE and came back as a 503)."""
    for name, value in (request.view_args or {}).items():
        if len(str(value)) > MAX_PATH_VALUE:
            raise BadInput(f"the URL's {name} has at most {MAX_PATH_VALUE} characters, got {len(str(value)):,}")
    fields = [request.args]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields.append(request.form)  # parsed once here; the view gets the same parse
    for values in fields:
        for raw_name, value in values.items(multi=True):
            name = raw_name or ""  # a form part without a name (a fuzzer sends those)
            if len(name) > MAX_NAME:
                raise BadInput(f"a parameter name has at most {MAX_NAME} characters, got {len(name):,}")
            bound = MAX_LENGTHS.get(name, MAX_VALUE)
            if len(value) > bound:
                raise BadInput(f"'{name}' has at most {bound:,} characters, got {len(value):,}")
