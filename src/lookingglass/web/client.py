"""Talking to a running `lookingglass serve` that owns the data dir (docs/architecture.md).

`ServerClient` is the transport: the CLI's `Remote` service (cli/service.py) sends every operation through `call`,
and the crawler stores what it finds through `store_bytes` and `add_sightings`."""

from __future__ import annotations

import contextlib
from dataclasses import asdict

import requests

from lookingglass.errors import LookingGlassError, Unavailable, exit_code_of
from lookingglass.sources.sightings import Sighting
from lookingglass.stores.ownership import ServerInfo


class ServerClient:
    def __init__(self, server: ServerInfo, timeout: float = 300.0) -> None:
        self.server = server
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {server.token}"

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(method, self.server.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise Unavailable(f"the server at {self.server.url} did not answer: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise Unavailable(f"the server at {self.server.url} answered {response.status_code} without JSON") from None
        if response.status_code >= 400 and "error" in body and not isinstance(body.get("objects"), list):
            error = LookingGlassError(body["error"].get("message", "error"))
            error.code = body["error"].get("code", "error")
            error.http_status = response.status_code
            error.exit_code = exit_code_of(error.code)  # the CLI exits as if it had raised the error itself
            with contextlib.suppress(TypeError, ValueError):
                error.retry_after = float(response.headers.get("Retry-After"))
            raise error
        return body

    def store_bytes(self, data: bytes, filename: str, sighting: Sighting) -> dict:
        """Upload one object with where it was seen; `serve` stores it and processes it (the crawler's path)."""
        fields = {k: v for k, v in asdict(sighting).items() if v is not None}
        body = self.call("POST", "/objects", files={"file": (filename, data)}, data=fields)
        return body["objects"][0]

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> dict:
        payload = {"sightings": [{k: v for k, v in asdict(s).items() if v is not None} for s in sightings]}
        return self.call("POST", f"/objects/{sha256}/sightings", json=payload)


def running_server(settings) -> ServerClient | None:
    """The `serve` that owns this data dir, if one runs; None when stores are all servers or nobody owns it."""
    from lookingglass.stores.ownership import read_server_info

    if settings.distributed_vectors and settings.distributed_objects:
        return None
    info = read_server_info(settings.data_dir)
    return ServerClient(info) if info else None
