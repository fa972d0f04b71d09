"""The use cases, written once: the web routes and the CLI commands both call these functions.

A service function is plain: `fn(app, caller, request, **uploads) -> response`, where `request` and `response` are
pydantic models (the HTTP route's body/query and answer, the CLI's parsed arguments and printed records) and
`uploads` are bytes (a photo). It knows nothing of HTTP or terminals, checks what it is given, and writes the
audit record itself, so both surfaces are audited the same way.

`@operation` registers a function under its name. The name is the route's OpenAPI `operationId`, which is how the
CLI reaches the same function through a running `serve` (cli/service.py): one declaration per operation.
"""

from __future__ import annotations

import getpass
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from lookingglass.app import App

F = TypeVar("F", bound=Callable[..., Any])

OPERATIONS: dict[str, Callable[..., Any]] = {}


def operation(fn: F) -> F:
    """Register a use case; its name is the operationId of its route."""
    if fn.__name__ in OPERATIONS:
        raise ValueError(f"two operations named {fn.__name__}")
    OPERATIONS[fn.__name__] = fn
    return fn


def load_all() -> None:
    """Import every services module, so every operation is registered (the CLI's remote calls look them up)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def response_model(name: str) -> type[BaseModel]:
    """The pydantic model an operation answers with (its return annotation)."""
    return typing.get_type_hints(OPERATIONS[name])["return"]


class Record(BaseModel):
    """Base of the records operations exchange: unknown fields are refused, so the code and the generated OpenAPI
    description cannot drift apart unnoticed (the test suite checks every JSON answer against it)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Caller:
    """Who asks, as the audit log records it: a signed-in user, an API key, or the CLI on this machine."""

    name: str
    role: str
    via: str  # "session" | "key" | "local" (the CLI through serve's local token) | "cli" (stores opened here)
    ip: str | None = None
    user: str | None = None  # the person behind it: a session's user, a key's owner; None for the CLI, owner-less keys

    @classmethod
    def command_line(cls) -> Caller:
        """A command that opened the stores itself: whoever may edit the data dir is its admin."""
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            return cls("cli", "admin", "cli")
        return cls(f"cli:{user}", "admin", "cli")


def audit(app: App, caller: Caller, action: str, **fields: Any) -> None:
    """One audit record for `caller` (fields: target, query_sha256, query, results, status)."""
    fields.setdefault("status", 200)
    app.audit.record(caller.name, caller.role, action, ip=caller.ip, **fields)
