"""ObjectStore contract (local directory and, with S3_ENDPOINT, a real S3 server) and sniff_media.

The S3 half runs against whatever S3 API `S3_ENDPOINT` names (Ceph RGW, MinIO, ...), with S3_ACCESS_KEY /
S3_SECRET_KEY or anonymously; each run gets its own bucket and removes it afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from lookingglass.errors import BadInput, NotFound, Unavailable
from lookingglass.settings import Settings
from lookingglass.stores.objects import (
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    open_object_store,
)

NO_S3 = "S3_ENDPOINT not set: no S3 server to run the contract against"


class Clock:
    """A clock the test moves by hand, so first_seen/last_seen can be checked exactly."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def jpeg_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def png_bytes(color: tuple[int, int, int] = (10, 200, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "PNG")
    return buf.getvalue()


def _s3_client(endpoint: str):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    access, secret = os.environ.get("S3_ACCESS_KEY"), os.environ.get("S3_SECRET_KEY")
    config = Config(
        signature_version="s3v4" if access else UNSIGNED,
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=config,
    )


def _drop_bucket(client, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path, clock: Clock) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects", clock=clock)
        return
    endpoint = os.environ.get("S3_ENDPOINT")
    if not endpoint:
        pytest.skip(NO_S3)
    client = _s3_client(endpoint)
    bucket = f"lg-test-{uuid.uuid4().hex[:12]}"
    s3 = S3ObjectStore(client, bucket, clock=clock)
    yield s3
    if s3._bucket_ready:
        _drop_bucket(client, bucket)


def stored_keys(store: ObjectStore) -> set[str]:
    """Every key/file the backend holds, straight from the backend (not through the store's own listing)."""
    if isinstance(store, LocalObjectStore):
        return {p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()}
    assert isinstance(store, S3ObjectStore)
    keys: set[str] = set()
    for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys


# ------------------------------------------------------------------------------------------------------------
# Contract: every ObjectStore adapter behaves the same.


def test_put_get_read_round_trip_with_key_layout(store: ObjectStore, clock: Clock) -> None:
    data = jpeg_bytes()
    sha = hashlib.sha256(data).hexdigest()

    obj = store.put(
        data,
        ext=".JPG",
        content_type="image/jpeg",
        kind="image",
        metadata={"source_urls": ["http://a/1.jpg"]},
    )

    assert obj.sha256 == sha
    assert obj.key == f"media/{sha[:2]}/{sha}.jpg"
    assert (obj.size, obj.content_type, obj.kind) == (len(data), "image/jpeg", "image")
    assert obj.source_url == "http://a/1.jpg"
    assert obj.metadata["first_seen"] == obj.metadata["last_seen"] == "2025-01-02T03:04:05+00:00"
    assert store.get(sha) == obj
    assert store.get(sha.upper()) == obj
    assert store.read(sha) == data
    assert store.exists(sha)
    assert stored_keys(store) == {obj.key, f"meta/{sha[:2]}/{sha}.json"}


def test_same_bytes_from_two_sources_is_one_object_with_both_urls(store: ObjectStore, clock: Clock) -> None:
    data = jpeg_bytes()
    first = store.put(
        data,
        ext="jpg",
        content_type="image/jpeg",
        kind="image",
        metadata={"source_urls": ["http://a/x.jpg"], "page_urls": ["http://a/"], "alt": "first alt"},
    )
    clock.advance(60)
    second = store.put(
        data,
        ext="jpg",
        content_type="image/jpeg",
        kind="image",
        metadata={
            "source_urls": ["http://b/y.jpg", "http://a/x.jpg"],
            "page_urls": ["http://b/"],
            "alt": "second alt",
            "title": "only in the second",
        },
    )

    assert second.sha256 == first.sha256 and second.key == first.key
    assert second.metadata["source_urls"] == ["http://a/x.jpg", "http://b/y.jpg"]
    assert second.metadata["page_urls"] == ["http://a/", "http://b/"]
    assert second.metadata["alt"] == "first alt"  # scalars: the first sighting stands
    assert second.metadata["title"] == "only in the second"  # ... unless it had none
    assert second.metadata["first_seen"] == "2025-01-02T03:04:05+00:00"
    assert second.metadata["last_seen"] == "2025-01-02T03:05:05+00:00"
    assert store.get(first.sha256) == second
    assert [o.sha256 for o in store.list()] == [first.sha256]
    assert len(stored_keys(store)) == 2


def test_concurrent_puts_of_the_same_bytes_keep_every_source(store: ObjectStore) -> None:
    data = png_bytes()
    urls = [f"http://site{i}/logo.png" for i in range(6)]
    errors: list[BaseException] = []

    def put(url: str) -> None:
        try:
            store.put(data, ext="png", content_type="image/png", kind="image", metadata={"source_urls": [url]})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    stored = store.get(hashlib.sha256(data).hexdigest()).metadata["source_urls"]
    assert sorted(stored) == sorted(urls)


def test_annotate_overwrites_the_fields_it_names_and_keeps_the_rest(store: ObjectStore) -> None:
    obj = store.put(png_bytes(), ext="png", content_type="image/png", kind="image", metadata={"source_urls": ["a"]})

    store.annotate(obj.sha256, {"processed": {"sface": {"faces": 2}}})
    again = store.annotate(obj.sha256, {"processed": {"sface": {"faces": 3}}})

    assert again.metadata["processed"] == {"sface": {"faces": 3}}
    assert store.get(obj.sha256).metadata["source_urls"] == ["a"]
    assert store.get(obj.sha256).metadata["processed"] == {"sface": {"faces": 3}}
    with pytest.raises(NotFound):
        store.annotate("0" * 64, {"x": 1})


def test_raw_keys_and_refs_for_files_dropped_into_the_store(store: ObjectStore) -> None:
    obj = store.put(png_bytes(), ext="png", content_type="image/png", kind="image")
    store.write_ref("k1", {"key": "incoming/a.png", "sha256": obj.sha256})

    assert store.read_ref("k1") == {"key": "incoming/a.png", "sha256": obj.sha256}
    assert store.read_key(obj.key) == png_bytes()
    assert obj.key in list(store.iter_keys("media/"))
    assert list(store.iter_keys("nothing-here/")) == []
    store.delete_ref("k1")
    assert store.read_ref("k1") is None
    store.write_key(f"thumbs/{obj.sha256}/0.jpg", b"jpeg", "image/jpeg")
    store.write_key(f"thumbs/{obj.sha256}/1.jpg", b"jpeg", "image/jpeg")
    assert store.read_key(f"thumbs/{obj.sha256}/1.jpg") == b"jpeg"
    assert store.delete_prefix(f"thumbs/{obj.sha256}/") == 2
    with pytest.raises(BadInput):
        store.delete_prefix("/")
    assert list(store.iter_keys("thumbs/")) == []
    with pytest.raises(NotFound):
        store.read_key("incoming/missing.png")
    for bad in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(BadInput):
            store.read_key(bad)


def test_delete_removes_bytes_and_sidecar(store: ObjectStore) -> None:
    obj = store.put(jpeg_bytes(), ext="jpg", content_type="image/jpeg", kind="image")
    keep = store.put(png_bytes(), ext="png", content_type="image/png", kind="image")

    assert store.delete(obj.sha256) is True

    assert not store.exists(obj.sha256)
    with pytest.raises(NotFound):
        store.get(obj.sha256)
    with pytest.raises(NotFound):
        store.read(obj.sha256)
    assert stored_keys(store) == {keep.key, f"meta/{keep.sha256[:2]}/{keep.sha256}.json"}
    assert store.delete(obj.sha256) is False


def test_local_file_is_the_objects_bytes_at_a_path_with_its_extension(store: ObjectStore) -> None:
    data = png_bytes()
    obj = store.put(data, ext="png", content_type="image/png", kind="image")

    with store.local_file(obj.sha256) as path:
        assert isinstance(path, Path) and path.suffix == ".png"  # PyAV and friends guess the format from it
        assert path.read_bytes() == data
    if isinstance(store, S3ObjectStore):
        assert not path.exists()  # the temporary copy is gone once the caller is done
    else:
        assert path == store.root / obj.key  # the stored file itself: no copy of a large video
    with pytest.raises(NotFound), store.local_file("0" * 64):
        pass


def test_unknown_sha_is_not_found(store: ObjectStore) -> None:
    unknown = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFound):
        store.get(unknown)
    with pytest.raises(NotFound):
        store.read(unknown)
    assert store.exists(unknown) is False
    assert store.delete(unknown) is False


@pytest.mark.parametrize("bad", ["../etc/passwd", "", "a" * 63, "g" * 64, "../" + "a" * 61, "a" * 64 + "/.."])
@pytest.mark.parametrize("method", ["get", "read", "exists", "delete"])
def test_malformed_sha_is_bad_input(store: ObjectStore, method: str, bad: str) -> None:
    with pytest.raises(BadInput):
        getattr(store, method)(bad)


@pytest.mark.parametrize("ext", ["", ".", "j/pg", "../x", "toolongext", "jp g", "ÿpg"])
def test_bad_extension_is_rejected_before_writing(store: ObjectStore, ext: str) -> None:
    with pytest.raises(BadInput):
        store.put(b"\xff\xd8\xff data", ext=ext, content_type="image/jpeg", kind="image")
    assert list(store.list()) == []


def test_bad_kind_or_metadata_is_rejected(store: ObjectStore) -> None:
    with pytest.raises(BadInput):
        store.put(b"x", ext="jpg", content_type="image/jpeg", kind="document")
    with pytest.raises(BadInput):
        store.put(b"x", ext="jpg", content_type="image/jpeg", kind="image", metadata={"when": object()})
    assert list(store.list()) == []


def test_list_yields_what_was_put(store: ObjectStore) -> None:
    assert list(store.list()) == []
    put = [store.put(jpeg_bytes((i * 40, 0, 0)), ext="jpg", content_type="image/jpeg", kind="image") for i in range(3)]
    put.append(store.put(b"<!doctype html><p>hi", ext="html", content_type="text/html", kind="page"))

    listed = {o.sha256: o for o in store.list()}

    assert listed == {o.sha256: o for o in put}


def test_writes_leave_no_temporary_files(store: ObjectStore) -> None:
    data = jpeg_bytes()
    for i in range(3):
        store.put(data, ext="jpg", content_type="image/jpeg", kind="image", metadata={"source_urls": [str(i)]})
    store.put(png_bytes(), ext="png", content_type="image/png", kind="image")

    keys = stored_keys(store)
    assert len(keys) == 4
    assert all(k.startswith(("media/", "meta/")) and not k.rsplit("/", 1)[-1].startswith(".") for k in keys)


def test_health(store: ObjectStore) -> None:
    health = store.health()
    assert health["ok"] is True
    assert health["backend"] in {"local", "s3"}
    if health["backend"] == "s3":
        assert health["latency_ms"] >= 0


# ------------------------------------------------------------------------------------------------------------
# Local adapter specifics.


def test_local_layout_on_disk_and_path(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    data = png_bytes()
    obj = store.put(data, ext="PNG", content_type="image/png", kind="image", metadata={"alt": "logo"})

    path = store.path(obj.sha256)
    assert path == tmp_path / "media" / obj.sha256[:2] / f"{obj.sha256}.png"
    assert path.read_bytes() == data
    sidecar = (tmp_path / "meta" / obj.sha256[:2] / f"{obj.sha256}.json").read_text()
    assert json.loads(sidecar) == {
        "sha256": obj.sha256,
        "key": obj.key,
        "size": len(data),
        "content_type": "image/png",
        "kind": "image",
        "metadata": obj.metadata,
    }
    assert store.health() == {"backend": "local", "ok": True, "root": str(tmp_path)}
    with pytest.raises(NotFound):
        store.path(hashlib.sha256(b"nothing").hexdigest())


def test_local_failed_write_leaves_neither_half_file_nor_temp(tmp_path: Path, monkeypatch) -> None:
    """Fault injection: the rename that publishes a file fails, as a crash at that instant would."""
    store = LocalObjectStore(tmp_path)
    obj = store.put(jpeg_bytes(), ext="jpg", content_type="image/jpeg", kind="image", metadata={"a": 1})
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def broken_replace(src, dst):
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.put(png_bytes(), ext="png", content_type="image/png", kind="image")
    with pytest.raises(OSError):
        store.put(jpeg_bytes(), ext="jpg", content_type="image/jpeg", kind="image", metadata={"b": 2})
    monkeypatch.undo()

    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert store.get(obj.sha256) == obj


def test_local_orphan_bytes_from_a_crash_are_invisible_and_healed(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    data = jpeg_bytes()
    obj = store.put(data, ext="jpg", content_type="image/jpeg", kind="image")
    (tmp_path / "meta" / obj.sha256[:2] / f"{obj.sha256}.json").unlink()  # as if we died before the sidecar

    assert not store.exists(obj.sha256)
    assert list(store.list()) == []
    again = store.put(data, ext="jpg", content_type="image/jpeg", kind="image")
    assert store.read(again.sha256) == data
    assert store.delete(again.sha256) is True
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# ------------------------------------------------------------------------------------------------------------
# Choosing and reaching the adapter.


def test_open_object_store_is_local_without_endpoint(tmp_path: Path) -> None:
    store = open_object_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"


def test_open_object_store_is_s3_with_endpoint() -> None:
    settings = Settings(s3_endpoint="http://127.0.0.1:9", s3_access_key="k", s3_secret_key="s", s3_bucket="b")
    store = open_object_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert store.bucket == "b"
    assert store.endpoint == "http://127.0.0.1:9"


def test_unreachable_s3_is_unavailable_naming_the_endpoint() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    store = open_object_store(Settings(s3_endpoint=endpoint, s3_access_key="k", s3_secret_key="s"))

    with pytest.raises(Unavailable, match=f"127.0.0.1:{port}"):
        store.get("a" * 64)
    with pytest.raises(Unavailable, match=f"127.0.0.1:{port}"):
        store.put(b"<html>", ext="html", content_type="text/html", kind="page")
    health = store.health()
    assert health["ok"] is False and endpoint in health["error"]


@pytest.mark.skipif(
    not (os.environ.get("S3_ENDPOINT") and os.environ.get("S3_ACCESS_KEY")),
    reason=NO_S3 if not os.environ.get("S3_ENDPOINT") else "S3_ACCESS_KEY not set: open_object_store signs",
)
def test_s3_via_settings_creates_the_bucket() -> None:
    bucket = f"lg-test-{uuid.uuid4().hex[:12]}"
    settings = Settings(
        s3_endpoint=os.environ["S3_ENDPOINT"],
        s3_access_key=os.environ.get("S3_ACCESS_KEY"),
        s3_secret_key=os.environ.get("S3_SECRET_KEY"),
        s3_bucket=bucket,
    )
    store = open_object_store(settings)
    assert isinstance(store, S3ObjectStore)
    try:
        obj = store.put(jpeg_bytes(), ext="jpg", content_type="image/jpeg", kind="image")
        assert S3ObjectStore(store.client, bucket).read(obj.sha256) == jpeg_bytes()
        head = store.client.head_object(Bucket=bucket, Key=obj.key)
        assert head["ContentType"] == "image/jpeg"
    finally:
        _drop_bucket(store.client, bucket)
