"""ObjectStore port: content-addressed media storage, and raw keys beside it.

Two ports, implemented by the same adapters: `MediaStore` (objects by SHA-256: put/get/read/local_file/list) and
`KeyStore` (raw keys: dropped-in files, thumbs/, transcripts/, refs/); `ObjectStore` is both.

Media keys are `media/<sha[:2]>/<sha>.<ext>`; metadata (source URLs, page URL, alt text, crawl time, ...) is a JSON
sidecar `meta/<sha[:2]>/<sha>.json`, so both adapters keep exactly the same shape.

Adapters: `LocalObjectStore` (a directory tree, embedded mode) and `S3ObjectStore` (any S3 API: MinIO, Ceph
RGW, AWS). `open_object_store(settings)` picks one. `sniff_media` tells what some bytes are before they are
stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lookingglass.errors import BadInput, LookingGlassError, NotFound, Unavailable
from lookingglass.records import MediaObject

if TYPE_CHECKING:
    from lookingglass.settings import Settings


class MediaStore(Protocol):
    """Content-addressed media: objects named by the SHA-256 of their bytes, with a metadata record each."""

    def put(self, data: bytes, *, ext: str, content_type: str, kind: str, metadata: dict | None = None) -> MediaObject:
        """Store bytes under their SHA-256.

        Storing the same bytes again merges metadata (source URLs are unioned).
        """

    def get(self, sha256: str) -> MediaObject:
        """The object's record; raises NotFound."""

    def read(self, sha256: str) -> bytes:
        """The object's bytes; raises NotFound."""

    def local_file(self, sha256: str) -> contextlib.AbstractContextManager[Path]:
        """The object's bytes as a file on this machine, for libraries that open a path (PyAV): the stored file
        itself in a local directory (never write to it), a temporary copy removed on exit from S3. NotFound."""

    def annotate(self, sha256: str, updates: dict, *, merge: bool = False) -> MediaObject:
        """Set top-level metadata fields (overwriting them), e.g. what processing found; raises NotFound.
        `merge=True` merges instead, as a second put of the same bytes would (lists unioned: more sightings)."""

    def delete(self, sha256: str) -> bool:
        """Remove bytes and metadata; False when it was not there."""

    def exists(self, sha256: str) -> bool: ...

    def list(self) -> Iterator[MediaObject]:
        """Every stored object (for reconcile and eval)."""

    def health(self) -> dict:
        """{"backend": name, "ok": bool, ...}"""


class KeyStore(Protocol):
    """Raw keys in the same bucket: files dropped in by someone else, what was derived from an object (thumbnails,
    transcripts) and small JSON refs. Named by the caller, not by their content."""

    def read_key(self, key: str) -> bytes:
        """Bytes at a raw key that someone dropped into the store (e.g. `incoming/a.jpg`); raises NotFound."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every raw key under `prefix` (for reconcile to find files nobody told us about)."""

    def write_key(self, key: str, data: bytes, content_type: str) -> None:
        """Bytes derived from an object (thumbnails, transcripts) at a raw key, e.g. `thumbs/<sha>/1.jpg`."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every raw key starting with `prefix` (what was derived from a forgotten object); how many."""

    def write_ref(self, name: str, doc: dict) -> None:
        """A small JSON document under `refs/` (e.g. which object a raw key became)."""

    def read_ref(self, name: str) -> dict | None: ...

    def delete_ref(self, name: str) -> None: ...


class ObjectStore(MediaStore, KeyStore, Protocol):
    """One bucket (or directory) holding both: what `App.objects` is. A caller that needs only one side types its
    parameter as `MediaStore` or `KeyStore`."""


# ------------------------------------------------------------------------------------------------------------
# Keys, validation and metadata merging: shared by both adapters so they keep one shape.

KINDS = frozenset({"image", "video", "audio", "page"})
_MERGE_ATTEMPTS = 16  # rounds of read-merge-write before a put gives up under contention
_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = re.compile(r"[a-z0-9]{1,8}")

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_sha256(sha256: str) -> str:
    """The sha256 as lowercase hex; BadInput otherwise (it becomes part of a path: this stops traversal)."""
    if not isinstance(sha256, str):
        raise BadInput(f"sha256 must be a string, got {type(sha256).__name__}")
    value = sha256.strip().lower()
    if not _SHA256.fullmatch(value):
        raise BadInput(f"not a sha256 (64 hex characters): {sha256[:80]!r}")
    return value


def normalise_ext(ext: str) -> str:
    """`.JPG` -> `jpg`; BadInput unless 1-8 letters/digits (the extension is part of the key)."""
    value = (ext or "").strip().lower().lstrip(".")
    if not _EXT.fullmatch(value):
        raise BadInput(f"bad file extension {ext!r}: expected 1-8 letters or digits")
    return value


def media_key(sha256: str, ext: str) -> str:
    return f"media/{sha256[:2]}/{sha256}.{ext}"


def meta_key(sha256: str) -> str:
    return f"meta/{sha256[:2]}/{sha256}.json"


_RAW_KEY = re.compile(r"[^\x00-\x1f]{1,1024}")


def check_raw_key(key: str) -> str:
    """A raw key inside the store: relative, no `..` segments (so a local store can't be walked out of)."""
    if not isinstance(key, str) or not _RAW_KEY.fullmatch(key) or key.startswith("/"):
        raise BadInput(f"invalid object key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise BadInput(f"invalid object key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix for bulk deletes: a non-empty raw key, or one followed by '/'; never the whole store."""
    check_raw_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def ref_key(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", name):
        raise BadInput(f"invalid ref name {name!r}")
    return f"refs/{name}.json"


def _check_put_args(kind: str, metadata: dict | None) -> dict:
    if kind not in KINDS:
        raise BadInput(f"unknown media kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise BadInput(f"metadata must be a dict, got {type(metadata).__name__}")
    try:  # a sidecar must round-trip through JSON; find out before anything is written
        return json.loads(json.dumps(metadata))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"metadata is not JSON-serialisable: {exc}") from exc


def _item_id(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _union(old: list, new: list) -> list:
    seen = {_item_id(v) for v in old}
    out = list(old)
    for v in new:
        if (vid := _item_id(v)) not in seen:
            seen.add(vid)
            out.append(v)
    return out


def merge_metadata(old: dict, new: dict) -> dict:
    """What we know about an object seen again: lists are unioned in order, other fields keep the first value.

    The first value is kept because it came from the first sighting; a later crawl adds places, it does not
    rewrite history. A field that is missing (or None) is filled in from the new sighting; dicts merge the
    same way.
    """
    out = dict(old)
    for name, value in new.items():
        current = out.get(name)
        if current is None:
            out[name] = value
        elif value is None:
            continue
        elif isinstance(current, list) or isinstance(value, list):
            out[name] = _union(_as_list(current), _as_list(value))
        elif isinstance(current, dict) and isinstance(value, dict):
            out[name] = merge_metadata(current, value)
    return out


def _updated(metadata: dict, updates: dict, merge: bool) -> dict:
    return merge_metadata(metadata, updates) if merge else {**metadata, **updates}


def _stamp(metadata: dict, now: datetime, previous: dict | None) -> dict:
    """Record when an object was first and last stored (first_seen survives re-puts, last_seen moves)."""
    stamp = now.isoformat(timespec="seconds")
    out = dict(metadata)
    out["first_seen"] = (previous or {}).get("first_seen") or metadata.get("first_seen") or stamp
    out["last_seen"] = stamp
    return out


def _sidecar(obj: MediaObject) -> dict:
    return {
        "sha256": obj.sha256,
        "key": obj.key,
        "size": obj.size,
        "content_type": obj.content_type,
        "kind": obj.kind,
        "metadata": obj.metadata,
    }


def _from_sidecar(raw: bytes | str, where: str) -> MediaObject:
    try:
        doc = json.loads(raw)
        return MediaObject(
            sha256=doc["sha256"],
            key=doc["key"],
            size=int(doc["size"]),
            content_type=doc["content_type"],
            kind=doc["kind"],
            metadata=dict(doc.get("metadata") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LookingGlassError(f"corrupt metadata sidecar {where}: {exc}") from exc


def _encode_sidecar(obj: MediaObject) -> bytes:
    return json.dumps(_sidecar(obj), ensure_ascii=False, sort_keys=True, indent=1).encode()


def _record(
    data: bytes,
    sha: str,
    ext: str,
    content_type: str,
    kind: str,
    metadata: dict,
    prev: MediaObject | None,
    now: datetime,
) -> MediaObject:
    """The record to write for `data`: a new one, or `prev` with the new sighting merged in.

    An object that exists keeps its key, content type and kind: the bytes are the same, so the first
    description stands (and the key must not move under callers that already hold it).
    """
    if prev is None:
        return MediaObject(sha, media_key(sha, ext), len(data), content_type, kind, _stamp(metadata, now, None))
    merged = _stamp(merge_metadata(prev.metadata, metadata), now, prev.metadata)
    return MediaObject(sha, prev.key, prev.size, prev.content_type, prev.kind, merged)


# ------------------------------------------------------------------------------------------------------------
# Embedded adapter: a directory tree.


class LocalObjectStore:
    """Objects in a directory (`root/media/...`, `root/meta/...`): the embedded default, one owner process.

    Every file is written to a temporary name in its own directory and renamed into place, so a crash leaves
    either the old file or the new one, never half of one. Bytes are written before the sidecar, and the
    sidecar is what makes an object exist, so a crash between the two leaves an invisible orphan that the next
    put overwrites.
    """

    backend = "local"

    def __init__(self, root: Path, *, clock: Clock = _utcnow) -> None:
        self.root = Path(root)
        self._clock = clock
        self._lock = threading.Lock()  # read-merge-write of a sidecar from the in-process executor's threads
        try:
            (self.root / "media").mkdir(parents=True, exist_ok=True)
            (self.root / "meta").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(f"cannot create object store directory {self.root}: {exc}") from exc

    def put(self, data: bytes, *, ext: str, content_type: str, kind: str, metadata: dict | None = None) -> MediaObject:
        ext = normalise_ext(ext)
        metadata = _check_put_args(kind, metadata)
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            prev = self._load(sha)
            obj = _record(data, sha, ext, content_type, kind, metadata, prev, self._clock())
            blob = self.root / obj.key
            if prev is None or not blob.is_file() or blob.stat().st_size != obj.size:
                _atomic_write(blob, data)
            _atomic_write(self._meta_path(sha), _encode_sidecar(obj))
        return obj

    def get(self, sha256: str) -> MediaObject:
        sha = check_sha256(sha256)
        obj = self._load(sha)
        if obj is None:
            raise NotFound(f"no object {sha}")
        return obj

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:  # deleted between path() and read
            raise NotFound(f"no object {sha256}") from exc

    @contextlib.contextmanager
    def local_file(self, sha256: str) -> Iterator[Path]:
        yield self.path(sha256)

    def path(self, sha256: str) -> Path:
        """The object's file on disk; raises NotFound."""
        obj = self.get(sha256)
        blob = self.root / obj.key
        if not blob.is_file():
            raise NotFound(f"object {obj.sha256} has metadata but its bytes are missing ({blob})")
        return blob

    def exists(self, sha256: str) -> bool:
        return self._meta_path(check_sha256(sha256)).is_file()

    def annotate(self, sha256: str, updates: dict, *, merge: bool = False) -> MediaObject:
        sha = check_sha256(sha256)
        updates = _check_put_args("image", updates)
        with self._lock:
            prev = self._load(sha)
            if prev is None:
                raise NotFound(f"no object {sha}")
            obj = replace(prev, metadata=_updated(prev.metadata, updates, merge))
            _atomic_write(self._meta_path(sha), _encode_sidecar(obj))
        return obj

    def delete(self, sha256: str) -> bool:
        sha = check_sha256(sha256)
        found = False
        with self._lock:
            # Sidecar first: once it is gone the object no longer exists, whatever happens to the bytes next.
            with contextlib.suppress(FileNotFoundError):
                self._meta_path(sha).unlink()
                found = True
            # Every extension, not just the recorded one: also clears an orphan left by a crash mid-put.
            for blob in (self.root / "media" / sha[:2]).glob(f"{sha}.*"):
                with contextlib.suppress(FileNotFoundError):
                    blob.unlink()
                    found = True
        return found

    def list(self) -> Iterator[MediaObject]:
        meta = self.root / "meta"
        for shard in sorted(p for p in meta.iterdir() if p.is_dir()):
            for sidecar in sorted(shard.glob("*.json")):
                if not _SHA256.fullmatch(sidecar.stem):
                    continue
                try:
                    yield _from_sidecar(sidecar.read_bytes(), str(sidecar))
                except FileNotFoundError:  # deleted while we were listing
                    continue

    def read_key(self, key: str) -> bytes:
        try:
            return (self.root / check_raw_key(key)).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"no key {key}") from exc

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def write_key(self, key: str, data: bytes, content_type: str) -> None:
        _atomic_write(self.root / check_raw_key(key), data)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for key in list(self.iter_keys(check_prefix(prefix))):
            with contextlib.suppress(FileNotFoundError):
                (self.root / key).unlink()
                removed += 1
        return removed

    def write_ref(self, name: str, doc: dict) -> None:
        _atomic_write(self.root / ref_key(name), json.dumps(doc, sort_keys=True).encode())

    def read_ref(self, name: str) -> dict | None:
        try:
            return json.loads((self.root / ref_key(name)).read_bytes())
        except FileNotFoundError:
            return None

    def delete_ref(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / ref_key(name)).unlink()

    def health(self) -> dict:
        ok = self.root.is_dir() and os.access(self.root, os.W_OK)
        return {"backend": self.backend, "ok": ok, "root": str(self.root)}

    def _meta_path(self, sha: str) -> Path:
        return self.root / meta_key(sha)

    def _load(self, sha: str) -> MediaObject | None:
        path = self._meta_path(sha)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        return _from_sidecar(raw, str(path))


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers and crashes see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------------------------------------------
# Server adapter: any S3 API.


class S3ObjectStore:
    """The same layout in an S3 bucket (MinIO, Ceph RGW, SeaweedFS, Garage, AWS) through a boto3 client.

    Kept to the plain S3 calls every implementation has, so operators choose the server. The bucket is created
    on first use rather than at construction, so building the app does not fail while the server is starting.
    Metadata merges are read-merge-write with conditional writes (If-None-Match / If-Match) and retries, so
    workers storing the same bytes at once keep every sighting; on a server without conditional writes the
    last writer wins. The bytes themselves are never at risk.
    """

    backend = "s3"

    def __init__(self, client: Any, bucket: str, *, clock: Clock = _utcnow) -> None:
        self.client = client
        self.bucket = bucket
        self._clock = clock
        self._bucket_ready = False
        self._lock = threading.Lock()
        self._conditional = True  # set False when the server does not do conditional writes
        self._quote_etags = True  # If-Match with the ETag as returned (RFC 7232), until the server disagrees

    @property
    def endpoint(self) -> str:
        return str(getattr(self.client.meta, "endpoint_url", None) or "S3")

    def put(self, data: bytes, *, ext: str, content_type: str, kind: str, metadata: dict | None = None) -> MediaObject:
        ext = normalise_ext(ext)
        metadata = _check_put_args(kind, metadata)
        sha = hashlib.sha256(data).hexdigest()
        self._ensure_bucket()
        bytes_written = False
        for attempt in range(_MERGE_ATTEMPTS):
            if attempt:  # lost a race: back off with jitter so contending writers spread out
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            prev, etag = self._load_versioned(sha)
            obj = _record(data, sha, ext, content_type, kind, metadata, prev, self._clock())
            if not bytes_written and (prev is None or not self._head(obj.key)):
                self._write(obj.key, data, content_type, Metadata={"sha256": sha})
                bytes_written = True
            if self._save_sidecar(obj, prev, etag):
                return obj
        raise Unavailable(
            f"S3 endpoint {self.endpoint}: gave up merging metadata of {sha} after {_MERGE_ATTEMPTS} concurrent updates"
        )

    def get(self, sha256: str) -> MediaObject:
        sha = check_sha256(sha256)
        obj = self._load(sha)
        if obj is None:
            raise NotFound(f"no object {sha}")
        return obj

    def read(self, sha256: str) -> bytes:
        obj = self.get(sha256)
        body = self._call("get_object", obj.key, Bucket=self.bucket, Key=obj.key)
        if body is None:
            raise NotFound(f"object {obj.sha256} has metadata but its bytes are missing ({obj.key})")
        return self._read_body(body, obj.key)

    @contextlib.contextmanager
    def local_file(self, sha256: str) -> Iterator[Path]:
        obj = self.get(sha256)
        with tempfile.NamedTemporaryFile(suffix="." + obj.key.rsplit(".", 1)[-1]) as handle:
            handle.write(self.read(obj.sha256))
            handle.flush()
            yield Path(handle.name)

    def exists(self, sha256: str) -> bool:
        return self._head(meta_key(check_sha256(sha256)))

    def annotate(self, sha256: str, updates: dict, *, merge: bool = False) -> MediaObject:
        sha = check_sha256(sha256)
        updates = _check_put_args("image", updates)
        for attempt in range(_MERGE_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            prev, etag = self._load_versioned(sha)
            if prev is None:
                raise NotFound(f"no object {sha}")
            obj = replace(prev, metadata=_updated(prev.metadata, updates, merge))
            if self._save_sidecar(obj, prev, etag):
                return obj
        raise Unavailable(f"S3 endpoint {self.endpoint}: gave up updating metadata of {sha} under contention")

    def delete(self, sha256: str) -> bool:
        sha = check_sha256(sha256)
        # delete_object succeeds on missing keys, so ask first to know what was there.
        keys = [meta_key(sha)] if self._head(meta_key(sha)) else []
        # Every extension, not only the recorded one: also clears an orphan left by a failed put.
        prefix = f"media/{sha[:2]}/{sha}."
        listing = self._call("list_objects_v2", prefix, Bucket=self.bucket, Prefix=prefix)
        keys += [item["Key"] for item in (listing or {}).get("Contents", [])]
        for key in keys:  # sidecar first: once it is gone the object no longer exists
            self._call("delete_object", key, Bucket=self.bucket, Key=key)
        return bool(keys)

    def list(self) -> Iterator[MediaObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix="meta/"))
        while True:
            try:
                page = self._guard(lambda: next(pages, None), "list_objects_v2", "meta/")
            except NotFound:  # no bucket yet: nothing stored
                return
            if page is None:
                return
            for item in page.get("Contents", []):
                key = item["Key"]
                if not key.endswith(".json") or not _SHA256.fullmatch(key.rsplit("/", 1)[-1][:-5]):
                    continue
                body = self._call("get_object", key, Bucket=self.bucket, Key=key)
                if body is not None:  # None: deleted while we were listing
                    yield _from_sidecar(self._read_body(body, key), key)

    def read_key(self, key: str) -> bytes:
        key = check_raw_key(key)
        body = self._call("get_object", key, Bucket=self.bucket, Key=key)
        if body is None:
            raise NotFound(f"no key {key} in bucket {self.bucket}")
        return self._read_body(body, key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        while True:
            try:
                page = self._guard(lambda: next(pages, None), "list_objects_v2", prefix)
            except NotFound:
                return
            if page is None:
                return
            for item in page.get("Contents", []):
                yield item["Key"]

    def write_key(self, key: str, data: bytes, content_type: str) -> None:
        self._ensure_bucket()
        self._write(check_raw_key(key), data, content_type)

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.iter_keys(check_prefix(prefix)))
        for key in keys:
            self._call("delete_object", key, Bucket=self.bucket, Key=key)
        return len(keys)

    def write_ref(self, name: str, doc: dict) -> None:
        self._ensure_bucket()
        self._write(ref_key(name), json.dumps(doc, sort_keys=True).encode(), "application/json")

    def read_ref(self, name: str) -> dict | None:
        key = ref_key(name)
        body = self._call("get_object", key, Bucket=self.bucket, Key=key)
        return None if body is None else json.loads(self._read_body(body, key))

    def delete_ref(self, name: str) -> None:
        key = ref_key(name)
        self._call("delete_object", key, Bucket=self.bucket, Key=key)

    def health(self) -> dict:
        out: dict = {"backend": self.backend, "endpoint": self.endpoint, "bucket": self.bucket}
        try:
            self._ensure_bucket()  # a fresh deployment is healthy: its bucket appears on first use anyway
            start = time.perf_counter()
            self._guard(lambda: self.client.head_bucket(Bucket=self.bucket), "head_bucket", "")
        except LookingGlassError as exc:
            return {**out, "ok": False, "error": exc.message}
        return {**out, "ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 2)}

    # -- plumbing: every call goes through _guard so errors come out as our own hierarchy

    def _save_sidecar(self, obj: MediaObject, prev: MediaObject | None, etag: str | None) -> bool:
        """Write the sidecar unless someone changed it since we read it (then False: merge again).

        Conditional writes (If-None-Match / If-Match) keep two workers that store the same bytes at once from
        losing each other's source URLs. Servers differ: Ceph RGW 16 wants the ETag without its quotes, some
        servers have no conditional writes; we learn which form works and otherwise fall back to
        last-writer-wins.
        """
        key = meta_key(obj.sha256)
        body = _encode_sidecar(obj)
        if not self._conditional:
            self._write(key, body, "application/json")
            return True
        if prev is None:
            return self._write_if(key, body, IfNoneMatch="*")
        forms = [True, False] if self._quote_etags else [False, True]
        for quoted in forms:
            written = self._write_if(key, body, IfMatch=etag if quoted else (etag or "").strip('"'))
            if written:
                self._quote_etags = quoted
                return True
            if not self._conditional or self._load_versioned(obj.sha256)[1] != etag:
                return False  # someone else wrote it meanwhile: merge again
            # Refused although nobody changed it: the server reads If-Match differently; try the other form.
        self._conditional = False
        return False

    def _write_if(self, key: str, body: bytes, **condition: str) -> bool:
        """A conditional sidecar write: True when written, False when the condition failed."""
        from botocore.exceptions import ClientError

        try:
            self._write(key, body, "application/json", raw=True, **condition)
            return True
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 501 or _error_code(exc) == "NotImplemented":
                self._conditional = False
                return False
            if status in (409, 412):  # 409: a concurrent conditional write is in flight (AWS)
                return False
            raise self._unavailable("put_object", key, exc) from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._lock:
            if self._bucket_ready:
                return
            try:
                self._guard(lambda: self.client.head_bucket(Bucket=self.bucket), "head_bucket", "")
            except NotFound:
                self._create_bucket()
            self._bucket_ready = True

    def _create_bucket(self) -> None:
        from botocore.exceptions import ClientError

        region = getattr(self.client.meta, "region_name", None)
        kwargs: dict = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 is the default and rejects an explicit constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._guard(lambda: self.client.create_bucket(**kwargs), "create_bucket", "", raw=True)
        except ClientError as exc:
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise self._unavailable("create_bucket", "", exc) from exc

    def _load(self, sha: str) -> MediaObject | None:
        return self._load_versioned(sha)[0]

    def _load_versioned(self, sha: str) -> tuple[MediaObject | None, str | None]:
        """The sidecar and its ETag (for a conditional rewrite), or (None, None)."""
        key = meta_key(sha)
        response = self._call("get_object", key, Bucket=self.bucket, Key=key)
        if response is None:
            return None, None
        return _from_sidecar(self._read_body(response, key), key), response.get("ETag")

    def _write(self, key: str, body: bytes, content_type: str, *, raw: bool = False, **extra: Any) -> None:
        """put_object; a missing bucket is a failure here, not NotFound: a write is never silently dropped."""

        def call() -> Any:
            return self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra)

        try:
            self._guard(call, "put_object", key, raw=raw)
        except NotFound as exc:
            raise Unavailable(f"S3 endpoint {self.endpoint}: bucket {self.bucket} vanished: {exc}") from exc

    def _head(self, key: str) -> bool:
        return self._call("head_object", key, Bucket=self.bucket, Key=key) is not None

    def _read_body(self, response: dict, key: str) -> bytes:
        return self._guard(lambda: response["Body"].read(), "get_object", key)

    def _call(self, op: str, key: str, **kwargs: Any) -> Any:
        """Run a client call; a missing key or bucket gives None, other failures raise Unavailable."""
        try:
            return self._guard(lambda: getattr(self.client, op)(**kwargs), op, key)
        except NotFound:
            return None

    def _guard(self, fn: Callable[[], Any], op: str, key: str, *, raw: bool = False) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn()
        except ClientError as exc:
            if raw:
                raise
            if _is_missing(exc):
                raise NotFound(f"{op} {self.bucket}/{key}: not found") from exc
            raise self._unavailable(op, key, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(op, key, exc) from exc

    def _unavailable(self, op: str, key: str, exc: Exception) -> Unavailable:
        return Unavailable(f"S3 endpoint {self.endpoint} failed {op} on {self.bucket}/{key}: {exc}")


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_missing(exc: Any) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or _error_code(exc) in {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


# ------------------------------------------------------------------------------------------------------------
# Choosing the adapter.


def open_object_store(settings: Settings) -> ObjectStore:
    """The S3 adapter when an endpoint is configured (docs/architecture.md), else a directory under the data dir."""
    if not settings.distributed_objects:
        return LocalObjectStore(settings.data_dir / "objects")
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},  # MinIO/RGW on a bare host:port have no virtual-host DNS
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        # boto3 >= 1.36 adds CRC checksums to every upload; several S3-compatible servers reject them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=config,
    )
    return S3ObjectStore(client, settings.s3_bucket)
