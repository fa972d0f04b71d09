"""The one place the CLI decides where it works: on the data dir itself, or through the `serve` that owns it.

Both answer the same calls, `service.<operation>(request, **args)`, with the same records (docs/architecture.md:
one owner per data directory; the embedded engines are single-process):
- `Local` opens the stores here and calls the service function directly, as the local user (audited as
  `cli:<user>`).
- `Remote` sends the call to `serve` with its local token: it finds the operation's method and path in the
  server's generated `/openapi.json` by operationId (the service function's name), so nothing here repeats a route.
A command never asks which one it got.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from lookingglass.errors import BadInput
from lookingglass.services import OPERATIONS, Caller, load_all, response_model
from lookingglass.settings import Settings


class Local:
    """The stores opened in this process (nobody else owns the data dir)."""

    def __init__(self, app) -> None:
        self.app = app
        self.caller = Caller.command_line()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = _operation(name)

        def call(request: BaseModel | None = None, **args: Any) -> Any:
            if request is None:
                return fn(self.app, self.caller, **args)
            return fn(self.app, self.caller, request, **args)

        return call


class Remote:
    """The `serve` that owns the data dir, over HTTP with its local token (server.json)."""

    def __init__(self, client) -> None:
        self.client = client
        self._operations: dict[str, tuple[str, str, dict]] | None = None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        _operation(name)

        def call(request: BaseModel | None = None, **args: Any) -> Any:
            method, path, op = self._find(name)
            fields = request.model_dump(mode="json", exclude_none=True) if request is not None else {}
            files = {k: (k, v) for k, v in args.items() if isinstance(v, bytes)}
            for key, value in args.items():
                if isinstance(value, bytes):
                    continue
                if "{" + key + "}" not in path:
                    raise BadInput(f"{name}: '{key}' is neither a path parameter nor an upload")
                path = path.replace("{" + key + "}", quote(str(value), safe=""))
            if files or "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
                body = self.client.call(method, path, files=files or None, data=fields)
            elif method in ("get", "delete"):
                body = self.client.call(method, path, params=fields or None)
            else:
                body = self.client.call(method, path, json=fields)
            return response_model(name).model_validate(body)

        return call

    def _find(self, name: str) -> tuple[str, str, dict]:
        if self._operations is None:
            document = self.client.call("GET", "/openapi.json")
            self._operations = {
                op["operationId"]: (method, path, op)
                for path, ops in document["paths"].items()
                for method, op in ops.items()
                if "operationId" in op
            }
        if name not in self._operations:
            raise BadInput(f"the running serve does not offer '{name}' (an older version?): stop it or upgrade it")
        return self._operations[name]


def _operation(name: str) -> Callable[..., Any]:
    if name.startswith("_") or name not in OPERATIONS:
        raise AttributeError(name)
    return OPERATIONS[name]


@contextlib.contextmanager
def open_service(settings: Settings, *, accounts_only: bool = False) -> Iterator[Local | Remote]:
    """`Remote` when a `serve` owns the data dir, else `Local` on stores opened here (closed on the way out).

    `accounts_only` (the admin operations: users, keys, the audit log): without a `serve`, only the account and
    audit files are opened. They are made for several processes, so no data-dir lock is taken and no store opened:
    users can be managed beside a crawl or an ingest that owns the data dir."""
    from lookingglass.app import build, build_accounts
    from lookingglass.web.client import running_server

    load_all()
    server = running_server(settings)
    if server is not None:
        yield Remote(server)
        return
    app = build_accounts(settings) if accounts_only else build(settings)
    try:
        yield Local(app)
    finally:
        app.close()
