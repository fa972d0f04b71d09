"""Numbers from a request's query string or form, checked once: a bad or absurd value is a 400, never a 500."""

from __future__ import annotations

import math

from flask import request

from lookingglass.errors import BadInput

LARGEST = 10**9  # no count, page offset or limit we accept is larger (SQLite integers overflow at 2**63)


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
