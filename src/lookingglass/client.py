"""Talking to a running `lookingglass serve` that owns the data dir (docs/architecture.md): the CLI's remote mode."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import requests

from lookingglass.errors import LookingGlassError, Unavailable, exit_code_of
from lookingglass.ownership import ServerInfo
from lookingglass.sightings import Sighting


class ServerClient:
    def __init__(self, server: ServerInfo, timeout: float = 300.0) -> None:
        self.server = server
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {server.token}"

    def _call(self, method: str, path: str, **kwargs) -> dict:
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

    def ingest_file(self, path: Path, patience: float = 600.0) -> dict:
        """Upload one local file. A busy server (503 or 429 with Retry-After) is asked again after the time it
        names, for up to `patience` seconds: uploads are content-addressed, so asking twice stores nothing twice."""
        path = path.resolve()
        deadline = time.monotonic() + patience
        while True:
            try:
                with path.open("rb") as handle:
                    body = self._call(
                        "POST", "/objects", files={"file": (path.name, handle)}, data={"source_url": path.as_uri()}
                    )
                return body["objects"][0]
            except LookingGlassError as exc:
                wait = getattr(exc, "retry_after", None)
                if wait is None or exc.http_status not in (429, 503) or time.monotonic() + wait > deadline:
                    raise
                time.sleep(min(max(wait, 0.1), 60.0))

    def store_bytes(self, data: bytes, filename: str, sighting: Sighting) -> dict:
        """Upload one object with where it was seen; `serve` stores it and processes it (the crawler's path)."""
        fields = {k: v for k, v in asdict(sighting).items() if v is not None}
        body = self._call("POST", "/objects", files={"file": (filename, data)}, data=fields)
        return body["objects"][0]

    def outcome(self, sha256: str, job: str | None = None) -> dict:
        """Where an uploaded object's processing stands (`GET /objects/<sha>/outcome`), for `ingest --wait`."""
        return self._call("GET", f"/objects/{sha256}/outcome", params={"job": job} if job else None)

    def add_sightings(self, sha256: str, sightings: list[Sighting]) -> dict:
        payload = {"sightings": [{k: v for k, v in asdict(s).items() if v is not None} for s in sightings]}
        return self._call("POST", f"/objects/{sha256}/sightings", json=payload)

    def lookup(self, path: Path, top_k: int | None, threshold: float | None) -> dict:
        data = {k: v for k, v in {"top_k": top_k, "threshold": threshold}.items() if v is not None}
        with path.open("rb") as handle:
            return self._call("POST", "/lookup", files={"image": (path.name, handle)}, data=data)

    def search(self, query: str, kind: str | None, limit: int) -> dict:
        params = {k: v for k, v in {"q": query, "kind": kind, "limit": limit}.items() if v is not None}
        return self._call("GET", "/search", params=params)

    def get(self, path: str, params: dict | None = None) -> dict:
        return self._call("GET", path, params=params)

    def post(self, path: str, json: dict | None = None) -> dict:
        return self._call("POST", path, json=json)

    def post_form(self, path: str, files: dict[str, bytes], data: dict) -> dict:
        return self._call("POST", path, files={k: (k, v) for k, v in files.items()}, data=data)

    def delete(self, path: str) -> dict:
        return self._call("DELETE", path)

    def forget(self, sha256: str) -> dict:
        return self.delete(f"/objects/{sha256}")

    def health(self) -> dict:
        return self._call("GET", "/health")


def running_server(settings) -> ServerClient | None:
    """The `serve` that owns this data dir, if one runs; None when stores are all servers or nobody owns it."""
    from lookingglass.ownership import read_server_info

    if settings.distributed_vectors and settings.distributed_objects:
        return None
    info = read_server_info(settings.data_dir)
    return ServerClient(info) if info else None


def ask(settings, remote: Callable[[ServerClient], dict], local: Callable) -> dict:
    """The CLI's two ways to one answer: `remote(server)` when `serve` owns the data dir, else `local(app)` on the
    stores opened here (and closed again)."""
    server = running_server(settings)
    if server is not None:
        return remote(server)
    from lookingglass.app import build

    app = build(settings)
    try:
        return local(app)
    finally:
        app.close()
